#include "crypto/keys.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>

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

/// "0640": the permission bits as chmod takes them.
std::string octal_mode(mode_t mode) {
  std::array<char, 8> text{};
  std::snprintf(text.data(), text.size(), "%04o", static_cast<unsigned>(mode & 07777U));
  return text.data();
}

/// Like ssh with a private key: a key file must give its group and other
/// users no access at all. Group access is refused too because a group is a
/// list of users the operator does not see from the file itself, and a key
/// shared with a service group (root:bulwark 0640) can come from the
/// environment instead. The fix is part of the message.
std::optional<key_error> exposure(const std::string& where, const std::string& path, mode_t mode) {
  const bool others = (mode & S_IRWXO) != 0;
  const bool group = (mode & S_IRWXG) != 0;
  if (!others && !group) return std::nullopt;
  return key_error{
      where + ": mode " + octal_mode(mode) + " gives " + (others ? "other users" : "its group") +
      " access to the key; a key file must be private to its owner (chmod 600 " + path + ")"};
}

std::variant<key_bytes, key_error> read_key_file(const std::string& path) {
  // A PEM or hex key is well under this; anything larger is not a key file,
  // and reading it whole would let a wrong path cost unbounded memory.
  constexpr off_t max_key_file_bytes = off_t{64} * 1024;
  const std::string where = "key file " + path;
  // Mode and content come from one open file, so the file checked is the one
  // read. O_NONBLOCK: a FIFO put where the key belongs is refused, not waited on.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return key_error{where + ": " + std::strerror(errno)};
  struct fd_closer {
    int fd;
    ~fd_closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return key_error{where + ": " + std::strerror(errno)};
  if (!S_ISREG(st.st_mode)) return key_error{where + ": not a regular file"};
  if (auto refused = exposure(where, path, st.st_mode)) return *refused;
  if (st.st_size > max_key_file_bytes)
    return key_error{where + ": larger than 64 KiB, not a key file"};
  std::string raw;
  std::array<char, 4096> buffer{};
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return key_error{where + ": " + std::strerror(errno)};
    }
    raw.append(buffer.data(), static_cast<std::size_t>(n));
    if (raw.size() > static_cast<std::size_t>(max_key_file_bytes))
      return key_error{where + ": larger than 64 KiB, not a key file"};
  }
  const std::string_view text = trim(raw);
  auto hex = decode_hex(text);
  if (auto* k = std::get_if<key_bytes>(&hex)) return checked(std::move(*k), where);
  return checked(key_bytes(raw.begin(), raw.end()), where);
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
    return read_key_file(p.string());
  }
  }
  return key_error{"unknown key source"};
}

} // namespace bulwark::crypto
