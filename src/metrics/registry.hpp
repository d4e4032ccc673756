#pragma once
/// Metric families declared once at start-up, updated lock-free from any
/// number of threads, rendered as Prometheus text exposition 0.0.4.
///
///   builder (declare families and their bounded label sets)
///      └─▶ registry::make ─┬─▶ writer per thread (a shard of slots) ─▶ relaxed load + store
///                          ├─▶ set(gauge) / scrape callbacks          ─▶ relaxed store
///                          └─▶ render(): callbacks, sum of shards, text in a fixed order
///
/// Invariants:
///  1. Every series exists from make() on and is rendered, at zero until
///     updated: each label takes its declared values plus `other`, so the
///     number of series is fixed at start-up whatever the updates carry.
///  2. A label value outside its declared set selects that label's `other`
///     series and counts one update in
///     bulwark_metrics_label_overflow_total{metric="<family>"}. No update
///     can create a series, so no label value ever comes from event content.
///  3. A writer is used by one thread at a time and owns its slots: they start
///     on a cache-line boundary of their own, so an update is a relaxed load and
///     a relaxed store, with no lock, no read-modify-write and no allocation.
///  4. Counts outlive their writer: a released shard goes to the next writer
///     and is freed only with the registry, so counters never go backwards.
///  5. A histogram's `_count` is the sum of its buckets read in the same scrape,
///     so it always equals the `+Inf` bucket. `_sum` may lag its buckets by
///     the observations racing the scrape.
#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bulwark::metrics {

/// The Prometheus metric types bulwark exports.
enum class metric_type : std::uint8_t { counter, gauge, histogram };

std::string_view to_string(metric_type t) noexcept;

/// A declaration the registry refuses, e.g. "bulwark_x: label rule: value
/// \"a\" declared twice". Start-up errors only: updates never fail.
struct error {
  std::string message;
};

/// One label of a family and the only values it may take (besides `other`).
struct label_spec {
  std::string name;
  std::vector<std::string> values;
};

/// A label whose values are "0", "1", … "n-1" (partition numbers, …), so a
/// number can select its series by position: at{partition}.
label_spec numbered_label(std::string name, std::size_t n);

/// Selects a label value by its position in the declared set (an enum
/// ordinal, a partition number) instead of its text. A position past the
/// end selects `other`.
struct at {
  std::size_t index;
};

/// A label value given at update or look-up time: text compared with the
/// declared values, or a position. Holds a view: the text must outlive the call.
class label_value {
public:
  label_value(std::string_view text) noexcept : text_(text) {}
  label_value(const char* text) noexcept : text_(text) {}
  label_value(const std::string& text) noexcept : text_(text) {}
  label_value(at position) noexcept : index_(position.index), by_index_(true) {}

  bool by_index() const noexcept { return by_index_; }
  std::string_view text() const noexcept { return text_; }
  std::size_t index() const noexcept { return index_; }

private:
  std::string_view text_;
  std::size_t index_ = 0;
  bool by_index_ = false;
};

/// Handles of declared families: cheap to copy, valid for the registry made
/// from the builder that returned them.
struct counter_family {
  std::uint32_t id = UINT32_MAX;
};
struct gauge_family {
  std::uint32_t id = UINT32_MAX;
};
struct histogram_family {
  std::uint32_t id = UINT32_MAX;
};

/// One counter series, resolved once (e.g. at thread start) and then updated
/// through a writer at the cost of one slot.
class counter {
public:
  counter() = default;

private:
  friend class registry;
  friend class writer;
  std::uint32_t slot_ = UINT32_MAX;
  std::uint32_t overflow_slot_ = UINT32_MAX; ///< set when a label value fell to `other`
};

/// One histogram series: its bucket slots, its sum slot and its bounds.
class histogram {
public:
  histogram() = default;

private:
  friend class registry;
  friend class writer;
  const double* bounds_ = nullptr;
  std::uint32_t bounds_size_ = 0;
  std::uint32_t buckets_slot_ = UINT32_MAX; ///< bounds_size_ + 1 slots, the last for +Inf
  std::uint32_t sum_slot_ = UINT32_MAX;
  std::uint32_t overflow_slot_ = UINT32_MAX;
};

/// One gauge series (gauges are not sharded: each has a single owner).
class gauge {
public:
  gauge() = default;

private:
  friend class registry;
  std::uint32_t index_ = UINT32_MAX;
  std::uint32_t overflow_family_ = UINT32_MAX; ///< set when a label value fell to `other`
};

class registry;

/// Declares families; registry::make turns them into a registry. Each add_*
/// validates its declaration; the first refused one is what make() reports,
/// so a caller can declare everything and check once.
class builder {
public:
  /// `max_series`: the most sample lines the declared families may render (a
  /// histogram series counts its buckets, +Inf, _sum and _count); the overflow
  /// counter, one series per labelled family, comes on top.
  explicit builder(std::size_t max_series = 100'000);

  /// A monotonic count. The name is `bulwark_…_total`.
  counter_family add_counter(std::string name, std::string help,
                             std::vector<label_spec> labels = {});
  /// A value that goes up and down, set by one owner or a scrape callback.
  gauge_family add_gauge(std::string name, std::string help, std::vector<label_spec> labels = {});
  /// Observations counted into buckets with upper bounds `bounds` (strictly
  /// increasing, finite; `+Inf` is implied) plus their sum.
  histogram_family add_histogram(std::string name, std::string help, std::vector<double> bounds,
                                 std::vector<label_spec> labels = {});

  /// The first refused declaration, if any.
  const std::optional<error>& first_error() const noexcept { return error_; }

private:
  friend class registry;
  struct declared {
    std::string name;
    std::string help;
    metric_type type;
    std::vector<label_spec> labels;
    std::vector<double> bounds;
  };
  bool check(const declared& d);
  std::uint32_t add(declared d);

  std::size_t max_series_;
  std::size_t series_ = 0;
  std::vector<declared> families_;
  std::optional<error> error_;
};

/// Updates counters and histograms from one thread. Obtain one per thread
/// with registry::make_writer() (not on the hot path: it takes a lock); moving
/// it to another thread is fine, sharing it between threads is not.
class writer {
public:
  writer(writer&& other) noexcept;
  writer& operator=(writer&& other) noexcept;
  writer(const writer&) = delete;
  writer& operator=(const writer&) = delete;
  /// Hands the shard and its counts back to the registry.
  ~writer();

  /// Adds `n` to a resolved counter.
  void add(const counter& c, std::uint64_t n = 1) noexcept {
    bump(c.slot_, n);
    if (c.overflow_slot_ != UINT32_MAX) bump(c.overflow_slot_, 1);
  }

  /// Counts `value` into the first bucket whose bound is >= value (NaN goes to
  /// +Inf and is left out of the sum) and adds it to the sum.
  void observe(const histogram& h, double value) noexcept {
    std::uint32_t bucket = 0;
    // `!(value <= bound)` also moves NaN past every bound, to +Inf.
    while (bucket < h.bounds_size_ && !(value <= h.bounds_[bucket]))
      ++bucket;
    bump(h.buckets_slot_ + bucket, 1);
    if (!std::isnan(value)) {
      std::atomic<std::uint64_t>& sum = slot_at(h.sum_slot_);
      const double next = std::bit_cast<double>(sum.load(std::memory_order_relaxed)) + value;
      sum.store(std::bit_cast<std::uint64_t>(next), std::memory_order_relaxed);
    }
    if (h.overflow_slot_ != UINT32_MAX) bump(h.overflow_slot_, 1);
  }

  /// Resolves the labels (a hash look-up each), then adds: for label values
  /// only known per update, e.g. a rule id or a partition.
  void add(counter_family f, std::initializer_list<label_value> labels,
           std::uint64_t n = 1) noexcept;
  void observe(histogram_family f, std::initializer_list<label_value> labels,
               double value) noexcept;

  /// Slots are grouped in blocks that start on a line of their own, so no two
  /// shards share a cache line (128 bytes: adjacent-line prefetch pairs lines).
  struct alignas(128) block {
    std::atomic<std::uint64_t> slot[16];
  };

private:
  friend class registry;
  struct shard;
  writer(registry* owner, shard* s, block* blocks) noexcept
      : owner_(owner), shard_(s), blocks_(blocks) {}

  std::atomic<std::uint64_t>& slot_at(std::uint32_t slot) const noexcept {
    return blocks_[slot / 16].slot[slot % 16];
  }
  void bump(std::uint32_t slot, std::uint64_t n) noexcept {
    // Single writer per shard: a plain load and store is exact and avoids the
    // locked read-modify-write; scrapes only read.
    std::atomic<std::uint64_t>& a = slot_at(slot);
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  registry* owner_ = nullptr;
  shard* shard_ = nullptr;
  block* blocks_ = nullptr;
};

/// Unregisters a scrape callback when destroyed (before what it reads dies).
class scrape_callback {
public:
  scrape_callback() = default;
  scrape_callback(scrape_callback&& other) noexcept;
  scrape_callback& operator=(scrape_callback&& other) noexcept;
  scrape_callback(const scrape_callback&) = delete;
  scrape_callback& operator=(const scrape_callback&) = delete;
  ~scrape_callback();

private:
  friend class registry;
  scrape_callback(registry* owner, std::uint64_t id) noexcept : owner_(owner), id_(id) {}
  registry* owner_ = nullptr;
  std::uint64_t id_ = 0;
};

/// The families of a builder, their shards and gauges. Not movable: writers
/// and handles point into it.
class registry {
public:
  static std::variant<std::unique_ptr<registry>, error> make(builder b);

  registry(const registry&) = delete;
  registry& operator=(const registry&) = delete;
  ~registry();

  /// The series of `f` with these label values, one per declared label in
  /// declaration order (asserted). Values outside the declared sets select
  /// `other`, and updates through the handle count as overflow.
  counter series(counter_family f, std::initializer_list<label_value> labels = {}) const noexcept;
  counter series(counter_family f, std::span<const label_value> labels) const noexcept;
  histogram series(histogram_family f,
                   std::initializer_list<label_value> labels = {}) const noexcept;
  histogram series(histogram_family f, std::span<const label_value> labels) const noexcept;
  gauge series(gauge_family f, std::initializer_list<label_value> labels = {}) const noexcept;
  gauge series(gauge_family f, std::span<const label_value> labels) const noexcept;

  /// A writer with a shard of its own (a released one when there is one).
  writer make_writer();

  /// Gauge updates: lock-free, from the gauge's single owner or a callback.
  void set(const gauge& g, double value) noexcept;
  void add(const gauge& g, double delta) noexcept;
  /// Sets the gauge of `f` at these labels (resolving them first).
  void set(gauge_family f, std::initializer_list<label_value> labels, double value) noexcept;

  /// Registers `fn` to run at the start of every render(), before values are
  /// read, e.g. to set lag gauges. It runs under the render lock: it must not
  /// call render() or on_scrape(). Keep the returned handle as long as what
  /// `fn` reads lives.
  [[nodiscard]] scrape_callback on_scrape(std::function<void(registry&)> fn);

  /// The exposition (text format 0.0.4): families sorted by name, series in
  /// declared label order with `other` last. Safe from any thread, concurrent
  /// with updates; renders are serialised.
  void render(std::string& out);
  std::string render();

  /// Exposition sample lines (fixed from make() on).
  std::size_t series_count() const noexcept { return series_count_; }
  /// Writers ever needed at once (shards allocated).
  std::size_t shard_count() const;

  /// The current value of one series summed over shards (for tests and the
  /// status page; takes the shard lock).
  std::uint64_t value(const counter& c) const;
  double value(const gauge& g) const noexcept;

  /// The Content-Type of the exposition.
  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

private:
  friend class writer;
  friend class scrape_callback;
  struct family;
  struct resolved {
    std::uint32_t index = 0; ///< series number within the family
    bool overflow = false;
  };

  registry();
  resolved resolve(const family& f, std::span<const label_value> labels) const noexcept;
  writer::shard* acquire_shard();
  void release_shard(writer::shard* s) noexcept;
  void remove_callback(std::uint64_t id) noexcept;
  void render_family(const family& f, std::string& out) const;

  std::vector<family> families_;
  std::vector<std::uint32_t> order_; ///< families by name
  std::uint32_t int_slots_ = 0;      ///< counter values and histogram buckets
  std::uint32_t double_slots_ = 0;   ///< histogram sums (after the int slots)
  std::uint32_t gauge_count_ = 0;
  std::size_t series_count_ = 0;

  std::unique_ptr<std::atomic<double>[]> gauges_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> gauge_overflow_; ///< per family

  mutable std::mutex shards_mutex_;
  std::vector<std::unique_ptr<writer::shard>> shards_;
  std::vector<writer::shard*> free_shards_;

  std::mutex render_mutex_; ///< before shards_mutex_ when both are held
  std::map<std::uint64_t, std::function<void(registry&)>> callbacks_;
  std::uint64_t next_callback_ = 1;
  std::vector<std::uint64_t> int_sums_; ///< render scratch
  std::vector<double> double_sums_;
};

/// Text-format helpers, exposed for tests and other renderers.
/// Appends `v` escaped as a label value: \ → \\, " → \", newline → \n.
void append_label_value(std::string& out, std::string_view v);
/// Appends `v` escaped as HELP text: \ → \\, newline → \n.
void append_help(std::string& out, std::string_view v);
/// Appends a sample value as Prometheus's Go clients do: shortest round-trip
/// digits, exponent form below 1e-4 and from 1e6 on, or +Inf, -Inf, NaN.
void append_double(std::string& out, double v);

/// Exponential bucket bounds: start, start·factor, … (count bounds).
std::vector<double> exponential_buckets(double start, double factor, std::size_t count);

} // namespace bulwark::metrics
