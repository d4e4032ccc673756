#include "loadgen/runner.hpp"

#include "loadgen/pacer.hpp"
#include "loadgen/signer.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace bulwark::loadgen {
namespace {

using steady = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
      .count();
}

/// The loop both runners share: pacing, limits, progress. `emit` writes one
/// record and returns false to stop with the outcome's error set.
class loop {
public:
  loop(const run_options& run, const std::atomic<bool>& stop, const progress_sink& progress)
      : run_(run), stop_(stop), progress_(progress), pace_(run.rate), start_ns_(now_ns()),
        next_report_ns_(start_ns_ + run.progress_every_ms * 1'000'000) {}

  /// Waits for the pacer; false when the run should end instead.
  bool next_slot() {
    for (;;) {
      if (stop_.load(std::memory_order_relaxed)) return false;
      if (run_.events != 0 && stats.events >= run_.events) return false;
      const std::int64_t now = now_ns();
      if (run_.seconds > 0 && static_cast<double>(now - start_ns_) * 1e-9 >= run_.seconds)
        return false;
      report(now, false);
      if (pace_.try_take(now)) return true;
      // Sleep in short steps so a stop request is honoured promptly.
      const std::int64_t wait = std::min<std::int64_t>(pace_.wait_ns(now), 50'000'000);
      std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    }
  }

  void count(const record& rec, const label& truth, timestamp_ms start) {
    ++stats.events;
    stats.bytes += rec.value.size();
    if (!truth.attacks.empty()) ++stats.attacked;
    stats.simulated_ms = rec.time - start;
  }

  void finish() { report(now_ns(), true); }

  run_stats stats;

private:
  void report(std::int64_t now, bool last) {
    stats.elapsed_s = static_cast<double>(now - start_ns_) * 1e-9;
    if (!progress_) return;
    if (!last && now < next_report_ns_) return;
    next_report_ns_ = now + run_.progress_every_ms * 1'000'000;
    progress_(stats);
  }

  const run_options& run_;
  const std::atomic<bool>& stop_;
  const progress_sink& progress_;
  pacer pace_;
  std::int64_t start_ns_;
  std::int64_t next_report_ns_;
};

} // namespace

options effective_fleet_options(const run_options& run) {
  options o = run.fleet;
  if (o.clock_rate <= 0) o.clock_rate = run.rate > 0 ? run.rate : 1000;
  return o;
}

run_outcome run_to_stream(const run_options& run, std::FILE* out, std::FILE* labels,
                          const std::atomic<bool>& stop, const progress_sink& progress) {
  run_outcome result;
  const options opts = effective_fleet_options(run);
  if (opts.sign == signing::header) {
    result.error = "sign: the header form needs Kafka (--brokers); use body or none";
    return result;
  }
  auto made = fleet::make(opts);
  if (auto* problem = std::get_if<std::string>(&made)) {
    result.error = *problem;
    return result;
  }
  fleet& f = std::get<fleet>(made);
  loop l(run, stop, progress);
  record rec;
  label truth;
  std::string label_lines;
  const auto failed = [&](const char* what) {
    result.broken_pipe = errno == EPIPE;
    result.error = std::string(what) + ": " + std::strerror(errno);
  };
  while (l.next_slot()) {
    f.next(rec, &truth);
    rec.value += '\n';
    if (std::fwrite(rec.value.data(), 1, rec.value.size(), out) != rec.value.size()) {
      failed("writing events");
      break;
    }
    rec.value.pop_back();
    l.count(rec, truth, opts.start);
    if (labels != nullptr && !truth.attacks.empty()) {
      label_lines.clear();
      append_label_lines(label_lines, truth);
      if (std::fwrite(label_lines.data(), 1, label_lines.size(), labels) != label_lines.size()) {
        failed("writing labels");
        break;
      }
    }
  }
  if (!result.error && std::fflush(out) != 0) failed("writing events");
  if (!result.error && labels != nullptr && std::fflush(labels) != 0) failed("writing labels");
  l.finish();
  result.stats = l.stats;
  return result;
}

run_outcome run_to_kafka(const run_options& run, kafka::producer& producer,
                         const std::atomic<bool>& stop, const label_sink& labels,
                         const progress_sink& progress) {
  run_outcome result;
  const options opts = effective_fleet_options(run);
  auto made = fleet::make(opts);
  if (auto* problem = std::get_if<std::string>(&made)) {
    result.error = *problem;
    return result;
  }
  fleet& f = std::get<fleet>(made);
  loop l(run, stop, progress);
  record rec;
  label truth;
  while (l.next_slot()) {
    f.next(rec, &truth);
    std::array<kafka::header, 1> headers{
        kafka::header{sig_header_name, std::string_view{rec.sig_header}}};
    kafka::outgoing o;
    o.topic = run.topic;
    o.key = std::string_view{rec.key};
    o.value = rec.value;
    o.timestamp = rec.time;
    if (!rec.sig_header.empty()) o.headers = headers;
    bool queued = false;
    while (!queued) {
      kafka::error why;
      const kafka::produce_status st = producer.produce(o, &why);
      queued = st == kafka::produce_status::queued;
      if (queued) break;
      if (st == kafka::produce_status::failed) {
        result.error = "producing to " + run.topic + ": " + why.message;
        break;
      }
      // Backpressure: serve delivery reports until librdkafka has room.
      ++l.stats.queue_full;
      producer.poll(std::chrono::milliseconds(10));
      if (stop.load(std::memory_order_relaxed)) break;
    }
    if (!queued) break;
    l.count(rec, truth, opts.start);
    if (labels && !truth.attacks.empty()) labels(truth);
    if (l.stats.events % 1024 == 0) producer.poll(std::chrono::milliseconds(0));
  }
  if (!producer.flush(std::chrono::seconds(30)) && !result.error)
    result.error = "flushing to " + run.topic + ": " + std::to_string(producer.pending()) +
                   " records still undelivered after 30 s";
  l.finish();
  result.stats = l.stats;
  return result;
}

} // namespace bulwark::loadgen
