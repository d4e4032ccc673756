// The latency probe of bench/e2e/e2e.py: a paced producer that stamps each
// event with the wall clock (and sets its `ts` to the send time), and a reader that prints how long
// each stamped event took to arrive. It talks to librdkafka directly, with every setting explicit,
// so what it measures is bulwark's hop and not the test client's own batching (the integration
// tests' kafka_tool lingers 20 ms and starts its clock before its producer has a connection).
//
//   e2e_client paced BOOTSTRAP TOPIC PARTITIONS RATE [KEY=VALUE ...] < lines
//   e2e_client latency BOOTSTRAP TOPIC COUNT TIMEOUT_S [KEY=VALUE ...]
//       prints one line per stamped event: its latency and send time in
//       microseconds and its partition; exits once
//       COUNT arrived (or at TIMEOUT_S: exit 3)
//
// Built by e2e.py with `c++ -O2 -std=c++20 e2e_client.cpp -lrdkafka`.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <iostream>
#include <librdkafka/rdkafka.h>
#include <string>
#include <thread>

namespace {

long long now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool set(rd_kafka_conf_t* conf, const char* key, const char* value) {
  char reason[512];
  if (rd_kafka_conf_set(conf, key, value, reason, sizeof reason) == RD_KAFKA_CONF_OK) return true;
  std::fprintf(stderr, "e2e_client: %s: %s\n", key, reason);
  return false;
}

bool set_extra(rd_kafka_conf_t* conf, int argc, char** argv, int from) {
  for (int i = from; i < argc; ++i) {
    std::string kv = argv[i];
    const auto eq = kv.find('=');
    if (eq == std::string::npos || !set(conf, kv.substr(0, eq).c_str(), kv.c_str() + eq + 1))
      return false;
  }
  return true;
}

/// Sets the event's own time (`"ts":"…"`, RFC 3339 with milliseconds) to
/// `ms`: an upstream server writes its events when they happen, and the
/// record timestamp the producer sets agrees with it (bulwark flags events
/// further than max_skew from their record's timestamp).
void restamp_ts(std::string& line, long long ms) {
  static const std::string tag = "\"ts\":\"";
  const std::size_t at = line.find(tag);
  if (at == std::string::npos) return;
  const std::size_t from = at + tag.size();
  const std::size_t to = line.find('"', from);
  if (to == std::string::npos) return;
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm t{};
  gmtime_r(&secs, &t);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &t);
  std::snprintf(buf + n, sizeof buf - n, ".%03lldZ", ms % 1000);
  line.replace(from, to - from, buf);
}

int delivery_failures = 0;

void on_delivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) ++delivery_failures;
}

int paced(int argc, char** argv) {
  const char* bootstrap = argv[2];
  const char* topic = argv[3];
  const int partitions = std::atoi(argv[4]);
  const double rate = std::atof(argv[5]);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // An upstream service that sends each event at once: the latency measured
  // is then bulwark's (and the cluster's), not this client's batching.
  if (!set(conf, "bootstrap.servers", bootstrap) || !set(conf, "linger.ms", "0") ||
      !set(conf, "enable.idempotence", "true") || !set_extra(conf, argc, argv, 6))
    return 2;
  rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
  char reason[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, reason, sizeof reason);
  if (rk == nullptr) {
    std::fprintf(stderr, "e2e_client: %s\n", reason);
    return 2;
  }
  // Warm up before the clock starts: metadata, connections to every leader
  // and the idempotent producer id. One unstamped record per partition,
  // which the reader ignores.
  for (int p = 0; p < partitions; ++p)
    rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(p),
                      RD_KAFKA_V_VALUE(const_cast<char*>("{}"), 2),
                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
  if (rd_kafka_flush(rk, 30000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    std::fprintf(stderr, "e2e_client: warm-up records not delivered\n");
    return 1;
  }
  std::string line;
  long long n = 0;
  const auto start = std::chrono::steady_clock::now();
  // Records go out in the bursts a sleeping sender makes: each wake-up sends
  // every record due within the next `tick`, then sleeps until the next one
  // is due. Waiting for each record's own moment (22 µs apart at 45,000/s)
  // would spin one of the machine's two cores, taking it from bulwark and
  // the cluster, and the run queue would show up as latency. Each record is
  // stamped when it is handed to librdkafka, so the bursts do not enter the
  // measured latency, only the arrival pattern (~45 records a millisecond).
  constexpr auto tick = std::chrono::milliseconds(1);
  while (std::getline(std::cin, line)) {
    const auto due = start + std::chrono::microseconds(
                                 static_cast<long long>(static_cast<double>(n) * 1e6 / rate));
    if (std::chrono::steady_clock::now() + tick < due) {
      rd_kafka_poll(rk, 0);
      std::this_thread::sleep_until(due);
    }
    if (line.empty() || line[0] != '{') continue;
    const long long sent = now_us();
    restamp_ts(line, sent / 1000);
    line.insert(1, "\"sent_us\":" + std::to_string(sent) + (line.size() > 2 ? "," : ""));
    const std::string key = "k" + std::to_string(n % 97);
    while (rd_kafka_producev(
               rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(static_cast<int>(n % partitions)),
               RD_KAFKA_V_KEY(key.data(), key.size()), RD_KAFKA_V_VALUE(line.data(), line.size()),
               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
               RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL)
      rd_kafka_poll(rk, 10);
    rd_kafka_poll(rk, 0);
    ++n;
  }
  const bool flushed = rd_kafka_flush(rk, 60000) == RD_KAFKA_RESP_ERR_NO_ERROR;
  rd_kafka_destroy(rk);
  std::fprintf(stderr, "e2e_client: produced %lld, %d failed\n", n, delivery_failures);
  return flushed && delivery_failures == 0 ? 0 : 1;
}

int latency(int argc, char** argv) {
  const char* bootstrap = argv[2];
  const char* topic = argv[3];
  const long count = std::atol(argv[4]);
  const int timeout_s = std::atoi(argv[5]);
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  const std::string group = std::string("e2e-latency-") + topic;
  if (!set(conf, "bootstrap.servers", bootstrap) || !set(conf, "group.id", group.c_str()) ||
      !set(conf, "session.timeout.ms", "6000") || !set(conf, "auto.offset.reset", "earliest") ||
      !set(conf, "fetch.wait.max.ms", "10") || !set_extra(conf, argc, argv, 6))
    return 2;
  char reason[512];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, reason, sizeof reason);
  if (rk == nullptr) {
    std::fprintf(stderr, "e2e_client: %s\n", reason);
    return 2;
  }
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, topic, RD_KAFKA_PARTITION_UA);
  rd_kafka_subscribe(rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  long got = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  static constexpr char stamp[] = "{\"sent_us\":";
  while (got < count && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    const long long recv = now_us();
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR && m->len > sizeof stamp &&
        std::memcmp(m->payload, stamp, sizeof stamp - 1) == 0) {
      const long long sent = std::atoll(static_cast<const char*>(m->payload) + sizeof stamp - 1);
      std::printf("%lld %lld %d\n", recv - sent, sent, m->partition);
      ++got;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  std::fprintf(stderr, "e2e_client: %ld stamped records\n", got);
  return got >= count ? 0 : 3;
}

} // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "paced" && argc >= 6) return paced(argc, argv);
  if (mode == "latency" && argc >= 6) return latency(argc, argv);
  std::fprintf(stderr, "usage: e2e_client paced BOOTSTRAP TOPIC PARTITIONS RATE [K=V...] < lines\n"
                       "       e2e_client latency BOOTSTRAP TOPIC COUNT TIMEOUT_S [K=V...]\n");
  return 2;
}
