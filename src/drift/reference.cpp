#include "drift/reference.hpp"

#include "crypto/hmac.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace bulwark::drift {
namespace {

/// numpy.quantile(sorted, q) with the default "linear" method, computed the
/// way numpy computes it (including its two-sided lerp), so that the cuts
/// match numpy's to the last bit.
double linear_quantile(const std::vector<double>& sorted, double q) {
  const std::size_t n = sorted.size();
  const double h = static_cast<double>(n - 1) * q;
  const double fl = std::floor(h);
  const auto i = static_cast<std::size_t>(fl);
  const double g = h - fl;
  const double a = sorted[std::min(i, n - 1)];
  const double b = sorted[std::min(i + 1, n - 1)];
  const double diff = b - a;
  return g >= 0.5 ? b - diff * (1 - g) : a + diff * g;
}

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

/// Mean and population variance of u from integer sums.
void set_u_moments(reference& r, std::uint64_t n, std::uint64_t sum, std::uint64_t sum_sq) {
  r.u_n = n;
  if (n == 0) {
    r.u_mean = 0.5;
    r.u_var = 1.0 / 12;
    return;
  }
  const auto ln = static_cast<long double>(n);
  const auto ls = static_cast<long double>(sum);
  const long double var = (static_cast<long double>(sum_sq) - ls * ls / ln) / ln;
  r.u_mean = static_cast<double>(ls / ln) / u_scale;
  r.u_var = std::max(0.0, static_cast<double>(var) / (double{u_scale} * u_scale));
}

void count_into(const reference& r, pane& p, double x) {
  const placement pl = r.place(x);
  ++p.slots[pl.slot];
  if (pl.u >= 0) {
    const auto u = static_cast<std::uint64_t>(pl.u);
    ++p.u_n;
    p.u_sum += u;
    p.u_sum_sq += u * u;
  }
}

} // namespace

placement reference::place(double x) const noexcept {
  if (std::isnan(x)) return {static_cast<std::uint32_t>(null_slot()), -1};
  if (cdf.empty()) return {static_cast<std::uint32_t>(below_slot()), -1};
  if (x < min) return {static_cast<std::uint32_t>(below_slot()), 0};
  if (x > max)
    return {static_cast<std::uint32_t>(above_slot()), static_cast<std::int32_t>(u_scale)};
  const auto j =
      static_cast<std::size_t>(std::upper_bound(cuts.begin(), cuts.end(), x) - cuts.begin());
  const auto [lo, hi] = bounds(j);
  // A zero-width bin (an atom at the maximum) takes the middle of its mass.
  const double frac = hi > lo ? (x - lo) / (hi - lo) : 0.5;
  const double u = cdf[j] + (cdf[j + 1] - cdf[j]) * frac;
  const double q = std::clamp(std::nearbyint(u * u_scale), 0.0, double{u_scale});
  return {static_cast<std::uint32_t>(j), static_cast<std::int32_t>(q)};
}

std::uint32_t reference::place(std::string_view category) const noexcept {
  const auto it = std::lower_bound(categories.begin(), categories.end(), category,
                                   [](const std::string& a, std::string_view b) { return a < b; });
  if (it != categories.end() && *it == category)
    return static_cast<std::uint32_t>(it - categories.begin());
  return static_cast<std::uint32_t>(other_slot());
}

std::pair<double, double> reference::bounds(std::size_t bin) const noexcept {
  const double lo = bin == 0 ? min : cuts[bin - 1];
  const double hi = bin + 1 >= inner() ? max : cuts[bin];
  return {lo, hi};
}

std::vector<double> reference::u_positions() const {
  std::vector<double> pos;
  pos.reserve(inner() + 2);
  pos.push_back(0);
  for (std::size_t j = 0; j < inner(); ++j)
    pos.push_back(cdf.empty() ? (static_cast<double>(j) + 0.5) / static_cast<double>(inner())
                              : (cdf[j] + cdf[j + 1]) / 2);
  pos.push_back(1);
  return pos;
}

reference build_numeric(std::vector<double> sample, std::uint32_t bins) {
  reference r;
  r.type = feature_type::numeric;
  r.n = sample.size();
  std::uint64_t nulls = 0;
  std::vector<double> values;
  values.reserve(sample.size());
  for (const double x : sample) {
    if (std::isnan(x))
      ++nulls;
    else
      values.push_back(x);
  }
  std::sort(values.begin(), values.end());
  if (values.empty()) {
    r.counts.assign(4, 0);
    r.counts[r.null_slot()] = nulls;
    set_u_moments(r, 0, 0, 0);
    return r;
  }
  r.min = values.front();
  r.max = values.back();
  for (std::uint32_t j = 1; j < bins; ++j) {
    const double c = linear_quantile(values, static_cast<double>(j) / static_cast<double>(bins));
    if (c > r.min && (r.cuts.empty() || c > r.cuts.back())) r.cuts.push_back(c);
  }
  r.counts.assign(r.inner() + 3, 0);
  for (const double x : values)
    ++r.counts[static_cast<std::size_t>(std::upper_bound(r.cuts.begin(), r.cuts.end(), x) -
                                        r.cuts.begin())];
  r.counts[r.null_slot()] = nulls;
  r.cdf.assign(r.inner() + 1, 0);
  std::uint64_t acc = 0;
  for (std::size_t j = 0; j < r.inner(); ++j) {
    acc += r.counts[j];
    r.cdf[j + 1] = static_cast<double>(acc) / static_cast<double>(values.size());
  }
  // The sample's own u: its mean and variance are the null values the
  // u-mean tests and the CUSUM compare against.
  pane p(r.slots());
  for (const double x : values)
    count_into(r, p, x);
  set_u_moments(r, p.u_n, p.u_sum, p.u_sum_sq);
  return r;
}

reference build_categorical(std::vector<category_count> seen, std::uint64_t non_null,
                            std::uint64_t nulls, std::uint32_t max_categories) {
  reference r;
  r.type = feature_type::categorical;
  std::erase_if(seen, [](const category_count& c) {
    return c.count == 0 || c.value.size() > max_category_bytes;
  });
  std::sort(seen.begin(), seen.end(), [](const category_count& a, const category_count& b) {
    return a.count != b.count ? a.count > b.count : a.value < b.value;
  });
  if (seen.size() > max_categories) seen.resize(max_categories);
  std::sort(seen.begin(), seen.end(),
            [](const category_count& a, const category_count& b) { return a.value < b.value; });
  std::uint64_t in_table = 0;
  for (auto& c : seen) {
    r.categories.push_back(std::move(c.value));
    r.counts.push_back(c.count);
    in_table += c.count;
  }
  r.counts.push_back(non_null > in_table ? non_null - in_table : 0);
  r.counts.push_back(nulls);
  r.n = std::accumulate(r.counts.begin(), r.counts.end(), std::uint64_t{0});
  return r;
}

reference with_counts(const reference& base, const pane& counted) {
  reference r = base;
  r.counts = counted.slots;
  r.n = counted.total();
  if (r.type == feature_type::numeric)
    set_u_moments(r, counted.u_n, counted.u_sum, counted.u_sum_sq);
  return r;
}

numeric_learner::numeric_learner(std::uint32_t capacity, std::uint64_t seed, std::uint32_t bins)
    : capacity_(capacity), bins_(bins), rng_(seed) {}

void numeric_learner::add(double x) {
  ++seen_;
  if (base_) {
    count_into(*base_, counted_, x);
    return;
  }
  if (sample_.size() < capacity_) {
    sample_.push_back(x);
    return;
  }
  const std::uint64_t j = splitmix64(rng_) % seen_;
  if (j < capacity_) sample_[static_cast<std::size_t>(j)] = x;
}

void numeric_learner::start_counting() {
  if (base_) return;
  base_ = build_numeric(sample_, bins_);
  counted_ = pane(base_->slots());
  sample_.clear();
  sample_.shrink_to_fit();
}

reference numeric_learner::freeze() const {
  if (!base_) return build_numeric(sample_, bins_);
  // Nothing counted in the second stage: the first stage is the reference.
  return counted_.empty() ? *base_ : with_counts(*base_, counted_);
}

std::size_t numeric_learner::bytes() const noexcept {
  std::size_t b = sizeof(*this) + sample_.capacity() * sizeof(double) +
                  counted_.slots.capacity() * sizeof(std::uint64_t);
  if (base_) b += (base_->counts.capacity() + base_->cuts.capacity() + base_->cdf.capacity()) * 8;
  return b;
}

namespace {

/// A learner's frozen first stage and second-stage counts, if it has them.
void write_stage2(json_writer& w, const std::optional<reference>& base, const pane& counted) {
  if (!base) return;
  w.key("base").begin_object();
  write_reference(w, *base);
  w.end_object();
  w.key("counted");
  write_pane(w, counted);
}

/// Reads what write_stage2 wrote (nothing when "base" is absent).
std::optional<error> read_stage2(const json::value& v, feature_type type,
                                 std::uint32_t max_categories, std::optional<reference>& base,
                                 pane& counted) {
  const auto* b = v.find("base");
  if (b == nullptr) return std::nullopt;
  auto r = read_reference(*b, type, max_categories);
  if (auto* e = std::get_if<error>(&r)) return *e;
  const auto* c = v.find("counted");
  if (c == nullptr) return error{"drift learner: counts missing"};
  auto p = read_pane(*c, std::get<reference>(r).slots());
  if (auto* e = std::get_if<error>(&p)) return *e;
  base = std::move(std::get<reference>(r));
  counted = std::move(std::get<pane>(p));
  return std::nullopt;
}

} // namespace

void numeric_learner::write_state(json_writer& w) const {
  w.key("seen").value(seen_);
  w.key("rng").value(rng_);
  if (!base_) {
    w.key("sample").begin_array();
    for (const double x : sample_)
      w.value(x); // NaN (null) is written as null
    w.end_array();
  }
  write_stage2(w, base_, counted_);
}

std::optional<error> numeric_learner::read_state(const json::value& v) {
  const auto bad = [](std::string why) { return error{"drift learner: " + std::move(why)}; };
  const auto* seen = v.find("seen");
  const auto* rng = v.find("rng");
  if (seen == nullptr || !seen->as_u64() || rng == nullptr || !rng->as_u64())
    return bad("seen and rng are required");
  std::optional<reference> base;
  pane counted;
  if (auto e = read_stage2(v, feature_type::numeric, 0, base, counted)) return e;
  std::vector<double> sample;
  if (!base) {
    const auto* list = v.find("sample");
    if (list == nullptr || !list->is_array()) return bad("a sample or a base is required");
    if (list->items.size() > capacity_ || list->items.size() > *seen->as_u64())
      return bad("sample larger than the capacity or than the values seen");
    if (list->items.size() < capacity_ && list->items.size() != *seen->as_u64())
      return bad("a sample below capacity must hold every value seen");
    sample.reserve(list->items.size());
    for (const auto& x : list->items) {
      if (x.is_null()) {
        sample.push_back(std::numeric_limits<double>::quiet_NaN());
        continue;
      }
      const auto d = x.as_double();
      if (!d) return bad("sample values must be numbers or null");
      sample.push_back(*d);
    }
  } else if (base->cuts.size() + 1 > bins_) {
    return bad("more bins than configured");
  } else if (counted.u_n !=
             (base->cdf.empty() ? 0 : counted.total() - counted.slots[base->null_slot()])) {
    // As count_into() keeps them: every number counted has a u, when the
    // reference has a cdf at all.
    return bad("counts inconsistent with the cut sample");
  }
  seen_ = *seen->as_u64();
  rng_ = *rng->as_u64();
  sample_ = std::move(sample);
  base_ = std::move(base);
  counted_ = std::move(counted);
  return std::nullopt;
}

categorical_learner::categorical_learner(std::uint32_t max_categories)
    : max_categories_(max_categories) {
  entries_.reserve(std::size_t{4} * max_categories);
}

void categorical_learner::add(std::string_view category) {
  ++non_null_;
  if (base_) {
    ++counted_.slots[base_->place(category)];
    return;
  }
  if (category.size() > max_category_bytes) return;
  for (auto& e : entries_)
    if (e.value == category) {
      ++e.count;
      return;
    }
  if (entries_.size() < std::size_t{4} * max_categories_) {
    entries_.push_back({std::string(category), 1, 0});
    return;
  }
  // Space-saving: the newcomer takes the place of the least frequent entry and
  // inherits its count as a possible overestimate.
  auto victim = std::min_element(entries_.begin(), entries_.end(),
                                 [](const entry& a, const entry& b) { return a.count < b.count; });
  victim->value.assign(category);
  victim->error = victim->count;
  ++victim->count;
}

void categorical_learner::add_null() noexcept {
  ++nulls_;
  if (base_) ++counted_.slots[base_->null_slot()];
}

void categorical_learner::start_counting() {
  if (base_) return;
  std::vector<category_count> seen;
  seen.reserve(entries_.size());
  for (const auto& e : entries_)
    seen.push_back({e.value, e.count - e.error});
  base_ = build_categorical(std::move(seen), non_null_, nulls_, max_categories_);
  counted_ = pane(base_->slots());
  entries_.clear();
  entries_.shrink_to_fit();
}

reference categorical_learner::freeze() const {
  if (base_) return counted_.empty() ? *base_ : with_counts(*base_, counted_);
  std::vector<category_count> seen;
  seen.reserve(entries_.size());
  for (const auto& e : entries_)
    seen.push_back({e.value, e.count - e.error});
  return build_categorical(std::move(seen), non_null_, nulls_, max_categories_);
}

std::size_t categorical_learner::bytes() const noexcept {
  std::size_t b = sizeof(*this) + entries_.capacity() * sizeof(entry) +
                  counted_.slots.capacity() * sizeof(std::uint64_t);
  for (const auto& e : entries_)
    b += e.value.capacity() > 15 ? e.value.capacity() : 0;
  if (base_) {
    b += base_->counts.capacity() * 8 + base_->categories.capacity() * sizeof(std::string);
    for (const auto& c : base_->categories)
      b += c.capacity() > 15 ? c.capacity() : 0;
  }
  return b;
}

void categorical_learner::write_state(json_writer& w) const {
  w.key("non_null").value(non_null_);
  w.key("nulls").value(nulls_);
  if (!base_) {
    w.key("entries").begin_array();
    for (const auto& e : entries_) {
      w.begin_object();
      w.key("value").value(e.value);
      w.key("count").value(e.count);
      w.key("error").value(e.error);
      w.end_object();
    }
    w.end_array();
  }
  write_stage2(w, base_, counted_);
}

std::optional<error> categorical_learner::read_state(const json::value& v) {
  const auto bad = [](std::string why) { return error{"drift learner: " + std::move(why)}; };
  const auto* non_null = v.find("non_null");
  const auto* nulls = v.find("nulls");
  if (non_null == nullptr || !non_null->as_u64() || nulls == nullptr || !nulls->as_u64())
    return bad("non_null and nulls are required");
  std::optional<reference> base;
  pane counted;
  if (auto e = read_stage2(v, feature_type::categorical, max_categories_, base, counted)) return e;
  std::vector<entry> entries;
  if (!base) {
    const auto* list = v.find("entries");
    if (list == nullptr || !list->is_array()) return bad("entries or a base are required");
    if (list->items.size() > std::size_t{4} * max_categories_)
      return bad("more entries than the summary holds");
    entries.reserve(std::size_t{4} * max_categories_);
    for (const auto& e : list->items) {
      const auto* value = e.find("value");
      const auto* count = e.find("count");
      const auto* err = e.find("error");
      if (value == nullptr || !value->is_string() || value->text.size() > max_category_bytes ||
          count == nullptr || !count->as_u64() || err == nullptr || !err->as_u64() ||
          *err->as_u64() >= *count->as_u64() || *count->as_u64() > *non_null->as_u64())
        return bad("each entry needs a value of at most 128 bytes, count > error");
      for (const auto& seen : entries)
        if (seen.value == value->text) return bad("repeated entry");
      entries.push_back({value->text, *count->as_u64(), *err->as_u64()});
    }
  }
  entries_ = std::move(entries); // reserved for the whole summary when it is one
  non_null_ = *non_null->as_u64();
  nulls_ = *nulls->as_u64();
  base_ = std::move(base);
  counted_ = std::move(counted);
  return std::nullopt;
}

void write_reference(json_writer& w, const reference& r) {
  w.key("type").value(to_string(r.type));
  w.key("n").value(r.n);
  if (r.type == feature_type::numeric) {
    w.key("u_n").value(r.u_n);
    w.key("u_mean").value(r.u_mean);
    w.key("u_var").value(r.u_var);
    if (!r.cdf.empty()) {
      w.key("min").value(r.min);
      w.key("max").value(r.max);
    }
    w.key("cuts").begin_array();
    for (const double c : r.cuts)
      w.value(c);
    w.end_array();
    w.key("cdf").begin_array();
    for (const double c : r.cdf)
      w.value(c);
    w.end_array();
  } else {
    w.key("categories").begin_array();
    for (const auto& c : r.categories)
      w.value(c);
    w.end_array();
  }
  w.key("counts").begin_array();
  for (const std::uint64_t c : r.counts)
    w.value(c);
  w.end_array();
}

namespace {

std::optional<error> read_numeric(const json::value& entry, reference& r) {
  const auto bad = [](std::string why) { return error{"drift reference: " + std::move(why)}; };
  const auto* cuts = entry.find("cuts");
  const auto* cdf = entry.find("cdf");
  const auto* u_n = entry.find("u_n");
  const auto* um = entry.find("u_mean");
  const auto* uv = entry.find("u_var");
  if (cuts == nullptr || !cuts->is_array() || cdf == nullptr || !cdf->is_array() ||
      u_n == nullptr || !u_n->as_u64() || um == nullptr || !um->as_double() || uv == nullptr ||
      !uv->as_double())
    return bad("numeric references need cuts, cdf, u_n, u_mean and u_var");
  if (cuts->items.size() + 1 > 1024) return bad("more than 1024 bins");
  for (const auto& c : cuts->items) {
    const auto v = c.as_double();
    if (!v || (!r.cuts.empty() && *v <= r.cuts.back()))
      return bad("cuts must be finite and strictly increasing");
    r.cuts.push_back(*v);
  }
  for (const auto& c : cdf->items) {
    const auto v = c.as_double();
    if (!v || *v < 0 || *v > 1 || (!r.cdf.empty() && *v < r.cdf.back()))
      return bad("cdf must be non-decreasing within [0, 1]");
    r.cdf.push_back(*v);
  }
  r.u_n = *u_n->as_u64();
  r.u_mean = *um->as_double();
  r.u_var = *uv->as_double();
  if (r.counts.size() != r.inner() + 3) return bad("counts must have one entry per slot");
  // Without a cdf (the cut sample held no number) no value gets a u: numbers
  // counted later go to below-min without one (place()).
  if (r.u_n != (r.cdf.empty() ? 0 : r.n - r.counts[r.null_slot()]))
    return bad("u_n must count the non-null values (none without a cdf)");
  if (!(r.u_mean >= 0 && r.u_mean <= 1 && r.u_var >= 0 && r.u_var <= 0.25))
    return bad("u_mean must be in [0, 1] and u_var in [0, 0.25]");
  if (r.cdf.empty()) {
    if (!r.cuts.empty()) return bad("cuts without a cdf");
    return std::nullopt;
  }
  if (r.cdf.size() != r.inner() + 1 || r.cdf.front() != 0 || r.cdf.back() != 1)
    return bad("cdf must run from 0 to 1 over min, the cuts and max");
  const auto* mn = entry.find("min");
  const auto* mx = entry.find("max");
  if (mn == nullptr || !mn->as_double() || mx == nullptr || !mx->as_double())
    return bad("min and max are required with a cdf");
  r.min = *mn->as_double();
  r.max = *mx->as_double();
  if (r.min > r.max || (!r.cuts.empty() && (r.cuts.front() <= r.min || r.cuts.back() > r.max)))
    return bad("cuts must lie in (min, max]");
  return std::nullopt;
}

} // namespace

std::variant<reference, error> read_reference(const json::value& entry, feature_type type,
                                              std::uint32_t max_categories) {
  const auto bad = [](std::string why) { return error{"drift reference: " + std::move(why)}; };
  reference r;
  r.type = type;
  const auto* t = entry.find("type");
  if (t == nullptr || !t->is_string() || t->text != to_string(type))
    return bad("type does not match the configured feature type");
  const auto* n = entry.find("n");
  const auto* counts = entry.find("counts");
  if (n == nullptr || !n->as_u64() || counts == nullptr || !counts->is_array())
    return bad("n and counts are required");
  r.n = *n->as_u64();
  std::uint64_t sum = 0;
  for (const auto& c : counts->items) {
    const auto v = c.as_u64();
    if (!v) return bad("counts must be unsigned integers");
    if (sum + *v < sum) return bad("counts overflow");
    sum += *v;
    r.counts.push_back(*v);
  }
  if (sum != r.n) return bad("n is not the sum of counts");
  if (type == feature_type::numeric) {
    if (auto e = read_numeric(entry, r)) return *e;
    return r;
  }
  const auto* cats = entry.find("categories");
  if (cats == nullptr || !cats->is_array()) return bad("categorical references need categories");
  if (cats->items.size() > max_categories) return bad("more categories than max_categories");
  for (const auto& c : cats->items) {
    if (!c.is_string() || c.text.size() > max_category_bytes)
      return bad("categories must be strings of at most 128 bytes");
    if (!r.categories.empty() && c.text <= r.categories.back())
      return bad("categories must be sorted and unique");
    r.categories.push_back(c.text);
  }
  if (r.counts.size() != r.categories.size() + 2) return bad("counts must have one entry per slot");
  return r;
}

bool is_identifier(std::string_view text) noexcept {
  if (text.empty() || text.size() > 32) return false;
  const auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(text.front())) return false;
  return std::all_of(text.begin(), text.end(), [&](char c) {
    return alnum(c) || c == '.' || c == '_' || c == '-' || c == ':';
  });
}

std::string short_digest(std::string_view text) {
  return crypto::to_hex(crypto::sha256(text)).substr(0, 8);
}

} // namespace bulwark::drift
