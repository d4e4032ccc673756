// The processor with the built-in rule packs (src/pipeline/processor.hpp) on
// arbitrary lines.
//
// Input: byte 0 chooses where and which canary to plant, the rest is the line.
// Invariants:
//  - one outcome per line: the output line is a valid JSON object, and a
//    rejected line also yields a DLQ record that is a valid JSON object;
//  - an accepted line with a canary planted (between spaces) into one of its
//    string values: the canary appears neither in the output nor in a DLQ
//    record;
//  - the canary planted into the raw bytes of a line that is rejected does
//    not survive into the DLQ record (its raw text is redacted too).
// Lines that already hold the canary are not checked for it.
#include "check.hpp"
#include "pipeline/processor.hpp"
#include "planting.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

namespace {

using namespace bulwark;

std::shared_ptr<const scan::ruleset> packs() {
  auto built = scan::load_ruleset(scan::default_rules_dir(),
                                  {"secrets", "pii", "injection", "prompt_injection"}, {});
  if (const auto* e = std::get_if<std::string>(&built)) {
    std::fprintf(stderr, "scan_redact: cannot load the rule packs: %s\n", e->c_str());
    std::abort();
  }
  return std::get<std::shared_ptr<const scan::ruleset>>(built);
}

pipeline::processor& proc() {
  static pipeline::processor p(config::options{}, packs());
  return p;
}

bool valid_object(std::string_view s) {
  static json::walker w(json::limits{std::size_t{1} << 26, 128});
  return w.walk(s, 0, nullptr) == json::error::none;
}

struct outcome {
  verdict v;
  std::string out, dlq;
};

outcome run(std::string_view line) {
  outcome o;
  o.v = proc().process(line, pipeline::raw_info{}, pipeline::origin{1}, o.out, o.dlq);
  FUZZ_CHECK(valid_object(o.out));
  if (o.v == verdict::rejected) {
    FUZZ_CHECK(!o.dlq.empty());
    FUZZ_CHECK(valid_object(o.dlq));
  }
  if (!o.dlq.empty()) FUZZ_CHECK(valid_object(o.dlq));
  return o;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) {
    run({});
    return 0;
  }
  const std::uint8_t selector = data[0];
  const std::string_view line(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::string_view canary = fuzz::canaries[selector % fuzz::canaries.size()];
  const outcome plain = run(line);
  // A copy the fuzzer wrote itself may be glued to other text (`1486type`) and
  // then rightly not be a card; only the harness's planted copy is judged.
  if (fuzz::contains(line, canary)) return 0;

  if (plain.v != verdict::rejected) {
    // Plant into a string value: rewrite that value, everything else as is.
    static json::walker w(json::limits{});
    fuzz::string_values sv;
    if (w.walk(line, 0, &sv) != json::error::none || sv.values.empty()) return 0;
    const auto& target = sv.values[(selector >> 2) % sv.values.size()];
    const std::string text =
        fuzz::plant(target.text, size * 7919 % (target.text.size() + 1), canary);
    std::string replacement;
    json::append_string(replacement, text);
    std::string planted(line.substr(0, target.begin));
    planted += replacement;
    planted += line.substr(target.end);
    const outcome o = run(planted);
    FUZZ_CHECK(!fuzz::contains(o.out, canary));
    FUZZ_CHECK(!fuzz::contains(o.dlq, canary));
  } else {
    const std::string planted = fuzz::plant(line, (selector >> 2) * line.size() / 64, canary);
    const outcome o = run(planted);
    if (o.v == verdict::rejected) FUZZ_CHECK(!fuzz::contains(o.dlq, canary));
  }
  return 0;
}
