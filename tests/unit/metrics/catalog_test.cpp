// bulwark's catalogue: it declares cleanly from realistic configured sets, its
// exposition passes `promtool check metrics` (Prometheus's own parser and
// linter), and its vocabularies match the modules that produce the values.
#include "core/alert_request.hpp"
#include "core/verdict.hpp"
#include "drift/monitor.hpp"
#include "integrity/status.hpp"
#include "metrics/catalog.hpp"
#include "support/temp_dir.hpp"
#include "unit/metrics/exposition.hpp"

#include "json/walk.hpp"
#include <algorithm>
#include <filesystem>
#include <gtest/gtest.h>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

namespace {

using namespace bulwark;
using namespace bulwark::metrics;
using metrics::testing::parse;

catalog_inputs realistic_inputs() {
  catalog_inputs in;
  // The size of the built-in packs plus user rules.
  for (int i = 0; i < 130; ++i)
    in.rules.push_back("rule-" + std::to_string(i));
  in.rules.emplace_back("aws-access-key");
  in.inputs = {{"telemetry", 8}, {"audit-events", 3}};
  in.models = {"fraud", "support-bot", "churn"};
  in.features = {"/score", "/features/amount", "/features/country", "/latency_ms"};
  in.key_ids = {"k1", "k2"};
  in.version = "0.1.0";
  return in;
}

struct made {
  catalog cat;
  std::unique_ptr<registry> reg;
};

made make_catalog(const catalog_inputs& in) {
  builder b;
  made m;
  m.cat = declare_catalog(b, in);
  auto r = registry::make(std::move(b));
  if (auto* e = std::get_if<error>(&r)) throw std::runtime_error(e->message);
  m.reg = std::move(std::get<std::unique_ptr<registry>>(r));
  return m;
}

/// Runs promtool on `text`; empty optional when promtool is not installed.
std::optional<bulwark::testing::run_result> promtool_check(const std::string& text) {
  if (!std::filesystem::exists("/usr/bin/promtool")) return std::nullopt;
  bulwark::testing::temp_dir dir;
  const std::string path = dir.file("metrics.txt");
  bulwark::testing::write_file(path, text);
  return bulwark::testing::run("/usr/bin/promtool check metrics < " + path);
}

/// Fills some of every kind of family, the way the service will.
void simulate_traffic(made& m) {
  const catalog& c = m.cat;
  registry& r = *m.reg;
  writer w = r.make_writer();
  for (std::size_t s = 0; s < vocabulary::stages.size(); ++s) {
    w.add(c.records_received, {at{s}}, 1000);
    w.add(c.records_sent, {at{s}}, 990);
    w.observe(c.stage_duration, {at{s}}, 0.000042 * static_cast<double>(s + 1));
  }
  w.add(c.verdicts, {at{static_cast<std::size_t>(verdict::redacted)}}, 7);
  w.add(c.findings, {at{static_cast<std::size_t>(category::secret)}, "tag"}, 3);
  w.add(c.rule_findings, {"aws-access-key"}, 3);
  w.add(c.rule_findings, {"a rule loaded after start-up"});
  w.add(c.dead_letters, {"not_json"});
  w.add(c.alerts, {"integrity.tamper", "critical"});
  w.add(c.input_bytes, {}, 123456);
  r.set(c.consumer_lag, {"telemetry", at{3}}, 17);
  r.set(c.partition_assigned, {"telemetry", at{3}}, 1);
  r.set(c.drift_psi, {"fraud", "/score"}, 0.0042);
  r.set(c.drift_js_distance, {"fraud", "/score"}, std::numeric_limits<double>::quiet_NaN());
  r.set(c.build_info, {"0.1.0"}, 1);
  r.set(c.start_time, {}, 1.8e9);
  r.set(c.integrity_watermark, {}, 1800000000.123);
}

TEST(MetricsCatalog, ExpositionPassesPromtoolCheckMetrics) {
  made m = make_catalog(realistic_inputs());
  simulate_traffic(m);
  const std::string text = m.reg->render();
  const auto result = promtool_check(text);
  if (!result) GTEST_SKIP() << "/usr/bin/promtool is not installed (Debian package prometheus)";
  EXPECT_EQ(result->exit_code, 0) << result->out << result->err;
  EXPECT_EQ(result->out + result->err, "");
}

TEST(MetricsCatalog, PromtoolAlsoAcceptsEscapedLabelValuesAndSpecialNumbers) {
  builder b;
  const auto f = b.add_gauge("bulwark_escaped", "Help with \\ and\na newline.",
                             {{"path", {"C:\\x", "say \"hi\"", "two\nlines", "ü"}}});
  auto reg = std::move(std::get<std::unique_ptr<registry>>(registry::make(std::move(b))));
  reg->set(f, {"C:\\x"}, std::numeric_limits<double>::infinity());
  reg->set(f, {"two\nlines"}, -std::numeric_limits<double>::infinity());
  reg->set(f, {"ü"}, std::numeric_limits<double>::quiet_NaN());
  reg->set(f, {"say \"hi\""}, 1e-300);
  const auto result = promtool_check(reg->render());
  if (!result) GTEST_SKIP() << "/usr/bin/promtool is not installed (Debian package prometheus)";
  EXPECT_EQ(result->exit_code, 0) << result->out << result->err;
  EXPECT_EQ(result->out + result->err, "");
}

TEST(MetricsCatalog, PromtoolCatchesWhatItShouldSoTheCheckIsReal) {
  // A malformed exposition must fail, or a passing check above proves nothing.
  const auto result = promtool_check("# TYPE bulwark_x_total counter\nbulwark_x_total{a=\"1} 1\n");
  if (!result) GTEST_SKIP() << "/usr/bin/promtool is not installed (Debian package prometheus)";
  EXPECT_NE(result->exit_code, 0);
}

TEST(MetricsCatalog, EverySeriesIsAtZeroAtStartUpWithBoundedLabels) {
  const catalog_inputs in = realistic_inputs();
  made m = make_catalog(in);
  const auto e = parse(m.reg->render());
  EXPECT_EQ(e.samples.size(), m.reg->series_count());
  for (const auto& s : e.samples)
    EXPECT_EQ(s.value, "0") << s.name;
  for (const auto& [family, type] : e.type) {
    EXPECT_TRUE(family.starts_with("bulwark_")) << family;
    EXPECT_EQ(type == "counter", family.ends_with("_total")) << family;
    EXPECT_FALSE(e.help.at(family).empty()) << family;
  }
  // Rules: each loaded id plus other.
  EXPECT_EQ(e.find("bulwark_rule_findings_total").size(), in.rules.size() + 1);
  // Topics x (max partitions): (2 + 1) x (8 + 1).
  EXPECT_EQ(e.find("bulwark_consumer_lag_records").size(), 27U);
  EXPECT_EQ(e.find("bulwark_drift_psi").size(), (in.models.size() + 1) * (in.features.size() + 1));
  EXPECT_EQ(e.find("bulwark_alerts_total").size(), (alert_kinds().size() + 1) * 5);
  EXPECT_EQ(e.find("bulwark_build_info", {{"version", "0.1.0"}}).size(), 1U);
  // A realistic registry stays small enough to scrape every few seconds.
  EXPECT_LT(m.reg->series_count(), 5000U);
}

TEST(MetricsCatalog, TrafficLandsInTheSeriesTheWiringMeans) {
  made m = make_catalog(realistic_inputs());
  simulate_traffic(m);
  const auto e = parse(m.reg->render());
  EXPECT_EQ(e.value("bulwark_records_received_total", {{"stage", "writer"}}), 1000);
  EXPECT_EQ(e.value("bulwark_verdicts_total", {{"verdict", "redacted"}}), 7);
  EXPECT_EQ(e.value("bulwark_findings_total", {{"category", "secret"}, {"action", "tag"}}), 3);
  EXPECT_EQ(e.value("bulwark_rule_findings_total", {{"rule", "aws-access-key"}}), 3);
  EXPECT_EQ(e.value("bulwark_rule_findings_total", {{"rule", "other"}}), 1);
  EXPECT_EQ(
      e.value("bulwark_metrics_label_overflow_total", {{"metric", "bulwark_rule_findings_total"}}),
      1);
  EXPECT_EQ(e.value("bulwark_consumer_lag_records", {{"topic", "telemetry"}, {"partition", "3"}}),
            17);
  EXPECT_EQ(e.value("bulwark_stage_duration_seconds_count", {{"stage", "producer"}}), 1);
  EXPECT_EQ(
      e.value("bulwark_alerts_total", {{"kind", "integrity.tamper"}, {"severity", "critical"}}), 1);
}

TEST(MetricsCatalog, EmptyConfiguredSetsStillDeclareTheOtherSeries) {
  // `scan` with no Kafka, no drift, no keys: every family is still there.
  made m = make_catalog(catalog_inputs{});
  const auto e = parse(m.reg->render());
  EXPECT_EQ(e.find("bulwark_consumer_lag_records").size(), 1U);
  EXPECT_EQ(e.value("bulwark_consumer_lag_records", {{"topic", "other"}, {"partition", "other"}}),
            0);
  EXPECT_EQ(e.find("bulwark_rule_findings_total").size(), 1U);
  EXPECT_EQ(e.find("bulwark_build_info", {{"version", "unknown"}}).size(), 1U);
}

TEST(MetricsCatalog, ARuleIdThatCannotBeALabelValueIsRefusedAtStartUp) {
  catalog_inputs in = realistic_inputs();
  in.rules.emplace_back("other");
  builder b;
  declare_catalog(b, in);
  ASSERT_TRUE(b.first_error());
  EXPECT_NE(b.first_error()->message.find("bulwark_rule_findings_total"), std::string::npos);
}

TEST(MetricsCatalog, ModelNamesBecomeLabelsOnlyWhenIdentifierShapedDistinctAndFew) {
  // Names from a reference file built from events: repeated per key, and
  // possibly hostile.
  const std::vector<std::string> names{"fraud",
                                       "fraud",
                                       "support-bot",
                                       "v1.4:eu/x",
                                       "",
                                       "<script>alert(1)</script>",
                                       "a b",
                                       "other",
                                       "-leading",
                                       "AKIA1234567890ABCDEF secret",
                                       std::string(65, 'm'),
                                       std::string(64, 'm')};
  const std::vector<std::string> expected{"fraud", "support-bot", "v1.4:eu/x",
                                          std::string(64, 'm')};
  EXPECT_EQ(model_label_values(names), expected);

  std::vector<std::string> many;
  for (int i = 0; i < 100; ++i)
    many.push_back("model-" + std::to_string(i));
  const auto kept = model_label_values(many);
  ASSERT_EQ(kept.size(), max_models);
  EXPECT_EQ(kept.back(), "model-" + std::to_string(max_models - 1));

  catalog_inputs in = realistic_inputs();
  in.models = names;
  made m = make_catalog(in);
  const auto e = parse(m.reg->render());
  EXPECT_EQ(e.find("bulwark_drift_psi", {{"feature", "/score"}}).size(), expected.size() + 1);
  EXPECT_EQ(e.find("bulwark_drift_psi", {{"model", "other"}}).size(), in.features.size() + 1);
}

TEST(MetricsCatalog, VocabulariesMatchTheModulesThatProduceTheValues) {
  for (std::size_t i = 0; i < vocabulary::verdicts.size(); ++i)
    EXPECT_EQ(vocabulary::verdicts[i], to_string(static_cast<verdict>(i)));
  for (std::size_t i = 0; i < vocabulary::categories.size(); ++i)
    EXPECT_EQ(vocabulary::categories[i], to_string(static_cast<category>(i)));
  ASSERT_EQ(vocabulary::actions.size(), all_actions.size());
  for (std::size_t i = 0; i < vocabulary::actions.size(); ++i)
    EXPECT_EQ(vocabulary::actions[i], to_string(all_actions[i]));
  // json::error without `none`, in order, then Kafka's null value and bad headers.
  for (std::size_t i = 0; i + 2 < vocabulary::dlq_reasons.size(); ++i)
    EXPECT_EQ(vocabulary::dlq_reasons[i], json::to_string(static_cast<json::error>(i + 1)));
  EXPECT_EQ(json::to_string(json::error::trailing_content), vocabulary::dlq_reasons[7]);
  EXPECT_EQ(vocabulary::dlq_reasons[8], "null_value");
  EXPECT_EQ(vocabulary::dlq_reasons.back(), "bad_headers");
  for (std::size_t i = 0; i < vocabulary::integrity_statuses.size(); ++i)
    EXPECT_EQ(vocabulary::integrity_statuses[i],
              integrity::to_string(static_cast<integrity::integrity_status>(i)));
  EXPECT_EQ(vocabulary::drift_outcomes.size(),
            static_cast<std::size_t>(drift::observe_result::reference_late) + 1);
  for (const std::string_view reason : vocabulary::quarantine_reasons) {
    const auto kinds = alert_kinds();
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), reason), kinds.end()) << reason;
  }
}

} // namespace
