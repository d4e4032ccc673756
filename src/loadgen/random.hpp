#pragma once
/// The simulator's randomness: xoshiro256** seeded through splitmix64, with
/// its own uniform and normal transforms. The standard distributions are
/// implementation-defined, so the same seed would give different bytes with
/// another standard library; these give the same bytes everywhere.
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace bulwark::loadgen {

/// One step of splitmix64: a bijection of `x`, used to seed and to derive
/// independent values (request ids, victims) from counters without a stream.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30U)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27U)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31U);
}

/// xoshiro256** (Blackman and Vigna): fast, small state, good equidistribution.
class rng {
public:
  /// Seeds the four words from splitmix64 of `seed` (any seed, 0 included).
  explicit rng(std::uint64_t seed) noexcept {
    std::uint64_t x = seed;
    for (auto& w : s_) {
      x += 0x9e3779b97f4a7c15ULL;
      w = mix64(x);
    }
  }

  /// 64 uniformly random bits.
  std::uint64_t next() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17U;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() noexcept { return static_cast<double>(next() >> 11U) * 0x1.0p-53; }

  /// Uniform in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }

  /// Uniform integer in [lo, hi] (inclusive). The modulo bias (span / 2^64)
  /// is far below anything a simulator could notice.
  std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept {
    const auto span = static_cast<std::uint64_t>(hi - lo) + 1;
    return lo + static_cast<std::int64_t>(span == 0 ? next() : next() % span);
  }

  /// Uniform index in [0, n); n must be positive.
  std::size_t index(std::size_t n) noexcept {
    return static_cast<std::size_t>(between(0, static_cast<std::int64_t>(n) - 1));
  }

  /// True with probability `p`.
  bool chance(double p) noexcept { return uniform() < p; }

  /// Standard normal (Box–Muller; one value per call, so the stream position
  /// depends only on the number of calls).
  double normal() noexcept {
    double u1 = uniform();
    while (u1 <= 0.0)
      u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }

  /// Normal with mean `mu` and standard deviation `sigma`.
  double normal(double mu, double sigma) noexcept { return mu + sigma * normal(); }

  /// Log-normal: exp of a normal(mu, sigma).
  double lognormal(double mu, double sigma) noexcept { return std::exp(normal(mu, sigma)); }

  /// One element of a non-empty list.
  template <class T> const T& pick(std::span<const T> items) noexcept {
    return items[index(items.size())];
  }

private:
  static constexpr std::uint64_t rotl(std::uint64_t x, int k) noexcept {
    return (x << static_cast<unsigned>(k)) | (x >> static_cast<unsigned>(64 - k));
  }
  std::array<std::uint64_t, 4> s_{};
};

} // namespace bulwark::loadgen
