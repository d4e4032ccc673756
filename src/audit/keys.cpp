#include "audit/keys.hpp"

namespace bulwark::audit {

checkpoint_signer::checkpoint_signer(signature_alg alg, std::string kid, crypto::key_bytes hmac_key,
                                     std::optional<crypto::ed25519_signer> ed) noexcept
    : alg_(alg), kid_(std::move(kid)), hmac_key_(std::move(hmac_key)), ed25519_(std::move(ed)) {}

checkpoint_signer checkpoint_signer::hmac(std::string kid, crypto::key_bytes key) {
  return checkpoint_signer(signature_alg::hmac_sha256, std::move(kid), std::move(key),
                           std::nullopt);
}

checkpoint_signer checkpoint_signer::ed25519(crypto::ed25519_signer key) {
  std::string kid = ed25519_kid(key.public_key());
  return checkpoint_signer(signature_alg::ed25519, std::move(kid), {}, std::move(key));
}

std::variant<checkpoint_signer, audit_error>
checkpoint_signer::from_config(const config::integrity_options& opts, const std::string& base_dir) {
  if (opts.audit_signing_key.from != config::key_source::kind::none) {
    auto key = crypto::ed25519_signer::load(opts.audit_signing_key, base_dir);
    if (auto* e = std::get_if<crypto::key_error>(&key))
      return audit_error{"integrity.audit_signing_key: " + e->reason};
    return ed25519(std::get<crypto::ed25519_signer>(std::move(key)));
  }
  if (opts.keys.empty())
    return audit_error{"integrity.audit_key: no key to sign audit checkpoints with (configure "
                       "integrity.keys or integrity.audit_signing_key)"};
  // The loader resolves an empty audit_key to the first key in file order; a
  // hand-built options struct falls back to the first key id.
  const std::string kid = opts.audit_key.empty() ? opts.keys.begin()->first : opts.audit_key;
  const auto it = opts.keys.find(kid);
  if (it == opts.keys.end())
    return audit_error{"integrity.audit_key: names no key of integrity.keys: " + kid};
  auto key = crypto::load_key(it->second, base_dir);
  if (auto* e = std::get_if<crypto::key_error>(&key))
    return audit_error{"integrity.keys." + kid + ": " + e->reason};
  return hmac(kid, std::get<crypto::key_bytes>(std::move(key)));
}

std::string checkpoint_signer::sign_hex(std::string_view message) const {
  if (alg_ == signature_alg::ed25519) return crypto::to_hex(ed25519_->sign(message));
  return crypto::to_hex(crypto::hmac_sha256(hmac_key_, message));
}

void key_ring::add_ed25519(const crypto::ed25519_public_key& key) {
  ed25519[ed25519_kid(key)] = key;
}

std::variant<key_ring, audit_error> key_ring::from_config(const config::integrity_options& opts,
                                                          const std::string& base_dir) {
  key_ring ring;
  for (const auto& [kid, source] : opts.keys) {
    auto key = crypto::load_key(source, base_dir);
    if (auto* e = std::get_if<crypto::key_error>(&key))
      return audit_error{"integrity.keys." + kid + ": " + e->reason};
    ring.hmac.emplace(kid, std::get<crypto::key_bytes>(std::move(key)));
  }
  if (opts.audit_signing_key.from != config::key_source::kind::none) {
    auto key = crypto::ed25519_signer::load(opts.audit_signing_key, base_dir);
    if (auto* e = std::get_if<crypto::key_error>(&key))
      return audit_error{"integrity.audit_signing_key: " + e->reason};
    ring.add_ed25519(std::get<crypto::ed25519_signer>(key).public_key());
  }
  return ring;
}

} // namespace bulwark::audit
