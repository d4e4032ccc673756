#pragma once
/// Driving a fleet: to NDJSON (a stream) or to Kafka, at a target rate, for a
/// number of events or of wall-clock seconds, with progress reports.
///
/// `bulwark demo` calls `run_to_kafka` in-process on its own thread; the
/// `bulwark-loadgen` executable calls either one.
#include "kafka/client.hpp"
#include "loadgen/fleet.hpp"
#include "loadgen/options.hpp"

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

namespace bulwark::loadgen {

/// What to run.
struct run_options {
  options fleet;                   ///< the fleet model; `fleet.clock_rate` 0 follows `rate`
  double rate = 0;                 ///< target events per wall second; 0 = as fast as possible [0]
  std::uint64_t events = 0;        ///< stop after this many events; 0 = no limit [0]
  double seconds = 0;              ///< stop after this many wall seconds; 0 = no limit [0]
  std::string topic = "telemetry"; ///< Kafka topic [telemetry]
  std::int64_t progress_every_ms = 1000; ///< wall time between progress reports [1s]
};

/// Counters of a run so far.
struct run_stats {
  std::uint64_t events = 0;      ///< events written or queued
  std::uint64_t bytes = 0;       ///< their values' bytes
  std::uint64_t attacked = 0;    ///< events that carry at least one planted attack
  std::uint64_t queue_full = 0;  ///< times the Kafka queue pushed back
  double elapsed_s = 0;          ///< wall time since the start
  std::int64_t simulated_ms = 0; ///< simulated time covered (last ts − start)
};

/// The end of a run: its counters and, when it failed, why.
struct run_outcome {
  run_stats stats;
  std::optional<std::string> error; ///< nothing: it ran to its limit or was stopped
  bool broken_pipe = false;         ///< the output's reader went away (not a failure for a CLI)
};

/// Called for each event that carries an attack (labels of clean events are empty).
using label_sink = std::function<void(const label&)>;
/// Called every `progress_every_ms` and once at the end.
using progress_sink = std::function<void(const run_stats&)>;

/// The fleet options a run actually uses: `clock_rate` 0 becomes `rate`, or
/// 1000 when the run is unpaced.
options effective_fleet_options(const run_options& run);

/// Writes events as NDJSON to `out` and, when `labels` is not null, the
/// ground truth as NDJSON to `labels`. The header signature form cannot be
/// written to a stream (error). Stops at the limits or when `stop` is set.
run_outcome run_to_stream(const run_options& run, std::FILE* out, std::FILE* labels,
                          const std::atomic<bool>& stop, const progress_sink& progress = {});

/// Produces events to `run.topic` through `producer`, keyed by source, with
/// the event time as the record timestamp and, in the header form, the
/// `bw-sig` header. Waits (polling) when librdkafka's queue is full; flushes
/// at the end (up to 30 s). Delivery failures reach the producer's own
/// delivery handler, which the caller owns.
run_outcome run_to_kafka(const run_options& run, kafka::producer& producer,
                         const std::atomic<bool>& stop, const label_sink& labels = {},
                         const progress_sink& progress = {});

} // namespace bulwark::loadgen
