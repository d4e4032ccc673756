#pragma once
/// The alert record of SPEC §6 and its two renderings: bulwark's own JSON line
/// and an OCSF Detection Finding (class 2004) for SIEMs. An `alert` is what the
/// engine emits; sinks (the alerts topic, the `--alerts` file, Alertmanager)
/// only render or forward it. Field mapping: docs/alerts.md.
#include "core/alert_request.hpp"
#include "core/time.hpp"
#include "core/verdict.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::alert {

/// Whether an alert is still open. Only the engine's own `flood` alert is ever
/// closed explicitly; other alerts simply stop being updated and expire.
enum class alert_status : std::uint8_t { active, closed };

/// One emitted alert record. Every string in it has passed the engine's
/// sanitising (bounded identifiers, clipped title, checked evidence).
struct alert {
  // --- SPEC §6 members, rendered in this order ---
  std::string id;      ///< unique per record: see docs/alerts.md "ids"
  timestamp_ms ts = 0; ///< when this record was emitted (engine clock)
  severity level = severity::medium;
  std::string kind;        ///< SPEC §6 kind
  std::string title;       ///< one line for humans
  std::string source;      ///< authenticated source; "" when unverified (see evidence)
  std::string model;       ///< model name, "" when none
  std::string fingerprint; ///< 16 hex digits naming the fold (same for all its records)
  std::uint64_t count = 0; ///< occurrences folded into this alert so far
  timestamp_ms first_seen = 0;
  timestamp_ms last_seen = 0;
  std::string evidence = "{}"; ///< a JSON object
  std::vector<input_ref> refs; ///< first occurrence, then the most recent ones

  // --- not part of the bulwark line; used by OCSF and Alertmanager ---
  std::string rule;           ///< what fired (rule id, feature, metric)
  bool authenticated = false; ///< `source` was proven by a signature
  std::uint32_t update = 1;   ///< 1 for the first record of this alert, then 2, 3, …
  alert_status status = alert_status::active;
  /// Until when the alert counts as active without further records: the
  /// engine forgets it then (Alertmanager's endsAt upper bound). For a closed
  /// alert, the close time.
  timestamp_ms expires = 0;
};

/// How alert lines are written (`alerts.format`).
enum class output_format : std::uint8_t { bulwark, ocsf };

/// The `alerts.format` value naming `f`.
std::string_view to_string(output_format f) noexcept;

/// SPEC §6 line: `{"v":1,"id":…,"ts":…,…,"refs":[…]}` without a newline.
std::string render_json(const alert& a);

/// OCSF 1.3 Detection Finding (class_uid 2004) as one JSON line.
std::string render_ocsf(const alert& a, std::string_view product_version = "0.1.0");

/// render_json or render_ocsf.
std::string render(const alert& a, output_format f);

/// Where the engine puts the alerts it decides to emit. emit() must not block:
/// a slow destination buffers (see alertmanager_buffer) instead.
class alert_sink {
public:
  virtual ~alert_sink() = default;
  /// Receives one record; the reference is valid only during the call.
  virtual void emit(const alert& a) = 0;

protected:
  alert_sink() = default;
  alert_sink(const alert_sink&) = default;
  alert_sink& operator=(const alert_sink&) = default;
};

/// Renders each alert in the configured format and hands the line (without a
/// newline) to a writer: the alerts topic producer or the `--alerts` file.
class line_sink final : public alert_sink {
public:
  /// `write` is called once per alert, synchronously.
  line_sink(output_format format, std::function<void(std::string_view line)> write,
            std::string product_version = "0.1.0");
  void emit(const alert& a) override;

private:
  output_format format_;
  std::function<void(std::string_view)> write_;
  std::string product_version_;
};

} // namespace bulwark::alert
