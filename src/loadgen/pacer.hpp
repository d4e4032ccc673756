#pragma once
/// Token-bucket pacing on an injected clock, so the runner can hold a target
/// rate and tests can check the arithmetic without sleeping.
#include <cstdint>

namespace bulwark::loadgen {

/// Tokens refill continuously at `rate` per second up to `burst`; one event
/// costs one token. Times are nanoseconds of any monotonic clock.
class pacer {
public:
  /// `rate` events per second, 0 = unlimited. `burst` is the bucket size in
  /// events; 0 picks rate/100 (10 ms of traffic), at least 1. The bucket
  /// starts with one token, so a run does not open with a burst.
  explicit pacer(double rate, double burst = 0) noexcept;

  /// Takes one token at `now_ns` when one is available.
  bool try_take(std::int64_t now_ns) noexcept;

  /// Nanoseconds from `now_ns` until a token is available (0: one is).
  std::int64_t wait_ns(std::int64_t now_ns) noexcept;

  bool unlimited() const noexcept { return rate_ <= 0; }
  double burst() const noexcept { return burst_; }

private:
  void refill(std::int64_t now_ns) noexcept;

  double rate_;
  double burst_;
  double tokens_ = 1e9; ///< in units of 1e-9 token
  std::int64_t last_ns_ = 0;
  bool started_ = false;
};

} // namespace bulwark::loadgen
