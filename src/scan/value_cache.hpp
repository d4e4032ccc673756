#pragma once
/// The candidates of string values seen recently, per scanner (one per worker
/// thread, so no locking).
///
/// Telemetry repeats itself: the same system prompt in every chat request,
/// the same model names, roles, routes, status texts and log templates. A
/// value's candidates (every confirmed match of every rule, before overlap
/// resolution) depend on nothing but its bytes and the ruleset, so a value
/// seen before needs no Hyperscan pass, no normalisation and no RE2
/// confirmation: its stored candidates are copied instead.
///
/// - Exact: an entry is used only when its bytes equal the value's (the hash
///   only chooses the slot), so a crafted collision costs a scan, never a
///   wrong answer.
/// - Bounded: a fixed number of direct-mapped slots, values up to
///   `max_value` bytes with at most `max_matches` candidates, and a byte
///   budget over all entries; nothing grows with the input.
/// - Admission on the second sighting: a value is stored only when its hash
///   was seen recently, so one-off values (timestamps, request ids) neither
///   pay for a copy nor push out the values that do repeat.
/// - Tied to one ruleset: a reload builds new scanners, and with them new caches.
#include "scan/match.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::scan {

class value_cache {
public:
  struct limits {
    std::size_t slots = 4096;     ///< rounded up to a power of two
    std::size_t max_value = 8192; ///< longer values are never stored
    std::size_t max_matches = 16; ///< values with more candidates are never stored
    std::size_t budget = 2 << 20; ///< bytes of stored values and candidates, all slots
  };
  struct stats {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t stored = 0;
    std::size_t bytes = 0; ///< held now, at most limits::budget
  };

  value_cache();
  explicit value_cache(limits l);

  /// A fast 64-bit hash of `text` (not cryptographic: it only picks a slot).
  static std::uint64_t hash(std::string_view text) noexcept;

  /// True when `value` is short enough to be looked up and stored at all.
  bool cacheable(std::string_view value) const noexcept {
    return !value.empty() && value.size() <= limits_.max_value;
  }
  /// The candidates stored for exactly these bytes, or null. `h` is hash(value).
  const std::vector<match>* find(std::string_view value, std::uint64_t h) noexcept;
  /// Offers the candidates of `value` (hash `h`): stored when the value was
  /// offered recently before and fits the limits; otherwise remembered as seen.
  void offer(std::string_view value, std::uint64_t h, const std::vector<match>& cands);

  const stats& counters() const noexcept { return stats_; }
  const limits& bounds() const noexcept { return limits_; }

private:
  struct entry {
    std::string text; ///< empty: the slot is free
    std::vector<match> cands;
  };
  static std::size_t cost(const entry& e) noexcept {
    return e.text.size() + e.cands.size() * sizeof(match);
  }

  limits limits_;
  std::size_t mask_ = 0;
  std::vector<std::uint64_t> hashes_; ///< per slot, apart from the entries: a miss reads 8 bytes
  std::vector<entry> slots_;
  std::vector<std::uint64_t> seen_; ///< hashes offered once, direct-mapped (admission)
  stats stats_;
};

} // namespace bulwark::scan
