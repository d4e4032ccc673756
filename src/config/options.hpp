#pragma once
/// Typed options for every section of the configuration file (SPEC §2).
/// Plain structs with defaults: an empty file means exactly these values.
/// Domain modules may include this header (it has no dependencies beyond std);
/// only src/config/ knows YAML.
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::config {

using duration = std::chrono::milliseconds;

/// Where key material comes from. Exactly one of the three is set. The key
/// itself is read later, by the module that needs it (never printed).
struct key_source {
  enum class kind : std::uint8_t { none, hex, file, env };
  kind from = kind::none;
  std::string value; ///< the hex text, the file path or the variable name
};

struct limits_options {
  std::size_t max_event_bytes = 1048576; ///< larger records are rejected to the DLQ
  std::size_t max_depth = 64;            ///< deeper nesting is rejected
};

struct kafka_options {
  std::string brokers = "embedded";
  std::string group_id = "bulwark";
  bool exactly_once = false;
  std::vector<std::string> inputs{"telemetry"};
  std::string sanitized_suffix = ".sanitized";
  std::string alerts_topic = "bulwark.alerts";
  std::string audit_topic = "bulwark.audit";
  /// Who writes the audit chain: the Kafka key of this instance's audit
  /// records, so that instances sharing the audit topic each keep their own
  /// chain (docs/audit.md). "" (the default): the host name.
  std::string audit_writer;
  std::string dlq_topic = "bulwark.dlq";
  std::string quarantine_topic = "bulwark.quarantine";
  /// Per-source integrity state, checkpointed and restored across rebalances
  /// and restarts (docs/integrity.md); "" turns the changelog off.
  std::string integrity_state_topic = "bulwark.integrity.state";
  /// Several instances: drift values and non-critical alert occurrences go
  /// through this topic to the one instance that owns their key (consumer
  /// group `<group_id>.fold`), and drift state through `<fold_topic>.state`
  /// (docs/deployment.md); "" (the default) keeps them in each instance.
  std::string fold_topic;
  int embedded_partitions = 8;
  std::map<std::string, std::string> properties; ///< passed through to librdkafka
};

struct system_prompt {
  std::string name;
  std::string file; ///< exactly one of file / text is set
  std::string text;
};

/// The built-in rule packs (configs/rules/<name>.yaml); `rules.packs` may name only these.
inline constexpr std::array<std::string_view, 4> known_rule_packs{"secrets", "pii", "injection",
                                                                  "prompt_injection"};

struct rules_options {
  std::vector<std::string> packs{"secrets", "pii", "injection", "prompt_injection"};
  std::vector<std::string> extra; ///< user rule files
  std::vector<system_prompt> system_prompts;
  std::string action = "tag"; ///< tag | hash | mask | drop | defuse
  key_source hash_key{key_source::kind::env, "BULWARK_HASH_KEY"};
};

struct policy {
  std::string path;   ///< JSON pointer; `*` matches one segment
  std::string action; ///< tag | hash | mask | drop | defuse
};

/// Effect-size floors of the drift tests: a change smaller than these is not
/// alerted however significant. Unset members fall back to the section's.
struct drift_floors {
  std::optional<double> psi;
  std::optional<double> js;
  std::optional<double> shift; ///< |mean of u - 0.5|, u = the reference quantile
};

struct drift_feature {
  std::string path;
  enum class type : std::uint8_t { numeric, categorical };
  type kind = type::numeric;
  drift_floors floors{}; ///< per-feature overrides of `drift.floors`
};

/// A longer scale: the last `windows` windows, evaluated every `step` windows.
struct drift_scale {
  std::uint32_t windows = 24;
  std::uint32_t step = 1;
};

struct drift_options {
  std::string event_time = "/ts";
  std::vector<std::string> key{"/model"};
  duration window = std::chrono::hours(1);
  int reference_windows = 24; ///< reference: {windows: N}
  std::string reference_file; ///< reference: {file: PATH}; when set, windows is unused
  std::vector<drift_feature> features;

  // Beyond SPEC §2 (docs/configuration.md, docs/drift.md).
  /// Events this far behind the newest window still count; unset: 5m, at most 8 windows.
  std::optional<duration> allowed_lateness;
  std::size_t max_keys = 256;
  std::uint32_t evict_idle_windows = 0;
  std::vector<drift_scale> scales{{24, 1}, {168, 24}};
  std::uint32_t bins = 32;
  std::uint32_t max_categories = 32;
  std::uint64_t min_window_events = 100;
  std::uint64_t min_pane_events = 30;
  double false_alarm_windows = 100'000;
  drift_floors floors{0.10, 0.10, 0.014};
  drift_floors large{0.25, 0.18, 0.138}; ///< severity high at or above
  double cusum_slack = 0.5;
  std::uint32_t repeat_windows = 24;
};

/// When a signing key may be used (inclusive bounds, epoch milliseconds).
struct key_window {
  std::optional<std::int64_t> not_before;
  std::optional<std::int64_t> not_after;
};

/// Peer comparison of metric events (`integrity.poisoning`).
struct poisoning_options {
  duration window = std::chrono::minutes(1);
  std::size_t min_peers = 4;
  double z_threshold = 6.0;
  std::size_t persistence = 2;
  std::size_t persistence_lookback = 5;
  duration untrusted_for = std::chrono::hours(1);
  double rollback_min_z = 2.0;
  std::vector<std::string> non_negative{"*latency*", "*_ms", "*_seconds", "*duration*"};
  std::vector<std::string> unit_interval{"*error_rate*", "*err_rate*",  "*failure_rate*",
                                         "*accuracy*",   "*precision*", "*recall*"};
  std::vector<std::string> higher_is_worse{"*latency*", "*_ms",      "*_seconds", "*duration*",
                                           "*error*",   "*failure*", "*loss*"};
  std::vector<std::string> lower_is_worse{"*accuracy*", "*precision*", "*recall*", "*auc*", "*f1*"};
};

struct integrity_options {
  std::string event_time = "/ts";
  std::map<std::string, key_source> keys;        ///< key id -> source
  std::map<std::string, key_window> key_windows; ///< key id -> rotation window (keys.<id>.not_*)
  std::vector<std::string> require_signature;    ///< source name patterns (`*` wildcard)
  duration silence_after = std::chrono::minutes(5);
  duration max_skew = std::chrono::minutes(2);
  std::size_t replay_window = 1024;
  /// Key id. Empty means the first of `keys`; since `keys` is sorted, the
  /// loader resolves that to the first key *in file order*. After loading it
  /// is empty only when there are no keys or `audit_signing_key` is set.
  std::string audit_key;
  key_source audit_signing_key; ///< {file: key.pem}: Ed25519 instead of HMAC

  // Beyond SPEC §2 (docs/configuration.md, docs/integrity.md).
  std::uint64_t reorder_tolerance = 64; ///< numbers this far behind the newest are not a gap yet
  std::uint64_t reset_max_seq = 16;     ///< a restart at or below this without a new epoch: reset
  std::size_t watermark_quorum = 3;     ///< sources that must agree before the watermark moves
  std::size_t max_sources = 16384;
  std::size_t max_streams = 16384;
  std::size_t max_epochs_per_source = 4;
  poisoning_options poisoning;
};

/// Alertmanager-like timers of one severity or kind; unset members keep the
/// severity's (for a kind) or the built-in default (for a severity).
struct alert_timers {
  std::optional<duration> group_wait;
  std::optional<duration> group_interval;
  std::optional<duration> repeat_interval; ///< 0: never re-emitted
  std::optional<duration> resolve_timeout;
};

/// A token bucket: `burst` records at once, then one per `refill_every`.
struct alert_budget {
  std::uint32_t burst = 10;
  duration refill_every = std::chrono::seconds(6);
};

struct alert_flood_options {
  duration window = std::chrono::seconds(10);
  std::uint64_t enter = 200; ///< noise findings in the window that start a flood
  std::uint64_t exit = 50;   ///< ... and below which it may end
  duration quiet_for = std::chrono::minutes(1);
  duration update_interval = std::chrono::seconds(30);
  std::size_t top = 10; ///< sources and kinds named
};

/// The four severities, in order.
inline constexpr std::array<std::string_view, 4> severity_names{"low", "medium", "high",
                                                                "critical"};

struct alerts_options {
  enum class output_format : std::uint8_t { bulwark, ocsf };
  output_format format = output_format::bulwark;
  std::string alertmanager; ///< base URL, empty: off

  // Beyond SPEC §2 (docs/configuration.md, docs/alerts.md).
  std::array<alert_timers, 4> timers;        ///< by severity (low … critical)
  std::map<std::string, alert_timers> kinds; ///< by alert kind
  alert_budget per_source{10, std::chrono::seconds(6)};
  alert_budget unverified{10, std::chrono::seconds(6)};
  alert_budget global{100, std::chrono::seconds(1)};
  alert_flood_options flood;
  std::size_t max_alerts = 2048;  ///< low/medium alerts tracked for folding (and high/critical)
  std::size_t max_sources = 4096; ///< per-source budgets tracked
};

struct http_options {
  std::string listen = "127.0.0.1:9464"; ///< host:port; port 0 = ephemeral
};

/// The whole configuration.
struct options {
  int workers = 0; ///< pipeline threads; 0 = one per core
  limits_options limits;
  kafka_options kafka;
  rules_options rules;
  std::vector<policy> policies;
  drift_options drift;
  integrity_options integrity;
  alerts_options alerts;
  http_options http;

  /// The directory of the configuration file: relative paths in it (rule
  /// files, prompt files, key files) are resolved against it.
  std::string base_dir = ".";

  /// `workers` resolved: 0 becomes the number of hardware threads (at least 1).
  int effective_workers() const noexcept;
};

/// The configuration paths of the keys given inline (`{hex: …}`), in a fixed
/// order: `rules.hash_key`, then `integrity.keys.<kid>` by key id, then
/// `integrity.audit_signing_key`. Inline keys stay valid (tests, demos) but sit
/// in a file that is copied, versioned and shown around; `run` warns with these
/// paths. Never the key material itself.
std::vector<std::string> inline_keys(const options& o);

/// Kafka's own rule: 1-249 characters of a-z A-Z 0-9 . _ - and not "." or "..".
bool is_valid_topic_name(std::string_view name) noexcept;

/// A character an audit writer id may hold: a-z A-Z 0-9 . _ - : (an id is
/// shown by `bulwark verify` and in logs, so nothing that could inject markup
/// or terminal controls).
constexpr bool is_writer_id_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == ':';
}

/// An audit writer id: 1-128 writer-id characters.
bool is_valid_writer_id(std::string_view id) noexcept;

/// The audit writer id an instance uses: `kafka.audit_writer`, else `host`
/// (the host name) with every character outside the writer-id set replaced
/// by '-' and cut to 128 characters, else "bulwark".
std::string audit_writer_id(const kafka_options& o, std::string_view host);

/// An RFC 6901 JSON pointer: starts with "/", and every "~" is followed by 0 or 1.
/// (A `*` segment is a wildcard for the modules that support it; it is valid here.)
bool is_json_pointer(std::string_view text) noexcept;

/// A listen address split into its parts; an IPv6 host is returned without brackets.
struct host_port {
  std::string host;
  std::uint16_t port = 0;
};

/// Splits "host:port" or "[v6]:port" (port 0-65535, host non-empty).
/// A bare IPv6 address without brackets is ambiguous and rejected.
std::optional<host_port> split_host_port(std::string_view text);

} // namespace bulwark::config
