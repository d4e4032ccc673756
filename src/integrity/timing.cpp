#include "integrity/timing.hpp"

#include <algorithm>

namespace bulwark::integrity {

time_observation fleet_clock::observe(std::string_view source, timestamp_ms t, bool may_move) {
  time_observation obs;
  if (may_move && distinct_.size() < settings_.quorum &&
      std::find(distinct_.begin(), distinct_.end(), source) == distinct_.end())
    distinct_.emplace_back(source);
  if (!watermark_) {
    // Nothing to compare with yet; an untrusted event cannot start the clock.
    if (may_move) {
      watermark_ = t;
      obs.first = true;
    }
    return obs;
  }
  obs.offset = t - *watermark_;
  obs.skewed = skewed_from(t, *watermark_, settings_.max_skew);
  if (!may_move) return obs;
  if (!obs.skewed) {
    if (t > *watermark_) watermark_ = t;
    return obs;
  }

  // One source far off is skew; several distinct sources agreeing on a time
  // far off means the watermark is what is wrong.
  auto same = std::find_if(outliers_.begin(), outliers_.end(),
                           [&](const outlier& o) { return o.source == source; });
  if (same != outliers_.end()) {
    same->t = t;
    std::rotate(same, same + 1, outliers_.end()); // most recent last
  } else {
    if (outliers_.size() >= settings_.max_outliers) outliers_.erase(outliers_.begin());
    outliers_.push_back(outlier{std::string(source), t});
  }
  const std::size_t quorum = std::max<std::size_t>(1, std::min(settings_.quorum, distinct_.size()));
  std::size_t agreeing = 0;
  timestamp_ms newest = t;
  for (const auto& o : outliers_) {
    if (!skewed_from(o.t, t, settings_.max_skew)) {
      ++agreeing;
      newest = std::max(newest, o.t);
    }
  }
  if (agreeing >= quorum) {
    watermark_ = newest;
    outliers_.clear();
    obs.reanchored = true;
    obs.skewed = false;
  }
  return obs;
}

heard_outcome silence_monitor::heard(std::string_view source, timestamp_ms at) {
  heard_outcome out;
  auto it = sources_.find(source);
  if (it == sources_.end()) {
    if (sources_.size() >= settings_.max_sources) {
      // Forget the longest-unheard eighth at once (amortised O(1) per new
      // source); those are silent already and were reported.
      std::vector<std::pair<timestamp_ms, const std::string*>> order;
      order.reserve(sources_.size());
      for (const auto& [name, st] : sources_)
        order.emplace_back(st.last_heard, &name);
      const std::size_t drop = std::max<std::size_t>(1, sources_.size() / 8);
      std::nth_element(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(drop - 1),
                       order.end());
      std::vector<std::string> victims;
      for (std::size_t k = 0; k < drop; ++k)
        victims.push_back(*order[k].second);
      for (const auto& v : victims)
        sources_.erase(v);
      out.capacity_hit = true;
    }
    const auto placed = sources_.emplace(std::string(source), state{at, false, at}).first;
    enqueue(placed->first, placed->second);
    return out;
  }
  out.resumed = it->second.silent;
  it->second.last_heard = std::max(it->second.last_heard, at);
  if (it->second.silent) {
    // A silent source has no live entry: its next deadline starts now.
    it->second.silent = false;
    enqueue(it->first, it->second);
  }
  return out;
}

namespace {
constexpr auto later = [](const auto& a, const auto& b) { return a.at > b.at; };
} // namespace

void silence_monitor::enqueue(const std::string& name, state& st) {
  st.queued_at = st.last_heard;
  queue_.push_back(due{st.last_heard, name});
  std::push_heap(queue_.begin(), queue_.end(), later);
  // Entries of evicted or forgotten sources linger until due; a flood of
  // new names must not grow the queue past the table's own bound.
  if (queue_.size() > 2 * sources_.size() + 1024) rebuild_queue();
}

void silence_monitor::rebuild_queue() {
  queue_.clear();
  for (auto& [name, st] : sources_) {
    if (st.silent) continue;
    st.queued_at = st.last_heard;
    queue_.push_back(due{st.last_heard, name});
  }
  std::make_heap(queue_.begin(), queue_.end(), later);
}

std::vector<silent_source> silence_monitor::sweep(timestamp_ms reference) {
  std::vector<silent_source> out;
  while (!queue_.empty() && reference - queue_.front().at >= settings_.silence_after) {
    std::pop_heap(queue_.begin(), queue_.end(), later);
    due d = std::move(queue_.back());
    queue_.pop_back();
    const auto it = sources_.find(d.source);
    if (it == sources_.end()) continue;
    state& st = it->second;
    if (st.silent || st.queued_at != d.at) continue;
    const timestamp_ms quiet = reference - st.last_heard;
    if (quiet >= settings_.silence_after) {
      st.silent = true;
      out.push_back(silent_source{it->first, st.last_heard, quiet});
    } else {
      enqueue(it->first, st); // it spoke since: its deadline moved
    }
  }
  std::sort(out.begin(), out.end(),
            [](const silent_source& a, const silent_source& b) { return a.source < b.source; });
  return out;
}

std::optional<std::pair<timestamp_ms, bool>>
silence_monitor::state_of(std::string_view source) const {
  const auto it = sources_.find(source);
  if (it == sources_.end()) return std::nullopt;
  return std::pair{it->second.last_heard, it->second.silent};
}

heard_outcome silence_monitor::restore(std::string_view source, timestamp_ms last_heard,
                                       bool silent) {
  forget(source);
  heard_outcome out = heard(source, last_heard); // the cap applies as to a new source
  state& st = sources_.find(source)->second;
  st.last_heard = last_heard;
  st.silent = silent; // a silent source's queue entry is then dropped when it falls due
  return out;
}

bool silence_monitor::knows(std::string_view source) const noexcept {
  return sources_.find(source) != sources_.end();
}

} // namespace bulwark::integrity
