#pragma once
/// Registered system prompts (rules.system_prompts): any verbatim run of at
/// least `min_words` consecutive words of a prompt, in any field, is a leak.
/// Comparison ignores ASCII case and how words are separated (any run of
/// whitespace). Implemented as a set of hashed word shingles, so a value is
/// checked in one pass over its words whatever the prompts' length.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace bulwark::scan {

class prompt_index {
public:
  static constexpr std::size_t default_min_words = 8;

  explicit prompt_index(std::size_t min_words = default_min_words) : min_words_(min_words) {}

  /// Adds prompt number `id` (its text). Prompts shorter than min_words
  /// words are matched only in full.
  void add(std::uint32_t id, std::string_view text);
  bool empty() const noexcept { return shingles_.empty(); }

  struct hit {
    std::uint32_t id;
    std::uint32_t begin, end; ///< byte span in the scanned text
  };

private:
  struct word {
    std::uint32_t begin, end;
    std::uint64_t hash;
  };

public:
  /// The working memory of find(). The index is shared by every worker
  /// thread, so each caller brings its own (one per scanner).
  struct scratch {
    std::vector<word> words;
  };

  /// Appends the spans of `text` that repeat a registered prompt (consecutive
  /// matching windows merged into one span per prompt).
  void find(std::string_view text, std::vector<hit>& out, scratch& s) const;

private:
  static void split(std::string_view text, std::vector<word>& out);
  std::uint64_t window_hash(const std::vector<word>& words, std::size_t first,
                            std::size_t count) const noexcept;

  std::size_t min_words_;
  /// window hash -> prompt id. A collision merely finds a span for the wrong
  /// prompt id only when 64-bit hashes of two different windows agree.
  std::unordered_map<std::uint64_t, std::uint32_t> shingles_;
  std::vector<std::size_t> short_prompt_words_; ///< word counts of prompts below min_words
};

} // namespace bulwark::scan
