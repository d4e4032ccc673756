#include "pipeline/ndjson.hpp"

#include "pipeline/detectors.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace bulwark::pipeline {
namespace {

/// A growable byte buffer that always keeps `padding` readable bytes after its
/// contents, so lines can be parsed in place by simdjson.
class padded_buffer {
public:
  explicit padded_buffer(std::size_t padding) : padding_(padding) {}
  char* data() noexcept { return data_.get(); }
  const char* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return capacity_; }
  void clear() noexcept { size_ = 0; }
  /// Makes room for `more` bytes past size() (plus the padding).
  void reserve_more(std::size_t more) {
    const std::size_t need = size_ + more + padding_;
    if (need <= capacity_) return;
    const std::size_t cap = std::max(need, capacity_ * 2);
    auto next = std::make_unique<char[]>(cap);
    if (size_ != 0) std::memcpy(next.get(), data_.get(), size_);
    data_ = std::move(next);
    capacity_ = cap;
  }
  void append(const char* p, std::size_t n) {
    reserve_more(n);
    std::memcpy(data_.get() + size_, p, n);
    size_ += n;
  }
  void grow_by(std::size_t n) noexcept { size_ += n; }
  void truncate(std::size_t n) noexcept { size_ = n; }

private:
  std::unique_ptr<char[]> data_;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
  std::size_t padding_;
};

struct line_span {
  std::size_t begin;
  std::size_t size;
  std::uint64_t full_size; ///< differs from size only when truncated
  bool truncated;
};

struct batch {
  explicit batch(std::size_t padding) : data(padding) {}
  padded_buffer data;
  std::vector<line_span> lines;
  std::uint64_t first_line = 1;
  std::string out;
  std::string dlq;
  std::vector<record_facts> facts;      ///< one per line (the stateful stage's input)
  std::vector<std::size_t> out_offsets; ///< where each line's output starts in `out`
  enum class state : std::uint8_t { free, filled, done } st = state::free;
};

bool write_all(int fd, const char* p, std::size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

/// Splits the input stream into batches of whole lines.
class line_reader {
public:
  line_reader(int fd, std::size_t keep_cap, const std::atomic<bool>* stop)
      : fd_(fd), keep_cap_(keep_cap), carry_(0), stop_(stop) {}

  bool stopped() const noexcept { return stop_ != nullptr && stop_->load(); }

  /// Fills `b` with whole lines (about `target` bytes). Returns false on a read
  /// error (errno kept). `b.lines` is empty at end of input.
  bool fill(batch& b, std::size_t target) {
    b.data.clear();
    b.lines.clear();
    if (carry_.size() != 0) {
      b.data.append(carry_.data(), carry_.size());
      carry_.clear();
    }
    std::size_t line_start = 0; // start of the current, unfinished line in b.data
    std::size_t scan_from = 0;
    for (;;) {
      // Cut every complete line in what we have.
      while (scan_from < b.data.size()) {
        const char* base = b.data.data();
        const void* nl = std::memchr(base + scan_from, '\n', b.data.size() - scan_from);
        if (nl == nullptr) {
          scan_from = b.data.size();
          break;
        }
        const auto end = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
        add_line(b, line_start, end);
        line_start = scan_from = end + 1;
      }
      if (line_start >= target && !b.lines.empty()) break;
      if (eof_) {
        if (line_start < b.data.size()) add_line(b, line_start, b.data.size());
        line_start = b.data.size();
        break;
      }
      // An over-long line: keep a prefix, count the rest, skip to its newline.
      if (b.data.size() - line_start > keep_cap_) {
        if (!skip_long_line(b, line_start)) return false;
        line_start = scan_from = b.data.size();
        if (line_start >= target) break;
        continue;
      }
      constexpr std::size_t chunk = std::size_t{64} * 1024;
      b.data.reserve_more(chunk);
      if (stopped()) {
        eof_ = true;
        continue;
      }
      const ssize_t n = ::read(fd_, b.data.data() + b.data.size(), chunk);
      if (n < 0) {
        if (errno == EINTR) continue; // the next turn sees a stop request
        return false;
      }
      if (n == 0) {
        eof_ = true;
        continue;
      }
      b.data.grow_by(static_cast<std::size_t>(n));
      strip_bom(b, line_start);
    }
    // Keep the unfinished tail for the next batch.
    if (line_start < b.data.size()) {
      carry_.append(b.data.data() + line_start, b.data.size() - line_start);
      b.data.truncate(line_start);
    }
    return true;
  }

  std::uint64_t bytes_read() const noexcept { return bytes_; }

private:
  void add_line(batch& b, std::size_t begin, std::size_t end) {
    bytes_ += end - begin + 1;
    std::size_t size = end - begin;
    if (size != 0 && b.data.data()[begin + size - 1] == '\r') --size; // CRLF
    b.lines.push_back({begin, size, size, false});
  }

  // A UTF-8 byte order mark at the very start of the stream is not part of the
  // first event.
  void strip_bom(batch& b, std::size_t line_start) {
    if (bom_checked_ || b.data.size() - line_start < 3) return;
    bom_checked_ = true;
    const char* p = b.data.data() + line_start;
    if (std::memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
      std::memmove(b.data.data() + line_start, p + 3, b.data.size() - line_start - 3);
      b.data.truncate(b.data.size() - 3);
      bytes_ += 3;
    }
  }

  /// Keeps keep_cap bytes of the line at `start`, drops the rest up to and
  /// including its newline, and records the line as truncated.
  bool skip_long_line(batch& b, std::size_t start) {
    std::uint64_t full = b.data.size() - start;
    b.data.truncate(start + keep_cap_);
    char buf[64 * 1024];
    for (;;) {
      const ssize_t n = ::read(fd_, buf, sizeof buf);
      if (n < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      if (n == 0) {
        eof_ = true;
        break;
      }
      const void* nl = std::memchr(buf, '\n', static_cast<std::size_t>(n));
      if (nl == nullptr) {
        full += static_cast<std::uint64_t>(n);
        continue;
      }
      const auto upto = static_cast<std::size_t>(static_cast<const char*>(nl) - buf);
      full += upto;
      carry_.append(buf + upto + 1, static_cast<std::size_t>(n) - upto - 1);
      break;
    }
    bytes_ += full + 1;
    b.lines.push_back({start, keep_cap_, full, true});
    return true;
  }

  int fd_;
  std::size_t keep_cap_;
  padded_buffer carry_;
  const std::atomic<bool>* stop_;
  bool eof_ = false;
  bool bom_checked_ = false;
  std::uint64_t bytes_ = 0;
};

} // namespace

ndjson_result run_ndjson(const config::options& opts, const ndjson_io& io,
                         const std::shared_ptr<const scan::ruleset>& rules, ndjson_tuning tuning) {
  const auto started = std::chrono::steady_clock::now();
  const int workers = opts.effective_workers();
  const std::size_t padding = json::walker::required_padding();
  const std::size_t slots = 2 * static_cast<std::size_t>(workers) + 2;
  const std::size_t keep_cap = 4 * opts.limits.max_event_bytes;

  std::vector<std::unique_ptr<batch>> ring;
  ring.reserve(slots);
  for (std::size_t i = 0; i < slots; ++i)
    ring.push_back(std::make_unique<batch>(padding));

  std::mutex mu;
  std::condition_variable cv_reader, cv_worker, cv_writer;
  std::deque<std::uint64_t> work; // filled batch sequence numbers
  std::uint64_t total_batches = 0;
  bool input_done = false;
  bool failed = false;
  std::string failure;

  ndjson_result result;
  const fact_spec spec(opts);
  detectors::options dopts;
  dopts.audit = io.audit >= 0;
  dopts.also = io.also;
  auto made = detectors::make(opts, spec, dopts);
  if (auto* e = std::get_if<std::string>(&made)) {
    result.error = *e;
    result.config_error = true;
    return result;
  }
  std::unique_ptr<detectors> stage = std::move(std::get<std::unique_ptr<detectors>>(made));
  processor side(opts, rules); // the writer's own, for quarantined records' dead letters
  std::string final_out, quarantine_out, redacted;
  std::array<std::int64_t, 5> verdict_adjust{}; ///< the stage's quarantines, by worker verdict

  std::vector<processor> processors;
  processors.reserve(static_cast<std::size_t>(workers));
  for (int i = 0; i < workers; ++i)
    processors.emplace_back(opts, rules);

  auto fail = [&](std::string what) {
    std::lock_guard lock(mu);
    if (!failed) failure = std::move(what);
    failed = true;
    cv_reader.notify_all();
    cv_worker.notify_all();
    cv_writer.notify_all();
  };

  auto worker_loop = [&](processor& proc) {
    for (;;) {
      std::uint64_t seq = 0;
      {
        std::unique_lock lock(mu);
        cv_worker.wait(lock, [&] { return failed || !work.empty() || input_done; });
        if (failed || work.empty()) return;
        seq = work.front();
        work.pop_front();
      }
      batch& b = *ring[seq % slots];
      b.out.clear();
      b.dlq.clear();
      b.out_offsets.clear();
      if (b.facts.size() < b.lines.size()) b.facts.resize(b.lines.size());
      std::uint64_t line_no = b.first_line;
      // A few dozen lines at a time: their values are scanned together.
      for (std::size_t first = 0; first < b.lines.size();) {
        std::size_t end = first, bytes = 0;
        while (end < b.lines.size() && end - first < processor::batch_records &&
               (end == first || bytes < processor::batch_bytes)) {
          const line_span& l = b.lines[end];
          const raw_info info{b.data.capacity() - (l.begin + l.size), l.full_size, l.truncated};
          proc.prepare(std::string_view(b.data.data() + l.begin, l.size), info, origin{line_no++},
                       spec, b.facts[end]);
          bytes += l.size;
          ++end;
        }
        for (; first < end; ++first) {
          const std::size_t dlq_before = b.dlq.size();
          b.out_offsets.push_back(b.out.size());
          proc.finish(b.out, b.dlq);
          b.out += '\n';
          if (b.dlq.size() != dlq_before) b.dlq += '\n';
        }
      }
      {
        std::lock_guard lock(mu);
        b.st = batch::state::done;
      }
      cv_writer.notify_one();
    }
  };

  auto flush_stage = [&]() -> bool {
    stage_outputs& so = stage->outputs();
    result.alerts += so.alert_count;
    result.audit_records += so.audit_count;
    so.alert_count = so.audit_count = 0;
    if (io.alerts >= 0 && !so.alerts.empty() &&
        !write_all(io.alerts, so.alerts.data(), so.alerts.size())) {
      fail(std::string("--alerts: write failed: ") + std::strerror(errno));
      return false;
    }
    if (io.audit >= 0 && !so.audit.empty() &&
        !write_all(io.audit, so.audit.data(), so.audit.size())) {
      fail(std::string("--audit: write failed: ") + std::strerror(errno));
      return false;
    }
    so.clear();
    return true;
  };

  auto writer_loop = [&] {
    for (std::uint64_t seq = 0;; ++seq) {
      batch* b = nullptr;
      {
        std::unique_lock lock(mu);
        cv_writer.wait(lock, [&] {
          return failed || (input_done && seq >= total_batches) ||
                 ring[seq % slots]->st == batch::state::done;
        });
        if (failed || (input_done && seq >= total_batches)) return;
        b = ring[seq % slots].get();
      }
      // The stateful stage, in input order: it may quarantine a record or
      // re-annotate it, and it emits alerts and audit records.
      final_out.clear();
      quarantine_out.clear();
      // The worker's output stands unless the stage changes a line: only
      // then is it copied, up to that line, and rebuilt from there on.
      bool rewritten = false;
      // The stage's outputs are not cleared here: flush_stage() drains them
      // after every batch, and anything made before the first batch (the
      // audit records of a loaded drift reference) must reach the files.
      for (std::size_t i = 0; i < b->lines.size(); ++i) {
        const line_span& l = b->lines[i];
        const std::size_t begin = b->out_offsets[i];
        const std::size_t end = i + 1 < b->lines.size() ? b->out_offsets[i + 1] : b->out.size();
        const std::string_view line(b->out.data() + begin, end - begin - 1); // without '\n'
        const std::string_view raw(b->data.data() + l.begin, l.size);
        const origin from(b->first_line + i);
        input_ref ref;
        ref.line = static_cast<std::int64_t>(from.line);
        const stage_decision d =
            stage->observe(b->facts[i], raw, line, ref, std::nullopt, std::nullopt, 0);
        const bool changed = d.quarantine || d.reannotate(b->facts[i]);
        if (!changed && !rewritten) continue;
        if (!rewritten) {
          final_out.append(b->out.data(), begin);
          rewritten = true;
        }
        if (d.quarantine) {
          ++result.quarantined;
          --verdict_adjust[static_cast<int>(b->facts[i].v)];
          append_placeholder(final_out, verdict::quarantined, d.reason, from);
          redacted.clear();
          side.redact_side_text(raw, redacted);
          append_dead_letter(quarantine_out, d.reason, redacted.empty() ? raw : redacted,
                             raw_info{0, l.full_size, l.truncated}, from);
          quarantine_out += '\n';
        } else if (d.reannotate(b->facts[i])) {
          reannotate(final_out, line, b->facts[i], d);
        } else {
          final_out.append(line);
        }
        final_out += '\n';
      }
      stage->tick(stage->now());
      if (rewritten) b->out.swap(final_out);
      if (io.quarantine >= 0 && !quarantine_out.empty() &&
          !write_all(io.quarantine, quarantine_out.data(), quarantine_out.size())) {
        fail(std::string("--quarantine: write failed: ") + std::strerror(errno));
        return;
      }
      if (!flush_stage()) return;
      if (!write_all(io.out, b->out.data(), b->out.size())) {
        fail(std::string("--out: write failed: ") + std::strerror(errno));
        return;
      }
      if (io.dlq >= 0 && !b->dlq.empty() && !write_all(io.dlq, b->dlq.data(), b->dlq.size())) {
        fail(std::string("--dlq: write failed: ") + std::strerror(errno));
        return;
      }
      {
        std::lock_guard lock(mu);
        b->st = batch::state::free;
      }
      cv_reader.notify_one();
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(workers) + 1);
  for (auto& p : processors)
    threads.emplace_back(worker_loop, std::ref(p));
  threads.emplace_back(writer_loop);

  line_reader reader(io.in, keep_cap, io.stop);
  std::uint64_t next_line = 1;
  for (std::uint64_t seq = 0;; ++seq) {
    batch* b = nullptr;
    {
      std::unique_lock lock(mu);
      cv_reader.wait(lock, [&] { return failed || ring[seq % slots]->st == batch::state::free; });
      if (failed) break;
      b = ring[seq % slots].get();
    }
    if (!reader.fill(*b, tuning.batch_bytes)) {
      fail(io.in_name + ": read failed: " + std::strerror(errno));
      break;
    }
    if (b->lines.empty()) break;
    b->first_line = next_line;
    next_line += b->lines.size();
    {
      std::lock_guard lock(mu);
      b->st = batch::state::filled;
      work.push_back(seq);
      total_batches = seq + 1;
    }
    cv_worker.notify_one();
  }
  {
    std::lock_guard lock(mu);
    input_done = true;
  }
  cv_worker.notify_all();
  cv_writer.notify_all();
  for (auto& t : threads)
    t.join();

  if (!failed) {
    // End of input: open windows close and pending alerts are emitted (SPEC §3).
    stage->finish(stage->now());
    flush_stage();
  }
  if (const drift::counters* d = stage->drift_stats()) result.drift = *d;
  for (const auto& p : processors)
    result.totals.add(p.counters());
  // Quarantined records were counted under their scan verdict by the workers.
  result.totals.by_verdict[static_cast<int>(verdict::quarantined)] += result.quarantined;
  for (std::size_t v = 0; v < verdict_adjust.size(); ++v)
    result.totals.by_verdict[v] = static_cast<std::uint64_t>(
        static_cast<std::int64_t>(result.totals.by_verdict[v]) + verdict_adjust[v]);
  result.lines = next_line - 1;
  if (result.error.empty()) result.error = failure;
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  result.bytes_read = reader.bytes_read();
  result.stopped = reader.stopped();
  return result;
}

} // namespace bulwark::pipeline
