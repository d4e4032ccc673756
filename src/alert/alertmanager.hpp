#pragma once
/// The pure half of the Alertmanager sink (`alerts.alertmanager`): the
/// POST /api/v2/alerts body and a bounded buffer that decides what to send
/// when, with retries and backoff. The HTTP client (Beast) lives elsewhere
/// and only moves bytes: take_batch() → POST → complete().
///
///   engine ─emit()─▶ alertmanager_buffer (bounded table by label set)
///                          │ take_batch(now): dirty alerts, and active ones
///                          │ due for a re-send, at most max_batch, critical first
///                          ▼
///                    transport (POST) ─▶ complete(id, ok, now)
///                          ok: clean, resolved alerts dropped
///                          failed: kept, next attempt after backoff
///
/// Alertmanager forgets an alert at its endsAt unless it is re-sent; as
/// Prometheus does, every active alert is re-sent each `resend_interval` with
/// endsAt = min(its expiry, now + ends_after) where ends_after is several
/// resend intervals, so a bulwark that dies leaves nothing firing for ever.
/// An alert past its expiry (or closed) is sent once more with that endsAt,
/// i.e. resolved, and dropped. Not thread-safe: the caller serialises calls.
#include "alert/alert.hpp"
#include "alert/settings.hpp"

#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

namespace bulwark::alert {

/// One alert in Alertmanager's v2 "postableAlert" form (an element of the
/// POST /api/v2/alerts array): labels, annotations, startsAt, endsAt and,
/// when `generator_url` is not empty, generatorURL.
std::string render_alertmanager(const alert& a, timestamp_ms ends_at,
                                std::string_view generator_url);

/// Alertmanager's identity of an alert: its label set, joined. Two records
/// of one bulwark alert (same fingerprint) share it.
std::string alertmanager_identity(const alert& a);

/// Settings of the Alertmanager buffer, with defaults.
struct alertmanager_settings {
  std::string generator_url;             ///< e.g. "http://host:9464/"; "" = omitted
  std::size_t max_alerts = 1000;         ///< alerts held (drops: lowest severity, oldest first)
  std::size_t max_batch = 64;            ///< alerts per POST
  std::int64_t resend_interval = 60'000; ///< active alerts re-sent this often
  std::int64_t ends_after = 240'000;     ///< endsAt horizon of an active alert (4 re-sends)
  std::int64_t backoff_initial = 1'000;  ///< after the first failed POST
  std::int64_t backoff_max = 60'000;     ///< doubling stops here
};

/// What the buffer did, for metrics.
struct alertmanager_stats {
  std::uint64_t received = 0; ///< records given to emit()
  std::array<std::uint64_t, 4>
      dropped{}; ///< alerts dropped because the buffer was full, by severity
  std::uint64_t posts_ok = 0;
  std::uint64_t posts_failed = 0;
  std::uint64_t posts_rejected = 0;
  std::uint64_t alerts_sent = 0; ///< alerts in successful POSTs (re-sends included)
  std::uint64_t resolved = 0;    ///< alerts sent resolved and forgotten
};

/// How a POST went, as the HTTP client reports it.
enum class post_outcome : std::uint8_t {
  delivered, ///< 2xx
  failed,    ///< connection error, timeout, 5xx, 429: retried after backoff
  rejected,  ///< other 4xx: the same body would fail again, so its alerts are dropped
};

/// One POST to make: `body` is the JSON array for /api/v2/alerts.
struct alertmanager_batch {
  std::uint64_t id = 0;
  std::string body;
  std::size_t alerts = 0;
};

/// The bounded send buffer. emit() only updates memory, so the engine never
/// waits on Alertmanager; one batch is in flight at a time.
class alertmanager_buffer final : public alert_sink {
public:
  static std::variant<alertmanager_buffer, error> make(alertmanager_settings s);

  /// Stores the latest record of the alert (by label set) as due for sending.
  void emit(const alert& a) override;

  /// The next POST to make at `now`, or nothing: nothing due, a batch still
  /// in flight, or backing off after a failure.
  std::optional<alertmanager_batch> take_batch(timestamp_ms now);

  /// Reports how batch `id` went. On failure its alerts stay due and the next
  /// batch waits backoff_initial, doubling per consecutive failure up to
  /// backoff_max. On rejection its alerts are dropped (counted). An unknown
  /// id is ignored.
  void complete(std::uint64_t id, post_outcome outcome, timestamp_ms now);

  /// take_batch + a synchronous transport + complete, for tests and simple
  /// callers. Returns whether a batch was attempted.
  bool pump(timestamp_ms now, const std::function<bool(std::string_view body)>& transport);

  const alertmanager_stats& stats() const noexcept { return stats_; }
  std::size_t size() const noexcept { return entries_.size(); }
  /// Alerts whose latest record Alertmanager has not accepted yet (changed
  /// since their last delivered POST, or never delivered).
  std::size_t pending() const noexcept;
  bool in_flight() const noexcept { return in_flight_.has_value(); }
  /// When a batch may next be taken after a failure.
  timestamp_ms next_attempt() const noexcept { return next_attempt_; }
  std::size_t memory_bytes() const noexcept;

private:
  explicit alertmanager_buffer(alertmanager_settings s);

  struct entry {
    alert latest;
    std::uint64_t version = 0; ///< bumped by every emit(), so an update during a POST is kept
    bool dirty = true;         ///< changed since the last successful send
    bool sent = false;         ///< Alertmanager has had it at least once
    timestamp_ms last_sent = 0;
  };
  struct sent_item {
    std::string identity;
    std::uint64_t version;
    bool resolved;
  };
  struct flight {
    std::uint64_t id;
    std::vector<sent_item> items;
  };

  void evict_one();

  alertmanager_settings cfg_;
  std::unordered_map<std::string, entry> entries_;
  std::optional<flight> in_flight_;
  std::uint64_t next_batch_id_ = 0;
  std::uint32_t failures_ = 0;
  timestamp_ms next_attempt_ = std::numeric_limits<timestamp_ms>::min();
  alertmanager_stats stats_;
};

} // namespace bulwark::alert
