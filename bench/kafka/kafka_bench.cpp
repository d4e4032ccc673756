// The producer's per-record cost on the calling thread: what a worker pays to
// hand one output to librdkafka (kafka::producer::produce), against the
// in-process embedded cluster so that records are really sent and reported.
// The delivery reports are served on the same thread every few hundred
// records, as they would be by the service's poller.
#include "kafka/client.hpp"
#include "kafka/embedded.hpp"

#include <benchmark/benchmark.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>

namespace {

using namespace std::chrono_literals;
namespace k = bulwark::kafka;

/// One cluster and producer per compression codec for the whole run (start-up
/// is not what is measured).
struct fixture {
  std::optional<k::embedded_cluster> cluster;
  std::optional<k::producer> producer;
  std::string value;
  long delivered = 0;

  static fixture& get(const std::string& compression) {
    static std::map<std::string, std::unique_ptr<fixture>> all;
    auto& f = all[compression];
    if (!f) f.reset(new fixture(compression));
    return *f;
  }

private:
  explicit fixture(const std::string& compression) {
    auto c = k::embedded_cluster::make(1);
    if (auto* e = std::get_if<k::error>(&c)) fail("embedded cluster", e->message);
    cluster.emplace(std::move(std::get<k::embedded_cluster>(c)));
    if (auto e = cluster->create_topic(topic, partitions)) fail("create topic", e->message);
    auto p = k::producer::make({{"bootstrap.servers", cluster->bootstrap()},
                                {"log_level", "3"},
                                {"compression.type", compression}},
                               [this](const k::delivery& d) {
                                 if (!d.failure) ++delivered;
                               });
    if (auto* e = std::get_if<k::error>(&p)) fail("producer", e->message);
    producer.emplace(std::move(std::get<k::producer>(p)));
    // A telemetry event of the usual size (~430 bytes).
    value = R"({"ts":"2026-11-18T11:06:40.000Z","source":"srv-5","seq":1,"type":"prediction",)"
            R"("model":"support-bot","model_version":"2.4.0","request_id":"req-a6a3a450",)"
            R"("input":{"messages":[{"role":"user","content":"Account report delivery return )"
            R"(explain refund."}]},"output":{"content":"Billing shipping invoice problem issue )"
            R"(account question invoice summary problem refund translate status address )"
            R"(weather"},"latency_ms":182,"tokens":{"in":41,"out":77}})";
    // Metadata, the connection and the producer id before the clock starts.
    for (int i = 0; i < partitions; ++i)
      send(i);
    if (!producer->flush(30s)) fail("warm-up flush", "timed out");
  }

  [[noreturn]] static void fail(const char* what, const std::string& why) {
    std::fprintf(stderr, "bench_kafka: %s: %s\n", what, why.c_str());
    std::exit(2);
  }

public:
  static constexpr const char* topic = "telemetry.sanitized";
  static constexpr int partitions = 32;

  void send(int i) {
    const std::string line = std::to_string(i); // the header only views it
    const k::header hdrs[] = {{"src-line", line}};
    k::outgoing o;
    o.topic = topic;
    o.partition = i % partitions;
    o.value = value;
    o.headers = hdrs;
    o.timestamp = 1795869656724;
    while (producer->produce(o) == k::produce_status::queue_full)
      producer->poll(1ms);
  }
};

// Timed in CPU time of the whole process: the calling thread's produce call
// plus what the producer's broker threads spend batching and compressing the
// record (and the in-process cluster storing it), per record.
void BM_ProduceOneRecord(benchmark::State& state, const char* compression) {
  fixture& f = fixture::get(compression);
  int i = 0;
  for (auto _ : state) {
    f.send(i);
    if (++i % 256 == 0) f.producer->poll(0ms);
  }
  (void)f.producer->flush(30s); // after the loop: not timed
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(f.value.size()));
}
// The same at a paced rate (records/s over the 32 partitions): batches are as
// small as linger.ms makes them at that rate, so each batch's fixed cost (a
// request, a compression context) is shared by fewer records than at full
// speed. At 90,000/s a partition's batch holds ~14 records, as in `run` with
// one worker on the embedded cluster; at 160,000/s ~25, as in the relay.
void BM_ProduceAtRate(benchmark::State& state, const char* compression) {
  fixture& f = fixture::get(compression);
  const double rate = static_cast<double>(state.range(0));
  const auto start = std::chrono::steady_clock::now();
  long i = 0;
  for (auto _ : state) {
    f.send(static_cast<int>(i));
    if (++i % 64 == 0) {
      f.producer->poll(0ms);
      std::this_thread::sleep_until(
          start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(static_cast<double>(i) / rate)));
    }
  }
  (void)f.producer->flush(30s);
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK_CAPTURE(BM_ProduceOneRecord, lz4, "lz4")->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(BM_ProduceOneRecord, snappy, "snappy")->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(BM_ProduceOneRecord, zstd, "zstd")->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(BM_ProduceOneRecord, none, "none")->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(BM_ProduceAtRate, lz4, "lz4")->MeasureProcessCPUTime()->Arg(90000)->Arg(160000);
BENCHMARK_CAPTURE(BM_ProduceAtRate, snappy, "snappy")
    ->MeasureProcessCPUTime()
    ->Arg(90000)
    ->Arg(160000);
BENCHMARK_CAPTURE(BM_ProduceAtRate, none, "none")->MeasureProcessCPUTime()->Arg(90000)->Arg(160000);

} // namespace

BENCHMARK_MAIN();
