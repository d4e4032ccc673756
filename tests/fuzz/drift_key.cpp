// Drift key hand-over (src/drift/monitor.hpp: export_key / import_key) on
// arbitrary snapshot text: the state another instance sends when a key's
// owner changes.
//
// Input: the snapshot text.
// Invariants:
//  - no crash, refused or taken;
//  - a refused snapshot leaves the monitor without the key;
//  - a taken one re-exports to a text that a fresh monitor takes too, and
//    that re-exports byte for byte (the state is consistent, not just parsed);
//  - the monitor then runs on (advance, observe, finish) without a crash.
//
// Seeds: real snapshots at each stage of a key's life (learning, counting,
// frozen, in alarm), written by this target itself when run as
// `BULWARK_FUZZ_WRITE_SEEDS=DIR fuzz_drift_key` with no argument.
#include "../support/drift_refs.hpp"
#include "check.hpp"
#include "drift/monitor.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>

namespace {

using namespace bulwark;
using namespace bulwark::drift;

constexpr timestamp_ms t0 = 1'767'225'600'000; // 2026-01-01T00:00:00Z
constexpr timestamp_ms hour = 3'600'000;

settings shape() {
  settings s;
  s.features = {{"/score", feature_type::numeric, {}, {}, {}},
                {"/country", feature_type::categorical, {}, {}, {}}};
  s.reference_windows = 8;
  s.scales = {{6, 1}, {12, 3}};
  s.repeat_windows = 4;
  s.numeric_bins = 8;
  s.max_categories = 4;
  s.reference_sample = 64;
  s.max_keys = 4;
  return s;
}

monitor fresh() {
  auto m = monitor::make(shape());
  FUZZ_CHECK(std::holds_alternative<monitor>(m));
  return std::move(std::get<monitor>(m));
}

using test::ref_id;
using test::ref_text;

/// Event i of window w: a numeric value that drifts from window 14 on and a
/// category that moves to new values from window 18 on.
void feed(monitor& m, std::int64_t w, int i, int per_window) {
  static const std::string_view countries[] = {"DE", "FR", "IT", "ES", "x1", "x2", "x3"};
  const timestamp_ms t = t0 + w * hour + hour * i / per_window;
  m.advance(t);
  const double shift = w >= 14 ? 0.2 * static_cast<double>(w - 13) : 0;
  const std::size_t c = static_cast<std::size_t>(i * 7 + w) % (w >= 18 ? 7 : 4);
  const feature_value v[] = {feature_value::of(shift + static_cast<double>(i % 17) / 17),
                             feature_value::of(countries[c])};
  m.observe("fraud", "fraud", v, t, static_cast<std::uint64_t>(w * 1000 + i));
}

void write_seeds(const char* dir) {
  monitor m = fresh();
  const std::int64_t stages[] = {1, 3, 9, 15, 20, 24};
  std::int64_t w = 0;
  for (const std::int64_t until : stages) {
    for (; w < until; ++w)
      for (int i = 0; i < 120; ++i)
        feed(m, w, i, 120);
    for (int i = 0; i < 50; ++i) // mid-window: open panes
      feed(m, w, i, 120);
    std::ofstream(std::string(dir) + "/stage-" + std::to_string(until))
        << *m.export_key("fraud", ref_text);
    for (int i = 50; i < 120; ++i)
      feed(m, w, i, 120);
    ++w;
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("BULWARK_FUZZ_WRITE_SEEDS")) {
    write_seeds(dir);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  monitor m = fresh();
  if (m.import_key(text, ref_id)) {
    FUZZ_CHECK(m.tracked_keys().empty());
    return 0;
  }
  const auto keys = m.tracked_keys();
  FUZZ_CHECK(keys.size() == 1);
  const auto again = m.export_key(keys[0], ref_text);
  FUZZ_CHECK(again.has_value());
  monitor other = fresh();
  FUZZ_CHECK(!other.import_key(*again, ref_id).has_value());
  const auto third = other.export_key(keys[0], ref_text);
  FUZZ_CHECK(third.has_value() && *third == *again);
  for (std::int64_t w = 20; w < 23; ++w)
    for (int i = 0; i < 40; ++i)
      feed(m, w, i, 40);
  m.finish();
  return 0;
}
