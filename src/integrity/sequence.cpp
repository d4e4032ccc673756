#include "integrity/sequence.hpp"

#include <algorithm>
#include <cassert>
#include <limits>
#include <tuple>

namespace bulwark::integrity {
namespace {

/// One past `head`, saturating: the number 2^64-1 has no successor to judge up to.
std::uint64_t after(std::uint64_t head) noexcept {
  return head == std::numeric_limits<std::uint64_t>::max() ? head : head + 1;
}

} // namespace

replay_window::replay_window(std::size_t bits)
    : words_(std::max<std::size_t>(1, (bits + 63) / 64), 0) {}

replay_window::position replay_window::locate(std::uint64_t seq) const noexcept {
  if (empty_) return position::empty;
  if (seq > head_) return position::ahead;
  if (head_ - seq >= size()) return position::below;
  return seen(seq) ? position::inside_seen : position::inside_unseen;
}

bool replay_window::seen(std::uint64_t seq) const noexcept {
  const std::uint64_t bit = seq % size();
  return ((words_[bit / 64] >> (bit % 64)) & 1U) != 0;
}

void replay_window::clear_ring(std::uint64_t first_seq, std::uint64_t count) noexcept {
  // Word-wise clearing of `count` consecutive ring positions; a run never
  // crosses the ring's end inside one word because size() is a multiple of 64.
  std::uint64_t pos = first_seq % size();
  while (count > 0) {
    const std::uint64_t off = pos % 64;
    const std::uint64_t n = std::min<std::uint64_t>(64 - off, count);
    const std::uint64_t mask = n == 64 ? ~std::uint64_t{0} : ((std::uint64_t{1} << n) - 1) << off;
    words_[pos / 64] &= ~mask;
    count -= n;
    pos = (pos + n) % size();
  }
}

bool replay_window::accept(std::uint64_t seq) noexcept {
  switch (locate(seq)) {
  case position::empty:
    empty_ = false;
    head_ = seq;
    break;
  case position::ahead: {
    const std::uint64_t step = seq - head_;
    if (step >= size()) {
      std::fill(words_.begin(), words_.end(), 0);
    } else {
      // The positions of head+1 .. seq held numbers that now fall out of the
      // window; they start unseen for their new numbers.
      clear_ring(head_ + 1, step);
    }
    head_ = seq;
    break;
  }
  case position::inside_unseen:
    break;
  case position::inside_seen:
  case position::below:
    return false;
  }
  const std::uint64_t bit = seq % size();
  words_[bit / 64] |= std::uint64_t{1} << (bit % 64);
  return true;
}

std::vector<std::uint8_t> replay_window::relative_bits() const {
  std::vector<std::uint8_t> out;
  if (empty_) return out;
  const std::uint64_t span = std::min<std::uint64_t>(size(), head_ + 1);
  out.assign((span + 7) / 8, 0);
  for (std::uint64_t i = 0; i < span; ++i)
    if (seen(head_ - i)) out[i / 8] = static_cast<std::uint8_t>(out[i / 8] | (1U << (i % 8)));
  return out;
}

void replay_window::restore(std::uint64_t head, const std::vector<std::uint8_t>& bits) noexcept {
  std::fill(words_.begin(), words_.end(), 0);
  empty_ = false;
  head_ = head;
  const std::uint64_t span = std::min<std::uint64_t>(
      {static_cast<std::uint64_t>(size()), head + 1, static_cast<std::uint64_t>(bits.size()) * 8});
  for (std::uint64_t i = 0; i < span; ++i)
    if (((bits[i / 8] >> (i % 8)) & 1U) != 0) {
      const std::uint64_t bit = (head - i) % size();
      words_[bit / 64] |= std::uint64_t{1} << (bit % 64);
    }
}

std::string_view to_string(seq_verdict v) noexcept {
  switch (v) {
  case seq_verdict::first:
    return "first";
  case seq_verdict::advance:
    return "advance";
  case seq_verdict::late:
    return "late";
  case seq_verdict::replay:
    return "replay";
  case seq_verdict::reset:
    return "reset";
  case seq_verdict::stale_epoch:
    return "stale_epoch";
  }
  return "unknown";
}

std::variant<sequence_tracker, settings_error> sequence_tracker::make(const sequence_settings& s) {
  if (s.window_bits < 1 || s.window_bits > (std::size_t{1} << 20))
    return settings_error{"integrity.replay_window: must be between 1 and 1048576"};
  const std::size_t bits = replay_window(s.window_bits).size();
  if (s.reorder_tolerance + 1 >= bits)
    return settings_error{"integrity.reorder_tolerance: must be below replay_window - 1"};
  if (s.max_epochs_per_source < 1)
    return settings_error{"integrity.max_epochs_per_source: must be at least 1"};
  if (s.max_streams < s.max_epochs_per_source)
    return settings_error{"integrity.max_streams: must be at least max_epochs_per_source"};
  return sequence_tracker(s);
}

const sequence_tracker::stream* sequence_tracker::find(stream_id id) const noexcept {
  const auto src = sources_.find(id.source);
  if (src == sources_.end()) return nullptr;
  for (const auto& s : src->second.streams)
    if (s.epoch == id.epoch) return &s;
  return nullptr;
}

std::optional<std::uint64_t> sequence_tracker::head(stream_id id) const noexcept {
  const stream* s = find(id);
  if (s == nullptr) return std::nullopt;
  return s->window.head();
}

bool sequence_tracker::knows(std::string_view source) const noexcept {
  return sources_.find(source) != sources_.end();
}

std::optional<std::pair<std::string_view, std::uint64_t>>
sequence_tracker::current(std::string_view source) const noexcept {
  const auto src = sources_.find(source);
  if (src == sources_.end()) return std::nullopt;
  const std::string_view epoch = src->second.current_epoch;
  const stream* s = find({source, epoch});
  if (s == nullptr || s->window.empty()) return std::nullopt;
  return std::pair{epoch, s->window.head()};
}

seq_verdict sequence_tracker::check(stream_id id, std::uint64_t seq,
                                    std::optional<timestamp_ms> event_time) const {
  const auto src = sources_.find(id.source);
  if (src == sources_.end()) return seq_verdict::first;
  const stream* s = find(id);
  if (s == nullptr) {
    // A restart brings fresh events; an epoch we no longer track whose
    // events are older than what the source already sent is a replay of it.
    const auto& newest = src->second.newest_time;
    if (event_time && newest && *event_time < *newest - settings_.stale_epoch_after)
      return seq_verdict::stale_epoch;
    return seq_verdict::first;
  }
  const auto pos = s->window.locate(seq);
  if (pos == replay_window::position::ahead) return seq_verdict::advance;
  const std::uint64_t head = s->window.head();
  // A replayed old event carries its old (signed) time; a sender that
  // restarted its count carries a time newer than anything seen.
  if (seq <= settings_.reset_max_seq && head - seq > settings_.reorder_tolerance && event_time &&
      s->newest_time && *event_time > *s->newest_time)
    return seq_verdict::reset;
  return pos == replay_window::position::inside_unseen ? seq_verdict::late : seq_verdict::replay;
}

std::optional<gap_report> sequence_tracker::judge(std::string_view source, stream& s,
                                                  std::uint64_t upto, bool final) const {
  gap_report g;
  auto emit = [&](std::uint64_t a, std::uint64_t b) {
    if (g.missing == 0) g.first = a;
    g.missing += b - a + 1;
    g.last = b;
    if (g.ranges.size() < settings_.max_gap_ranges)
      g.ranges.emplace_back(a, b);
    else
      g.ranges_truncated = true;
  };
  auto& run = s.open_run;
  auto add_missing = [&](std::uint64_t a, std::uint64_t b) {
    if (run && run->second + 1 == a) {
      run->second = b;
      return;
    }
    if (run) emit(run->first, run->second);
    run.emplace(a, b);
  };

  if (upto > s.next_unjudged) {
    const std::uint64_t head = s.window.head();
    auto acc = std::lower_bound(s.accounted.begin(), s.accounted.end(), s.next_unjudged);
    // Numbers up to the head are in the bitmap (the invariant next_unjudged >=
    // head - reorder_tolerance keeps them inside the window): at most
    // reorder_tolerance + 1 of them.
    std::uint64_t n = s.next_unjudged;
    for (; n < upto && n <= head; ++n) {
      assert(head - n < s.window.size());
      while (acc != s.accounted.end() && *acc < n)
        ++acc;
      const bool accounted = acc != s.accounted.end() && *acc == n;
      if (!s.window.seen(n) && !accounted) add_missing(n, n);
    }
    // Numbers above the head were never seen; only accounted ones are excused.
    // Done arithmetically, so a jump by millions costs no more than a small one.
    if (n < upto) {
      std::uint64_t cur = n;
      for (; acc != s.accounted.end() && *acc < upto; ++acc) {
        if (*acc < cur) continue;
        if (*acc > cur) add_missing(cur, *acc - 1);
        cur = *acc + 1;
      }
      if (cur < upto) add_missing(cur, upto - 1);
    }
    s.accounted.erase(s.accounted.begin(),
                      std::lower_bound(s.accounted.begin(), s.accounted.end(), upto));
    s.next_unjudged = upto;
  }
  // A run that stops short of the last judged number is over: that number
  // was there.
  if (run && (final || run->second + 1 < s.next_unjudged)) {
    emit(run->first, run->second);
    run.reset();
  }
  if (g.missing == 0) return std::nullopt;
  g.source = std::string(source);
  g.epoch = s.epoch;
  return g;
}

bool sequence_tracker::make_room(std::string_view keep_source) {
  if (streams_ < settings_.max_streams) return false;
  // Evict the least recently used sources in a batch (down to 7/8 of the
  // cap), so that a steady stream of new sources costs O(1) amortised rather
  // than a full scan per event.
  std::vector<std::pair<std::uint64_t, const std::string*>> order;
  order.reserve(sources_.size());
  for (const auto& [name, state] : sources_)
    if (name != keep_source) order.emplace_back(state.touched, &name);
  std::sort(order.begin(), order.end());
  const std::size_t target = settings_.max_streams - settings_.max_streams / 8;
  for (const auto& [touched, name] : order) {
    if (streams_ < target) break;
    (void)touched;
    const auto it = sources_.find(*name);
    streams_ -= it->second.streams.size();
    sources_.erase(it);
  }
  return true;
}

commit_outcome sequence_tracker::commit(stream_id id, std::uint64_t seq,
                                        std::optional<timestamp_ms> event_time) {
  commit_outcome out;
  out.verdict = check(id, seq, event_time);
  if (out.verdict == seq_verdict::replay || out.verdict == seq_verdict::stale_epoch) return out;
  ++clock_;

  if (out.verdict == seq_verdict::first) {
    out.capacity_hit = make_room(id.source);
    auto [it, inserted] = sources_.try_emplace(std::string(id.source));
    source_state& src = it->second;
    if (!inserted && !src.streams.empty() && src.current_epoch != id.epoch) {
      out.epoch =
          epoch_change{std::string(id.source), src.current_epoch, std::string(id.epoch), seq};
    }
    if (src.streams.size() >= settings_.max_epochs_per_source) {
      // Retiring the least recently used epoch of a restarted source is
      // routine, not a capacity problem.
      auto oldest =
          std::min_element(src.streams.begin(), src.streams.end(),
                           [](const stream& a, const stream& b) { return a.touched < b.touched; });
      src.streams.erase(oldest);
      --streams_;
    }
    stream s{std::string(id.epoch),
             replay_window(settings_.window_bits),
             seq,
             {},
             {},
             event_time,
             clock_};
    s.window.accept(seq);
    src.streams.push_back(std::move(s));
    src.current_epoch = std::string(id.epoch);
    if (event_time && (!src.newest_time || *event_time > *src.newest_time))
      src.newest_time = event_time;
    src.touched = clock_;
    ++streams_;
    return out;
  }

  source_state& src = sources_.find(id.source)->second;
  stream* s = nullptr;
  for (auto& candidate : src.streams)
    if (candidate.epoch == id.epoch) s = &candidate;
  assert(s != nullptr);

  if (out.verdict == seq_verdict::reset) {
    out.reset_from = s->window.head();
    out.gap = judge(id.source, *s, after(s->window.head()), /*final=*/true);
    s->window = replay_window(settings_.window_bits);
    s->accounted.clear();
    s->open_run.reset();
    s->next_unjudged = seq;
    s->window.accept(seq);
  } else if (out.verdict == seq_verdict::advance) {
    if (seq > settings_.reorder_tolerance) {
      const std::uint64_t upto = seq - settings_.reorder_tolerance;
      out.gap = judge(id.source, *s, upto);
    }
    s->window.accept(seq);
  } else { // late: a reordered number; if it was already judged, it was reported then
    s->window.accept(seq);
  }
  if (event_time) {
    if (!s->newest_time || *event_time > *s->newest_time) s->newest_time = event_time;
    if (!src.newest_time || *event_time > *src.newest_time) src.newest_time = event_time;
  }
  s->touched = clock_;
  src.touched = clock_;
  return out;
}

void sequence_tracker::account(stream_id id, std::uint64_t seq) {
  const auto src = sources_.find(id.source);
  if (src == sources_.end()) return;
  for (auto& s : src->second.streams) {
    if (s.epoch != id.epoch) continue;
    if (seq < s.next_unjudged) return;
    if (seq <= s.window.head() && s.window.seen(seq)) return;
    const auto at = std::lower_bound(s.accounted.begin(), s.accounted.end(), seq);
    if (at != s.accounted.end() && *at == seq) return;
    s.accounted.insert(at, seq);
    // Keep the lowest numbers: they are judged first, and a forger's huge
    // numbers are the ones worth forgetting.
    if (s.accounted.size() > settings_.max_accounted) s.accounted.pop_back();
    return;
  }
}

bool sequence_tracker::export_source(std::string_view source, source_snapshot& out) const {
  const auto src = sources_.find(source);
  if (src == sources_.end() || src->second.streams.empty()) return false;
  const source_state& st = src->second;
  out.current_epoch = st.current_epoch;
  out.newest_time = st.newest_time;
  std::vector<const stream*> order;
  for (const auto& s : st.streams)
    order.push_back(&s);
  std::sort(order.begin(), order.end(),
            [](const stream* a, const stream* b) { return a->touched < b->touched; });
  out.streams.clear();
  for (const stream* s : order) {
    stream_snapshot& o = out.streams.emplace_back();
    o.epoch = s->epoch;
    o.head = s->window.head();
    o.seen = s->window.relative_bits();
    o.next_unjudged = s->next_unjudged;
    o.accounted = s->accounted;
    o.open_run = s->open_run;
    o.newest_time = s->newest_time;
  }
  return true;
}

void sequence_tracker::forget(std::string_view source) {
  const auto src = sources_.find(source);
  if (src == sources_.end()) return;
  streams_ -= src->second.streams.size();
  sources_.erase(src);
}

bool sequence_tracker::restore_source(const source_snapshot& snap) {
  forget(snap.source);
  if (snap.streams.empty()) return false;
  const std::size_t keep = std::min(snap.streams.size(), settings_.max_epochs_per_source);
  bool capacity_hit = false;
  source_state& src = sources_[snap.source];
  src.current_epoch = snap.current_epoch;
  src.newest_time = snap.newest_time;
  const std::uint64_t bits = replay_window(settings_.window_bits).size();
  for (std::size_t i = snap.streams.size() - keep; i < snap.streams.size(); ++i) {
    const stream_snapshot& o = snap.streams[i];
    stream s{o.epoch,         replay_window(settings_.window_bits),
             o.next_unjudged, o.accounted,
             o.open_run,      o.newest_time,
             ++clock_};
    s.window.restore(o.head, o.seen);
    // judge() reads the bitmap from next_unjudged up to the head: with a
    // smaller window than the exporter's, numbers that no longer fit are
    // treated as judged (nothing is reported for them, as for a stream
    // bulwark joined in the middle).
    if (o.head - std::min(o.head, s.next_unjudged) >= bits) {
      s.next_unjudged = o.head - bits + 1;
      s.accounted.erase(s.accounted.begin(),
                        std::lower_bound(s.accounted.begin(), s.accounted.end(), s.next_unjudged));
    }
    if (s.accounted.size() > settings_.max_accounted) s.accounted.resize(settings_.max_accounted);
    // Erases other sources only: `src` stays valid.
    capacity_hit = make_room(snap.source) || capacity_hit;
    src.streams.push_back(std::move(s));
    ++streams_;
  }
  src.touched = clock_;
  return capacity_hit;
}

std::vector<gap_report> sequence_tracker::finish() {
  std::vector<gap_report> out;
  for (auto& [name, src] : sources_)
    for (auto& s : src.streams)
      if (auto g = judge(name, s, after(s.window.head()), /*final=*/true))
        out.push_back(std::move(*g));
  std::sort(out.begin(), out.end(), [](const gap_report& a, const gap_report& b) {
    return std::tie(a.source, a.epoch) < std::tie(b.source, b.epoch);
  });
  return out;
}

} // namespace bulwark::integrity
