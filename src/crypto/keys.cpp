#include "crypto/keys.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

namespace bulwark::crypto {
namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  return s;
}

std::variant<key_bytes, key_error> checked(key_bytes key, const std::string& where) {
  if (key.size() < 16) return key_error{where + ": a key needs at least 16 bytes (32 hex digits)"};
  return key;
}

} // namespace

std::variant<key_bytes, key_error> decode_hex(std::string_view text) {
  if (text.empty() || text.size() % 2 != 0) return key_error{"not an even number of hex digits"};
  key_bytes out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_digit(text[i]);
    const int lo = hex_digit(text[i + 1]);
    if (hi < 0 || lo < 0) return key_error{"not hex"};
    out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
  }
  return out;
}

std::variant<key_bytes, key_error> load_key(const config::key_source& source,
                                            const std::string& base_dir) {
  using kind = config::key_source::kind;
  switch (source.from) {
  case kind::none:
    return key_error{"no key configured"};
  case kind::hex: {
    auto k = decode_hex(trim(source.value));
    if (auto* e = std::get_if<key_error>(&k)) return key_error{"hex key: " + e->reason};
    return checked(std::get<key_bytes>(std::move(k)), "hex key");
  }
  case kind::env: {
    const std::string where = "env " + source.value;
    const char* v = std::getenv(source.value.c_str());
    if (v == nullptr || *v == '\0') return key_error{where + ": not set"};
    auto k = decode_hex(trim(v));
    if (auto* e = std::get_if<key_error>(&k)) return key_error{where + ": " + e->reason};
    return checked(std::get<key_bytes>(std::move(k)), where);
  }
  case kind::file: {
    std::filesystem::path p(source.value);
    if (p.is_relative()) p = std::filesystem::path(base_dir) / p;
    const std::string where = "key file " + p.string();
    struct stat st {};
    if (::stat(p.c_str(), &st) != 0) return key_error{where + ": " + std::strerror(errno)};
    if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
      return key_error{where + ": readable or writable by other users (chmod 600 it)"};
    std::ifstream f(p, std::ios::binary);
    if (!f) return key_error{where + ": cannot read"};
    std::ostringstream content;
    content << f.rdbuf();
    const std::string raw = content.str();
    const std::string_view text = trim(raw);
    auto hex = decode_hex(text);
    if (auto* k = std::get_if<key_bytes>(&hex)) return checked(std::move(*k), where);
    return checked(key_bytes(raw.begin(), raw.end()), where);
  }
  }
  return key_error{"unknown key source"};
}

} // namespace bulwark::crypto
