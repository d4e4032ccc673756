#pragma once
/// Ed25519 signatures (RFC 8032, pure Ed25519) through OpenSSL's EVP
/// interface. The private key comes from a PEM file (PKCS#8, as written by
/// `openssl genpkey -algorithm ed25519`) or from a 32-byte seed in hex; the
/// public key is derived from it, so one configured key both signs and
/// verifies.
///
/// Invariants:
///  1. OpenSSL stays behind this header (linked PRIVATE by the crypto module).
///  2. Errors name the key's source, never key material.
///  3. An encrypted PEM is refused instead of prompting on the terminal.
#include "config/options.hpp"
#include "crypto/keys.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>

namespace bulwark::crypto {

/// A raw Ed25519 public key (RFC 8032 §5.1.5 encoding).
using ed25519_public_key = std::array<std::uint8_t, 32>;

/// A raw Ed25519 signature (R || S).
using ed25519_signature = std::array<std::uint8_t, 64>;

/// An Ed25519 private key that signs. Move-only; the key material lives in
/// OpenSSL's memory and is freed (and cleansed) with the object.
class ed25519_signer {
public:
  /// From the 32-byte private seed of RFC 8032 §5.1.5.
  static std::variant<ed25519_signer, key_error> from_seed(std::span<const std::uint8_t> seed);

  /// From PEM text holding an unencrypted Ed25519 `PRIVATE KEY`.
  static std::variant<ed25519_signer, key_error> from_pem(std::string_view pem);

  /// From a configured key source (SPEC §2 `integrity.audit_signing_key`):
  /// `{file: key.pem}` is read with load_key's rules (no group or other access)
  /// and parsed as PEM, or as a hex seed when it holds 64 hex digits;
  /// `{hex: …}` and `{env: VAR}` hold the seed in hex.
  static std::variant<ed25519_signer, key_error> load(const config::key_source& source,
                                                      const std::string& base_dir);

  ed25519_signer(ed25519_signer&&) noexcept;
  ed25519_signer& operator=(ed25519_signer&&) noexcept;
  ed25519_signer(const ed25519_signer&) = delete;
  ed25519_signer& operator=(const ed25519_signer&) = delete;
  ~ed25519_signer();

  /// The matching public key.
  const ed25519_public_key& public_key() const noexcept { return public_; }

  /// Signs `message` (deterministic: the same message gives the same signature).
  ed25519_signature sign(std::string_view message) const;

private:
  struct impl;
  explicit ed25519_signer(std::unique_ptr<impl> p, const ed25519_public_key& pub) noexcept;
  std::unique_ptr<impl> impl_;
  ed25519_public_key public_{};
};

/// True when `signature` is a valid Ed25519 signature of `message` under `key`.
/// Any signature length other than 64 is simply invalid.
bool ed25519_verify(const ed25519_public_key& key, std::string_view message,
                    std::span<const std::uint8_t> signature) noexcept;

/// The public key in PEM text: a `PUBLIC KEY` (SubjectPublicKeyInfo) or a
/// `PRIVATE KEY`, whose public half is derived.
std::variant<ed25519_public_key, key_error> ed25519_public_key_from_pem(std::string_view pem);

} // namespace bulwark::crypto
