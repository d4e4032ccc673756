#include "integrity/poisoning.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <tuple>

namespace bulwark::integrity {
namespace {

/// Floor division: window k holds [k·w, (k+1)·w), also for times before 1970.
std::int64_t window_index(timestamp_ms t, timestamp_ms w) noexcept {
  return t >= 0 ? t / w : -((-t + w - 1) / w);
}

double median_of(std::vector<double>& v) {
  const std::size_t n = v.size();
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>(n / 2);
  std::nth_element(v.begin(), mid, v.end());
  if (n % 2 == 1) return *mid;
  const double upper = *mid;
  const double lower = *std::max_element(v.begin(), mid);
  return (lower + upper) / 2;
}

/// MAD scaled to a standard deviation for normal data.
constexpr double mad_to_sigma = 1.4826;

} // namespace

peer_monitor::group* peer_monitor::group_for(std::string_view model, std::string_view metric) {
  // Length-prefixed, so ("a:b", "c") and ("a", "b:c") never collide.
  key_.clear();
  key_ += std::to_string(model.size());
  key_ += ':';
  key_ += model;
  key_ += metric;
  auto it = groups_.find(key_);
  if (it != groups_.end()) return &it->second;
  if (groups_.size() >= settings_.max_groups) {
    // Evict the least recently fed (model, metric); its open windows are
    // dropped uncompared. Rare: groups are bounded by models × metric names.
    auto oldest =
        std::min_element(groups_.begin(), groups_.end(), [](const auto& a, const auto& b) {
          return a.second.touched < b.second.touched;
        });
    entries_ -= entries_of(oldest->second);
    groups_.erase(oldest);
    hit("metric_groups", settings_.max_groups);
  }
  group g;
  g.model = std::string(model);
  g.metric = std::string(metric);
  g.abs_floor = settings_.abs_scale_floor;
  if (any_glob_match(settings_.unit_interval, metric))
    g.abs_floor = std::max(g.abs_floor, settings_.unit_interval_scale_floor);
  return &groups_.emplace(key_, std::move(g)).first->second;
}

std::size_t peer_monitor::entries_of(const group& g) noexcept {
  std::size_t n = 0;
  for (const auto& w : g.open)
    n += w.sources.size();
  for (const auto& w : g.history)
    n += w.sources.size();
  return n;
}

bool peer_monitor::offend(std::string_view source, timestamp_ms now, timestamp_ms& until) {
  auto it = trust_.find(source);
  if (it == trust_.end()) {
    if (trust_.size() >= settings_.max_trust_entries) {
      // Expired entries go first; if none, the one expiring soonest.
      std::erase_if(trust_, [&](const auto& kv) { return kv.second.untrusted_until <= now; });
      if (trust_.size() >= settings_.max_trust_entries) {
        auto soonest =
            std::min_element(trust_.begin(), trust_.end(), [](const auto& a, const auto& b) {
              return a.second.untrusted_until < b.second.untrusted_until;
            });
        trust_.erase(soonest);
        hit("untrusted_sources", settings_.max_trust_entries);
      }
    }
    it = trust_.emplace(std::string(source), trust{}).first;
  }
  const bool new_episode = it->second.untrusted_until <= now;
  it->second.untrusted_until = std::max(it->second.untrusted_until, now + settings_.untrusted_for);
  until = it->second.untrusted_until;
  return new_episode;
}

std::optional<timestamp_ms> peer_monitor::untrusted_until(std::string_view source,
                                                          timestamp_ms now) const noexcept {
  const auto it = trust_.find(source);
  if (it == trust_.end() || it->second.untrusted_until <= now) return std::nullopt;
  return it->second.untrusted_until;
}

void peer_monitor::restore_untrusted(std::string_view source, timestamp_ms until,
                                     timestamp_ms now) {
  if (until <= now) return;
  const auto known = trust_.find(source);
  const timestamp_ms before =
      known == trust_.end() ? timestamp_ms{0} : known->second.untrusted_until;
  // offend() applies the cap to a new entry; the period it sets is then
  // replaced by the restored one (or the longer one already held).
  timestamp_ms ignored = 0;
  (void)offend(source, now, ignored);
  trust_.find(source)->second.untrusted_until = std::max(before, until);
}

bool peer_monitor::untrusted(std::string_view source, timestamp_ms now) const noexcept {
  const auto it = trust_.find(source);
  return it != trust_.end() && it->second.untrusted_until > now;
}

std::size_t
peer_monitor::untrusted_sources(timestamp_ms now,
                                const std::function<void(std::string_view)>& each) const {
  std::size_t n = 0;
  for (const auto& [name, t] : trust_) {
    if (t.untrusted_until <= now) continue;
    ++n;
    if (each) each(name);
  }
  return n;
}

void peer_monitor::observe(const metric_sample& m, timestamp_ms now,
                           std::vector<poisoning_finding>& out) {
  std::string_view bound;
  if (!std::isfinite(m.value)) {
    bound = "finite";
  } else if (m.value < 0 && any_glob_match(settings_.non_negative, m.name)) {
    bound = "non_negative";
  } else if ((m.value < 0 || m.value > 1) && any_glob_match(settings_.unit_interval, m.name)) {
    bound = "unit_interval";
  }
  if (!bound.empty()) {
    poisoning_finding f;
    f.reason = poisoning_finding::why::impossible_value;
    f.source = std::string(m.source);
    f.model = std::string(m.model);
    f.metric = std::string(m.name);
    f.value = m.value;
    f.bound = bound;
    f.authenticated = m.authenticated;
    f.window_start = window_index(m.at, settings_.window) * settings_.window;
    if (offend(m.source, now, f.untrusted_until)) out.push_back(std::move(f));
  }

  group* g = group_for(m.model, m.name);
  g->touched = ++clock_;
  const std::int64_t index = window_index(m.at, settings_.window);
  if (index <= g->last_closed) {
    ++late_;
    return;
  }
  auto w = std::find_if(g->open.begin(), g->open.end(),
                        [&](const open_window& o) { return o.index == index; });
  if (w == g->open.end()) {
    if (g->open.size() >= settings_.max_open_windows) {
      hit("open_windows", settings_.max_open_windows);
      return;
    }
    g->open.push_back(open_window{index, {}});
    w = g->open.end() - 1;
    const timestamp_ms close_at = (index + 1) * settings_.window + settings_.grace;
    if (!next_close_ || close_at < *next_close_) next_close_ = close_at;
  }
  auto s = std::find_if(w->sources.begin(), w->sources.end(),
                        [&](const source_agg& a) { return a.source == m.source; });
  if (s == w->sources.end()) {
    if (w->sources.size() >= settings_.max_sources_per_window) {
      hit("window_sources", settings_.max_sources_per_window);
      return;
    }
    if (entries_ >= settings_.max_entries) {
      hit("window_entries", settings_.max_entries);
      return;
    }
    w->sources.push_back(source_agg{std::string(m.source)});
    ++entries_;
    s = w->sources.end() - 1;
  }
  if (!bound.empty()) {
    // Kept for the rollback guard, never averaged into the peer statistics.
    s->impossible = true;
  } else {
    s->sum += m.value;
    ++s->count;
  }
  s->all_authenticated = s->all_authenticated && m.authenticated;
}

peer_monitor::closed_window peer_monitor::score(const group& g, const open_window& w) const {
  closed_window c;
  c.index = w.index;
  std::vector<double> values;
  for (const auto& s : w.sources)
    if (!s.impossible && s.count > 0) values.push_back(s.mean());
  if (values.size() >= settings_.min_peers) {
    c.compared = true;
    c.median = median_of(values);
    for (auto& v : values)
      v = std::fabs(v - c.median);
    const double mad = median_of(values);
    c.scale = std::max(
        {mad_to_sigma * mad, settings_.rel_scale_floor * std::fabs(c.median), g.abs_floor});
  }
  for (const auto& s : w.sources) {
    scored_source r;
    r.source = s.source;
    r.authenticated = s.all_authenticated;
    r.impossible = s.impossible || s.count == 0;
    r.value = s.mean();
    if (c.compared && !r.impossible) {
      r.z = (r.value - c.median) / c.scale;
      r.outlier = std::fabs(r.z) > settings_.z_threshold;
    }
    c.sources.push_back(std::move(r));
  }
  return c;
}

void peer_monitor::close(group& g, std::size_t open_index, timestamp_ms now,
                         std::vector<poisoning_finding>& out) {
  // The scored copy replaces the open window one for one in the budget.
  closed_window c = score(g, g.open[open_index]);
  g.open.erase(g.open.begin() + static_cast<std::ptrdiff_t>(open_index));
  g.last_closed = std::max(g.last_closed, c.index);
  const std::size_t keep = std::max(settings_.persistence_lookback, settings_.rollback_lookback);
  g.history.push_back(std::move(c));
  while (g.history.size() > keep) {
    entries_ -= g.history.front().sources.size();
    g.history.pop_front();
  }
  const closed_window& latest = g.history.back();

  for (const auto& s : latest.sources) {
    if (!s.outlier) continue;
    std::size_t windows = 0;
    for (const auto& h : g.history) {
      if (h.index + static_cast<std::int64_t>(settings_.persistence_lookback) <= latest.index)
        continue;
      for (const auto& hs : h.sources)
        if (hs.outlier && hs.source == s.source) ++windows;
    }
    if (windows < settings_.persistence) continue;
    poisoning_finding f;
    f.reason = poisoning_finding::why::peer_outlier;
    f.source = s.source;
    f.model = g.model;
    f.metric = g.metric;
    f.value = s.value;
    f.peer_median = latest.median;
    f.robust_z = s.z;
    f.peers = latest.sources.size();
    f.outlier_windows = windows;
    f.window_start = latest.index * settings_.window;
    f.authenticated = s.authenticated;
    if (offend(s.source, now, f.untrusted_until)) out.push_back(std::move(f));
  }
}

void peer_monitor::refresh_next_close() {
  next_close_.reset();
  for (const auto& [key, g] : groups_)
    for (const auto& w : g.open) {
      const timestamp_ms close_at = (w.index + 1) * settings_.window + settings_.grace;
      if (!next_close_ || close_at < *next_close_) next_close_ = close_at;
    }
}

void peer_monitor::advance(timestamp_ms clock, timestamp_ms now,
                           std::vector<poisoning_finding>& out) {
  if (!next_close_ || clock < *next_close_) return;
  for (auto& [key, g] : groups_) {
    // Oldest first, so that persistence counts see windows in order.
    std::sort(g.open.begin(), g.open.end(),
              [](const open_window& a, const open_window& b) { return a.index < b.index; });
    while (!g.open.empty() &&
           (g.open.front().index + 1) * settings_.window + settings_.grace <= clock)
      close(g, 0, now, out);
  }
  refresh_next_close();
}

void peer_monitor::close_all(timestamp_ms now, std::vector<poisoning_finding>& out) {
  for (auto& [key, g] : groups_) {
    std::sort(g.open.begin(), g.open.end(),
              [](const open_window& a, const open_window& b) { return a.index < b.index; });
    while (!g.open.empty())
      close(g, 0, now, out);
  }
  next_close_.reset();
}

rollback_assessment peer_monitor::assess_rollback(std::string_view model, timestamp_ms at,
                                                  timestamp_ms now) const {
  rollback_assessment a;
  const std::int64_t last = window_index(at, settings_.window);
  const std::int64_t first = last - static_cast<std::int64_t>(settings_.rollback_lookback) + 1;
  auto examine = [&](const group& g, const closed_window& w) {
    if (w.index < first || w.index > last) return;
    const bool higher_worse = any_glob_match(settings_.higher_is_worse, g.metric);
    const bool lower_worse = !higher_worse && any_glob_match(settings_.lower_is_worse, g.metric);
    for (const auto& s : w.sources) {
      bool triggering = s.impossible || !w.compared;
      if (!triggering) {
        if (higher_worse)
          triggering = s.z >= settings_.rollback_min_z;
        else if (lower_worse)
          triggering = s.z <= -settings_.rollback_min_z;
        else
          triggering = std::fabs(s.z) >= settings_.rollback_min_z;
      }
      if (!triggering) continue;
      ++a.triggering;
      const bool distrusted = untrusted(s.source, now);
      if (!distrusted && s.authenticated) continue;
      ++a.suspicious;
      a.suspects.push_back(rollback_suspect{s.source, g.metric, s.value, s.z, distrusted,
                                            !s.authenticated, w.index * settings_.window});
    }
  };
  for (const auto& [key, g] : groups_) {
    if (g.model != model) continue;
    for (const auto& w : g.history)
      examine(g, w);
    for (const auto& w : g.open)
      examine(g, score(g, w));
  }
  // Groups come in hash order; name the suspects in a stable one.
  std::sort(a.suspects.begin(), a.suspects.end(), [](const auto& x, const auto& y) {
    return std::tie(x.source, x.metric, x.window_start) <
           std::tie(y.source, y.metric, y.window_start);
  });
  if (a.suspects.size() > 8) a.suspects.resize(8);
  return a;
}

} // namespace bulwark::integrity
