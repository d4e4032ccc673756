#include "scan/redact.hpp"

#include "crypto/hmac.hpp"
#include "scan/defuse.hpp"

namespace bulwark::scan {
namespace {

bool is_alnum(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

void append_masked(std::string_view span, std::string& out) {
  std::size_t alnum = 0;
  for (char c : span)
    alnum += is_alnum(c) ? 1 : 0;
  std::size_t seen = 0;
  for (char c : span) {
    if (!is_alnum(c)) {
      // Only ASCII separators survive; any other byte is masked too.
      out += static_cast<unsigned char>(c) < 0x80 ? c : '*';
      continue;
    }
    out += ++seen + 4 > alnum ? c : '*';
  }
}

/// Copies `text` to `out`, defused when the value carries an injection.
void append_plain(std::string_view text, bool defused, std::string& out) {
  if (defused) {
    defuse(text, out);
  } else {
    out.append(text);
  }
}

} // namespace

rewrite_result rewrite_value(std::string_view text, std::span<const match> matches,
                             const ruleset& rules, std::optional<action> override_action,
                             std::string& out, std::vector<action>& applied) {
  rewrite_result r;
  out.clear();
  applied.clear();
  for (const match& m : matches) {
    const rule_info& info = rules.rule(m.rule);
    applied.push_back(override_action.value_or(info.act));
    r.any_injection |= info.spec.cat == category::injection;
    r.drop_member |= applied.back() == action::drop;
  }
  if (r.drop_member) return r;

  std::size_t pos = 0;
  for (std::size_t i = 0; i < matches.size(); ++i) {
    const match& m = matches[i];
    append_plain(text.substr(pos, m.begin - pos), r.any_injection, out);
    const std::string_view span = text.substr(m.begin, m.end - m.begin);
    switch (applied[i]) {
    case action::tag:
      out += "[REDACTED:";
      out += rules.rule(m.rule).spec.id;
      out += ']';
      break;
    case action::hash: {
      // Keyed, so equal values get equal tokens across events and restarts
      // without the token being reversible by guessing.
      const crypto::digest d = crypto::hmac_sha256(rules.hash_key(), span);
      out += '[';
      out += rules.rule(m.rule).spec.id;
      out += ':';
      out += crypto::to_hex(std::span<const std::uint8_t>(d.data(), 6));
      out += ']';
      break;
    }
    case action::mask:
      append_masked(span, out);
      break;
    case action::defuse:
      defuse(span, out);
      break;
    case action::drop:
      break; // handled above
    }
    pos = m.end;
  }
  append_plain(text.substr(pos), r.any_injection, out);
  return r;
}

} // namespace bulwark::scan
