// Micro benchmarks of the scan validators (src/scan/validators.hpp): the
// checks that confirm a pattern match before it becomes a finding. Each runs
// over 1,024 candidates shaped like the matches the rules hand it, half of
// them valid. Before timing, every answer is checked against a reference
// computed here independently: the candidates are built valid (check digits
// computed) or broken in one character (which Luhn and mod-97 always detect),
// SSNs are labelled by the published rules, JWTs are encoded here, entropy is
// recomputed with a map of counts, GitHub checksums with a bitwise CRC-32.
//
//   build/bench/validators/bench_validators --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true
#include "scan/validators.hpp"

#include <benchmark/benchmark.h>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <vector>

namespace {

using namespace bulwark;

constexpr std::size_t kCandidates = 1024;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "verification failed: %s\n", what);
  std::abort();
}

struct candidate {
  std::string text;
  bool valid = false;
};

std::int64_t total_bytes(const std::vector<candidate>& c) {
  std::int64_t b = 0;
  for (const auto& x : c)
    b += static_cast<std::int64_t>(x.text.size());
  return b;
}

char digit(std::mt19937& rng) {
  return static_cast<char>('0' + rng() % 10);
}

/// Changes one digit of `s` (skipping separators) to another digit.
void break_one_digit(std::string& s, std::mt19937& rng) {
  std::vector<std::size_t> at;
  for (std::size_t i = 0; i < s.size(); ++i)
    if (s[i] >= '0' && s[i] <= '9') at.push_back(i);
  char& c = s[at[rng() % at.size()]];
  c = static_cast<char>('0' + (c - '0' + 1 + static_cast<int>(rng() % 9)) % 10);
}

/// Card numbers as matched ("4111 1111 1111 1111", "5500-0000-0000-0004",
/// 19-digit runs), the last digit computed so the Luhn sum is 0 mod 10.
std::vector<candidate> cards() {
  std::mt19937 rng(1);
  std::vector<candidate> out;
  for (std::size_t i = 0; i < kCandidates; ++i) {
    const std::size_t len = i % 4 == 3 ? 19 : 16;
    std::string d = std::string(1, "3456"[i % 4]);
    while (d.size() < len - 1)
      d += digit(rng);
    int sum = 0; // doubling every second digit from the right, check digit excluded
    for (std::size_t k = 0; k < d.size(); ++k) {
      int v = d[d.size() - 1 - k] - '0';
      if (k % 2 == 0) v = v * 2 > 9 ? v * 2 - 9 : v * 2;
      sum += v;
    }
    d += static_cast<char>('0' + (10 - sum % 10) % 10);
    candidate c{d, i % 2 == 0};
    if (!c.valid) break_one_digit(c.text, rng);
    if (len == 16 && i % 3 != 2) { // grouped by four
      std::string g;
      for (std::size_t k = 0; k < c.text.size(); ++k) {
        if (k != 0 && k % 4 == 0) g += i % 3 == 0 ? ' ' : '-';
        g += c.text[k];
      }
      c.text = g;
    }
    out.push_back(std::move(c));
  }
  return out;
}

/// mod 97 of a decimal string, piecewise (the textbook ISO 7064 method).
int mod97(const std::string& digits) {
  int rem = 0;
  for (std::size_t i = 0; i < digits.size(); i += 7) {
    rem = std::stoi(std::to_string(rem) + digits.substr(i, 7)) % 97;
  }
  return rem;
}

/// IBANs of a few countries, check digits computed as ISO 13616 says,
/// printed in groups of four (as in documents) or in one run.
std::vector<candidate> ibans() {
  struct country {
    const char* cc;
    int len;
    int letters; // leading letters of the BBAN (bank code)
  };
  static constexpr country countries[] = {{"DE", 22, 0}, {"GB", 22, 4}, {"FR", 27, 0},
                                          {"NL", 18, 4}, {"IT", 27, 1}, {"ES", 24, 0}};
  std::mt19937 rng(2);
  std::vector<candidate> out;
  for (std::size_t i = 0; i < kCandidates; ++i) {
    const country& k = countries[i % (sizeof countries / sizeof *countries)];
    std::string bban;
    for (int j = 0; j < k.len - 4; ++j)
      bban += j < k.letters ? static_cast<char>('A' + rng() % 26) : digit(rng);
    std::string expanded; // BBAN + country + "00", letters as 10..35
    for (const char c : bban + k.cc + "00")
      expanded += c >= 'A' && c <= 'Z' ? std::to_string(c - 'A' + 10) : std::string(1, c);
    const int check = 98 - mod97(expanded);
    std::string iban = std::string(k.cc) + (check < 10 ? "0" : "") + std::to_string(check) + bban;
    candidate c{iban, i % 2 == 0};
    if (!c.valid) break_one_digit(c.text, rng);
    if (i % 3 != 0) {
      std::string g;
      for (std::size_t j = 0; j < c.text.size(); ++j) {
        if (j != 0 && j % 4 == 0) g += ' ';
        g += c.text[j];
      }
      c.text = g;
    }
    out.push_back(std::move(c));
  }
  return out;
}

/// SSN-shaped numbers, labelled by the SSA's rules: area not 000, 666 or
/// 900-999, group not 00, serial not 0000, and not the two published examples.
std::vector<candidate> ssns() {
  std::mt19937 rng(3);
  std::vector<candidate> out;
  for (std::size_t i = 0; i < kCandidates; ++i) {
    int area = static_cast<int>(rng() % 1000), group = static_cast<int>(rng() % 100),
        serial = static_cast<int>(rng() % 10000);
    switch (i % 8) { // half of them hit one of the invalid forms
    case 1:
      area = 0;
      break;
    case 3:
      area = 666;
      break;
    case 5:
      area = 900 + static_cast<int>(rng() % 100);
      break;
    case 7:
      (i % 16 == 7 ? group : serial) = 0;
      break;
    default:
      if (area == 0 || area == 666 || area >= 900) area = 1 + static_cast<int>(rng() % 665);
      group = group == 0 ? 1 : group;
      serial = serial == 0 ? 1 : serial;
    }
    if (i == 10) area = 123, group = 45, serial = 6789;
    const bool example = (area == 123 && group == 45 && serial == 6789) ||
                         (area == 78 && group == 5 && serial == 1120);
    const bool valid =
        area != 0 && area != 666 && area < 900 && group != 0 && serial != 0 && !example;
    char buf[16];
    const char sep = i % 3 == 0 ? ' ' : '-';
    if (i % 5 == 4)
      std::snprintf(buf, sizeof buf, "%03d%02d%04d", area, group, serial);
    else
      std::snprintf(buf, sizeof buf, "%03d%c%02d%c%04d", area, sep, group, sep, serial);
    out.push_back({buf, valid});
  }
  return out;
}

std::string base64url(const std::string& in) {
  static constexpr char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16 |
                       static_cast<unsigned char>(in[i + 1]) << 8 |
                       static_cast<unsigned char>(in[i + 2]);
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
  }
  if (i + 1 == in.size()) {
    const unsigned v = static_cast<unsigned char>(in[i]) << 16;
    out += {a[v >> 18], a[(v >> 12) & 63]};
  } else if (i + 2 == in.size()) {
    const unsigned v =
        static_cast<unsigned char>(in[i]) << 16 | static_cast<unsigned char>(in[i + 1]) << 8;
    out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63]};
  }
  return out;
}

/// JWTs encoded here (header with alg, JSON payload, random signature) and
/// look-alikes: three dotted base64url runs that do not decode to objects,
/// a header without alg, two segments only.
std::vector<candidate> jwts() {
  std::mt19937 rng(4);
  auto random_b64 = [&](std::size_t n) {
    std::string s;
    for (std::size_t k = 0; k < n; ++k)
      s += "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[rng() % 64];
    return s;
  };
  std::vector<candidate> out;
  for (std::size_t i = 0; i < kCandidates; ++i) {
    const std::string header = i % 8 == 3 ? R"({"typ":"JWT"})" : R"({"alg":"HS256","typ":"JWT"})";
    const std::string payload = R"({"sub":"user-)" + std::to_string(rng() % 100000) +
                                R"(","iat":)" + std::to_string(1700000000 + rng() % 10000000) +
                                R"(,"scope":"read write"})";
    const std::string sig = random_b64(43);
    switch (i % 4) {
    case 0:
    case 2:
      out.push_back({base64url(header) + "." + base64url(payload) + "." + sig, true});
      break;
    case 1:
      out.push_back({random_b64(36) + "." + random_b64(80) + "." + sig, false});
      break;
    default:
      out.push_back(i % 8 == 3
                        ? candidate{base64url(header) + "." + base64url(payload) + "." + sig, false}
                        : candidate{base64url(header) + "." + base64url(payload), false});
    }
  }
  return out;
}

/// Secret-like and word-like strings, 16-64 characters.
std::vector<candidate> entropy_inputs() {
  std::mt19937 rng(5);
  static const char* words[] = {"password", "config", "value", "secret", "token", "admin"};
  std::vector<candidate> out;
  for (std::size_t i = 0; i < kCandidates; ++i) {
    std::string s;
    const std::size_t n = 16 + rng() % 49;
    if (i % 2 == 0) {
      while (s.size() < n)
        s += "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[rng() % 64];
    } else {
      while (s.size() < n)
        s += words[rng() % 6];
      s.resize(n);
    }
    out.push_back({s, false});
  }
  return out;
}

std::uint32_t crc32_bitwise(const std::string& s) {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (const char ch : s) {
    crc ^= static_cast<unsigned char>(ch);
    for (int k = 0; k < 8; ++k)
      crc = (crc >> 1) ^ (0xEDB88320U & (0U - (crc & 1U)));
  }
  return ~crc;
}

/// GitHub tokens: prefix, 30 base62 characters, then the CRC-32 of those 30
/// in 6 base62 digits; half with one payload character changed.
std::vector<candidate> github_tokens() {
  static constexpr char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  static const char* prefixes[] = {"ghp_", "gho_", "ghu_", "ghs_", "ghr_"};
  std::mt19937 rng(6);
  std::vector<candidate> out;
  for (std::size_t i = 0; i < kCandidates; ++i) {
    std::string payload;
    for (int k = 0; k < 30; ++k)
      payload += b62[rng() % 62];
    std::uint32_t crc = crc32_bitwise(payload);
    std::string check(6, '0');
    for (int k = 5; k >= 0; --k, crc /= 62)
      check[static_cast<std::size_t>(k)] = b62[crc % 62];
    const bool valid = i % 2 == 0;
    if (!valid) {
      char& c = payload[rng() % 30];
      c = c == 'a' ? 'b' : 'a';
    }
    out.push_back({std::string(prefixes[i % 5]) + payload + check, valid});
  }
  return out;
}

template <class F> void verify(const std::vector<candidate>& c, F&& check, const char* what) {
  std::size_t valid = 0;
  for (const auto& x : c) {
    if (check(x.text) != x.valid) {
      std::fprintf(stderr, "verification failed: %s on \"%s\" (expected %s)\n", what,
                   x.text.c_str(), x.valid ? "valid" : "invalid");
      std::abort();
    }
    valid += x.valid ? 1 : 0;
  }
  if (valid == 0 || valid == c.size()) fail("corpus is not a mix of valid and invalid");
}

template <class F> void run(benchmark::State& state, const std::vector<candidate>& c, F&& check) {
  for (auto _ : state)
    for (const auto& x : c)
      benchmark::DoNotOptimize(check(x.text));
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(c.size()));
  state.SetBytesProcessed(state.iterations() * total_bytes(c));
}

void BM_luhn(benchmark::State& state) {
  static const auto c = cards();
  verify(c, scan::luhn_valid, "luhn_valid");
  run(state, c, scan::luhn_valid);
}
BENCHMARK(BM_luhn);

void BM_iban(benchmark::State& state) {
  static const auto c = ibans();
  verify(c, scan::iban_valid, "iban_valid");
  run(state, c, scan::iban_valid);
}
BENCHMARK(BM_iban);

void BM_us_ssn(benchmark::State& state) {
  static const auto c = ssns();
  verify(c, scan::us_ssn_valid, "us_ssn_valid");
  run(state, c, scan::us_ssn_valid);
}
BENCHMARK(BM_us_ssn);

void BM_jwt(benchmark::State& state) {
  static const auto c = jwts();
  verify(c, scan::jwt_valid, "jwt_valid");
  run(state, c, scan::jwt_valid);
}
BENCHMARK(BM_jwt);

void BM_github_token_crc(benchmark::State& state) {
  static const auto c = github_tokens();
  verify(c, scan::github_token_crc_valid, "github_token_crc_valid");
  run(state, c, scan::github_token_crc_valid);
}
BENCHMARK(BM_github_token_crc);

void BM_shannon_entropy(benchmark::State& state) {
  static const auto c = entropy_inputs();
  for (const auto& x : c) {
    std::map<char, int> counts;
    for (const char ch : x.text)
      ++counts[ch];
    double h = 0;
    for (const auto& [ch, n] : counts) {
      const double p = static_cast<double>(n) / static_cast<double>(x.text.size());
      h -= p * std::log2(p);
    }
    if (std::fabs(scan::shannon_entropy(x.text) - h) > 1e-9) fail("shannon_entropy");
  }
  run(state, c, scan::shannon_entropy);
}
BENCHMARK(BM_shannon_entropy);

} // namespace

BENCHMARK_MAIN();
