#include "scan/validators.hpp"

#include <array>
#include <cmath>

namespace bulwark::scan {
namespace {

constexpr bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
constexpr bool is_upper(char c) noexcept {
  return c >= 'A' && c <= 'Z';
}
constexpr bool is_lower(char c) noexcept {
  return c >= 'a' && c <= 'z';
}
constexpr char to_upper(char c) noexcept {
  return is_lower(c) ? static_cast<char>(c - 32) : c;
}

/// Decodes base64url (with or without padding) and returns whether the result,
/// after leading whitespace, starts with '{' and ends with '}' — what a JWT
/// header and payload are. Checks `alg` in the header when asked.
bool base64url_json_object(std::string_view seg, bool need_alg) noexcept {
  if (seg.empty()) return false;
  auto value = [](char c) -> int {
    if (is_upper(c)) return c - 'A';
    if (is_lower(c)) return c - 'a' + 26;
    if (is_digit(c)) return c - '0' + 52;
    if (c == '-' || c == '_') return c == '-' ? 62 : 63;
    return -1;
  };
  while (!seg.empty() && seg.back() == '=')
    seg.remove_suffix(1);
  if (seg.size() % 4 == 1) return false;
  std::array<char, 512> buf{};
  std::size_t n = 0;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : seg) {
    const int v = value(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < buf.size()) buf[n] = static_cast<char>((acc >> bits) & 0xFF);
      ++n;
    }
  }
  const std::string_view decoded(buf.data(), n < buf.size() ? n : buf.size());
  const std::size_t first = decoded.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || decoded[first] != '{') return false;
  // A payload longer than the buffer is judged by its start only.
  if (n <= buf.size() && decoded.back() != '}') {
    const std::size_t last = decoded.find_last_not_of(" \t\r\n");
    if (last == std::string_view::npos || decoded[last] != '}') return false;
  }
  return !need_alg || decoded.find("\"alg\"") != std::string_view::npos;
}

std::uint32_t crc32(std::string_view data) noexcept {
  static const auto table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k)
        c = (c & 1U) ? 0xEDB88320U ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = 0xFFFFFFFFU;
  for (char ch : data)
    crc = table[(crc ^ static_cast<unsigned char>(ch)) & 0xFFU] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFU;
}

/// ISO 13616 lengths per country (the registry's full list).
int iban_length(char a, char b) noexcept {
  struct entry {
    char cc[3];
    int len;
  };
  static constexpr entry table[] = {
      {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16},
      {"BG", 22}, {"BH", 22}, {"BI", 27}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22},
      {"CY", 28}, {"CZ", 24}, {"DE", 22}, {"DJ", 27}, {"DK", 18}, {"DO", 28}, {"EE", 20},
      {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FK", 18}, {"FO", 18}, {"FR", 27}, {"GB", 22},
      {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
      {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30},
      {"KZ", 20}, {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21},
      {"LY", 25}, {"MC", 27}, {"MD", 24}, {"ME", 22}, {"MK", 19}, {"MN", 20}, {"MR", 27},
      {"MT", 31}, {"MU", 30}, {"NI", 28}, {"NL", 18}, {"NO", 15}, {"OM", 23}, {"PK", 24},
      {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"RU", 33},
      {"SA", 24}, {"SC", 31}, {"SD", 18}, {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27},
      {"SO", 23}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24}, {"TR", 26}, {"UA", 29},
      {"VA", 22}, {"VG", 24}, {"XK", 20}, {"YE", 30},
  };
  for (const auto& e : table)
    if (e.cc[0] == a && e.cc[1] == b) return e.len;
  return 0;
}

} // namespace

bool luhn_valid(std::string_view text) noexcept {
  int digits = 0;
  int sum = 0;
  for (auto it = text.rbegin(); it != text.rend(); ++it) {
    if (!is_digit(*it)) continue;
    int d = *it - '0';
    if (digits % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    ++digits;
  }
  return digits >= 12 && digits <= 19 && sum % 10 == 0;
}

bool iban_valid(std::string_view text) noexcept {
  std::array<char, 40> c{};
  std::size_t n = 0;
  for (char ch : text) {
    if (ch == ' ') continue;
    if (n == c.size()) return false;
    c[n++] = to_upper(ch);
  }
  if (n < 15 || !is_upper(c[0]) || !is_upper(c[1]) || !is_digit(c[2]) || !is_digit(c[3]))
    return false;
  const int want = iban_length(c[0], c[1]);
  if (want == 0 || static_cast<std::size_t>(want) != n) return false;
  // Move the first four characters to the end and read letters as 10..35.
  int rem = 0;
  for (std::size_t k = 0; k < n; ++k) {
    const char ch = c[(k + 4) % n];
    if (is_digit(ch)) {
      rem = (rem * 10 + (ch - '0')) % 97;
    } else if (is_upper(ch)) {
      const int v = ch - 'A' + 10;
      rem = (rem * 100 + v) % 97;
    } else {
      return false;
    }
  }
  return rem == 1;
}

bool us_ssn_valid(std::string_view text) noexcept {
  std::array<int, 9> d{};
  std::size_t n = 0;
  for (char ch : text) {
    if (is_digit(ch)) {
      if (n == d.size()) return false;
      d[n++] = ch - '0';
    } else if (ch != '-' && ch != ' ') {
      return false;
    }
  }
  if (n != 9) return false;
  const int area = d[0] * 100 + d[1] * 10 + d[2];
  const int group = d[3] * 10 + d[4];
  const int serial = d[5] * 1000 + d[6] * 100 + d[7] * 10 + d[8];
  if (area == 0 || area == 666 || area >= 900) return false;
  if (group == 0 || serial == 0) return false;
  // Well-known advertising/example numbers are not real people's.
  if (area == 123 && group == 45 && serial == 6789) return false;
  if (area == 78 && group == 5 && serial == 1120) return false;
  return true;
}

bool jwt_valid(std::string_view text) noexcept {
  const std::size_t a = text.find('.');
  if (a == std::string_view::npos) return false;
  const std::size_t b = text.find('.', a + 1);
  if (b == std::string_view::npos) return false;
  if (text.find('.', b + 1) != std::string_view::npos) return false;
  return base64url_json_object(text.substr(0, a), true) &&
         base64url_json_object(text.substr(a + 1, b - a - 1), false);
}

double shannon_entropy(std::string_view text) noexcept {
  if (text.empty()) return 0;
  std::array<std::uint32_t, 256> counts{};
  for (char ch : text)
    ++counts[static_cast<unsigned char>(ch)];
  double h = 0;
  const double n = static_cast<double>(text.size());
  for (std::uint32_t c : counts) {
    if (c == 0) continue;
    const double p = c / n;
    h -= p * std::log2(p);
  }
  return h;
}

bool github_token_crc_valid(std::string_view text) noexcept {
  const std::size_t us = text.find('_');
  if (us == std::string_view::npos) return false;
  const std::string_view body = text.substr(us + 1);
  if (body.size() != 36) return false;
  const std::string_view payload = body.substr(0, 30);
  const std::string_view check = body.substr(30);
  static constexpr std::string_view alphabet =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::uint32_t crc = crc32(payload);
  std::array<char, 6> enc{'0', '0', '0', '0', '0', '0'};
  for (int i = 5; i >= 0 && crc != 0; --i) {
    enc[static_cast<std::size_t>(i)] = alphabet[crc % 62];
    crc /= 62;
  }
  return std::string_view(enc.data(), enc.size()) == check;
}

} // namespace bulwark::scan
