#include "drift/monitor.hpp"

#include "core/json_writer.hpp"
#include "crypto/hmac.hpp"
#include "drift/compare.hpp"
#include "drift/json_reader.hpp"
#include "drift/pane.hpp"
#include "drift/reference.hpp"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

namespace bulwark::drift {
namespace {

constexpr std::int64_t unset = std::numeric_limits<std::int64_t>::min();
constexpr std::size_t cusum_detector = std::numeric_limits<std::size_t>::max();
/// Vanished categories are reported only when at least this many were expected.
constexpr double vanish_min_expected = 5;
constexpr std::string_view reference_format = "bulwark.drift.reference";
constexpr std::string_view panes_format = "bulwark.drift.panes";
constexpr std::string_view key_format = "bulwark.drift.key";

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  std::int64_t q = a / b;
  if (a % b != 0 && ((a < 0) != (b < 0))) --q;
  return q;
}

std::int64_t positive_mod(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t m = a % b;
  return m < 0 ? m + b : m;
}

/// FNV-1a: a fixed seed for a key's reservoir, the same on every build.
std::uint64_t fnv1a(std::string_view s, std::uint64_t salt) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL ^ salt;
  for (const char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ULL;
  }
  return h;
}

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};

/// Keys and models are stored (and compared) at most this long; longer ones
/// are replaced by their SHA-256, so that attacker-chosen values cannot make
/// per-key memory large.
constexpr std::size_t max_key_bytes = 512;
constexpr std::size_t max_model_bytes = 128;

/// `text` itself when short enough, else "sha256:" and its hex digest.
/// `scratch` holds the digest form so that short keys need no allocation.
std::string_view bounded(std::string_view text, std::size_t limit, std::string& scratch) {
  if (text.size() <= limit) return text;
  scratch = "sha256:" + crypto::to_hex(crypto::sha256(text));
  return scratch;
}

/// How evidence names a key or model: itself when identifier-shaped, else a
/// short digest.
std::string label(std::string_view text) {
  return is_identifier(text) ? std::string(text) : "sha256:" + short_digest(text);
}

/// "1h", "1d", "1w", ... for a duration in milliseconds.
std::string format_duration(std::int64_t ms) {
  static constexpr std::pair<std::int64_t, const char*> units[] = {
      {604'800'000, "w"}, {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}};
  for (const auto& [size, suffix] : units)
    if (ms % size == 0) return std::to_string(ms / size) + suffix;
  return std::to_string(ms) + "ms";
}

/// A number given for a categorical feature, as its category text.
std::string_view number_text(double v, char (&buf)[32]) noexcept {
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string_view(buf, static_cast<std::size_t>(end - buf))
                           : std::string_view{};
}

/// A numeric feature's value: NaN (null) unless a finite number (JSON cannot
/// carry infinities, and a reference's bounds must stay finite).
double numeric_value(const feature_value& v) noexcept {
  return v.type == feature_value::kind::number && std::isfinite(v.number)
             ? v.number
             : std::numeric_limits<double>::quiet_NaN();
}

std::string reference_digest(const reference& r) {
  json_writer w;
  w.begin_object();
  write_reference(w, r);
  w.end_object();
  return crypto::to_hex(crypto::sha256(w.str()));
}

struct scale_state {
  std::uint32_t windows = 0;
  std::uint32_t step = 1;
  std::vector<pane> ring; ///< windows / step blocks of `step` panes
  std::size_t head = 0;   ///< next block to overwrite
  std::size_t filled = 0; ///< complete, monitored blocks in the ring
  pane partial;           ///< the block being filled
  bool partial_complete = true;
  bool verdict = false;
};

struct cusum_side {
  double s = 0;
  std::int64_t onset = 0;      ///< pane where s last left zero
  std::uint64_t run_n = 0;     ///< values since onset
  std::uint64_t run_sum = 0;   ///< Σ u since onset
  std::uint32_t run_panes = 0; ///< panes that moved s since onset

  void reset() noexcept { *this = cusum_side{}; }
  double shift(double u_mean) const noexcept {
    return run_n == 0
               ? 0
               : static_cast<double>(run_sum) / (static_cast<double>(run_n) * u_scale) - u_mean;
  }
};

enum class phase : std::uint8_t { idle, learning, frozen };

struct feature_state {
  phase state = phase::idle;
  std::unique_ptr<numeric_learner> numeric;
  std::unique_ptr<categorical_learner> categorical;
  std::shared_ptr<const reference> ref;
  std::string digest;
  std::int64_t monitor_from = unset; ///< first monitored pane; unset until the key is active
  std::vector<pane> open;            ///< ring of open panes, by pane index modulo size
  std::vector<std::int64_t> open_index;
  pane previous;
  bool has_previous = false;
  bool window_verdict = false;
  std::vector<scale_state> scales;
  cusum_side up, down;
  bool cusum_verdict = false;
  bool in_alarm = false;
  std::int64_t last_alert_pane = unset;
  severity last_level = severity::medium;
  // The last window compared with the current reference (status displays).
  std::uint64_t windows = 0;
  std::int64_t last_window_pane = unset;
  window_stats last;
};

struct key_state {
  std::string key;
  std::string model;
  std::int64_t first_pane = unset;  ///< unset until the first event
  std::int64_t learn_until = unset; ///< first pane after the reference windows
  std::int64_t count_from = unset;  ///< first pane of the counting stage
  std::int64_t last_pane = unset;   ///< pane of the latest event
  bool loaded = false;              ///< holds a reference from a file: never evicted
  std::int64_t next_close = unset;  ///< first pane not yet closed for this key
  std::vector<feature_state> features;
};

/// One detector's verdict on one window at one pane close.
struct outcome {
  std::size_t detector = 0; ///< 0: the window, 1..: scales, cusum_detector
  bool fired = false;
  bool large = false;
  window_stats stats;
  pane window;
  std::int64_t first_pane = 0;
  std::int64_t last_pane = 0;
};

struct reference_entry {
  std::string_view key, model;
  std::size_t feature;
  const reference* ref;
};

std::string write_reference_file(const settings& cfg, const std::vector<reference_entry>& entries) {
  json_writer w;
  w.begin_object();
  w.key("format").value(reference_format);
  w.key("version").value(1);
  w.key("window_ms").value(std::int64_t{cfg.window_ms});
  w.key("entries").begin_array();
  for (const auto& e : entries) {
    w.begin_object();
    w.key("key").value(e.key);
    w.key("model").value(e.model);
    w.key("feature").value(cfg.features[e.feature].path);
    write_reference(w, *e.ref);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

} // namespace

struct monitor::impl {
  settings cfg;
  calibration cal;
  counters count;
  std::int64_t lateness_panes = 0;
  std::int64_t ring_size = 1;
  std::int64_t max_span = 1; ///< empty panes after which every ring is empty
  std::int64_t closed_before = unset;
  std::int64_t max_pane = unset;
  std::unordered_map<std::string, key_state, string_hash, std::equal_to<>> keys;
  std::vector<raised_alert> pending;
  std::vector<audit_record> audit;
  bool capacity_alerted = false;

  explicit impl(settings s) : cfg(std::move(s)), cal(calibrate(cfg)) {
    lateness_panes = (cfg.allowed_lateness_ms + cfg.window_ms - 1) / cfg.window_ms;
    ring_size = lateness_panes + 1 + cfg.max_future_windows;
    for (const auto& sc : cfg.scales)
      max_span = std::max<std::int64_t>(max_span, sc.windows + sc.step);
  }

  double psi_floor(std::size_t f) const {
    return cfg.features[f].psi_floor.value_or(cfg.psi_floor);
  }
  double js_floor(std::size_t f) const { return cfg.features[f].js_floor.value_or(cfg.js_floor); }
  double u_floor(std::size_t f) const {
    return cfg.features[f].u_shift_floor.value_or(cfg.u_shift_floor);
  }

  // --- keys and states ------------------------------------------------------

  void start_learning(key_state& ks, std::size_t f) {
    auto& fs = ks.features[f];
    fs = feature_state{};
    fs.state = phase::learning;
    if (cfg.features[f].type == feature_type::numeric)
      fs.numeric = std::make_unique<numeric_learner>(cfg.reference_sample, fnv1a(ks.key, f),
                                                     cfg.numeric_bins);
    else
      fs.categorical = std::make_unique<categorical_learner>(cfg.max_categories);
  }

  key_state new_key(std::string_view key, std::string_view model, bool learn) {
    key_state ks;
    ks.key.assign(key);
    ks.model.assign(model);
    ks.features.resize(cfg.features.size());
    if (learn)
      for (std::size_t f = 0; f < cfg.features.size(); ++f)
        start_learning(ks, f);
    return ks;
  }

  /// Sets up the rings of a frozen feature whose monitoring starts at `from`.
  void activate(feature_state& fs, std::int64_t from) const {
    const std::size_t slots = fs.ref->slots();
    fs.monitor_from = from;
    fs.open.assign(static_cast<std::size_t>(ring_size), pane(slots));
    fs.open_index.assign(static_cast<std::size_t>(ring_size), unset);
    fs.previous = pane(slots);
    fs.has_previous = false;
    fs.window_verdict = fs.cusum_verdict = fs.in_alarm = false;
    fs.up.reset();
    fs.down.reset();
    fs.last_alert_pane = unset;
    fs.windows = 0;
    fs.last_window_pane = unset;
    fs.scales.clear();
    for (const auto& sc : cfg.scales) {
      scale_state s;
      s.windows = sc.windows;
      s.step = sc.step;
      s.ring.assign(sc.windows / sc.step, pane(slots));
      s.partial = pane(slots);
      s.partial_complete = positive_mod(from, sc.step) == 0;
      fs.scales.push_back(std::move(s));
    }
  }

  /// Makes `r` the frozen reference of (ks, f); monitoring starts at activate().
  void install(key_state& ks, std::size_t f, reference r) {
    auto& fs = ks.features[f];
    fs = feature_state{};
    fs.ref = std::make_shared<const reference>(std::move(r));
    fs.digest = reference_digest(*fs.ref);
    fs.state = phase::frozen;
  }

  audit_record record(const key_state& ks, std::size_t f, std::string_view action,
                      std::string_view previous, timestamp_ms at) const {
    const auto& fs = ks.features[f];
    json_writer w;
    w.begin_object();
    w.key("type").value("drift.reference");
    w.key("action").value(action);
    w.key("key").value(label(ks.key));
    w.key("model").value(label(ks.model));
    w.key("feature").value(cfg.features[f].path);
    if (fs.ref) {
      w.key("digest").value(fs.digest);
      w.key("n").value(fs.ref->n);
    }
    if (!previous.empty()) w.key("previous_digest").value(previous);
    if (fs.state == phase::frozen && fs.monitor_from != unset)
      w.key("monitored_from").value(format_rfc3339(fs.monitor_from * cfg.window_ms));
    w.key("at").value(format_rfc3339(at));
    w.end_object();
    return {w.take()};
  }

  /// Reference windows start at pane `start`: the first quarter places the
  /// cuts, the rest is counted (a single stage for one window).
  void schedule_learning(key_state& ks, std::int64_t start) const {
    const std::int64_t r = cfg.reference_windows;
    ks.learn_until = start + r;
    ks.count_from = r >= 2 ? start + std::max<std::int64_t>(1, r / 4) : unset;
  }

  void start_counting(key_state& ks) {
    for (auto& fs : ks.features) {
      if (fs.numeric) fs.numeric->start_counting();
      if (fs.categorical) fs.categorical->start_counting();
    }
    ks.count_from = unset;
  }

  /// The reference windows of `ks` are over: freeze every learning feature.
  void freeze_learning(key_state& ks, timestamp_ms at) {
    for (std::size_t f = 0; f < ks.features.size(); ++f) {
      auto& fs = ks.features[f];
      if (fs.state != phase::learning) continue;
      reference r = fs.numeric ? fs.numeric->freeze() : fs.categorical->freeze();
      install(ks, f, std::move(r));
      activate(fs, ks.learn_until);
      audit.push_back(record(ks, f, "frozen", "", at));
    }
    ks.learn_until = unset;
    ks.count_from = unset;
  }

  /// A key's first event: learning windows start, loaded references start
  /// monitoring.
  void first_event(key_state& ks, std::int64_t p) {
    ks.first_pane = p;
    ks.next_close = closed_before;
    bool learning = false;
    for (auto& fs : ks.features) {
      if (fs.state == phase::learning) learning = true;
      if (fs.state == phase::frozen && fs.monitor_from == unset) activate(fs, closed_before);
    }
    if (learning) schedule_learning(ks, p);
  }

  void raise_capacity(timestamp_ms t, std::uint64_t ref) {
    if (capacity_alerted) return;
    capacity_alerted = true;
    raised_alert a;
    a.request.kind = "capacity";
    a.request.level = default_severity("capacity");
    a.request.rule = "drift.max_keys";
    a.request.title = "drift: tracked key limit reached (" + std::to_string(cfg.max_keys) +
                      "); further keys are counted, not monitored";
    json_writer w;
    w.begin_object();
    w.key("module").value("drift");
    w.key("limit").value(static_cast<std::uint64_t>(cfg.max_keys));
    w.key("tracked").value(static_cast<std::uint64_t>(keys.size()));
    w.end_object();
    a.request.evidence = w.take();
    a.request.at = t;
    a.ref_id = ref;
    pending.push_back(std::move(a));
  }

  // --- observing ------------------------------------------------------------

  void learn(feature_state& fs, const feature_value& v) {
    if (fs.numeric) {
      fs.numeric->add(numeric_value(v));
      return;
    }
    char buf[32];
    switch (v.type) {
    case feature_value::kind::missing:
      fs.categorical->add_null();
      break;
    case feature_value::kind::number:
      fs.categorical->add(number_text(v.number, buf));
      break;
    case feature_value::kind::text:
      fs.categorical->add(v.text);
      break;
    }
  }

  pane& open_pane(feature_state& fs, std::int64_t p) {
    const auto idx = static_cast<std::size_t>(positive_mod(p, ring_size));
    if (fs.open_index[idx] != p) {
      // Every pane before closed_before is closed and its slot cleared, and
      // p lies within ring_size of closed_before: the slot is free.
      assert(fs.open_index[idx] == unset);
      fs.open_index[idx] = p;
    }
    return fs.open[idx];
  }

  void add(feature_state& fs, std::int64_t p, const feature_value& v, timestamp_ms t,
           std::uint64_t ref_id) {
    const reference& ref = *fs.ref;
    pane& pn = open_pane(fs, p);
    if (ref.type == feature_type::numeric) {
      const placement pl = ref.place(numeric_value(v));
      ++pn.slots[pl.slot];
      if (pl.u >= 0) {
        const auto u = static_cast<std::uint64_t>(pl.u);
        ++pn.u_n;
        pn.u_sum += u;
        pn.u_sum_sq += u * u;
      }
    } else {
      char buf[32];
      std::string_view text;
      std::size_t slot = ref.null_slot();
      if (v.type != feature_value::kind::missing) {
        text = v.type == feature_value::kind::text ? v.text : number_text(v.number, buf);
        slot = ref.place(text);
      }
      ++pn.slots[slot];
      if (slot == ref.other_slot()) pn.novel.add(category_hash(text));
    }
    pn.note(t, ref_id);
  }

  observe_result observe(std::string_view key, std::string_view model,
                         std::span<const feature_value> values, timestamp_ms t,
                         std::uint64_t ref_id) {
    ++count.observed;
    const std::int64_t p = floor_div(t, cfg.window_ms);
    if (closed_before == unset) closed_before = p - lateness_panes;
    if (p < closed_before) return counted(observe_result::late);
    if (p >= closed_before + ring_size) return counted(observe_result::future);
    std::string key_scratch, model_scratch;
    key = bounded(key, max_key_bytes, key_scratch);
    auto it = keys.find(key);
    if (it == keys.end()) {
      model = bounded(model, max_model_bytes, model_scratch);
      if (!cfg.learn_references) return counted(observe_result::unreferenced);
      if (keys.size() >= cfg.max_keys) {
        raise_capacity(t, ref_id);
        return counted(observe_result::untracked);
      }
      it = keys.emplace(std::string(key), new_key(key, model, true)).first;
    }
    key_state& ks = it->second;
    // A key handed over from a monitor that had closed this window already
    // (import_key): late there, late here.
    if (ks.next_close != unset && p < ks.next_close) return counted(observe_result::late);
    if (ks.first_pane == unset) first_event(ks, p);
    if (ks.count_from != unset && p >= ks.count_from) start_counting(ks);
    if (ks.learn_until != unset && p >= ks.learn_until) freeze_learning(ks, t);
    max_pane = std::max(max_pane, p);
    ks.last_pane = std::max(ks.last_pane, p);
    bool applied = false, learned = false, reference_late = false;
    for (std::size_t f = 0; f < ks.features.size(); ++f) {
      auto& fs = ks.features[f];
      const feature_value v = f < values.size() ? values[f] : feature_value::missing();
      if (fs.state == phase::learning) {
        learn(fs, v);
        learned = true;
      } else if (fs.state == phase::frozen) {
        if (p < fs.monitor_from) {
          reference_late = true;
          continue;
        }
        add(fs, p, v, t, ref_id);
        applied = true;
      }
    }
    if (applied) return counted(observe_result::applied);
    if (learned) return counted(observe_result::learning);
    if (reference_late) return counted(observe_result::reference_late);
    return counted(observe_result::unreferenced);
  }

  /// Counts an event under what happened to it (invariant 2).
  observe_result counted(observe_result r) noexcept {
    switch (r) {
    case observe_result::applied:
      ++count.applied;
      break;
    case observe_result::learning:
      ++count.learning;
      break;
    case observe_result::late:
      ++count.late;
      break;
    case observe_result::future:
      ++count.future;
      break;
    case observe_result::untracked:
      ++count.untracked;
      break;
    case observe_result::unreferenced:
      ++count.unreferenced;
      break;
    case observe_result::reference_late:
      ++count.reference_late;
      break;
    }
    return r;
  }

  // --- closing panes --------------------------------------------------------

  /// The window/scale decision: significant and above the effect floor.
  void decide(outcome& o, std::size_t f, const reference& ref) const {
    const window_stats& s = o.stats;
    const bool numeric = ref.type == feature_type::numeric;
    const std::size_t scale = o.detector;
    if (s.n < cfg.min_window_events) return;
    const double alpha = numeric ? cal.alpha[scale] / 2 : cal.alpha[scale];
    const bool binned = s.chi2.p < alpha && (s.psi >= psi_floor(f) || s.js >= js_floor(f));
    const bool location = numeric && s.u_n >= cfg.min_window_events &&
                          std::fabs(s.z) >= cal.z_critical[scale] &&
                          std::fabs(s.u_shift) >= u_floor(f);
    o.fired = binned || location;
    o.large = s.psi >= cfg.psi_large || s.js >= cfg.js_large ||
              (numeric && std::fabs(s.u_shift) >= cfg.u_shift_large);
  }

  /// Updates the CUSUMs with one pane; true when the pane moved them.
  bool update_cusum(feature_state& fs, const reference& ref, const pane& data, std::int64_t p) {
    if (ref.type != feature_type::numeric || ref.u_n == 0 || data.u_n < cfg.min_pane_events)
      return false;
    const double n = static_cast<double>(data.u_n);
    const double big_n = static_cast<double>(ref.u_n);
    const double shift = static_cast<double>(data.u_sum) / (n * u_scale) - ref.u_mean;
    const double se = std::sqrt(ref.u_var * (1 / n + 1 / big_n));
    double z = 0;
    if (se > 0)
      z = shift / se;
    else if (shift != 0)
      z = std::copysign(1e6, shift);
    // The reference's own sampling error is a shift that persists in every
    // pane; the extra slack keeps it from accumulating (docs/drift.md).
    const double k = cfg.cusum_slack + cfg.reference_allowance * std::sqrt(n / (n + big_n));
    const double cap = 2 * cal.cusum_threshold;
    const auto step = [&](cusum_side& side, double x) {
      const double next = std::max(0.0, side.s + x - k);
      if (next == 0) {
        side.reset();
        return;
      }
      if (side.s == 0) {
        side.reset();
        side.onset = p;
      }
      side.s = std::min(next, cap);
      side.run_n += data.u_n;
      side.run_sum += data.u_sum;
      ++side.run_panes;
    };
    step(fs.up, z);
    step(fs.down, -z);
    return true;
  }

  bool cusum_fires(const feature_state& fs, std::size_t f) const {
    const double h = cal.cusum_threshold;
    const double mu = fs.ref->u_mean;
    return (fs.up.s > h && fs.up.shift(mu) >= u_floor(f)) ||
           (fs.down.s > h && -fs.down.shift(mu) >= u_floor(f));
  }

  void reset_rings(feature_state& fs) {
    for (auto& sc : fs.scales) {
      for (auto& b : sc.ring)
        b.clear();
      sc.partial.clear();
      sc.partial_complete = true;
      sc.filled = sc.ring.size();
      sc.verdict = false;
    }
    fs.previous.clear();
    fs.has_previous = false;
    fs.window_verdict = false;
  }

  void close_pane(key_state& ks, std::size_t f, std::int64_t p, const pane* data) {
    feature_state& fs = ks.features[f];
    const reference& ref = *fs.ref;
    std::vector<outcome> now; // detectors evaluated at this close that fired

    // (a) the window itself against the reference.
    outcome w0;
    w0.detector = 0;
    w0.first_pane = w0.last_pane = p;
    bool window_evaluated = false;
    if (data != nullptr && !data->empty()) {
      w0.window = *data;
      w0.stats = compare(ref, w0.window, cfg.psi_epsilon);
      decide(w0, f, ref);
      window_evaluated = true;
      ++fs.windows;
      fs.last_window_pane = p;
      fs.last = w0.stats;
    }
    fs.window_verdict = w0.fired;

    // (b) longer scales, summed exactly from their blocks.
    for (std::size_t si = 0; si < fs.scales.size(); ++si) {
      scale_state& sc = fs.scales[si];
      if (data != nullptr) sc.partial.merge(*data);
      if (positive_mod(p + 1, sc.step) != 0) continue;
      std::swap(sc.ring[sc.head], sc.partial);
      sc.partial.clear();
      sc.head = (sc.head + 1) % sc.ring.size();
      sc.filled = sc.partial_complete ? std::min(sc.filled + 1, sc.ring.size()) : 0;
      sc.partial_complete = true;
      if (sc.filled < sc.ring.size()) continue;
      outcome o;
      o.detector = si + 1;
      o.first_pane = p - sc.windows + 1;
      o.last_pane = p;
      o.window = pane(ref.slots());
      for (const auto& b : sc.ring)
        o.window.merge(b);
      o.stats = compare(ref, o.window, cfg.psi_epsilon);
      decide(o, f, ref);
      sc.verdict = o.fired;
      if (o.fired) now.push_back(std::move(o));
    }

    // (c) the CUSUM of per-pane scores.
    const bool moved = data != nullptr && update_cusum(fs, ref, *data, p);
    fs.cusum_verdict = cusum_fires(fs, f);
    if (moved && fs.cusum_verdict) {
      outcome o;
      o.detector = cusum_detector;
      o.first_pane = o.last_pane = p;
      o.window = *data;
      o.stats = window_evaluated ? w0.stats : compare(ref, o.window, cfg.psi_epsilon);
      o.fired = true;
      const cusum_side& side = fs.up.s >= fs.down.s ? fs.up : fs.down;
      o.large = std::fabs(side.shift(ref.u_mean)) >= cfg.u_shift_large;
      now.push_back(std::move(o));
    }

    // The label of a window alert: did this window also jump from the last?
    bool abrupt = true;
    if (w0.fired && fs.has_previous && fs.previous.total() >= cfg.min_window_events) {
      std::vector<double> a(fs.previous.slots.begin(), fs.previous.slots.end());
      std::vector<double> b(data->slots.begin(), data->slots.end());
      const auto t = homogeneity_test(a, b);
      abrupt =
          t.p < cal.alpha[0] && population_stability_index(b, a, cfg.psi_epsilon) >= psi_floor(f);
    }
    if (data != nullptr) {
      fs.previous = *data;
      fs.has_previous = true;
    } else {
      fs.previous.clear();
      fs.has_previous = false;
    }
    if (w0.fired) now.insert(now.begin(), std::move(w0));

    bool in_alarm = fs.window_verdict || fs.cusum_verdict;
    for (const auto& sc : fs.scales)
      in_alarm = in_alarm || sc.verdict;
    if (!now.empty()) {
      const outcome& head = now.front();
      const severity level = head.large ? severity::high : severity::medium;
      const bool repeat_due =
          fs.last_alert_pane != unset &&
          p - fs.last_alert_pane >= static_cast<std::int64_t>(cfg.repeat_windows);
      const bool escalated = level == severity::high && fs.last_level != severity::high;
      if (!fs.in_alarm || repeat_due || escalated) {
        pending.push_back(build_alert(ks, f, head, now, abrupt, level));
        fs.last_alert_pane = p;
        fs.last_level = level;
      }
    }
    fs.in_alarm = in_alarm;
  }

  void skip_empty(key_state& ks, std::size_t f, std::int64_t from, std::int64_t to) {
    if (to <= from) return;
    if (to - from > max_span) {
      // Long silence: every ring would hold only empty panes.
      reset_rings(ks.features[f]);
      ks.features[f].in_alarm = ks.features[f].cusum_verdict;
      return;
    }
    for (std::int64_t p = from; p < to; ++p)
      close_pane(ks, f, p, nullptr);
  }

  void close_feature(key_state& ks, std::size_t f, std::int64_t from, std::int64_t to) {
    feature_state& fs = ks.features[f];
    std::vector<std::pair<std::int64_t, std::size_t>> data;
    for (std::size_t i = 0; i < fs.open_index.size(); ++i)
      if (fs.open_index[i] != unset && fs.open_index[i] < to)
        data.emplace_back(fs.open_index[i], i);
    std::sort(data.begin(), data.end());
    std::int64_t cursor = from;
    for (const auto& [p, idx] : data) {
      if (p >= cursor) {
        skip_empty(ks, f, cursor, p);
        close_pane(ks, f, p, &fs.open[idx]);
        cursor = p + 1;
      }
      fs.open[idx].clear();
      fs.open_index[idx] = unset;
    }
    skip_empty(ks, f, cursor, to);
  }

  void close_key(key_state& ks, std::int64_t to) {
    if (ks.first_pane == unset) return;
    if (ks.count_from != unset && ks.count_from <= to) start_counting(ks);
    if (ks.learn_until != unset && ks.learn_until <= to)
      freeze_learning(ks, ks.learn_until * cfg.window_ms);
    for (std::size_t f = 0; f < ks.features.size(); ++f) {
      auto& fs = ks.features[f];
      if (fs.state != phase::frozen || fs.monitor_from == unset) continue;
      close_feature(ks, f, std::max(ks.next_close, fs.monitor_from), to);
    }
    ks.next_close = std::max(ks.next_close, to);
  }

  std::vector<raised_alert> close_until(std::int64_t target) {
    if (closed_before == unset || target > closed_before) {
      closed_before = target;
      std::vector<key_state*> order;
      order.reserve(keys.size());
      for (auto& [k, ks] : keys)
        order.push_back(&ks);
      std::sort(order.begin(), order.end(),
                [](const key_state* a, const key_state* b) { return a->key < b->key; });
      const std::size_t before = pending.size();
      for (key_state* ks : order)
        close_key(*ks, target);
      evict_idle(target);
      std::stable_sort(
          pending.begin() + static_cast<std::ptrdiff_t>(before), pending.end(),
          [](const raised_alert& a, const raised_alert& b) { return a.request.at < b.request.at; });
    }
    return std::exchange(pending, {});
  }

  audit_record key_record(const key_state& ks, std::string_view action, timestamp_ms at,
                          std::int64_t idle) const {
    json_writer w;
    w.begin_object();
    w.key("type").value("drift.reference");
    w.key("action").value(action);
    w.key("key").value(label(ks.key));
    w.key("model").value(label(ks.model));
    if (idle >= 0) w.key("idle_windows").value(idle);
    w.key("at").value(format_rfc3339(at));
    w.end_object();
    return {w.take()};
  }

  std::optional<audit_record> forget(std::string_view key, timestamp_ms at) {
    std::string scratch;
    const auto it = keys.find(bounded(key, max_key_bytes, scratch));
    if (it == keys.end()) return std::nullopt;
    for (const auto& fs : it->second.features)
      if (fs.state == phase::frozen) count.discarded_by_replacement += open_values(fs);
    audit_record r = key_record(it->second, "forgotten", at, -1);
    keys.erase(it);
    if (keys.size() < cfg.max_keys) capacity_alerted = false;
    return r;
  }

  /// Forgets learned keys idle for evict_idle_windows (never loaded ones,
  /// never to make room), recording each.
  void evict_idle(std::int64_t target) {
    if (cfg.evict_idle_windows == 0) return;
    for (auto it = keys.begin(); it != keys.end();) {
      const key_state& ks = it->second;
      if (ks.loaded || ks.last_pane == unset ||
          target - ks.last_pane <= static_cast<std::int64_t>(cfg.evict_idle_windows)) {
        ++it;
        continue;
      }
      audit.push_back(key_record(ks, "evicted", target * cfg.window_ms, target - ks.last_pane));
      it = keys.erase(it);
    }
    if (keys.size() < cfg.max_keys) capacity_alerted = false;
  }

  // --- alerts ---------------------------------------------------------------

  std::string scale_name(std::size_t detector) const {
    if (detector == 0 || detector == cusum_detector) return format_duration(cfg.window_ms);
    return format_duration(cfg.window_ms * cfg.scales[detector - 1].windows);
  }

  std::uint64_t scale_windows(std::size_t detector) const {
    if (detector == 0 || detector == cusum_detector) return 1;
    return cfg.scales[detector - 1].windows;
  }

  static std::string_view detector_name(std::size_t detector) {
    if (detector == 0) return "window";
    if (detector == cusum_detector) return "cusum";
    return "scale";
  }

  void write_stats(json_writer& w, const window_stats& s, bool numeric) const {
    w.key("statistics").begin_object();
    w.key("n").value(s.n);
    w.key("reference_n").value(s.reference_n);
    w.key("psi").value(s.psi);
    w.key("js_distance").value(s.js);
    w.key("hellinger").value(s.hellinger);
    w.key("chi2").value(s.chi2.statistic);
    w.key("chi2_df").value(s.chi2.df);
    w.key("chi2_p").value(s.chi2.p);
    w.key("g").value(s.g.statistic);
    w.key("g_p").value(s.g.p);
    if (numeric) {
      w.key("wasserstein_u").value(s.wasserstein_u);
      w.key("u_mean").value(s.u_mean);
      w.key("u_shift").value(s.u_shift);
      w.key("z").value(s.z);
      w.key("z_p").value(s.z_p);
    }
    w.end_object();
  }

  raised_alert build_alert(const key_state& ks, std::size_t f, const outcome& head,
                           const std::vector<outcome>& fired, bool abrupt, severity level) const {
    const feature_state& fs = ks.features[f];
    const reference& ref = *fs.ref;
    const bool numeric = ref.type == feature_type::numeric;
    const std::string& path = cfg.features[f].path;
    const std::int64_t first = std::max(head.first_pane, fs.monitor_from);
    const timestamp_ms start = first * cfg.window_ms;
    const timestamp_ms end = (head.last_pane + 1) * cfg.window_ms;

    std::string signature;
    if (head.detector == 0)
      signature = abrupt ? "abrupt" : "gradual";
    else
      signature = fs.window_verdict ? "sustained" : "boiling_frog";

    // Onset: when the CUSUM last left zero, if it is running; else the window.
    std::string onset_source = "window";
    timestamp_ms onset = start;
    const cusum_side* side = nullptr;
    if (numeric && (fs.up.s > 0 || fs.down.s > 0)) {
      side = fs.up.s >= fs.down.s ? &fs.up : &fs.down;
      onset = side->onset * cfg.window_ms;
      onset_source = "cusum";
    }

    json_writer w;
    w.begin_object();
    w.key("feature").value(path);
    w.key("type").value(to_string(ref.type));
    w.key("key").value(label(ks.key));
    w.key("detector").value(detector_name(head.detector));
    w.key("signature").value(signature);
    w.key("scale").value(scale_name(head.detector));
    w.key("scale_windows").value(scale_windows(head.detector));
    w.key("window_start").value(format_rfc3339(start));
    w.key("window_end").value(format_rfc3339(end));
    w.key("onset").value(format_rfc3339(onset));
    w.key("onset_from").value(onset_source);
    write_stats(w, head.stats, numeric);
    w.key("thresholds").begin_object();
    if (head.detector != cusum_detector) {
      w.key("alpha").value(cal.alpha[head.detector]);
      if (numeric) w.key("z_critical").value(cal.z_critical[head.detector]);
    }
    w.key("psi_floor").value(psi_floor(f));
    w.key("js_floor").value(js_floor(f));
    if (numeric) w.key("u_shift_floor").value(u_floor(f));
    w.end_object();
    if (side != nullptr) {
      w.key("cusum").begin_object();
      w.key("direction").value(side == &fs.up ? "up" : "down");
      w.key("value").value(side->s);
      w.key("threshold").value(cal.cusum_threshold);
      w.key("windows_since_onset").value(std::uint64_t{side->run_panes});
      w.key("u_shift_since_onset").value(side->shift(ref.u_mean));
      w.end_object();
    }
    w.key("moved").begin_array();
    for (const auto& m : most_moved(ref, head.window, cfg.psi_epsilon)) {
      w.begin_object();
      write_slot_label(w, ref, m.slot);
      w.key("share").value(m.share);
      w.key("reference_share").value(m.reference_share);
      w.key("direction").value(m.share > m.reference_share ? "up" : "down");
      w.end_object();
    }
    w.end_array();
    if (!numeric) write_categories(w, ref, head.window);
    w.key("detectors").begin_array();
    const auto fired_now = [&](std::size_t d) {
      return std::any_of(fired.begin(), fired.end(),
                         [&](const outcome& o) { return o.detector == d; });
    };
    w.begin_object().key("name").value("window").key("scale").value(scale_name(0));
    w.key("drifted").value(fs.window_verdict).end_object();
    for (std::size_t si = 0; si < fs.scales.size(); ++si) {
      w.begin_object().key("name").value("scale").key("scale").value(scale_name(si + 1));
      w.key("drifted").value(fs.scales[si].verdict);
      w.key("evaluated_now")
          .value(fired_now(si + 1) || positive_mod(head.last_pane + 1, fs.scales[si].step) == 0);
      w.end_object();
    }
    if (numeric)
      w.begin_object()
          .key("name")
          .value("cusum")
          .key("drifted")
          .value(fs.cusum_verdict)
          .end_object();
    w.end_array();
    w.end_object();

    raised_alert a;
    a.request.kind = "drift";
    a.request.level = level;
    a.request.model = ks.model;
    a.request.rule = path;
    a.request.title = "drift: " + path + " of model " + label(ks.model) +
                      " moved from its reference (" + signature + ", " +
                      std::string(detector_name(head.detector)) + " " + scale_name(head.detector) +
                      ")";
    a.request.evidence = w.take();
    a.request.at = end;
    if (!head.window.empty()) a.ref_id = head.window.last_ref;
    return a;
  }

  void write_categories(json_writer& w, const reference& ref, const pane& window) const {
    const pane& p = window;
    w.key("new_categories").begin_object();
    w.key("events").value(p.slots[ref.other_slot()]);
    w.key("reference_other_share")
        .value(ref.n > 0
                   ? static_cast<double>(ref.counts[ref.other_slot()]) / static_cast<double>(ref.n)
                   : 0.0);
    w.key("distinct").value(std::round(p.novel.distinct()));
    w.key("distinct_estimated").value(p.novel.saturated());
    w.key("sha256_prefixes").begin_array();
    for (std::size_t i = 0; i < p.novel.size(); ++i) {
      char hex[17];
      std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(p.novel[i]));
      w.value(std::string_view(hex, 8));
    }
    w.end_array();
    w.end_object();
    w.key("vanished_categories").begin_array();
    const double n = static_cast<double>(p.total());
    std::size_t listed = 0;
    for (std::size_t c = 0; c < ref.categories.size() && listed < 8; ++c) {
      const double expected = n * static_cast<double>(ref.counts[c]) / static_cast<double>(ref.n);
      if (p.slots[c] != 0 || expected < vanish_min_expected) continue;
      w.begin_object();
      write_slot_label(w, ref, c);
      w.key("expected").value(expected);
      w.end_object();
      ++listed;
    }
    w.end_array();
  }

  // --- files ----------------------------------------------------------------

  std::string export_reference() const {
    std::vector<const key_state*> order;
    for (const auto& [k, ks] : keys)
      order.push_back(&ks);
    std::sort(order.begin(), order.end(),
              [](const key_state* a, const key_state* b) { return a->key < b->key; });
    std::vector<reference_entry> entries;
    for (const key_state* ks : order)
      for (std::size_t f = 0; f < ks->features.size(); ++f)
        if (ks->features[f].state == phase::frozen)
          entries.push_back({ks->key, ks->model, f, ks->features[f].ref.get()});
    return write_reference_file(cfg, entries);
  }

  struct loaded {
    std::string key, model;
    std::size_t feature;
    reference ref;
  };

  std::variant<std::vector<loaded>, error> parse_reference_file(std::string_view text) const {
    auto parsed = json::parse(text);
    if (auto* e = std::get_if<std::string>(&parsed)) return error{"drift reference file: " + *e};
    const auto& root = std::get<json::value>(parsed);
    const auto bad = [](const std::string& why) { return error{"drift reference file: " + why}; };
    const auto* fmt = root.find("format");
    const auto* ver = root.find("version");
    const auto* entries = root.find("entries");
    if (fmt == nullptr || !fmt->is_string() || fmt->text != reference_format)
      return bad("format must be \"bulwark.drift.reference\"");
    if (ver == nullptr || ver->as_u64() != std::uint64_t{1}) return bad("unsupported version");
    if (const auto* wm = root.find("window_ms"); wm == nullptr || wm->as_i64() != cfg.window_ms)
      return bad("window_ms differs from drift.window");
    if (entries == nullptr || !entries->is_array()) return bad("entries must be an array");
    std::vector<loaded> out;
    std::set<std::pair<std::string, std::size_t>> seen;
    std::set<std::string> new_keys;
    for (std::size_t i = 0; i < entries->items.size(); ++i) {
      const auto& e = entries->items[i];
      const std::string where = "entry " + std::to_string(i) + ": ";
      const auto* key = e.find("key");
      const auto* model = e.find("model");
      const auto* feature = e.find("feature");
      if (key == nullptr || !key->is_string() || model == nullptr || !model->is_string() ||
          feature == nullptr || !feature->is_string())
        return bad(where + "key, model and feature must be strings");
      if (key->text.size() > max_key_bytes || model->text.size() > max_model_bytes)
        return bad(where + "key longer than 512 or model longer than 128 bytes");
      std::size_t f = 0;
      while (f < cfg.features.size() && cfg.features[f].path != feature->text)
        ++f;
      if (f == cfg.features.size()) return bad(where + "feature is not configured");
      if (!seen.emplace(key->text, f).second) return bad(where + "duplicate key and feature");
      auto r = read_reference(e, cfg.features[f].type, cfg.max_categories);
      if (auto* err = std::get_if<error>(&r)) return bad(where + err->message);
      if (!keys.contains(key->text)) new_keys.insert(key->text);
      out.push_back({key->text, model->text, f, std::move(std::get<reference>(r))});
    }
    if (keys.size() + new_keys.size() > cfg.max_keys) return bad("more keys than max_keys");
    return out;
  }

  std::variant<std::vector<audit_record>, error> load(std::string_view text, timestamp_ms at) {
    auto parsed = parse_reference_file(text);
    if (auto* e = std::get_if<error>(&parsed)) return *e;
    std::vector<audit_record> records;
    for (auto& l : std::get<std::vector<loaded>>(parsed)) {
      auto it = keys.find(l.key);
      if (it == keys.end())
        it = keys.emplace(l.key, new_key(l.key, l.model, cfg.learn_references)).first;
      key_state& ks = it->second;
      ks.loaded = true;
      feature_state& fs = ks.features[l.feature];
      const bool replacing = fs.state == phase::frozen;
      const std::string previous = replacing ? fs.digest : std::string();
      if (replacing) count.discarded_by_replacement += open_values(fs);
      install(ks, l.feature, std::move(l.ref));
      // Monitoring starts with the first window still open (or, for a key
      // not seen yet, at its first event).
      if (ks.first_pane != unset) activate(fs, closed_before);
      records.push_back(record(ks, l.feature, replacing ? "replaced" : "loaded", previous, at));
    }
    return records;
  }

  static std::uint64_t open_values(const feature_state& fs) {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < fs.open.size(); ++i)
      if (fs.open_index[i] != unset) n += fs.open[i].total();
    return n;
  }

  std::vector<audit_record> relearn(std::string_view key, timestamp_ms at) {
    std::vector<audit_record> records;
    std::string scratch;
    auto it = keys.find(bounded(key, max_key_bytes, scratch));
    if (it == keys.end()) return records;
    key_state& ks = it->second;
    for (std::size_t f = 0; f < ks.features.size(); ++f) {
      auto& fs = ks.features[f];
      if (fs.state == phase::frozen) count.discarded_by_replacement += open_values(fs);
      const std::string previous = fs.digest;
      start_learning(ks, f);
      records.push_back(record(ks, f, "relearn", previous, at));
    }
    // The reference windows start with the first window still open.
    if (ks.first_pane != unset) {
      schedule_learning(ks, closed_before);
      ks.next_close = closed_before;
    }
    return records;
  }

  std::string export_panes() const {
    std::vector<const key_state*> order;
    for (const auto& [k, ks] : keys)
      order.push_back(&ks);
    std::sort(order.begin(), order.end(),
              [](const key_state* a, const key_state* b) { return a->key < b->key; });
    json_writer w;
    w.begin_object();
    w.key("format").value(panes_format);
    w.key("version").value(1);
    w.key("window_ms").value(std::int64_t{cfg.window_ms});
    w.key("panes").begin_array();
    for (const key_state* ks : order) {
      for (std::size_t f = 0; f < ks->features.size(); ++f) {
        const auto& fs = ks->features[f];
        if (fs.state != phase::frozen || fs.monitor_from == unset) continue;
        std::vector<std::pair<std::int64_t, std::size_t>> idx;
        for (std::size_t i = 0; i < fs.open_index.size(); ++i)
          if (fs.open_index[i] != unset) idx.emplace_back(fs.open_index[i], i);
        std::sort(idx.begin(), idx.end());
        for (const auto& [p, i] : idx) {
          w.begin_object();
          w.key("key").value(ks->key);
          w.key("feature").value(cfg.features[f].path);
          w.key("digest").value(fs.digest);
          w.key("pane").value(std::int64_t{p});
          w.key("state");
          write_pane(w, fs.open[i]);
          w.end_object();
        }
      }
    }
    w.end_array();
    w.end_object();
    return w.take();
  }

  std::optional<error> merge_panes(std::string_view text) {
    auto parsed = json::parse(text);
    if (auto* e = std::get_if<std::string>(&parsed)) return error{"drift panes: " + *e};
    const auto& root = std::get<json::value>(parsed);
    const auto bad = [](const std::string& why) { return error{"drift panes: " + why}; };
    const auto* fmt = root.find("format");
    const auto* list = root.find("panes");
    if (fmt == nullptr || !fmt->is_string() || fmt->text != panes_format)
      return bad("format must be \"bulwark.drift.panes\"");
    if (const auto* v = root.find("version"); v == nullptr || v->as_u64() != std::uint64_t{1})
      return bad("unsupported version");
    if (const auto* wm = root.find("window_ms"); wm == nullptr || wm->as_i64() != cfg.window_ms)
      return bad("window_ms differs");
    if (list == nullptr || !list->is_array()) return bad("panes must be an array");
    struct incoming {
      feature_state* fs;
      std::int64_t index;
      pane data;
    };
    std::vector<incoming> in;
    for (const auto& e : list->items) {
      const auto* key = e.find("key");
      const auto* feature = e.find("feature");
      const auto* digest = e.find("digest");
      const auto* index = e.find("pane");
      const auto* state = e.find("state");
      if (key == nullptr || !key->is_string() || feature == nullptr || !feature->is_string() ||
          digest == nullptr || !digest->is_string() || index == nullptr || !index->as_i64() ||
          state == nullptr)
        return bad("each pane needs key, feature, digest, pane and state");
      auto it = keys.find(key->text);
      std::size_t f = 0;
      while (f < cfg.features.size() && cfg.features[f].path != feature->text)
        ++f;
      if (it == keys.end() || f == cfg.features.size())
        return bad("pane for an unknown key or feature");
      feature_state& fs = it->second.features[f];
      if (fs.state != phase::frozen || fs.monitor_from == unset || fs.digest != digest->text)
        return bad("pane built against a different reference");
      auto p = read_pane(*state, fs.ref->slots());
      if (auto* err = std::get_if<error>(&p)) return bad(err->message);
      in.push_back({&fs, *index->as_i64(), std::move(std::get<pane>(p))});
    }
    for (auto& i : in) {
      if (i.index < closed_before || i.index < i.fs->monitor_from ||
          i.index >= closed_before + ring_size) {
        count.merged_late += i.data.total();
        continue;
      }
      open_pane(*i.fs, i.index).merge(i.data);
      max_pane = std::max(max_pane, i.index);
    }
    return std::nullopt;
  }

  // --- hand-over of one key (export_key / import_key) -------------------------

  /// The settings that shape a key's state: snapshots pass only between
  /// monitors that agree on them.
  std::string shape_digest() const {
    json_writer w;
    w.begin_object();
    w.key("window_ms").value(std::int64_t{cfg.window_ms});
    w.key("reference_windows").value(std::uint64_t{cfg.reference_windows});
    w.key("lateness_ms").value(std::int64_t{cfg.allowed_lateness_ms});
    w.key("future").value(std::uint64_t{cfg.max_future_windows});
    w.key("bins").value(std::uint64_t{cfg.numeric_bins});
    w.key("categories").value(std::uint64_t{cfg.max_categories});
    w.key("sample").value(std::uint64_t{cfg.reference_sample});
    w.key("features").begin_array();
    for (const auto& f : cfg.features)
      w.begin_array().value(f.path).value(to_string(f.type)).end_array();
    w.end_array();
    w.key("scales").begin_array();
    for (const auto& sc : cfg.scales)
      w.begin_array().value(std::uint64_t{sc.windows}).value(std::uint64_t{sc.step}).end_array();
    w.end_array();
    w.end_object();
    return crypto::to_hex(crypto::sha256(w.str())).substr(0, 16);
  }

  using ref_writer = std::function<std::string(std::uint64_t)>;
  using ref_reader = std::function<std::optional<std::uint64_t>(std::string_view)>;

  static void write_index(json_writer& w, std::string_view name, std::int64_t v) {
    w.key(name);
    if (v == unset)
      w.null();
    else
      w.value(v);
  }

  /// A pane with the event its last_ref names, as text.
  static void write_held_pane(json_writer& w, const pane& p, const ref_writer& ref_text) {
    w.begin_object();
    w.key("state");
    write_pane(w, p);
    if (!p.empty()) w.key("ref").value(ref_text(p.last_ref));
    w.end_object();
  }

  static void write_side(json_writer& w, std::string_view name, const cusum_side& s) {
    w.key(name).begin_object();
    w.key("s").value(s.s);
    w.key("onset").value(s.onset);
    w.key("run_n").value(s.run_n);
    w.key("run_sum").value(s.run_sum);
    w.key("run_panes").value(std::uint64_t{s.run_panes});
    w.end_object();
  }

  void write_feature(json_writer& w, const feature_state& fs, const ref_writer& ref_text) const {
    w.begin_object();
    w.key("phase").value(fs.state == phase::frozen     ? "frozen"
                         : fs.state == phase::learning ? "learning"
                                                       : "idle");
    if (fs.state == phase::learning) {
      w.key("learner").begin_object();
      if (fs.numeric) fs.numeric->write_state(w);
      if (fs.categorical) fs.categorical->write_state(w);
      w.end_object();
    }
    if (fs.state != phase::frozen) {
      w.end_object();
      return;
    }
    w.key("reference").begin_object();
    write_reference(w, *fs.ref);
    w.end_object();
    w.key("digest").value(fs.digest);
    write_index(w, "monitor_from", fs.monitor_from);
    if (fs.monitor_from != unset) {
      w.key("open").begin_array();
      for (std::size_t i = 0; i < fs.open.size(); ++i) {
        if (fs.open_index[i] == unset) continue;
        w.begin_object();
        w.key("pane").value(fs.open_index[i]);
        w.key("data");
        write_held_pane(w, fs.open[i], ref_text);
        w.end_object();
      }
      w.end_array();
      w.key("previous");
      write_held_pane(w, fs.previous, ref_text);
      w.key("has_previous").value(fs.has_previous);
      w.key("window_verdict").value(fs.window_verdict);
      w.key("cusum_verdict").value(fs.cusum_verdict);
      w.key("in_alarm").value(fs.in_alarm);
      w.key("scales").begin_array();
      for (const auto& sc : fs.scales) {
        w.begin_object();
        w.key("head").value(static_cast<std::uint64_t>(sc.head));
        w.key("filled").value(static_cast<std::uint64_t>(sc.filled));
        w.key("partial_complete").value(sc.partial_complete);
        w.key("verdict").value(sc.verdict);
        w.key("partial");
        write_held_pane(w, sc.partial, ref_text);
        w.key("ring").begin_array();
        for (const auto& b : sc.ring)
          write_held_pane(w, b, ref_text);
        w.end_array();
        w.end_object();
      }
      w.end_array();
      write_side(w, "up", fs.up);
      write_side(w, "down", fs.down);
      write_index(w, "last_alert_pane", fs.last_alert_pane);
      w.key("last_level").value(static_cast<std::uint64_t>(fs.last_level));
      w.key("windows").value(fs.windows);
      write_index(w, "last_window_pane", fs.last_window_pane);
      w.key("last").begin_object();
      w.key("n").value(fs.last.n);
      w.key("psi").value(fs.last.psi);
      w.key("js").value(fs.last.js);
      w.key("wasserstein_u").value(fs.last.wasserstein_u);
      w.key("u_shift").value(fs.last.u_shift);
      w.end_object();
    }
    w.end_object();
  }

  std::string write_key(const key_state& ks, const ref_writer& ref_text) const {
    json_writer w;
    w.begin_object();
    w.key("format").value(key_format);
    w.key("version").value(1);
    w.key("shape").value(shape_digest());
    w.key("key").value(ks.key);
    w.key("model").value(ks.model);
    write_index(w, "closed_before", closed_before);
    write_index(w, "first_pane", ks.first_pane);
    write_index(w, "learn_until", ks.learn_until);
    write_index(w, "count_from", ks.count_from);
    write_index(w, "last_pane", ks.last_pane);
    write_index(w, "next_close", ks.next_close);
    w.key("loaded").value(ks.loaded);
    w.key("features").begin_array();
    for (const auto& fs : ks.features)
      write_feature(w, fs, ref_text);
    w.end_array();
    w.end_object();
    return w.take();
  }

  /// The largest pane index a snapshot may name: its start in milliseconds
  /// stays within ±2^47 (about ±4,400 years), so no time arithmetic on it
  /// can overflow.
  std::int64_t pane_limit() const noexcept {
    return (std::int64_t{1} << 47) / std::max<std::int64_t>(1, cfg.window_ms);
  }

  /// A pane index or unset (null); nothing when malformed or out of range.
  std::optional<std::int64_t> read_index(const json::value& obj, std::string_view name) const {
    const auto* v = obj.find(name);
    if (v == nullptr) return std::nullopt;
    if (v->is_null()) return unset;
    const auto i = v->as_i64();
    if (!i || *i > pane_limit() || *i < -pane_limit()) return std::nullopt;
    return *i;
  }

  static std::optional<bool> read_flag(const json::value& obj, std::string_view name) {
    const auto* v = obj.find(name);
    if (v == nullptr || v->type != json::value::kind::boolean) return std::nullopt;
    return v->flag;
  }

  static std::optional<double> read_real(const json::value& obj, std::string_view name) {
    const auto* v = obj.find(name);
    if (v == nullptr) return std::nullopt;
    if (v->is_null()) return std::numeric_limits<double>::quiet_NaN();
    return v->as_double();
  }

  std::variant<pane, error> read_held_pane(const json::value* v, std::size_t slots,
                                           const ref_reader& ref_id) const {
    const auto bad = [](std::string why) { return error{"drift key: " + std::move(why)}; };
    if (v == nullptr || !v->is_object()) return bad("a pane is missing");
    const auto* st = v->find("state");
    if (st == nullptr) return bad("a pane is missing");
    auto p = read_pane(*st, slots);
    if (auto* e = std::get_if<error>(&p)) return *e;
    pane& out = std::get<pane>(p);
    if (!out.empty()) {
      const auto* r = v->find("ref");
      if (r == nullptr || !r->is_string()) return bad("a pane without the event it ends with");
      const auto id = ref_id(r->text);
      if (!id) return bad("a pane names an event this side cannot refer to");
      out.last_ref = *id;
      if (out.last_time > pane_limit() * cfg.window_ms ||
          out.last_time < -pane_limit() * cfg.window_ms)
        return bad("an event time out of range");
    }
    return p;
  }

  std::optional<error> read_side(const json::value& obj, std::string_view name,
                                 cusum_side& side) const {
    const auto bad = [&](std::string why) {
      return error{"drift key: " + std::string(name) + ": " + std::move(why)};
    };
    const auto* v = obj.find(name);
    if (v == nullptr || !v->is_object()) return bad("missing");
    const auto s = read_real(*v, "s");
    const auto onset = v->find("onset");
    const auto* run_n = v->find("run_n");
    const auto* run_sum = v->find("run_sum");
    const auto* run_panes = v->find("run_panes");
    if (!s || !std::isfinite(*s) || *s < 0 || onset == nullptr || !onset->as_i64() ||
        *onset->as_i64() > pane_limit() || *onset->as_i64() < -pane_limit() || run_n == nullptr ||
        !run_n->as_u64() || run_sum == nullptr || !run_sum->as_u64() || run_panes == nullptr ||
        !run_panes->as_u64() || *run_panes->as_u64() > std::numeric_limits<std::uint32_t>::max() ||
        *run_sum->as_u64() / u_scale > *run_n->as_u64())
      return bad("malformed");
    side.s = std::min(*s, 2 * cal.cusum_threshold); // the cap update_cusum keeps
    side.onset = *onset->as_i64();
    side.run_n = *run_n->as_u64();
    side.run_sum = *run_sum->as_u64();
    side.run_panes = static_cast<std::uint32_t>(*run_panes->as_u64());
    return std::nullopt;
  }

  std::optional<error> read_feature(const json::value& v, const key_state& ks, std::size_t f,
                                    feature_state& fs, const ref_reader& ref_id) const {
    const auto bad = [&](std::string why) {
      return error{"drift key: feature " + cfg.features[f].path + ": " + std::move(why)};
    };
    if (!v.is_object()) return bad("not an object");
    const auto* ph = v.find("phase");
    if (ph == nullptr || !ph->is_string()) return bad("phase missing");
    const bool numeric = cfg.features[f].type == feature_type::numeric;
    if (ph->text == "idle") {
      fs = feature_state{};
      return std::nullopt;
    }
    if (ph->text == "learning") {
      const auto* l = v.find("learner");
      if (l == nullptr || !l->is_object()) return bad("learner missing");
      feature_state learning;
      learning.state = phase::learning;
      if (numeric) {
        learning.numeric = std::make_unique<numeric_learner>(cfg.reference_sample, fnv1a(ks.key, f),
                                                             cfg.numeric_bins);
        if (auto e = learning.numeric->read_state(*l)) return bad(e->message);
      } else {
        learning.categorical = std::make_unique<categorical_learner>(cfg.max_categories);
        if (auto e = learning.categorical->read_state(*l)) return bad(e->message);
      }
      fs = std::move(learning);
      return std::nullopt;
    }
    if (ph->text != "frozen") return bad("unknown phase");
    const auto* r = v.find("reference");
    if (r == nullptr) return bad("reference missing");
    auto ref = read_reference(*r, cfg.features[f].type, cfg.max_categories);
    if (auto* e = std::get_if<error>(&ref)) return bad(e->message);
    if (numeric && std::get<reference>(ref).inner() > cfg.numeric_bins)
      return bad("more bins than configured");
    feature_state out;
    out.ref = std::make_shared<const reference>(std::move(std::get<reference>(ref)));
    out.digest = reference_digest(*out.ref);
    out.state = phase::frozen;
    if (const auto* d = v.find("digest"); d == nullptr || !d->is_string() || d->text != out.digest)
      return bad("the reference does not match its digest");
    const auto from = read_index(v, "monitor_from");
    if (!from) return bad("monitor_from missing");
    if (*from == unset) {
      fs = std::move(out);
      return std::nullopt;
    }
    const std::size_t slots = out.ref->slots();
    activate(out, *from);
    const auto* open = v.find("open");
    if (open == nullptr || !open->is_array() ||
        open->items.size() > static_cast<std::size_t>(ring_size))
      return bad("open panes missing or too many");
    for (const auto& o : open->items) {
      const auto p = read_index(o, "pane");
      if (!p || *p == unset || *p < *from) return bad("an open pane without a valid index");
      auto data = read_held_pane(o.find("data"), slots, ref_id);
      if (auto* e = std::get_if<error>(&data)) return bad(e->message);
      const auto idx = static_cast<std::size_t>(positive_mod(*p, ring_size));
      if (out.open_index[idx] != unset) return bad("two open panes share a ring slot");
      out.open_index[idx] = *p;
      out.open[idx] = std::move(std::get<pane>(data));
    }
    auto previous = read_held_pane(v.find("previous"), slots, ref_id);
    if (auto* e = std::get_if<error>(&previous)) return bad(e->message);
    out.previous = std::move(std::get<pane>(previous));
    const auto has_previous = read_flag(v, "has_previous");
    const auto window_verdict = read_flag(v, "window_verdict");
    const auto cusum_verdict = read_flag(v, "cusum_verdict");
    const auto in_alarm = read_flag(v, "in_alarm");
    if (!has_previous || !window_verdict || !cusum_verdict || !in_alarm)
      return bad("verdicts missing");
    out.has_previous = *has_previous;
    out.window_verdict = *window_verdict;
    out.cusum_verdict = *cusum_verdict;
    out.in_alarm = *in_alarm;
    const auto* scales = v.find("scales");
    if (scales == nullptr || !scales->is_array() || scales->items.size() != out.scales.size())
      return bad("scales do not match the configured ones");
    for (std::size_t si = 0; si < out.scales.size(); ++si) {
      const auto& sv = scales->items[si];
      scale_state& sc = out.scales[si];
      const auto* head = sv.find("head");
      const auto* filled = sv.find("filled");
      const auto complete = read_flag(sv, "partial_complete");
      const auto verdict = read_flag(sv, "verdict");
      const auto* ring = sv.find("ring");
      if (head == nullptr || !head->as_u64() || *head->as_u64() >= sc.ring.size() ||
          filled == nullptr || !filled->as_u64() || *filled->as_u64() > sc.ring.size() ||
          !complete || !verdict || ring == nullptr || !ring->is_array() ||
          ring->items.size() != sc.ring.size())
        return bad("a scale ring is malformed");
      sc.head = static_cast<std::size_t>(*head->as_u64());
      sc.filled = static_cast<std::size_t>(*filled->as_u64());
      sc.partial_complete = *complete;
      sc.verdict = *verdict;
      auto partial = read_held_pane(sv.find("partial"), slots, ref_id);
      if (auto* e = std::get_if<error>(&partial)) return bad(e->message);
      sc.partial = std::move(std::get<pane>(partial));
      for (std::size_t b = 0; b < sc.ring.size(); ++b) {
        auto block = read_held_pane(&ring->items[b], slots, ref_id);
        if (auto* e = std::get_if<error>(&block)) return bad(e->message);
        sc.ring[b] = std::move(std::get<pane>(block));
      }
    }
    if (auto e = read_side(v, "up", out.up)) return bad(e->message);
    if (auto e = read_side(v, "down", out.down)) return bad(e->message);
    const auto last_alert = read_index(v, "last_alert_pane");
    const auto last_window = read_index(v, "last_window_pane");
    const auto* level = v.find("last_level");
    const auto* windows = v.find("windows");
    const auto* last = v.find("last");
    if (!last_alert || !last_window || level == nullptr || !level->as_u64() ||
        *level->as_u64() > static_cast<std::uint64_t>(severity::critical) || windows == nullptr ||
        !windows->as_u64() || last == nullptr || !last->is_object())
      return bad("alarm state missing");
    out.last_alert_pane = *last_alert;
    out.last_window_pane = *last_window;
    out.last_level = static_cast<severity>(*level->as_u64());
    out.windows = *windows->as_u64();
    const auto* n = last->find("n");
    const auto psi = read_real(*last, "psi"), js = read_real(*last, "js"),
               wu = read_real(*last, "wasserstein_u"), us = read_real(*last, "u_shift");
    if (n == nullptr || !n->as_u64() || !psi || !js || !wu || !us)
      return bad("the last window's statistics are missing");
    out.last.n = *n->as_u64();
    out.last.psi = *psi;
    out.last.js = *js;
    out.last.wasserstein_u = *wu;
    out.last.u_shift = *us;
    fs = std::move(out);
    return std::nullopt;
  }

  std::optional<error> import_key(std::string_view text, const ref_reader& ref_id) {
    auto parsed = json::parse(text);
    if (auto* e = std::get_if<std::string>(&parsed)) return error{"drift key: " + *e};
    const auto& root = std::get<json::value>(parsed);
    const auto bad = [](std::string why) { return error{"drift key: " + std::move(why)}; };
    const auto* fmt = root.find("format");
    if (fmt == nullptr || !fmt->is_string() || fmt->text != key_format)
      return bad("format must be \"bulwark.drift.key\"");
    if (const auto* v = root.find("version"); v == nullptr || v->as_u64() != std::uint64_t{1})
      return bad("unsupported version");
    if (const auto* sh = root.find("shape");
        sh == nullptr || !sh->is_string() || sh->text != shape_digest())
      return bad("written under different drift settings (window, features, bins, sample, "
                 "categories, scales, lateness or future windows)");
    const auto* key = root.find("key");
    const auto* model = root.find("model");
    if (key == nullptr || !key->is_string() || key->text.size() > max_key_bytes ||
        model == nullptr || !model->is_string() || model->text.size() > max_model_bytes)
      return bad("key and model must be strings of at most 512 and 128 bytes");
    key_state ks;
    ks.key = key->text;
    ks.model = model->text;
    const auto their_closed = read_index(root, "closed_before");
    const auto first = read_index(root, "first_pane");
    const auto learn_until = read_index(root, "learn_until");
    const auto count_from = read_index(root, "count_from");
    const auto last_pane = read_index(root, "last_pane");
    const auto next_close = read_index(root, "next_close");
    const auto loaded_flag = read_flag(root, "loaded");
    if (!their_closed || !first || !learn_until || !count_from || !last_pane || !next_close ||
        !loaded_flag)
      return bad("pane indices missing or out of range");
    ks.first_pane = *first;
    ks.learn_until = *learn_until;
    ks.count_from = *count_from;
    ks.last_pane = *last_pane;
    ks.next_close = *next_close;
    ks.loaded = *loaded_flag;
    if ((ks.first_pane == unset) != (ks.next_close == unset))
      return bad("a key seen has a close horizon, and only such a key");
    const auto* feats = root.find("features");
    if (feats == nullptr || !feats->is_array() || feats->items.size() != cfg.features.size())
      return bad("features do not match the configured ones");
    ks.features.resize(cfg.features.size());
    for (std::size_t f = 0; f < cfg.features.size(); ++f)
      if (auto e = read_feature(feats->items[f], ks, f, ks.features[f], ref_id)) return e;
    for (const auto& fs : ks.features)
      if (fs.state == phase::frozen && fs.monitor_from != unset && ks.next_close == unset)
        return bad("a monitored feature of a key never seen");

    auto it = keys.find(ks.key);
    if (it == keys.end() && keys.size() >= cfg.max_keys) return bad("max_keys reached");

    // From here on the snapshot is accepted.
    if (closed_before == unset) closed_before = *their_closed;
    if (it != keys.end()) {
      for (const auto& fs : it->second.features)
        if (fs.state == phase::frozen) count.discarded_by_replacement += open_values(fs);
      it->second = std::move(ks);
    } else {
      it = keys.emplace(ks.key, std::move(ks)).first;
    }
    key_state& held = it->second;
    if (closed_before != unset) {
      // Panes this monitor cannot hold in its ring yet.
      for (auto& fs : held.features)
        for (std::size_t i = 0; i < fs.open_index.size(); ++i)
          if (fs.open_index[i] != unset && fs.open_index[i] >= closed_before + ring_size) {
            count.merged_late += fs.open[i].total();
            fs.open[i].clear();
            fs.open_index[i] = unset;
          }
      // Windows closed here already are closed for this key too.
      if (held.next_close != unset && held.next_close < closed_before)
        close_key(held, closed_before);
    }
    for (const auto& fs : held.features)
      for (const std::int64_t p : fs.open_index)
        if (p != unset) max_pane = std::max(max_pane, p);
    if (held.last_pane != unset) max_pane = std::max(max_pane, held.last_pane);
    return std::nullopt;
  }

  // --- accounting -----------------------------------------------------------

  static std::size_t reference_bytes(const reference& r) {
    std::size_t b = sizeof(reference) + r.counts.capacity() * 8 + r.cuts.capacity() * 8 +
                    r.cdf.capacity() * 8 + r.categories.capacity() * sizeof(std::string);
    for (const auto& c : r.categories)
      b += c.capacity() > 15 ? c.capacity() : 0;
    return b;
  }

  static std::size_t bytes_of(const feature_state& fs) {
    std::size_t b = sizeof(feature_state);
    if (fs.numeric) b += fs.numeric->bytes();
    if (fs.categorical) b += fs.categorical->bytes();
    if (fs.ref) b += reference_bytes(*fs.ref) + fs.digest.capacity();
    for (const auto& p : fs.open)
      b += p.bytes();
    b += fs.open_index.capacity() * sizeof(std::int64_t);
    b += fs.previous.bytes() - sizeof(pane);
    for (const auto& sc : fs.scales) {
      b += sizeof(scale_state) + sc.partial.bytes() - sizeof(pane);
      for (const auto& p : sc.ring)
        b += p.bytes();
    }
    return b;
  }

  static std::size_t bytes_of(const key_state& ks) {
    std::size_t b = sizeof(key_state) + ks.key.capacity() + ks.model.capacity();
    for (const auto& fs : ks.features)
      b += bytes_of(fs);
    return b;
  }
};

monitor::monitor(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
monitor::monitor(monitor&&) noexcept = default;
monitor& monitor::operator=(monitor&&) noexcept = default;
monitor::~monitor() = default;

std::variant<monitor, error> monitor::make(settings s) {
  if (auto e = validate(s)) return *e;
  return monitor(std::make_unique<impl>(std::move(s)));
}

observe_result monitor::observe(std::string_view key, std::string_view model,
                                std::span<const feature_value> values, timestamp_ms event_time,
                                std::uint64_t ref_id) {
  return impl_->observe(key, model, values, event_time, ref_id);
}

std::vector<raised_alert> monitor::advance(timestamp_ms watermark) {
  const timestamp_ms lateness = impl_->cfg.allowed_lateness_ms;
  if (watermark < std::numeric_limits<timestamp_ms>::min() + lateness)
    return std::exchange(impl_->pending, {});
  return impl_->close_until(floor_div(watermark - lateness, impl_->cfg.window_ms));
}

std::vector<raised_alert> monitor::finish() {
  if (impl_->max_pane == unset) return std::exchange(impl_->pending, {});
  return impl_->close_until(std::max(impl_->max_pane + 1, impl_->closed_before));
}

std::string monitor::export_reference() const {
  return impl_->export_reference();
}

std::variant<std::vector<audit_record>, error> monitor::load_reference(std::string_view text,
                                                                       timestamp_ms at) {
  return impl_->load(text, at);
}

std::vector<audit_record> monitor::relearn(std::string_view key, timestamp_ms at) {
  return impl_->relearn(key, at);
}

std::optional<audit_record> monitor::forget(std::string_view key, timestamp_ms at) {
  return impl_->forget(key, at);
}

std::vector<audit_record> monitor::take_audit_records() {
  return std::exchange(impl_->audit, {});
}

std::string monitor::export_panes() const {
  return impl_->export_panes();
}

std::string monitor::take_panes() {
  std::string text = impl_->export_panes();
  for (auto& [k, ks] : impl_->keys)
    for (auto& fs : ks.features)
      for (std::size_t i = 0; i < fs.open_index.size(); ++i) {
        fs.open[i].clear();
        fs.open_index[i] = unset;
      }
  return text;
}

std::optional<error> monitor::merge_panes(std::string_view text) {
  return impl_->merge_panes(text);
}

std::vector<std::string> monitor::tracked_keys() const {
  std::vector<std::string> out;
  out.reserve(impl_->keys.size());
  for (const auto& [k, ks] : impl_->keys)
    out.push_back(k);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<std::string>
monitor::export_key(std::string_view key,
                    const std::function<std::string(std::uint64_t)>& ref_text) const {
  std::string scratch;
  const auto it = impl_->keys.find(bounded(key, max_key_bytes, scratch));
  if (it == impl_->keys.end()) return std::nullopt;
  return impl_->write_key(it->second, ref_text);
}

std::optional<error>
monitor::import_key(std::string_view text,
                    const std::function<std::optional<std::uint64_t>(std::string_view)>& ref_id) {
  return impl_->import_key(text, ref_id);
}

bool monitor::release_key(std::string_view key) {
  std::string scratch;
  const auto it = impl_->keys.find(bounded(key, max_key_bytes, scratch));
  if (it == impl_->keys.end()) return false;
  impl_->keys.erase(it);
  if (impl_->keys.size() < impl_->cfg.max_keys) impl_->capacity_alerted = false;
  return true;
}

const counters& monitor::stats() const noexcept {
  return impl_->count;
}

const calibration& monitor::calib() const noexcept {
  return impl_->cal;
}

const settings& monitor::config() const noexcept {
  return impl_->cfg;
}

monitor_state monitor::state() const {
  monitor_state s;
  s.keys = impl_->keys.size();
  for (const auto& [k, ks] : impl_->keys) {
    s.bytes += impl::bytes_of(ks);
    for (const auto& fs : ks.features) {
      s.frozen += fs.state == phase::frozen ? 1 : 0;
      s.learning += fs.state == phase::learning ? 1 : 0;
    }
  }
  if (impl_->closed_before != unset) s.closed_before = impl_->closed_before * impl_->cfg.window_ms;
  return s;
}

void monitor::for_each_feature(const std::function<void(const feature_status&)>& fn) const {
  for (const auto& [k, ks] : impl_->keys) {
    for (std::size_t f = 0; f < ks.features.size(); ++f) {
      const feature_state& fs = ks.features[f];
      feature_status st;
      st.key = ks.key;
      st.model = ks.model;
      st.feature = f;
      st.state = fs.state == phase::frozen     ? reference_phase::frozen
                 : fs.state == phase::learning ? reference_phase::learning
                                               : reference_phase::idle;
      st.alarm = fs.in_alarm;
      st.windows = fs.windows;
      if (fs.last_window_pane != unset) {
        st.window_end = (fs.last_window_pane + 1) * impl_->cfg.window_ms;
        st.n = fs.last.n;
        st.psi = fs.last.psi;
        st.js = fs.last.js;
        st.wasserstein_u = fs.last.wasserstein_u;
        st.u_shift = fs.last.u_shift;
      }
      fn(st);
    }
  }
}

std::optional<std::size_t> monitor::feature_bytes(std::string_view key, std::size_t feature) const {
  std::string scratch;
  const auto it = impl_->keys.find(bounded(key, max_key_bytes, scratch));
  if (it == impl_->keys.end() || feature >= it->second.features.size()) return std::nullopt;
  return impl::bytes_of(it->second.features[feature]);
}

// --- baseline ---------------------------------------------------------------

struct baseline_builder::impl {
  settings cfg;
  struct key_learners {
    std::string model;
    std::vector<std::unique_ptr<numeric_learner>> numeric;
    std::vector<std::unique_ptr<categorical_learner>> categorical;
  };
  std::map<std::string, key_learners, std::less<>> keys;
  std::uint64_t untracked = 0;
};

baseline_builder::baseline_builder(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
baseline_builder::baseline_builder(baseline_builder&&) noexcept = default;
baseline_builder& baseline_builder::operator=(baseline_builder&&) noexcept = default;
baseline_builder::~baseline_builder() = default;

std::variant<baseline_builder, error> baseline_builder::make(settings s) {
  s.learn_references = true;
  if (auto e = validate(s)) return *e;
  auto p = std::make_unique<impl>();
  p->cfg = std::move(s);
  return baseline_builder(std::move(p));
}

void baseline_builder::add(std::string_view key, std::string_view model,
                           std::span<const feature_value> values) {
  std::string key_scratch, model_scratch;
  key = bounded(key, max_key_bytes, key_scratch);
  auto it = impl_->keys.find(key);
  if (it == impl_->keys.end()) {
    model = bounded(model, max_model_bytes, model_scratch);
    if (impl_->keys.size() >= impl_->cfg.max_keys) {
      ++impl_->untracked;
      return;
    }
    impl::key_learners kl;
    kl.model.assign(model);
    for (std::size_t f = 0; f < impl_->cfg.features.size(); ++f) {
      if (impl_->cfg.features[f].type == feature_type::numeric) {
        kl.numeric.push_back(std::make_unique<numeric_learner>(
            impl_->cfg.reference_sample, fnv1a(key, f), impl_->cfg.numeric_bins));
        kl.categorical.emplace_back();
      } else {
        kl.numeric.emplace_back();
        kl.categorical.push_back(std::make_unique<categorical_learner>(impl_->cfg.max_categories));
      }
    }
    it = impl_->keys.emplace(std::string(key), std::move(kl)).first;
  }
  auto& kl = it->second;
  const std::uint64_t sample = impl_->cfg.reference_sample;
  for (std::size_t f = 0; f < impl_->cfg.features.size(); ++f) {
    const feature_value v = f < values.size() ? values[f] : feature_value::missing();
    // The first reference_sample values place the cuts (or the table); the
    // rest are counted against them.
    if (kl.numeric[f] && !kl.numeric[f]->counting() && kl.numeric[f]->seen() >= sample)
      kl.numeric[f]->start_counting();
    if (kl.categorical[f] && !kl.categorical[f]->counting() && kl.categorical[f]->seen() >= sample)
      kl.categorical[f]->start_counting();
    if (kl.numeric[f]) {
      kl.numeric[f]->add(numeric_value(v));
    } else {
      char buf[32];
      if (v.type == feature_value::kind::missing)
        kl.categorical[f]->add_null();
      else
        kl.categorical[f]->add(v.type == feature_value::kind::text ? v.text
                                                                   : number_text(v.number, buf));
    }
  }
}

std::uint64_t baseline_builder::untracked() const noexcept {
  return impl_->untracked;
}

std::string baseline_builder::finish() const {
  std::vector<reference> refs;
  std::vector<reference_entry> entries;
  refs.reserve(impl_->keys.size() * impl_->cfg.features.size());
  for (const auto& [key, kl] : impl_->keys) {
    for (std::size_t f = 0; f < impl_->cfg.features.size(); ++f) {
      refs.push_back(kl.numeric[f] ? kl.numeric[f]->freeze() : kl.categorical[f]->freeze());
      entries.push_back({key, kl.model, f, &refs.back()});
    }
  }
  return write_reference_file(impl_->cfg, entries);
}

} // namespace bulwark::drift
