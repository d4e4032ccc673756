#include "loadgen/options.hpp"

#include "crypto/keys.hpp"

#include <cmath>

namespace bulwark::loadgen {

std::string_view to_string(signing s) noexcept {
  switch (s) {
  case signing::body:
    return "body";
  case signing::header:
    return "header";
  case signing::none:
    return "none";
  }
  return "body";
}

std::optional<signing> parse_signing(std::string_view text) noexcept {
  if (text == "body") return signing::body;
  if (text == "header") return signing::header;
  if (text == "none") return signing::none;
  return std::nullopt;
}

bool attack_mix::any() const noexcept {
  return secret > 0 || pii > 0 || injection > 0 || prompt_leak > 0 || tamper > 0 || replay > 0 ||
         gap > 0 || unsigned_events > 0 || silence.count > 0 || poisoning.when.count > 0 ||
         flood.when.count > 0 || drift.step_sd > 0;
}

bool apply_preset(std::string_view name, options& opts) {
  if (name == "none") {
    opts.mix = attack_mix{};
    return true;
  }
  if (name != "demo") return false;
  attack_mix m;
  m.secret = 0.004;
  m.pii = 0.006;
  m.injection = 0.005;
  m.prompt_leak = 0.002;
  m.tamper = 0.0005;
  m.replay = 0.0005;
  m.gap = 0.0005;
  m.unsigned_events = 0.0005;
  // Episodes recur for as long as the run lasts; the first of each kind lands
  // inside the default 30 s of `bulwark demo`.
  m.silence = {1000, 5'000, 45'000, 12'000};
  m.poisoning.when = {1000, 3'000, 60'000, 15'000};
  m.flood.when = {1000, 10'000, 40'000, 4'000};
  m.flood.share = 0.5;
  m.flood.sources = 200;
  m.drift = {0.25, 2'000, 3};
  opts.mix = m;
  opts.metric_interval = 1'000;
  return true;
}

namespace {

std::optional<std::string> check_rate(std::string_view name, double v) {
  if (!(v >= 0.0 && v <= 1.0)) return std::string(name) + ": must be a fraction in [0, 1]";
  return std::nullopt;
}

std::optional<std::string> check_episode(std::string_view flag, const episode_plan& e) {
  const std::string n(flag);
  if (e.count < 0) return n + ": the episode count must not be negative";
  if (e.count == 0) return std::nullopt;
  if (e.first_at < 0) return n + "-first: must not be negative";
  if (e.duration <= 0) return n + "-for: must be positive";
  if (e.count > 1 && e.every < e.duration)
    return n + "-every: must be at least " + n + "-for when episodes repeat";
  return std::nullopt;
}

} // namespace

std::optional<std::string> validate(const options& o) {
  if (o.sources < 1 || o.sources > 100'000) return "sources: must be between 1 and 100000";
  if (!(o.clock_rate >= 0 && o.clock_rate <= 1e9)) return "clock-rate: must be in [0, 1e9]";
  if (o.metric_interval < 1) return "metric-interval: must be positive";
  if (!(o.log_share >= 0 && o.audit_share >= 0 && o.log_share + o.audit_share <= 1))
    return "log-share: log-share and audit-share must be fractions adding up to at most 1";
  if (o.kid.empty() || o.kid.find_first_of(":\"\\") != std::string::npos)
    return "kid: must be non-empty without ':', '\"' or '\\'";
  if (o.sign != signing::none) {
    auto key = crypto::decode_hex(o.key_hex);
    if (std::holds_alternative<crypto::key_error>(key) ||
        std::get<crypto::key_bytes>(key).size() < 16)
      return "key: must be at least 16 bytes of hex";
  }
  if (o.replay_memory < 1 || o.replay_memory > 1'000'000)
    return "replay-memory: must be between 1 and 1000000";
  const attack_mix& m = o.mix;
  for (auto [name, v] :
       {std::pair{"secret-rate", m.secret}, std::pair{"pii-rate", m.pii},
        std::pair{"injection-rate", m.injection}, std::pair{"prompt-leak-rate", m.prompt_leak},
        std::pair{"tamper-rate", m.tamper}, std::pair{"replay-rate", m.replay},
        std::pair{"gap-rate", m.gap}, std::pair{"unsigned-rate", m.unsigned_events}}) {
    if (auto e = check_rate(name, v)) return e;
  }
  const double sum = m.secret + m.pii + m.injection + m.prompt_leak + m.tamper + m.replay + m.gap +
                     m.unsigned_events;
  if (sum > 1.0) return "secret-rate: the eight attack rates must add up to at most 1";
  if (o.sign == signing::none && (m.tamper > 0 || m.unsigned_events > 0 || m.replay > 0))
    return "sign: none leaves nothing to tamper with, replay or leave unsigned";
  if (m.gap_max < 1 || m.gap_max > 1'000'000) return "gap-max: must be between 1 and 1000000";
  if (auto e = check_episode("silence", m.silence)) return e;
  if (auto e = check_episode("poison", m.poisoning.when)) return e;
  if (auto e = check_episode("flood", m.flood.when)) return e;
  if (m.silence.count > 0 && o.sources < 2) return "silence: needs at least 2 sources";
  if (m.poisoning.when.count > 0 && o.sources < 6)
    return "poison: needs at least 6 sources (peers to compare with)";
  if (auto e = check_rate("poison-impossible", m.poisoning.impossible_share)) return e;
  if (auto e = check_rate("flood-share", m.flood.share)) return e;
  if (m.flood.sources < 0 || m.flood.sources > 100'000)
    return "flood-sources: must be between 0 and 100000";
  if (!(m.drift.step_sd >= 0 && m.drift.step_sd <= 100)) return "drift-step: must be in [0, 100]";
  if (m.drift.window < 1) return "drift-window: must be positive";
  if (m.drift.start_window < 0) return "drift-start: must not be negative";
  return std::nullopt;
}

} // namespace bulwark::loadgen
