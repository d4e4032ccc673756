#include "audit/writer.hpp"

#include "crypto/merkle.hpp"

#include <cassert>

namespace bulwark::audit {
namespace {

bool is_ws(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

} // namespace

chain_writer::chain_writer(writer_settings settings, checkpoint_signer signer, timestamp_ms start,
                           chain_head head)
    : settings_(settings), signer_(std::move(signer)), walker_(settings.embedded_limits),
      head_(head), last_checkpoint_at_(start) {
  receipts_.reserve(static_cast<std::size_t>(settings_.policy.every_events));
}

std::variant<chain_writer, audit_error> chain_writer::make(writer_settings settings,
                                                           checkpoint_signer signer,
                                                           timestamp_ms start,
                                                           std::optional<chain_head> resume) {
  const auto& p = settings.policy;
  if (p.every_events < 1 || p.every_events > 1'000'000)
    return audit_error{"checkpoint every_events must be between 1 and 1000000"};
  if (p.every_ms < 0) return audit_error{"checkpoint every_ms must not be negative"};
  if (p.heartbeat && p.every_ms == 0)
    return audit_error{"checkpoint heartbeat needs an interval (every_ms > 0)"};
  return chain_writer(settings, std::move(signer), start, resume.value_or(chain_head{}));
}

bool chain_writer::record_receipt(const crypto::digest& receipt) {
  // Invariant 2: the caller checkpoints as soon as this returned true.
  assert(receipts_.size() < settings_.policy.every_events);
  receipts_.push_back(receipt);
  return receipts_.size() >= settings_.policy.every_events;
}

bool chain_writer::checkpoint_due(timestamp_ms now) const noexcept {
  const auto& p = settings_.policy;
  if (receipts_.size() >= p.every_events) return true;
  if (p.every_ms == 0 || now - last_checkpoint_at_ < p.every_ms) return false;
  return p.heartbeat || !receipts_.empty() || records_since_checkpoint_ > 0;
}

void chain_writer::open_record(json_writer& w, record_type type, timestamp_ms at) const {
  w.begin_object();
  w.key("v").value(format_version);
  w.key("index").value(head_.next_index);
  w.key("prev").value(crypto::to_hex(head_.prev));
  w.key("type").value(to_string(type));
  w.key("at").value(format_rfc3339(at));
}

std::string chain_writer::close_record(json_writer& w) {
  const crypto::digest h = hash_closed(w.str());
  w.key("hash").value(crypto::to_hex(h));
  w.end_object();
  head_.next_index += 1;
  head_.prev = h;
  records_since_checkpoint_ += 1;
  return w.take();
}

std::optional<std::string> chain_writer::embeddable(std::string_view json) {
  while (!json.empty() && is_ws(json.front()))
    json.remove_prefix(1);
  while (!json.empty() && is_ws(json.back()))
    json.remove_suffix(1);
  if (walker_.walk(json, 0, nullptr) != json::error::none) return std::nullopt;
  // Valid JSON holds no raw CR or LF inside strings, so each one is whitespace
  // between tokens and a space keeps the meaning while keeping one line.
  std::string out(json);
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}

std::variant<std::string, audit_error>
chain_writer::append_event(timestamp_ms at, const input_ref& ref, const crypto::digest& receipt,
                           std::string_view sanitised_event) {
  if (ref.topic.empty() ? ref.line < 1 : (ref.partition < 0 || ref.offset < 0))
    return audit_error{"an event ref needs a line (>= 1) or a topic, partition and offset (>= 0)"};
  auto event = embeddable(sanitised_event);
  if (!event) return audit_error{"the sanitised event is not one JSON object within the limits"};
  json_writer w;
  open_record(w, record_type::event, at);
  w.key("ref").begin_object();
  if (ref.topic.empty()) {
    w.key("line").value(ref.line);
  } else {
    w.key("topic").value(ref.topic);
    w.key("partition").value(static_cast<std::int64_t>(ref.partition));
    w.key("offset").value(ref.offset);
  }
  w.end_object();
  w.key("receipt").value(crypto::to_hex(receipt));
  w.key("event").raw(*event);
  return close_record(w);
}

std::variant<std::string, audit_error>
chain_writer::append_decision(timestamp_ms at, std::string_view name, std::string_view detail) {
  if (!is_decision_name(name))
    return audit_error{"a decision name is 1..64 characters of [a-z0-9_.-]"};
  auto d = embeddable(detail);
  if (!d) return audit_error{"a decision's detail is not one JSON object within the limits"};
  json_writer w;
  open_record(w, record_type::decision, at);
  w.key("decision").value(name);
  w.key("detail").raw(*d);
  return close_record(w);
}

std::string chain_writer::checkpoint(timestamp_ms now, bool final) {
  std::vector<crypto::digest> leaves;
  leaves.reserve(receipts_.size());
  for (const auto& r : receipts_)
    leaves.push_back(crypto::merkle::leaf_hash(r));

  json_writer w;
  open_record(w, record_type::checkpoint, now);
  w.key("final").value(final);
  w.key("count").value(static_cast<std::uint64_t>(receipts_.size()));
  w.key("root").value(crypto::to_hex(crypto::merkle::root(leaves)));
  // Hex needs no escaping: build the array in one buffer instead of a string
  // per receipt through the writer.
  static constexpr char hex[] = "0123456789abcdef";
  std::string array;
  array.reserve(2 + receipts_.size() * 67);
  array += '[';
  for (std::size_t i = 0; i < receipts_.size(); ++i) {
    if (i != 0) array += ',';
    array += '"';
    for (const std::uint8_t b : receipts_[i]) {
      array += hex[b >> 4U];
      array += hex[b & 0xFU];
    }
    array += '"';
  }
  array += ']';
  w.key("receipts").raw(array);
  w.key("alg").value(to_string(signer_.alg()));
  w.key("kid").value(signer_.kid());
  std::string signed_text = w.str();
  signed_text += '}';
  w.key("sig").value(signer_.sign_hex(signed_text));
  std::string line = close_record(w);

  receipts_.clear();
  records_since_checkpoint_ = 0;
  last_checkpoint_at_ = now;
  return line;
}

std::variant<chain_head, audit_error> resume_point(std::string_view last_line) {
  json::walker walker(default_record_limits);
  auto parsed = parse_record(last_line, walker);
  if (auto* f = std::get_if<parse_failure>(&parsed))
    return audit_error{"cannot resume the audit chain: its last line is " +
                       std::string(f->unparsable ? "" : "malformed: ") + f->reason};
  const auto& r = std::get<record>(parsed);
  if (!crypto::constant_time_equal(r.hash, r.computed_hash))
    return audit_error{"cannot resume the audit chain: its last line does not match its hash"};
  return chain_head{r.index + 1, r.hash};
}

} // namespace bulwark::audit
