#include "alert/alertmanager.hpp"

#include "core/json_writer.hpp"

#include <algorithm>
#include <tuple>

namespace bulwark::alert {
namespace {

/// `bulwark_integrity_tamper`: Prometheus-style, as alertname is shown in
/// Alertmanager's UI and routing trees match on it.
std::string alertname(std::string_view kind) {
  std::string name = "bulwark_";
  for (const char c : kind)
    name += (c == '.' || c == '-' || c == ':' || c == '/') ? '_' : c;
  return name;
}

std::size_t heap_bytes(const std::string& s) noexcept {
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

std::size_t alert_bytes(const alert& a) noexcept {
  std::size_t b = sizeof(alert) + heap_bytes(a.id) + heap_bytes(a.kind) + heap_bytes(a.title) +
                  heap_bytes(a.source) + heap_bytes(a.model) + heap_bytes(a.fingerprint) +
                  heap_bytes(a.evidence) + heap_bytes(a.rule) +
                  a.refs.capacity() * sizeof(input_ref);
  for (const input_ref& r : a.refs)
    b += heap_bytes(r.topic);
  return b;
}

} // namespace

std::string render_alertmanager(const alert& a, timestamp_ms ends_at,
                                std::string_view generator_url) {
  json_writer w;
  w.begin_object();
  // Labels are the alert's identity in Alertmanager: the same fields as the
  // fingerprint (an empty label is the same as an absent one there).
  w.key("labels").begin_object();
  w.key("alertname").value(alertname(a.kind));
  w.key("severity").value(to_string(a.level));
  w.key("kind").value(a.kind);
  if (!a.source.empty()) w.key("source").value(a.source);
  if (!a.model.empty()) w.key("model").value(a.model);
  if (!a.rule.empty()) w.key("rule").value(a.rule);
  w.end_object();
  w.key("annotations").begin_object();
  w.key("summary").value(a.title);
  w.key("count").value(std::to_string(a.count));
  w.key("first_seen").value(format_rfc3339(a.first_seen));
  w.key("last_seen").value(format_rfc3339(a.last_seen));
  w.key("fingerprint").value(a.fingerprint);
  w.key("bulwark_id").value(a.id);
  w.key("source_verified").value(a.authenticated ? "true" : "false");
  w.key("evidence").value(a.evidence);
  w.end_object();
  w.key("startsAt").value(format_rfc3339(a.first_seen));
  // Alertmanager rejects the whole POST when an alert ends before it starts.
  w.key("endsAt").value(format_rfc3339(std::max(ends_at, a.first_seen)));
  if (!generator_url.empty()) w.key("generatorURL").value(generator_url);
  w.end_object();
  return w.take();
}

std::string alertmanager_identity(const alert& a) {
  std::string id = a.kind;
  for (const std::string_view part :
       {std::string_view{to_string(a.level)}, std::string_view{a.source}, std::string_view{a.model},
        std::string_view{a.rule}}) {
    id += '\x1f';
    id += part;
  }
  return id;
}

alertmanager_buffer::alertmanager_buffer(alertmanager_settings s) : cfg_(std::move(s)) {
  entries_.reserve(cfg_.max_alerts);
}

std::variant<alertmanager_buffer, error> alertmanager_buffer::make(alertmanager_settings s) {
  if (s.max_alerts == 0) return error{"alerts.alertmanager.max_alerts: must be at least 1"};
  if (s.max_batch == 0) return error{"alerts.alertmanager.max_batch: must be at least 1"};
  if (s.resend_interval <= 0) return error{"alerts.alertmanager.resend_interval: must be positive"};
  if (s.ends_after < s.resend_interval)
    return error{"alerts.alertmanager.ends_after: must be at least resend_interval"};
  if (s.backoff_initial <= 0 || s.backoff_max < s.backoff_initial)
    return error{"alerts.alertmanager.backoff: initial must be positive and at most max"};
  return alertmanager_buffer(std::move(s));
}

void alertmanager_buffer::emit(const alert& a) {
  ++stats_.received;
  std::string identity = alertmanager_identity(a);
  if (const auto it = entries_.find(identity); it != entries_.end()) {
    it->second.latest = a;
    ++it->second.version;
    it->second.dirty = true;
    return;
  }
  if (entries_.size() >= cfg_.max_alerts) {
    // Full: the least valuable of the held alerts and the new one goes —
    // lowest severity first, then the oldest record.
    auto victim = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      const auto key = [](const auto& e) {
        return std::tie(e.second.latest.level, e.second.latest.ts, e.first);
      };
      if (key(*it) < key(*victim)) victim = it;
    }
    if (a.level < victim->second.latest.level) {
      ++stats_.dropped[static_cast<std::size_t>(a.level)];
      return;
    }
    ++stats_.dropped[static_cast<std::size_t>(victim->second.latest.level)];
    entries_.erase(victim);
  }
  entry e;
  e.latest = a;
  entries_.emplace(std::move(identity), std::move(e));
}

std::optional<alertmanager_batch> alertmanager_buffer::take_batch(timestamp_ms now) {
  if (in_flight_ || now < next_attempt_) return std::nullopt;

  struct candidate {
    const std::string* identity;
    entry* e;
    bool resolved;
  };
  std::vector<candidate> due;
  for (auto& [identity, e] : entries_) {
    const bool resolved = e.latest.status == alert_status::closed || e.latest.expires <= now;
    const bool resend = e.sent && now - e.last_sent >= cfg_.resend_interval;
    if (e.dirty || resolved || resend) due.push_back({&identity, &e, resolved});
  }
  if (due.empty()) return std::nullopt;
  // Critical first; within a severity, changes before re-sends, then the
  // longest unsent; the identity makes the order total (deterministic).
  const auto order = [](const candidate& x, const candidate& y) {
    const auto key = [](const candidate& c) {
      return std::make_tuple(-static_cast<int>(c.e->latest.level), !c.e->dirty, c.e->last_sent,
                             std::string_view{*c.identity});
    };
    return key(x) < key(y);
  };
  const std::size_t n = std::min(cfg_.max_batch, due.size());
  std::partial_sort(due.begin(), due.begin() + static_cast<std::ptrdiff_t>(n), due.end(), order);

  alertmanager_batch batch;
  batch.id = ++next_batch_id_;
  batch.alerts = n;
  flight f{batch.id, {}};
  f.items.reserve(n);
  batch.body = "[";
  for (std::size_t i = 0; i < n; ++i) {
    const candidate& c = due[i];
    const timestamp_ms ends_at =
        c.resolved ? c.e->latest.expires : std::min(c.e->latest.expires, now + cfg_.ends_after);
    if (i > 0) batch.body += ',';
    batch.body += render_alertmanager(c.e->latest, ends_at, cfg_.generator_url);
    f.items.push_back({*c.identity, c.e->version, c.resolved});
  }
  batch.body += ']';
  in_flight_ = std::move(f);
  return batch;
}

void alertmanager_buffer::complete(std::uint64_t id, post_outcome outcome, timestamp_ms now) {
  if (!in_flight_ || in_flight_->id != id) return;
  const flight f = std::move(*in_flight_);
  in_flight_.reset();
  switch (outcome) {
  case post_outcome::delivered:
    ++stats_.posts_ok;
    stats_.alerts_sent += f.items.size();
    failures_ = 0;
    next_attempt_ = std::numeric_limits<timestamp_ms>::min();
    for (const sent_item& item : f.items) {
      const auto it = entries_.find(item.identity);
      if (it == entries_.end()) continue;
      entry& e = it->second;
      e.sent = true;
      e.last_sent = now;
      // An emit() during the POST bumped the version: that change is unsent.
      if (e.version != item.version) continue;
      e.dirty = false;
      if (item.resolved) {
        ++stats_.resolved;
        entries_.erase(it);
      }
    }
    return;
  case post_outcome::failed: {
    ++stats_.posts_failed;
    ++failures_;
    std::int64_t backoff = cfg_.backoff_initial;
    for (std::uint32_t k = 1; k < failures_ && backoff < cfg_.backoff_max; ++k)
      backoff *= 2;
    next_attempt_ = now + std::min(backoff, cfg_.backoff_max);
    return;
  }
  case post_outcome::rejected:
    ++stats_.posts_rejected;
    failures_ = 0;
    next_attempt_ = std::numeric_limits<timestamp_ms>::min();
    for (const sent_item& item : f.items) {
      const auto it = entries_.find(item.identity);
      if (it == entries_.end() || it->second.version != item.version) continue;
      ++stats_.dropped[static_cast<std::size_t>(it->second.latest.level)];
      entries_.erase(it);
    }
    return;
  }
}

bool alertmanager_buffer::pump(timestamp_ms now,
                               const std::function<bool(std::string_view body)>& transport) {
  auto batch = take_batch(now);
  if (!batch) return false;
  const bool ok = transport(batch->body);
  complete(batch->id, ok ? post_outcome::delivered : post_outcome::failed, now);
  return true;
}

std::size_t alertmanager_buffer::pending() const noexcept {
  return static_cast<std::size_t>(std::count_if(entries_.begin(), entries_.end(),
                                                [](const auto& e) { return e.second.dirty; }));
}

std::size_t alertmanager_buffer::memory_bytes() const noexcept {
  constexpr std::size_t node = 2 * sizeof(void*) + sizeof(std::size_t);
  std::size_t b = sizeof(*this) + entries_.bucket_count() * sizeof(void*);
  for (const auto& [identity, e] : entries_)
    b += node + sizeof(std::string) + heap_bytes(identity) + sizeof(entry) - sizeof(alert) +
         alert_bytes(e.latest);
  if (in_flight_)
    for (const sent_item& item : in_flight_->items)
      b += sizeof(sent_item) + heap_bytes(item.identity);
  return b;
}

} // namespace bulwark::alert
