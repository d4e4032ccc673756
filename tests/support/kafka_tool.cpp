// A small Kafka client for the integration tests: produce NDJSON lines to a
// topic, or consume a topic into NDJSON (one JSON object per record with its
// partition, offset, key, headers and value).
//
//   kafka_tool produce BOOTSTRAP TOPIC [PARTITIONS [KEY]] < lines (key: KEY, else "k<line % 97>")
//   kafka_tool produce-paced BOOTSTRAP TOPIC PARTITIONS RATE < lines (stamps "sent_us")
//   kafka_tool produce-by-source BOOTSTRAP TOPIC RATE < lines (key: the line's "source";
//                                                      lines unchanged, so signatures hold;
//                                                      RATE 0: as fast as possible)
//   kafka_tool produce-at-event-time BOOTSTRAP TOPIC PARTITIONS < lines
//                                                     (each record's timestamp is its line's
//                                                      "ts", as a server producing its own
//                                                      events sets it; lines unchanged)
//   kafka_tool wait BOOTSTRAP TOPIC COUNT TIMEOUT_S           (returns once COUNT exist)
//   kafka_tool consume BOOTSTRAP TOPIC COUNT TIMEOUT_S        (once COUNT records are read,
//                                                              stops after 3 s without more
//                                                              (and 10 s in all);
//                                                              else at TIMEOUT)
#include "core/json_writer.hpp"
#include "core/time.hpp"
#include "kafka/client.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

using namespace bulwark;
using namespace std::chrono_literals;

namespace {

std::int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// The value of the first `"source":"…"` member of a line (no escapes in
/// the test data), or "" when there is none.
std::string source_of(const std::string& line) {
  static const std::string tag = "\"source\":\"";
  const std::size_t at = line.find(tag);
  if (at == std::string::npos) return {};
  const std::size_t from = at + tag.size();
  const std::size_t to = line.find('"', from);
  return to == std::string::npos ? std::string() : line.substr(from, to - from);
}

/// The time of the first `"ts":"…"` member of a line, when there is one and
/// it is RFC 3339.
std::optional<std::int64_t> event_time_of(const std::string& line) {
  static const std::string tag = "\"ts\":\"";
  const std::size_t at = line.find(tag);
  if (at == std::string::npos) return std::nullopt;
  const std::size_t from = at + tag.size();
  const std::size_t to = line.find('"', from);
  if (to == std::string::npos) return std::nullopt;
  return parse_rfc3339(std::string_view(line).substr(from, to - from));
}

/// `rate` > 0: paces the records (events/s) and, unless `by_source`, stamps
/// each JSON object with `"sent_us":<wall clock µs>` as its first member, for
/// latency measurements. `by_source`: each record is keyed by its `source`
/// (the default partitioner keeps a source on one partition, as
/// docs/deployment.md asks) and sent unchanged.
int produce(const std::string& bootstrap, const std::string& topic, int partitions, double rate = 0,
            bool by_source = false, const char* fixed_key = nullptr, bool at_event_time = false) {
  auto p = kafka::producer::make(
      {{"bootstrap.servers", bootstrap}, {"linger.ms", "20"}}, [](const kafka::delivery& d) {
        if (d.failure) std::fprintf(stderr, "kafka_tool: %s\n", d.failure->message.c_str());
      });
  if (auto* e = std::get_if<kafka::error>(&p)) {
    std::fprintf(stderr, "kafka_tool: %s\n", e->message.c_str());
    return 1;
  }
  auto& producer = std::get<kafka::producer>(p);
  std::string line;
  std::uint64_t n = 0;
  const auto start = std::chrono::steady_clock::now();
  while (std::getline(std::cin, line)) {
    if (rate > 0) {
      const auto due = start + std::chrono::microseconds(
                                   static_cast<std::int64_t>(static_cast<double>(n) * 1e6 / rate));
      while (std::chrono::steady_clock::now() < due)
        producer.poll(std::chrono::duration_cast<std::chrono::milliseconds>(std::max(
            due - std::chrono::steady_clock::now(), std::chrono::steady_clock::duration::zero())));
      if (!by_source && !line.empty() && line[0] == '{')
        line.insert(1, "\"sent_us\":" + std::to_string(now_us()) + (line.size() > 2 ? "," : ""));
    }
    const std::string key = fixed_key != nullptr ? std::string(fixed_key)
                            : by_source          ? source_of(line)
                                                 : "k" + std::to_string(n % 97);
    kafka::outgoing o;
    o.topic = topic;
    o.partition =
        partitions > 0 ? static_cast<std::int32_t>(n % static_cast<unsigned>(partitions)) : -1;
    o.key = key;
    o.value = line;
    const std::string src_line = std::to_string(n + 1); // the header only views it
    const kafka::header hdrs[] = {{"src-line", src_line}};
    o.headers = hdrs;
    if (at_event_time) o.timestamp = event_time_of(line);
    while (producer.produce(o) == kafka::produce_status::queue_full)
      producer.poll(10ms);
    producer.poll(0ms);
    ++n;
  }
  if (!producer.flush(60s)) {
    std::fprintf(stderr, "kafka_tool: flush timed out\n");
    return 1;
  }
  std::fprintf(stderr, "kafka_tool: produced %llu\n", static_cast<unsigned long long>(n));
  return 0;
}

/// Records no text line can carry: a null value, an event whose key and
/// header carry the given canaries, and two with headers that must not travel.
int produce_special(const std::string& bootstrap, const std::string& topic, const std::string& key,
                    const std::string& header_value) {
  auto p = kafka::producer::make({{"bootstrap.servers", bootstrap}}, nullptr);
  if (auto* e = std::get_if<kafka::error>(&p)) {
    std::fprintf(stderr, "kafka_tool: %s\n", e->message.c_str());
    return 1;
  }
  auto& producer = std::get<kafka::producer>(p);
  kafka::outgoing null_value;
  null_value.topic = topic;
  null_value.key = std::string_view("null-value-record");
  // A null value: the wrapper sends value bytes only when there are some.
  kafka::outgoing event;
  event.topic = topic;
  event.key = key;
  const std::string value = R"({"bw_test_id":-1,"msg":"side channels"})";
  event.value = value;
  const kafka::header hdrs[] = {{"authorization", header_value}, {"bw-binary", "\xff\xfe"}};
  event.headers = hdrs;
  // Headers that must not travel (kafka/headers.hpp): an escape sequence in a
  // name, and a forged `bw-reason`. Both records go to the DLQ as bad_headers.
  kafka::outgoing escape_name;
  escape_name.topic = topic;
  const std::string escaped_value = R"({"bw_test_id":-2,"msg":"escape in a header name"})";
  escape_name.value = escaped_value;
  const kafka::header escape_hdrs[] = {{"x-\x1b[31mred", "v"}};
  escape_name.headers = escape_hdrs;
  kafka::outgoing forged;
  forged.topic = topic;
  const std::string forged_value = R"({"bw_test_id":-3,"msg":"forged bulwark header"})";
  forged.value = forged_value;
  const kafka::header forged_hdrs[] = {{"bw-reason", "looks clean"}};
  forged.headers = forged_hdrs;
  for (const auto* o : {&null_value, &event, &escape_name, &forged})
    if (producer.produce(*o) != kafka::produce_status::queued) return 1;
  return producer.flush(30s) ? 0 : 1;
}

int consume(const std::string& bootstrap, const std::string& topic, long count, int timeout_s,
            bool until_count = false) {
  auto c = kafka::consumer::make({{"bootstrap.servers", bootstrap},
                                  {"group.id", "kafka-tool-" + topic},
                                  {"session.timeout.ms", "6000"},
                                  {"fetch.wait.max.ms", "10"}},
                                 {topic}, nullptr);
  if (auto* e = std::get_if<kafka::error>(&c)) {
    std::fprintf(stderr, "kafka_tool: %s\n", e->message.c_str());
    return 1;
  }
  auto& consumer = std::get<kafka::consumer>(c);
  long got = 0;
  std::int64_t first_us = 0, last_us = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  const auto start = std::chrono::steady_clock::now();
  auto last = start;
  while (std::chrono::steady_clock::now() < deadline) {
    // Joining the group takes a few seconds: an empty topic is judged only after that.
    const auto now = std::chrono::steady_clock::now();
    if (got >= count && (until_count || (now - last > 3s && now - start > 10s))) break;
    auto m = consumer.poll(200ms);
    if (!m || m->failure()) continue;
    last = std::chrono::steady_clock::now();
    ++got;
    if (until_count) {
      if (got == 1) first_us = now_us();
      last_us = now_us();
      continue;
    }
    json_writer w;
    w.begin_object().key("partition").value(m->partition()).key("offset").value(m->offset());
    w.key("recv_us").value(now_us());
    w.key("key");
    if (auto k = m->key())
      w.value(*k);
    else
      w.null();
    w.key("headers").begin_object();
    for (const auto& h : m->headers()) {
      w.key(h.name);
      if (h.value)
        w.value(*h.value);
      else
        w.null();
    }
    w.end_object().key("value");
    if (auto v = m->value())
      w.value(*v);
    else
      w.null();
    w.end_object();
    std::fwrite(w.str().data(), 1, w.str().size(), stdout);
    std::fputc('\n', stdout);
  }
  consumer.close();
  if (until_count)
    std::printf("first_us=%lld last_us=%lld count=%ld\n", static_cast<long long>(first_us),
                static_cast<long long>(last_us), got);
  std::fprintf(stderr, "kafka_tool: consumed %ld\n", got);
  return got >= count ? 0 : 3;
}

} // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "produce" && (argc == 4 || argc == 5))
    return produce(argv[2], argv[3], argc == 5 ? std::stoi(argv[4]) : 0);
  if (mode == "produce" && argc == 6) // every record keyed KEY
    return produce(argv[2], argv[3], std::stoi(argv[4]), 0, false, argv[5]);
  if (mode == "consume" && argc == 6)
    return consume(argv[2], argv[3], std::stol(argv[4]), std::stoi(argv[5]));
  if (mode == "produce-at-event-time" && argc == 5)
    return produce(argv[2], argv[3], std::stoi(argv[4]), 0, false, nullptr, true);
  if (mode == "produce-paced" && argc == 6)
    return produce(argv[2], argv[3], std::stoi(argv[4]), std::stod(argv[5]));
  if (mode == "produce-by-source" && argc == 5)
    return produce(argv[2], argv[3], 0, std::stod(argv[4]), true);
  if (mode == "produce-special" && argc == 6)
    return produce_special(argv[2], argv[3], argv[4], argv[5]);
  if (mode == "wait" && argc == 6) // returns as soon as COUNT records exist
    return consume(argv[2], argv[3], std::stol(argv[4]), std::stoi(argv[5]), true);
  std::fprintf(stderr, "usage: kafka_tool produce BOOTSTRAP TOPIC [PARTITIONS] < lines\n"
                       "       kafka_tool consume BOOTSTRAP TOPIC COUNT TIMEOUT_S\n");
  return 2;
}
