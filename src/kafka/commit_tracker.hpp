#pragma once
/// What may be committed for one input partition: the contiguous delivered
/// watermark. A pure class (no Kafka), shared by the worker that consumes the
/// partition and the thread that serves delivery reports.
///
///   worker:  begin(offset, outputs)  ─▶ produce each output with a token
///   reports: delivered(offset)       ─▶ once per output, success only
///   worker:  committable()           ─▶ commit it (the next offset to consume)
///
/// Invariants:
///  1. An offset is committable only when it and every offset begun before it
///     have had all their outputs delivered: a commit never skips a record
///     whose output might still be lost.
///  2. Offsets are begun in increasing order (a partition is consumed in
///     order); gaps between them (compaction, transaction markers) are fine.
///  3. Memory is one small entry per record in flight; the worker bounds how
///     many are in flight through the producer queue.
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>

namespace bulwark::kafka {

class partition_tracker {
public:
  /// Registers record `offset` with `outputs` (≥ 1) records to deliver.
  /// Offsets must increase; a record with no output is begun with 1 and
  /// delivered at once by the caller.
  void begin(std::int64_t offset, std::uint32_t outputs);
  /// One output of record `offset` was delivered. False when the offset is not
  /// in flight (a stale report after the partition was released).
  bool delivered(std::int64_t offset);
  /// The offset to commit (last fully delivered contiguous record + 1) when it
  /// moved since the last call; nothing otherwise.
  std::optional<std::int64_t> committable();
  /// A commit of `offset` (an earlier committable()) was refused: the next
  /// committable() offers the watermark again even if it has not moved, so a
  /// partition whose input has gone quiet still gets its commit.
  void refused(std::int64_t offset);
  /// The offset to commit now, whether or not it moved (for a final commit).
  std::optional<std::int64_t> watermark() const;
  /// Records begun and not fully delivered.
  std::size_t in_flight() const;

private:
  struct entry {
    std::int64_t offset;
    std::uint32_t remaining;
  };
  mutable std::mutex mutex_;
  std::deque<entry> entries_;
  std::optional<std::int64_t> watermark_;     ///< next offset to consume
  std::optional<std::int64_t> last_reported_; ///< what committable() last returned
  std::int64_t last_begun_ = -1;
};

} // namespace bulwark::kafka
