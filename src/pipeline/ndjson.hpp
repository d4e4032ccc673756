#pragma once
/// `bulwark scan`'s engine: NDJSON in, exactly one NDJSON line out per input
/// line, in input order, using every worker thread.
///
///   reader (calling thread) ─▶ batches ─▶ workers (processor each) ─▶ writer (in order)
///
/// Invariants:
///  1. Output line i corresponds to input line i, whatever the worker count.
///  2. Memory is bounded: at most `2 × workers + 2` batches exist, each about
///     `batch_bytes` plus at most one over-long line, which is kept only up to
///     `4 × limits.max_event_bytes` (the rest is counted, not stored).
///  3. A line longer than that is still rejected whole; its DLQ record holds the
///     kept prefix, `"truncated":true` and its real size in `bytes`.
#include "config/options.hpp"
#include "drift/monitor.hpp"
#include "pipeline/processor.hpp"

#include <atomic>
#include <optional>
#include <string>

namespace bulwark::alert {
class alert_sink;
} // namespace bulwark::alert

namespace bulwark::pipeline {

/// File descriptors the scan reads and writes; -1 means "not wanted" (the
/// records are then counted only).
struct ndjson_io {
  int in = 0;
  int out = 1;
  int dlq = -1;
  int quarantine = -1;
  int alerts = -1;           ///< alerts (NDJSON); -1: counted only
  int audit = -1;            ///< the audit chain (NDJSON); -1: no chain
  std::string in_name = "-"; ///< for error messages
  /// When set (by a SIGINT/SIGTERM handler), reading stops at the next batch
  /// boundary or interrupted read; what was read is processed and written.
  const std::atomic<bool>* stop = nullptr;
  /// Every alert record also goes here (the Alertmanager forwarder), on the
  /// writer thread; it must not block. Not owned.
  alert::alert_sink* also = nullptr;
};

struct ndjson_result {
  stats totals;
  std::uint64_t alerts = 0;      ///< alert records emitted
  std::uint64_t quarantined = 0; ///< records the stateful stage quarantined
  std::uint64_t audit_records = 0;
  /// The drift monitor's counters (late, future, untracked events …) when
  /// drift features are configured.
  std::optional<drift::counters> drift;
  bool stopped = false; ///< input was cut short by `stop`
  std::uint64_t lines = 0;
  std::uint64_t bytes_read = 0; ///< input bytes, newlines included
  double seconds = 0;
  std::string error;         ///< empty on success; else what failed (I/O), naming the file
  bool config_error = false; ///< `error` is about the configuration (exit 2)
};

struct ndjson_tuning {
  std::size_t batch_bytes =
      std::size_t{256} * 1024; ///< bytes of input per batch handed to a worker
};

/// `rules` may be null: events are then validated and passed through.
ndjson_result run_ndjson(const config::options& opts, const ndjson_io& io,
                         const std::shared_ptr<const scan::ruleset>& rules = nullptr,
                         ndjson_tuning tuning = {});

} // namespace bulwark::pipeline
