#pragma once
/// Per-thread scanning of one decoded string value against a ruleset.
///
///   Hyperscan (raw db on the text; normalized db on the normalised text, or on
///   the lower-cased text when nothing but ASCII case would change)
///     ─▶ which rules occur in which values (every occurrence reported; a rule
///        counted once per value)
///     ─▶ for those rules and values only: every match and its group (RE2,
///        leftmost-longest)
///     ─▶ keywords ─▶ validator ─▶ map back to original bytes ─▶ allow list
///     ─▶ overlap resolution across rules: longest, then most severe, then leftmost;
///        the winner absorbs the bytes of the matches it beat
///
/// No heap allocation per call once warm.
#include "scan/match.hpp"
#include "scan/normalize.hpp"
#include "scan/ruleset.hpp"
#include "scan/value_cache.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace bulwark::scan {

class scanner {
public:
  explicit scanner(std::shared_ptr<const ruleset> rules);
  ~scanner();
  scanner(scanner&&) noexcept;
  scanner& operator=(scanner&&) noexcept;
  scanner(const scanner&) = delete;
  scanner& operator=(const scanner&) = delete;

  /// Confirmed, non-overlapping matches in `text`, sorted by begin.
  void scan(std::string_view text, std::vector<match>& out);

  /// The same for every string value of one event at once: one Hyperscan call
  /// per text form for the whole event, so clean events cost one pass.
  /// `out[i]` receives the matches of `values[i]` (out grows as needed).
  void scan_values(std::span<const std::string_view> values, std::vector<std::vector<match>>& out);

  /// Every confirmed match of every rule before overlap resolution (for rule
  /// examples and `rules test`).
  void candidates(std::string_view text, std::vector<match>& out);

  const ruleset& rules() const noexcept { return *rules_; }

  /// How the cache of recently seen values has served this scanner (value_cache.hpp).
  const value_cache::stats& cache_stats() const noexcept;

private:
  void candidates_of_values(std::span<const std::string_view> values,
                            std::vector<std::vector<match>>& out);
  /// candidates_of_values() without the cache: the Hyperscan passes, RE2, prompts.
  void scan_uncached(std::span<const std::string_view> values,
                     std::vector<std::vector<match>>& out);
  void confirm(std::uint32_t rule, std::string_view original, std::string_view scanned,
               const normalized_text* norm, std::vector<match>& out) const;
  void resolve(std::vector<match>& cands, std::vector<match>& out);
  void find_prompts(std::span<const std::string_view> values, std::vector<std::vector<match>>& out);

  struct impl;
  std::shared_ptr<const ruleset> rules_;
  std::unique_ptr<impl> impl_;
};

} // namespace bulwark::scan
