#include "config/options.hpp"
#include "integrity/checker.hpp"
#include "unit/integrity/fleet.hpp"

#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace bulwark::integrity {
namespace {

using namespace bulwark::integrity::testing;

constexpr timestamp_ms t0 = 1'790'000'000'000;
constexpr timestamp_ms second = 1'000;
constexpr timestamp_ms minute = 60'000;

/// Runs one event through the checker at its own event time.
check_result run(checker& c, const owned_event& e) {
  return c.check(e.facts(), e.e.ts.value_or(t0));
}

TEST(Checker, ACleanSignedFleetRaisesNothing) {
  auto c = make_checker();
  for (std::uint64_t seq = 1; seq <= 600; ++seq) {
    for (int s = 0; s < 5; ++s) {
      // Events of a source arrive slightly out of order now and then.
      const std::uint64_t n =
          (seq % 10 == 0 && seq > 1) ? seq - 1 : (seq % 10 == 9 ? seq + 1 : seq);
      const timestamp_ms ts = t0 + static_cast<timestamp_ms>(n) * second + s * 7;
      const auto e = signed_event(ev_of(n, ts, "srv-" + std::to_string(s)));
      const auto r = run(c, e);
      ASSERT_EQ(r.status, integrity_status::verified) << seq;
      EXPECT_FALSE(r.quarantine);
      EXPECT_FALSE(r.untrusted);
      EXPECT_TRUE(r.alerts.empty()) << r.alerts.front().kind;
      EXPECT_TRUE(c.tick(ts).empty());
    }
  }
  EXPECT_TRUE(c.finish(t0 + 601 * second).empty());
}

TEST(Checker, WithoutKeysNothingIsCheckedOrAnnotated) {
  auto c = make_checker({}, key_ring{});
  EXPECT_FALSE(c.keyed());
  auto forged = signed_event(ev_of(1, t0), "k1", key2_hex);
  const auto r = run(c, forged);
  EXPECT_FALSE(r.status.has_value());
  EXPECT_FALSE(r.quarantine);
  EXPECT_TRUE(r.alerts.empty());
  EXPECT_TRUE(run(c, forged).alerts.empty()); // no replay tracking either
}

TEST(Checker, AnEditedSignedEventIsQuarantinedAsTamper) {
  auto c = make_checker();
  auto e = signed_event(ev_of(1, t0));
  e.raw.replace(e.raw.find("12.5"), 4, "99.9"); // the amount changed in transit
  const auto r = run(c, e);
  EXPECT_EQ(r.status, integrity_status::invalid);
  EXPECT_TRUE(r.quarantine);
  EXPECT_EQ(r.quarantine_reason, "integrity.tamper");
  ASSERT_EQ(r.alerts.size(), 1U);
  const auto& a = r.alerts[0];
  EXPECT_EQ(a.kind, "integrity.tamper");
  EXPECT_EQ(a.level, severity::critical);
  EXPECT_FALSE(a.authenticated);
  EXPECT_EQ(a.source, "srv-1");
  EXPECT_EQ(a.at, t0);
  // The model of an event that failed its check is only claimed: out of the
  // fingerprint (SPEC §6), into the evidence.
  EXPECT_EQ(a.model, "");
  EXPECT_EQ(a.evidence,
            R"({"reason":"bad_mac","form":"body","kid":"k1","seq":1,"claimed_model":"fraud"})");
}

TEST(Checker, AnUnknownKeyIsTamperAndItsIdIsNotEchoed) {
  auto c = make_checker();
  const auto e = signed_event(ev_of(1, t0), "attacker-chosen-kid", key1_hex);
  const auto r = run(c, e);
  EXPECT_EQ(r.status, integrity_status::unknown_key);
  EXPECT_TRUE(r.quarantine);
  ASSERT_EQ(r.alerts.size(), 1U);
  EXPECT_EQ(r.alerts[0].kind, "integrity.tamper");
  EXPECT_EQ(r.alerts[0].evidence.find("attacker-chosen-kid"), std::string::npos);
  EXPECT_EQ(r.alerts[0].title.find("attacker-chosen-kid"), std::string::npos);
  EXPECT_EQ(r.alerts[0].rule.find("attacker-chosen-kid"), std::string::npos);
}

TEST(Checker, UnsignedEventsAreQuarantinedOnlyFromRequiredSources) {
  checker_settings s;
  s.require_signature = {"fraud-svc-*"};
  auto c = make_checker(s);
  const auto required = run(c, unsigned_event(ev_of(1, t0, "fraud-svc-2")));
  EXPECT_EQ(required.status, integrity_status::not_signed);
  EXPECT_TRUE(required.quarantine);
  EXPECT_EQ(required.quarantine_reason, "integrity.unsigned");
  ASSERT_EQ(required.alerts.size(), 1U);
  EXPECT_EQ(required.alerts[0].kind, "integrity.unsigned");
  EXPECT_EQ(required.alerts[0].level, severity::high);
  EXPECT_EQ(required.alerts[0].rule, "fraud-svc-*");

  const auto optional = run(c, unsigned_event(ev_of(1, t0, "chat-svc-1")));
  EXPECT_EQ(optional.status, integrity_status::not_signed);
  EXPECT_FALSE(optional.quarantine);
  EXPECT_TRUE(optional.alerts.empty());
}

TEST(Checker, AReplayedEventIsQuarantinedAsReplay) {
  auto c = make_checker();
  const auto first = signed_event(ev_of(1, t0));
  EXPECT_EQ(run(c, first).status, integrity_status::verified);
  EXPECT_EQ(run(c, signed_event(ev_of(2, t0 + second))).status, integrity_status::verified);
  const auto again = run(c, first);
  EXPECT_EQ(again.status, integrity_status::replay);
  EXPECT_TRUE(again.quarantine);
  EXPECT_EQ(again.quarantine_reason, "integrity.replay");
  ASSERT_EQ(again.alerts.size(), 1U);
  EXPECT_EQ(again.alerts[0].kind, "integrity.replay");
  EXPECT_EQ(again.alerts[0].level, severity::critical);
  EXPECT_TRUE(again.alerts[0].authenticated);
  EXPECT_EQ(again.alerts[0].evidence, R"({"reason":"seen","epoch":"","seq":1,"head":2})");
}

TEST(Checker, ANumberBelowTheWindowIsAReplay) {
  checker_settings s;
  s.replay_window = 64;
  s.reorder_tolerance = 8;
  auto c = make_checker(s);
  const auto old = signed_event(ev_of(5, t0 + 5));
  for (std::uint64_t n = 1; n <= 200; ++n)
    if (n != 5) run(c, signed_event(ev_of(n, t0 + static_cast<timestamp_ms>(n))));
  const auto r = run(c, old); // never seen, but far below the window
  EXPECT_EQ(r.status, integrity_status::replay);
  ASSERT_FALSE(r.alerts.empty());
  EXPECT_NE(r.alerts.back().evidence.find(R"("reason":"below_window")"), std::string::npos);
}

TEST(Checker, ForgedEventsCannotMoveTheWindowOrCauseGaps) {
  checker_settings s;
  s.reorder_tolerance = 4;
  auto c = make_checker(s);
  for (std::uint64_t n = 1; n <= 10; ++n)
    ASSERT_TRUE(run(c, signed_event(ev_of(n, t0 + static_cast<timestamp_ms>(n)))).alerts.empty());
  // The forger, without the key, claims the next numbers and a huge one.
  for (const std::uint64_t n : {11ULL, 12ULL, 13ULL, 1'000'000ULL}) {
    const auto r = run(c, signed_event(ev_of(n, t0 + 20), "k1", key2_hex));
    EXPECT_EQ(r.status, integrity_status::invalid);
    EXPECT_EQ(count_kind(r.alerts, "integrity.tamper"), 1U);
  }
  // The genuine 11..40 still verify: nothing was burnt, nothing jumped.
  for (std::uint64_t n = 11; n <= 40; ++n) {
    const auto r = run(c, signed_event(ev_of(n, t0 + 20 + static_cast<timestamp_ms>(n))));
    EXPECT_EQ(r.status, integrity_status::verified) << n;
    EXPECT_TRUE(r.alerts.empty()) << n;
  }
  EXPECT_TRUE(c.finish(t0 + minute).empty());
}

TEST(Checker, NumbersOfTamperedEventsAreAccountedForNotReportedAsGaps) {
  checker_settings s;
  s.reorder_tolerance = 4;
  auto c = make_checker(s);
  std::vector<alert_request> alerts;
  for (std::uint64_t n = 1; n <= 30; ++n) {
    auto e = signed_event(ev_of(n, t0 + static_cast<timestamp_ms>(n)));
    if (n == 7) e.raw.replace(e.raw.find("12.5"), 4, "13.5"); // edited in transit
    if (n == 9) e = unsigned_event(ev_of(n, t0 + 9));         // stripped signature...
    for (auto& a : run(c, e).alerts)
      alerts.push_back(a);
  }
  EXPECT_EQ(count_kind(alerts, "integrity.tamper"), 1U);
  EXPECT_EQ(count_kind(alerts, "integrity.gap"), 1U); // ...from a source not required to sign
  for (const auto& a : alerts) {
    if (a.kind == "integrity.gap") {
      EXPECT_EQ(a.evidence, R"({"epoch":"","missing":1,"first":9,"last":9,"ranges":[[9,9]],)"
                            R"("ranges_truncated":false})");
    }
  }
}

TEST(Checker, MissingEventsAreAGapWithCountAndRange) {
  checker_settings s;
  s.reorder_tolerance = 4;
  auto c = make_checker(s);
  std::vector<alert_request> alerts;
  for (std::uint64_t n = 1; n <= 40; ++n) {
    if (n >= 10 && n <= 14) continue; // suppressed by malware on the server
    for (auto& a : run(c, signed_event(ev_of(n, t0 + static_cast<timestamp_ms>(n)))).alerts)
      alerts.push_back(a);
  }
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].kind, "integrity.gap");
  EXPECT_EQ(alerts[0].level, severity::high);
  EXPECT_TRUE(alerts[0].authenticated);
  EXPECT_NE(alerts[0].evidence.find(R"("missing":5,"first":10,"last":14)"), std::string::npos);
  EXPECT_NE(alerts[0].title.find("5 sequence numbers missing from source srv-1"),
            std::string::npos);
}

TEST(Checker, FinishReportsTheTailGap) {
  auto c = make_checker();
  run(c, signed_event(ev_of(1, t0)));
  run(c, signed_event(ev_of(3, t0 + 1)));
  const auto alerts = c.finish(t0 + 2);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].kind, "integrity.gap");
  EXPECT_NE(alerts[0].evidence.find(R"("missing":1,"first":2,"last":2)"), std::string::npos);
}

TEST(Checker, AnUnexplainedResetIsAnAlertAndANewEpochIsAnAuditRecord) {
  auto c = make_checker();
  for (std::uint64_t n = 1; n <= 100; ++n)
    run(c, signed_event(ev_of(n, t0 + static_cast<timestamp_ms>(n) * second)));
  const auto reset = run(c, signed_event(ev_of(1, t0 + 101 * second)));
  EXPECT_EQ(reset.status, integrity_status::verified);
  EXPECT_FALSE(reset.quarantine);
  ASSERT_EQ(reset.alerts.size(), 1U);
  EXPECT_EQ(reset.alerts[0].kind, "integrity.reset");
  EXPECT_EQ(reset.alerts[0].level, severity::high);
  EXPECT_EQ(reset.alerts[0].evidence, R"({"epoch":"","seq":1,"previous_head":100})");

  ev restarted = ev_of(1, t0 + 200 * second);
  restarted.epoch = "boot-2";
  const auto r = run(c, signed_event(restarted));
  EXPECT_EQ(r.status, integrity_status::verified);
  EXPECT_TRUE(r.alerts.empty());
  ASSERT_TRUE(r.audit.has_value());
  EXPECT_EQ(r.audit->to_json(),
            R"({"kind":"integrity.epoch","source":"srv-1","previous_epoch":"","epoch":"boot-2",)"
            R"("seq":1,"ts":")" +
                format_rfc3339(t0 + 200 * second) + R"("})");
}

TEST(Checker, EventTimeFarFromTheFleetIsSkewAndDoesNotMoveTheWatermark) {
  auto c = make_checker();
  for (int s = 0; s < 4; ++s)
    run(c, signed_event(ev_of(1, t0, "srv-" + std::to_string(s))));
  const auto ahead = run(c, signed_event(ev_of(2, t0 + 10 * minute, "srv-0")));
  EXPECT_EQ(ahead.status, integrity_status::verified);
  EXPECT_FALSE(ahead.quarantine);
  ASSERT_EQ(ahead.alerts.size(), 1U);
  EXPECT_EQ(ahead.alerts[0].kind, "integrity.skew");
  EXPECT_EQ(ahead.alerts[0].level, severity::medium);
  EXPECT_NE(ahead.alerts[0].evidence.find(R"("watermark_offset_ms":600000)"), std::string::npos);
  EXPECT_EQ(c.watermark(), t0);
}

TEST(Checker, EventTimeFarFromTheRecordTimestampIsSkew) {
  auto c = make_checker();
  auto e = signed_event(ev_of(1, t0));
  e.record_time = t0 + 5 * minute;
  const auto r = c.check(e.facts(), t0 + 5 * minute);
  ASSERT_EQ(count_kind(r.alerts, "integrity.skew"), 1U);
  EXPECT_NE(r.alerts[0].evidence.find(R"("record_offset_ms":-300000)"), std::string::npos);
  EXPECT_NE(r.alerts[0].evidence.find(R"("reference":"record_time")"), std::string::npos);
  auto close = signed_event(ev_of(2, t0));
  close.record_time = t0 + 30 * second;
  EXPECT_EQ(count_kind(c.check(close.facts(), t0).alerts, "integrity.skew"), 0U);
}

TEST(Checker, AQuietSourceIsReportedOnceOnEventTimeAndClearedWhenItSpeaks) {
  auto c = make_checker();
  std::vector<alert_request> silence;
  std::uint64_t seq = 0;
  for (timestamp_ms t = t0; t < t0 + 20 * minute; t += 10 * second) {
    ++seq;
    for (int s = 0; s < 3; ++s) {
      // srv-2 stops between minute 3 and minute 12.
      if (s == 2 && t >= t0 + 3 * minute && t < t0 + 12 * minute) continue;
      for (auto& a : run(c, signed_event(ev_of(seq, t, "srv-" + std::to_string(s)))).alerts)
        silence.push_back(a);
    }
    for (auto& a : c.tick(t))
      silence.push_back(a);
  }
  ASSERT_EQ(silence.size(), 1U);
  EXPECT_EQ(silence[0].kind, "integrity.silence");
  EXPECT_EQ(silence[0].source, "srv-2");
  EXPECT_EQ(silence[0].level, severity::high);
  // Last heard just before minute 3; reported as the watermark reached 5 min later.
  EXPECT_GE(silence[0].at, t0 + 8 * minute - 10 * second);
  EXPECT_LE(silence[0].at, t0 + 8 * minute + 10 * second);
}

// `scan` calls tick() once per batch, and one batch may hold far more event
// time than silence_after: a silence that begins and ends inside it must still
// be reported, by check() itself, at the event that revealed it.
TEST(Checker, ASilenceBetweenTwoTicksIsReportedByCheck) {
  auto c = make_checker();
  std::vector<alert_request> silence;
  std::vector<timestamp_ms> raised_by; // the event time of the event that raised it
  std::uint64_t seq = 0;
  for (timestamp_ms t = t0; t < t0 + 20 * minute; t += 10 * second) {
    ++seq;
    for (int s = 0; s < 3; ++s) {
      if (s == 2 && t >= t0 + 3 * minute && t < t0 + 12 * minute) continue;
      for (auto& a : run(c, signed_event(ev_of(seq, t, "srv-" + std::to_string(s)))).alerts) {
        if (a.kind != "integrity.silence") continue;
        silence.push_back(a);
        raised_by.push_back(t);
      }
    }
  }
  ASSERT_EQ(silence.size(), 1U);
  EXPECT_EQ(silence[0].source, "srv-2");
  // Last heard at 2:50; the first event at 7:50 (silence_after later) reveals it.
  EXPECT_EQ(raised_by[0], t0 + 3 * minute - 10 * second + 5 * minute);
  EXPECT_EQ(silence[0].at, raised_by[0]);
  EXPECT_NE(silence[0].evidence.find(R"("silent_for_ms":300000)"), std::string::npos)
      << silence[0].evidence;
  // The tick that follows (the end of the batch) has nothing left to report.
  EXPECT_EQ(count_kind(c.tick(t0 + 20 * minute), "integrity.silence"), 0U);
}

TEST(Checker, SilenceOnTheWallClockBasis) {
  checker_settings s;
  s.silence_basis = time_basis::wall_clock;
  auto c = make_checker(s);
  // Event times are old (a backlog), the wall clock is what counts.
  run(c, signed_event(ev_of(1, t0, "srv-1")));
  c.check(signed_event(ev_of(1, t0, "srv-2")).facts(), t0 + 10 * minute);
  const auto alerts = c.tick(t0 + 14 * minute);
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].source, "srv-1");
  EXPECT_NE(alerts[0].evidence.find(R"("basis":"wall_clock")"), std::string::npos);
}

TEST(Checker, ASkewedEventDoesNotKeepItsSourceAlive) {
  auto c = make_checker();
  for (int s = 0; s < 4; ++s)
    run(c, signed_event(ev_of(1, t0, "srv-" + std::to_string(s))));
  std::vector<alert_request> alerts;
  for (std::uint64_t n = 2; n < 60; ++n) {
    const timestamp_ms t = t0 + static_cast<timestamp_ms>(n) * 10 * second;
    for (int s = 0; s < 3; ++s)
      for (auto& a : run(c, signed_event(ev_of(n, t, "srv-" + std::to_string(s)))).alerts)
        alerts.push_back(a);
    // srv-3 keeps talking, but with a clock an hour ahead.
    for (auto& a : run(c, signed_event(ev_of(n, t + 60 * minute, "srv-3"))).alerts)
      alerts.push_back(a);
    for (auto& a : c.tick(t))
      alerts.push_back(a);
  }
  EXPECT_EQ(count_kind(alerts, "integrity.silence"), 1U);
  EXPECT_EQ(count_kind(alerts, "integrity.skew"), 58U);
}

/// A signed metric event of the fleet.
owned_event metric(const std::string& source, std::uint64_t seq, timestamp_ms t,
                   const std::string& name, double value, bool sign = true) {
  ev e = ev_of(seq, t, source);
  e.type = "metric";
  e.name = name;
  e.value = value;
  return sign ? signed_event(e) : unsigned_event(e);
}

TEST(Checker, APoisonerIsAlertedOnceAndMarkedUntrustedHonestPeersAreNot) {
  auto c = make_checker();
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0, 5);
  std::vector<alert_request> poisoning;
  bool liar_marked = false, honest_marked = false;
  std::uint64_t seq = 0;
  for (timestamp_ms t = t0; t < t0 + 30 * minute; t += 10 * second) {
    ++seq;
    for (int s = 0; s < 10; ++s) {
      double v = 120 + noise(rng);
      const bool lying = s == 4 && t >= t0 + 10 * minute && t < t0 + 15 * minute;
      if (lying) v *= 2;
      const auto r = run(c, metric("srv-" + std::to_string(s), seq, t, "latency_p99_ms", v));
      ASSERT_EQ(r.status, integrity_status::verified);
      for (const auto& a : r.alerts) {
        ASSERT_EQ(a.kind, "poisoning");
        poisoning.push_back(a);
      }
      if (s == 4 && r.untrusted) liar_marked = true;
      if (s != 4 && r.untrusted) honest_marked = true;
    }
  }
  ASSERT_EQ(poisoning.size(), 1U);
  EXPECT_EQ(poisoning[0].source, "srv-4");
  EXPECT_EQ(poisoning[0].level, severity::critical);
  EXPECT_EQ(poisoning[0].model, "fraud");
  EXPECT_EQ(poisoning[0].rule, "latency_p99_ms");
  EXPECT_TRUE(poisoning[0].authenticated);
  EXPECT_LE(poisoning[0].at, t0 + 15 * minute + 15 * second);
  EXPECT_TRUE(liar_marked);
  EXPECT_FALSE(honest_marked);
}

TEST(Checker, UnsignedSamplesUnderASigningSourcesNameCannotFrameIt) {
  auto c = make_checker();
  run(c, metric("srv-1", 1, t0, "latency_p99_ms", 120));
  const auto framed = run(c, metric("srv-1", 2, t0 + second, "latency_p99_ms", -5, false));
  EXPECT_EQ(framed.status, integrity_status::not_signed);
  EXPECT_TRUE(framed.alerts.empty());
  EXPECT_FALSE(run(c, metric("srv-1", 3, t0 + 2 * second, "latency_p99_ms", 120)).untrusted);
  // A source that never signed is judged on what it sends.
  const auto own = run(c, metric("legacy-1", 1, t0 + 3 * second, "latency_p99_ms", -5, false));
  ASSERT_EQ(count_kind(own.alerts, "poisoning"), 1U);
  EXPECT_FALSE(own.alerts[0].authenticated);
  EXPECT_TRUE(own.untrusted);
}

TEST(Checker, ARollbackDrivenByUnsignedMetricsTripsTheGuard) {
  auto c = make_checker();
  std::mt19937_64 rng(4);
  std::normal_distribution<double> noise(0, 2);
  std::uint64_t seq = 0;
  for (timestamp_ms t = t0; t < t0 + 5 * minute; t += 10 * second) {
    ++seq;
    for (int s = 0; s < 8; ++s)
      run(c, metric("srv-" + std::to_string(s), seq, t, "latency_p99_ms", 100 + noise(rng)));
    run(c, metric("legacy-1", seq, t, "latency_p99_ms", 118, false));
  }
  ev rollback = ev_of(seq + 1, t0 + 5 * minute, "deployer");
  rollback.type = "audit";
  rollback.action = "rollback";
  const auto r = run(c, signed_event(rollback));
  ASSERT_EQ(count_kind(r.alerts, "rollback_guard"), 1U);
  const auto& a = r.alerts[0];
  EXPECT_EQ(a.level, severity::critical);
  EXPECT_EQ(a.model, "fraud");
  EXPECT_TRUE(a.authenticated);
  EXPECT_NE(a.evidence.find(R"("source":"legacy-1")"), std::string::npos);
  EXPECT_NE(a.evidence.find(R"("unsigned":true)"), std::string::npos);
  // A rollback of a model nobody misreported is fine.
  rollback.model = "support-bot";
  rollback.seq = seq + 2;
  EXPECT_EQ(count_kind(run(c, signed_event(rollback)).alerts, "rollback_guard"), 0U);
}

TEST(Checker, TheHeaderFormIsVerifiedLikeTheBodyForm) {
  auto c = make_checker();
  const auto e = header_signed_event(ev_of(1, t0), "k2", key2_hex);
  EXPECT_EQ(run(c, e).status, integrity_status::verified);
  EXPECT_EQ(run(c, e).status, integrity_status::replay);
  auto edited = header_signed_event(ev_of(2, t0), "k2", key2_hex);
  edited.raw += " ";
  const auto r = run(c, edited);
  EXPECT_EQ(r.status, integrity_status::invalid);
  EXPECT_NE(r.alerts[0].evidence.find(R"("form":"header")"), std::string::npos);
}

TEST(Checker, AWorkerMayVerifyAndHandTheResultOver) {
  auto c = make_checker();
  const auto good = signed_event(ev_of(1, t0));
  auto forged = signed_event(ev_of(2, t0), "k1", key2_hex);
  const verification v_good = c.verify_only(good.facts(), t0);
  const verification v_forged = c.verify_only(forged.facts(), t0);
  EXPECT_EQ(v_good.status, integrity_status::verified);
  EXPECT_EQ(v_forged.status, integrity_status::invalid);
  // The stateful stage no longer needs the bytes.
  auto facts = good.facts();
  facts.raw = {};
  EXPECT_EQ(c.check(facts, v_good, t0).status, integrity_status::verified);
  EXPECT_EQ(c.check(facts, v_good, t0).status, integrity_status::replay);
  auto forged_facts = forged.facts();
  forged_facts.raw = {};
  const auto r = c.check(forged_facts, v_forged, t0);
  EXPECT_TRUE(r.quarantine);
  EXPECT_EQ(count_kind(r.alerts, "integrity.tamper"), 1U);
  // The forged number 2 did not move the window: the genuine 2 is fresh.
  EXPECT_EQ(c.check(signed_event(ev_of(2, t0 + 1)).facts(), t0 + 1).status,
            integrity_status::verified);
}

TEST(Checker, HittingACapRaisesOneRateLimitedCapacityAlert) {
  checker_settings s;
  s.max_streams = 8;
  s.max_epochs_per_source = 1;
  auto c = make_checker(s);
  std::size_t capacity = 0;
  for (int i = 0; i < 100; ++i) {
    const auto r = run(c, signed_event(ev_of(1, t0 + i, "srv-" + std::to_string(i))));
    capacity += count_kind(r.alerts, "capacity");
    for (const auto& a : r.alerts) {
      if (a.kind == "capacity") {
        EXPECT_EQ(a.evidence, R"({"table":"sequence_streams","cap":8})");
      }
    }
  }
  EXPECT_EQ(capacity, 1U);
  // After the interval, the next eviction alerts again.
  const auto later = run(c, signed_event(ev_of(1, t0 + 2 * minute, "srv-new")));
  EXPECT_EQ(count_kind(later.alerts, "capacity"), 1U);
}

TEST(Checker, SettingsComeFromTheConfigurationAndAreValidated) {
  config::integrity_options o;
  o.require_signature = {"a-*"};
  o.silence_after = std::chrono::minutes(7);
  o.max_skew = std::chrono::seconds(30);
  o.replay_window = 256;
  const auto s = settings_from(o);
  EXPECT_EQ(s.require_signature, std::vector<std::string>{"a-*"});
  EXPECT_EQ(s.silence_after, 7 * minute);
  EXPECT_EQ(s.max_skew, 30 * second);
  EXPECT_EQ(s.replay_window, 256U);

  checker_settings bad;
  bad.replay_window = 0;
  EXPECT_TRUE(std::holds_alternative<settings_error>(checker::make(bad, test_ring())));
  bad = {};
  bad.poisoning.min_peers = 2;
  EXPECT_TRUE(std::holds_alternative<settings_error>(checker::make(bad, test_ring())));
  bad = {};
  bad.poisoning.persistence = 6;
  EXPECT_TRUE(std::holds_alternative<settings_error>(checker::make(bad, test_ring())));
}

} // namespace
} // namespace bulwark::integrity
