// Evidence never holds raw secrets or PII: canaries planted where an attacker
// or a careless detector could put them never reach any rendering (bulwark
// line, OCSF, Alertmanager payload), and the engine copies nothing but the
// declared, sanitised fields of a request.
#include "alert/alertmanager.hpp"
#include "alert/engine.hpp"
#include "alert/sanitize.hpp"
#include "unit/alert/mini_json.hpp"
#include "unit/alert/support.hpp"

#include <gtest/gtest.h>
#include <set>

namespace {

using namespace alert_test;

constexpr std::string_view canary = "CANARY7f3a9c";

/// Every rendering of every record the sink got.
std::vector<std::string> renderings(const recording_sink& sink) {
  std::vector<std::string> out;
  for (const auto& g : sink.got) {
    out.push_back(bulwark::alert::render_json(g.a));
    out.push_back(bulwark::alert::render_ocsf(g.a));
    out.push_back(bulwark::alert::render_alertmanager(g.a, g.a.expires, "http://h/"));
  }
  return out;
}

void expect_no_canary(const recording_sink& sink) {
  ASSERT_FALSE(sink.got.empty());
  for (const std::string& text : renderings(sink)) {
    EXPECT_EQ(text.find(canary), std::string::npos) << text;
    EXPECT_NO_THROW(mini_json::parse(text)) << text;
  }
}

engine_settings immediate() {
  engine_settings s;
  for (auto& t : s.by_severity)
    t.group_wait = 0;
  return s;
}

TEST(AlertCanary, AClaimedSourceShapedLikePiiNeverAppears) {
  engine e = make_engine(immediate());
  recording_sink sink;
  // The event's `source` is attacker text: an e-mail carrying the canary.
  const std::string pii = "jane." + std::string(canary) + "@example.com";
  submit(e, sink, request("integrity.tamper", pii, false, t0), t0);
  submit(e, sink, request("injection", pii, false, t0), t0);
  alert_request signed_weird = request("secret", pii, true, t0);
  submit(e, sink, signed_weird, t0);
  // The integrity detector's convention: the title names the source clipped
  // to 64 bytes, the request carries it clipped to 128.
  const std::string long_pii = std::string(canary) + "." + std::string(70, 'j') + "@example.com";
  alert_request tamper = request("integrity.tamper", long_pii.substr(0, 128), false, t0);
  tamper.title = "signature check failed (bad_mac) for source " + long_pii.substr(0, 64);
  submit(e, sink, tamper, t0);
  EXPECT_NE(sink.got.back().a.title.find("for source ~"), std::string::npos);
  expect_no_canary(sink);
  // Still traceable: the hashed name is stable.
  EXPECT_EQ(mini_json::parse(sink.got[0].a.evidence)["claimed_source"].s,
            bulwark::alert::safe_identifier(pii, 64));
}

TEST(AlertCanary, ModelRuleAndTopicNamesThatAreNotIdentifiersAreHashed) {
  engine e = make_engine(immediate());
  recording_sink sink;
  alert_request r = request("poisoning", "srv-1", true, t0, "metric " + std::string(canary),
                            "model=" + std::string(canary) + " secret");
  r.ref.topic = "topic with " + std::string(canary);
  r.ref.partition = 1;
  r.ref.offset = 2;
  submit(e, sink, r, t0);
  expect_no_canary(sink);
}

TEST(AlertCanary, OversizeEvidenceIsReplacedAndLeaksNothing) {
  engine e = make_engine(immediate());
  recording_sink sink;
  alert_request r = request("secret", "srv-1", true, t0);
  // A detector that (wrongly) put a whole event into evidence.
  json_writer w;
  w.begin_object().key("raw").value(std::string(canary) + std::string(4'000, 'x')).end_object();
  r.evidence = w.take();
  submit(e, sink, r, t0);
  expect_no_canary(sink);
  const auto ev = mini_json::parse(sink.got.at(0).a.evidence);
  EXPECT_EQ(ev["omitted"].s, "oversize");
  EXPECT_EQ(e.stats().evidence_replaced, 1U);
}

TEST(AlertCanary, EvidenceThatIsNotAJsonObjectIsReplacedAndLeaksNothing) {
  engine e = make_engine(immediate());
  recording_sink sink;
  for (const auto& bad :
       {"{\"a\":\"" + std::string(canary) + "\"", "\"" + std::string(canary) + "\"",
        "{\"a\":1}," + std::string(canary), "{\"a\":\"" + std::string(canary) + "\xff\"}"}) {
    alert_request r = request("integrity.replay", "srv-1", true, t0);
    r.evidence = bad;
    submit(e, sink, r, t0);
  }
  expect_no_canary(sink);
  for (const auto& g : sink.got)
    EXPECT_EQ(mini_json::parse(g.a.evidence)["omitted"].s, "invalid");
}

TEST(AlertCanary, ATitleIsClippedToItsLimit) {
  engine_settings s = immediate();
  s.limit.max_title_bytes = 64;
  engine e = make_engine(s);
  recording_sink sink;
  alert_request r = request("secret", "srv-1", true, t0);
  r.title = std::string(64, 't') + std::string(canary);
  submit(e, sink, r, t0);
  expect_no_canary(sink);
  EXPECT_EQ(sink.got.at(0).a.title.size(), 64U);
}

TEST(AlertCanary, TheEngineCopiesNothingButTheDeclaredFieldsOfARequest) {
  engine e = make_engine(immediate());
  recording_sink sink;
  // Detector conventions: identifiers, a title naming them, numbers as evidence.
  alert_request r = request("drift", "", false, t0, "/features/amount", "fraud");
  r.title = "drift on /features/amount for fraud";
  json_writer w;
  w.begin_object().key("feature").value("/features/amount").key("psi").value(0.31).end_object();
  r.evidence = w.take();
  r.ref.topic = "telemetry";
  r.ref.partition = 2;
  r.ref.offset = 77;
  submit(e, sink, r, t0);
  ASSERT_EQ(sink.got.size(), 1U);
  const alert& a = sink.got[0].a;
  // Every string value in the bulwark line is a declared field of the
  // request, or something the engine made itself.
  const std::set<std::string> from_request{r.kind,      r.title, r.model, "/features/amount",
                                           "telemetry", ""};
  const std::set<std::string> from_engine{a.id,
                                          a.fingerprint,
                                          "medium",
                                          format_rfc3339(a.ts),
                                          format_rfc3339(a.first_seen),
                                          format_rfc3339(a.last_seen)};
  std::set<std::string> member_names{
      "v",       "id",          "ts",    "severity",   "kind",      "title",    "source",
      "model",   "fingerprint", "count", "first_seen", "last_seen", "evidence", "refs",
      "feature", "psi",         "topic", "partition",  "offset"};
  std::vector<std::string> strings;
  mini_json::collect_strings(mini_json::parse(bulwark::alert::render_json(a)), strings);
  for (const std::string& s : strings)
    EXPECT_TRUE(from_request.count(s) || from_engine.count(s) || member_names.count(s))
        << "unexpected string in alert: " << s;
}

} // namespace
