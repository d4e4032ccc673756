#pragma once
/// Two small rate primitives in integer milliseconds (no floating-point drift,
/// exact under a fake clock): a token bucket for emission budgets and a
/// sliding-window counter for flood detection.
#include "core/time.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace bulwark::alert {

/// A budget: up to `burst` tokens, one more every `refill_every` ms.
struct budget {
  std::uint32_t burst = 10;
  std::int64_t refill_every = 10'000;
};

/// Token bucket state; the budget is passed in so that thousands of buckets
/// share one settings object.
class token_bucket {
public:
  token_bucket() = default;
  /// A new bucket starts full at `now`.
  token_bucket(const budget& b, timestamp_ms now) : tokens_(b.burst), stamp_(now) {}

  /// Tokens available at `now` (refills first).
  std::int64_t available(const budget& b, timestamp_ms now) noexcept {
    refill(b, now);
    return tokens_;
  }
  /// Takes one token; the caller checked available() >= 1.
  void take() noexcept { --tokens_; }
  /// When the next token arrives (meaningful when none is available).
  timestamp_ms next_token_at(const budget& b) const noexcept { return stamp_ + b.refill_every; }
  /// Whether the bucket is full, i.e. forgetting it loses nothing.
  bool full(const budget& b, timestamp_ms now) noexcept { return available(b, now) >= b.burst; }

private:
  void refill(const budget& b, timestamp_ms now) noexcept {
    if (now <= stamp_ || b.refill_every <= 0) return;
    const std::int64_t earned = (now - stamp_) / b.refill_every;
    if (earned == 0) return;
    tokens_ = std::min<std::int64_t>(b.burst, tokens_ + earned);
    // Keep the fractional progress toward the next token, unless full.
    stamp_ = tokens_ >= b.burst ? now : stamp_ + earned * b.refill_every;
  }

  std::int64_t tokens_ = 0;
  timestamp_ms stamp_ = 0;
};

/// Occurrences within the last `window` ms, in `slots` sub-buckets: the sum is
/// exact to one slot width (window / slots). Fixed memory.
class rate_window {
public:
  static constexpr std::size_t slots = 10;

  explicit rate_window(std::int64_t window_ms = 10'000)
      : width_(std::max<std::int64_t>(1, window_ms / static_cast<std::int64_t>(slots))) {}

  void add(timestamp_ms now, std::uint64_t n) noexcept {
    roll(now);
    counts_[slot(head_)] += n;
    sum_ += n;
  }
  /// Occurrences in the window ending at `now`.
  std::uint64_t sum(timestamp_ms now) noexcept {
    roll(now);
    return sum_;
  }
  std::int64_t window_ms() const noexcept { return width_ * static_cast<std::int64_t>(slots); }

private:
  void roll(timestamp_ms now) noexcept {
    // Floor division: event times before 1970 are negative.
    const std::int64_t idx = now >= 0 ? now / width_ : -((-now + width_ - 1) / width_);
    if (!started_) {
      head_ = idx;
      started_ = true;
      return;
    }
    if (idx <= head_) return; // time never moves the window back
    const std::int64_t steps = std::min<std::int64_t>(idx - head_, slots);
    for (std::int64_t k = 1; k <= steps; ++k) {
      auto& c = counts_[slot(head_ + k)];
      sum_ -= c;
      c = 0;
    }
    head_ = idx;
  }

  static std::size_t slot(std::int64_t index) noexcept {
    constexpr auto n = static_cast<std::int64_t>(slots);
    return static_cast<std::size_t>(((index % n) + n) % n);
  }

  std::int64_t width_;
  std::array<std::uint64_t, slots> counts_{};
  std::uint64_t sum_ = 0;
  std::int64_t head_ = 0;
  bool started_ = false;
};

} // namespace bulwark::alert
