// The RAII wrappers against the embedded (mock) cluster, in-process, on loopback.
#include "kafka/client.hpp"
#include "kafka/embedded.hpp"

#include <atomic>
#include <chrono>
#include <gtest/gtest.h>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace bulwark::kafka {
namespace {

using namespace std::chrono_literals;

template <class T> T take(result<T> r) {
  if (auto* e = std::get_if<error>(&r)) {
    ADD_FAILURE() << e->message;
    std::abort();
  }
  return std::move(std::get<T>(r));
}

struct delivered_log {
  std::mutex mutex;
  std::map<std::intptr_t, bool> outcome; ///< token -> ok
};

producer make_producer(const embedded_cluster& cluster, delivered_log& log, properties extra = {}) {
  extra["bootstrap.servers"] = cluster.bootstrap();
  return take(producer::make(extra, [&log](const delivery& d) {
    std::lock_guard lock(log.mutex);
    log.outcome[reinterpret_cast<std::intptr_t>(d.token)] = !d.failure.has_value();
  }));
}

properties consumer_props(const embedded_cluster& cluster, const std::string& group) {
  return {{"bootstrap.servers", cluster.bootstrap()},
          {"group.id", group},
          {"session.timeout.ms", "6000"},
          {"heartbeat.interval.ms", "500"},
          {"topic.metadata.refresh.interval.ms", "1000"}};
}

TEST(KafkaClient, AConfigurationErrorNamesThePropertyNotItsValue) {
  auto r = producer::make({{"no.such.property", "secret-value-123"}}, nullptr);
  ASSERT_TRUE(std::holds_alternative<error>(r));
  const std::string& msg = std::get<error>(r).message;
  EXPECT_NE(msg.find("no.such.property"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("secret-value-123"), std::string::npos) << msg;
}

TEST(KafkaClient, RecordsKeepKeysHeadersAndTimestampsAndCommitsResume) {
  auto cluster = take(embedded_cluster::make(3));
  ASSERT_FALSE(cluster.create_topic("in", 4));
  EXPECT_NE(cluster.bootstrap().find("127.0.0.1:"), std::string::npos);
  delivered_log log;
  auto p = make_producer(cluster, log);
  EXPECT_EQ(std::get<int>(p.partition_count("in", 5000ms)), 4);
  constexpr int n = 400;
  for (int i = 0; i < n; ++i) {
    const std::string key = "k" + std::to_string(i % 13);
    const std::string value = "{\"i\":" + std::to_string(i) + "}";
    const header hdrs[] = {{"h1", std::string_view("v1")}, {"nul", std::nullopt}};
    outgoing o;
    o.topic = "in";
    o.partition = i % 4;
    o.key = key;
    o.value = value;
    o.headers = hdrs;
    o.timestamp = 1700000000000 + i;
    o.token = reinterpret_cast<void*>(static_cast<std::intptr_t>(i + 1));
    ASSERT_EQ(p.produce(o), produce_status::queued);
  }
  ASSERT_TRUE(p.flush(10s));
  {
    std::lock_guard lock(log.mutex);
    ASSERT_EQ(log.outcome.size(), std::size_t{n});
    for (const auto& [token, ok] : log.outcome)
      EXPECT_TRUE(ok) << token;
  }

  // The first member reads half and commits; the second resumes from there.
  std::set<std::string> seen;
  std::vector<partition_offset> commits;
  {
    auto c = take(consumer::make(consumer_props(cluster, "g1"), {"in"}, nullptr));
    std::map<std::int32_t, std::int64_t> next;
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (seen.size() < n / 2 && std::chrono::steady_clock::now() < deadline) {
      auto m = c.poll(200ms);
      if (!m || m->failure()) continue;
      ASSERT_TRUE(m->key().has_value());
      ASSERT_TRUE(m->value().has_value());
      EXPECT_EQ(m->timestamp().value_or(0) / 1000000, 1700000);
      const auto h = m->headers();
      ASSERT_EQ(h.size(), 2U);
      EXPECT_EQ(h[0].name, "h1");
      EXPECT_EQ(h[0].value, "v1");
      EXPECT_EQ(h[1].name, "nul");
      EXPECT_FALSE(h[1].value.has_value());
      seen.insert(std::string(*m->value()));
      next[m->partition()] = m->offset() + 1;
    }
    for (const auto& [part, off] : next)
      commits.push_back({{"in", part}, off});
    EXPECT_FALSE(c.commit(commits, false));
    c.close();
  }
  ASSERT_EQ(seen.size(), std::size_t{n / 2});
  auto c2 = take(consumer::make(consumer_props(cluster, "g1"), {"in"}, nullptr));
  int again = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (seen.size() < n && std::chrono::steady_clock::now() < deadline) {
    auto m = c2.poll(200ms);
    if (!m || m->failure()) continue;
    if (!seen.insert(std::string(*m->value())).second) ++again;
  }
  EXPECT_EQ(seen.size(), std::size_t{n});
  EXPECT_EQ(again, 0) << "committed records were consumed a second time";
}

/// Records what the consumer reports about partitions and commits.
struct commit_log final : rebalance_handler {
  void on_assign(const std::vector<topic_partition>&) override {}
  void on_revoke(const std::vector<topic_partition>&) override {}
  void on_commit_failed(const std::vector<partition_offset>& r, const error& why) override {
    refused.insert(refused.end(), r.begin(), r.end());
    reasons.push_back(why.message);
  }
  std::vector<partition_offset> refused;
  std::vector<std::string> reasons;
};

TEST(KafkaClient, ARefusedAsynchronousCommitIsReportedWithItsOffsets) {
  auto cluster = take(embedded_cluster::make(1));
  ASSERT_FALSE(cluster.create_topic("in", 1));
  delivered_log log;
  auto p = make_producer(cluster, log);
  for (int i = 0; i < 10; ++i) {
    const std::string value = std::to_string(i);
    outgoing o;
    o.topic = "in";
    o.partition = 0;
    o.value = value;
    ASSERT_EQ(p.produce(o), produce_status::queued);
  }
  ASSERT_TRUE(p.flush(10s));
  commit_log handler;
  auto c = take(consumer::make(consumer_props(cluster, "g-refused"), {"in"}, &handler));
  int got = 0;
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (got < 10 && std::chrono::steady_clock::now() < deadline)
    if (auto m = c.poll(200ms); m && !m->failure()) ++got;
  ASSERT_EQ(got, 10);
  // The broker refuses the first commit; the call itself returns at once.
  cluster.fail_offset_commits(1, 27 /* REBALANCE_IN_PROGRESS */);
  EXPECT_FALSE(c.commit({{{"in", 0}, 4}}, true));
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (handler.refused.empty() && std::chrono::steady_clock::now() < until)
    (void)c.poll(50ms);
  ASSERT_EQ(handler.refused.size(), 1U);
  EXPECT_EQ(handler.refused[0].tp.topic, "in");
  EXPECT_EQ(handler.refused[0].tp.partition, 0);
  EXPECT_EQ(handler.refused[0].offset, 4);
  EXPECT_NE(handler.reasons[0].find("commit"), std::string::npos) << handler.reasons[0];
  // A commit the broker stores reports nothing.
  EXPECT_FALSE(c.commit({{{"in", 0}, 7}}, true));
  for (int i = 0; i < 20; ++i)
    (void)c.poll(50ms);
  EXPECT_EQ(handler.refused.size(), 1U);
  c.close();
  // And a later member resumes where the stored commit says.
  auto c2 = take(consumer::make(consumer_props(cluster, "g-refused"), {"in"}, nullptr));
  std::optional<std::int64_t> first;
  const auto again = std::chrono::steady_clock::now() + 30s;
  while (!first && std::chrono::steady_clock::now() < again)
    if (auto m = c2.poll(200ms); m && !m->failure()) first = m->offset();
  EXPECT_EQ(first, 7);
}

TEST(KafkaClient, RecordsReachTheTopicTheyNameFromSeveralThreads) {
  // The producer keeps a handle per topic, made on first use: threads that
  // name topics for the first time at once must each get the right one.
  auto cluster = take(embedded_cluster::make(1));
  const std::vector<std::string> topics = {"out.a", "out.b.longer-than-fifteen", "out.c"};
  for (const auto& t : topics)
    ASSERT_FALSE(cluster.create_topic(t, 2));
  std::mutex mu;
  std::map<std::intptr_t, std::string> landed; ///< token -> topic of its delivery report
  int failures = 0;
  auto make = [&] {
    return take(
        producer::make({{"bootstrap.servers", cluster.bootstrap()}}, [&](const delivery& d) {
          std::lock_guard lock(mu);
          if (d.failure) ++failures;
          landed[reinterpret_cast<std::intptr_t>(d.token)] = d.topic;
        }));
  };
  auto p = make();
  constexpr int per_thread = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        const int id = t * per_thread + i + 1;
        outgoing o;
        o.topic = topics[static_cast<std::size_t>((i + t) % 3)];
        o.value = "{}";
        o.token = reinterpret_cast<void*>(static_cast<std::intptr_t>(id));
        while (p.produce(o) == produce_status::queue_full)
          std::this_thread::sleep_for(1ms);
      }
    });
  for (auto& th : threads)
    th.join();
  ASSERT_TRUE(p.flush(10s));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(failures, 0);
    ASSERT_EQ(landed.size(), std::size_t{2 * per_thread});
    for (int t = 0; t < 2; ++t)
      for (int i = 0; i < per_thread; ++i)
        EXPECT_EQ(landed[t * per_thread + i + 1], topics[static_cast<std::size_t>((i + t) % 3)])
            << "thread " << t << " record " << i;
  }

  // A name librdkafka refuses is an error that names the topic.
  const std::string too_long(600, 't');
  outgoing bad;
  bad.topic = too_long;
  bad.value = "{}";
  error why;
  EXPECT_EQ(p.produce(bad, &why), produce_status::failed);
  EXPECT_NE(why.message.find("produce to " + too_long), std::string::npos) << why.message;

  // A producer assigned over lets go of its handles before its client.
  p = make();
  outgoing again;
  again.topic = topics[0];
  again.value = "{}";
  again.token = reinterpret_cast<void*>(std::intptr_t{-1});
  ASSERT_EQ(p.produce(again), produce_status::queued);
  ASSERT_TRUE(p.flush(10s));
  std::lock_guard lock(mu);
  EXPECT_EQ(landed[-1], topics[0]);
}

TEST(KafkaClient, TransientProduceErrorsAndABrokerOutageLoseNothing) {
  auto cluster = take(embedded_cluster::make(3));
  ASSERT_FALSE(cluster.create_topic("out", 3));
  delivered_log log;
  auto p = make_producer(cluster, log, {{"retry.backoff.ms", "50"}});
  constexpr int n = 300;
  cluster.fail_produce_requests(5, 6 /* NOT_LEADER_FOR_PARTITION, retriable */);
  for (int i = 0; i < n; ++i) {
    if (i == n / 3) {
      ASSERT_FALSE(cluster.set_down(-1));
    }
    const std::string value = std::to_string(i);
    outgoing o;
    o.topic = "out";
    o.partition = i % 3;
    o.value = value;
    o.token = reinterpret_cast<void*>(static_cast<std::intptr_t>(i + 1));
    ASSERT_EQ(p.produce(o), produce_status::queued);
    p.poll(0ms);
  }
  std::this_thread::sleep_for(2s);
  ASSERT_FALSE(cluster.set_up(-1));
  ASSERT_TRUE(p.flush(30s));
  std::lock_guard lock(log.mutex);
  ASSERT_EQ(log.outcome.size(), std::size_t{n});
  for (const auto& [token, ok] : log.outcome)
    EXPECT_TRUE(ok) << token;
  EXPECT_FALSE(p.fatal_error());
}

} // namespace
} // namespace bulwark::kafka
