#include "scan/value_cache.hpp"

#include <bit>
#include <cstring>

namespace bulwark::scan {

namespace {

constexpr std::uint64_t k1 = 0x9E3779B97F4A7C15ULL;
constexpr std::uint64_t k2 = 0xC2B2AE3D27D4EB4FULL;

std::uint64_t load(const char* p, std::size_t n) noexcept {
  std::uint64_t w = 0;
  std::memcpy(&w, p, n);
  return w;
}

} // namespace

value_cache::value_cache() : value_cache(limits{}) {}

value_cache::value_cache(limits l) : limits_(l) {
  const std::size_t n = std::bit_ceil(limits_.slots < 1 ? std::size_t{1} : limits_.slots);
  mask_ = n - 1;
  slots_.resize(n);
  hashes_.resize(n, 0);
  seen_.resize(n, 0);
}

std::uint64_t value_cache::hash(std::string_view text) noexcept {
  std::uint64_t h = k2 ^ (text.size() * k1);
  const char* p = text.data();
  std::size_t n = text.size();
  // Two lanes of 8 bytes each, so the multiplies of neighbouring words overlap.
  std::uint64_t a = h, b = ~h;
  for (; n >= 16; p += 16, n -= 16) {
    a = (a ^ load(p, 8)) * k1;
    b = (b ^ load(p + 8, 8)) * k2;
    a ^= a >> 29;
    b ^= b >> 31;
  }
  if (n >= 8) {
    a = (a ^ load(p, 8)) * k1;
    a ^= a >> 29;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    b = (b ^ load(p, n)) * k2;
    b ^= b >> 31;
  }
  h = (a ^ std::rotl(b, 23)) * k1;
  return h ^ (h >> 32);
}

const std::vector<match>* value_cache::find(std::string_view value, std::uint64_t h) noexcept {
  const std::size_t slot = h & mask_;
  if (hashes_[slot] == h) {
    const entry& e = slots_[slot];
    if (e.text.size() == value.size() && !e.text.empty() &&
        std::memcmp(e.text.data(), value.data(), value.size()) == 0) {
      ++stats_.hits;
      return &e.cands;
    }
  }
  ++stats_.misses;
  return nullptr;
}

void value_cache::offer(std::string_view value, std::uint64_t h, const std::vector<match>& cands) {
  if (!cacheable(value) || cands.size() > limits_.max_matches) return;
  // Admission: the first offer only marks the hash as seen.
  std::uint64_t& mark = seen_[(h >> 32) & mask_];
  if (mark != h) {
    mark = h;
    return;
  }
  const std::size_t slot = h & mask_;
  entry& e = slots_[slot];
  const std::size_t need = value.size() + cands.size() * sizeof(match);
  const std::size_t freed = cost(e);
  if (stats_.bytes - freed + need > limits_.budget) return;
  stats_.bytes -= freed;
  hashes_[slot] = h;
  e.text = std::string(value); // exact capacity: the budget counts what is held
  e.cands.assign(cands.begin(), cands.end());
  e.cands.shrink_to_fit();
  stats_.bytes += need;
  ++stats_.stored;
}

} // namespace bulwark::scan
