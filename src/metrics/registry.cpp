#include "metrics/registry.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <set>
#include <unordered_map>
#include <utility>

namespace bulwark::metrics {

namespace {

constexpr std::string_view other_value = "other";
constexpr std::string_view overflow_name = "bulwark_metrics_label_overflow_total";
constexpr std::size_t max_label_value_bytes = 256;
constexpr std::uint32_t none = UINT32_MAX;

/// Well-formed UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;
      if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;
      if (c == 0xF4) hi = 0x8F;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    const auto second = static_cast<unsigned char>(s[i + 1]);
    if (second < lo || second > hi) return false;
    for (std::size_t k = 2; k < len; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if (next < 0x80 || next > 0xBF) return false;
    }
    i += len;
  }
  return true;
}

bool lower_snake(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

bool valid_label_name(std::string_view s) noexcept {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9') || s.starts_with("__")) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  });
}

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

} // namespace

std::string_view to_string(metric_type t) noexcept {
  switch (t) {
  case metric_type::counter:
    return "counter";
  case metric_type::gauge:
    return "gauge";
  case metric_type::histogram:
    return "histogram";
  }
  return "untyped";
}

label_spec numbered_label(std::string name, std::size_t n) {
  label_spec l{std::move(name), {}};
  l.values.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    l.values.push_back(std::to_string(i));
  return l;
}

void append_label_value(std::string& out, std::string_view v) {
  for (const char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void append_help(std::string& out, std::string_view v) {
  for (const char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
}

void append_double(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "NaN";
  } else if (std::isinf(v)) {
    out += v > 0 ? "+Inf" : "-Inf";
  } else {
    // Go's strconv 'g' with the shortest digits, as Prometheus's own clients
    // write numbers: `le="0.0001"`, not "1e-04", so PromQL selectors on le
    // written the usual way match.
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific);
    const std::string_view sci(buf, static_cast<std::size_t>(r.ptr - buf));
    int exponent = 0;
    const std::string_view digits = sci.substr(sci.find('e') + 1);
    std::from_chars(digits.data() + (digits[0] == '+' ? 1 : 0), digits.data() + digits.size(),
                    exponent);
    if (exponent < -4 || exponent >= 6) {
      out += sci;
    } else {
      r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed);
      out.append(buf, r.ptr);
    }
  }
}

std::vector<double> exponential_buckets(double start, double factor, std::size_t count) {
  std::vector<double> out;
  out.reserve(count);
  double b = start;
  for (std::size_t i = 0; i < count; ++i, b *= factor)
    out.push_back(b);
  return out;
}

// ---------------------------------------------------------------- builder

builder::builder(std::size_t max_series) : max_series_(max_series) {}

counter_family builder::add_counter(std::string name, std::string help,
                                    std::vector<label_spec> labels) {
  return {add({std::move(name), std::move(help), metric_type::counter, std::move(labels), {}})};
}

gauge_family builder::add_gauge(std::string name, std::string help,
                                std::vector<label_spec> labels) {
  return {add({std::move(name), std::move(help), metric_type::gauge, std::move(labels), {}})};
}

histogram_family builder::add_histogram(std::string name, std::string help,
                                        std::vector<double> bounds,
                                        std::vector<label_spec> labels) {
  return {add({std::move(name), std::move(help), metric_type::histogram, std::move(labels),
               std::move(bounds)})};
}

std::uint32_t builder::add(declared d) {
  const auto id = static_cast<std::uint32_t>(families_.size());
  if (!error_ && !check(d)) return id;
  families_.push_back(std::move(d));
  return id;
}

bool builder::check(const declared& d) {
  const auto refuse = [&](const std::string& why) {
    error_ = error{"metrics: " + (d.name.empty() ? std::string("(unnamed)") : d.name) + ": " + why};
    return false;
  };
  const std::string_view name = d.name;
  if (!name.starts_with("bulwark_") || name.size() == 8 || !lower_snake(name) ||
      name.ends_with("_"))
    return refuse("a metric name is bulwark_ followed by lower-case letters, digits and _");
  if (name == overflow_name) return refuse("the name is reserved");
  const bool total = name.ends_with("_total");
  if (d.type == metric_type::counter && !total) return refuse("a counter's name ends with _total");
  if (d.type != metric_type::counter && total)
    return refuse("only a counter's name ends with _total");
  if (d.type == metric_type::histogram &&
      (name.ends_with("_bucket") || name.ends_with("_sum") || name.ends_with("_count")))
    return refuse("a histogram's name must not end with _bucket, _sum or _count");

  // Every sample name a family renders, so that no two families collide.
  std::vector<std::string> samples{d.name};
  if (d.type == metric_type::histogram)
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      samples.push_back(d.name + suffix);
  for (const auto& f : families_) {
    std::vector<std::string> theirs{f.name};
    if (f.type == metric_type::histogram)
      for (const char* suffix : {"_bucket", "_sum", "_count"})
        theirs.push_back(f.name + suffix);
    for (const auto& a : samples)
      if (std::find(theirs.begin(), theirs.end(), a) != theirs.end())
        return refuse("the name " + a + " is already taken by " + f.name);
  }

  if (d.help.empty() || !valid_utf8(d.help)) return refuse("help must be non-empty UTF-8");

  std::size_t series = 1;
  std::set<std::string_view> label_names;
  for (const auto& l : d.labels) {
    if (!valid_label_name(l.name))
      return refuse("label name \"" + l.name +
                    "\" is not [a-zA-Z_][a-zA-Z0-9_]* or starts with __");
    if (l.name == "le" || l.name == "quantile")
      return refuse("label name " + l.name + " is reserved by Prometheus");
    if (!label_names.insert(l.name).second) return refuse("label " + l.name + " declared twice");
    std::set<std::string_view> seen;
    for (const auto& v : l.values) {
      if (v.empty() || v.size() > max_label_value_bytes || !valid_utf8(v))
        return refuse("label " + l.name + ": a value must be 1-256 bytes of UTF-8");
      if (v == other_value)
        return refuse("label " + l.name +
                      ": the value \"other\" is reserved for undeclared values");
      if (!seen.insert(v).second) return refuse("label " + l.name + ": a value is declared twice");
    }
    series *= l.values.size() + 1;
    if (series > max_series_) break;
  }

  if (d.type == metric_type::histogram) {
    if (d.bounds.empty()) return refuse("a histogram needs at least one bucket bound");
    for (std::size_t i = 0; i < d.bounds.size(); ++i) {
      if (!std::isfinite(d.bounds[i])) return refuse("bucket bounds must be finite");
      if (i > 0 && !(d.bounds[i - 1] < d.bounds[i]))
        return refuse("bucket bounds must be strictly increasing");
    }
    if (series <= max_series_) series *= d.bounds.size() + 3; // buckets, +Inf, _sum, _count
  }
  if (series > max_series_ || series_ + series > max_series_)
    return refuse("declares " + std::to_string(series) + " series; the registry allows " +
                  std::to_string(max_series_) + " in all");
  series_ += series;
  return true;
}

// ---------------------------------------------------------------- registry

struct registry::family {
  struct label {
    std::string name;
    std::vector<std::string> escaped; ///< declared values then `other`, escaped for exposition
    std::unordered_map<std::string, std::uint32_t, string_hash, std::equal_to<>> index;
    std::uint32_t declared = 0; ///< values before `other`; `other` is at this position
    std::uint32_t stride = 1;   ///< series-number step of one position (last label: 1)
  };

  std::string name;
  std::string help; ///< escaped
  metric_type type = metric_type::counter;
  std::vector<label> labels;
  std::vector<double> bounds;
  std::vector<std::string> le; ///< bounds as `le` values, then +Inf
  std::uint32_t series = 1;
  std::uint32_t first = 0;     ///< counter: int slot; histogram: bucket slot; gauge: gauge index
  std::uint32_t first_sum = 0; ///< histogram: double slot (index among double slots)
  std::uint32_t overflow_slot = none;
};

struct writer::shard {
  std::unique_ptr<writer::block[]> blocks;
};

registry::registry() = default;

registry::~registry() {
  // A writer that outlives its registry would write into freed memory.
  assert(free_shards_.size() == shards_.size());
}

std::variant<std::unique_ptr<registry>, error> registry::make(builder b) {
  if (b.error_) return *b.error_;
  std::unique_ptr<registry> r(new registry());

  std::vector<builder::declared> decls = std::move(b.families_);
  std::size_t series_total = b.series_;
  label_spec overflow_label{"metric", {}};
  for (const auto& d : decls)
    if (!d.labels.empty()) overflow_label.values.push_back(d.name);
  if (!overflow_label.values.empty()) {
    series_total += overflow_label.values.size() + 1;
    decls.push_back({std::string(overflow_name),
                     "Updates whose label value was outside the declared set and went to the "
                     "series labelled \"other\", by metric.",
                     metric_type::counter,
                     {std::move(overflow_label)},
                     {}});
  }

  std::uint32_t ints = 0, doubles = 0, gauges = 0;
  r->families_.resize(decls.size());
  for (std::size_t i = 0; i < decls.size(); ++i) {
    builder::declared& d = decls[i];
    family& f = r->families_[i];
    f.name = std::move(d.name);
    append_help(f.help, d.help);
    f.type = d.type;
    f.bounds = std::move(d.bounds);
    for (const double bound : f.bounds) {
      std::string text;
      append_double(text, bound);
      f.le.push_back(std::move(text));
    }
    f.le.emplace_back("+Inf");
    for (auto& spec : d.labels) {
      family::label l;
      l.name = std::move(spec.name);
      l.declared = static_cast<std::uint32_t>(spec.values.size());
      for (std::uint32_t k = 0; k < l.declared; ++k) {
        std::string escaped;
        append_label_value(escaped, spec.values[k]);
        l.escaped.push_back(std::move(escaped));
        l.index.emplace(std::move(spec.values[k]), k);
      }
      l.escaped.emplace_back(other_value);
      f.labels.push_back(std::move(l));
    }
    std::uint32_t stride = 1;
    for (auto it = f.labels.rbegin(); it != f.labels.rend(); ++it) {
      it->stride = stride;
      stride *= it->declared + 1;
    }
    f.series = stride;
    switch (f.type) {
    case metric_type::counter:
      f.first = ints;
      ints += f.series;
      break;
    case metric_type::histogram:
      f.first = ints;
      ints += f.series * static_cast<std::uint32_t>(f.bounds.size() + 1);
      f.first_sum = doubles;
      doubles += f.series;
      break;
    case metric_type::gauge:
      f.first = gauges;
      gauges += f.series;
      break;
    }
  }
  if (!r->families_.empty() && r->families_.back().name == overflow_name) {
    const family& of = r->families_.back();
    // The overflow label's values are the labelled families, in declaration order.
    std::uint32_t k = 0;
    for (std::size_t i = 0; i + 1 < r->families_.size(); ++i)
      if (!r->families_[i].labels.empty()) r->families_[i].overflow_slot = of.first + k++;
  }
  r->int_slots_ = ints;
  r->double_slots_ = doubles;
  r->gauge_count_ = gauges;
  r->series_count_ = series_total;
  r->gauges_ = std::make_unique<std::atomic<double>[]>(gauges);
  for (std::uint32_t i = 0; i < gauges; ++i)
    r->gauges_[i].store(0.0, std::memory_order_relaxed);
  r->gauge_overflow_ = std::make_unique<std::atomic<std::uint64_t>[]>(r->families_.size());
  for (std::size_t i = 0; i < r->families_.size(); ++i)
    r->gauge_overflow_[i].store(0, std::memory_order_relaxed);

  r->order_.resize(r->families_.size());
  for (std::uint32_t i = 0; i < r->order_.size(); ++i)
    r->order_[i] = i;
  std::sort(r->order_.begin(), r->order_.end(), [&r](std::uint32_t x, std::uint32_t y) {
    return r->families_[x].name < r->families_[y].name;
  });
  r->int_sums_.reserve(ints);
  r->double_sums_.reserve(doubles);
  return r;
}

registry::resolved registry::resolve(const family& f,
                                     std::span<const label_value> labels) const noexcept {
  // A wrong arity is a wiring bug, not data: stop rather than mislabel.
  assert(labels.size() == f.labels.size());
  resolved out;
  for (std::size_t i = 0; i < f.labels.size(); ++i) {
    const family::label& l = f.labels[i];
    std::uint32_t pos = l.declared;
    if (labels[i].by_index()) {
      if (labels[i].index() < l.declared) pos = static_cast<std::uint32_t>(labels[i].index());
    } else if (auto it = l.index.find(labels[i].text()); it != l.index.end()) {
      pos = it->second;
    }
    if (pos == l.declared) out.overflow = true;
    out.index += pos * l.stride;
  }
  return out;
}

counter registry::series(counter_family f,
                         std::initializer_list<label_value> labels) const noexcept {
  return series(f, std::span<const label_value>(labels.begin(), labels.size()));
}

counter registry::series(counter_family f, std::span<const label_value> labels) const noexcept {
  assert(f.id < families_.size() && families_[f.id].type == metric_type::counter);
  const family& fam = families_[f.id];
  const resolved r = resolve(fam, labels);
  counter c;
  c.slot_ = fam.first + r.index;
  if (r.overflow) c.overflow_slot_ = fam.overflow_slot;
  return c;
}

histogram registry::series(histogram_family f,
                           std::initializer_list<label_value> labels) const noexcept {
  return series(f, std::span<const label_value>(labels.begin(), labels.size()));
}

histogram registry::series(histogram_family f, std::span<const label_value> labels) const noexcept {
  assert(f.id < families_.size() && families_[f.id].type == metric_type::histogram);
  const family& fam = families_[f.id];
  const resolved r = resolve(fam, labels);
  histogram h;
  h.bounds_ = fam.bounds.data();
  h.bounds_size_ = static_cast<std::uint32_t>(fam.bounds.size());
  h.buckets_slot_ = fam.first + r.index * (h.bounds_size_ + 1);
  h.sum_slot_ = int_slots_ + fam.first_sum + r.index;
  if (r.overflow) h.overflow_slot_ = fam.overflow_slot;
  return h;
}

gauge registry::series(gauge_family f, std::initializer_list<label_value> labels) const noexcept {
  return series(f, std::span<const label_value>(labels.begin(), labels.size()));
}

gauge registry::series(gauge_family f, std::span<const label_value> labels) const noexcept {
  assert(f.id < families_.size() && families_[f.id].type == metric_type::gauge);
  const family& fam = families_[f.id];
  const resolved r = resolve(fam, labels);
  gauge g;
  g.index_ = fam.first + r.index;
  if (r.overflow) g.overflow_family_ = f.id;
  return g;
}

void registry::set(const gauge& g, double value) noexcept {
  gauges_[g.index_].store(value, std::memory_order_relaxed);
  if (g.overflow_family_ != none)
    gauge_overflow_[g.overflow_family_].fetch_add(1, std::memory_order_relaxed);
}

void registry::add(const gauge& g, double delta) noexcept {
  gauges_[g.index_].fetch_add(delta, std::memory_order_relaxed);
  if (g.overflow_family_ != none)
    gauge_overflow_[g.overflow_family_].fetch_add(1, std::memory_order_relaxed);
}

void registry::set(gauge_family f, std::initializer_list<label_value> labels,
                   double value) noexcept {
  set(series(f, labels), value);
}

double registry::value(const gauge& g) const noexcept {
  return gauges_[g.index_].load(std::memory_order_relaxed);
}

std::uint64_t registry::value(const counter& c) const {
  std::lock_guard lock(shards_mutex_);
  std::uint64_t sum = 0;
  for (const auto& s : shards_)
    sum += s->blocks[c.slot_ / 16].slot[c.slot_ % 16].load(std::memory_order_relaxed);
  return sum;
}

std::size_t registry::shard_count() const {
  std::lock_guard lock(shards_mutex_);
  return shards_.size();
}

writer registry::make_writer() {
  writer::shard* s = acquire_shard();
  return writer(this, s, s->blocks.get());
}

writer::shard* registry::acquire_shard() {
  std::lock_guard lock(shards_mutex_);
  if (!free_shards_.empty()) {
    writer::shard* s = free_shards_.back();
    free_shards_.pop_back();
    return s;
  }
  const std::size_t slots = std::size_t{int_slots_} + double_slots_;
  const std::size_t blocks = std::max<std::size_t>(1, (slots + 15) / 16);
  auto s = std::make_unique<writer::shard>();
  s->blocks = std::make_unique<writer::block[]>(blocks);
  for (std::size_t b = 0; b < blocks; ++b)
    for (auto& a : s->blocks[b].slot)
      a.store(0, std::memory_order_relaxed);
  shards_.push_back(std::move(s));
  return shards_.back().get();
}

void registry::release_shard(writer::shard* s) noexcept {
  std::lock_guard lock(shards_mutex_);
  free_shards_.push_back(s);
}

scrape_callback registry::on_scrape(std::function<void(registry&)> fn) {
  std::lock_guard lock(render_mutex_);
  const std::uint64_t id = next_callback_++;
  callbacks_.emplace(id, std::move(fn));
  return scrape_callback(this, id);
}

void registry::remove_callback(std::uint64_t id) noexcept {
  std::lock_guard lock(render_mutex_);
  callbacks_.erase(id);
}

std::string registry::render() {
  std::string out;
  render(out);
  return out;
}

void registry::render(std::string& out) {
  std::lock_guard render_lock(render_mutex_);
  for (auto& [id, fn] : callbacks_)
    fn(*this);

  int_sums_.assign(int_slots_, 0);
  double_sums_.assign(double_slots_, 0.0);
  {
    std::lock_guard lock(shards_mutex_);
    for (const auto& s : shards_) {
      const writer::block* blocks = s->blocks.get();
      for (std::uint32_t i = 0; i < int_slots_; ++i)
        int_sums_[i] += blocks[i / 16].slot[i % 16].load(std::memory_order_relaxed);
      for (std::uint32_t i = 0; i < double_slots_; ++i) {
        const std::uint32_t at = int_slots_ + i;
        double_sums_[i] +=
            std::bit_cast<double>(blocks[at / 16].slot[at % 16].load(std::memory_order_relaxed));
      }
    }
  }
  for (std::size_t i = 0; i < families_.size(); ++i)
    if (families_[i].overflow_slot != none)
      int_sums_[families_[i].overflow_slot] += gauge_overflow_[i].load(std::memory_order_relaxed);

  for (const std::uint32_t i : order_)
    render_family(families_[i], out);
}

void registry::render_family(const family& f, std::string& out) const {
  out += "# HELP ";
  out += f.name;
  out += ' ';
  out += f.help;
  out += "\n# TYPE ";
  out += f.name;
  out += ' ';
  out += to_string(f.type);
  out += '\n';

  std::string labels; // `l1="v1",l2="v2"` of the current series
  for (std::uint32_t s = 0; s < f.series; ++s) {
    labels.clear();
    for (std::size_t i = 0; i < f.labels.size(); ++i) {
      const family::label& l = f.labels[i];
      if (i > 0) labels += ',';
      labels += l.name;
      labels += "=\"";
      labels += l.escaped[(s / l.stride) % (l.declared + 1)];
      labels += '"';
    }
    const auto sample = [&](std::string_view suffix) {
      out += f.name;
      out += suffix;
      if (!labels.empty()) {
        out += '{';
        out += labels;
        out += '}';
      }
      out += ' ';
    };
    switch (f.type) {
    case metric_type::counter:
      sample("");
      append_uint(out, int_sums_[f.first + s]);
      out += '\n';
      break;
    case metric_type::gauge:
      sample("");
      append_double(out, gauges_[f.first + s].load(std::memory_order_relaxed));
      out += '\n';
      break;
    case metric_type::histogram: {
      const std::size_t buckets = f.bounds.size() + 1;
      const std::uint64_t* counts = &int_sums_[f.first + s * buckets];
      std::uint64_t cumulative = 0;
      for (std::size_t b = 0; b < buckets; ++b) {
        cumulative += counts[b];
        out += f.name;
        out += "_bucket{";
        out += labels;
        if (!labels.empty()) out += ',';
        out += "le=\"";
        out += f.le[b];
        out += "\"} ";
        append_uint(out, cumulative);
        out += '\n';
      }
      sample("_sum");
      append_double(out, double_sums_[f.first_sum + s]);
      out += '\n';
      sample("_count");
      append_uint(out, cumulative);
      out += '\n';
      break;
    }
    }
  }
}

// ---------------------------------------------------------------- writer

writer::writer(writer&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), shard_(std::exchange(other.shard_, nullptr)),
      blocks_(std::exchange(other.blocks_, nullptr)) {}

writer& writer::operator=(writer&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->release_shard(shard_);
    owner_ = std::exchange(other.owner_, nullptr);
    shard_ = std::exchange(other.shard_, nullptr);
    blocks_ = std::exchange(other.blocks_, nullptr);
  }
  return *this;
}

writer::~writer() {
  if (owner_) owner_->release_shard(shard_);
}

void writer::add(counter_family f, std::initializer_list<label_value> labels,
                 std::uint64_t n) noexcept {
  add(owner_->series(f, labels), n);
}

void writer::observe(histogram_family f, std::initializer_list<label_value> labels,
                     double value) noexcept {
  observe(owner_->series(f, labels), value);
}

// ---------------------------------------------------------------- scrape_callback

scrape_callback::scrape_callback(scrape_callback&& other) noexcept
    : owner_(std::exchange(other.owner_, nullptr)), id_(other.id_) {}

scrape_callback& scrape_callback::operator=(scrape_callback&& other) noexcept {
  if (this != &other) {
    if (owner_) owner_->remove_callback(id_);
    owner_ = std::exchange(other.owner_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

scrape_callback::~scrape_callback() {
  if (owner_) owner_->remove_callback(id_);
}

} // namespace bulwark::metrics
