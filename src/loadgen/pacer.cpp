#include "loadgen/pacer.hpp"

#include <algorithm>
#include <cmath>

namespace bulwark::loadgen {

pacer::pacer(double rate, double burst) noexcept
    : rate_(rate > 0 ? rate : 0), burst_(burst >= 1 ? burst : std::max(1.0, rate / 100.0)) {}

void pacer::refill(std::int64_t now_ns) noexcept {
  if (!started_) {
    started_ = true;
    last_ns_ = now_ns;
    return;
  }
  // A clock that steps back (it should not) adds nothing rather than draining.
  if (now_ns <= last_ns_) return;
  // In nano-tokens, so integer rates and clock readings add up exactly.
  tokens_ = std::min(burst_ * 1e9, tokens_ + static_cast<double>(now_ns - last_ns_) * rate_);
  last_ns_ = now_ns;
}

bool pacer::try_take(std::int64_t now_ns) noexcept {
  if (unlimited()) return true;
  refill(now_ns);
  if (tokens_ < 1e9) return false;
  tokens_ -= 1e9;
  return true;
}

std::int64_t pacer::wait_ns(std::int64_t now_ns) noexcept {
  if (unlimited()) return 0;
  refill(now_ns);
  if (tokens_ >= 1e9) return 0;
  return static_cast<std::int64_t>(std::ceil((1e9 - tokens_) / rate_));
}

} // namespace bulwark::loadgen
