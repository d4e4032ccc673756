#pragma once
/// Which input partition each source's records come from, and which sources
/// changed since their state was last written to the integrity changelog
/// (docs/integrity.md, "State across instances"). Pure bookkeeping; the
/// caller (pipeline::detectors) holds the checker and writes the records.
///
/// Invariants:
///  1. A source lives on the partition its latest record came from (records
///     keyed by source keep it on one).
///  2. Bounded: at most `max_entries` sources. When full, the sources whose
///     state is already written are forgotten here (the checker keeps them);
///     their only loss is that a revoke then does not drop them.
#include <compare>
#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::integrity {

/// An input partition.
struct home {
  std::string topic;
  std::int32_t partition = -1;
  auto operator<=>(const home&) const = default;
};

class state_book {
public:
  explicit state_book(std::size_t max_entries) : max_entries_(max_entries) {}

  /// A record of `source` from `h` was judged: its state may have changed.
  void touched(std::string_view source, const home& h);
  /// `source`'s state was restored from `h`'s changelog: it lives there and
  /// is written out already.
  void placed(std::string_view source, const home& h);
  /// The changed sources living on a partition of `only` (every partition
  /// when null), now counted as written, each with its home.
  std::vector<std::pair<std::string, home>> take_changed(const std::set<home>* only);
  /// The sources living on `h`, now forgotten here (another instance holds them).
  std::vector<std::string> release(const home& h);
  /// Sources known, and of them changed since last written.
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t changed() const noexcept { return changed_; }

private:
  struct entry {
    home where;
    bool changed = false;
  };
  void make_room();

  std::size_t max_entries_;
  std::map<std::string, entry, std::less<>> entries_;
  std::size_t changed_ = 0;
};

} // namespace bulwark::integrity
