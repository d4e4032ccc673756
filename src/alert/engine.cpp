#include "alert/engine.hpp"

#include "alert/rate.hpp"
#include "alert/sanitize.hpp"
#include "alert/space_saving.hpp"
#include "core/json_writer.hpp"

#include <algorithm>
#include <cassert>
#include <list>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

namespace bulwark::alert {
namespace {

constexpr timestamp_ms never = std::numeric_limits<timestamp_ms>::max();

std::size_t level_index(severity s) noexcept {
  const auto i = static_cast<std::size_t>(s);
  return i < 4 ? i : static_cast<std::size_t>(severity::medium);
}

/// Heap bytes of a string beyond its small-string buffer (libstdc++: 15).
std::size_t heap_bytes(const std::string& s) noexcept {
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

/// One request with every string sanitised: what the engine keeps.
struct occurrence {
  severity level = severity::medium;
  bool authenticated = false;
  std::string kind;
  std::string source;  ///< authenticated source, "" when unverified
  std::string claimed; ///< unverified request's claimed source, sanitised; "" otherwise
  std::string model;
  std::string rule;
  timestamp_ms at = 0;
  input_ref ref;
  std::string key; ///< exact fold identity (see fold_key)
  /// Identifiers shown hashed: the raw text (a view into the request, valid
  /// during submit) and its hashed form, to scrub them from the title too.
  std::vector<std::pair<std::string_view, std::string>> hashed;
};

/// Replaces every occurrence of `from` in `text` by `to`.
void replace_all(std::string& text, std::string_view from, std::string_view to) {
  if (from.empty()) return;
  for (std::size_t at = text.find(from); at != std::string::npos;
       at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

/// The fold identity. Severity and trust are part of it, so an unverified
/// request can never land in an authenticated alert (nor a medium drift in a
/// high one). \x1f cannot occur in a sanitised identifier, so the join is
/// unambiguous.
std::string fold_key(const occurrence& o) {
  std::string k;
  k.reserve(o.kind.size() + o.source.size() + o.model.size() + o.rule.size() + 16);
  k += o.kind;
  k += '\x1f';
  k += to_string(o.level);
  k += '\x1f';
  k += o.authenticated ? 'a' : 'u';
  k += '\x1f';
  k += o.source;
  k += '\x1f';
  k += o.model;
  k += '\x1f';
  k += o.rule;
  return k;
}

/// How evidence with a claimed source begins; the claim's JSON string follows.
constexpr std::string_view claim_head = "{\"claimed_source\":";

/// Splices `"claimed_source":"…"` in front of a checked evidence object.
std::string with_claimed_source(const std::string& evidence, std::string_view claimed) {
  std::string out(claim_head);
  append_json_string(out, claimed);
  out += '}';
  std::size_t i = evidence.find('{');
  assert(i != std::string::npos);
  ++i;
  while (i < evidence.size() &&
         (evidence[i] == ' ' || evidence[i] == '\t' || evidence[i] == '\n' || evidence[i] == '\r'))
    ++i;
  if (i < evidence.size() && evidence[i] == '}') return out;
  out.back() = ',';
  out.append(evidence, i, std::string::npos);
  return out;
}

/// Turns `evidence`, made by with_claimed_source(checked, `from`), into what
/// with_claimed_source(checked, `to`) would make; `scratch` is working space
/// (kept by the caller, so a steady stream of repeats allocates nothing).
void reclaim(std::string& evidence, std::string_view from, std::string_view to,
             std::string& scratch) {
  scratch.assign(claim_head);
  append_json_string(scratch, from);
  const std::size_t old_head = scratch.size(); // the checked evidence's members (if any) follow
  assert(evidence.compare(0, old_head, scratch) == 0);
  scratch.resize(claim_head.size());
  append_json_string(scratch, to);
  scratch.append(evidence, old_head, std::string::npos);
  evidence.swap(scratch);
}

/// One alert being folded.
struct fold {
  std::uint64_t serial = 0;
  std::string key;
  std::string fingerprint;
  severity level = severity::medium;
  bool authenticated = false;
  std::string kind, source, claimed, model, rule, title, evidence;
  /// What the last occurrence brought (title and evidence as requested, and
  /// whether the evidence was replaced): a repeat of it, the common case for
  /// a finding raised per event, skips checking the same bytes again. Kept
  /// only when within the title and evidence limits (`remembered`), so the
  /// fold stays bounded.
  std::string title_in, evidence_in;
  bool remembered = false;
  bool title_scrubbed = false; ///< its title had identifiers replaced (title_of)
  bool evidence_replaced = false;
  const timers* t = nullptr;
  std::uint64_t count = 0;                    ///< occurrences
  std::uint64_t emitted_count = 0;            ///< count at the last record
  timestamp_ms first_seen = 0, last_seen = 0; ///< occurrence times (request.at)
  timestamp_ms opened = 0, touched = 0;       ///< engine clock at first / last occurrence
  timestamp_ms last_emit = 0;
  std::uint32_t records = 0;
  bool prepaid = false; ///< the first record's token was taken when the fold opened
  std::vector<input_ref> refs;
  timestamp_ms due = never; ///< its entry in the timer set; never = none

  bool changed() const noexcept { return count > emitted_count; }

  std::size_t memory_bytes() const noexcept {
    std::size_t b = sizeof(fold) + heap_bytes(key) + heap_bytes(fingerprint) + heap_bytes(kind) +
                    heap_bytes(source) + heap_bytes(claimed) + heap_bytes(model) +
                    heap_bytes(rule) + heap_bytes(title) + heap_bytes(evidence) +
                    heap_bytes(title_in) + heap_bytes(evidence_in) +
                    refs.capacity() * sizeof(input_ref);
    for (const input_ref& r : refs)
      b += heap_bytes(r.topic);
    return b;
  }
};

/// The alerts of one lane: an LRU list (front = most recently touched), an
/// index by exact key, and a timer set ordered by due time. Capped by the
/// caller, which decides what an eviction means for its lane.
class fold_table {
public:
  using iterator = std::list<fold>::iterator;

  explicit fold_table(std::size_t cap) : cap_(cap) { index_.reserve(cap); }

  std::size_t size() const noexcept { return lru_.size(); }
  bool full() const noexcept { return lru_.size() >= cap_; }

  /// The fold with `key`, moved to the LRU front; nothing when absent.
  std::optional<iterator> find_and_touch(std::string_view key) {
    const auto it = index_.find(key);
    if (it == index_.end()) return std::nullopt;
    lru_.splice(lru_.begin(), lru_, it->second);
    return it->second;
  }

  iterator insert(fold&& f) {
    lru_.push_front(std::move(f));
    const iterator it = lru_.begin();
    index_.emplace(std::string_view{it->key}, it);
    return it;
  }

  iterator least_recent() { return std::prev(lru_.end()); }

  void erase(iterator it) {
    unschedule(it);
    index_.erase(std::string_view{it->key});
    lru_.erase(it);
  }

  void schedule(iterator it, timestamp_ms due) {
    unschedule(it);
    it->due = due;
    timers_.insert(timer{due, it->serial, it});
  }

  void unschedule(iterator it) {
    if (it->due == never) return;
    timers_.erase(timer{it->due, it->serial, it});
    it->due = never;
  }

  /// The earliest fold due at or before `now`, unscheduled; nothing if none.
  std::optional<iterator> pop_due(timestamp_ms now) {
    if (timers_.empty() || timers_.begin()->due > now) return std::nullopt;
    const iterator it = timers_.begin()->it;
    timers_.erase(timers_.begin());
    it->due = never;
    return it;
  }

  timestamp_ms next_due() const noexcept { return timers_.empty() ? never : timers_.begin()->due; }

  /// Oldest first, for flush and flood start (stable, deterministic order).
  template <typename F> void for_each_oldest_first(F&& f) {
    for (auto it = lru_.rbegin(); it != lru_.rend(); ++it)
      f(*it);
  }

  void clear() {
    timers_.clear();
    index_.clear();
    lru_.clear();
  }

  std::size_t memory_bytes() const noexcept {
    constexpr std::size_t list_node = 2 * sizeof(void*);
    constexpr std::size_t index_node =
        sizeof(void*) + sizeof(std::string_view) + sizeof(iterator) + sizeof(std::size_t);
    constexpr std::size_t timer_node = 4 * sizeof(void*) + sizeof(timer);
    std::size_t b = sizeof(*this) + index_.bucket_count() * sizeof(void*);
    for (const fold& f : lru_)
      b += list_node + index_node + f.memory_bytes();
    return b + timers_.size() * timer_node;
  }

  /// Bytes of one fold at its largest, with all node overheads.
  static std::size_t max_entry_bytes(const limits& l) noexcept {
    const std::size_t ident = std::max<std::size_t>(l.max_identifier_bytes, 17) + 1;
    // Reassigned strings may hold up to twice their largest size (growth).
    const std::size_t strings = 2 * (6 * ident + 16) + 17 + 2 * 5 * ident +
                                2 * (l.max_title_bytes + 1) +
                                2 * (l.max_evidence_bytes + ident + 24) +
                                2 * (l.max_title_bytes + 1) + 2 * (l.max_evidence_bytes + 1);
    const std::size_t refs = l.max_refs * 2 * (sizeof(input_ref) + ident);
    return sizeof(fold) + strings + refs + 2 * sizeof(void*) + 4 * sizeof(void*) +
           sizeof(std::string_view) + 4 * sizeof(void*) + sizeof(timer) + 2 * sizeof(void*);
  }

private:
  struct timer {
    timestamp_ms due;
    std::uint64_t serial;
    iterator it;
    bool operator<(const timer& o) const noexcept {
      return due != o.due ? due < o.due : serial < o.serial;
    }
  };

  std::size_t cap_;
  std::list<fold> lru_;
  std::unordered_map<std::string_view, iterator> index_;
  std::set<timer> timers_;
};

/// Token buckets per authenticated source, LRU-capped. Forgetting a bucket
/// gives that source a fresh burst when it returns; the global budget still
/// bounds the total, so cycling source names buys an attacker nothing beyond it.
class budget_table {
public:
  explicit budget_table(std::size_t cap) : cap_(cap) { index_.reserve(cap); }

  /// The bucket of `source`, created full at `now` when absent.
  token_bucket& get(const std::string& source, const budget& b, timestamp_ms now,
                    std::uint64_t& evicted) {
    if (const auto it = index_.find(std::string_view{source}); it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      return it->second->second;
    }
    if (lru_.size() >= cap_) {
      index_.erase(std::string_view{lru_.back().first});
      lru_.pop_back();
      ++evicted;
    }
    lru_.emplace_front(source, token_bucket(b, now));
    index_.emplace(std::string_view{lru_.front().first}, lru_.begin());
    return lru_.front().second;
  }

  std::size_t size() const noexcept { return lru_.size(); }

  std::size_t memory_bytes() const noexcept {
    constexpr std::size_t per = 2 * sizeof(void*) + sizeof(std::pair<std::string, token_bucket>) +
                                sizeof(void*) + sizeof(std::string_view) + sizeof(void*) +
                                sizeof(std::size_t);
    std::size_t b = sizeof(*this) + index_.bucket_count() * sizeof(void*);
    for (const auto& [name, bucket] : lru_)
      b += per + heap_bytes(name);
    return b;
  }

private:
  using entry = std::pair<std::string, token_bucket>;
  std::size_t cap_;
  std::list<entry> lru_;
  std::unordered_map<std::string_view, std::list<entry>::iterator> index_;
};

} // namespace

struct engine::state {
  explicit state(engine_settings s)
      : cfg(std::move(s)), noise(cfg.limit.max_folds), priority(cfg.limit.max_priority_folds),
        budgets(cfg.limit.max_budgets), meter(cfg.flood.window),
        pre_sources{space_saving(cfg.flood.source_slots, sketch_key_bytes()),
                    space_saving(cfg.flood.source_slots, sketch_key_bytes())},
        pre_kinds{space_saving(cfg.flood.kind_slots, sketch_key_bytes()),
                  space_saving(cfg.flood.kind_slots, sketch_key_bytes())},
        flood_sources(cfg.flood.source_slots, sketch_key_bytes()),
        flood_kinds(cfg.flood.kind_slots, sketch_key_bytes()) {
    for (const kind_timers& k : cfg.by_kind)
      kind_timer.insert_or_assign(k.kind, k.value);
    // SPEC §6: critical repeats are emitted at once, whatever is configured.
    cfg.by_severity[3].group_wait = 0;
    cfg.by_severity[3].group_interval = 0;
    for (auto& [kind, t] : kind_timer)
      critical_timer.insert_or_assign(kind, timers{0, 0, t.repeat_interval, t.resolve_timeout});
    const std::string flood_key = "flood\x1fhigh\x1f"
                                  "engine";
    flood_fingerprint = hex64(hash64(flood_key));
  }

  std::size_t sketch_key_bytes() const noexcept {
    return std::max<std::size_t>(cfg.limit.max_identifier_bytes, 17) + 2;
  }

  engine_settings cfg;
  std::unordered_map<std::string, timers> kind_timer;
  std::unordered_map<std::string, timers> critical_timer;
  fold_table noise;
  fold_table priority;
  budget_table budgets;
  token_bucket unverified_bucket;
  token_bucket global_bucket;
  rate_window meter;

  // Who is noisy, before a flood is declared: two windows, rotated.
  std::array<space_saving, 2> pre_sources;
  std::array<space_saving, 2> pre_kinds;
  std::array<std::uint64_t, 2> pre_unverified{};
  std::size_t pre_cur = 0;
  std::int64_t pre_epoch = std::numeric_limits<std::int64_t>::min();

  struct flood_state {
    bool active = false;
    timestamp_ms started = 0;
    timestamp_ms last_seen = 0;
    timestamp_ms last_emit = 0;
    timestamp_ms last_noisy = 0;
    std::uint64_t unverified = 0;
    std::uint32_t records = 0;
    bool changed = false;
    std::vector<input_ref> refs; ///< the request that tripped it, then the latest
  } flood;
  space_saving flood_sources;
  space_saving flood_kinds;
  std::string flood_fingerprint;

  timestamp_ms clock = 0;
  bool clock_set = false;
  std::uint64_t record_seq = 0;
  std::uint64_t serial_seq = 0;
  std::string reclaim_scratch; ///< fold_in's working space
  engine_stats stats;

  // --- time ---

  /// The engine clock never runs backwards: event time in `scan` may.
  void set_clock(timestamp_ms now) {
    if (!clock_set || now > clock) clock = now;
    if (!clock_set) {
      unverified_bucket = token_bucket(cfg.unverified, clock);
      global_bucket = token_bucket(cfg.global, clock);
      clock_set = true;
    }
  }

  void advance(timestamp_ms now, alert_sink& sink) {
    set_clock(now);
    rotate_pre_sketches();
    while (auto it = priority.pop_due(clock))
      fire(priority, *it, sink, false);
    while (auto it = noise.pop_due(clock))
      fire(noise, *it, sink, true);
    flood_timers(sink);
  }

  void rotate_pre_sketches() {
    if (flood.active) return;
    const std::int64_t w = cfg.flood.window;
    const std::int64_t epoch = clock >= 0 ? clock / w : -((-clock + w - 1) / w);
    if (epoch == pre_epoch) return;
    if (epoch == pre_epoch + 1) {
      pre_cur ^= 1U;
    } else {
      pre_sources[pre_cur ^ 1U].clear();
      pre_kinds[pre_cur ^ 1U].clear();
      pre_unverified[pre_cur ^ 1U] = 0;
    }
    pre_sources[pre_cur].clear();
    pre_kinds[pre_cur].clear();
    pre_unverified[pre_cur] = 0;
    pre_epoch = epoch;
  }

  // --- requests ---

  std::string identifier(std::string_view text, occurrence& o) {
    std::string out = safe_identifier(text, cfg.limit.max_identifier_bytes);
    if (out != text) {
      ++stats.identifiers_hashed;
      o.hashed.emplace_back(text, out);
    }
    return out;
  }

  /// The request's title, clipped, with every identifier the engine hashed
  /// replaced by its hashed form: detectors name sources and models in
  /// titles (clipped, e.g. to 64 bytes), and a name that is not a plain
  /// identifier — an e-mail address as a claimed source — must not come back
  /// through the title.
  std::string title_of(const alert_request& r, const occurrence& o) const {
    std::string title(r.title);
    for (const auto& [raw, shown] : o.hashed) {
      // Longest first: the whole name, then the clips detectors use.
      for (const std::size_t clip : {raw.size(), std::size_t{128}, std::size_t{64}}) {
        const std::string_view part = clip_utf8(raw, clip);
        if (part.size() >= 3) replace_all(title, part, shown);
      }
    }
    return std::string(clip_utf8(title, cfg.limit.max_title_bytes));
  }

  void retitle(fold& f, const alert_request& r, const occurrence& o) const {
    f.title = title_of(r, o);
    f.title_scrubbed = !o.hashed.empty();
  }

  occurrence normalise(const alert_request& r) {
    occurrence o;
    o.level = static_cast<severity>(level_index(r.level));
    o.authenticated = r.authenticated;
    o.kind = identifier(r.kind, o);
    if (r.authenticated)
      o.source = identifier(r.source, o);
    else if (!r.source.empty())
      o.claimed = identifier(r.source, o);
    o.model = identifier(r.model, o);
    o.rule = identifier(r.rule, o);
    o.at = r.at != 0 ? r.at : clock;
    if (r.ref.line > 0) {
      o.ref.line = r.ref.line;
    } else if (!r.ref.topic.empty()) {
      o.ref.topic = identifier(r.ref.topic, o);
      o.ref.partition = r.ref.partition;
      o.ref.offset = r.ref.offset;
    }
    o.key = fold_key(o);
    return o;
  }

  std::string evidence_of(const alert_request& r, const occurrence& o, bool* replaced = nullptr) {
    evidence_check why = evidence_check::ok;
    std::string ev = checked_evidence(r.evidence, cfg.limit.max_evidence_bytes, &why);
    const bool bad = why == evidence_check::oversize || why == evidence_check::invalid;
    if (bad) ++stats.evidence_replaced;
    if (replaced != nullptr) *replaced = bad;
    if (!o.claimed.empty()) return with_claimed_source(ev, o.claimed);
    return ev;
  }

  /// Kind overrides first, then the severity defaults. The pointer stays
  /// valid: both live in this heap-allocated state and are never modified.
  const timers& timers_for(severity level, const std::string& kind) const {
    const auto& table = level == severity::critical ? critical_timer : kind_timer;
    if (const auto it = table.find(kind); it != table.end()) return it->second;
    return cfg.by_severity[level_index(level)];
  }

  void submit(const alert_request& r, timestamp_ms now, alert_sink& sink) {
    advance(now, sink);
    occurrence o = normalise(r);
    ++stats.received[level_index(o.level)];
    if (o.level >= severity::high)
      priority_occurrence(r, o, sink);
    else
      noise_occurrence(r, o, sink);
  }

  // --- folds ---

  static bool has_ref(const input_ref& r) noexcept { return r.line > 0 || !r.topic.empty(); }

  void add_ref(std::vector<input_ref>& refs, const input_ref& r) const {
    if (!has_ref(r)) return;
    // Keep the first occurrence's ref and the most recent ones.
    if (refs.size() >= cfg.limit.max_refs) refs.erase(refs.begin() + (refs.size() > 1 ? 1 : 0));
    refs.push_back(r);
  }

  fold_table::iterator open_fold(fold_table& table, const alert_request& r, occurrence& o) {
    fold f;
    f.serial = ++serial_seq;
    f.evidence = evidence_of(r, o, &f.evidence_replaced);
    retitle(f, r, o);
    remember(f, r);
    f.fingerprint = hex64(hash64(o.key));
    f.key = std::move(o.key);
    f.level = o.level;
    f.authenticated = o.authenticated;
    f.t = &timers_for(o.level, o.kind);
    f.kind = std::move(o.kind);
    f.source = std::move(o.source);
    f.claimed = std::move(o.claimed);
    f.model = std::move(o.model);
    f.rule = std::move(o.rule);
    f.count = 1;
    f.first_seen = f.last_seen = o.at;
    f.opened = f.touched = clock;
    add_ref(f.refs, o.ref);
    return table.insert(std::move(f));
  }

  void fold_in(fold& f, const alert_request& r, const occurrence& o) {
    ++f.count;
    f.first_seen = std::min(f.first_seen, o.at);
    f.last_seen = std::max(f.last_seen, o.at);
    f.touched = clock;
    const bool same_input = f.remembered && r.title == f.title_in && r.evidence == f.evidence_in;
    if (same_input && o.claimed == f.claimed) {
      // The title and evidence depend on nothing else (the fold's key fixes
      // the identifiers they scrub): the same result as last time.
      if (f.evidence_replaced) ++stats.evidence_replaced;
    } else if (same_input && !o.claimed.empty() && !f.claimed.empty()) {
      // Another claimed source (not part of an unverified fold's key), the
      // same request otherwise: the checked evidence after the claim stands.
      // The title depends on the claim only when a hashed identifier was
      // scrubbed from it, now or last time.
      if (f.title_scrubbed || !o.hashed.empty()) retitle(f, r, o);
      reclaim(f.evidence, f.claimed, o.claimed, reclaim_scratch);
      f.claimed = o.claimed;
      if (f.evidence_replaced) ++stats.evidence_replaced;
    } else {
      retitle(f, r, o);
      f.claimed = o.claimed;
      f.evidence = evidence_of(r, o, &f.evidence_replaced);
      remember(f, r);
    }
    add_ref(f.refs, o.ref);
  }

  /// Keeps what `r` brought for fold_in's shortcut, when within the limits.
  void remember(fold& f, const alert_request& r) const {
    f.remembered = r.title.size() <= cfg.limit.max_title_bytes &&
                   r.evidence.size() <= cfg.limit.max_evidence_bytes;
    if (f.remembered) {
      f.title_in = r.title;
      f.evidence_in = r.evidence;
    } else {
      f.title_in.clear();
      f.evidence_in.clear();
    }
  }

  std::string make_id(const std::string& fingerprint, timestamp_ms first_seen) {
    std::string id;
    if (!cfg.instance.empty()) {
      id += cfg.instance;
      id += '-';
    }
    id += fingerprint;
    id += '-';
    id += std::to_string(first_seen);
    id += '-';
    id += std::to_string(++record_seq);
    return id;
  }

  void emit_fold(fold& f, alert_sink& sink) {
    alert a;
    a.id = make_id(f.fingerprint, f.first_seen);
    a.ts = clock;
    a.level = f.level;
    a.kind = f.kind;
    a.title = f.title;
    a.source = f.source;
    a.model = f.model;
    a.fingerprint = f.fingerprint;
    a.count = f.count;
    a.first_seen = f.first_seen;
    a.last_seen = f.last_seen;
    a.evidence = f.evidence;
    a.refs = f.refs;
    a.rule = f.rule;
    a.authenticated = f.authenticated;
    a.update = ++f.records;
    a.expires = f.touched + f.t->resolve_timeout;
    f.emitted_count = f.count;
    f.last_emit = clock;
    ++stats.emitted[level_index(f.level)];
    sink.emit(a);
  }

  /// When the fold next needs attention: its pending record by the group
  /// timers, else its repeat, else its expiry.
  static timestamp_ms next_due(const fold& f) noexcept {
    const timers& t = *f.t;
    if (f.changed())
      return f.records == 0 ? f.opened + t.group_wait : f.last_emit + t.group_interval;
    timestamp_ms due = f.touched + t.resolve_timeout;
    if (t.repeat_interval > 0) due = std::min(due, f.last_emit + t.repeat_interval);
    return due;
  }

  /// Schedules the fold; fires it at once when already due (group_wait 0).
  void schedule(fold_table& table, fold_table::iterator it, alert_sink& sink, bool noise_lane) {
    const timestamp_ms due = next_due(*it);
    if (due <= clock)
      fire(table, it, sink, noise_lane);
    else
      table.schedule(it, due);
  }

  /// A fold's timer fired (or it was due on arrival).
  void fire(fold_table& table, fold_table::iterator it, alert_sink& sink, bool noise_lane) {
    fold& f = *it;
    const timers& t = *f.t;
    if (!f.changed()) {
      if (clock >= f.touched + t.resolve_timeout) {
        table.erase(it);
        return;
      }
      const bool repeat_due = t.repeat_interval > 0 && clock >= f.last_emit + t.repeat_interval;
      if (!repeat_due) {
        table.schedule(it, next_due(f));
        return;
      }
    } else if (clock < next_due(f)) {
      table.schedule(it, next_due(f));
      return;
    }
    if (noise_lane && !pay(table, it)) return; // rescheduled for the next token
    emit_fold(f, sink);
    table.schedule(it, next_due(f));
  }

  /// Takes the tokens for one low/medium record: the source's (or the shared
  /// unverified) bucket and the global one. When either is empty the fold is
  /// rescheduled for when both have a token, and keeps folding meanwhile.
  bool pay(fold_table& table, fold_table::iterator it) {
    fold& f = *it;
    if (f.prepaid) {
      f.prepaid = false;
      return true;
    }
    const budget& own_budget = f.authenticated ? cfg.per_source : cfg.unverified;
    token_bucket& own = f.authenticated
                            ? budgets.get(f.source, own_budget, clock, stats.evicted_budgets)
                            : unverified_bucket;
    const bool own_ok = own.available(own_budget, clock) >= 1;
    const bool global_ok = global_bucket.available(cfg.global, clock) >= 1;
    if (own_ok && global_ok) {
      own.take();
      global_bucket.take();
      return true;
    }
    ++stats.deferred;
    timestamp_ms when = clock + 1;
    if (!own_ok) when = std::max(when, own.next_token_at(own_budget));
    if (!global_ok) when = std::max(when, global_bucket.next_token_at(cfg.global));
    table.schedule(it, when);
    return false;
  }

  // --- lanes ---

  void priority_occurrence(const alert_request& r, occurrence& o, alert_sink& sink) {
    if (auto found = priority.find_and_touch(o.key)) {
      fold& f = **found;
      const bool was_changed = f.changed();
      fold_in(f, r, o);
      ++stats.folded;
      if (f.level == severity::critical) {
        // SPEC §6: every critical occurrence goes out at once.
        emit_fold(f, sink);
        priority.schedule(*found, next_due(f));
      } else if (!was_changed) {
        schedule(priority, *found, sink, false);
      }
      return;
    }
    if (priority.full()) evict_priority(sink);
    const auto it = open_fold(priority, r, o);
    schedule(priority, it, sink, false);
  }

  /// High/critical table full: the least recently touched alert goes. If it
  /// holds occurrences not yet emitted (a high alert inside group_interval),
  /// they are emitted first, so eviction never loses a high finding.
  void evict_priority(alert_sink& sink) {
    const auto victim = priority.least_recent();
    if (victim->changed()) emit_fold(*victim, sink);
    priority.erase(victim);
    ++stats.evicted_folds;
  }

  void noise_occurrence(const alert_request& r, occurrence& o, alert_sink& sink) {
    if (flood.active) {
      absorb(o);
      return;
    }
    if (auto found = noise.find_and_touch(o.key)) {
      fold& f = **found;
      const bool was_changed = f.changed();
      fold_in(f, r, o);
      ++stats.folded;
      note_noise(o);
      if (!was_changed) schedule(noise, *found, sink, true);
    } else {
      const budget& own_budget = o.authenticated ? cfg.per_source : cfg.unverified;
      token_bucket& own = o.authenticated
                              ? budgets.get(o.source, own_budget, clock, stats.evicted_budgets)
                              : unverified_bucket;
      if (own.available(own_budget, clock) >= 1 &&
          global_bucket.available(cfg.global, clock) >= 1) {
        own.take();
        global_bucket.take();
        if (noise.full()) evict_noise(sink);
        const auto it = open_fold(noise, r, o);
        it->prepaid = true;
        schedule(noise, it, sink, true);
      } else {
        ++stats.over_budget;
        note_noise(o);
      }
    }
    if (!flood.active && meter.sum(clock) >= cfg.flood.enter_count) start_flood(o, sink);
  }

  /// Low/medium table full: the least recently touched alert goes. A first
  /// record already paid for is emitted rather than lost; other unemitted
  /// occurrences are dropped (they were counted as noise when they came).
  void evict_noise(alert_sink& sink) {
    const auto victim = noise.least_recent();
    if (victim->changed()) {
      if (victim->prepaid)
        emit_fold(*victim, sink);
      else
        stats.dropped_pending += victim->count - victim->emitted_count;
    }
    noise.erase(victim);
    ++stats.evicted_folds;
  }

  // --- flood ---

  std::string sketch_key(const occurrence& o) const {
    return o.authenticated ? "a:" + o.source : "u:" + o.claimed;
  }

  void note_noise(const occurrence& o) {
    meter.add(clock, 1);
    const std::string key = sketch_key(o);
    pre_sources[pre_cur].add(key);
    pre_kinds[pre_cur].add(o.kind);
    if (!o.authenticated) ++pre_unverified[pre_cur];
  }

  void absorb(const occurrence& o) {
    ++stats.absorbed;
    meter.add(clock, 1);
    flood_sources.add(sketch_key(o));
    flood_kinds.add(o.kind);
    if (!o.authenticated) ++flood.unverified;
    flood.last_seen = std::max(flood.last_seen, o.at);
    flood.changed = true;
    if (has_ref(o.ref)) {
      if (flood.refs.size() >= 2) flood.refs.pop_back();
      flood.refs.push_back(o.ref);
    }
    if (meter.sum(clock) >= cfg.flood.exit_count) flood.last_noisy = clock;
  }

  void start_flood(const occurrence& trip, alert_sink& sink) {
    ++stats.floods;
    flood = flood_state{};
    flood.active = true;
    flood.started = clock;
    flood.last_noisy = clock;
    flood.last_seen = trip.at;
    if (has_ref(trip.ref)) flood.refs.push_back(trip.ref);
    flood_sources.clear();
    flood_kinds.clear();
    for (std::size_t i = 0; i < 2; ++i) {
      flood_sources.merge(pre_sources[i]);
      flood_kinds.merge(pre_kinds[i]);
      flood.unverified += pre_unverified[i];
      pre_sources[i].clear();
      pre_kinds[i].clear();
      pre_unverified[i] = 0;
    }
    // The flood alert goes out first (it is high); then the low/medium table
    // is handed over to it: records already paid for are emitted, the rest
    // of their unemitted occurrences are the flood's.
    emit_flood(sink, alert_status::active);
    noise.for_each_oldest_first([&](fold& f) {
      if (!f.changed()) return;
      if (f.prepaid)
        emit_fold(f, sink);
      else
        stats.dropped_pending += f.count - f.emitted_count;
    });
    noise.clear();
  }

  void flood_timers(alert_sink& sink) {
    if (!flood.active) return;
    // last_noisy moves only when a finding arrives with the window at or above
    // exit_count (absorb), so the end time does not depend on how often
    // tick() is called: quiet_for after the last such finding.
    if (clock - flood.last_noisy >= cfg.flood.quiet_for) {
      close_flood(sink);
      return;
    }
    if (flood.changed && clock - flood.last_emit >= cfg.flood.update_interval)
      emit_flood(sink, alert_status::active);
  }

  void close_flood(alert_sink& sink) {
    emit_flood(sink, alert_status::closed);
    flood.active = false;
    flood_sources.clear();
    flood_kinds.clear();
    pre_epoch = std::numeric_limits<std::int64_t>::min(); // start fresh pre-flood windows
    rotate_pre_sketches();
  }

  std::string flood_evidence(alert_status status) {
    json_writer w;
    w.begin_object();
    w.key("status").value(status == alert_status::closed ? "closed" : "active");
    w.key("started").value(format_rfc3339(flood.started));
    if (status == alert_status::closed) w.key("ended").value(format_rfc3339(clock));
    w.key("findings").value(flood_sources.total());
    w.key("unverified").value(flood.unverified);
    const double window_s = static_cast<double>(meter.window_ms()) / 1000.0;
    w.key("rate_per_s").value(static_cast<double>(meter.sum(clock)) / window_s);
    w.key("window_ms").value(meter.window_ms());
    w.key("top_sources").begin_array();
    for (const auto& item : flood_sources.top(cfg.flood.top_n)) {
      w.begin_object();
      w.key("source").value(std::string_view{item.key}.substr(2));
      w.key("verified").value(item.key[0] == 'a');
      w.key("count").value(item.count);
      w.key("error").value(item.error);
      w.end_object();
    }
    w.end_array();
    w.key("top_kinds").begin_array();
    for (const auto& item : flood_kinds.top(cfg.flood.top_n)) {
      w.begin_object();
      w.key("kind").value(item.key);
      w.key("count").value(item.count);
      w.key("error").value(item.error);
      w.end_object();
    }
    w.end_array();
    // Counts are exact unless more distinct sources came than the sketch
    // holds; then each is an overestimate by at most its `error`.
    w.key("approximate").value(flood_sources.saturated() || flood_kinds.saturated());
    w.end_object();
    return w.take();
  }

  void emit_flood(alert_sink& sink, alert_status status) {
    alert a;
    a.id = make_id(flood_fingerprint, flood.started);
    a.ts = clock;
    a.level = severity::high;
    a.kind = "flood";
    const auto top = flood_sources.top(1);
    a.title = "alert flood: " + std::to_string(flood_sources.total()) +
              " low/medium findings folded or over budget";
    if (!top.empty())
      a.title += ", top source " + std::string(std::string_view{top.front().key}.substr(2));
    if (status == alert_status::closed) a.title += " (ended)";
    a.fingerprint = flood_fingerprint;
    a.count = flood_sources.total();
    a.first_seen = flood.started;
    a.last_seen = std::max(flood.last_seen, flood.started);
    a.evidence = flood_evidence(status);
    a.refs = flood.refs;
    a.rule = "flood";
    a.update = ++flood.records;
    a.status = status;
    a.expires = status == alert_status::closed
                    ? clock
                    : clock + cfg.flood.update_interval + cfg.flood.quiet_for + cfg.flood.window;
    flood.last_emit = clock;
    flood.changed = false;
    ++stats.emitted[level_index(severity::high)];
    sink.emit(a);
  }

  // --- end of input ---

  void flush(timestamp_ms now, alert_sink& sink) {
    advance(now, sink);
    priority.for_each_oldest_first([&](fold& f) {
      if (f.changed()) emit_fold(f, sink);
    });
    if (flood.active) close_flood(sink);
    noise.for_each_oldest_first([&](fold& f) {
      if (!f.changed()) return;
      f.prepaid = false;
      emit_fold(f, sink);
    });
    // Each fold keeps its timer entry; when it fires on an unchanged fold it
    // moves on to the repeat or expiry time (see fire()).
  }
};

engine::engine(std::unique_ptr<state> s) : s_(std::move(s)) {}
engine::engine(engine&&) noexcept = default;
engine& engine::operator=(engine&&) noexcept = default;
engine::~engine() = default;

std::variant<engine, error> engine::make(engine_settings s) {
  if (auto e = validate(s)) return *e;
  return engine(std::make_unique<state>(std::move(s)));
}

void engine::submit(const alert_request& request, timestamp_ms now, alert_sink& sink) {
  s_->submit(request, now, sink);
}

void engine::tick(timestamp_ms now, alert_sink& sink) {
  s_->advance(now, sink);
}

void engine::flush(timestamp_ms now, alert_sink& sink) {
  s_->flush(now, sink);
}

timestamp_ms engine::next_deadline() const noexcept {
  timestamp_ms t = std::min(s_->priority.next_due(), s_->noise.next_due());
  if (s_->flood.active) {
    t = std::min(t, s_->flood.last_noisy + s_->cfg.flood.quiet_for);
    if (s_->flood.changed) t = std::min(t, s_->flood.last_emit + s_->cfg.flood.update_interval);
  }
  return t;
}

const engine_stats& engine::stats() const noexcept {
  return s_->stats;
}

const engine_settings& engine::settings() const noexcept {
  return s_->cfg;
}

bool engine::flood_active() const noexcept {
  return s_->flood.active;
}

std::size_t engine::tracked() const noexcept {
  return s_->noise.size() + s_->priority.size();
}

std::size_t engine::memory_bytes() const noexcept {
  const state& s = *s_;
  std::size_t b = sizeof(state) + s.noise.memory_bytes() + s.priority.memory_bytes() +
                  s.budgets.memory_bytes() + s.flood_sources.memory_bytes() +
                  s.flood_kinds.memory_bytes() + s.flood.refs.capacity() * sizeof(input_ref);
  for (std::size_t i = 0; i < 2; ++i)
    b += s.pre_sources[i].memory_bytes() + s.pre_kinds[i].memory_bytes();
  return b;
}

std::size_t engine::memory_bound(const engine_settings& s) noexcept {
  const limits& l = s.limit;
  const std::size_t ident = std::max<std::size_t>(l.max_identifier_bytes, 17) + 1;
  const std::size_t fold_bytes = fold_table::max_entry_bytes(l);
  const std::size_t bucket_bytes = 2 * sizeof(void*) + sizeof(std::string) + sizeof(token_bucket) +
                                   4 * sizeof(void*) + sizeof(std::string_view) + 2 * ident;
  const std::size_t key = ident + 2;
  const auto sketch = [&](std::size_t slots) { return space_saving(slots, key).memory_bytes(); };
  // Hash tables reserve at least their cap in buckets; allow twice that.
  const std::size_t buckets =
      2 * sizeof(void*) * (l.max_folds + l.max_priority_folds + l.max_budgets);
  return sizeof(state) + 2 * sizeof(fold_table) + sizeof(budget_table) + buckets +
         (l.max_folds + l.max_priority_folds) * fold_bytes + l.max_budgets * bucket_bytes +
         3 * sketch(s.flood.source_slots) + 3 * sketch(s.flood.kind_slots) +
         2 * (sizeof(input_ref) + ident);
}

} // namespace bulwark::alert
