// Audit-chain verification (src/audit/verifier.hpp) on arbitrary NDJSON.
//
// The seeds are chains written by `bulwark scan --audit` with integrity.keys
// k1 = 32 bytes of 0x42 (make_corpus.py), the key the harness's ring holds.
// Invariants:
//  - no crash; verify_chain and the streaming chain_verifier agree; a bad
//    chain names a first bad index within the lines and a reason;
//  - a chain that verifies no longer verifies with any one byte changed
//    (every byte is tried, with two masks: the low bit and the ASCII case bit).
#include "audit/verifier.hpp"
#include "check.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace bulwark;

const audit::key_ring& ring() {
  static const audit::key_ring r = [] {
    audit::key_ring k;
    k.hmac.emplace("k1", crypto::key_bytes(32, 0x42));
    return k;
  }();
  return r;
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return lines;
}

audit::verify_result verify(std::string_view text) {
  const auto lines = split_lines(text);
  audit::verify_settings settings;
  settings.keep_checkpoints = false;
  const auto r = audit::verify_chain(lines, ring(), settings);
  FUZZ_CHECK(r.lines == lines.size());
  if (!r.ok) {
    FUZZ_CHECK(r.first_bad_index.has_value());
    FUZZ_CHECK(*r.first_bad_index <= lines.size());
    FUZZ_CHECK(r.what != audit::problem::none);
    FUZZ_CHECK(!r.reason.empty());
  } else {
    FUZZ_CHECK(r.what == audit::problem::none);
    FUZZ_CHECK(r.ends_final);
  }
  return r;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto whole = verify(text);

  audit::chain_verifier streaming(ring(), audit::verify_settings{});
  for (const auto line : split_lines(text))
    streaming.add(line);
  const auto streamed = streaming.finish();
  FUZZ_CHECK(streamed.ok == whole.ok);
  FUZZ_CHECK(streamed.first_bad_index == whole.first_bad_index);
  FUZZ_CHECK(streamed.what == whole.what);

  // The live-topic mode (an open tail allowed) accepts whatever the file mode does.
  audit::verify_settings open;
  open.require_final = false;
  const auto lines = split_lines(text);
  if (whole.ok) FUZZ_CHECK(audit::verify_chain(lines, ring(), open).ok);

  if (!whole.ok) return 0;
  std::string flipped(text);
  for (std::size_t i = 0; i < flipped.size(); ++i) {
    for (const char mask : {'\x01', '\x20'}) {
      flipped[i] ^= mask;
      const auto r = verify(flipped);
      if (r.ok) {
        std::fprintf(stderr, "audit_verify: the chain still verifies with byte %zu ^ 0x%02x\n", i,
                     static_cast<unsigned>(static_cast<unsigned char>(mask)));
        FUZZ_CHECK(!r.ok);
      }
      flipped[i] ^= mask;
    }
  }
  return 0;
}
