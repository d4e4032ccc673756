// The YAML config loader (config::load_string) and the rule-file loader
// (config::load_rule_string) on arbitrary text.
//
// Input: byte 0 chooses the loader and where a hex key is planted; the rest
// is the YAML text.
// Invariants:
//  - no crash and no exception escapes either loader;
//  - an error names the file it was given and a reason;
//  - a 64-digit hex key planted anywhere in the text (as a key would be
//    written: `hex: <key>`) never appears in an error message, not even half
//    of it.
#include "check.hpp"
#include "config/load.hpp"
#include "config/rules.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>

namespace {

using namespace bulwark;

constexpr std::string_view key_hex =
    "6b3f0c9a1e5d7b2f48a6c0e3d9f1b7a52c8e4d6f0a3b5c7e9d1f2a4b6c8e0d3f";

void check_error(const config::load_error& e, std::string_view name) {
  FUZZ_CHECK(e.file == name);
  FUZZ_CHECK(!e.reason.empty());
  const std::string message = e.message();
  FUZZ_CHECK(message.find(name) != std::string::npos);
  FUZZ_CHECK(message.find(key_hex.substr(0, 32)) == std::string::npos);
  FUZZ_CHECK(message.find(key_hex.substr(32)) == std::string::npos);
}

void load(std::string_view text, bool rules) {
  try {
    if (rules) {
      const auto r = config::load_rule_string(text, "fuzz-rules.yaml");
      if (const auto* e = std::get_if<config::load_error>(&r)) check_error(*e, "fuzz-rules.yaml");
    } else {
      const auto r = config::load_string(text, "fuzz.yaml");
      if (const auto* e = std::get_if<config::load_error>(&r)) check_error(*e, "fuzz.yaml");
    }
  } catch (const std::exception& ex) {
    std::fprintf(stderr, "config: an exception escaped the loader: %s\n", ex.what());
    std::abort();
  } catch (...) {
    std::fprintf(stderr, "config: an exception escaped the loader\n");
    std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t selector = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool rules = (selector & 1) != 0;
  load(text, rules);

  // Where the key goes: byte offset scaled from the selector, so every seed
  // gets it at a few different places across runs of the fuzzer.
  const std::size_t at = text.empty() ? 0 : (selector >> 1) * text.size() / 128;
  std::string planted(text.substr(0, at));
  planted += (selector & 2) != 0 ? "hex: " : "";
  planted += key_hex;
  planted += text.substr(at);
  load(planted, rules);
  return 0;
}
