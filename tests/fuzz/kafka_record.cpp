// The Kafka record -> event path of `bulwark run` (src/app/run_command.cpp):
// header checks, the processor with the built-in packs and the stateful stage
// (signatures with a configured key, sequences, the audit chain), then the
// redaction of the key and header values that travel with the record.
//
// Input: byte 0 chooses whether there is a key, how many headers (0-7) and
// whether the value is null; then `\n`-separated: the key, one `name=value`
// per header (no `=`: a null header value), and the rest is the value.
// Invariants:
//  - no crash; the output is a valid JSON object, a DLQ record too;
//  - a canary planted (between spaces) into the key and every header value
//    survives neither their redaction nor into the output, the DLQ record,
//    the alerts or the audit records (inputs that already hold the canary
//    are not checked for it).
#include "check.hpp"
#include "config/load.hpp"
#include "kafka/headers.hpp"
#include "pipeline/detectors.hpp"
#include "pipeline/processor.hpp"
#include "planting.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace bulwark;

constexpr timestamp_ms now = 1'795'000'000'000;

struct path {
  config::options opts;
  std::shared_ptr<const scan::ruleset> rules;
  pipeline::fact_spec spec;
  std::unique_ptr<pipeline::processor> proc;
  std::unique_ptr<pipeline::detectors> stage;

  static config::options load() {
    auto r = config::load_string(
        "integrity:\n  keys: {k1: {hex: \"" + std::string(64, '6') + "\"}}\n", "kafka_record.yaml");
    if (auto* e = std::get_if<config::load_error>(&r)) {
      std::fprintf(stderr, "kafka_record: %s\n", e->message().c_str());
      std::abort();
    }
    return std::get<config::options>(std::move(r));
  }

  path() : opts(load()), spec(opts) {
    auto built = scan::load_ruleset(scan::default_rules_dir(), opts.rules.packs, {});
    if (auto* e = std::get_if<std::string>(&built)) {
      std::fprintf(stderr, "kafka_record: %s\n", e->c_str());
      std::abort();
    }
    rules = std::get<std::shared_ptr<const scan::ruleset>>(built);
    proc = std::make_unique<pipeline::processor>(opts, rules);
    pipeline::detectors::options o;
    o.clock = pipeline::detectors::clock_mode::wall_clock;
    o.audit = true;
    auto made = pipeline::detectors::make(opts, spec, o);
    if (auto* e = std::get_if<std::string>(&made)) {
      std::fprintf(stderr, "kafka_record: %s\n", e->c_str());
      std::abort();
    }
    stage = std::move(std::get<std::unique_ptr<pipeline::detectors>>(made));
  }
};

bool valid_object(std::string_view s) {
  static json::walker w(json::limits{std::size_t{1} << 26, 128});
  return w.walk(s, 0, nullptr) == json::error::none;
}

std::string_view next_field(std::string_view& rest) {
  const auto nl = rest.find('\n');
  const std::string_view field = rest.substr(0, nl);
  rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
  return field;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static path p;
  static std::int64_t offset = 0;
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view canary = fuzz::canaries[(selector >> 5) % fuzz::canaries.size()];

  std::optional<std::string> key;
  if ((selector & 1) != 0) key = fuzz::plant(next_field(rest), 0, canary);
  std::vector<std::string> names, values;
  std::vector<bool> has_value;
  for (int i = 0; i < ((selector >> 1) & 7); ++i) {
    const std::string_view h = next_field(rest);
    const auto eq = h.find('=');
    names.emplace_back(h.substr(0, eq));
    has_value.push_back(eq != std::string_view::npos);
    values.push_back(eq == std::string_view::npos ? std::string()
                                                  : fuzz::plant(h.substr(eq + 1), eq, canary));
  }
  std::vector<kafka::header> headers;
  for (std::size_t i = 0; i < names.size(); ++i)
    headers.push_back(
        {names[i], has_value[i] ? std::optional<std::string_view>(values[i]) : std::nullopt});
  const std::optional<std::string_view> value =
      (selector & 0x10) != 0 ? std::nullopt : std::optional<std::string_view>(rest);

  // As run_command.cpp does it, minus the Kafka client.
  std::string out, dlq;
  const auto from = pipeline::origin::record("in", 0, offset);
  pipeline::record_facts facts;
  kafka::header_limits limits;
  limits.max_total_bytes = p.opts.limits.max_event_bytes;
  const bool bad_headers = kafka::header_problem(headers, limits).has_value();
  if (bad_headers || !value) {
    facts.reset(p.spec.size());
    facts.reason = bad_headers ? "bad_headers" : "null_value";
  } else {
    p.proc->process(*value, pipeline::raw_info{}, from, out, dlq, p.spec, facts);
    FUZZ_CHECK(valid_object(out));
    if (!dlq.empty()) FUZZ_CHECK(valid_object(dlq));
  }
  std::optional<std::string_view> sig_header;
  for (const auto& h : headers)
    if (h.name == "bw-sig" && h.value) sig_header = h.value;
  input_ref ref;
  ref.topic = "in";
  ref.partition = 0;
  ref.offset = offset++;
  p.stage->observe(facts, value.value_or(std::string_view{}), out, ref, sig_header, now,
                   now + offset);
  auto& outputs = p.stage->outputs();

  // A copy the fuzzer wrote itself may be glued to other text (`typ4539 …`)
  // and rightly not be a card; only the harness's planted copies are judged.
  if (fuzz::contains({reinterpret_cast<const char*>(data), size}, canary)) {
    outputs.clear();
    return 0;
  }
  std::string redacted;
  if (key) {
    const std::string_view sent = p.proc->redact_side_text(*key, redacted) ? redacted : *key;
    FUZZ_CHECK(!fuzz::contains(sent, canary));
  }
  for (std::size_t i = 0; i < headers.size(); ++i) {
    if (!headers[i].value) continue;
    const std::string_view sent =
        p.proc->redact_side_text(*headers[i].value, redacted) ? redacted : *headers[i].value;
    FUZZ_CHECK(!fuzz::contains(sent, canary));
  }
  // The canary went into the key and headers only: it has no business in
  // what the value produced.
  FUZZ_CHECK(!fuzz::contains(out, canary));
  FUZZ_CHECK(!fuzz::contains(dlq, canary));
  FUZZ_CHECK(!fuzz::contains(outputs.alerts, canary));
  FUZZ_CHECK(!fuzz::contains(outputs.audit, canary));
  outputs.clear();
  return 0;
}
