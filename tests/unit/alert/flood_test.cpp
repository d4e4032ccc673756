// Issue 7's flood test: 200,000 medium-severity injection findings from 1,000
// sources with 3 tampered events interleaved. Every critical is emitted during
// the submit of its own request, the output stays under 2,000 records, and a
// `flood` alert names the sources.
#include "alert/engine.hpp"
#include "unit/alert/mini_json.hpp"
#include "unit/alert/support.hpp"

#include <gtest/gtest.h>
#include <iostream>
#include <set>

namespace {

using namespace alert_test;
using bulwark::alert::alert_status;

struct flood_case {
  const char* name;
  bool signed_sources;     ///< the noisy sources are authenticated (a compromised fleet)
  timestamp_ms spacing_us; ///< microseconds between findings
};

void PrintTo(const flood_case& c, std::ostream* os) {
  *os << c.name;
}

class FloodTest : public ::testing::TestWithParam<flood_case> {};

TEST_P(FloodTest, CriticalsGoOutAtOnceTheOutputStaysSmallAndTheFloodNamesItsSources) {
  const flood_case c = GetParam();
  engine e = make_engine();
  recording_sink sink;
  constexpr int findings = 200'000;
  constexpr int sources = 1'000;
  const std::set<int> tamper_at{50'000, 100'000, 150'000};
  std::vector<int> tamper_calls;
  timestamp_ms now = t0;
  for (int i = 0; i < findings; ++i) {
    now = t0 + static_cast<timestamp_ms>(i) * c.spacing_us / 1000;
    alert_request r = request("injection", "src-" + std::to_string(i % sources), c.signed_sources,
                              now, "inj-" + std::to_string(i % 7));
    r.ref.line = i + 1;
    submit(e, sink, r, now);
    if (tamper_at.count(i)) {
      alert_request t = request("integrity.tamper", "srv-real", false, now, "k1");
      t.ref.line = i + 2;
      submit(e, sink, t, now);
      tamper_calls.push_back(sink.call);
      // Emitted during this very submit: before the next event is even read.
      ASSERT_FALSE(sink.got.empty());
      EXPECT_EQ(sink.got.back().call, sink.call);
      EXPECT_EQ(sink.got.back().a.kind, "integrity.tamper");
    }
  }
  ++sink.call;
  e.flush(now, sink);

  // All three criticals, each in the call that submitted it, counts running.
  std::vector<const recording_sink::entry*> criticals;
  for (const auto& g : sink.got)
    if (g.a.level == severity::critical) criticals.push_back(&g);
  ASSERT_EQ(criticals.size(), 3U);
  for (std::size_t k = 0; k < 3; ++k) {
    EXPECT_EQ(criticals[k]->call, tamper_calls[k]);
    EXPECT_EQ(criticals[k]->a.count, k + 1);
  }

  EXPECT_LT(sink.got.size(), 2'000U) << "alert output must stay under 2,000 records";

  const auto floods = sink.of_kind("flood");
  ASSERT_FALSE(floods.empty());
  EXPECT_EQ(floods.back().status, alert_status::closed);
  const auto ev = mini_json::parse(floods.back().evidence);
  const auto& top = ev["top_sources"].a;
  ASSERT_GE(top.size(), 5U);
  for (const auto& s : top) {
    const std::string& name = s["source"].s;
    ASSERT_EQ(name.rfind("src-", 0), 0U) << name;
    EXPECT_LT(std::stoi(name.substr(4)), sources);
    EXPECT_EQ(s["verified"].b, c.signed_sources);
    EXPECT_GT(s["count"].i(), 0);
  }
  EXPECT_EQ(ev["top_kinds"].a.at(0)["kind"].s, "injection");
  // Nearly every finding is accounted for by the flood: only those that
  // opened an alert before it started are not.
  EXPECT_GE(floods.back().count, static_cast<std::uint64_t>(findings) - 200U);

  // Every record renders to valid JSON in both formats.
  for (const auto& g : sink.got) {
    EXPECT_NO_THROW(mini_json::parse(bulwark::alert::render_json(g.a)));
    EXPECT_NO_THROW(mini_json::parse(bulwark::alert::render_ocsf(g.a)));
  }
  std::cout << c.name << ": " << sink.got.size() << " records (" << floods.size()
            << " flood), memory " << e.memory_bytes() << " bytes\n";
}

INSTANTIATE_TEST_SUITE_P(Issue7, FloodTest,
                         ::testing::Values(flood_case{"signed_1000_per_s", true, 1'000},
                                           flood_case{"unsigned_1000_per_s", false, 1'000},
                                           flood_case{"signed_200k_in_one_hour", true, 18'000},
                                           flood_case{"unsigned_burst_10000_per_s", false, 100}),
                         [](const auto& param_info) { return std::string(param_info.param.name); });

} // namespace
