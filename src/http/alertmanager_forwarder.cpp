#include "http/alertmanager_forwarder.hpp"

#include "core/time.hpp"

#include <algorithm>
#include <optional>

namespace bulwark::http {
namespace {

using std::chrono::milliseconds;

std::string describe(const post_result& r) {
  if (r.error == post_result::failure::none) return "HTTP " + std::to_string(r.status);
  std::string s(to_string(r.error));
  if (!r.reason.empty()) {
    s += ": ";
    s += r.reason;
  }
  return s;
}

} // namespace

std::variant<std::unique_ptr<alertmanager_forwarder>, std::string>
alertmanager_forwarder::make(forwarder_options o) {
  auto ep = parse_url(o.url, "alerts.alertmanager");
  if (auto* e = std::get_if<std::string>(&ep)) return std::move(*e);
  auto buffer = alert::alertmanager_buffer::make(o.buffer);
  if (auto* e = std::get_if<alert::error>(&buffer)) return std::move(e->message);
  return std::unique_ptr<alertmanager_forwarder>(
      new alertmanager_forwarder(std::move(o), std::move(std::get<endpoint>(ep)),
                                 std::move(std::get<alert::alertmanager_buffer>(buffer))));
}

alertmanager_forwarder::alertmanager_forwarder(forwarder_options o, endpoint ep,
                                               alert::alertmanager_buffer b)
    : opts_(std::move(o)), endpoint_(std::move(ep)), target_(endpoint_.target("/api/v2/alerts")),
      client_(opts_.client), buffer_(std::move(b)) {
  pump_ = std::thread([this] { run(); });
}

alertmanager_forwarder::~alertmanager_forwarder() {
  stop(milliseconds{0});
}

timestamp_ms alertmanager_forwarder::now() const {
  return opts_.clock ? opts_.clock() : wall_clock_now();
}

void alertmanager_forwarder::emit(const alert::alert& a) {
  {
    std::lock_guard lock(mu_);
    buffer_.emit(a);
  }
  wake_.notify_all();
}

void alertmanager_forwarder::stop(milliseconds flush_for) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      deadline_ = steady::now() + flush_for;
    }
  }
  wake_.notify_all();
  if (pump_.joinable()) pump_.join();
}

forwarder_stats alertmanager_forwarder::stats() const {
  std::lock_guard lock(mu_);
  forwarder_stats s = stats_;
  s.buffer = buffer_.stats();
  s.held = buffer_.size();
  s.pending = buffer_.pending();
  return s;
}

std::string alertmanager_forwarder::note(const alert::alertmanager_batch& batch,
                                         const post_result& r) {
  const alert::post_outcome outcome = outcome_of(r);
  if (r.error == post_result::failure::none) {
    stats_.last_status = r.status;
    if (outcome != alert::post_outcome::delivered) ++stats_.http_errors;
  } else if (r.error == post_result::failure::timeout) {
    ++stats_.timeouts;
  } else if (r.error == post_result::failure::resolve || r.error == post_result::failure::connect) {
    ++stats_.connect_errors;
  }
  std::string line;
  switch (outcome) {
  case alert::post_outcome::delivered:
    if (!stats_.up) line = "alertmanager: " + endpoint_.host_header() + " accepts alerts again";
    stats_.up = true;
    break;
  case alert::post_outcome::failed:
    if (stats_.up)
      line = "alertmanager: POST to " + endpoint_.host_header() + " failed (" + describe(r) +
             "); alerts are kept and retried with backoff";
    stats_.up = false;
    break;
  case alert::post_outcome::rejected:
    // Only the first: each later one is counted in stats().buffer.posts_rejected.
    if (buffer_.stats().posts_rejected == 1)
      line = "alertmanager: " + endpoint_.host_header() + " rejected a batch of " +
             std::to_string(batch.alerts) + " alerts (" + describe(r) +
             "); they are dropped, further rejections are only counted";
    stats_.up = true;
    break;
  }
  return line;
}

void alertmanager_forwarder::run() {
  std::unique_lock lock(mu_);
  const auto deadline_passed = [&] { return stopping_ && steady::now() >= deadline_; };
  while (!deadline_passed()) {
    const timestamp_ms t = now();
    std::optional<alert::alertmanager_batch> batch = buffer_.take_batch(t);
    if (batch) {
      // The POST runs on the client's thread; waiting here releases the
      // mutex, so emit() goes on meanwhile.
      std::optional<post_result> result;
      client_.async_post(endpoint_, target_, std::move(batch->body), [&](post_result r) {
        // Notified under the mutex: once it is released the pump may return
        // and the forwarder be destroyed, so nothing here may touch it after.
        std::lock_guard inner(mu_);
        result = std::move(r);
        wake_.notify_all();
      });
      batch->body.clear();
      bool cancelled = false;
      for (;;) {
        if (result) break;
        if (!cancelled && deadline_passed()) {
          client_.cancel(); // completes the request at once, as cancelled
          cancelled = true;
        }
        if (stopping_ && !cancelled)
          wake_.wait_until(lock, deadline_);
        else
          wake_.wait(lock);
      }
      buffer_.complete(batch->id, outcome_of(*result), now());
      const std::string line = note(*batch, *result);
      if (!line.empty() && opts_.log) {
        lock.unlock(); // a slow stderr must not hold up emit()
        opts_.log(line);
        lock.lock();
      }
      continue;
    }
    const timestamp_ms next = buffer_.next_attempt();
    if (stopping_) {
      // Nothing due, or a backoff that would end after the deadline: done.
      if (next <= t) break;
      if (steady::now() + milliseconds{next - t} >= deadline_) break;
    }
    auto until = steady::now() + opts_.poll_interval;
    if (next > t) until = std::min(until, steady::now() + milliseconds{next - t});
    if (stopping_) until = std::min(until, deadline_);
    wake_.wait_until(lock, until);
  }
}

} // namespace bulwark::http
