#include "config/options.hpp"

#include <algorithm>
#include <charconv>
#include <thread>

namespace bulwark::config {

int options::effective_workers() const noexcept {
  if (workers > 0) return workers;
  // hardware_concurrency() may report 0 when it cannot tell; one worker still runs.
  return static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
}

std::vector<std::string> inline_keys(const options& o) {
  std::vector<std::string> out;
  const auto inline_hex = [](const key_source& k) { return k.from == key_source::kind::hex; };
  if (inline_hex(o.rules.hash_key)) out.emplace_back("rules.hash_key");
  for (const auto& [kid, source] : o.integrity.keys)
    if (inline_hex(source)) out.push_back("integrity.keys." + kid);
  // The loader accepts only {file: …} here; a hand-built options struct may not.
  if (inline_hex(o.integrity.audit_signing_key)) out.emplace_back("integrity.audit_signing_key");
  return out;
}

bool is_valid_topic_name(std::string_view name) noexcept {
  constexpr std::size_t max_length = 249;
  if (name.empty() || name.size() > max_length || name == "." || name == "..") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

bool is_valid_writer_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), is_writer_id_char);
}

std::string audit_writer_id(const kafka_options& o, std::string_view host) {
  if (!o.audit_writer.empty()) return o.audit_writer;
  std::string id(host.substr(0, 128));
  for (char& c : id)
    if (!is_writer_id_char(c)) c = '-';
  return id.empty() ? std::string("bulwark") : id;
}

bool is_json_pointer(std::string_view text) noexcept {
  if (text.empty() || text.front() != '/') return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '~') continue;
    if (i + 1 == text.size() || (text[i + 1] != '0' && text[i + 1] != '1')) return false;
  }
  return true;
}

std::optional<host_port> split_host_port(std::string_view text) {
  std::string_view host;
  std::string_view port;
  if (text.starts_with('[')) {
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::nullopt;
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return std::nullopt;
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    // "::1:9464" could be read two ways; brackets make the port unambiguous.
    if (host.find(':') != std::string_view::npos) return std::nullopt;
  }
  if (host.empty() || port.empty() || port.size() > 5) return std::nullopt;
  if (std::any_of(host.begin(), host.end(),
                  [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == '/'; }))
    return std::nullopt;
  unsigned number = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (ec != std::errc{} || end != port.data() + port.size() || number > 65535) return std::nullopt;
  return host_port{std::string(host), static_cast<std::uint16_t>(number)};
}

} // namespace bulwark::config
