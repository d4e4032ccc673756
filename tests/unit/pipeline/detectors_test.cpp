#include "pipeline/detectors.hpp"
#include "pipeline/processor.hpp"

#include <gtest/gtest.h>
#include <openssl/hmac.h>

namespace bulwark::pipeline {
namespace {

config::options keyed_options() {
  config::options o;
  o.integrity.keys["k1"] = {config::key_source::kind::hex,
                            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"};
  o.integrity.audit_key = "k1";
  o.drift.features.push_back({"/features/amount", config::drift_feature::type::numeric});
  return o;
}

std::string sign(std::string event) {
  static const unsigned char key[] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
                                      0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                      0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key, sizeof key, reinterpret_cast<const unsigned char*>(event.data()),
       event.size(), mac, &len);
  std::string hex;
  for (unsigned i = 0; i < len; ++i) {
    static constexpr char digits[] = "0123456789abcdef";
    hex += digits[mac[i] >> 4];
    hex += digits[mac[i] & 15];
  }
  event.pop_back();
  return event + R"(,"sig":{"kid":"k1","mac":")" + hex + R"("}})";
}

struct harness {
  config::options opts = keyed_options();
  fact_spec spec{opts};
  processor proc{opts};
  std::unique_ptr<detectors> stage;
  record_facts facts;
  std::string out, dlq;
  std::uint64_t line = 0;

  harness() {
    auto made = detectors::make(opts, spec, {detectors::clock_mode::event_time, true});
    stage = std::move(std::get<std::unique_ptr<detectors>>(made));
  }
  /// A Kafka record at `offset` of partition 0 (run's redelivery rules apply).
  stage_decision feed_record(const std::string& raw, std::int64_t offset) {
    out.clear();
    dlq.clear();
    proc.process(raw, raw_info{}, origin::record("telemetry", 0, offset), out, dlq, spec, facts);
    input_ref ref;
    ref.topic = "telemetry";
    ref.partition = 0;
    ref.offset = offset;
    return stage->observe(facts, raw, out, ref, std::nullopt, std::nullopt, 0);
  }
  stage_decision feed(const std::string& raw) {
    out.clear();
    dlq.clear();
    ++line;
    proc.process(raw, raw_info{}, origin(line), out, dlq, spec, facts);
    input_ref ref;
    ref.line = static_cast<std::int64_t>(line);
    return stage->observe(facts, raw, out, ref, std::nullopt, std::nullopt, 0);
  }
};

TEST(FactSpec, APointerFindsItsSlotsAndNoOtherPointerDoes) {
  config::options o;
  // Same length as "/features/amount" (16 bytes), other endings and heads.
  o.drift.features.push_back({"/features/amount", config::drift_feature::type::numeric});
  o.drift.features.push_back({"/features/amoun2", config::drift_feature::type::numeric});
  o.drift.key = {"/" + std::string(70, 'k')}; // the last bucket: 63 bytes and longer
  const fact_spec spec(o);
  const auto slots = [&](std::string_view p) {
    const auto* s = spec.slots_for(p);
    return s == nullptr ? std::vector<std::uint16_t>{} : *s;
  };
  EXPECT_EQ(slots("/features/amount"),
            std::vector<std::uint16_t>{static_cast<std::uint16_t>(spec.drift_feature_slot(0))});
  EXPECT_EQ(slots("/features/amoun2"),
            std::vector<std::uint16_t>{static_cast<std::uint16_t>(spec.drift_feature_slot(1))});
  EXPECT_TRUE(slots("/features/amoun3").empty()) << "same length, same head, other ending";
  EXPECT_TRUE(slots("/xeatures/amount").empty()) << "same length, same ending, other head";
  EXPECT_EQ(slots("/seq"), std::vector<std::uint16_t>{fact_spec::seq}) << "shorter than 8 bytes";
  EXPECT_TRUE(slots("/seb").empty());
  EXPECT_TRUE(slots("").empty());
  EXPECT_EQ(slots("/ts").size(), 2U) << "integrity and drift both read /ts";
  EXPECT_EQ(slots("/" + std::string(70, 'k')),
            std::vector<std::uint16_t>{static_cast<std::uint16_t>(spec.drift_key_slot(0))});
  EXPECT_TRUE(slots("/" + std::string(69, 'k') + "j").empty());
  EXPECT_TRUE(slots("/" + std::string(80, 'k')).empty()) << "longer, same last bytes";
}

TEST(FactCapture, TheWalkCapturesTheConfiguredFieldsAsTheyAre) {
  config::options o = keyed_options();
  fact_spec spec(o);
  processor p(o);
  record_facts f;
  std::string out, dlq;
  p.process(
      R"({"ts":"2026-11-27T10:00:00Z","source":"srv-1","seq":42,"features":{"amount":12.5},"model":"fraud"})",
      raw_info{}, origin(1), out, dlq, spec, f);
  ASSERT_TRUE(f.parsed);
  EXPECT_EQ(f.at(fact_spec::source).text, "srv-1");
  EXPECT_TRUE(f.at(fact_spec::seq).is_number());
  EXPECT_EQ(f.at(fact_spec::seq).text, "42");
  EXPECT_EQ(f.at(fact_spec::integrity_time).text, "2026-11-27T10:00:00Z");
  EXPECT_EQ(f.at(fact_spec::drift_time).text, "2026-11-27T10:00:00Z") << "one pointer, two slots";
  EXPECT_EQ(f.at(spec.drift_feature_slot(0)).text, "12.5");
  EXPECT_EQ(f.at(spec.drift_key_slot(0)).text, "fraud");
  EXPECT_EQ(f.at(fact_spec::epoch).k, fact::kind::absent);
}

TEST(Detectors, AVerifiedCleanEventIsLeftAsItIs) {
  harness h;
  const auto d = h.feed(sign(R"({"ts":"2026-11-27T10:00:00Z","source":"srv-1","seq":1})"));
  EXPECT_FALSE(d.quarantine);
  EXPECT_EQ(d.integrity, "verified");
  EXPECT_FALSE(d.reannotate(h.facts)) << "verified and clean: no annotation";
}

TEST(Detectors, AnUnsignedEventIsAnnotatedUnsigned) {
  harness h;
  const auto d = h.feed(R"({"ts":"2026-11-27T10:00:00Z","source":"srv-1","seq":1})");
  ASSERT_TRUE(d.reannotate(h.facts));
  std::string line;
  reannotate(line, h.out, h.facts, d);
  EXPECT_EQ(
      line,
      R"({"ts":"2026-11-27T10:00:00Z","source":"srv-1","seq":1,"_bulwark":{"v":1,"verdict":"clean","integrity":"unsigned","findings":[]}})");
}

TEST(Detectors, AnEditedSignedEventIsQuarantinedWithACriticalAlert) {
  harness h;
  std::string ev = sign(R"({"ts":"2026-11-27T10:00:00Z","source":"srv-1","seq":1,"msg":"a"})");
  ev.replace(ev.find("\"a\""), 3, "\"b\"");
  const auto d = h.feed(ev);
  EXPECT_TRUE(d.quarantine);
  EXPECT_EQ(d.reason, "integrity.tamper");
  EXPECT_NE(h.stage->outputs().alerts.find(R"("kind":"integrity.tamper")"), std::string::npos)
      << "critical alerts go out at once";
}

TEST(Detectors, AFindingInAVerifiedEventKeepsItsFindingsAndNamesIntegrity) {
  harness h;
  (void)h.feed(sign(R"({"ts":"2026-11-27T10:00:00Z","source":"srv-1","seq":1})"));
  // No ruleset here: a worker's annotated output, as the processor writes it.
  record_facts f = h.facts;
  f.body_size = std::string(R"({"msg":"x"})").size();
  f.findings_json = R"({"rule":"r","category":"secret","path":"/msg","action":"tag","count":1})";
  f.findings.push_back({"r", category::secret, 1});
  f.v = verdict::redacted;
  stage_decision d;
  d.integrity = "verified";
  ASSERT_TRUE(d.reannotate(f));
  std::string line;
  reannotate(
      line,
      R"({"msg":"x","_bulwark":{"v":1,"verdict":"redacted","findings":[{"rule":"r","category":"secret","path":"/msg","action":"tag","count":1}]}})",
      f, d);
  EXPECT_EQ(
      line,
      R"({"msg":"x","_bulwark":{"v":1,"verdict":"redacted","integrity":"verified","findings":[{"rule":"r","category":"secret","path":"/msg","action":"tag","count":1}]}})");
}

// Each finding's alert request reuses one request's storage: nothing of one
// finding may show in the next one's alert (model, claimed model, rule).
TEST(Detectors, EachFindingsAlertNamesItsOwnEventOnly) {
  harness h;
  struct step {
    std::string event;
    std::string rule;
    category cat;
    bool signed_;
  };
  const std::vector<step> steps = {
      {R"({"ts":"2026-11-27T10:00:00Z","source":"srv-1","seq":1,"model":"model-one"})",
       "a-rule-with-a-long-identifier", category::secret, true},
      {R"({"ts":"2026-11-27T10:00:01Z","source":"srv-2","seq":1,"model":"model-two"})", "r2",
       category::secret, false},
      {R"({"ts":"2026-11-27T10:00:02Z","source":"srv-3","seq":1,"model":"m3"})", "r3",
       category::secret, true},
  };
  for (const step& st : steps) {
    const std::string raw = st.signed_ ? sign(st.event) : st.event;
    h.out.clear();
    h.dlq.clear();
    ++h.line;
    h.proc.process(raw, raw_info{}, origin(h.line), h.out, h.dlq, h.spec, h.facts);
    h.facts.findings.push_back({st.rule, st.cat, 2});
    input_ref ref;
    ref.line = static_cast<std::int64_t>(h.line);
    h.stage->outputs().clear();
    (void)h.stage->observe(h.facts, raw, h.out, ref, std::nullopt, std::nullopt, 0);
    const std::string& alerts = h.stage->outputs().alerts;
    SCOPED_TRACE(st.event);
    const std::string model = st.event.substr(st.event.find("\"model\":") + 8);
    const std::string model_name = model.substr(1, model.find('"', 1) - 1);
    EXPECT_NE(alerts.find(R"("kind":")" + std::string(to_string(st.cat)) + '"'), std::string::npos)
        << alerts;
    EXPECT_NE(alerts.find(R"("rule":")" + st.rule + '"'), std::string::npos) << alerts;
    EXPECT_NE(alerts.find(R"("count":2)"), std::string::npos) << alerts;
    EXPECT_NE(alerts.find(R"("line":)" + std::to_string(h.line) + '}'), std::string::npos)
        << alerts;
    if (st.signed_) {
      EXPECT_NE(alerts.find(R"("model":")" + model_name + '"'), std::string::npos) << alerts;
      EXPECT_EQ(alerts.find("claimed_model"), std::string::npos) << alerts;
    } else {
      EXPECT_NE(alerts.find(R"("claimed_model":")" + model_name + '"'), std::string::npos)
          << alerts;
      EXPECT_NE(alerts.find(R"("model":"")"), std::string::npos) << alerts;
    }
    for (const step& other : steps) {
      if (&other != &st) {
        EXPECT_EQ(alerts.find(other.rule), std::string::npos) << alerts;
      }
    }
  }
}

TEST(Detectors, EveryConsumedRecordIsAReceiptAndTheEndSealsTheChain) {
  harness h;
  for (int i = 1; i <= 3; ++i)
    (void)h.feed(sign(R"({"ts":"2026-11-27T10:00:0)" + std::to_string(i) +
                      R"(Z","source":"srv-1","seq":)" + std::to_string(i) + "}"));
  (void)h.feed("not json");
  h.stage->finish(h.stage->now());
  const std::string& audit = h.stage->outputs().audit;
  EXPECT_NE(audit.find(R"("type":"checkpoint","at")"), std::string::npos);
  EXPECT_NE(audit.find(R"("final":true,"count":4)"), std::string::npos) << audit;
}

TEST(Detectors, AKafkaRedeliveryIsJudgedAgainWithoutBecomingAReplay) {
  // At-least-once: after a rebalance, records not yet committed are read
  // again by this process. Seeing their sequence numbers again is not an
  // attack, and nothing is counted or alerted twice.
  harness h;
  const std::string a = sign(R"({"ts":"2026-11-27T10:00:00Z","source":"srv-1","seq":1})");
  const std::string b = sign(R"({"ts":"2026-11-27T10:00:01Z","source":"srv-1","seq":2})");
  std::string edited = sign(R"({"ts":"2026-11-27T10:00:02Z","source":"srv-1","seq":3,"m":"a"})");
  edited.replace(edited.find("\"a\""), 3, "\"b\"");
  EXPECT_FALSE(h.feed_record(a, 10).quarantine);
  EXPECT_FALSE(h.feed_record(b, 11).quarantine);
  EXPECT_EQ(h.feed_record(edited, 12).reason, "integrity.tamper");
  // A replay attack: the same signed event as a new record (a new offset).
  EXPECT_EQ(h.feed_record(a, 13).reason, "integrity.replay");
  h.stage->outputs().clear();

  // Offsets 10..13 delivered again.
  const auto again_a = h.feed_record(a, 10);
  EXPECT_FALSE(again_a.quarantine);
  EXPECT_EQ(again_a.integrity, "verified");
  EXPECT_FALSE(h.feed_record(b, 11).quarantine);
  EXPECT_EQ(h.feed_record(edited, 12).reason, "integrity.tamper") << "tampered stays tampered";
  const auto again_replay = h.feed_record(a, 13);
  EXPECT_EQ(again_replay.reason, "integrity.replay") << "a replay stays a replay";
  EXPECT_EQ(again_replay.integrity, "replay");
  EXPECT_EQ(h.stage->redelivered(), 4U);
  EXPECT_EQ(h.stage->outputs().alerts, "") << "no alert raised twice";

  // Then the stream goes on: new offsets are checked as before.
  EXPECT_FALSE(h.feed_record(sign(R"({"ts":"2026-11-27T10:00:03Z","source":"srv-1","seq":4})"), 14)
                   .quarantine);
  EXPECT_EQ(h.feed_record(b, 15).reason, "integrity.replay");
}

/// Integrity and drift read one event time by default (/ts, parsed once);
/// a drift.event_time of its own must still be read from its own pointer.
TEST(Detectors, DriftReadsItsOwnEventTimeWhenItHasOne) {
  for (const bool own : {false, true}) {
    config::options o;
    o.drift.features.push_back({"/features/amount", config::drift_feature::type::numeric});
    if (own) o.drift.event_time = "/dt";
    const fact_spec spec(o);
    EXPECT_EQ(spec.one_event_time(), !own);
    processor proc(o);
    auto made = detectors::make(o, spec, {detectors::clock_mode::event_time, false});
    ASSERT_TRUE(std::holds_alternative<std::unique_ptr<detectors>>(made))
        << std::get<std::string>(made);
    auto stage = std::move(std::get<std::unique_ptr<detectors>>(made));
    record_facts facts;
    std::string out, dlq;
    std::uint64_t line = 0;
    const auto feed = [&](const std::string& raw) {
      out.clear();
      proc.process(raw, raw_info{}, origin(++line), out, dlq, spec, facts);
      input_ref ref;
      ref.line = static_cast<std::int64_t>(line);
      stage->observe(facts, raw, out, ref, std::nullopt, std::nullopt, 0);
    };
    const std::string both = R"({"ts":"2026-11-27T10:00:00Z","dt":"2026-11-27T10:00:00Z",)";
    const std::string ts_only = R"({"ts":"2026-11-27T10:00:01Z",)";
    const std::string dt_only = R"({"dt":"2026-11-27T10:00:01Z",)";
    const std::string rest = R"("model":"fraud","features":{"amount":12.5}})";
    for (int i = 0; i < 3; ++i)
      feed(both + rest);
    feed(ts_only + rest);
    feed(dt_only + rest);
    feed(dt_only + rest);
    ASSERT_NE(stage->drift_stats(), nullptr);
    EXPECT_EQ(stage->drift_stats()->observed, own ? 5U : 4U) << (own ? "/dt" : "/ts");
  }
}

} // namespace
} // namespace bulwark::pipeline
