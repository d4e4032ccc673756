#include "crypto/ed25519.hpp"

#include <cassert>
#include <limits>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

namespace bulwark::crypto {
namespace {

struct pkey_deleter {
  void operator()(EVP_PKEY* k) const noexcept { EVP_PKEY_free(k); }
};
struct md_ctx_deleter {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct bio_deleter {
  void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_deleter>;
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;

// A passphrase callback that supplies none: an encrypted key fails to load
// instead of OpenSSL's default prompting on the controlling terminal.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) {
  return 0;
}

bio_ptr memory_bio(std::string_view text) {
  if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return nullptr;
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

std::variant<ed25519_public_key, key_error> raw_public(EVP_PKEY* key) {
  ed25519_public_key pub{};
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key, pub.data(), &len) != 1 || len != pub.size()) {
    ERR_clear_error();
    return key_error{"cannot derive the Ed25519 public key"};
  }
  return pub;
}

bool is_ed25519(EVP_PKEY* key) noexcept {
  return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519;
}

} // namespace

struct ed25519_signer::impl {
  pkey_ptr key;
};

ed25519_signer::ed25519_signer(std::unique_ptr<impl> p, const ed25519_public_key& pub) noexcept
    : impl_(std::move(p)), public_(pub) {}
ed25519_signer::ed25519_signer(ed25519_signer&&) noexcept = default;
ed25519_signer& ed25519_signer::operator=(ed25519_signer&&) noexcept = default;
ed25519_signer::~ed25519_signer() = default;

std::variant<ed25519_signer, key_error>
ed25519_signer::from_seed(std::span<const std::uint8_t> seed) {
  if (seed.size() != 32) return key_error{"an Ed25519 seed has 32 bytes (64 hex digits)"};
  pkey_ptr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  if (!key) {
    ERR_clear_error();
    return key_error{"not a usable Ed25519 seed"};
  }
  auto pub = raw_public(key.get());
  if (auto* e = std::get_if<key_error>(&pub)) return *e;
  auto p = std::make_unique<impl>();
  p->key = std::move(key);
  return ed25519_signer(std::move(p), std::get<ed25519_public_key>(pub));
}

std::variant<ed25519_signer, key_error> ed25519_signer::from_pem(std::string_view pem) {
  bio_ptr bio = memory_bio(pem);
  if (!bio) return key_error{"cannot read the PEM text"};
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    ERR_clear_error();
    return key_error{"not an unencrypted PEM private key"};
  }
  if (!is_ed25519(key.get())) return key_error{"the PEM private key is not an Ed25519 key"};
  auto pub = raw_public(key.get());
  if (auto* e = std::get_if<key_error>(&pub)) return *e;
  auto p = std::make_unique<impl>();
  p->key = std::move(key);
  return ed25519_signer(std::move(p), std::get<ed25519_public_key>(pub));
}

std::variant<ed25519_signer, key_error> ed25519_signer::load(const config::key_source& source,
                                                             const std::string& base_dir) {
  auto bytes = load_key(source, base_dir);
  if (auto* e = std::get_if<key_error>(&bytes)) return *e;
  const auto& k = std::get<key_bytes>(bytes);
  // Name the source, never the key: for {hex: …} the value is the key itself.
  std::string where = "hex Ed25519 key";
  if (source.from == config::key_source::kind::file) where = "key file " + source.value;
  if (source.from == config::key_source::kind::env) where = "env " + source.value;
  // load_key decodes hex content; anything else in a file arrives as raw bytes,
  // which for an Ed25519 key file is its PEM text.
  auto made = k.size() == 32
                  ? from_seed(k)
                  : from_pem(std::string_view(reinterpret_cast<const char*>(k.data()), k.size()));
  if (auto* e = std::get_if<key_error>(&made)) return key_error{where + ": " + e->reason};
  return made;
}

ed25519_signature ed25519_signer::sign(std::string_view message) const {
  ed25519_signature sig{};
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  std::size_t len = sig.size();
  const bool ok =
      ctx != nullptr &&
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, impl_->key.get()) == 1 &&
      EVP_DigestSign(ctx.get(), sig.data(), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  // Signing with a loaded key fails only when memory runs out: stop rather
  // than emit a checkpoint with a signature that is not one.
  assert(ok && len == sig.size());
  (void)ok;
  return sig;
}

bool ed25519_verify(const ed25519_public_key& key, std::string_view message,
                    std::span<const std::uint8_t> signature) noexcept {
  if (signature.size() != 64) return false;
  pkey_ptr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, key.data(), key.size()));
  md_ctx_ptr ctx(EVP_MD_CTX_new());
  const bool ok =
      pkey != nullptr && ctx != nullptr &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                       reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  if (!ok) ERR_clear_error();
  return ok;
}

std::variant<ed25519_public_key, key_error> ed25519_public_key_from_pem(std::string_view pem) {
  {
    bio_ptr bio = memory_bio(pem);
    if (!bio) return key_error{"cannot read the PEM text"};
    pkey_ptr key(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
    if (key) {
      if (!is_ed25519(key.get())) return key_error{"the PEM public key is not an Ed25519 key"};
      return raw_public(key.get());
    }
    ERR_clear_error();
  }
  auto signer = ed25519_signer::from_pem(pem);
  if (auto* e = std::get_if<key_error>(&signer)) return *e;
  return std::get<ed25519_signer>(signer).public_key();
}

} // namespace bulwark::crypto
