#include "loadgen/label.hpp"

#include "core/json_writer.hpp"

namespace bulwark::loadgen {

std::string_view to_string(attack_kind k) noexcept {
  switch (k) {
  case attack_kind::secret:
    return "secret";
  case attack_kind::pii:
    return "pii";
  case attack_kind::injection:
    return "injection";
  case attack_kind::prompt_leak:
    return "prompt_leak";
  case attack_kind::tamper:
    return "integrity.tamper";
  case attack_kind::replay:
    return "integrity.replay";
  case attack_kind::gap:
    return "integrity.gap";
  case attack_kind::silence:
    return "integrity.silence";
  case attack_kind::unsigned_event:
    return "integrity.unsigned";
  case attack_kind::poisoning:
    return "poisoning";
  case attack_kind::rollback_guard:
    return "rollback_guard";
  case attack_kind::drift:
    return "drift";
  case attack_kind::flood:
    return "flood";
  }
  return "unknown";
}

void append_label_lines(std::string& out, const label& l) {
  for (const attack& a : l.attacks) {
    json_writer w;
    w.begin_object();
    w.key("index").value(l.index);
    w.key("ts").value(format_rfc3339(l.ts));
    w.key("source").value(l.source);
    w.key("seq").value(l.seq);
    w.key("epoch").value(l.epoch);
    w.key("request_id").value(l.request_id);
    w.key("kind").value(to_string(a.kind));
    w.key("variant").value(a.variant);
    w.key("path").value(a.path);
    w.key("canaries").begin_array();
    for (const std::string& c : a.canaries)
      w.value(c);
    w.end_array();
    w.key("detail").raw(a.detail.empty() ? std::string_view{"{}"} : std::string_view{a.detail});
    w.end_object();
    out += w.str();
    out += '\n';
  }
}

} // namespace bulwark::loadgen
