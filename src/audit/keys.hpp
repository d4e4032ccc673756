#pragma once
/// Who signs checkpoints and which keys a verifier accepts (SPEC §2
/// `integrity.audit_key`, `integrity.audit_signing_key`; SPEC §5).
///
///  - HMAC-SHA256 under a key of `integrity.keys`, named by its key id;
///  - or Ed25519 with `integrity.audit_signing_key: {file: key.pem}`, named
///    `ed25519:<16 hex digits of the public key's SHA-256>` (see ed25519_kid).
/// When both are configured the Ed25519 key signs: it was asked for
/// explicitly, and it lets auditors verify without the HMAC secret.
#include "audit/record.hpp"
#include "config/options.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/keys.hpp"

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <variant>

namespace bulwark::audit {

/// An error of the audit module: a reason for humans that names keys by id
/// and files by path, never key material or event text.
struct audit_error {
  std::string reason;
};

/// Signs checkpoints. Move-only (an Ed25519 key lives in OpenSSL memory).
class checkpoint_signer {
public:
  /// HMAC-SHA256 under `key`, named `kid`.
  static checkpoint_signer hmac(std::string kid, crypto::key_bytes key);
  /// Ed25519; the key id is derived from the public key.
  static checkpoint_signer ed25519(crypto::ed25519_signer key);
  /// From the configuration: `audit_signing_key` when set, else the HMAC key
  /// `audit_key` (the loader has resolved an empty one to the first key).
  /// Relative key files resolve against `base_dir` (the config's directory).
  static std::variant<checkpoint_signer, audit_error>
  from_config(const config::integrity_options& opts, const std::string& base_dir);

  /// The algorithm checkpoints name in `alg`.
  signature_alg alg() const noexcept { return alg_; }
  /// The key id checkpoints name in `kid`.
  const std::string& kid() const noexcept { return kid_; }

  /// The signature of `message`, lowercase hex.
  std::string sign_hex(std::string_view message) const;

private:
  checkpoint_signer(signature_alg alg, std::string kid, crypto::key_bytes hmac_key,
                    std::optional<crypto::ed25519_signer> ed) noexcept;
  signature_alg alg_;
  std::string kid_;
  crypto::key_bytes hmac_key_;
  std::optional<crypto::ed25519_signer> ed25519_;
};

/// The keys a verifier accepts, by key id. Old keys stay in the ring after a
/// rotation so that older checkpoints still verify.
struct key_ring {
  std::map<std::string, crypto::key_bytes, std::less<>> hmac;
  std::map<std::string, crypto::ed25519_public_key, std::less<>> ed25519;

  /// Adds an Ed25519 public key under its derived key id.
  void add_ed25519(const crypto::ed25519_public_key& key);

  /// Every key of `integrity.keys` (HMAC) and the public half of
  /// `audit_signing_key`. A key that cannot be loaded is an error naming it.
  static std::variant<key_ring, audit_error> from_config(const config::integrity_options& opts,
                                                         const std::string& base_dir);
};

} // namespace bulwark::audit
