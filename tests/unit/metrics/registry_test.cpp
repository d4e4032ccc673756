// The registry: declarations, series that exist from start-up, bounded
// cardinality, escaping, histogram arithmetic, gauges and callbacks.
#include "metrics/registry.hpp"
#include "unit/metrics/exposition.hpp"

#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <limits>
#include <string>

namespace {

using namespace bulwark::metrics;
using bulwark::metrics::testing::parse;

std::unique_ptr<registry> make_or_die(builder b) {
  auto made = registry::make(std::move(b));
  if (auto* e = std::get_if<error>(&made)) {
    ADD_FAILURE() << e->message;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<registry>>(made));
}

std::string refusal(builder b) {
  auto made = registry::make(std::move(b));
  auto* e = std::get_if<error>(&made);
  return e ? e->message : "";
}

TEST(MetricsRegistry, EveryDeclaredSeriesIsExportedAtZeroFromStartUp) {
  builder b;
  b.add_counter("bulwark_records_received_total", "Records a stage took in.",
                {{"stage", {"reader", "worker"}}});
  b.add_gauge("bulwark_lag_records", "Lag.",
              {{"topic", {"a", "b"}}, numbered_label("partition", 2)});
  b.add_histogram("bulwark_stage_duration_seconds", "Time.", {0.1, 1}, {{"stage", {"worker"}}});
  b.add_counter("bulwark_plain_total", "No labels.");
  auto reg = make_or_die(std::move(b));
  ASSERT_TRUE(reg);

  const std::string text = reg->render();
  const auto e = parse(text);
  // 3 stage series (reader, worker, other); 3 topics x 3 partitions; a histogram
  // series per stage value (2) with 3 buckets + sum + count; 1; and the overflow
  // counter, one per labelled family plus other.
  EXPECT_EQ(e.find("bulwark_records_received_total").size(), 3U);
  EXPECT_EQ(e.find("bulwark_lag_records").size(), 9U);
  EXPECT_EQ(e.find("bulwark_stage_duration_seconds_bucket").size(), 6U);
  EXPECT_EQ(e.find("bulwark_stage_duration_seconds_sum").size(), 2U);
  EXPECT_EQ(e.find("bulwark_stage_duration_seconds_count").size(), 2U);
  EXPECT_EQ(e.find("bulwark_plain_total").size(), 1U);
  EXPECT_EQ(e.find("bulwark_metrics_label_overflow_total").size(), 4U);
  EXPECT_EQ(e.samples.size(), reg->series_count());
  for (const auto& s : e.samples)
    EXPECT_EQ(s.value, "0") << s.name;
  EXPECT_EQ(e.value("bulwark_lag_records", {{"topic", "other"}, {"partition", "1"}}), 0);
  EXPECT_EQ(e.type.at("bulwark_stage_duration_seconds"), "histogram");
  EXPECT_EQ(e.type.at("bulwark_records_received_total"), "counter");
  EXPECT_EQ(e.help.at("bulwark_records_received_total"), "Records a stage took in.");
}

TEST(MetricsRegistry, FamiliesAreSortedByNameAndSeriesFollowDeclaredOrderWithOtherLast) {
  builder b;
  b.add_counter("bulwark_z_total", "z", {{"a", {"y", "x"}}, {"b", {"2", "1"}}});
  b.add_counter("bulwark_a_total", "a");
  auto reg = make_or_die(std::move(b));
  ASSERT_TRUE(reg);
  const auto e = parse(reg->render());
  const std::vector<std::string> families{"bulwark_a_total", "bulwark_metrics_label_overflow_total",
                                          "bulwark_z_total"};
  EXPECT_EQ(e.family_order, families);
  std::vector<std::string> order;
  for (const auto& s : e.find("bulwark_z_total"))
    order.push_back(s.labels.at("a") + s.labels.at("b"));
  const std::vector<std::string> expected{"y2",     "y1",     "yother", "x2",        "x1",
                                          "xother", "other2", "other1", "otherother"};
  EXPECT_EQ(order, expected);
  EXPECT_EQ(reg->render(), reg->render());
}

TEST(MetricsRegistry, CountersAddThroughResolvedSeriesAndThroughLabelsPerUpdate) {
  builder b;
  const auto stage =
      b.add_counter("bulwark_records_received_total", "r", {{"stage", {"reader", "worker"}}});
  const auto part = b.add_counter("bulwark_partition_total", "p", {numbered_label("partition", 3)});
  auto reg = make_or_die(std::move(b));
  ASSERT_TRUE(reg);
  auto w = reg->make_writer();
  const counter worker = reg->series(stage, {"worker"});
  w.add(worker);
  w.add(worker, 41);
  w.add(stage, {"reader"}, 5);
  w.add(part, {at{2}});
  w.add(part, {"1"}, 2);
  w.add(part, {at{3}}); // past the end: other
  EXPECT_EQ(reg->value(worker), 42U);
  const auto e = parse(reg->render());
  EXPECT_EQ(e.value("bulwark_records_received_total", {{"stage", "worker"}}), 42);
  EXPECT_EQ(e.value("bulwark_records_received_total", {{"stage", "reader"}}), 5);
  EXPECT_EQ(e.value("bulwark_partition_total", {{"partition", "2"}}), 1);
  EXPECT_EQ(e.value("bulwark_partition_total", {{"partition", "1"}}), 2);
  EXPECT_EQ(e.value("bulwark_partition_total", {{"partition", "other"}}), 1);
  EXPECT_EQ(
      e.value("bulwark_metrics_label_overflow_total", {{"metric", "bulwark_partition_total"}}), 1);
  EXPECT_EQ(e.value("bulwark_metrics_label_overflow_total",
                    {{"metric", "bulwark_records_received_total"}}),
            0);
}

TEST(MetricsRegistry, AttackerChosenLabelValuesNeverAddSeriesAndAreCountedAsOther) {
  builder b;
  const auto rules =
      b.add_counter("bulwark_rule_findings_total", "f", {{"rule", {"aws-access-key", "email"}}});
  const auto lat =
      b.add_histogram("bulwark_model_latency_seconds", "l", {0.5}, {{"model", {"fraud"}}});
  const auto drift = b.add_gauge("bulwark_drift_psi", "d", {{"model", {"fraud"}}});
  auto reg = make_or_die(std::move(b));
  ASSERT_TRUE(reg);
  const std::size_t series = reg->series_count();
  const std::string before = reg->render();
  const std::size_t lines_before = std::count(before.begin(), before.end(), '\n');

  auto w = reg->make_writer();
  constexpr int distinct = 100'000;
  for (int i = 0; i < distinct; ++i) {
    // Hostile values: fresh every time, some with characters a naive exporter
    // would have to escape or that would break the text format.
    const std::string v = "x\"} evil_" + std::to_string(i) + (i % 2 ? "\n" : "\\");
    w.add(rules, {v});
    w.observe(lat, {v}, 1.0);
    reg->set(drift, {v}, i);
  }
  w.add(rules, {"email"});

  EXPECT_EQ(reg->series_count(), series);
  const std::string after = reg->render();
  EXPECT_EQ(static_cast<std::size_t>(std::count(after.begin(), after.end(), '\n')), lines_before);
  EXPECT_EQ(after.find("evil"), std::string::npos);
  const auto e = parse(after);
  EXPECT_EQ(e.value("bulwark_rule_findings_total", {{"rule", "other"}}), distinct);
  EXPECT_EQ(e.value("bulwark_rule_findings_total", {{"rule", "email"}}), 1);
  EXPECT_EQ(e.value("bulwark_model_latency_seconds_count", {{"model", "other"}}), distinct);
  EXPECT_EQ(e.value("bulwark_drift_psi", {{"model", "other"}}), distinct - 1);
  for (const char* family :
       {"bulwark_rule_findings_total", "bulwark_model_latency_seconds", "bulwark_drift_psi"})
    EXPECT_EQ(e.value("bulwark_metrics_label_overflow_total", {{"metric", family}}), distinct)
        << family;
  // Text equal to the reserved value is not a declared value either.
  w.add(rules, {"other"});
  EXPECT_EQ(parse(reg->render())
                .value("bulwark_metrics_label_overflow_total",
                       {{"metric", "bulwark_rule_findings_total"}}),
            distinct + 1);
}

TEST(MetricsRegistry, LabelValuesAndHelpAreEscaped) {
  builder b;
  const auto f = b.add_counter("bulwark_escape_total", "Back\\slash and\nnewline \"quoted\".",
                               {{"path", {"C:\\dir", "say \"hi\"", "two\nlines", "ü/ok"}}});
  auto reg = make_or_die(std::move(b));
  ASSERT_TRUE(reg);
  auto w = reg->make_writer();
  w.add(f, {"two\nlines"}, 3);
  const std::string text = reg->render();
  EXPECT_NE(text.find("# HELP bulwark_escape_total Back\\\\slash and\\nnewline \"quoted\".\n"),
            std::string::npos);
  EXPECT_NE(text.find("bulwark_escape_total{path=\"C:\\\\dir\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_escape_total{path=\"say \\\"hi\\\"\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_escape_total{path=\"two\\nlines\"} 3\n"), std::string::npos);
  EXPECT_NE(text.find("bulwark_escape_total{path=\"ü/ok\"} 0\n"), std::string::npos);
  const auto e = parse(text);
  EXPECT_EQ(e.help.at("bulwark_escape_total"), "Back\\slash and\nnewline \"quoted\".");
  EXPECT_EQ(e.value("bulwark_escape_total", {{"path", "two\nlines"}}), 3);
  EXPECT_EQ(e.value("bulwark_escape_total", {{"path", "say \"hi\""}}), 0);
}

TEST(MetricsRegistry, EscapingHelpersFollowTheTextFormat) {
  std::string out;
  append_label_value(out, "a\\b\"c\nd\te");
  EXPECT_EQ(out, "a\\\\b\\\"c\\nd\te");
  out.clear();
  append_help(out, "a\\b\"c\nd");
  EXPECT_EQ(out, "a\\\\b\"c\\nd");
  out.clear();
  append_double(out, std::numeric_limits<double>::infinity());
  out += ' ';
  append_double(out, -std::numeric_limits<double>::infinity());
  out += ' ';
  append_double(out, std::nan(""));
  out += ' ';
  append_double(out, 0.1);
  out += ' ';
  append_double(out, 2.5e-6);
  for (const double v : {1e21, 1e-4, 0.00025, 123456.0, 1e6, 1234567.0, -0.5, 0.0, 1.8e9 + 0.125})
    append_double(out += ' ', v);
  EXPECT_EQ(out, "+Inf -Inf NaN 0.1 2.5e-06 1e+21 0.0001 0.00025 123456 1e+06 1.234567e+06 -0.5 0 "
                 "1.800000000125e+09");
}

TEST(MetricsRegistry, HistogramBucketsAreInclusiveUpperBoundsAndRenderedCumulatively) {
  builder b;
  const auto h = b.add_histogram("bulwark_latency_seconds", "l", {0.1, 0.5, 1},
                                 {{"stage", {"finite", "special"}}});
  auto reg = make_or_die(std::move(b));
  ASSERT_TRUE(reg);
  auto w = reg->make_writer();
  const histogram finite = reg->series(h, {"finite"});
  for (const double v : {0.1, 0.05, 0.5000001, 1.0, 2.0, -1.0, 0.5})
    w.observe(finite, v);
  const histogram special = reg->series(h, {"special"});
  w.observe(special, std::nan(""));
  w.observe(special, std::numeric_limits<double>::infinity());
  w.observe(special, 0.25);

  const auto e = parse(reg->render());
  const auto bucket = [&](const char* stage, const char* le) {
    return e.value("bulwark_latency_seconds_bucket", {{"stage", stage}, {"le", le}});
  };
  EXPECT_EQ(bucket("finite", "0.1"), 3);  // 0.1 (on the bound), 0.05, -1
  EXPECT_EQ(bucket("finite", "0.5"), 4);  // + 0.5
  EXPECT_EQ(bucket("finite", "1"), 6);    // + 0.5000001, 1
  EXPECT_EQ(bucket("finite", "+Inf"), 7); // + 2
  EXPECT_EQ(e.value("bulwark_latency_seconds_count", {{"stage", "finite"}}), 7);
  EXPECT_DOUBLE_EQ(e.value("bulwark_latency_seconds_sum", {{"stage", "finite"}}),
                   0.1 + 0.05 + 0.5000001 + 1.0 + 2.0 - 1.0 + 0.5);
  EXPECT_EQ(bucket("special", "0.1"), 0);
  EXPECT_EQ(bucket("special", "0.5"), 1);
  EXPECT_EQ(bucket("special", "1"), 1);
  EXPECT_EQ(bucket("special", "+Inf"), 3); // NaN and +Inf land in +Inf
  EXPECT_EQ(e.value("bulwark_latency_seconds_count", {{"stage", "special"}}), 3);
  EXPECT_EQ(e.find("bulwark_latency_seconds_sum", {{"stage", "special"}}).at(0).value, "+Inf");
  EXPECT_EQ(bucket("other", "+Inf"), 0);
}

TEST(MetricsRegistry, ExponentialBucketsMultiplyFromTheStart) {
  const auto b = exponential_buckets(0.001, 10, 4);
  ASSERT_EQ(b.size(), 4U);
  EXPECT_DOUBLE_EQ(b[0], 0.001);
  EXPECT_DOUBLE_EQ(b[1], 0.01);
  EXPECT_DOUBLE_EQ(b[2], 0.1);
  EXPECT_DOUBLE_EQ(b[3], 1);
}

TEST(MetricsRegistry, GaugesAreSetAddedAndFilledByScrapeCallbacks) {
  builder b;
  const auto lag = b.add_gauge("bulwark_consumer_lag_records", "lag",
                               {{"topic", {"telemetry"}}, numbered_label("partition", 2)});
  const auto paused = b.add_gauge("bulwark_consumption_paused", "paused");
  auto reg = make_or_die(std::move(b));
  ASSERT_TRUE(reg);
  const gauge p = reg->series(paused);
  reg->set(p, 1);
  reg->add(p, 0.5);
  EXPECT_EQ(reg->value(p), 1.5);

  int calls = 0;
  {
    auto hook = reg->on_scrape([&](registry& r) {
      ++calls;
      r.set(lag, {"telemetry", at{0}}, 100 + calls);
      r.set(lag, {"telemetry", at{1}}, -0.25);
    });
    const auto e = parse(reg->render());
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(e.value("bulwark_consumer_lag_records", {{"topic", "telemetry"}, {"partition", "0"}}),
              101);
    EXPECT_EQ(e.find("bulwark_consumer_lag_records", {{"topic", "telemetry"}, {"partition", "1"}})
                  .at(0)
                  .value,
              "-0.25");
    EXPECT_EQ(e.value("bulwark_consumption_paused"), 1.5);
  }
  // The hook is gone with its handle: the value stays where it was last set.
  const auto e = parse(reg->render());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(e.value("bulwark_consumer_lag_records", {{"topic", "telemetry"}, {"partition", "0"}}),
            101);
}

TEST(MetricsRegistry, CountsSurviveTheirWriterAndShardsAreReused) {
  builder b;
  const auto f = b.add_counter("bulwark_x_total", "x");
  auto reg = make_or_die(std::move(b));
  ASSERT_TRUE(reg);
  const counter c = reg->series(f);
  for (int i = 0; i < 10; ++i) {
    auto w = reg->make_writer();
    w.add(c, 2);
  }
  EXPECT_EQ(reg->shard_count(), 1U);
  EXPECT_EQ(reg->value(c), 20U);
  {
    auto w1 = reg->make_writer();
    auto w2 = reg->make_writer();
    w1.add(c);
    w2.add(c);
    writer moved = std::move(w1);
    moved.add(c);
    w2 = std::move(moved);
    w2.add(c);
  }
  EXPECT_EQ(reg->shard_count(), 2U);
  EXPECT_EQ(reg->value(c), 24U);
  EXPECT_EQ(parse(reg->render()).value("bulwark_x_total"), 24);
}

TEST(MetricsRegistry, RefusesBadNamesTypesAndLabels) {
  const auto counter_named = [](std::string name) {
    builder b;
    b.add_counter(std::move(name), "h");
    return refusal(std::move(b));
  };
  EXPECT_NE(counter_named("records_total"), "");
  EXPECT_NE(counter_named("bulwark_Records_total"), "");
  EXPECT_NE(counter_named("bulwark_records"), "");
  EXPECT_NE(counter_named("bulwark_metrics_label_overflow_total"), "");
  EXPECT_NE(counter_named("bulwark_a:b_total"), "");
  EXPECT_EQ(counter_named("bulwark_records_total"), "");

  const auto one = [](auto declare) {
    builder b;
    declare(b);
    return refusal(std::move(b));
  };
  EXPECT_NE(one([](builder& b) { b.add_gauge("bulwark_lag_total", "h"); }), "");
  EXPECT_NE(one([](builder& b) { b.add_gauge("bulwark_lag", ""); }), "");
  EXPECT_NE(one([](builder& b) { b.add_histogram("bulwark_x_count", "h", {1}); }), "");
  EXPECT_NE(one([](builder& b) { b.add_histogram("bulwark_x_seconds", "h", {}); }), "");
  EXPECT_NE(one([](builder& b) { b.add_histogram("bulwark_x_seconds", "h", {1, 1}); }), "");
  EXPECT_NE(one([](builder& b) { b.add_histogram("bulwark_x_seconds", "h", {2, 1}); }), "");
  EXPECT_NE(
      one([](builder& b) {
        b.add_histogram("bulwark_x_seconds", "h", {1, std::numeric_limits<double>::infinity()});
      }),
      "");
  EXPECT_NE(one([](builder& b) { b.add_histogram("bulwark_x_seconds", "h", {std::nan("")}); }), "");
  EXPECT_NE(one([](builder& b) {
              b.add_histogram("bulwark_x_seconds", "h", {1}, {{"le", {"a"}}});
            }),
            "");
  // A histogram's samples and another family's name collide.
  EXPECT_NE(one([](builder& b) {
              b.add_histogram("bulwark_x_seconds", "h", {1});
              b.add_gauge("bulwark_x_seconds_sum", "h");
            }),
            "");
  EXPECT_NE(one([](builder& b) {
              b.add_gauge("bulwark_x", "h");
              b.add_gauge("bulwark_x", "h");
            }),
            "");

  const auto labelled = [](std::vector<label_spec> labels) {
    builder b;
    b.add_counter("bulwark_x_total", "h", std::move(labels));
    return refusal(std::move(b));
  };
  EXPECT_NE(labelled({{"__name", {"a"}}}), "");
  EXPECT_NE(labelled({{"1st", {"a"}}}), "");
  EXPECT_NE(labelled({{"bad-name", {"a"}}}), "");
  EXPECT_NE(labelled({{"a", {"x"}}, {"a", {"y"}}}), "");
  EXPECT_NE(labelled({{"a", {"x", "x"}}}), "");
  EXPECT_NE(labelled({{"a", {""}}}), "");
  EXPECT_NE(labelled({{"a", {"other"}}}), "");
  EXPECT_NE(labelled({{"a", {"bad \xff utf-8"}}}), "");
  EXPECT_NE(labelled({{"a", {"\xed\xa0\x80"}}}), ""); // a surrogate
  EXPECT_NE(labelled({{"a", {"\xc0\xaf"}}}), "");     // an overlong '/'
  EXPECT_NE(labelled({{"a", {std::string(257, 'v')}}}), "");
  EXPECT_EQ(labelled({{"a", {std::string(256, 'v'), "\xf0\x9f\x94\x92"}}}), "");
}

TEST(MetricsRegistry, ReportsTheFirstRefusalNamingFamilyAndReason) {
  builder b;
  b.add_counter("bulwark_ok_total", "fine");
  b.add_counter("bulwark_rules_total", "h", {{"rule", {"aws", "aws"}}});
  b.add_gauge("bulwark_bad_total", "h");
  ASSERT_TRUE(b.first_error());
  const std::string why = refusal(std::move(b));
  EXPECT_NE(why.find("bulwark_rules_total"), std::string::npos) << why;
  EXPECT_NE(why.find("declared twice"), std::string::npos) << why;
}

TEST(MetricsRegistry, BoundsTheTotalNumberOfSeries) {
  {
    builder b(100);
    b.add_counter("bulwark_x_total", "h", {numbered_label("n", 99)}); // 100 series
    EXPECT_FALSE(b.first_error());
    b.add_counter("bulwark_y_total", "h");
    ASSERT_TRUE(b.first_error());
    EXPECT_NE(b.first_error()->message.find("bulwark_y_total"), std::string::npos);
  }
  {
    builder b(1000);
    // 11 series of (20 buckets + +Inf + _sum + _count) = 253 lines; three labels
    // of 10 values would be 1331 series.
    b.add_histogram("bulwark_h_seconds", "h", exponential_buckets(1e-6, 2, 20),
                    {numbered_label("n", 10)});
    EXPECT_FALSE(b.first_error());
    b.add_counter("bulwark_c_total", "h",
                  {numbered_label("a", 10), numbered_label("b", 10), numbered_label("c", 10)});
    EXPECT_TRUE(b.first_error());
  }
}

} // namespace
