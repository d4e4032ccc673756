// The monitor's contracts: time and lateness, the key cap, references that
// stay frozen until an explicit act, exports and merges that are exact, and
// alerts that say what moved.
#include "drift/monitor.hpp"
#include "drift/reference.hpp"
#include "unit/drift/stream.hpp"

#include <gtest/gtest.h>
#include <random>

namespace bulwark::drift {
namespace {

using namespace streams;

settings one_numeric() {
  settings s;
  s.features = {{"/score", feature_type::numeric, {}, {}, {}}};
  return s;
}

monitor make(const settings& s) {
  auto m = monitor::make(s);
  return std::move(std::get<monitor>(m));
}

std::vector<feature_value> value(double x) {
  return {feature_value::of(x)};
}

std::uint64_t accounted(const counters& c) {
  return c.applied + c.learning + c.late + c.future + c.untracked + c.unreferenced +
         c.reference_late;
}

TEST(DriftMonitor, RefusesInvalidSettings) {
  settings s = one_numeric();
  s.window_ms = 0;
  EXPECT_TRUE(std::holds_alternative<error>(monitor::make(s)));
}

TEST(DriftMonitor, LateEventsAreCountedNeverSilentlyDropped) {
  settings s = one_numeric();
  s.reference_windows = 1;
  monitor m = make(s);
  const timestamp_ms minute = 60'000;
  m.advance(t0 + 30 * minute);
  EXPECT_EQ(m.observe("fraud", "fraud", value(1), t0 + 30 * minute, 1), observe_result::learning);
  // 11:03 minus 5 min lateness: the 10:00 window is still open.
  m.advance(t0 + hour + 3 * minute);
  EXPECT_EQ(m.observe("fraud", "fraud", value(2), t0 + 59 * minute, 2), observe_result::learning);
  m.advance(t0 + hour + 6 * minute); // closes 10:00-11:00 and freezes the reference
  EXPECT_EQ(m.observe("fraud", "fraud", value(3), t0 + 59 * minute, 3), observe_result::late);
  EXPECT_EQ(m.observe("fraud", "fraud", value(4), t0 + hour + 10 * minute, 4),
            observe_result::applied);
  m.advance(t0 + 2 * hour + 4 * minute);
  EXPECT_EQ(m.observe("fraud", "fraud", value(5), t0 + hour + 59 * minute, 5),
            observe_result::applied);
  m.advance(t0 + 2 * hour + 5 * minute);
  EXPECT_EQ(m.observe("fraud", "fraud", value(6), t0 + hour + 59 * minute, 6),
            observe_result::late);
  // Far ahead of the watermark.
  EXPECT_EQ(m.observe("fraud", "fraud", value(7), t0 + 30 * hour, 7), observe_result::future);
  const counters& c = m.stats();
  EXPECT_EQ(c.late, 2U);
  EXPECT_EQ(c.future, 1U);
  EXPECT_EQ(c.observed, 7U);
  EXPECT_EQ(accounted(c), c.observed);
}

TEST(DriftMonitor, TheKeyCapRaisesOneCapacityAlertAndKeepsTrackedKeysWorking) {
  settings s = one_numeric();
  s.max_keys = 3;
  s.reference_windows = 1;
  monitor m = make(s);
  const std::vector<std::string> keys{"a", "b", "c", "d", "e", "f"};
  std::uint64_t ref = 0;
  std::vector<raised_alert> alerts;
  for (std::int64_t w = 0; w < 3; ++w)
    for (const auto& k : keys) {
      const timestamp_ms t = t0 + w * hour + static_cast<timestamp_ms>(++ref);
      for (auto& a : m.advance(t))
        alerts.push_back(std::move(a));
      m.observe(k, k, value(1.0 * static_cast<double>(ref % 7)), t, ref);
    }
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].request.kind, "capacity");
  EXPECT_EQ(alerts[0].request.level, severity::medium);
  EXPECT_EQ(alerts[0].ref_id, 4U); // the first event of the first key beyond the cap
  EXPECT_EQ(m.stats().untracked, 9U);
  EXPECT_EQ(m.state().keys, 3U);
  EXPECT_EQ(m.state().frozen, 3U); // a, b, c kept learning and froze
  EXPECT_FALSE(m.feature_bytes("d", 0));
  // Only an explicit act frees a slot.
  const auto record = m.forget("a", t0 + 3 * hour);
  ASSERT_TRUE(record);
  EXPECT_NE(record->json.find("\"forgotten\""), std::string::npos);
  EXPECT_FALSE(m.forget("a", t0 + 3 * hour));
  m.advance(t0 + 3 * hour);
  EXPECT_EQ(m.observe("d", "d", value(1), t0 + 3 * hour, 99), observe_result::learning);
  EXPECT_EQ(m.state().keys, 3U);
}

/// N(mean, 1) at `volume` events per window for windows [from, to).
void normal_windows(driver& d, std::mt19937_64& rng, std::int64_t from, std::int64_t to,
                    double mean, int volume = 500) {
  std::normal_distribution<double> n(mean, 1);
  for (std::int64_t w = from; w < to; ++w)
    d.window(w, volume, [&](int) { return value(n(rng)); });
}

TEST(DriftMonitor, AFrozenReferenceDoesNotMoveUnderDrift) {
  monitor m = make(one_numeric());
  driver d(m);
  std::mt19937_64 rng(9);
  normal_windows(d, rng, 0, 25, 0);
  const std::string before = m.export_reference();
  ASSERT_NE(before.find("\"entries\":[{"), std::string::npos);
  normal_windows(d, rng, 25, 230, 1.0); // a 1 SD shift that never goes away
  d.finish();
  EXPECT_EQ(m.export_reference(), before);
  const auto alerts = d.of_kind("drift");
  ASSERT_GE(alerts.size(), 8U); // re-raised every repeat_windows while it lasts
  EXPECT_EQ(first_window(*alerts.front()), 25);
  // An auto-updating baseline would have absorbed the shift by now; the frozen
  // one still measures it in full at the end.
  const auto last = evidence(*alerts.back());
  EXPECT_GE(last_window(*alerts.back()), 215);
  EXPECT_GT(number(last, "statistics", "u_shift"), 0.2);
  EXPECT_EQ(alerts.back()->request.level, severity::high);
}

TEST(DriftMonitor, LearningFreezesTheReferenceWithAnAuditRecord) {
  monitor m = make(one_numeric());
  driver d(m);
  std::mt19937_64 rng(1);
  normal_windows(d, rng, 0, 24, 0);
  EXPECT_EQ(m.state().learning, 1U);
  EXPECT_TRUE(m.take_audit_records().empty());
  normal_windows(d, rng, 24, 25, 0);
  EXPECT_EQ(m.state().frozen, 1U);
  const auto records = m.take_audit_records();
  ASSERT_EQ(records.size(), 1U);
  const auto r = std::get<json::value>(json::parse(records[0].json));
  EXPECT_EQ(field(r, "action"), "frozen");
  EXPECT_EQ(field(r, "feature"), "/score");
  EXPECT_EQ(field(r, "digest").size(), 64U);
  // Cuts from the first quarter, counts from the other 18 windows.
  EXPECT_EQ(number(r, "n"), 18 * 500.0);
}

TEST(DriftMonitor, AReferenceExportedAndLoadedGivesTheSameMonitoring) {
  monitor learned = make(one_numeric());
  driver dl(learned);
  std::mt19937_64 rng(4);
  normal_windows(dl, rng, 0, 24, 0);
  dl.take(learned.advance(t0 + 24 * hour + 10 * 60'000)); // close the last reference window
  const std::string file = learned.export_reference();

  settings from_file = one_numeric();
  from_file.learn_references = false;
  monitor loaded = make(from_file);
  loaded.advance(t0 + 24 * hour + 10 * 60'000); // the same event time as `learned`
  auto records = loaded.load_reference(file, t0);
  ASSERT_TRUE(std::holds_alternative<std::vector<audit_record>>(records));
  ASSERT_EQ(std::get<std::vector<audit_record>>(records).size(), 1U);
  EXPECT_NE(std::get<std::vector<audit_record>>(records)[0].json.find("\"loaded\""),
            std::string::npos);
  EXPECT_EQ(loaded.export_reference(), file);

  // The same drifting stream after the reference gives the same alerts.
  driver d2(loaded);
  d2.next_ref = dl.next_ref;
  std::mt19937_64 a(8), b(8);
  normal_windows(dl, a, 24, 60, 0.4);
  normal_windows(d2, b, 24, 60, 0.4);
  dl.finish();
  d2.finish();
  const auto x = dl.of_kind("drift"), y = d2.of_kind("drift");
  ASSERT_FALSE(x.empty());
  ASSERT_EQ(x.size(), y.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(x[i]->request.evidence, y[i]->request.evidence);
    EXPECT_EQ(x[i]->ref_id, y[i]->ref_id);
  }
}

TEST(DriftMonitor, LoadingRejectsMismatchedFilesWhole) {
  monitor m = make(one_numeric());
  const auto rejects = [&](const std::string& text) {
    return std::holds_alternative<error>(m.load_reference(text, t0));
  };
  EXPECT_TRUE(rejects("not json"));
  EXPECT_TRUE(rejects(R"({"format":"other","version":1,"window_ms":3600000,"entries":[]})"));
  EXPECT_TRUE(rejects(
      R"({"format":"bulwark.drift.reference","version":2,"window_ms":3600000,"entries":[]})"));
  EXPECT_TRUE(rejects(
      R"({"format":"bulwark.drift.reference","version":1,"window_ms":60000,"entries":[]})"));
  // An unknown feature anywhere rejects the whole file, valid entries included.
  const std::string good =
      R"({"key":"fraud","model":"fraud","feature":"/score","type":"numeric","n":2,"u_n":2,"u_mean":0.5,"u_var":0.25,"min":0,"max":1,"cuts":[],"cdf":[0,1],"counts":[2,0,0,0]})";
  const std::string unknown =
      R"({"key":"fraud","model":"fraud","feature":"/other","type":"numeric","n":0,"u_n":0,"u_mean":0.5,"u_var":0.08,"cuts":[],"cdf":[],"counts":[0,0,0,0]})";
  EXPECT_TRUE(
      rejects(R"({"format":"bulwark.drift.reference","version":1,"window_ms":3600000,"entries":[)" +
              good + "," + unknown + "]}"));
  EXPECT_EQ(m.state().keys, 0U);
  EXPECT_FALSE(
      rejects(R"({"format":"bulwark.drift.reference","version":1,"window_ms":3600000,"entries":[)" +
              good + "]}"));
  EXPECT_EQ(m.state().frozen, 1U);
}

TEST(DriftMonitor, ReplacingOrRelearningAReferenceIsAnExplicitRecordedAct) {
  monitor m = make(one_numeric());
  driver d(m);
  std::mt19937_64 rng(12);
  normal_windows(d, rng, 0, 25, 0);
  const auto frozen = m.take_audit_records();
  ASSERT_EQ(frozen.size(), 1U);
  const std::string old_digest =
      field(std::get<json::value>(json::parse(frozen[0].json)), "digest");

  // Relearning: one record naming the reference it throws away.
  const auto relearn = m.relearn("fraud", t0 + 25 * hour);
  ASSERT_EQ(relearn.size(), 1U);
  const auto r = std::get<json::value>(json::parse(relearn[0].json));
  EXPECT_EQ(field(r, "action"), "relearn");
  EXPECT_EQ(field(r, "previous_digest"), old_digest);
  EXPECT_TRUE(m.relearn("unknown", t0).empty());
  // The shifted traffic becomes the new reference: no alert once it froze.
  normal_windows(d, rng, 25, 80, 1.0);
  d.finish();
  EXPECT_TRUE(d.of_kind("drift").empty());
  const auto refrozen = m.take_audit_records();
  ASSERT_EQ(refrozen.size(), 1U);
  EXPECT_NE(field(std::get<json::value>(json::parse(refrozen[0].json)), "digest"), old_digest);

  // Loading over a frozen reference replaces it, and says so.
  monitor other = make(one_numeric());
  driver d2(other);
  normal_windows(d2, rng, 0, 25, 5.0);
  auto replaced = m.load_reference(other.export_reference(), t0 + 80 * hour);
  ASSERT_TRUE(std::holds_alternative<std::vector<audit_record>>(replaced));
  const auto& rec = std::get<std::vector<audit_record>>(replaced);
  ASSERT_EQ(rec.size(), 1U);
  EXPECT_NE(rec[0].json.find("\"replaced\""), std::string::npos);
  EXPECT_NE(rec[0].json.find("previous_digest"), std::string::npos);
}

TEST(DriftMonitor, TwoWorkersPanesMergedGiveExactlyTheSingleStreamResult) {
  // A numeric and a categorical feature; the categorical one drifts towards
  // values outside its table, so the new-category sketches merge too.
  settings s = one_numeric();
  s.features.push_back({"/country", feature_type::categorical, {}, {}, {}});
  static const std::vector<std::string> countries{"DE",  "FR",  "IT",  "x-1", "x-2", "x-3",
                                                  "x-4", "x-5", "x-6", "x-7", "x-8", "x-9"};
  std::mt19937_64 rng(21);
  std::normal_distribution<double> n(0, 1);
  std::uniform_int_distribution<std::size_t> common(0, 2), any(0, countries.size() - 1);
  const auto event = [&](double mean, bool novel) {
    return std::vector<feature_value>{
        feature_value::of(mean + n(rng)),
        feature_value::of(std::string_view(countries[novel ? any(rng) : common(rng)]))};
  };
  monitor learner = make(s);
  driver dl(learner);
  for (std::int64_t w = 0; w < 25; ++w)
    dl.window(w, 500, [&](int) { return event(0, false); });
  const std::string file = learner.export_reference();
  s.learn_references = false;
  monitor single = make(s), a = make(s), b = make(s);
  for (monitor* m : {&single, &a, &b})
    ASSERT_TRUE(std::holds_alternative<std::vector<audit_record>>(m->load_reference(file, t0)));
  std::vector<raised_alert> from_single, from_a;
  std::uint64_t ref = 0;
  for (std::int64_t w = 30; w < 70; ++w) {
    const double mean = w < 45 ? 0 : 0.03 * static_cast<double>(w - 44); // a slow drift
    for (int i = 0; i < 600; ++i) {
      const timestamp_ms t = t0 + w * hour + hour * i / 600;
      for (auto& x : single.advance(t))
        from_single.push_back(std::move(x));
      for (auto& x : a.advance(t))
        from_a.push_back(std::move(x));
      b.advance(t);
      const auto v = event(mean, w >= 60 && i % 4 == 0);
      ++ref;
      single.observe("fraud", "fraud", v, t, ref);
      (ref % 3 == 0 ? b : a).observe("fraud", "fraud", v, t, ref);
    }
    // End of a window: worker b hands its panes to a.
    ASSERT_FALSE(a.merge_panes(b.take_panes()));
    EXPECT_EQ(a.export_panes(), single.export_panes()) << "window " << w;
  }
  for (auto& x : single.finish())
    from_single.push_back(std::move(x));
  for (auto& x : a.finish())
    from_a.push_back(std::move(x));
  ASSERT_FALSE(from_single.empty());
  bool categorical = false;
  for (const auto& x : from_single)
    categorical = categorical || x.request.rule == "/country";
  EXPECT_TRUE(categorical);
  ASSERT_EQ(from_a.size(), from_single.size());
  for (std::size_t i = 0; i < from_a.size(); ++i) {
    EXPECT_EQ(from_a[i].request.evidence, from_single[i].request.evidence);
    EXPECT_EQ(from_a[i].ref_id, from_single[i].ref_id);
  }
  EXPECT_EQ(b.stats().applied, ref / 3);
}

TEST(DriftMonitor, MergingRefusesPanesOfADifferentReference) {
  monitor x = make(one_numeric()), y = make(one_numeric());
  driver dx(x), dy(y);
  std::mt19937_64 rng(2);
  normal_windows(dx, rng, 0, 25, 0);
  normal_windows(dy, rng, 0, 25, 3);
  const auto e = x.merge_panes(y.export_panes());
  ASSERT_TRUE(e);
  EXPECT_NE(e->message.find("different reference"), std::string::npos);
}

TEST(DriftMonitor, ADriftAlertCarriesWhatMovedWhereAndWhen) {
  monitor m = make(one_numeric());
  driver d(m);
  std::mt19937_64 rng(30);
  normal_windows(d, rng, 0, 25, 0);
  normal_windows(d, rng, 25, 26, 0.8);
  d.take(m.advance(t0 + 27 * hour));
  const auto alerts = d.of_kind("drift");
  ASSERT_EQ(alerts.size(), 1U);
  const raised_alert& a = *alerts.front();
  EXPECT_EQ(a.request.kind, "drift");
  EXPECT_EQ(a.request.model, "fraud");
  EXPECT_EQ(a.request.rule, "/score");
  EXPECT_EQ(a.request.at, t0 + 26 * hour);
  EXPECT_EQ(a.ref_id, d.last_ref.at(25)); // refs[0]: the last event of the window
  const auto e = evidence(a);
  EXPECT_EQ(field(e, "feature"), "/score");
  EXPECT_EQ(field(e, "window_start"), "2026-01-02T01:00:00.000Z");
  EXPECT_EQ(field(e, "window_end"), "2026-01-02T02:00:00.000Z");
  EXPECT_EQ(field(e, "scale"), "1h");
  EXPECT_EQ(field(e, "detector"), "window");
  EXPECT_EQ(field(e, "signature"), "abrupt");
  EXPECT_FALSE(field(e, "onset").empty());
  for (const char* stat : {"psi", "js_distance", "hellinger", "wasserstein_u", "chi2", "chi2_p",
                           "g", "g_p", "z", "z_p", "u_shift"})
    EXPECT_FALSE(std::isnan(number(e, "statistics", stat))) << stat;
  EXPECT_GT(number(e, "statistics", "psi"), 0.25);
  const auto* moved = e.find("moved");
  ASSERT_NE(moved, nullptr);
  ASSERT_FALSE(moved->items.empty());
  // A shift up empties low bins and fills high ones.
  bool up = false, down = false;
  for (const auto& b : moved->items) {
    up = up || field(b, "direction") == "up";
    down = down || field(b, "direction") == "down";
  }
  EXPECT_TRUE(up || down);
  EXPECT_EQ(a.request.level, severity::high);
}

TEST(DriftMonitor, StateIsBoundedPerKeyAndFeature) {
  monitor m = make(one_numeric());
  driver d(m);
  std::mt19937_64 rng(3);
  normal_windows(d, rng, 0, 26, 0, 200);
  const auto small = m.feature_bytes("fraud", 0);
  ASSERT_TRUE(small);
  normal_windows(d, rng, 26, 60, 0, 2000);
  // Ten times the traffic, the same state.
  EXPECT_EQ(m.feature_bytes("fraud", 0), small);
  EXPECT_LT(*small, 32U * 1024);
}

TEST(DriftMonitor, IdleLearnedKeysAreForgottenWithARecordAndFreeTheirSlot) {
  settings s = one_numeric();
  s.max_keys = 1;
  s.reference_windows = 2;
  s.evict_idle_windows = 5;
  monitor m = make(s);
  m.advance(t0);
  m.observe("old", "old", value(1), t0, 1);
  m.advance(t0 + 3 * hour);
  EXPECT_EQ(m.observe("new", "new", value(1), t0 + 3 * hour, 2), observe_result::untracked);
  m.take_audit_records();
  m.advance(t0 + 8 * hour);
  const auto records = m.take_audit_records();
  ASSERT_EQ(records.size(), 1U);
  EXPECT_NE(records[0].json.find("\"evicted\""), std::string::npos);
  EXPECT_EQ(m.observe("new", "new", value(1), t0 + 8 * hour, 3), observe_result::learning);
}

TEST(DriftMonitor, AttackerSizedKeysAndModelsAreStoredAsDigests) {
  settings s = one_numeric();
  s.reference_windows = 1;
  monitor m = make(s);
  const std::string key(100'000, 'k'), model(10'000, 'm');
  m.advance(t0);
  EXPECT_EQ(m.observe(key, model, value(1), t0, 1), observe_result::learning);
  EXPECT_EQ(m.observe(key, model, value(2), t0 + 1, 2), observe_result::learning);
  EXPECT_EQ(m.state().keys, 1U);
  EXPECT_LT(m.state().bytes, 8U * 1024);
  ASSERT_TRUE(m.feature_bytes(key, 0));
  // The reference file names the key by its digest, and loads back.
  m.advance(t0 + 2 * hour);
  const std::string file = m.export_reference();
  EXPECT_EQ(file.find("kkkkkkkk"), std::string::npos);
  EXPECT_NE(file.find("sha256:"), std::string::npos);
  monitor other = make(s);
  EXPECT_TRUE(std::holds_alternative<std::vector<audit_record>>(other.load_reference(file, t0)));
}

TEST(DriftBaselineBuilder, BuildsAFileTheMonitorLoads) {
  auto made = baseline_builder::make(one_numeric());
  ASSERT_TRUE(std::holds_alternative<baseline_builder>(made));
  auto& b = std::get<baseline_builder>(made);
  std::mt19937_64 rng(5);
  std::normal_distribution<double> n(10, 2);
  for (int i = 0; i < 20000; ++i)
    b.add(i % 2 ? "fraud" : "churn", i % 2 ? "fraud" : "churn", value(n(rng)));
  const std::string file = b.finish();
  monitor m = make(one_numeric());
  auto loaded = m.load_reference(file, t0);
  ASSERT_TRUE(std::holds_alternative<std::vector<audit_record>>(loaded))
      << std::get<error>(loaded).message;
  EXPECT_EQ(std::get<std::vector<audit_record>>(loaded).size(), 2U);
  // The cuts come from a 4096-value sample, the counts from every other value.
  EXPECT_NE(file.find("\"n\":5904"), std::string::npos);
  EXPECT_EQ(m.export_reference(), file);
}

} // namespace
} // namespace bulwark::drift
