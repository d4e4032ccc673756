#include "pipeline/processor.hpp"

#include "json/splice.hpp"
#include <charconv>

namespace bulwark::pipeline {

void stats::add(const stats& other) noexcept {
  records += other.records;
  bytes_in += other.bytes_in;
  bytes_out += other.bytes_out;
  for (std::size_t i = 0; i < by_verdict.size(); ++i)
    by_verdict[i] += other.by_verdict[i];
  for (std::size_t i = 0; i < rejected_by_reason.size(); ++i)
    rejected_by_reason[i] += other.rejected_by_reason[i];
}

namespace {

void append_uint(std::string& out, std::uint64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

} // namespace

void append_placeholder(std::string& out, verdict v, std::string_view reason, const origin& from) {
  out += R"({"_bulwark":{"v":1,"verdict":")";
  out += to_string(v);
  out += R"(","reason":)";
  json::append_string(out, reason);
  out += R"(,"line":)";
  append_uint(out, from.line);
  out += "}}";
}

void append_dead_letter(std::string& out, std::string_view reason, std::string_view raw,
                        const raw_info& info, const origin& from) {
  out += R"({"line":)";
  append_uint(out, from.line);
  out += R"(,"reason":)";
  json::append_string(out, reason);
  out += R"(,"raw":)";
  // The raw bytes may be anything: invalid UTF-8 becomes U+FFFD so the record
  // itself is valid JSON.
  json::append_string_lossy(out, raw);
  if (info.truncated) {
    out += R"(,"truncated":true,"bytes":)";
    append_uint(out, info.full_size);
  }
  out += '}';
}

bool processor::string_collector::on_value(const json::value_ref& v) {
  if (v.kind == json::value_kind::string) ++strings;
  return true;
}

processor::processor(const config::options& opts)
    : walker_(json::limits{opts.limits.max_event_bytes, opts.limits.max_depth}) {}

verdict processor::process(std::string_view record, const raw_info& info, const origin& from,
                           std::string& out, std::string& dlq) {
  ++stats_.records;
  stats_.bytes_in += info.truncated ? info.full_size : record.size();
  const std::size_t out_before = out.size();

  json::error err = json::error::none;
  if (info.truncated) {
    err = json::error::too_large;
  } else {
    collector_.strings = 0;
    err = walker_.walk(record, info.readable_after, &collector_);
  }
  if (err != json::error::none) {
    reject(err, record, info, from, out, dlq);
    stats_.bytes_out += out.size() - out_before;
    return verdict::rejected;
  }

  // No scanners yet: an accepted event passes through byte-identical.
  out.append(record);
  stats_.bytes_out += out.size() - out_before;
  ++stats_.by_verdict[static_cast<int>(verdict::clean)];
  return verdict::clean;
}

void processor::reject(json::error why, std::string_view record, const raw_info& info,
                       const origin& from, std::string& out, std::string& dlq) {
  ++stats_.by_verdict[static_cast<int>(verdict::rejected)];
  ++stats_.rejected_by_reason[static_cast<int>(why)];
  const std::string_view reason = json::to_string(why);
  append_placeholder(out, verdict::rejected, reason, from);
  append_dead_letter(dlq, reason, record, info, from);
}

} // namespace bulwark::pipeline
