#include "loadgen/content.hpp"

#include <array>
#include <cctype>

namespace bulwark::loadgen::content {
namespace {

constexpr std::array<std::string_view, 64> words{
    "the",     "order",     "shipping", "refund",   "account",  "invoice",  "delivery", "status",
    "card",    "payment",   "upgrade",  "plan",     "billing",  "address",  "question", "help",
    "please",  "thanks",    "update",   "tracking", "number",   "product",  "return",   "warranty",
    "support", "issue",     "problem",  "login",    "settings", "schedule", "meeting",  "report",
    "summary", "translate", "explain",  "document", "policy",   "weather",  "forecast", "recipe",
    "travel",  "booking",   "flight",   "hotel",    "my",       "is",       "late",     "again",
    "today",   "when",      "can",      "you",      "check",    "why",      "still",    "not",
    "arrived", "receipt",   "package",  "store",    "discount", "coupon",   "size",     "color"};

constexpr std::string_view hex_digits = "0123456789abcdef";
constexpr std::string_view base62 =
    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::string_view base64 =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char pick_char(rng& r, std::string_view alphabet) {
  return alphabet[r.index(alphabet.size())];
}

void append_random(std::string& out, rng& r, std::string_view alphabet, int n) {
  for (int i = 0; i < n; ++i)
    out += pick_char(r, alphabet);
}

void append_digits(std::string& out, rng& r, int n) {
  append_random(out, r, "0123456789", n);
}

/// Inserts a space every four characters.
std::string grouped(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && i % 4 == 0) out += ' ';
    out += s[i];
  }
  return out;
}

} // namespace

std::string sentence(rng& r, int lo, int hi) {
  const auto n = r.between(lo, hi);
  std::string out;
  for (std::int64_t i = 0; i < n; ++i) {
    if (i > 0) out += ' ';
    out += words[r.index(words.size())];
  }
  if (!out.empty()) out[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(out[0])));
  out += '.';
  return out;
}

std::string stack_trace(rng& r) {
  static constexpr std::array<std::string_view, 5> heads{
      "java.util.concurrent.TimeoutException: upstream inference call timed out",
      "java.lang.IllegalStateException: connection pool exhausted",
      "java.io.UncheckedIOException: broken pipe while streaming tokens",
      "com.shop.inference.ModelException: feature vector has wrong width",
      "java.lang.NullPointerException: session is null"};
  static constexpr std::array<std::string_view, 8> frames{
      "com.shop.inference.Client.call(Client.java:212)",
      "com.shop.inference.Router.route(Router.java:88)",
      "com.shop.api.ChatHandler.handle(ChatHandler.java:141)",
      "com.shop.api.ScoreHandler.handle(ScoreHandler.java:67)",
      "com.shop.db.Pool.acquire(Pool.java:54)",
      "io.netty.channel.AbstractChannelHandlerContext.invokeChannelRead(Unknown Source)",
      "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(Unknown Source)",
      "java.base/java.lang.Thread.run(Unknown Source)"};
  std::string out{heads[r.index(heads.size())]};
  const auto n = r.between(2, 4);
  for (std::int64_t i = 0; i < n; ++i) {
    out += "\n\tat ";
    out += frames[r.index(frames.size())];
  }
  return out;
}

std::string trace_id(rng& r) {
  std::string out;
  out += pick_char(r, "abcdef");
  append_random(out, r, hex_digits, 31);
  return out;
}

std::string aws_access_key(rng& r) {
  std::string out = "AKIA";
  append_random(out, r, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);
  return out;
}

std::string github_token(rng& r) {
  std::string payload;
  append_random(payload, r, base62, 30);
  std::uint32_t crc = crc32(payload);
  std::array<char, 6> check{'0', '0', '0', '0', '0', '0'};
  for (int i = 5; i >= 0 && crc != 0; --i) {
    check[static_cast<std::size_t>(i)] = base62[crc % 62];
    crc /= 62;
  }
  return "ghp_" + payload + std::string(check.data(), check.size());
}

std::string password(rng& r) {
  std::string out;
  out += pick_char(r, "ABCDEFGHJKLMNPQRSTUVWXYZ");
  append_random(out, r, "abcdefghijkmnopqrstuvwxyz", 5);
  append_digits(out, r, 2);
  out += pick_char(r, "-_!");
  append_random(out, r, "abcdefghijkmnopqrstuvwxyz0123456789", 4);
  return out;
}

std::string pem_private_key(rng& r) {
  std::string out = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow";
  append_random(out, r, base64, 58);
  for (int line = 0; line < 3; ++line) {
    out += '\n';
    append_random(out, r, base64, 64);
  }
  out += '\n';
  append_random(out, r, base64, 20);
  out += "==\n-----END RSA PRIVATE KEY-----";
  return out;
}

std::string email(rng& r) {
  static constexpr std::array<std::string_view, 8> first{"jane",  "omar", "lea",   "tomas",
                                                         "priya", "chen", "sofia", "malik"};
  static constexpr std::array<std::string_view, 8> last{"doe",    "haddad", "moreau", "novak",
                                                        "sharma", "wei",    "rossi",  "okafor"};
  static constexpr std::array<std::string_view, 5> domains{"gmail.com", "outlook.com", "proton.me",
                                                           "web.de", "yahoo.fr"};
  std::string out{first[r.index(first.size())]};
  out += '.';
  out += last[r.index(last.size())];
  append_digits(out, r, 2);
  out += '@';
  out += domains[r.index(domains.size())];
  return out;
}

std::string phone(rng& r) {
  std::string out;
  switch (r.index(4)) {
  case 0:
    out = "+4915";
    append_digits(out, r, 9);
    break;
  case 1:
    out = "+336";
    append_digits(out, r, 8);
    break;
  case 2:
    out = "+447";
    append_digits(out, r, 9);
    break;
  default:
    out = "+1";
    out += pick_char(r, "23456789");
    append_digits(out, r, 2);
    out += pick_char(r, "23456789");
    append_digits(out, r, 6);
  }
  return out;
}

std::string card_number(rng& r) {
  std::string digits = r.chance(0.5) ? "4" : std::string("5") + pick_char(r, "12345");
  append_digits(digits, r, static_cast<int>(15 - digits.size()));
  // The check digit that makes the Luhn sum a multiple of 10.
  int sum = 0;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    int d = digits[digits.size() - 1 - i] - '0';
    if (i % 2 == 0) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  digits += static_cast<char>('0' + (10 - sum % 10) % 10);
  return grouped(digits);
}

std::string iban(rng& r) {
  std::string bban;
  append_digits(bban, r, 18);
  // Check digits: 98 − (BBAN ‖ "DE00" as digits) mod 97, with D = 13, E = 14.
  int rem = 0;
  for (char c : bban + "131400")
    rem = (rem * 10 + (c - '0')) % 97;
  const int check = 98 - rem;
  std::string out = "DE";
  out += static_cast<char>('0' + check / 10);
  out += static_cast<char>('0' + check % 10);
  out += bban;
  return grouped(out);
}

std::string ssn(rng& r) {
  std::int64_t area = 0;
  std::int64_t group = 0;
  std::int64_t serial = 0;
  do {
    area = r.between(1, 899);
    group = r.between(1, 99);
    serial = r.between(1, 9999);
  } while (area == 666 || (area == 123 && group == 45 && serial == 6789) ||
           (area == 78 && group == 5 && serial == 1120));
  std::string out(11, '-');
  const auto put = [&](std::size_t at, std::int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
      out[at + static_cast<std::size_t>(i)] = static_cast<char>('0' + v % 10);
      v /= 10;
    }
  };
  put(0, area, 3);
  put(4, group, 2);
  put(7, serial, 4);
  return out;
}

std::uint32_t crc32(std::string_view data) noexcept {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (char ch : data) {
    crc ^= static_cast<unsigned char>(ch);
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1U) ^ (0xEDB88320U & (0U - (crc & 1U)));
  }
  return ~crc;
}

bool luhn_ok(std::string_view text) noexcept {
  int sum = 0;
  int n = 0;
  for (std::size_t i = text.size(); i-- > 0;) {
    if (text[i] < '0' || text[i] > '9') continue;
    int d = text[i] - '0';
    if (n % 2 == 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    ++n;
  }
  return n >= 12 && sum % 10 == 0;
}

bool iban_ok(std::string_view text) noexcept {
  std::string s;
  for (char c : text)
    if (c != ' ') s += c;
  if (s.size() < 15) return false;
  const std::string moved = s.substr(4) + s.substr(0, 4);
  int rem = 0;
  for (char c : moved) {
    if (c >= '0' && c <= '9') {
      rem = (rem * 10 + (c - '0')) % 97;
    } else if (c >= 'A' && c <= 'Z') {
      rem = (rem * 100 + (c - 'A' + 10)) % 97;
    } else {
      return false;
    }
  }
  return rem == 1;
}

} // namespace bulwark::loadgen::content
