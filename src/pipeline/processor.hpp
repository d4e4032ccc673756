#pragma once
/// The path of one record, independent of where it came from (NDJSON file in
/// `scan`, Kafka record in `run`):
///
///   size guard ─▶ parse + walk (json::walker) ─▶ [scan ─▶ splice] ─▶ annotate
///
/// Invariants:
///  1. Every input record yields exactly one outcome: an output event or a
///     placeholder, plus a DLQ/quarantine record when it was not accepted.
///  2. An event with no finding is emitted byte-identical to its input.
///  3. One processor per worker thread; it owns all per-record scratch, so the
///     steady state allocates nothing per record.
#include "config/options.hpp"
#include "core/verdict.hpp"

#include "json/walk.hpp"
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::pipeline {

/// Counters one worker keeps; summed by the driver. Plain integers: each
/// processor is used by one thread only.
struct stats {
  std::uint64_t records = 0;
  std::uint64_t bytes_in = 0;
  std::uint64_t bytes_out = 0;
  std::array<std::uint64_t, 5> by_verdict{};         ///< indexed by bulwark::verdict
  std::array<std::uint64_t, 9> rejected_by_reason{}; ///< indexed by json::error

  void add(const stats& other) noexcept;
  std::uint64_t count(verdict v) const noexcept { return by_verdict[static_cast<int>(v)]; }
};

/// Where a record came from, for placeholders and DLQ records.
struct origin {
  std::uint64_t line = 0; ///< 1-based line number (scan)
};

/// What a record's input looked like beyond the bytes handed over.
struct raw_info {
  std::size_t readable_after = 0; ///< bytes readable after the line (for in-place parsing)
  std::uint64_t full_size = 0;    ///< the record's real size when the bytes were cut short
  bool truncated = false;         ///< only a prefix of the record was kept (it is too large)
};

class processor {
public:
  explicit processor(const config::options& opts);

  /// Processes one record. Appends the output line (no newline) to `out`; when
  /// the record is rejected, appends its DLQ record (no newline) to `dlq`.
  verdict process(std::string_view record, const raw_info& info, const origin& from,
                  std::string& out, std::string& dlq);

  const stats& counters() const noexcept { return stats_; }

private:
  void reject(json::error why, std::string_view record, const raw_info& info, const origin& from,
              std::string& out, std::string& dlq);

  /// Collects the string values of the current record for the scanners.
  class string_collector final : public json::visitor {
  public:
    bool on_value(const json::value_ref& v) override;
    std::size_t strings = 0;
  };

  json::walker walker_;
  string_collector collector_;
  stats stats_;
};

/// Appends the placeholder line for a record that produced no event.
void append_placeholder(std::string& out, verdict v, std::string_view reason, const origin& from);

/// Appends a DLQ/quarantine record: {"line":N,"reason":"…","raw":"…"}.
void append_dead_letter(std::string& out, std::string_view reason, std::string_view raw,
                        const raw_info& info, const origin& from);

} // namespace bulwark::pipeline
