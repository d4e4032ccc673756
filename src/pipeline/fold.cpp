#include "pipeline/fold.hpp"

#include "core/json_writer.hpp"
#include "drift/json_reader.hpp"

#include <cmath>

namespace bulwark::pipeline::fold {
namespace {

constexpr std::string_view drift_prefix = "d/";
/// Bounds of what a record may carry: the stage never writes more.
constexpr std::size_t max_record = 1 << 20;
constexpr std::size_t max_text = 64 * 1024;

std::optional<severity> severity_of(std::string_view s) {
  for (severity v : {severity::low, severity::medium, severity::high, severity::critical})
    if (to_string(v) == s) return v;
  return std::nullopt;
}

const std::string* text_member(const drift::json::value& o, std::string_view name) {
  const drift::json::value* v = o.find(name);
  if (v == nullptr || !v->is_string() || v->text.size() > max_text) return nullptr;
  return &v->text;
}

} // namespace

std::string drift_fold_key(std::string_view drift_key) {
  std::string k(drift_prefix);
  k += drift_key;
  return k;
}

std::optional<std::string_view> drift_key_of(std::string_view fold_key) noexcept {
  if (!fold_key.starts_with(drift_prefix)) return std::nullopt;
  return fold_key.substr(drift_prefix.size());
}

std::int32_t partition_of(std::string_view key, std::int32_t partitions) noexcept {
  std::uint64_t h = 14695981039346656037ULL;
  for (const char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return partitions <= 0 ? 0
                         : static_cast<std::int32_t>(h % static_cast<std::uint64_t>(partitions));
}

void drift_values::values(std::vector<drift::feature_value>& out) const {
  out.clear();
  for (const feature& f : features) {
    switch (f.type) {
    case drift::feature_value::kind::number:
      out.push_back(drift::feature_value::of(f.number));
      break;
    case drift::feature_value::kind::text:
      out.push_back(drift::feature_value::of(std::string_view(f.text)));
      break;
    case drift::feature_value::kind::missing:
      out.push_back(drift::feature_value::missing());
      break;
    }
  }
}

std::string encode(std::string_view key, std::string_view model, timestamp_ms at, std::uint64_t ref,
                   std::span<const drift::feature_value> values) {
  json_writer w;
  w.begin_object();
  w.key("v").value(1).key("t").value("drift");
  w.key("key").value(key).key("model").value(model);
  w.key("at").value(std::int64_t{at}).key("ref").value(ref);
  w.key("x").begin_array();
  for (const drift::feature_value& v : values) {
    if (v.type == drift::feature_value::kind::number && std::isfinite(v.number))
      w.value(v.number);
    else if (v.type == drift::feature_value::kind::text)
      w.value(v.text);
    else // missing; a non-finite number (JSON events cannot carry one) too
      w.null();
  }
  w.end_array();
  w.end_object();
  return w.take();
}

std::string encode(const alert_request& r) {
  json_writer w;
  w.begin_object();
  w.key("v").value(1).key("t").value("alert");
  w.key("kind").value(r.kind).key("severity").value(to_string(r.level));
  w.key("source").value(r.source).key("auth").value(r.authenticated);
  w.key("model").value(r.model).key("rule").value(r.rule).key("title").value(r.title);
  w.key("evidence").value(r.evidence);
  w.key("at").value(std::int64_t{r.at});
  w.key("ref").begin_object();
  w.key("topic").value(r.ref.topic);
  w.key("partition").value(r.ref.partition);
  w.key("offset").value(r.ref.offset);
  w.key("line").value(r.ref.line);
  w.end_object();
  w.end_object();
  return w.take();
}

std::variant<drift_values, alert_request, std::string> decode(std::string_view value,
                                                              std::size_t features) {
  if (value.size() > max_record) return std::string("larger than 1 MiB");
  auto parsed = drift::json::parse(value, 8);
  if (auto* e = std::get_if<std::string>(&parsed)) return "not JSON: " + *e;
  const drift::json::value& o = std::get<drift::json::value>(parsed);
  if (!o.is_object()) return std::string("not a JSON object");
  const drift::json::value* v = o.find("v");
  if (v == nullptr || v->as_u64() != 1u) return std::string("not version 1");
  const std::string* t = text_member(o, "t");
  if (t == nullptr) return std::string("no record type");
  const drift::json::value* at = o.find("at");
  if (at == nullptr || !at->as_i64()) return std::string("no time");

  if (*t == "drift") {
    drift_values d;
    const std::string* key = text_member(o, "key");
    const std::string* model = text_member(o, "model");
    const drift::json::value* ref = o.find("ref");
    const drift::json::value* x = o.find("x");
    if (key == nullptr || model == nullptr) return std::string("drift: no key or model");
    if (ref == nullptr || !ref->as_u64()) return std::string("drift: no ref");
    if (x == nullptr || !x->is_array()) return std::string("drift: no values");
    if (x->items.size() != features)
      return "drift: " + std::to_string(x->items.size()) + " values for " +
             std::to_string(features) + " configured features";
    d.key = *key;
    d.model = *model;
    d.at = *at->as_i64();
    d.ref = *ref->as_u64();
    for (const drift::json::value& item : x->items) {
      drift_values::feature& f = d.features.emplace_back();
      if (item.is_null()) continue;
      if (item.is_string()) {
        if (item.text.size() > max_text) return std::string("drift: a value too long");
        f.type = drift::feature_value::kind::text;
        f.text = item.text;
      } else if (auto n = item.as_double()) {
        f.type = drift::feature_value::kind::number;
        f.number = *n;
      } else {
        return std::string("drift: a value neither number, text nor null");
      }
    }
    return d;
  }
  if (*t == "alert") {
    alert_request r;
    const std::string* kind = text_member(o, "kind");
    const std::string* sev = text_member(o, "severity");
    const std::string* source = text_member(o, "source");
    const std::string* model = text_member(o, "model");
    const std::string* rule = text_member(o, "rule");
    const std::string* title = text_member(o, "title");
    const std::string* evidence = text_member(o, "evidence");
    const drift::json::value* auth = o.find("auth");
    const drift::json::value* ref = o.find("ref");
    if (kind == nullptr || kind->empty() || sev == nullptr || source == nullptr ||
        model == nullptr || rule == nullptr || title == nullptr || evidence == nullptr)
      return std::string("alert: a member missing");
    const auto level = severity_of(*sev);
    if (!level) return std::string("alert: unknown severity");
    if (auth == nullptr || auth->type != drift::json::value::kind::boolean)
      return std::string("alert: no auth flag");
    if (ref == nullptr || !ref->is_object()) return std::string("alert: no ref");
    const std::string* topic = text_member(*ref, "topic");
    const drift::json::value* partition = ref->find("partition");
    const drift::json::value* offset = ref->find("offset");
    const drift::json::value* line = ref->find("line");
    if (topic == nullptr || partition == nullptr || offset == nullptr || line == nullptr ||
        !partition->as_i64() || !offset->as_i64() || !line->as_i64())
      return std::string("alert: a malformed ref");
    // The evidence goes into alert lines as it is: it must be one JSON object.
    if (!evidence->empty()) {
      auto ev = drift::json::parse(*evidence, 12);
      if (std::holds_alternative<std::string>(ev) || !std::get<drift::json::value>(ev).is_object())
        return std::string("alert: evidence is not a JSON object");
    }
    const std::int64_t p = *partition->as_i64();
    if (p < -1 || p > INT32_MAX) return std::string("alert: a malformed ref");
    r.kind = *kind;
    r.level = *level;
    r.source = *source;
    r.authenticated = auth->flag;
    r.model = *model;
    r.rule = *rule;
    r.title = *title;
    r.evidence = *evidence;
    r.at = *at->as_i64();
    r.ref.topic = *topic;
    r.ref.partition = static_cast<std::int32_t>(p);
    r.ref.offset = *offset->as_i64();
    r.ref.line = *line->as_i64();
    return r;
  }
  return std::string("unknown record type");
}

} // namespace bulwark::pipeline::fold
