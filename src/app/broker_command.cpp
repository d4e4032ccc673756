// `bulwark broker`: the embedded cluster in a process of its own, so tests can
// run several bulwark instances against it, kill one, or take a broker down
// (`rd_kafka_mock_broker_set_down` works only inside the cluster's process).
#include "app/cli.hpp"
#include "core/log.hpp"
#include "kafka/embedded.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <poll.h>
#include <sstream>
#include <string>
#include <unistd.h>

namespace bulwark::app {
namespace {

std::atomic<bool> broker_stop{false};

extern "C" void on_broker_signal(int /*signal*/) {
  broker_stop.store(true);
}

/// "NAME:PARTITIONS" (PARTITIONS optional, default `fallback`).
bool parse_topic(const std::string& spec, int fallback, std::string& name, int& partitions) {
  const auto colon = spec.rfind(':');
  name = spec.substr(0, colon);
  partitions = fallback;
  if (colon != std::string::npos) {
    try {
      std::size_t used = 0;
      partitions = std::stoi(spec.substr(colon + 1), &used);
      if (used != spec.size() - colon - 1) return false;
    } catch (const std::exception&) {
      return false;
    }
  }
  return !name.empty() && partitions >= 1 && partitions <= 10000 &&
         config::is_valid_topic_name(name);
}

} // namespace

int broker_command(const broker_args& args) {
  if (args.brokers < 1 || args.brokers > 16) {
    std::fprintf(stderr, "bulwark broker: --brokers %d: must be 1 to 16\n", args.brokers);
    return bad_usage;
  }
  std::vector<std::pair<std::string, int>> topics;
  for (const auto& spec : args.topics) {
    std::string name;
    int partitions = 0;
    if (!parse_topic(spec, args.partitions, name, partitions)) {
      std::fprintf(stderr, "bulwark broker: --topic %s: expected NAME:PARTITIONS\n", spec.c_str());
      return bad_usage;
    }
    topics.emplace_back(name, partitions);
  }
  auto made = kafka::embedded_cluster::make(args.brokers);
  if (auto* e = std::get_if<kafka::error>(&made)) {
    log::error("broker", "cannot start the embedded cluster", {{"error", e->message}});
    return runtime_failure;
  }
  auto& cluster = std::get<kafka::embedded_cluster>(made);
  for (const auto& [name, partitions] : topics)
    if (auto err = cluster.create_topic(name, partitions)) {
      log::error("broker", "cannot create a topic", {{"topic", name}, {"error", err->message}});
      return runtime_failure;
    }
  std::printf("bootstrap %s\n", cluster.bootstrap().c_str());
  std::fflush(stdout);

  struct sigaction sa {};
  sa.sa_handler = on_broker_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  // Commands on stdin: `down B`, `up B` (B = broker id or -1 for all),
  // `topic NAME:PARTITIONS`, `slow B MS`, `fail-produce N CODE`, `fail-commit N CODE`,
  // `quit`. End of input keeps the cluster running until a signal, so it can
  // also run in the background.
  bool stdin_open = true;
  std::string pending;
  while (!broker_stop.load()) {
    if (!stdin_open) {
      ::pause();
      continue;
    }
    pollfd pfd{0, POLLIN, 0};
    if (::poll(&pfd, 1, 200) <= 0) continue;
    char buf[512];
    const ssize_t got = ::read(0, buf, sizeof buf);
    if (got <= 0) {
      stdin_open = false;
      continue;
    }
    pending.append(buf, static_cast<std::size_t>(got));
    for (auto nl = pending.find('\n'); nl != std::string::npos; nl = pending.find('\n')) {
      std::istringstream line(pending.substr(0, nl));
      pending.erase(0, nl + 1);
      std::string cmd;
      line >> cmd;
      if (cmd.empty()) continue;
      if (cmd == "quit") return ok;
      if (cmd == "down" || cmd == "up") {
        int id = 0;
        if (!(line >> id) || id == 0 || id < -1 || id > cluster.brokers()) {
          std::printf("error: %s needs a broker id 1..%d or -1\n", cmd.c_str(), cluster.brokers());
        } else if (auto err = cmd == "down" ? cluster.set_down(id) : cluster.set_up(id)) {
          std::printf("error: %s\n", err->message.c_str());
        } else {
          std::printf("ok %s %d\n", cmd.c_str(), id);
        }
      } else if (cmd == "topic") {
        std::string spec, name;
        int partitions = 0;
        line >> spec;
        if (!parse_topic(spec, args.partitions, name, partitions))
          std::printf("error: topic needs NAME:PARTITIONS\n");
        else if (auto err = cluster.create_topic(name, partitions))
          std::printf("error: %s\n", err->message.c_str());
        else
          std::printf("ok topic %s %d\n", name.c_str(), partitions);
      } else if (cmd == "slow") {
        int id = 0;
        int rtt = -1;
        if (!(line >> id >> rtt) || id < 1 || id > cluster.brokers() || rtt < 0 || rtt > 60000) {
          std::printf("error: slow needs a broker id 1..%d and a delay 0..60000 ms\n",
                      cluster.brokers());
        } else if (auto err = cluster.set_rtt(id, rtt)) {
          std::printf("error: %s\n", err->message.c_str());
        } else {
          std::printf("ok slow %d %d\n", id, rtt);
        }
      } else if (cmd == "fail-produce" || cmd == "fail-commit") {
        // The next N Produce (OffsetCommit) requests, from any client, fail
        // with CODE, an rd_kafka_resp_err_t: retriable codes exercise the
        // producers' retries, others what a refused request leads to.
        long count = 0;
        int code = 0;
        if (!(line >> count >> code) || count < 1 || count > 100000 || code <= 0) {
          std::printf("error: %s needs a count 1..100000 and a positive error code\n", cmd.c_str());
        } else {
          if (cmd == "fail-produce")
            cluster.fail_produce_requests(static_cast<std::size_t>(count), code);
          else
            cluster.fail_offset_commits(static_cast<std::size_t>(count), code);
          std::printf("ok %s %ld %d\n", cmd.c_str(), count, code);
        }
      } else {
        std::printf("error: unknown command %s (down B | up B | slow B MS | topic NAME:P | "
                    "fail-produce N CODE | fail-commit N CODE | quit)\n",
                    cmd.c_str());
      }
      std::fflush(stdout);
    }
  }
  return ok;
}

} // namespace bulwark::app
