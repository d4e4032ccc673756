#include "scan/scanner.hpp"

#include "scan/ruleset_impl.hpp"
#include "scan/validators.hpp"

#include <algorithm>
#include <array>
#include <cassert>
#include <iterator>
#include <map>
#include <span>

namespace bulwark::scan {

namespace {

char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c;
}

/// ASCII case-insensitive search of `needle` (lower case) in `hay`.
bool contains_ci(std::string_view hay, std::string_view needle) noexcept {
  if (needle.empty() || needle.size() > hay.size()) return needle.empty();
  for (std::size_t i = 0; i + needle.size() <= hay.size(); ++i) {
    std::size_t k = 0;
    while (k < needle.size() && lower(hay[i + k]) == needle[k])
      ++k;
    if (k == needle.size()) return true;
  }
  return false;
}

bool validate(const config::rule_spec& r, std::string_view span) noexcept {
  using config::validator_kind;
  switch (r.validator) {
  case validator_kind::none:
    return true;
  case validator_kind::luhn:
    return luhn_valid(span);
  case validator_kind::iban_mod97:
    return iban_valid(span);
  case validator_kind::us_ssn:
    return us_ssn_valid(span);
  case validator_kind::jwt:
    return jwt_valid(span);
  case validator_kind::github_crc32:
    return github_token_crc_valid(span);
  case validator_kind::entropy:
    return shannon_entropy(span) >= r.entropy_min;
  }
  return false;
}

} // namespace

struct scanner::impl {
  hs_scratch_ptr scratch;
  value_cache cache; ///< the candidates of values seen recently (value_cache.hpp)
  /// Per event: the values the cache did not answer, where they are, their hashes.
  std::vector<std::string_view> miss_values;
  std::vector<std::uint32_t> miss_index;
  std::vector<std::uint64_t> hashes;
  std::vector<std::vector<match>> miss_out;
  /// Per byte value: bit g when it opens the gate of raw database g, bit
  /// 16 + g for normalized database g (gate.hpp).
  std::array<std::uint32_t, 256> gate_bits{};

  /// Per value of the current event: its normalised form (when it needs one),
  /// or, for a normalized rule to confirm on, its lower-cased copy.
  std::vector<normalized_text> norm;
  std::vector<std::string> lowered;
  std::vector<std::uint8_t> has_lowered;
  std::vector<std::string_view> scanned; ///< what the normalized databases see, per value
  std::vector<std::uint32_t> gates;      ///< per value: the gate bits its bytes open
  /// Per value: needs_normalization(), found in the gate pass; then scanned[i] is norm[i].text.
  std::vector<std::uint8_t> needs_norm;

  std::vector<std::uint32_t> hit;      ///< per rule: 1 + its rank in `touched`, 0: no hit
  std::vector<std::uint32_t> last_pos; ///< per touched rule: the value it last hit
  std::vector<std::uint32_t> touched;  ///< rules that occur in the event
  std::vector<std::uint64_t> pairs;    ///< (rank << 32 | value position) hit, see settle_pairs
  std::string joined; ///< the admitted texts, newline-separated, as Hyperscan sees them
  std::vector<std::uint32_t> admitted; ///< values in `joined`, in order
  std::vector<match> cands;
  std::vector<std::size_t> order;
  std::vector<std::vector<match>> one;       ///< candidates() of a single value
  std::vector<std::vector<match>> per_value; ///< scan_values() before resolution
  std::vector<prompt_index::hit> prompt_hits;
  std::vector<match> redacting, defusing, defused; ///< resolve()'s working lists
  prompt_index::scratch prompt_words; ///< find()'s working memory (the index is shared)

  static int on_match(unsigned id, unsigned long long /*from*/, unsigned long long to,
                      unsigned /*flags*/, void* ctx) {
    auto* self = static_cast<impl*>(ctx);
    if (id >= self->hit.size()) {
      // A keyword (ruleset_impl.hpp): open the keyword gate of the value
      // holding its last byte. One read across the newline between two values
      // opens the later one's, which costs a scan and changes no result.
      const auto it = std::upper_bound(self->starts.begin(), self->starts.end(),
                                       static_cast<std::size_t>(to - 1));
      const std::uint32_t value =
          self->admitted[static_cast<std::size_t>(it - self->starts.begin()) - 1];
      self->gates[value] |= self->marking;
      return 0;
    }
    // A rule hit: remember in which value (the one holding the match's last
    // byte). RE2 then confirms the rule on those values only. A match read
    // across the newline between two values names the later one, which
    // costs a confirmation and changes no result: a match inside a value is
    // reported on its own (the databases report every match, not just the
    // first), so no value that holds one is left out.
    const auto it = std::upper_bound(self->starts.begin(), self->starts.end(),
                                     static_cast<std::size_t>(to - 1));
    const auto pos = static_cast<std::uint32_t>(it - self->starts.begin()) - 1;
    if (self->hit[id] == 0) {
      self->touched.push_back(id);
      self->hit[id] = static_cast<std::uint32_t>(self->touched.size());
      self->last_pos[id] = pos;
    } else if (self->last_pos[id] == pos) {
      return 0; // the same rule in the same value again
    }
    self->last_pos[id] = pos;
    self->pairs.push_back((std::uint64_t{self->hit[id] - 1} << 32) | pos);
    return 0;
  }

  /// After run(): (touched rank << 32 | position in `admitted`) of each rule
  /// hit and value it hit, sorted and unique, so that confirmations go
  /// rule by rule in the order rules first hit and value by value in order.
  void settle_pairs() {
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  }

  std::vector<std::size_t> starts; ///< where each admitted value begins in `joined`
  std::uint32_t keyword_bits = 0;  ///< the gate bits of the keyword-gated databases
  std::uint32_t marking = 0;       ///< the keyword gate bit the current scan opens

  /// The gate bits the bytes of `text` open.
  std::uint32_t gate_of(std::string_view text) const noexcept {
    std::uint32_t g = 0;
    for (const char c : text)
      g |= gate_bits[static_cast<unsigned char>(c)];
    return g;
  }
  /// The same, and in the same pass whether the value needs normalizing
  /// (normalize.hpp): one read of each byte instead of two.
  std::uint32_t gate_of(std::string_view text, bool& needs_normalizing) const noexcept {
    std::uint32_t g = 0;
    normalization_probe probe;
    for (const char c : text) {
      const auto u = static_cast<unsigned char>(c);
      g |= gate_bits[u];
      probe.add(normalization_probe::kind(u));
    }
    needs_normalizing = probe.needed(text);
    return g;
  }

  /// One Hyperscan call over the `texts` the gate `bit` admits (all of them
  /// with bit 0 = every value), joined, each followed by a newline so that
  /// `^`, `$` and `\b` see a boundary between values (the database is
  /// multi-line). Joining costs a copy of the event's strings, far less than
  /// Hyperscan's vectored mode, which ran ~4x slower on an event's many small
  /// values. Leaves the admitted values in `admitted`, the rules that occur
  /// in `touched`. Returns false when no value was admitted.
  bool run(const gated_db& g, std::uint32_t bit, std::span<const std::string_view> texts) {
    for (std::uint32_t rule : touched)
      hit[rule] = 0;
    touched.clear();
    pairs.clear();
    joined.clear();
    admitted.clear();
    starts.clear();
    marking = keyword_bits & (bit < 0x10000 ? 0xFFFFU : 0xFFFF0000U);
    for (std::size_t i = 0; i < texts.size(); ++i) {
      if (!g.every_value && (gates[i] & bit) == 0) continue;
      admitted.push_back(static_cast<std::uint32_t>(i));
      starts.push_back(joined.size());
      joined.append(texts[i]);
      joined += '\n';
    }
    if (admitted.empty()) return false;
    hs_scan(g.db.get(), joined.data(), static_cast<unsigned>(joined.size()), 0, scratch.get(),
            &impl::on_match, this);
    settle_pairs();
    return true;
  }
};

scanner::scanner(std::shared_ptr<const ruleset> rules)
    : rules_(std::move(rules)), impl_(std::make_unique<impl>()) {
  hs_scratch_t* s = nullptr;
  const ruleset::impl& rs = rules_->internals();
  if (const auto* proto = rs.prototype.get(); proto != nullptr) {
    const hs_error_t rc = hs_clone_scratch(proto, &s);
    assert(rc == HS_SUCCESS && "cannot clone Hyperscan scratch");
    (void)rc;
  }
  impl_->scratch.reset(s);
  impl_->hit.resize(rules_->size());
  impl_->last_pos.resize(rules_->size());
  assert(rs.raw.size() <= 16 && rs.normalized.size() <= 16);
  for (std::size_t g = 0; g < rs.raw.size(); ++g)
    if (rs.raw[g].by_keyword) impl_->keyword_bits |= std::uint32_t{1} << g;
  for (std::size_t g = 0; g < rs.normalized.size(); ++g)
    if (rs.normalized[g].by_keyword) impl_->keyword_bits |= std::uint32_t{1} << (16 + g);
  for (unsigned b = 0; b < 256; ++b) {
    const auto c = static_cast<unsigned char>(b);
    for (std::size_t g = 0; g < rs.raw.size(); ++g)
      if (rs.raw[g].gate.has(c)) impl_->gate_bits[b] |= std::uint32_t{1} << g;
    for (std::size_t g = 0; g < rs.normalized.size(); ++g)
      if (rs.normalized[g].gate.has(c)) impl_->gate_bits[b] |= std::uint32_t{1} << (16 + g);
  }
}

scanner::~scanner() = default;
scanner::scanner(scanner&&) noexcept = default;
scanner& scanner::operator=(scanner&&) noexcept = default;

/// Finds every match of `rule` in `scanned` with RE2 and confirms it (keywords,
/// validator, allow list); `norm` maps spans back to `original` (null: scanned
/// has the original's offsets).
void scanner::confirm(std::uint32_t rule, std::string_view original, std::string_view scanned,
                      const normalized_text* norm, std::vector<match>& out) const {
  const rule_info& info = rules_->rule(rule);
  const config::rule_spec& spec = info.spec;
  // What became of one match: taken, refused by its validator (a different
  // alignment may still be valid: in "4111 4539 5787 6362 1486" the card
  // starts at the second group), or refused otherwise (keywords, allow list:
  // a shifted match of an allowed value must stay allowed).
  enum class verdict : std::uint8_t { taken, invalid, refused };
  const auto emit = [&](std::size_t b, std::size_t e) {
    if (e <= b) return verdict::refused;
    if (!spec.keywords.empty()) {
      const std::size_t from = b > spec.keyword_window ? b - spec.keyword_window : 0;
      const std::string_view window = scanned.substr(from, e - from);
      if (std::none_of(spec.keywords.begin(), spec.keywords.end(),
                       [&](const std::string& k) { return contains_ci(window, k); }))
        return verdict::refused;
    }
    if (!validate(spec, scanned.substr(b, e - b))) return verdict::invalid;
    std::size_t ob = b, oe = e;
    if (norm != nullptr) std::tie(ob, oe) = norm->to_original(b, e);
    const std::string_view span = original.substr(ob, oe - ob);
    if (std::find(spec.allow.begin(), spec.allow.end(), span) != spec.allow.end())
      return verdict::refused;
    out.push_back({rule, static_cast<std::uint32_t>(ob), static_cast<std::uint32_t>(oe)});
    return verdict::taken;
  };
  const span_extractor& x = *rules_->internals().span[rule];
  const re2::RE2* compiled = x.get();
  if (compiled == nullptr) {
    // Fails closed: the pattern did not fit RE2's memory budget, so the
    // value where its filter hit is taken whole (ruleset_impl.hpp).
    if (!original.empty()) out.push_back({rule, 0, static_cast<std::uint32_t>(original.size())});
    return;
  }
  const re2::RE2& re = *compiled;
  const re2::StringPiece whole(scanned.data(), scanned.size());
  re2::StringPiece sub[2];
  const int n = x.has_group() ? 2 : 1;
  std::size_t pos = 0;
  // Retries after an invalid match are bounded per value, so a long run of
  // card-like digits costs at most this many extra searches.
  constexpr int max_retries = 64;
  int retries = 0;
  while (pos <= scanned.size() &&
         re.Match(whole, pos, scanned.size(), re2::RE2::UNANCHORED, sub, n)) {
    const re2::StringPiece& span = sub[n - 1];
    verdict v = verdict::refused;
    if (span.data() != nullptr) {
      const auto b = static_cast<std::size_t>(span.data() - scanned.data());
      v = emit(b, b + span.size());
    }
    const auto start = static_cast<std::size_t>(sub[0].data() - scanned.data());
    const auto next = start + sub[0].size();
    if (v == verdict::invalid && retries < max_retries) {
      ++retries;
      pos = start + 1;
    } else {
      pos = next > pos ? next : pos + 1;
    }
  }
}

void scanner::candidates_of_values(std::span<const std::string_view> values,
                                   std::vector<std::vector<match>>& out) {
  impl& m = *impl_;
  if (out.size() < values.size()) out.resize(values.size());
  m.miss_values.clear();
  m.miss_index.clear();
  m.hashes.resize(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (m.cache.cacheable(values[i])) {
      m.hashes[i] = value_cache::hash(values[i]);
      if (const std::vector<match>* known = m.cache.find(values[i], m.hashes[i])) {
        out[i].assign(known->begin(), known->end());
        continue;
      }
    }
    m.miss_index.push_back(static_cast<std::uint32_t>(i));
    m.miss_values.push_back(values[i]);
  }
  if (m.miss_values.empty()) return;
  if (m.miss_values.size() == values.size()) {
    scan_uncached(values, out);
  } else {
    scan_uncached(m.miss_values, m.miss_out);
    for (std::size_t k = 0; k < m.miss_index.size(); ++k)
      out[m.miss_index[k]].swap(m.miss_out[k]);
  }
  for (const std::uint32_t i : m.miss_index)
    if (m.cache.cacheable(values[i])) m.cache.offer(values[i], m.hashes[i], out[i]);
}

const value_cache::stats& scanner::cache_stats() const noexcept {
  return impl_->cache.counters();
}

void scanner::scan_uncached(std::span<const std::string_view> values,
                            std::vector<std::vector<match>>& out) {
  impl& m = *impl_;
  const ruleset::impl& rs = rules_->internals();
  if (out.size() < values.size()) out.resize(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    out[i].clear();
  if (m.gates.size() < values.size()) m.gates.resize(values.size());
  constexpr std::uint32_t raw_mask = 0xFFFF;
  constexpr std::uint32_t norm_mask = 0xFFFF0000;
  if (rs.normalized.empty()) {
    for (std::size_t i = 0; i < values.size(); ++i)
      m.gates[i] = m.gate_of(values[i]);
  } else {
    if (m.needs_norm.size() < values.size()) m.needs_norm.resize(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      bool needs = false;
      m.gates[i] = m.gate_of(values[i], needs);
      m.needs_norm[i] = needs ? 1 : 0;
    }
  }

  for (std::size_t g = 0; g < rs.raw.size(); ++g) {
    if (!m.run(rs.raw[g], std::uint32_t{1} << g, values)) continue;
    for (const std::uint64_t pair : m.pairs) {
      const std::uint32_t rule = m.touched[pair >> 32];
      const std::uint32_t i = m.admitted[pair & 0xFFFFFFFFU];
      confirm(rule, values[i], values[i], nullptr, out[i]);
    }
  }
  find_prompts(values, out);

  if (rs.normalized.empty()) return;
  if (m.norm.size() < values.size()) {
    m.norm.resize(values.size());
    m.lowered.resize(values.size());
    m.has_lowered.resize(values.size());
  }
  m.scanned.clear();
  bool any_normalized = false;
  for (std::size_t i = 0; i < values.size(); ++i) {
    m.has_lowered[i] = 0;
    if (m.needs_norm[i] != 0) {
      normalize(values[i], m.norm[i]);
      m.scanned.push_back(m.norm[i].text);
      any_normalized = true;
    } else {
      // Only ASCII case would change: the normalized databases are
      // case-insensitive and their gates hold both cases, so the value is
      // scanned and gated as it is.
      m.scanned.push_back(values[i]);
    }
  }
  if (any_normalized) {
    // Decoding can add bytes the original lacks ('%3C' is '<'): gate what is scanned.
    for (std::size_t i = 0; i < values.size(); ++i)
      if (m.needs_norm[i] != 0)
        m.gates[i] = (m.gates[i] & raw_mask) | (m.gate_of(m.scanned[i]) & norm_mask);
  }
  for (std::size_t g = 0; g < rs.normalized.size(); ++g) {
    if (!m.run(rs.normalized[g], std::uint32_t{1} << (16 + g), m.scanned)) continue;
    for (const std::uint64_t pair : m.pairs) {
      const std::uint32_t rule = m.touched[pair >> 32];
      const std::uint32_t i = m.admitted[pair & 0xFFFFFFFFU];
      if (m.needs_norm[i] != 0) {
        confirm(rule, values[i], m.scanned[i], &m.norm[i], out[i]);
        continue;
      }
      // RE2 runs on the lower-cased text (same offsets), made once per value.
      std::string& low = m.lowered[i];
      if (m.has_lowered[i] == 0) {
        low.assign(values[i]);
        for (char& c : low)
          c = lower(c);
        m.has_lowered[i] = 1;
      }
      confirm(rule, values[i], low, nullptr, out[i]);
    }
  }
}

void scanner::find_prompts(std::span<const std::string_view> values,
                           std::vector<std::vector<match>>& out) {
  const ruleset::impl& rs = rules_->internals();
  if (rs.prompts.empty()) return;
  std::vector<prompt_index::hit>& hits = impl_->prompt_hits;
  for (std::size_t i = 0; i < values.size(); ++i) {
    hits.clear();
    rs.prompts.find(values[i], hits, impl_->prompt_words);
    for (const auto& h : hits)
      out[i].push_back({rs.prompt_rule[h.id], h.begin, h.end});
  }
}

void scanner::candidates(std::string_view original, std::vector<match>& out) {
  std::vector<std::vector<match>>& one = impl_->one;
  candidates_of_values({&original, 1}, one);
  out.swap(one[0]);
}

void scanner::resolve(std::vector<match>& cands, std::vector<match>& out) {
  impl& m = *impl_;
  out.clear();
  if (cands.empty()) return;
  // Overlaps within one class of matches, into disjoint spans: longest first,
  // then most severe, then leftmost, then rule order (deterministic). A match
  // that loses still hides its bytes: the winner absorbs it, so no part of a
  // confirmed secret is left in clear (a password partly covered by a longer
  // e-mail look-alike, say).
  // The same resolution for a value with very many candidates (1 MB of
  // `ESC[` yields one per two bytes): the union so far is kept as disjoint
  // spans ordered by start, so each candidate costs a logarithmic lookup
  // instead of a pass over every winner (quadratic: 47 s for 3.5 MB before).
  // The result is the same spans: every candidate either opens a span or
  // widens the spans it overlaps, which then merge, keeping the label of the
  // leftmost. Rare, so a node allocation per span is fine here.
  constexpr std::size_t many_candidates = 64;
  const auto disjoint_many = [&](std::vector<match>& in, std::vector<match>& into) {
    std::map<std::uint32_t, match> spans; // start -> span
    for (std::size_t i : m.order) {
      const match& c = in[i];
      auto it = spans.lower_bound(c.begin);
      if (it != spans.begin() && std::prev(it)->second.end > c.begin) --it;
      if (it == spans.end() || it->second.begin >= c.end) {
        spans.emplace(c.begin, c);
        continue;
      }
      match merged = it->second;
      merged.begin = std::min(merged.begin, c.begin);
      merged.end = std::max(merged.end, c.end);
      it = spans.erase(it);
      while (it != spans.end() && it->second.begin < merged.end) {
        merged.end = std::max(merged.end, it->second.end);
        it = spans.erase(it);
      }
      spans.emplace(merged.begin, merged);
    }
    for (const auto& [start, span] : spans)
      into.push_back(span);
  };
  const auto disjoint = [&](std::vector<match>& in, std::vector<match>& into) {
    into.clear();
    m.order.resize(in.size());
    for (std::size_t i = 0; i < m.order.size(); ++i)
      m.order[i] = i;
    std::sort(m.order.begin(), m.order.end(), [&](std::size_t a, std::size_t b) {
      const match& x = in[a];
      const match& y = in[b];
      const auto lx = x.end - x.begin, ly = y.end - y.begin;
      if (lx != ly) return lx > ly;
      const auto sx = rules_->rule(x.rule).spec.sev, sy = rules_->rule(y.rule).spec.sev;
      if (sx != sy) return sx > sy;
      if (x.begin != y.begin) return x.begin < y.begin;
      return x.rule < y.rule;
    });
    if (in.size() > many_candidates) {
      disjoint_many(in, into);
      return;
    }
    for (std::size_t i : m.order) {
      const match& c = in[i];
      const auto a = std::find_if(into.begin(), into.end(), [&](const match& k) {
        return c.begin < k.end && k.begin < c.end;
      });
      if (a == into.end()) {
        into.push_back(c);
        continue;
      }
      a->begin = std::min(a->begin, c.begin);
      a->end = std::max(a->end, c.end);
    }
    std::sort(into.begin(), into.end(),
              [](const match& a, const match& b) { return a.begin < b.begin; });
    // Absorbing can make two winners overlap: merge them into the first.
    std::size_t w = 0;
    for (std::size_t r = 1; r < into.size(); ++r) {
      if (into[r].begin < into[w].end) {
        into[w].end = std::max(into[w].end, into[r].end);
      } else {
        into[++w] = into[r];
      }
    }
    if (!into.empty()) into.resize(w + 1);
  };

  // A defused span keeps its bytes (neutralised, not removed), so it must not
  // absorb a match that removes them: "<a AKIA… onclick=" would keep the key.
  // Redacting and defusing matches are resolved apart, and the parts of a
  // defused span that a redacting one covers are cut out of it.
  m.redacting.clear();
  m.defusing.clear();
  for (const match& c : cands)
    (rules_->rule(c.rule).act == action::defuse ? m.defusing : m.redacting).push_back(c);
  disjoint(m.redacting, out);
  if (m.defusing.empty()) return;
  disjoint(m.defusing, m.defused);
  const std::size_t redacting = out.size();
  for (const match& d : m.defused) {
    std::uint32_t b = d.begin;
    // out[0, redacting) is disjoint and sorted, so its ends are sorted too:
    // start at the first redacting span that ends after this one begins.
    const auto first =
        std::partition_point(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(redacting),
                             [b](const match& r) { return r.end <= b; });
    for (auto i = static_cast<std::size_t>(first - out.begin()); i < redacting && b < d.end; ++i) {
      const match r = out[i]; // a copy: out grows below
      if (r.begin >= d.end) break;
      if (r.end <= b) continue;
      if (r.begin > b) out.push_back({d.rule, b, r.begin});
      b = std::max(b, r.end);
    }
    if (b < d.end) out.push_back({d.rule, b, d.end});
  }
  std::sort(out.begin(), out.end(),
            [](const match& a, const match& b) { return a.begin < b.begin; });
}

void scanner::scan_values(std::span<const std::string_view> values,
                          std::vector<std::vector<match>>& out) {
  impl& m = *impl_;
  candidates_of_values(values, m.per_value);
  if (out.size() < values.size()) out.resize(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    resolve(m.per_value[i], out[i]);
}

void scanner::scan(std::string_view text, std::vector<match>& out) {
  candidates(text, impl_->cands);
  resolve(impl_->cands, out);
}

} // namespace bulwark::scan
