#pragma once
/// The Alertmanager sink (`alerts.alertmanager`): an alert_sink whose emit()
/// only stores into a bounded alertmanager_buffer, and a thread that moves
/// what the buffer says is due to `<base>/api/v2/alerts`.
///
///   pipeline thread ─emit()─▶ [mutex] alertmanager_buffer ◀─┐
///                                 │ take_batch(now)          │ complete(id, outcome, now)
///                                 ▼                          │
///                     pump thread ─▶ http::client POST ──────┘
///
/// Invariants:
///  1. emit() never waits on the network: it holds the mutex only for the
///     buffer's in-memory update, and the pump never holds it across a POST.
///  2. Memory is bounded by the buffer (max_alerts entries) plus one batch.
///  3. stop(flush_for) returns within flush_for plus the time to cancel one
///     request: it keeps posting what is due while the deadline allows (a
///     retry only if its backoff ends before the deadline), then cancels the
///     request in flight and joins.
///  4. What it logs names states and counts, never alert content.
#include "alert/alertmanager.hpp"
#include "http/client.hpp"

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

namespace bulwark::http {

struct forwarder_options {
  std::string url; ///< `alerts.alertmanager`: http://host:port[/prefix]
  alert::alertmanager_settings buffer;
  client_options client;
  /// The longest the pump sleeps without being woken, i.e. how late a
  /// re-send or the end of a backoff may be noticed.
  std::chrono::milliseconds poll_interval{500};
  /// The clock the buffer sees (re-sends, backoff, endsAt); the wall clock
  /// when empty. Tests inject one.
  std::function<timestamp_ms()> clock;
  /// Receives one line per state change (down, up again, batch rejected);
  /// nothing when empty.
  std::function<void(std::string_view line)> log;
};

/// The buffer's counters plus what the forwarder itself knows.
struct forwarder_stats {
  alert::alertmanager_stats buffer;
  std::size_t held = 0;    ///< alerts in the buffer (sent ones kept for re-sends included)
  std::size_t pending = 0; ///< alerts whose latest record Alertmanager has not accepted
  std::uint64_t timeouts = 0;
  std::uint64_t connect_errors = 0; ///< resolve or connect failed
  std::uint64_t http_errors = 0;    ///< a response other than 2xx
  unsigned last_status = 0;         ///< status of the last response; 0 before any
  bool up = true;                   ///< the last POST was delivered (or none failed yet)
};

class alertmanager_forwarder final : public alert::alert_sink {
public:
  /// Checks the URL and the buffer settings (errors name the
  /// `alerts.alertmanager` key and the reason) and starts the pump.
  static std::variant<std::unique_ptr<alertmanager_forwarder>, std::string>
  make(forwarder_options o);

  /// Stores the record for sending; memory only (invariant 1). After stop(),
  /// records are still counted and held but no longer sent.
  void emit(const alert::alert& a) override;

  /// Delivers what is due for at most `flush_for`, then stops the pump
  /// (invariant 3). Later calls return at once.
  void stop(std::chrono::milliseconds flush_for);

  forwarder_stats stats() const;

  /// stop() with no flush time.
  ~alertmanager_forwarder() override;
  alertmanager_forwarder(const alertmanager_forwarder&) = delete;
  alertmanager_forwarder& operator=(const alertmanager_forwarder&) = delete;

private:
  alertmanager_forwarder(forwarder_options o, endpoint ep, alert::alertmanager_buffer b);
  void run();
  timestamp_ms now() const;
  /// Counts the result; returns the line to log for a state change, or "".
  std::string note(const alert::alertmanager_batch& batch, const post_result& r);

  using steady = std::chrono::steady_clock;

  forwarder_options opts_;
  endpoint endpoint_;
  std::string target_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  client client_; ///< after mu_ and wake_: its thread, which uses them, ends first
  alert::alertmanager_buffer buffer_; ///< guarded by mu_
  forwarder_stats stats_;             ///< guarded by mu_ (buffer part filled on read)
  bool stopping_ = false;             ///< guarded by mu_
  steady::time_point deadline_{};     ///< of the flush, once stopping_
  std::thread pump_;
};

} // namespace bulwark::http
