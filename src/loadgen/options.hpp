#pragma once
/// Settings of the fleet simulator. Plain structs with documented defaults;
/// everything is in simulated (event) time unless a name says otherwise.
///
/// Rates (`secret`, `pii`, …) are fractions of the *drawn* events: every event
/// except the scheduled ones (periodic metrics, flood junk, the rollback that
/// ends a poisoning episode); a replay counts as drawn. Each drawn event
/// carries at most one drawn attack. Episodic attacks (silence, poisoning,
/// flood) follow an `episode_plan`; drift is continuous.
#include "core/time.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::loadgen {

/// How events are signed (SPEC §4).
enum class signing : std::uint8_t {
  body,   ///< `"sig":{"kid":…,"mac":…}` as the last member
  header, ///< the Kafka header `bw-sig: <kid>:<hex>` over the whole value
  none,   ///< nothing is signed
};

/// `body`, `header`, `none`.
std::string_view to_string(signing s) noexcept;
/// The inverse of `to_string`; nothing for another word.
std::optional<signing> parse_signing(std::string_view text) noexcept;

/// The demo HMAC key (hex of "bulwark-loadgen demo key, public"). DEMO ONLY: it
/// is published in the source, so events signed with it prove nothing.
inline constexpr std::string_view demo_key_hex =
    "62756c7761726b2d6c6f616467656e2064656d6f206b65792c207075626c6963";

/// A recurring episode: starts at `start + first_at + k·every` for k < count,
/// lasts `duration`.
struct episode_plan {
  int count = 0;                   ///< number of episodes; 0 = off
  timestamp_ms first_at = 60'000;  ///< offset of the first start from the clock's start [1m]
  timestamp_ms every = 900'000;    ///< start-to-start spacing, ≥ duration when count > 1 [15m]
  timestamp_ms duration = 360'000; ///< length of one episode [6m]
};

/// One source reports lying metrics for a while; a rollback follows.
struct poisoning_plan {
  episode_plan when{0, 120'000, 1'800'000, 300'000}; ///< [off, 2m, 30m, 5m]
  double impossible_share = 0.25; ///< of its metrics: impossible (negative latency,
                                  ///< rate or accuracy > 1); the rest are outliers [0.25]
  bool rollback = true;           ///< an audit rollback of its model when the episode ends [true]
};

/// Bursts of junk injection findings.
struct flood_plan {
  episode_plan when{0, 180'000, 900'000, 60'000}; ///< [off, 3m, 15m, 1m]
  double share = 0.5; ///< fraction of the events during a burst that are junk [0.5]
  /// 0: junk comes from the fleet's own (signed) servers; N > 0: from N extra
  /// unsigned sources `edge-1`…`edge-N` (outsiders spraying the intake) [0]
  int sources = 0;
};

/// The boiling frog: `/features/amount` of the fraud model moves a little
/// every window, after a clean reference period.
struct drift_plan {
  double step_sd = 0.0; ///< shift per window in reference standard deviations; 0 = off [0]
  timestamp_ms window = 3'600'000; ///< the drift window (match `drift.window`) [1h]
  int start_window = 24;           ///< windows before this one are clean (the reference) [24]
};

/// Which attacks, how often. All off by default.
struct attack_mix {
  double secret = 0;      ///< AWS keys, GitHub tokens, passwords, PEM keys
  double pii = 0;         ///< e-mails, phones, cards (Luhn), IBANs (mod 97), SSNs
  double injection = 0;   ///< <script>, forged log lines, escapes, ${jndi:…}, prompt injection
  double prompt_leak = 0; ///< system prompt echoed in the output
  double tamper = 0;      ///< edited after signing
  double replay = 0;      ///< an earlier signed event re-sent verbatim
  double gap = 0;         ///< the source skips 1..gap_max sequence numbers
  double unsigned_events = 0; ///< no signature from a signing source
  int gap_max = 5;            ///< largest number of skipped sequence numbers [5]
  episode_plan silence;       ///< a source stops sending [off, 1m, 15m, 6m]
  poisoning_plan poisoning;
  flood_plan flood;
  drift_plan drift;

  /// True when any attack is on.
  bool any() const noexcept;
};

/// The fleet model.
struct options {
  std::uint64_t seed = 1; ///< same seed and options → same bytes [1]
  int sources = 24;       ///< model servers srv-1…srv-N; srv-i serves model (i-1) mod 3 [24]
  timestamp_ms start = 1'795'737'600'000; ///< the simulated clock's start [2026-11-27T00:00:00Z]
  /// Events per simulated second (how fast `ts` advances); 0 = the run's
  /// target rate, or 1000 when unpaced [0]
  double clock_rate = 0;
  timestamp_ms metric_interval = 10'000; ///< each server reports its 3 metrics this often [10s]
  double log_share = 0.25;               ///< of the drawn events: application logs [0.25]
  double audit_share = 0.001;        ///< of the drawn events: deploy/config audit events [0.001]
  signing sign = signing::body;      ///< [body]
  std::string kid = "k1";            ///< key id in signatures [k1]
  std::string key_hex{demo_key_hex}; ///< the HMAC key as hex [the demo key]
  std::size_t replay_memory = 512;   ///< recent clean signed events kept for replays [512]
  attack_mix mix;
};

/// Applies a named attack preset: `none` (everything off) or `demo` (every
/// attack of SPEC §6, paced for a run whose simulated clock follows the wall
/// clock: episodes within seconds, metrics every second, a 2 s drift window).
/// The demo preset also sets `metric_interval`. False for an unknown name.
bool apply_preset(std::string_view name, options& opts);

/// Checks the options; the message names the offending option, e.g.
/// "sources: must be between 1 and 100000".
std::optional<std::string> validate(const options& opts);

} // namespace bulwark::loadgen
