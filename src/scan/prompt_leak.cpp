#include "scan/prompt_leak.hpp"

#include <algorithm>

namespace bulwark::scan {
namespace {

constexpr bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

constexpr std::uint64_t fnv_offset = 1469598103934665603ULL;
constexpr std::uint64_t fnv_prime = 1099511628211ULL;

} // namespace

void prompt_index::split(std::string_view text, std::vector<word>& out) {
  out.clear();
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_space(text[i]))
      ++i;
    if (i == text.size()) break;
    const std::size_t b = i;
    std::uint64_t h = fnv_offset;
    while (i < text.size() && !is_space(text[i])) {
      char c = text[i++];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
      h = (h ^ static_cast<unsigned char>(c)) * fnv_prime;
    }
    out.push_back({static_cast<std::uint32_t>(b), static_cast<std::uint32_t>(i), h});
  }
}

std::uint64_t prompt_index::window_hash(const std::vector<word>& words, std::size_t first,
                                        std::size_t count) const noexcept {
  std::uint64_t h = fnv_offset ^ count;
  for (std::size_t k = first; k < first + count; ++k)
    h = (h ^ words[k].hash) * fnv_prime + 0x9e3779b97f4a7c15ULL;
  return h;
}

void prompt_index::add(std::uint32_t id, std::string_view text) {
  std::vector<word> words;
  split(text, words);
  if (words.empty()) return;
  const std::size_t n = words.size() < min_words_ ? words.size() : min_words_;
  if (n < min_words_ && std::find(short_prompt_words_.begin(), short_prompt_words_.end(), n) ==
                            short_prompt_words_.end())
    short_prompt_words_.push_back(n);
  for (std::size_t i = 0; i + n <= words.size(); ++i)
    shingles_.emplace(window_hash(words, i, n), id);
}

void prompt_index::find(std::string_view text, std::vector<hit>& out, scratch& s) const {
  if (shingles_.empty()) return;
  std::vector<word>& words = s.words;
  split(text, words);
  const auto try_width = [&](std::size_t n) {
    if (words.size() < n) return;
    bool open = false;
    hit current{};
    for (std::size_t i = 0; i + n <= words.size(); ++i) {
      const auto it = shingles_.find(window_hash(words, i, n));
      const bool match = it != shingles_.end();
      if (match && open && it->second == current.id && words[i].begin < current.end) {
        current.end = words[i + n - 1].end; // overlapping window: extend
        continue;
      }
      if (open) out.push_back(current);
      open = match;
      if (match) current = {it->second, words[i].begin, words[i + n - 1].end};
    }
    if (open) out.push_back(current);
  };
  try_width(min_words_);
  for (const std::size_t n : short_prompt_words_)
    try_width(n);
}

} // namespace bulwark::scan
