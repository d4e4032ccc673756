#include "audit/record.hpp"

#include <array>
#include <charconv>
#include <limits>

namespace bulwark::audit {
namespace {

struct member {
  std::string name;
  json::value_kind kind;
  std::size_t begin;
  std::size_t end;
  std::size_t member_begin;
  std::string text; ///< string values only (small: names, hex, times)
};

/// Collects the top-level members, the members of `ref` and the receipts; the
/// rest of the document (the embedded event, the detail) is only validated.
class collector final : public json::visitor {
public:
  std::vector<member> top;
  std::vector<member> ref;
  std::vector<crypto::digest> receipts;
  bool receipts_ok = true;

  bool on_value(const json::value_ref& v) override {
    if (v.depth == 1) {
      top.push_back(make(v, v.pointer.substr(1)));
    } else if (v.depth == 2 && v.pointer.starts_with("/ref/")) {
      ref.push_back(make(v, v.pointer.substr(5)));
    } else if (v.depth == 2 && v.pointer.starts_with("/receipts/")) {
      const auto d = v.kind == json::value_kind::string ? parse_digest(v.text) : std::nullopt;
      if (d) {
        receipts.push_back(*d);
      } else {
        receipts_ok = false;
      }
    }
    return true;
  }

private:
  static member make(const json::value_ref& v, std::string_view name) {
    return member{std::string(name),
                  v.kind,
                  v.begin,
                  v.end,
                  v.member_begin,
                  v.kind == json::value_kind::string ? std::string(v.text) : std::string()};
  }
};

std::optional<std::uint64_t> parse_uint(std::string_view raw) noexcept {
  if (raw.empty() || (raw.size() > 1 && raw[0] == '0')) return std::nullopt;
  std::uint64_t v = 0;
  const auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), v);
  if (ec != std::errc{} || end != raw.data() + raw.size()) return std::nullopt;
  return v;
}

std::optional<std::vector<std::uint8_t>> parse_hex(std::string_view hex) {
  if (hex.empty() || hex.size() % 2 != 0) return std::nullopt;
  std::vector<std::uint8_t> out(hex.size() / 2);
  for (std::size_t i = 0; i < hex.size(); ++i) {
    const char c = hex[i];
    int v = 0;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    out[i / 2] = static_cast<std::uint8_t>(out[i / 2] * 16 + v);
  }
  return out;
}

constexpr std::array<std::string_view, 5> common_members = {"v", "index", "prev", "type", "at"};
constexpr std::array<std::string_view, 3> event_members = {"ref", "receipt", "event"};
constexpr std::array<std::string_view, 2> decision_members = {"decision", "detail"};
constexpr std::array<std::string_view, 7> checkpoint_members = {
    "final", "count", "root", "receipts", "alg", "kid", "sig"};

parse_failure malformed(std::string reason) {
  return parse_failure{false, std::move(reason), {}};
}

bool is_kid(std::string_view s) noexcept {
  if (s.empty() || s.size() > 128) return false;
  for (const char c : s)
    if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) return false;
  return true;
}

std::string_view raw(std::string_view line, const member& m) {
  return line.substr(m.begin, m.end - m.begin);
}

std::optional<input_ref> parse_ref(std::string_view line, const std::vector<member>& ref) {
  input_ref out;
  if (ref.size() == 1 && ref[0].name == "line" && ref[0].kind == json::value_kind::number) {
    const auto n = parse_uint(raw(line, ref[0]));
    if (!n || *n == 0 || *n > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::nullopt;
    out.line = static_cast<std::int64_t>(*n);
    return out;
  }
  if (ref.size() != 3 || ref[0].name != "topic" || ref[0].kind != json::value_kind::string ||
      ref[0].text.empty() || ref[1].name != "partition" ||
      ref[1].kind != json::value_kind::number || ref[2].name != "offset" ||
      ref[2].kind != json::value_kind::number)
    return std::nullopt;
  const auto p = parse_uint(raw(line, ref[1]));
  const auto o = parse_uint(raw(line, ref[2]));
  if (!p || !o || *p > static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()) ||
      *o > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return std::nullopt;
  out.topic = ref[0].text;
  out.partition = static_cast<std::int32_t>(*p);
  out.offset = static_cast<std::int64_t>(*o);
  return out;
}

} // namespace

bool is_decision_name(std::string_view s) noexcept {
  if (s.empty() || s.size() > 64) return false;
  for (const char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

std::string_view to_string(record_type t) noexcept {
  switch (t) {
  case record_type::event:
    return "event";
  case record_type::decision:
    return "decision";
  case record_type::checkpoint:
    return "checkpoint";
  }
  return "event";
}

std::string_view to_string(signature_alg a) noexcept {
  return a == signature_alg::ed25519 ? "ed25519" : "hmac-sha256";
}

crypto::digest hash_closed(std::string_view prefix) noexcept {
  // One small copy instead of a streaming context: records are short, and
  // crypto::sha256 is the shared one-shot primitive.
  std::string buf;
  buf.reserve(prefix.size() + 1);
  buf.append(prefix);
  buf.push_back('}');
  return crypto::sha256(buf);
}

std::optional<crypto::digest> parse_digest(std::string_view hex) noexcept {
  if (hex.size() != 64) return std::nullopt;
  crypto::digest d{};
  for (std::size_t i = 0; i < 64; ++i) {
    const char c = hex[i];
    int v = 0;
    if (c >= '0' && c <= '9') {
      v = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      v = c - 'a' + 10;
    } else {
      return std::nullopt;
    }
    d[i / 2] = static_cast<std::uint8_t>(d[i / 2] * 16 + v);
  }
  return d;
}

std::string ed25519_kid(std::span<const std::uint8_t> public_key) {
  const auto fp = crypto::sha256(
      std::string_view(reinterpret_cast<const char*>(public_key.data()), public_key.size()));
  return "ed25519:" + crypto::to_hex(std::span<const std::uint8_t>(fp).first(8));
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) {
      out.push_back(text.substr(start));
      break;
    }
    out.push_back(text.substr(start, nl - start));
    start = nl + 1;
  }
  return out;
}

std::variant<record, parse_failure> parse_record(std::string_view line, json::walker& walker) {
  collector c;
  if (const json::error e = walker.walk(line, 0, &c); e != json::error::none)
    return parse_failure{true, "not a JSON object (" + std::string(json::to_string(e)) + ")", {}};
  const auto& top = c.top;

  // The hash first: when it can be located, an edit anywhere in the line is
  // reported as such, whatever else it broke. It closes the line byte-exactly:
  // `,"hash":"<64 hex>"}`.
  if (top.empty()) return malformed("the last member is not \"hash\"");
  const member& h = top.back();
  if (h.name != "hash" || h.kind != json::value_kind::string)
    return malformed("the last member is not \"hash\"");
  const auto stored = parse_digest(h.text);
  if (!stored) return malformed("\"hash\" is not 64 lowercase hex digits");
  if (h.member_begin == 0 || line[h.member_begin - 1] != ',' || h.begin != h.member_begin + 7 ||
      h.end + 1 != line.size() || line.back() != '}')
    return malformed("bytes around \"hash\" are not in the written layout");
  record r;
  r.hash = *stored;
  r.computed_hash = hash_closed(line.substr(0, h.member_begin - 1));
  const bool matches = crypto::constant_time_equal(r.hash, r.computed_hash);
  auto bad = [matches](std::string reason) {
    return parse_failure{false, std::move(reason), matches};
  };

  if (top[0].name != "v") return bad("the first member is not \"v\"");
  if (top[0].kind != json::value_kind::number || raw(line, top[0]) != "1")
    return bad("unsupported record format version (this verifier reads v 1)");

  // The member list must be exactly the layout of the record's type.
  if (top.size() < common_members.size() + 1 || top[3].name != "type" ||
      top[3].kind != json::value_kind::string)
    return bad("members missing, repeated, unknown or out of order");
  std::span<const std::string_view> specific;
  if (top[3].text == "event") {
    r.type = record_type::event;
    specific = event_members;
  } else if (top[3].text == "decision") {
    r.type = record_type::decision;
    specific = decision_members;
  } else if (top[3].text == "checkpoint") {
    r.type = record_type::checkpoint;
    specific = checkpoint_members;
  } else {
    return bad("unknown record type");
  }
  if (top.size() != common_members.size() + specific.size() + 1)
    return bad("members missing, repeated, unknown or out of order");
  for (std::size_t i = 0; i < common_members.size(); ++i)
    if (top[i].name != common_members[i])
      return bad("members missing, repeated, unknown or out of order");
  for (std::size_t i = 0; i < specific.size(); ++i)
    if (top[common_members.size() + i].name != specific[i])
      return bad("members missing, repeated, unknown or out of order");

  const auto index =
      top[1].kind == json::value_kind::number ? parse_uint(raw(line, top[1])) : std::nullopt;
  if (!index) return bad("\"index\" is not a non-negative integer");
  r.index = *index;
  const auto prev =
      top[2].kind == json::value_kind::string ? parse_digest(top[2].text) : std::nullopt;
  if (!prev) return bad("\"prev\" is not 64 lowercase hex digits");
  r.prev = *prev;
  const auto at =
      top[4].kind == json::value_kind::string ? parse_rfc3339(top[4].text) : std::nullopt;
  if (!at) return bad("\"at\" is not an RFC 3339 time");
  r.at = *at;

  const std::size_t s = common_members.size();
  switch (r.type) {
  case record_type::event: {
    if (top[s].kind != json::value_kind::object) return bad("\"ref\" is not an object");
    const auto ref = parse_ref(line, c.ref);
    if (!ref) return bad("\"ref\" is neither {line} nor {topic, partition, offset}");
    r.ref = *ref;
    const auto receipt =
        top[s + 1].kind == json::value_kind::string ? parse_digest(top[s + 1].text) : std::nullopt;
    if (!receipt) return bad("\"receipt\" is not 64 lowercase hex digits");
    r.receipt = *receipt;
    if (top[s + 2].kind != json::value_kind::object) return bad("\"event\" is not an object");
    const std::size_t b = top[s + 2].begin;
    r.event = line.substr(b, json::value_end(line, b) - b);
    break;
  }
  case record_type::decision: {
    if (top[s].kind != json::value_kind::string || !is_decision_name(top[s].text))
      return bad("\"decision\" is not a decision name");
    r.decision = top[s].text;
    if (top[s + 1].kind != json::value_kind::object) return bad("\"detail\" is not an object");
    const std::size_t b = top[s + 1].begin;
    r.detail = line.substr(b, json::value_end(line, b) - b);
    break;
  }
  case record_type::checkpoint: {
    const std::string_view fin = raw(line, top[s]);
    if (top[s].kind != json::value_kind::boolean) return bad("\"final\" is not a boolean");
    r.final = fin == "true";
    const auto count = top[s + 1].kind == json::value_kind::number
                           ? parse_uint(raw(line, top[s + 1]))
                           : std::nullopt;
    if (!count) return bad("\"count\" is not a non-negative integer");
    r.count = *count;
    const auto root =
        top[s + 2].kind == json::value_kind::string ? parse_digest(top[s + 2].text) : std::nullopt;
    if (!root) return bad("\"root\" is not 64 lowercase hex digits");
    r.root = *root;
    if (top[s + 3].kind != json::value_kind::array || !c.receipts_ok)
      return bad("\"receipts\" is not an array of 64-hex-digit receipts");
    r.receipts = std::move(c.receipts);
    if (top[s + 4].kind != json::value_kind::string) return bad("\"alg\" is not a string");
    if (top[s + 4].text == "hmac-sha256") {
      r.alg = signature_alg::hmac_sha256;
    } else if (top[s + 4].text == "ed25519") {
      r.alg = signature_alg::ed25519;
    } else {
      return bad("\"alg\" names no known algorithm");
    }
    if (top[s + 5].kind != json::value_kind::string || !is_kid(top[s + 5].text))
      return bad("\"kid\" is not a key id");
    r.kid = top[s + 5].text;
    const member& sig = top[s + 6];
    auto bytes = sig.kind == json::value_kind::string ? parse_hex(sig.text) : std::nullopt;
    const std::size_t want = r.alg == signature_alg::ed25519 ? 64 : 32;
    if (!bytes || bytes->size() != want)
      return bad("\"sig\" is not a signature of the algorithm's length in lowercase hex");
    r.sig = std::move(*bytes);
    if (sig.member_begin == 0 || line[sig.member_begin - 1] != ',')
      return bad("bytes around \"sig\" are not in the written layout");
    r.signed_prefix = line.substr(0, sig.member_begin - 1);
    break;
  }
  }
  return r;
}

} // namespace bulwark::audit
