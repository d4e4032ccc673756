// The alert engine's rules, one by one, with a fake clock.
#include "alert/engine.hpp"
#include "unit/alert/mini_json.hpp"
#include "unit/alert/support.hpp"

#include <gtest/gtest.h>
#include <iostream>
#include <set>

namespace {

using namespace alert_test;
using bulwark::alert::alert_status;
using bulwark::alert::budget;
using bulwark::alert::kind_timers;
using bulwark::alert::timers;

constexpr timestamp_ms second = 1'000;
constexpr timestamp_ms minute = 60 * second;
constexpr timestamp_ms hour = 60 * minute;

/// Defaults, but floods out of the way and budgets generous, so a test sees
/// one rule at a time.
engine_settings quiet() {
  engine_settings s;
  s.flood.enter_count = 1'000'000'000;
  s.flood.exit_count = 1;
  s.global = budget{1'000'000, 1};
  s.per_source = budget{1'000'000, 1};
  s.unverified = budget{1'000'000, 1};
  return s;
}

mini_json::value evidence_of(const alert& a) {
  return mini_json::parse(a.evidence);
}

/// Counts records without keeping them (long runs).
class counting_sink final : public alert_sink {
public:
  void emit(const alert& a) override {
    ++records;
    if (a.kind == "flood") ++floods;
  }
  std::uint64_t records = 0;
  std::uint64_t floods = 0;
};

// --- critical lane ---

TEST(AlertEngine, ACriticalAlertIsEmittedDuringTheSubmitOfItsOwnRequest) {
  engine e = make_engine();
  recording_sink sink;
  submit(e, sink, request("integrity.tamper", "srv-1", false, t0), t0);
  ASSERT_EQ(sink.got.size(), 1U);
  EXPECT_EQ(sink.got[0].call, 1);
  EXPECT_EQ(sink.got[0].a.level, severity::critical);
  EXPECT_EQ(sink.got[0].a.count, 1U);
  EXPECT_EQ(sink.got[0].a.ts, t0);
}

TEST(AlertEngine, RepeatsOfACriticalAlertAreEmittedAtOnceWithTheRunningCount) {
  engine e = make_engine();
  recording_sink sink;
  for (int i = 0; i < 3; ++i) {
    const timestamp_ms at = t0 + i * second;
    submit(e, sink, request("integrity.tamper", "srv-" + std::to_string(i), false, at), at);
    ASSERT_EQ(sink.got.size(), static_cast<std::size_t>(i + 1));
    const alert& a = sink.got.back().a;
    EXPECT_EQ(sink.got.back().call, i + 1);
    EXPECT_EQ(a.count, static_cast<std::uint64_t>(i + 1));
    EXPECT_EQ(a.first_seen, t0);
    EXPECT_EQ(a.last_seen, at);
    EXPECT_EQ(a.fingerprint, sink.got[0].a.fingerprint);
  }
  // Unverified: the claimed source is evidence, never the source.
  EXPECT_EQ(sink.got[2].a.source, "");
  EXPECT_EQ(evidence_of(sink.got[2].a)["claimed_source"].s, "srv-2");
  EXPECT_EQ(evidence_of(sink.got[2].a)["n"].i(), 1);
}

TEST(AlertEngine, EachRepeatShowsItsOwnTitleAndEvidenceAndCountsItsOwnReplacement) {
  // A repeat that brings the same title and evidence as the one before reuses
  // the checked result; anything new is checked again.
  engine e = make_engine();
  recording_sink sink;
  const auto with = [](std::string evidence, std::string title) {
    alert_request r = request("integrity.tamper", "srv-1", true, t0);
    r.evidence = std::move(evidence);
    r.title = std::move(title);
    return r;
  };
  const std::string oversize = "{\"x\":\"" + std::string(3'000, 'e') + "\"}";
  const std::vector<alert_request> sent{with("{\"n\":1}", "first"), with("{\"n\":1}", "first"),
                                        with(oversize, "first"),    with(oversize, "first"),
                                        with("{\"n\":2}", "first"), with("{\"n\":2}", "second"),
                                        with("not json", "second"), with("not json", "second")};
  for (const auto& r : sent)
    submit(e, sink, r, t0);
  ASSERT_EQ(sink.got.size(), sent.size());
  EXPECT_EQ(evidence_of(sink.got[1].a)["n"].i(), 1);
  EXPECT_EQ(sink.got[2].a.evidence, sink.got[3].a.evidence);
  EXPECT_EQ(sink.got[3].a.evidence.find("eeee"), std::string::npos) << "oversize is replaced";
  EXPECT_EQ(evidence_of(sink.got[4].a)["n"].i(), 2);
  EXPECT_EQ(sink.got[4].a.title, "first");
  EXPECT_EQ(sink.got[5].a.title, "second");
  EXPECT_EQ(evidence_of(sink.got[5].a)["n"].i(), 2);
  EXPECT_NE(sink.got[7].a.evidence, "not json");
  EXPECT_EQ(e.stats().evidence_replaced, 4U) << "every replaced occurrence, repeats included";
}

TEST(AlertEngine, ARepeatFromAnotherClaimedSourceShowsWhatAFreshEngineShowsForIt) {
  // Unverified repeats with one title and evidence but changing claimed
  // sources (a hashed one among them, which the title names) fold into one
  // alert; each record shows exactly what the first occurrence of its own
  // request would.
  const std::string oversize = "{\"x\":\"" + std::string(3'000, 'e') + "\"}";
  for (const std::string evidence :
       {"{\"n\":1,\"m\":\"x\"}", "{}", "{ }", oversize.c_str(), "not json"}) {
    const auto with = [&](std::string source) {
      alert_request r = request("integrity.tamper", std::move(source), false, t0);
      r.title = "tampered event naming jane doe@x"; // scrubbed when it is the claim
      r.evidence = evidence;
      return r;
    };
    const std::vector<std::string> sources{"srv-1", "srv-2",     "srv-2", "jane doe@x",
                                           "srv-1", "srv-\"3\"", "srv-1"};
    engine e = make_engine();
    recording_sink sink;
    for (const auto& s : sources)
      submit(e, sink, with(s), t0);
    ASSERT_EQ(sink.got.size(), sources.size());
    std::uint64_t replaced = 0;
    for (std::size_t k = 0; k < sources.size(); ++k) {
      engine fresh = make_engine();
      recording_sink one;
      submit(fresh, one, with(sources[k]), t0);
      ASSERT_EQ(one.got.size(), 1U);
      EXPECT_EQ(sink.got[k].a.evidence, one.got[0].a.evidence) << evidence << " " << k;
      EXPECT_EQ(sink.got[k].a.title, one.got[0].a.title) << evidence << " " << k;
      EXPECT_EQ(sink.got[k].a.count, k + 1);
      replaced += fresh.stats().evidence_replaced;
    }
    EXPECT_EQ(e.stats().evidence_replaced, replaced) << evidence;
  }
}

TEST(AlertEngine, ACriticalSettingOfGroupWaitCannotDelayACritical) {
  engine_settings s;
  s.by_severity[3].group_wait = hour;
  s.by_severity[3].group_interval = hour;
  s.by_kind.push_back(kind_timers{"integrity.tamper", timers{hour, hour, 0, hour}});
  engine e = make_engine(s);
  recording_sink sink;
  submit(e, sink, request("integrity.tamper", "srv-1", true, t0), t0);
  submit(e, sink, request("integrity.tamper", "srv-1", true, t0 + 1), t0 + 1);
  ASSERT_EQ(sink.got.size(), 2U);
  EXPECT_EQ(sink.got[1].a.count, 2U);
}

// --- folding and timers ---

TEST(AlertEngine, RepeatsInsideGroupWaitFoldIntoOneRecordWithCountFirstAndLastSeen) {
  engine e = make_engine(quiet());
  recording_sink sink;
  for (int i = 0; i < 50; ++i) {
    const timestamp_ms at = t0 + i * 100;
    submit(e, sink, request("injection", "srv-1", true, at), at);
  }
  EXPECT_TRUE(sink.got.empty());
  tick(e, sink, t0 + 30 * second - 1);
  EXPECT_TRUE(sink.got.empty());
  tick(e, sink, t0 + 30 * second);
  ASSERT_EQ(sink.got.size(), 1U);
  const alert& a = sink.got[0].a;
  EXPECT_EQ(a.count, 50U);
  EXPECT_EQ(a.first_seen, t0);
  EXPECT_EQ(a.last_seen, t0 + 4'900);
  EXPECT_EQ(a.source, "srv-1");
  EXPECT_EQ(a.level, severity::medium);
  EXPECT_EQ(a.update, 1U);
  EXPECT_EQ(e.stats().folded, 49U);
}

TEST(AlertEngine, AChangedAlertIsReEmittedNoSoonerThanGroupInterval) {
  engine e = make_engine(quiet());
  recording_sink sink;
  submit(e, sink, request("injection", "srv-1", true, t0), t0);
  tick(e, sink, t0 + 30 * second);
  ASSERT_EQ(sink.got.size(), 1U);
  for (int i = 0; i < 5; ++i)
    submit(e, sink, request("injection", "srv-1", true, t0 + 40 * second + i),
           t0 + 40 * second + i);
  tick(e, sink, t0 + 30 * second + 5 * minute - 1);
  EXPECT_EQ(sink.got.size(), 1U);
  tick(e, sink, t0 + 30 * second + 5 * minute);
  ASSERT_EQ(sink.got.size(), 2U);
  EXPECT_EQ(sink.got[1].a.count, 6U);
  EXPECT_EQ(sink.got[1].a.update, 2U);
  EXPECT_EQ(sink.got[1].a.fingerprint, sink.got[0].a.fingerprint);
  // Nothing changed since: no more records (medium has no repeat_interval).
  tick(e, sink, t0 + 50 * minute);
  EXPECT_EQ(sink.got.size(), 2U);
}

TEST(AlertEngine, AnUnchangedActiveAlertIsRepeatedAfterRepeatInterval) {
  engine_settings s = quiet();
  s.by_severity[2] = timers{0, minute, 10 * minute, hour};
  engine e = make_engine(s);
  recording_sink sink;
  submit(e, sink, request("secret", "srv-1", true, t0), t0);
  ASSERT_EQ(sink.got.size(), 1U);
  tick(e, sink, t0 + 10 * minute - 1);
  EXPECT_EQ(sink.got.size(), 1U);
  tick(e, sink, t0 + 10 * minute);
  ASSERT_EQ(sink.got.size(), 2U);
  EXPECT_EQ(sink.got[1].a.count, 1U);
  EXPECT_EQ(sink.got[1].a.update, 2U);
  EXPECT_EQ(sink.got[1].a.ts, t0 + 10 * minute);
}

TEST(AlertEngine, AnAlertIdleForResolveTimeoutIsForgottenAndTheNextOccurrenceOpensANewOne) {
  engine_settings s = quiet();
  s.by_severity[2] = timers{0, minute, 0, hour};
  engine e = make_engine(s);
  recording_sink sink;
  submit(e, sink, request("secret", "srv-1", true, t0), t0);
  EXPECT_EQ(e.tracked(), 1U);
  tick(e, sink, t0 + hour - 1);
  EXPECT_EQ(e.tracked(), 1U);
  tick(e, sink, t0 + hour);
  EXPECT_EQ(e.tracked(), 0U);
  submit(e, sink, request("secret", "srv-1", true, t0 + hour + 5), t0 + hour + 5);
  ASSERT_EQ(sink.got.size(), 2U);
  EXPECT_EQ(sink.got[1].a.count, 1U);
  EXPECT_EQ(sink.got[1].a.first_seen, t0 + hour + 5);
  EXPECT_EQ(sink.got[1].a.update, 1U);
  EXPECT_EQ(sink.got[1].a.fingerprint, sink.got[0].a.fingerprint);
}

TEST(AlertEngine, PerKindTimersOverrideTheSeverityDefaults) {
  engine_settings s = quiet();
  s.by_kind.push_back(kind_timers{"pii", timers{0, second, 0, minute}});
  engine e = make_engine(s);
  recording_sink sink;
  submit(e, sink, request("pii", "srv-1", true, t0), t0);
  submit(e, sink, request("injection", "srv-1", true, t0), t0);
  ASSERT_EQ(sink.got.size(), 1U);
  EXPECT_EQ(sink.got[0].a.kind, "pii");
  EXPECT_EQ(sink.got[0].call, 1);
}

TEST(AlertEngine, RefsKeepTheFirstOccurrenceAndTheMostRecentOnes) {
  engine_settings s = quiet();
  s.limit.max_refs = 3;
  engine e = make_engine(s);
  recording_sink sink;
  for (int line = 1; line <= 5; ++line) {
    alert_request r = request("injection", "srv-1", true, t0 + line);
    r.ref.line = line;
    submit(e, sink, r, t0 + line);
  }
  e.flush(t0 + 10, sink);
  ASSERT_EQ(sink.got.size(), 1U);
  const auto& refs = sink.got[0].a.refs;
  ASSERT_EQ(refs.size(), 3U);
  EXPECT_EQ(refs[0].line, 1);
  EXPECT_EQ(refs[1].line, 4);
  EXPECT_EQ(refs[2].line, 5);
}

TEST(AlertEngine, TimeGoingBackwardsDoesNotMoveTimersBack) {
  engine e = make_engine(quiet());
  recording_sink sink;
  submit(e, sink, request("injection", "srv-1", true, t0 + minute), t0 + minute);
  // An out-of-order event: its time is earlier than the engine clock.
  submit(e, sink, request("injection", "srv-1", true, t0), t0);
  tick(e, sink, t0 + minute + 29 * second);
  EXPECT_TRUE(sink.got.empty());
  tick(e, sink, t0 + minute + 30 * second);
  ASSERT_EQ(sink.got.size(), 1U);
  EXPECT_EQ(sink.got[0].a.first_seen, t0);
  EXPECT_EQ(sink.got[0].a.last_seen, t0 + minute);
  EXPECT_EQ(sink.got[0].a.ts, t0 + minute + 30 * second);
}

TEST(AlertEngine, IdsAreUniquePerRecordAndShareThePrefixOfTheirAlert) {
  engine_settings s = quiet();
  s.instance = "host-a";
  engine e = make_engine(s);
  recording_sink sink;
  for (int i = 0; i < 20; ++i)
    submit(e, sink, request("integrity.tamper", "srv-1", true, t0 + i), t0 + i);
  for (int i = 0; i < 20; ++i)
    submit(e, sink, request("poisoning", "srv-" + std::to_string(i), true, t0 + i), t0 + i);
  std::set<std::string> ids;
  for (const auto& g : sink.got) {
    ids.insert(g.a.id);
    EXPECT_EQ(
        g.a.id.rfind("host-a-" + g.a.fingerprint + "-" + std::to_string(g.a.first_seen) + "-", 0),
        0U)
        << g.a.id;
  }
  EXPECT_EQ(ids.size(), sink.got.size());
}

// --- trust: fingerprints and budgets from authenticated fields only ---

TEST(AlertEngine, TheFingerprintIgnoresAnUnverifiedClaimedSource) {
  engine e = make_engine(quiet());
  recording_sink sink;
  submit(e, sink, request("injection", "srv-1", false, t0), t0);
  submit(e, sink, request("injection", "srv-2", false, t0 + 1), t0 + 1);
  e.flush(t0 + 2, sink);
  ASSERT_EQ(sink.got.size(), 1U);
  const alert& a = sink.got[0].a;
  EXPECT_EQ(a.count, 2U);
  EXPECT_EQ(a.source, "");
  EXPECT_FALSE(a.authenticated);
  EXPECT_EQ(evidence_of(a)["claimed_source"].s, "srv-2");
}

TEST(AlertEngine, AnAttackerCannotFoldARealAlertIntoANoisyOne) {
  engine e = make_engine(quiet());
  recording_sink sink;
  // The real finding, from a source proven by its signature.
  submit(e, sink, request("secret", "srv-1", true, t0), t0);
  ASSERT_EQ(sink.got.size(), 1U);
  const std::string real = sink.got[0].a.fingerprint;
  // The attacker forges the same source, model and rule, unsigned.
  for (int i = 1; i <= 100; ++i)
    submit(e, sink, request("secret", "srv-1", false, t0 + i), t0 + i);
  e.flush(t0 + hour, sink);
  std::uint64_t forged = 0;
  for (const auto& g : sink.got) {
    if (g.a.fingerprint == real) {
      EXPECT_EQ(g.a.count, 1U) << "the real alert absorbed forged occurrences";
      EXPECT_EQ(g.a.source, "srv-1");
    } else {
      EXPECT_EQ(g.a.source, "");
      forged = std::max(forged, g.a.count);
    }
  }
  EXPECT_EQ(forged, 100U);
}

TEST(AlertEngine, AnIdentifierThatIsNotAPlainNameIsShownHashed) {
  engine e = make_engine(quiet());
  recording_sink sink;
  alert_request r = request("secret", "jane.doe@example.com", true, t0);
  r.model = "model with spaces";
  submit(e, sink, r, t0);
  ASSERT_EQ(sink.got.size(), 1U);
  EXPECT_EQ(sink.got[0].a.source[0], '~');
  EXPECT_EQ(sink.got[0].a.model[0], '~');
  EXPECT_EQ(e.stats().identifiers_hashed, 2U);
}

// --- budgets ---

TEST(AlertEngine, OverItsBudgetASourceIsCountedNotEmittedOneByOne) {
  engine_settings s = quiet();
  s.per_source = budget{2, hour};
  s.by_severity[1].group_wait = 0;
  engine e = make_engine(s);
  recording_sink sink;
  for (int i = 0; i < 5; ++i)
    submit(e, sink, request("injection", "srv-1", true, t0 + i, "rule-" + std::to_string(i)),
           t0 + i);
  submit(e, sink, request("injection", "srv-2", true, t0 + 9), t0 + 9);
  ASSERT_EQ(sink.got.size(), 3U);
  EXPECT_EQ(sink.got[0].a.source, "srv-1");
  EXPECT_EQ(sink.got[1].a.source, "srv-1");
  EXPECT_EQ(sink.got[2].a.source, "srv-2");
  EXPECT_EQ(e.stats().over_budget, 3U);
}

TEST(AlertEngine, AllUnverifiedRequestsShareOneBudget) {
  engine_settings s = quiet();
  s.unverified = budget{3, hour};
  s.by_severity[1].group_wait = 0;
  engine e = make_engine(s);
  recording_sink sink;
  for (int i = 0; i < 5; ++i)
    submit(e, sink,
           request("injection", "claims-" + std::to_string(i), false, t0 + i,
                   "rule-" + std::to_string(i)),
           t0 + i);
  EXPECT_EQ(sink.got.size(), 3U);
  EXPECT_EQ(e.stats().over_budget, 2U);
  // An authenticated source has a budget of its own.
  submit(e, sink, request("injection", "srv-9", true, t0 + 9), t0 + 9);
  EXPECT_EQ(sink.got.size(), 4U);
}

TEST(AlertEngine, ABudgetRefillsOneTokenPerRefillPeriod) {
  engine_settings s = quiet();
  s.per_source = budget{1, 10 * second};
  s.by_severity[1].group_wait = 0;
  engine e = make_engine(s);
  recording_sink sink;
  submit(e, sink, request("injection", "srv-1", true, t0, "a"), t0);
  submit(e, sink, request("injection", "srv-1", true, t0 + 1, "b"), t0 + 1);
  EXPECT_EQ(sink.got.size(), 1U);
  submit(e, sink, request("injection", "srv-1", true, t0 + 10 * second - 1, "c"),
         t0 + 10 * second - 1);
  EXPECT_EQ(sink.got.size(), 1U);
  submit(e, sink, request("injection", "srv-1", true, t0 + 10 * second, "d"), t0 + 10 * second);
  ASSERT_EQ(sink.got.size(), 2U);
  EXPECT_EQ(sink.got[1].a.count, 1U);
}

TEST(AlertEngine, TheGlobalBudgetBoundsAllLowAndMediumRecords) {
  engine_settings s = quiet();
  s.global = budget{5, hour};
  s.by_severity[1].group_wait = 0;
  engine e = make_engine(s);
  recording_sink sink;
  for (int i = 0; i < 50; ++i)
    submit(e, sink, request("injection", "srv-" + std::to_string(i), true, t0 + i), t0 + i);
  EXPECT_EQ(sink.got.size(), 5U);
  EXPECT_EQ(e.stats().over_budget, 45U);
}

TEST(AlertEngine, ADeferredUpdateWaitsForItsTokenAndCarriesTheRunningCount) {
  engine_settings s = quiet();
  s.per_source = budget{1, minute};
  s.by_severity[1] = timers{0, second, 0, hour};
  engine e = make_engine(s);
  recording_sink sink;
  submit(e, sink, request("injection", "srv-1", true, t0), t0);
  ASSERT_EQ(sink.got.size(), 1U); // the first record was paid when the alert opened
  for (int i = 1; i <= 10; ++i)
    submit(e, sink, request("injection", "srv-1", true, t0 + i * 2 * second), t0 + i * 2 * second);
  EXPECT_EQ(sink.got.size(), 1U);
  EXPECT_GE(e.stats().deferred, 1U);
  tick(e, sink, t0 + minute - 1);
  EXPECT_EQ(sink.got.size(), 1U);
  tick(e, sink, t0 + minute);
  ASSERT_EQ(sink.got.size(), 2U);
  EXPECT_EQ(sink.got[1].a.count, 11U);
}

// --- priority lanes ---

TEST(AlertEngine, HighAndCriticalAlertsBypassBudgetsAndAnActiveFlood) {
  engine_settings s;
  s.per_source = budget{1, hour};
  s.unverified = budget{1, hour};
  s.global = budget{1, hour};
  s.flood.enter_count = 20;
  s.flood.exit_count = 1;
  engine e = make_engine(s);
  recording_sink sink;
  for (int i = 0; i < 100; ++i)
    submit(e, sink, request("injection", "srv-1", true, t0 + i, "r" + std::to_string(i)), t0 + i);
  ASSERT_TRUE(e.flood_active());
  const int before = sink.call;
  submit(e, sink, request("secret", "srv-1", true, t0 + 200), t0 + 200);
  submit(e, sink, request("integrity.replay", "srv-1", true, t0 + 201), t0 + 201);
  const auto secrets = sink.of_kind("secret");
  const auto replays = sink.of_kind("integrity.replay");
  ASSERT_EQ(secrets.size(), 1U);
  ASSERT_EQ(replays.size(), 1U);
  int secret_call = 0;
  int replay_call = 0;
  for (const auto& g : sink.got) {
    if (g.a.kind == "secret") secret_call = g.call;
    if (g.a.kind == "integrity.replay") replay_call = g.call;
  }
  EXPECT_EQ(secret_call, before + 1);
  EXPECT_EQ(replay_call, before + 2);
}

TEST(AlertEngine, LowAndMediumCardinalityCannotEvictAHighAlert) {
  engine_settings s = quiet();
  s.limit.max_folds = 64;
  engine e = make_engine(s);
  counting_sink counter;
  recording_sink sink;
  e.submit(request("secret", "srv-1", true, t0), t0, sink);
  for (int i = 0; i < 20'000; ++i)
    e.submit(request("injection", "srv-" + std::to_string(i), true, t0 + 1, std::to_string(i)),
             t0 + 1, counter);
  EXPECT_GE(e.stats().evicted_folds, 20'000U - 64U);
  e.submit(request("secret", "srv-1", true, t0 + 2), t0 + 2, sink);
  e.flush(t0 + 3, sink);
  const auto secrets = sink.of_kind("secret");
  ASSERT_FALSE(secrets.empty());
  EXPECT_EQ(secrets.back().count, 2U);
  EXPECT_EQ(secrets.back().first_seen, t0);
}

// --- flood ---

engine_settings flood_settings() {
  engine_settings s;
  s.flood.enter_count = 50;
  s.flood.exit_count = 10;
  s.flood.window = 10 * second;
  s.flood.quiet_for = minute;
  s.flood.update_interval = 30 * second;
  return s;
}

TEST(AlertEngine, AFloodStartsWhenNoiseExceedsTheRateAndNamesTopSourcesAndKinds) {
  engine e = make_engine(flood_settings());
  recording_sink sink;
  timestamp_ms now = t0;
  // srv-a 4 of every 7 findings, srv-b 2, srv-c 1.
  const char* pattern[] = {"srv-a", "srv-b", "srv-a", "srv-c", "srv-a", "srv-b", "srv-a"};
  for (int i = 0; i < 140 && !e.flood_active(); ++i) {
    now = t0 + i * 10;
    submit(e, sink, request(i % 5 == 0 ? "pii" : "injection", pattern[i % 7], true, now), now);
  }
  ASSERT_TRUE(e.flood_active());
  const auto floods = sink.of_kind("flood");
  ASSERT_EQ(floods.size(), 1U);
  const alert& f = floods[0];
  EXPECT_EQ(f.level, severity::high);
  EXPECT_EQ(f.count, 50U);
  const auto ev = evidence_of(f);
  EXPECT_EQ(ev["status"].s, "active");
  const auto& top = ev["top_sources"].a;
  ASSERT_EQ(top.size(), 3U);
  EXPECT_EQ(top[0]["source"].s, "srv-a");
  EXPECT_EQ(top[1]["source"].s, "srv-b");
  EXPECT_EQ(top[2]["source"].s, "srv-c");
  EXPECT_TRUE(top[0]["verified"].b);
  EXPECT_GT(top[0]["count"].i(), top[1]["count"].i());
  EXPECT_EQ(top[0]["count"].i() + top[1]["count"].i() + top[2]["count"].i(), 50);
  const auto& kinds = ev["top_kinds"].a;
  ASSERT_EQ(kinds.size(), 2U);
  EXPECT_EQ(kinds[0]["kind"].s, "injection");
  EXPECT_EQ(kinds[1]["kind"].s, "pii");
  EXPECT_EQ(ev["findings"].i(), 50);
  EXPECT_EQ(e.stats().floods, 1U);
}

TEST(AlertEngine, AFloodOfUnverifiedRequestsNamesTheirClaimedSourcesAsUnverified) {
  engine e = make_engine(flood_settings());
  recording_sink sink;
  for (int i = 0; i < 200 && !e.flood_active(); ++i)
    submit(e, sink, request("injection", i % 3 ? "bot-x" : "bot-y", false, t0 + i), t0 + i);
  ASSERT_TRUE(e.flood_active());
  const auto ev = evidence_of(sink.of_kind("flood").at(0));
  EXPECT_EQ(ev["top_sources"].a.at(0)["source"].s, "bot-x");
  EXPECT_FALSE(ev["top_sources"].a.at(0)["verified"].b);
  EXPECT_EQ(ev["unverified"].i(), ev["findings"].i());
}

TEST(AlertEngine, FloodUpdatesAreRateLimitedWhileTheFloodLasts) {
  engine e = make_engine(flood_settings());
  recording_sink sink;
  // 20 findings a second for five minutes.
  for (timestamp_ms now = t0; now < t0 + 5 * minute; now += 50)
    submit(e, sink, request("injection", "srv-1", true, now), now);
  const auto floods = sink.of_kind("flood");
  ASSERT_GE(floods.size(), 9U); // start + an update every 30 s
  EXPECT_LE(floods.size(), 11U);
  for (std::size_t i = 1; i < floods.size(); ++i) {
    EXPECT_GE(floods[i].ts - floods[i - 1].ts, 30 * second);
    EXPECT_GT(floods[i].count, floods[i - 1].count);
    EXPECT_EQ(floods[i].fingerprint, floods[0].fingerprint);
    EXPECT_EQ(floods[i].first_seen, floods[0].first_seen);
    EXPECT_EQ(floods[i].update, floods[i - 1].update + 1);
  }
  // The flood is one alert: no individual injection records while it lasts.
  EXPECT_LE(sink.count_kind("injection"), 1U);
}

TEST(AlertEngine, AFloodClosesAfterItsQuietPeriodWithAClosedRecord) {
  engine e = make_engine(flood_settings());
  recording_sink sink;
  timestamp_ms now = t0;
  for (; now < t0 + 20 * second; now += 50)
    submit(e, sink, request("injection", "srv-1", true, now), now);
  ASSERT_TRUE(e.flood_active());
  const timestamp_ms last = now - 50;
  // quiet_for (a minute) after the last finding that kept the rate up.
  tick(e, sink, last + minute - 1);
  EXPECT_TRUE(e.flood_active());
  tick(e, sink, last + minute);
  EXPECT_FALSE(e.flood_active());
  const auto floods = sink.of_kind("flood");
  ASSERT_GE(floods.size(), 2U);
  const alert& closed = floods.back();
  EXPECT_EQ(closed.status, alert_status::closed);
  EXPECT_EQ(closed.expires, closed.ts);
  const auto ev = evidence_of(closed);
  EXPECT_EQ(ev["status"].s, "closed");
  EXPECT_EQ(ev["ended"].s, format_rfc3339(closed.ts));
  EXPECT_EQ(closed.count, 400U - 1U); // every finding but the one that opened an alert
  // After the flood, a finding opens an alert of its own again.
  const std::size_t before = sink.got.size();
  const timestamp_ms later = last + 2 * hour;
  submit(e, sink, request("injection", "srv-1", true, later), later);
  tick(e, sink, later + 30 * second);
  ASSERT_EQ(sink.got.size(), before + 1);
  EXPECT_EQ(sink.got.back().a.kind, "injection");
  EXPECT_EQ(sink.got.back().a.count, 1U);
}

TEST(AlertEngine, FlushClosesAnOpenFloodAndEmitsPendingAlerts) {
  engine e = make_engine(flood_settings());
  recording_sink sink;
  submit(e, sink, request("secret", "srv-9", true, t0), t0);
  submit(e, sink, request("secret", "srv-9", true, t0 + 1), t0 + 1); // folded, pending
  for (timestamp_ms now = t0; now < t0 + 10 * second; now += 50)
    submit(e, sink, request("injection", "srv-1", true, now), now);
  ASSERT_TRUE(e.flood_active());
  e.flush(t0 + 10 * second, sink);
  EXPECT_FALSE(e.flood_active());
  EXPECT_EQ(sink.of_kind("flood").back().status, alert_status::closed);
  EXPECT_EQ(sink.of_kind("secret").back().count, 2U);
  // Nothing pending is left: a second flush emits nothing.
  const std::size_t n = sink.got.size();
  e.flush(t0 + 10 * second, sink);
  EXPECT_EQ(sink.got.size(), n);
}

TEST(AlertEngine, NextDeadlineSaysWhenTickHasWork) {
  engine e = make_engine(quiet());
  recording_sink sink;
  EXPECT_EQ(e.next_deadline(), std::numeric_limits<timestamp_ms>::max());
  submit(e, sink, request("injection", "srv-1", true, t0), t0);
  EXPECT_EQ(e.next_deadline(), t0 + 30 * second);
}

// --- bounded memory ---

TEST(AlertEngine, MemoryStaysBoundedUnderAttackerControlledCardinality) {
  for (const bool limited : {true, false}) {
    engine_settings s = limited ? engine_settings{} : quiet();
    s.limit.max_folds = 512;
    s.limit.max_priority_folds = 512;
    s.limit.max_budgets = 1024;
    engine e = make_engine(s);
    counting_sink sink;
    const std::string long_name(300, 'x');
    for (int i = 0; i < 100'000; ++i) {
      const std::string n = std::to_string(i);
      const timestamp_ms now = t0 + i;
      switch (i % 4) {
      case 0: // a new authenticated source every time, each with new rules
        e.submit(request("injection", "src-" + n, true, now, "r" + n), now, sink);
        break;
      case 1: // unverified, attacker-chosen long names and models
        e.submit(request("pii", long_name + n, false, now, "r", "m" + n + long_name), now, sink);
        break;
      case 2: // high, a new model every time
        e.submit(request("secret", "src-" + n, true, now, "r", "model-" + n), now, sink);
        break;
      default: { // oversize evidence
        alert_request r = request("dlq", "src-" + n, true, now, "r" + n);
        r.evidence = "{\"x\":\"" + std::string(3'000, 'e') + "\"}";
        e.submit(r, now, sink);
      }
      }
    }
    const std::size_t bytes = e.memory_bytes();
    const std::size_t bound = engine::memory_bound(s);
    std::cout << (limited ? "[default budgets] " : "[no budgets, no flood] ")
              << "memory after 100000 requests of distinct sources/fingerprints: " << bytes
              << " bytes (bound " << bound << ", tracked " << e.tracked() << ")\n";
    RecordProperty(limited ? "memory_bytes_default" : "memory_bytes_unlimited",
                   std::to_string(bytes));
    EXPECT_LE(bytes, bound);
    EXPECT_LE(e.tracked(), 1024U);
    if (!limited) {
      EXPECT_GT(e.stats().evicted_folds, 50'000U);
      EXPECT_EQ(e.stats().evidence_replaced, 25'000U);
    }
  }
}

// --- settings ---

TEST(AlertEngine, InvalidSettingsAreRefusedNamingTheSetting) {
  engine_settings s;
  s.per_source.burst = 0;
  auto made = engine::make(s);
  ASSERT_TRUE(std::holds_alternative<bulwark::alert::error>(made));
  EXPECT_NE(std::get<bulwark::alert::error>(made).message.find("per_source.burst"),
            std::string::npos);

  s = engine_settings{};
  s.flood.exit_count = s.flood.enter_count + 1;
  made = engine::make(s);
  ASSERT_TRUE(std::holds_alternative<bulwark::alert::error>(made));
  EXPECT_NE(std::get<bulwark::alert::error>(made).message.find("exit_count"), std::string::npos);

  s = engine_settings{};
  s.by_kind.push_back(kind_timers{"not a kind", timers{}});
  EXPECT_TRUE(std::holds_alternative<bulwark::alert::error>(engine::make(s)));

  EXPECT_TRUE(std::holds_alternative<engine>(engine::make(engine_settings{})));
}

} // namespace
