#include "scan/scanner.hpp"

#include "scan/ruleset_impl.hpp"
#include "scan/validators.hpp"

#include <algorithm>
#include <cassert>

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
  normalized_text norm;
  std::string lowered; ///< the ASCII-lower-cased text when it needs nothing more

  std::vector<std::uint8_t> hit;      ///< per rule: seen in the current value
  std::vector<std::uint32_t> touched; ///< rules hit in the current value
  std::vector<match> cands;
  std::vector<std::size_t> order;

  static int on_match(unsigned id, unsigned long long /*from*/, unsigned long long /*to*/,
                      unsigned /*flags*/, void* ctx) {
    auto* self = static_cast<impl*>(ctx);
    if (self->hit[id] == 0) {
      self->hit[id] = 1;
      self->touched.push_back(id);
    }
    return 0;
  }

  /// Runs `db` over `text` and leaves the rules that occur in `touched`.
  void run(hs_database_t* db, std::string_view text) {
    for (std::uint32_t rule : touched)
      hit[rule] = 0;
    touched.clear();
    if (db == nullptr || text.empty()) return;
    hs_scan(db, text.data(), static_cast<unsigned>(text.size()), 0, scratch.get(), &impl::on_match,
            this);
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

void scanner::candidates(std::string_view original, std::vector<match>& out) {
  out.clear();
  impl& m = *impl_;
  const ruleset::impl& rs = rules_->internals();

  // Finds the spans of the rules in m.touched on `scanned` and confirms them;
  // `norm` maps them back to the original (null: scanned is the original).
  const auto confirm = [&](std::string_view scanned, const normalized_text* norm) {
    for (const std::uint32_t rule : m.touched) {
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
      const re2::RE2& re = *rs.span[rule];
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
  };

  m.run(rs.raw.get(), original);
  confirm(original, nullptr);
  if (rs.normalized) {
    if (needs_normalization(original)) {
      normalize(original, m.norm);
      m.run(rs.normalized.get(), m.norm.text);
      confirm(m.norm.text, &m.norm);
    } else {
      // Only ASCII case would change: offsets stay the same.
      m.lowered.assign(original);
      for (char& c : m.lowered)
        c = lower(c);
      m.run(rs.normalized.get(), m.lowered);
      confirm(m.lowered, nullptr);
    }
  }
}

void scanner::scan(std::string_view text, std::vector<match>& out) {
  impl& m = *impl_;
  candidates(text, m.cands);
  out.clear();
  if (m.cands.empty()) return;
  // Longest first, then most severe, then leftmost, then rule order: deterministic.
  m.order.resize(m.cands.size());
  for (std::size_t i = 0; i < m.order.size(); ++i)
    m.order[i] = i;
  std::sort(m.order.begin(), m.order.end(), [&](std::size_t a, std::size_t b) {
    const match& x = m.cands[a];
    const match& y = m.cands[b];
    const auto lx = x.end - x.begin, ly = y.end - y.begin;
    if (lx != ly) return lx > ly;
    const auto sx = rules_->rule(x.rule).spec.sev, sy = rules_->rule(y.rule).spec.sev;
    if (sx != sy) return sx > sy;
    if (x.begin != y.begin) return x.begin < y.begin;
    return x.rule < y.rule;
  });
  for (std::size_t i : m.order) {
    const match& c = m.cands[i];
    const bool overlaps = std::any_of(
        out.begin(), out.end(), [&](const match& a) { return c.begin < a.end && a.begin < c.end; });
    if (!overlaps) out.push_back(c);
  }
  std::sort(out.begin(), out.end(),
            [](const match& a, const match& b) { return a.begin < b.begin; });
}

} // namespace bulwark::scan
