#include "kafka/client.hpp"
#include "kafka/embedded.hpp"
#include "loadgen/runner.hpp"
#include "support.hpp"

#include <chrono>
#include <cstdio>
#include <gtest/gtest.h>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace bulwark::loadgen {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> read_lines(std::FILE* f) {
  std::rewind(f);
  std::vector<std::string> lines;
  std::string cur;
  for (int c = std::fgetc(f); c != EOF; c = std::fgetc(f)) {
    if (c == '\n') {
      lines.push_back(cur);
      cur.clear();
    } else {
      cur += static_cast<char>(c);
    }
  }
  EXPECT_TRUE(cur.empty()) << "the last line ends with a newline";
  return lines;
}

struct file {
  std::FILE* f = std::tmpfile();
  ~file() { std::fclose(f); }
};

TEST(Runner, AStreamRunWritesTheFleetsEventsAndTheirLabels) {
  run_options run;
  ASSERT_TRUE(apply_preset("demo", run.fleet));
  run.events = 5'000;
  file out;
  file labels;
  std::atomic<bool> stop{false};
  int reports = 0;
  const run_outcome o =
      run_to_stream(run, out.f, labels.f, stop, [&](const run_stats&) { ++reports; });
  ASSERT_FALSE(o.error) << *o.error;
  EXPECT_EQ(o.stats.events, 5'000U);
  EXPECT_GE(reports, 1);

  // The same bytes as the fleet gives directly (clock rate 1000 when unpaced).
  options direct = run.fleet;
  direct.clock_rate = 1000;
  const auto expect = testing::generate(direct, 5'000);
  const auto lines = read_lines(out.f);
  ASSERT_EQ(lines.size(), 5'000U);
  std::uint64_t bytes = 0;
  std::size_t label_lines = 0;
  std::uint64_t attacked = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(lines[i], expect[i].rec.value);
    bytes += lines[i].size();
    label_lines += expect[i].truth.attacks.size();
    attacked += expect[i].truth.clean() ? 0 : 1;
  }
  EXPECT_EQ(o.stats.bytes, bytes);
  EXPECT_EQ(o.stats.attacked, attacked);
  EXPECT_EQ(read_lines(labels.f).size(), label_lines);
  EXPECT_GT(label_lines, 0U);
}

TEST(Runner, AStopRequestEndsTheRunAtOnce) {
  run_options run;
  file out;
  std::atomic<bool> stop{true};
  const run_outcome o = run_to_stream(run, out.f, nullptr, stop);
  EXPECT_FALSE(o.error);
  EXPECT_EQ(o.stats.events, 0U);
}

TEST(Runner, HeaderSignaturesCannotGoToAStream) {
  run_options run;
  run.fleet.sign = signing::header;
  run.events = 10;
  file out;
  std::atomic<bool> stop{false};
  const run_outcome o = run_to_stream(run, out.f, nullptr, stop);
  ASSERT_TRUE(o.error);
  EXPECT_NE(o.error->find("sign"), std::string::npos);
}

TEST(Runner, ThePacedClockFollowsTheTargetRate) {
  run_options run;
  run.rate = 250;
  EXPECT_EQ(effective_fleet_options(run).clock_rate, 250);
  run.fleet.clock_rate = 10;
  EXPECT_EQ(effective_fleet_options(run).clock_rate, 10);
  run = {};
  EXPECT_EQ(effective_fleet_options(run).clock_rate, 1000);
}

TEST(Runner, AKafkaRunProducesRecordsKeyedBySourceWithHeaderSignatures) {
  auto cluster_made = kafka::embedded_cluster::make(1);
  ASSERT_TRUE(std::holds_alternative<kafka::embedded_cluster>(cluster_made));
  auto& cluster = std::get<kafka::embedded_cluster>(cluster_made);
  ASSERT_FALSE(cluster.create_topic("telemetry", 4));

  auto producer_made = kafka::producer::make({{"bootstrap.servers", cluster.bootstrap()}}, nullptr);
  ASSERT_TRUE(std::holds_alternative<kafka::producer>(producer_made));
  auto& producer = std::get<kafka::producer>(producer_made);

  run_options run;
  run.events = 300;
  run.fleet.sign = signing::header;
  run.fleet.mix.secret = 0.1;
  std::atomic<bool> stop{false};
  std::size_t labelled = 0;
  const run_outcome o =
      run_to_kafka(run, producer, stop, [&](const label& l) { labelled += l.clean() ? 0 : 1; });
  ASSERT_FALSE(o.error) << *o.error;
  EXPECT_EQ(o.stats.events, 300U);
  EXPECT_GT(labelled, 10U);

  options direct = run.fleet;
  direct.clock_rate = 1000;
  std::map<std::string, testing::generated> by_request;
  for (auto& g : testing::generate(direct, 300))
    by_request[testing::parse(g.rec.value).str("/request_id")] = g;

  auto consumer_made = kafka::consumer::make({{"bootstrap.servers", cluster.bootstrap()},
                                              {"group.id", "loadgen-test"},
                                              {"session.timeout.ms", "6000"},
                                              {"heartbeat.interval.ms", "500"}},
                                             {"telemetry"}, nullptr);
  ASSERT_TRUE(std::holds_alternative<kafka::consumer>(consumer_made));
  auto& consumer = std::get<kafka::consumer>(consumer_made);
  std::set<std::string> got;
  std::map<std::string, std::int32_t> partition_of;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got.size() < 300 && std::chrono::steady_clock::now() < deadline) {
    auto m = consumer.poll(200ms);
    if (!m || m->failure()) continue;
    const std::string value(*m->value());
    const auto it = by_request.find(testing::parse(value).str("/request_id"));
    ASSERT_NE(it, by_request.end());
    const record& want = it->second.rec;
    EXPECT_EQ(value, want.value);
    ASSERT_TRUE(m->key());
    EXPECT_EQ(std::string(*m->key()), want.key);
    EXPECT_EQ(m->timestamp(), std::optional<std::int64_t>(want.time));
    const auto headers = m->headers();
    ASSERT_EQ(headers.size(), 1U);
    EXPECT_EQ(headers[0].name, "bw-sig");
    EXPECT_EQ(std::string(*headers[0].value), want.sig_header);
    // Keyed by source: one source, one partition.
    const auto [p, fresh] = partition_of.emplace(want.key, m->partition());
    EXPECT_EQ(p->second, m->partition()) << want.key;
    got.insert(value);
  }
  EXPECT_EQ(got.size(), 300U);
}

} // namespace
} // namespace bulwark::loadgen
