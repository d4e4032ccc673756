#include "scan/scanner.hpp"

#include "scan/ruleset_impl.hpp"
#include "scan/validators.hpp"

#include <algorithm>
#include <cassert>
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
  /// Per value of the current event: its normalised form (when it needs one)
  /// or its ASCII-lower-cased copy (when nothing but case would change).
  std::vector<normalized_text> norm;
  std::vector<std::string> lowered;
  std::vector<std::string_view> scanned;   ///< what the normalized database sees, per value
  std::vector<std::uint8_t> is_normalized; ///< per value: scanned[i] is norm[i].text

  std::vector<std::uint8_t> hit;      ///< per rule: occurs somewhere in the event
  std::vector<std::uint32_t> touched; ///< rules that occur in the event
  std::string joined; ///< the event's texts, newline-separated, as Hyperscan sees them
  std::vector<match> cands;
  std::vector<std::size_t> order;
  std::vector<std::vector<match>> one;       ///< candidates() of a single value
  std::vector<std::vector<match>> per_value; ///< scan_values() before resolution
  std::vector<prompt_index::hit> prompt_hits;
  prompt_index::scratch prompt_words; ///< this scanner's: the index is shared

  static int on_match(unsigned id, unsigned long long /*from*/, unsigned long long /*to*/,
                      unsigned /*flags*/, void* ctx) {
    auto* self = static_cast<impl*>(ctx);
    if (self->hit[id] == 0) {
      self->hit[id] = 1;
      self->touched.push_back(id);
    }
    return 0;
  }

  /// One Hyperscan call over all `texts` joined, each followed by a newline so
  /// that `^`, `$` and `\b` see a boundary between values (the database is
  /// multi-line). Joining costs a copy of the event's strings, far less than
  /// Hyperscan's vectored mode, which ran ~4x slower on an event's many small
  /// values. Leaves the rules that occur in `touched`.
  void run(hs_database_t* db, std::span<const std::string_view> texts) {
    for (std::uint32_t rule : touched)
      hit[rule] = 0;
    touched.clear();
    if (db == nullptr || texts.empty()) return;
    joined.clear();
    for (const std::string_view t : texts) {
      joined.append(t);
      joined += '\n';
    }
    hs_scan(db, joined.data(), static_cast<unsigned>(joined.size()), 0, scratch.get(),
            &impl::on_match, this);
  }
};

scanner::scanner(std::shared_ptr<const ruleset> rules)
    : rules_(std::move(rules)), impl_(std::make_unique<impl>()) {
  hs_scratch_t* s = nullptr;
  if (const auto* proto = rules_->internals().prototype.get(); proto != nullptr) {
    const hs_error_t rc = hs_clone_scratch(proto, &s);
    assert(rc == HS_SUCCESS && "cannot clone Hyperscan scratch");
    (void)rc;
  }
  impl_->scratch.reset(s);
  impl_->hit.resize(rules_->size());
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
  const auto emit = [&](std::size_t b, std::size_t e) {
    if (e <= b) return;
    if (!spec.keywords.empty()) {
      const std::size_t from = b > spec.keyword_window ? b - spec.keyword_window : 0;
      const std::string_view window = scanned.substr(from, e - from);
      if (std::none_of(spec.keywords.begin(), spec.keywords.end(),
                       [&](const std::string& k) { return contains_ci(window, k); }))
        return;
    }
    if (!validate(spec, scanned.substr(b, e - b))) return;
    std::size_t ob = b, oe = e;
    if (norm != nullptr) std::tie(ob, oe) = norm->to_original(b, e);
    const std::string_view span = original.substr(ob, oe - ob);
    if (std::find(spec.allow.begin(), spec.allow.end(), span) != spec.allow.end()) return;
    out.push_back({rule, static_cast<std::uint32_t>(ob), static_cast<std::uint32_t>(oe)});
  };
  const re2::RE2& re = *rules_->internals().span[rule];
  const re2::StringPiece whole(scanned.data(), scanned.size());
  re2::StringPiece sub[2];
  const int n = info.has_group ? 2 : 1;
  std::size_t pos = 0;
  while (pos <= scanned.size() &&
         re.Match(whole, pos, scanned.size(), re2::RE2::UNANCHORED, sub, n)) {
    const re2::StringPiece& span = sub[n - 1];
    if (span.data() != nullptr) {
      const auto b = static_cast<std::size_t>(span.data() - scanned.data());
      emit(b, b + span.size());
    }
    const auto next = static_cast<std::size_t>(sub[0].data() - scanned.data()) + sub[0].size();
    pos = next > pos ? next : pos + 1;
  }
}

void scanner::candidates_of_values(std::span<const std::string_view> values,
                                   std::vector<std::vector<match>>& out) {
  impl& m = *impl_;
  const ruleset::impl& rs = rules_->internals();
  if (out.size() < values.size()) out.resize(values.size());
  for (std::size_t i = 0; i < values.size(); ++i)
    out[i].clear();

  m.run(rs.raw.get(), values);
  for (const std::uint32_t rule : m.touched)
    for (std::size_t i = 0; i < values.size(); ++i)
      confirm(rule, values[i], values[i], nullptr, out[i]);
  find_prompts(values, out);

  if (!rs.normalized) return;
  if (m.norm.size() < values.size()) {
    m.norm.resize(values.size());
    m.lowered.resize(values.size());
    m.is_normalized.resize(values.size());
  }
  m.scanned.clear();
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (needs_normalization(values[i])) {
      normalize(values[i], m.norm[i]);
      m.scanned.push_back(m.norm[i].text);
      m.is_normalized[i] = 1;
    } else {
      // Only ASCII case would change: offsets stay the same.
      std::string& low = m.lowered[i];
      low.assign(values[i]);
      for (char& c : low)
        c = lower(c);
      m.scanned.push_back(low);
      m.is_normalized[i] = 0;
    }
  }
  m.run(rs.normalized.get(), m.scanned);
  for (const std::uint32_t rule : m.touched)
    for (std::size_t i = 0; i < values.size(); ++i)
      confirm(rule, values[i], m.scanned[i], m.is_normalized[i] != 0 ? &m.norm[i] : nullptr,
              out[i]);
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
  // Longest first, then most severe, then leftmost, then rule order: deterministic.
  m.order.resize(cands.size());
  for (std::size_t i = 0; i < m.order.size(); ++i)
    m.order[i] = i;
  std::sort(m.order.begin(), m.order.end(), [&](std::size_t a, std::size_t b) {
    const match& x = cands[a];
    const match& y = cands[b];
    const auto lx = x.end - x.begin, ly = y.end - y.begin;
    if (lx != ly) return lx > ly;
    const auto sx = rules_->rule(x.rule).spec.sev, sy = rules_->rule(y.rule).spec.sev;
    if (sx != sy) return sx > sy;
    if (x.begin != y.begin) return x.begin < y.begin;
    return x.rule < y.rule;
  });
  // A match that loses an overlap still hides its bytes: the winner absorbs it,
  // so no part of a confirmed secret is left in clear (a password partly
  // covered by a longer e-mail look-alike, say).
  for (std::size_t i : m.order) {
    const match& c = cands[i];
    const auto a = std::find_if(out.begin(), out.end(),
                                [&](const match& k) { return c.begin < k.end && k.begin < c.end; });
    if (a == out.end()) {
      out.push_back(c);
      continue;
    }
    a->begin = std::min(a->begin, c.begin);
    a->end = std::max(a->end, c.end);
  }
  std::sort(out.begin(), out.end(),
            [](const match& a, const match& b) { return a.begin < b.begin; });
  // Absorbing can make two winners overlap: merge them into the first.
  std::size_t w = 0;
  for (std::size_t r = 1; r < out.size(); ++r) {
    if (out[r].begin < out[w].end) {
      out[w].end = std::max(out[w].end, out[r].end);
    } else {
      out[++w] = out[r];
    }
  }
  if (!out.empty()) out.resize(w + 1);
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
