#include "integrity/signature.hpp"

#include <algorithm>
#include <cstring>

namespace bulwark::integrity {
namespace {

constexpr std::size_t npos = std::string_view::npos;

bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

std::size_t skip_ws(std::string_view s, std::size_t i) noexcept {
  while (i < s.size() && is_ws(s[i]))
    ++i;
  return i;
}

/// `i` is at an opening quote; returns the index one past the closing quote,
/// or npos when the string does not end. Jumps from quote to quote (memchr);
/// a quote is escaped exactly when an odd number of backslashes precede it.
std::size_t end_of_string(std::string_view s, std::size_t i) noexcept {
  for (std::size_t from = i + 1; from < s.size();) {
    const void* hit = std::memchr(s.data() + from, '"', s.size() - from);
    if (hit == nullptr) return npos;
    const auto q = static_cast<std::size_t>(static_cast<const char*>(hit) - s.data());
    std::size_t b = q;
    while (b > i + 1 && s[b - 1] == '\\')
      --b;
    if ((q - b) % 2 == 0) return q + 1;
    from = q + 1;
  }
  return npos;
}

/// `i` is at the first byte of a value; returns one past its end, or npos.
/// Containers are skipped with a depth counter (no recursion, so no stack
/// depth an attacker could exhaust); scalars run to the next delimiter.
std::size_t end_of_value(std::string_view s, std::size_t i) noexcept {
  if (i >= s.size()) return npos;
  const char c = s[i];
  if (c == '"') return end_of_string(s, i);
  if (c == '{' || c == '[') {
    std::size_t depth = 0;
    while (i < s.size()) {
      const char d = s[i];
      if (d == '"') {
        i = end_of_string(s, i);
        if (i == npos) return npos;
        continue;
      }
      if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
      ++i;
    }
    return npos;
  }
  const std::size_t begin = i;
  while (i < s.size() && !is_ws(s[i]) && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ':' &&
         s[i] != '{' && s[i] != '[' && s[i] != '"')
    ++i;
  return i == begin ? npos : i;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Decodes 64 hex digits into `out`. `lower_only` refuses A-F (the in-body
/// form is specified as lowercase).
bool decode_mac(std::string_view hex, bool lower_only, crypto::digest& out) noexcept {
  if (hex.size() != 64) return false;
  for (std::size_t k = 0; k < 32; ++k) {
    const char a = hex[2 * k], b = hex[2 * k + 1];
    if (lower_only && ((a >= 'A' && a <= 'F') || (b >= 'A' && b <= 'F'))) return false;
    const int hi = hex_value(a), lo = hex_value(b);
    if (hi < 0 || lo < 0) return false;
    out[k] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

/// Whether the raw key text (between the quotes) decodes to "sig". Escapes are
/// decoded just enough for that: any escape that could not yield one of the
/// ASCII bytes s, i, g makes the key something else.
bool key_decodes_to_sig(std::string_view key) noexcept {
  if (key.find('\\') == npos) return key == "sig";
  static constexpr std::string_view want = "sig";
  std::size_t matched = 0;
  for (std::size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (c == '\\') {
      if (i + 1 >= key.size()) return false;
      const char e = key[++i];
      if (e != 'u') return false; // \n, \t, \" ... are never s, i or g
      if (i + 4 >= key.size()) return false;
      int code = 0;
      for (int k = 1; k <= 4; ++k) {
        const int h = hex_value(key[i + static_cast<std::size_t>(k)]);
        if (h < 0) return false;
        code = code * 16 + h;
      }
      i += 4;
      if (code > 0x7F) return false;
      c = static_cast<char>(code);
    }
    if (matched >= want.size() || c != want[matched]) return false;
    ++matched;
  }
  return matched == want.size();
}

/// Parses the value of the `sig` member: exactly {"kid": "...", "mac": "..."}
/// in either order, JSON whitespace allowed, no escapes.
sig_problem parse_sig_object(std::string_view v, signature_claim& claim) noexcept {
  std::size_t i = skip_ws(v, 0);
  if (i >= v.size() || v[i] != '{') return sig_problem::bad_sig_object;
  ++i;
  bool have_kid = false, have_mac = false;
  std::string_view mac_hex;
  for (;;) {
    i = skip_ws(v, i);
    if (i >= v.size() || v[i] != '"') return sig_problem::bad_sig_object;
    const std::size_t key_end = end_of_string(v, i);
    if (key_end == npos) return sig_problem::bad_sig_object;
    const std::string_view key = v.substr(i + 1, key_end - i - 2);
    i = skip_ws(v, key_end);
    if (i >= v.size() || v[i] != ':') return sig_problem::bad_sig_object;
    i = skip_ws(v, i + 1);
    if (i >= v.size() || v[i] != '"') return sig_problem::bad_sig_object;
    const std::size_t val_end = end_of_string(v, i);
    if (val_end == npos) return sig_problem::bad_sig_object;
    const std::string_view text = v.substr(i + 1, val_end - i - 2);
    if (key == "kid" && !have_kid) {
      if (text.empty() || text.find('\\') != npos) return sig_problem::bad_kid;
      claim.kid = text;
      have_kid = true;
    } else if (key == "mac" && !have_mac) {
      mac_hex = text;
      have_mac = true;
    } else {
      return sig_problem::bad_sig_object;
    }
    i = skip_ws(v, val_end);
    if (i < v.size() && v[i] == ',') {
      ++i;
      continue;
    }
    if (i < v.size() && v[i] == '}') break;
    return sig_problem::bad_sig_object;
  }
  if (skip_ws(v, i + 1) != v.size() || !have_kid || !have_mac) return sig_problem::bad_sig_object;
  if (!decode_mac(mac_hex, /*lower_only=*/true, claim.mac)) return sig_problem::bad_mac_format;
  return sig_problem::none;
}

signature_claim malformed(signature_claim::form where, sig_problem p) noexcept {
  signature_claim c;
  c.where = where;
  c.problem = p;
  return c;
}

} // namespace

std::string_view to_string(sig_problem p) noexcept {
  switch (p) {
  case sig_problem::none:
    return "none";
  case sig_problem::malformed_event:
    return "malformed_event";
  case sig_problem::duplicate_sig:
    return "duplicate_sig";
  case sig_problem::sig_not_last:
    return "sig_not_last";
  case sig_problem::sig_only_member:
    return "sig_only_member";
  case sig_problem::sig_key_escaped:
    return "sig_key_escaped";
  case sig_problem::bad_sig_object:
    return "bad_sig_object";
  case sig_problem::bad_kid:
    return "bad_kid";
  case sig_problem::bad_mac_format:
    return "bad_mac_format";
  case sig_problem::bad_header:
    return "bad_header";
  case sig_problem::unknown_kid:
    return "unknown_kid";
  case sig_problem::key_not_yet_valid:
    return "key_not_yet_valid";
  case sig_problem::key_expired:
    return "key_expired";
  case sig_problem::bad_mac:
    return "bad_mac";
  }
  return "unknown";
}

signature_claim find_body_signature(std::string_view raw) noexcept {
  using form = signature_claim::form;
  std::size_t i = skip_ws(raw, 0);
  if (i >= raw.size() || raw[i] != '{') return malformed(form::body, sig_problem::malformed_event);
  const std::size_t object_begin = i;
  i = skip_ws(raw, i + 1);
  if (i < raw.size() && raw[i] == '}') {
    if (skip_ws(raw, i + 1) != raw.size())
      return malformed(form::body, sig_problem::malformed_event);
    return {}; // {} carries no signature
  }

  // One pass over the top-level members; only the facts needed are kept, so
  // the scan allocates nothing.
  std::size_t sig_members = 0;
  bool last_is_sig = false, last_sig_literal = false;
  std::size_t last_comma = npos; // the `,` before the current member
  std::size_t sig_value_begin = 0, sig_value_end = 0;
  for (std::size_t comma_before = npos;;) {
    if (i >= raw.size() || raw[i] != '"')
      return malformed(form::body, sig_problem::malformed_event);
    const std::size_t key_end = end_of_string(raw, i);
    if (key_end == npos) return malformed(form::body, sig_problem::malformed_event);
    const std::string_view key = raw.substr(i + 1, key_end - i - 2);
    i = skip_ws(raw, key_end);
    if (i >= raw.size() || raw[i] != ':')
      return malformed(form::body, sig_problem::malformed_event);
    i = skip_ws(raw, i + 1);
    const std::size_t value_begin = i;
    const std::size_t value_end = end_of_value(raw, i);
    if (value_end == npos) return malformed(form::body, sig_problem::malformed_event);
    last_is_sig = key_decodes_to_sig(key);
    if (last_is_sig) {
      ++sig_members;
      last_sig_literal = key == "sig";
      last_comma = comma_before;
      sig_value_begin = value_begin;
      sig_value_end = value_end;
    }
    i = skip_ws(raw, value_end);
    if (i < raw.size() && raw[i] == ',') {
      comma_before = i;
      i = skip_ws(raw, i + 1);
      continue;
    }
    if (i < raw.size() && raw[i] == '}') break;
    return malformed(form::body, sig_problem::malformed_event);
  }
  if (skip_ws(raw, i + 1) != raw.size()) return malformed(form::body, sig_problem::malformed_event);

  if (sig_members == 0) return {};
  if (sig_members > 1) return malformed(form::body, sig_problem::duplicate_sig);
  if (!last_is_sig) return malformed(form::body, sig_problem::sig_not_last);
  if (!last_sig_literal) return malformed(form::body, sig_problem::sig_key_escaped);
  if (last_comma == npos) return malformed(form::body, sig_problem::sig_only_member);

  signature_claim claim;
  claim.where = form::body;
  claim.problem =
      parse_sig_object(raw.substr(sig_value_begin, sig_value_end - sig_value_begin), claim);
  if (claim.problem != sig_problem::none) {
    claim.kid = {};
    return claim;
  }
  claim.signed_part = raw.substr(object_begin, last_comma - object_begin);
  return claim;
}

signature_claim parse_header_signature(std::string_view raw, std::string_view header) noexcept {
  using form = signature_claim::form;
  std::size_t b = 0, e = header.size();
  while (b < e && (header[b] == ' ' || header[b] == '\t'))
    ++b;
  while (e > b && (header[e - 1] == ' ' || header[e - 1] == '\t'))
    --e;
  const std::string_view h = header.substr(b, e - b);
  const std::size_t colon = h.rfind(':');
  if (colon == npos || colon == 0) return malformed(form::header, sig_problem::bad_header);
  signature_claim claim;
  claim.where = form::header;
  if (!decode_mac(h.substr(colon + 1), /*lower_only=*/false, claim.mac))
    return malformed(form::header, sig_problem::bad_header);
  claim.kid = h.substr(0, colon);
  claim.signed_part = raw;
  return claim;
}

signature_claim find_signature(std::string_view raw,
                               std::optional<std::string_view> header) noexcept {
  if (header) return parse_header_signature(raw, *header);
  return find_body_signature(raw);
}

std::variant<key_ring, key_ring_error>
key_ring::load(const std::map<std::string, config::key_source>& keys,
               const std::map<std::string, key_validity>& windows, const std::string& base_dir) {
  key_ring ring;
  for (const auto& [kid, source] : keys) {
    auto loaded = crypto::load_key(source, base_dir);
    if (auto* err = std::get_if<crypto::key_error>(&loaded))
      return key_ring_error{"integrity.keys." + kid + ": " + err->reason};
    key_validity valid;
    if (auto w = windows.find(kid); w != windows.end()) valid = w->second;
    if (auto err = ring.add(kid, std::get<crypto::key_bytes>(std::move(loaded)), valid))
      return *err;
  }
  for (const auto& [kid, window] : windows) {
    (void)window;
    if (keys.find(kid) == keys.end())
      return key_ring_error{"integrity.keys." + kid +
                            ": a rotation window for a key id that is "
                            "not configured"};
  }
  return ring;
}

std::optional<key_ring_error> key_ring::add(std::string kid, crypto::key_bytes key,
                                            key_validity valid) {
  if (kid.empty()) return key_ring_error{"a key id must not be empty"};
  if (key.empty()) return key_ring_error{"integrity.keys." + kid + ": empty key"};
  if (find(kid) != nullptr) return key_ring_error{"integrity.keys." + kid + ": duplicate key id"};
  if (valid.not_before && valid.not_after && *valid.not_before > *valid.not_after)
    return key_ring_error{"integrity.keys." + kid + ": not_before is after not_after"};
  keys_.push_back(entry{std::move(kid), std::move(key), valid});
  return std::nullopt;
}

const key_ring::entry* key_ring::find(std::string_view kid) const noexcept {
  for (const auto& k : keys_)
    if (k.kid == kid) return &k;
  return nullptr;
}

verification verifier::verify(const signature_claim& claim, timestamp_ms key_time) const {
  verification v;
  if (!claim.present()) return v; // unsigned
  if (claim.problem != sig_problem::none) {
    v.status = integrity_status::invalid;
    v.problem = claim.problem;
    return v;
  }
  const key_ring::entry* key = ring_.find(claim.kid);
  if (key == nullptr) {
    v.status = integrity_status::unknown_key;
    v.problem = sig_problem::unknown_kid;
    return v;
  }
  v.key = key;
  // A key outside its rotation window is treated like an unknown one: the
  // ring holds no usable key of that id for that moment.
  if (key->valid.not_before && key_time < *key->valid.not_before) {
    v.status = integrity_status::unknown_key;
    v.problem = sig_problem::key_not_yet_valid;
    return v;
  }
  if (key->valid.not_after && key_time > *key->valid.not_after) {
    v.status = integrity_status::unknown_key;
    v.problem = sig_problem::key_expired;
    return v;
  }

  crypto::digest mac{};
  if (claim.where == signature_claim::form::body) {
    // The signed message is the prefix plus a closing brace, which is not in
    // the record contiguously: hashed as two parts, no copy.
    mac = crypto::hmac_sha256(key->key, {claim.signed_part, std::string_view("}")});
  } else {
    mac = crypto::hmac_sha256(key->key, claim.signed_part);
  }
  if (!crypto::constant_time_equal(mac, claim.mac)) {
    v.status = integrity_status::invalid;
    v.problem = sig_problem::bad_mac;
    return v;
  }
  v.status = integrity_status::verified;
  return v;
}

} // namespace bulwark::integrity
