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
  std::string dlq_topic = "bulwark.dlq";
  std::string quarantine_topic = "bulwark.quarantine";
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

struct drift_feature {
  std::string path;
  enum class type : std::uint8_t { numeric, categorical };
  type kind = type::numeric;
};

struct drift_options {
  std::string event_time = "/ts";
  std::vector<std::string> key{"/model"};
  duration window = std::chrono::hours(1);
  int reference_windows = 24; ///< reference: {windows: N}
  std::string reference_file; ///< reference: {file: PATH}; when set, windows is unused
  std::vector<drift_feature> features;
};

struct integrity_options {
  std::string event_time = "/ts";
  std::map<std::string, key_source> keys;     ///< key id -> source
  std::vector<std::string> require_signature; ///< source name patterns (`*` wildcard)
  duration silence_after = std::chrono::minutes(5);
  duration max_skew = std::chrono::minutes(2);
  std::size_t replay_window = 1024;
  /// Key id. Empty means the first of `keys`; since `keys` is sorted, the
  /// loader resolves that to the first key *in file order*. After loading it
  /// is empty only when there are no keys or `audit_signing_key` is set.
  std::string audit_key;
  key_source audit_signing_key; ///< {file: key.pem}: Ed25519 instead of HMAC
};

struct alerts_options {
  enum class output_format : std::uint8_t { bulwark, ocsf };
  output_format format = output_format::bulwark;
  std::string alertmanager; ///< base URL, empty: off
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

/// Kafka's own rule: 1-249 characters of a-z A-Z 0-9 . _ - and not "." or "..".
bool is_valid_topic_name(std::string_view name) noexcept;

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
