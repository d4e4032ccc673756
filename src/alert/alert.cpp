#include "alert/alert.hpp"

#include "core/json_writer.hpp"

#include <utility>

namespace bulwark::alert {
namespace {

/// OCSF's own captions for severity_id 2..5.
std::string_view ocsf_severity_name(severity s) noexcept {
  switch (s) {
  case severity::low:
    return "Low";
  case severity::medium:
    return "Medium";
  case severity::high:
    return "High";
  case severity::critical:
    return "Critical";
  }
  return "Unknown";
}

/// OCSF severity_id: 0 Unknown, 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical.
int ocsf_severity_id(severity s) noexcept {
  return static_cast<int>(s) + 2;
}

/// Both renderings write refs the same way; a ref with neither a line nor a
/// topic (a detector that had no input to point at) is left out.
void write_refs(json_writer& w, const std::vector<input_ref>& refs) {
  w.begin_array();
  for (const input_ref& r : refs) {
    if (r.line > 0) {
      w.begin_object().key("line").value(r.line).end_object();
    } else if (!r.topic.empty()) {
      w.begin_object();
      w.key("topic").value(r.topic);
      w.key("partition").value(std::int64_t{r.partition});
      w.key("offset").value(r.offset);
      w.end_object();
    }
  }
  w.end_array();
}

/// The finding identity shared by every record of one alert: the id without
/// its trailing record number (ids are `…-<first_seen>-<n>`).
std::string_view finding_uid(std::string_view id) noexcept {
  const std::size_t dash = id.rfind('-');
  return dash == std::string_view::npos ? id : id.substr(0, dash);
}

} // namespace

std::string_view to_string(output_format f) noexcept {
  return f == output_format::ocsf ? "ocsf" : "bulwark";
}

std::string render_json(const alert& a) {
  json_writer w;
  w.begin_object();
  w.key("v").value(1);
  w.key("id").value(a.id);
  w.key("ts").value(format_rfc3339(a.ts));
  w.key("severity").value(to_string(a.level));
  w.key("kind").value(a.kind);
  w.key("title").value(a.title);
  w.key("source").value(a.source);
  w.key("model").value(a.model);
  w.key("fingerprint").value(a.fingerprint);
  w.key("count").value(a.count);
  w.key("first_seen").value(format_rfc3339(a.first_seen));
  w.key("last_seen").value(format_rfc3339(a.last_seen));
  // The engine guarantees a checked JSON object; an empty string (a
  // hand-built alert) still renders valid JSON.
  w.key("evidence").raw(a.evidence.empty() ? std::string_view{"{}"} : a.evidence);
  w.key("refs");
  write_refs(w, a.refs);
  w.end_object();
  return w.take();
}

std::string render_ocsf(const alert& a, std::string_view product_version) {
  // activity: Create for the first record of an alert, Update for later
  // records, Close when the engine closes it (flood end).
  const bool closed = a.status == alert_status::closed;
  const int activity = closed ? 3 : (a.update <= 1 ? 1 : 2);
  static constexpr std::string_view activity_names[] = {"", "Create", "Update", "Close"};
  const std::string_view activity_name = activity_names[activity];

  json_writer w;
  w.begin_object();
  w.key("activity_id").value(activity);
  w.key("activity_name").value(activity_name);
  w.key("category_uid").value(2);
  w.key("category_name").value("Findings");
  w.key("class_uid").value(2004);
  w.key("class_name").value("Detection Finding");
  w.key("type_uid").value(std::int64_t{2004} * 100 + activity);
  w.key("type_name").value("Detection Finding: " + std::string(activity_name));
  w.key("time").value(a.ts);
  w.key("severity_id").value(ocsf_severity_id(a.level));
  w.key("severity").value(ocsf_severity_name(a.level));
  // Finding status: New while bulwark keeps reporting it, Resolved once closed.
  w.key("status_id").value(closed ? 4 : 1);
  w.key("status").value(closed ? "Resolved" : "New");
  w.key("is_alert").value(!closed);
  w.key("message").value(a.title);
  w.key("count").value(a.count);
  w.key("start_time").value(a.first_seen);
  w.key("end_time").value(a.last_seen);

  w.key("finding_info").begin_object();
  w.key("uid").value(finding_uid(a.id));
  w.key("title").value(a.title);
  w.key("types").begin_array().value(a.kind).end_array();
  w.key("first_seen_time").value(a.first_seen);
  w.key("last_seen_time").value(a.last_seen);
  if (!a.rule.empty()) {
    w.key("analytic").begin_object();
    w.key("name").value(a.rule);
    w.key("type_id").value(1);
    w.key("type").value("Rule");
    w.end_object();
  }
  w.end_object();

  w.key("metadata").begin_object();
  w.key("version").value("1.3.0");
  w.key("uid").value(a.id);
  w.key("product").begin_object();
  w.key("name").value("bulwark");
  w.key("vendor_name").value("bulwark");
  w.key("version").value(product_version);
  w.end_object();
  w.end_object();

  w.key("evidences").begin_array().begin_object();
  w.key("name").value(a.kind);
  w.key("data").raw(a.evidence.empty() ? std::string_view{"{}"} : a.evidence);
  w.end_object().end_array();

  // Observables: the identifiers a SIEM correlates on. type_id 99 (Other):
  // a telemetry source or model name fits none of OCSF's typed observables.
  w.key("observables").begin_array();
  const auto observable = [&](std::string_view name, std::string_view value) {
    if (value.empty()) return;
    w.begin_object();
    w.key("name").value(name);
    w.key("type_id").value(99);
    w.key("type").value("Other");
    w.key("value").value(value);
    w.end_object();
  };
  observable("source", a.source);
  observable("model", a.model);
  w.end_array();

  w.key("unmapped").begin_object();
  w.key("fingerprint").value(a.fingerprint);
  w.key("source_verified").value(a.authenticated);
  w.key("refs");
  write_refs(w, a.refs);
  w.end_object();

  w.end_object();
  return w.take();
}

std::string render(const alert& a, output_format f) {
  return f == output_format::ocsf ? render_ocsf(a) : render_json(a);
}

line_sink::line_sink(output_format format, std::function<void(std::string_view line)> write,
                     std::string product_version)
    : format_(format), write_(std::move(write)), product_version_(std::move(product_version)) {}

void line_sink::emit(const alert& a) {
  const std::string line =
      format_ == output_format::ocsf ? render_ocsf(a, product_version_) : render_json(a);
  write_(line);
}

} // namespace bulwark::alert
