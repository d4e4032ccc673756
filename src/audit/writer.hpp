#pragma once
/// The audit chain writer (SPEC §5): turns audit events, bulwark's decisions
/// and per-event receipts into record lines (format: audit/record.hpp). It
/// does no I/O and reads no clock: the caller passes times in, writes the
/// returned lines in the order it receives them (one line each, plus `\n`),
/// and decides when to checkpoint from checkpoint_due().
///
///   auto w = std::get<chain_writer>(chain_writer::make(settings, std::move(signer), now));
///   for each consumed event:
///     if (it is an audit event) out(w.append_event(at, ref, receipt, sanitised));
///     if (w.record_receipt(crypto::sha256(raw))) out(w.checkpoint(now, false));
///   periodically (run):  if (w.checkpoint_due(now)) out(w.checkpoint(now, false));
///   at the end:          out(w.checkpoint(now, true));
///
/// Invariants:
///  1. Every returned line extends the chain: index = previous + 1 and prev =
///     the previous record's hash. A line the caller does not write breaks the
///     chain for the verifier, on purpose.
///  2. Pending receipts never exceed `policy.every_events`: once
///     record_receipt() returns true the caller checkpoints before the next
///     receipt (asserted), so memory and checkpoint lines stay bounded.
///  3. Embedded JSON (event, detail) is validated before it is written, so
///     every line the writer returns parses.
///  4. Not thread-safe: one writer per chain; the pipeline serialises calls.
#include "audit/keys.hpp"
#include "audit/record.hpp"
#include "core/alert_request.hpp"
#include "core/json_writer.hpp"
#include "core/time.hpp"
#include "crypto/hmac.hpp"

#include "json/walk.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bulwark::audit {

/// When checkpoints are due. The caller drives it (SPEC §5: every 1,000
/// consumed events and at the end of input in `scan`, every 10 s in `run`).
struct checkpoint_policy {
  /// A checkpoint is due once this many receipts are pending (1..1,000,000).
  /// It also bounds memory (32 bytes per receipt) and the checkpoint line
  /// (about 67 bytes per receipt).
  std::uint64_t every_events = 1000;
  /// A checkpoint is due this long after the previous one (0: never by time).
  timestamp_ms every_ms = 0;
  /// With every_ms: a checkpoint is due by time even when nothing happened
  /// since the last one, so a live chain shows its writer was alive and a
  /// verifier can bound how much of the tail can be missing.
  bool heartbeat = false;

  /// `scan`: every 1,000 events; the end of input is checkpoint(now, true).
  static checkpoint_policy scan() noexcept { return {1000, 0, false}; }
  /// `run`: every 10 s, heartbeats included; at most 10,000 receipts per
  /// checkpoint so that a line stays under ~670 KB (Kafka's default
  /// message.max.bytes is 1 MB).
  static checkpoint_policy run() noexcept { return {10000, 10000, true}; }
};

/// Writer settings (documented defaults; the lead maps them to YAML).
struct writer_settings {
  checkpoint_policy policy = checkpoint_policy::scan();
  /// Limits for the embedded sanitised event and decision details. The
  /// defaults match SPEC §2 `limits`.
  json::limits embedded_limits{};
};

/// Builds the chain's lines. Move-only.
class chain_writer {
public:
  /// A writer for a new chain, or one that continues `resume` (see
  /// resume_point). `start` is the time the interval policy counts from.
  static std::variant<chain_writer, audit_error> make(writer_settings settings,
                                                      checkpoint_signer signer, timestamp_ms start,
                                                      std::optional<chain_head> resume = {});

  /// Counts one consumed event's receipt (SHA-256 of its bytes, every event,
  /// audit events included). True when the count policy says a checkpoint is
  /// due now: call checkpoint() before the next record_receipt().
  [[nodiscard]] bool record_receipt(const crypto::digest& receipt);

  /// True when a checkpoint is due at `now`: enough receipts are pending, or
  /// every_ms has passed since the last checkpoint and something (a receipt,
  /// a record, or with heartbeat nothing at all) waits to be sealed.
  bool checkpoint_due(timestamp_ms now) const noexcept;

  /// An `event` record: the sanitised event (a JSON object; line breaks
  /// between its tokens become spaces so that the record stays one line), where
  /// it came from, and the receipt of its original bytes. Does not count the
  /// receipt: record_receipt() does that for every event.
  std::variant<std::string, audit_error> append_event(timestamp_ms at, const input_ref& ref,
                                                      const crypto::digest& receipt,
                                                      std::string_view sanitised_event);

  /// A `decision` record: `name` ([a-z0-9_.-], 1..64 bytes, e.g.
  /// rules_reloaded) and `detail`, a JSON object built with json_writer.
  std::variant<std::string, audit_error> append_decision(timestamp_ms at, std::string_view name,
                                                         std::string_view detail = "{}");

  /// A signed `checkpoint` over the pending receipts (possibly none) and,
  /// through its `prev`, the whole chain so far. `final` marks a clean end of
  /// this writer's input (end of scan, orderly shutdown).
  std::string checkpoint(timestamp_ms now, bool final);

  /// Where the next record goes (persist it, or read it back from the last
  /// line with resume_point, to continue the chain later).
  const chain_head& head() const noexcept { return head_; }
  /// Receipts counted since the last checkpoint.
  std::size_t pending_receipts() const noexcept { return receipts_.size(); }
  /// The policy this writer was made with.
  const checkpoint_policy& policy() const noexcept { return settings_.policy; }

  chain_writer(chain_writer&&) noexcept = default;
  chain_writer& operator=(chain_writer&&) noexcept = default;
  chain_writer(const chain_writer&) = delete;
  chain_writer& operator=(const chain_writer&) = delete;
  ~chain_writer() = default;

private:
  chain_writer(writer_settings settings, checkpoint_signer signer, timestamp_ms start,
               chain_head head);
  void open_record(json_writer& w, record_type type, timestamp_ms at) const;
  std::string close_record(json_writer& w);
  std::optional<std::string> embeddable(std::string_view json);

  writer_settings settings_;
  checkpoint_signer signer_;
  json::walker walker_;
  chain_head head_;
  std::vector<crypto::digest> receipts_;
  timestamp_ms last_checkpoint_at_;
  std::uint64_t records_since_checkpoint_ = 0;
};

/// The head after `last_line`, the last line of an existing chain: its index
/// + 1 and its hash. The line must parse and match its own hash; verify the
/// whole chain first when it may have been tampered with (verify_chain's
/// `head` gives the same answer). A partial last line (a crash mid-write) is
/// an error: move the file aside rather than cut it.
std::variant<chain_head, audit_error> resume_point(std::string_view last_line);

} // namespace bulwark::audit
