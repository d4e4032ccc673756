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
#include "pipeline/facts.hpp"
#include "pipeline/policy.hpp"
#include "scan/redact.hpp"
#include "scan/scanner.hpp"

#include "json/splice.hpp"
#include "json/walk.hpp"
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
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
  std::array<std::uint64_t, 5> by_verdict{};           ///< indexed by bulwark::verdict
  std::array<std::uint64_t, 9> rejected_by_reason{};   ///< indexed by json::error
  std::array<std::uint64_t, 4> findings_by_category{}; ///< indexed by bulwark::category

  void add(const stats& other) noexcept;
  std::uint64_t count(verdict v) const noexcept { return by_verdict[static_cast<int>(v)]; }
};

/// Where a record came from, for placeholders and DLQ records.
struct origin {
  origin() = default;
  /// A line of an NDJSON input (scan).
  explicit origin(std::uint64_t line_no) noexcept : line(line_no) {}
  /// A Kafka record (run).
  static origin record(std::string_view topic, std::int32_t partition,
                       std::int64_t offset) noexcept {
    origin o;
    o.topic = topic;
    o.partition = partition;
    o.offset = offset;
    return o;
  }

  std::uint64_t line = 0; ///< 1-based line number (scan)
  std::string_view topic; ///< set for a Kafka record (run): then partition and offset count
  std::int32_t partition = -1;
  std::int64_t offset = -1;
};

/// What a record's input looked like beyond the bytes handed over.
struct raw_info {
  std::size_t readable_after = 0; ///< bytes readable after the line (for in-place parsing)
  std::uint64_t full_size = 0;    ///< the record's real size when the bytes were cut short
  bool truncated = false;         ///< only a prefix of the record was kept (it is too large)
};

class processor {
public:
  /// True for the envelope's `/ts` when it has the shape of an RFC 3339
  /// timestamp with at most nine fraction digits: such a value is not scanned
  /// (it cannot hold a finding). A timestamp anywhere else is scanned like
  /// every value.
  static bool envelope_timestamp(std::string_view pointer, std::string_view text) noexcept;
  /// Without a ruleset, events are validated and passed through unchanged.
  explicit processor(const config::options& opts,
                     std::shared_ptr<const scan::ruleset> rules = nullptr);

  /// Processes one record. Appends the output line (no newline) to `out`; when
  /// the record is rejected, appends its DLQ record (no newline) to `dlq`.
  verdict process(std::string_view record, const raw_info& info, const origin& from,
                  std::string& out, std::string& dlq);

  /// Also captures, into `facts`, the fields `spec` names and what a later
  /// stage needs to re-annotate the output (for the stateful detectors).
  verdict process(std::string_view record, const raw_info& info, const origin& from,
                  std::string& out, std::string& dlq, const fact_spec& spec, record_facts& facts);

  /// The same as the process() above, for many records at once: prepare()
  /// walks a record and collects its string values; finish() then emits the
  /// prepared records one by one, in the order they were prepared (the first
  /// call scans the values of all of them together). Sharing one scan among
  /// records shares Hyperscan's fixed cost per call and keeps its databases
  /// warm in the cache. Each record's bytes, `facts` and `spec` must stay valid
  /// until its finish(). Between batches, prepared() is 0.
  void prepare(std::string_view record, const raw_info& info, const origin& from,
               const fact_spec& spec, record_facts& facts);
  verdict finish(std::string& out, std::string& dlq);
  /// Records prepared and not yet finished.
  std::size_t prepared() const noexcept { return pending_.size() - next_finish_; }
  /// How many records, and how many bytes of them, a batch should hold at
  /// most: enough to share the per-call cost, few enough to stay in cache.
  static constexpr std::size_t batch_records = 64;
  static constexpr std::size_t batch_bytes = 256 * 1024;

  /// Replaces the rules and policies (hot reload). Call it between records
  /// only: the record being processed, its key and headers all see one rule
  /// set. Without rules, events pass through unchanged.
  void use_rules(std::shared_ptr<const scan::ruleset> rules,
                 const std::vector<config::policy>& policies);

  const stats& counters() const noexcept { return stats_; }
  /// Redacts a text that travels beside the record (a Kafka key or header
  /// value) as the rules say, invalid UTF-8 replaced. Returns true and fills
  /// `out` when the text had to change; `out` is then what to send instead.
  bool redact_side_text(std::string_view text, std::string& out);
  /// redact_side_text() over many texts, scanned together (a burst of
  /// records' keys and header values): `changed[i]` says whether `out[i]`
  /// holds what to send instead of `texts[i]`. Call it between batches (not
  /// between prepare() and finish()).
  void redact_side_texts(std::span<const std::string_view> texts, std::vector<std::string>& out,
                         std::vector<std::uint8_t>& changed);

  /// Why the last record was rejected (empty when it was not).
  std::string_view last_reason() const noexcept { return last_reason_; }

  /// One finding of the last record, for metrics by rule and by action.
  struct finding_count {
    std::string_view rule; ///< the rule id (owned by the ruleset)
    category cat;
    action act;
    std::uint32_t count; ///< spans matched
  };
  /// Calls `fn(const finding_count&)` for each finding of the last process()
  /// call whose verdict was redacted or flagged (call it only then, and before
  /// redact_side_text(), which reuses the scanner).
  template <class Fn> void for_each_last_finding(Fn&& fn) const {
    if (!scanner_) return;
    for (const auto& f : scanner_->findings) {
      const config::rule_spec& spec = scanner_->rules().rule(f.rule).spec;
      fn(finding_count{spec.id, spec.cat, f.act, f.count});
    }
  }

private:
  void reject(json::error why, std::string_view record, const raw_info& info, const origin& from,
              std::string& out, std::string& dlq);

  /// Collects every string value as the walker reaches it, for the records of
  /// a batch; then scans them all in one pass, and records the edits and
  /// findings of one record at a time.
  class value_scanner final : public json::visitor {
  public:
    value_scanner(std::shared_ptr<const scan::ruleset> rules, policy_set policies);
    bool on_value(const json::value_ref& v) override;
    /// Forgets the batch's values (not the last record's edits and findings).
    void reset();
    /// Marks where the next record's values begin; returns that index.
    std::size_t begin_record() noexcept;
    /// Forgets the values collected since begin_record() (the walk failed).
    void drop_record() noexcept;
    /// One past the last value collected so far.
    std::size_t values_end() const noexcept { return values_.size(); }
    /// Scans every value collected since reset().
    void scan_all();
    /// The edits and findings of the record whose values are [from, to).
    void collect_record(std::size_t from, std::size_t to);
    /// Writes `text` (valid UTF-8) with every finding replaced per its action.
    void redact_text(std::string_view text, std::string& out);
    /// redact_text() for each of `texts` (valid UTF-8), scanned together:
    /// `out[i]` is written, and `changed[i]` set, only where a finding
    /// changed the text (most keys and header values have none, and are
    /// neither copied nor compared).
    void redact_texts(std::span<const std::string_view> texts, std::vector<std::string>& out,
                      std::vector<std::uint8_t>& changed);
    /// `text` with `matches` (its scan's) replaced per their actions, into `out`.
    void rewrite_text(std::string_view text, const std::vector<scan::match>& matches,
                      std::string& out);

    struct pending_edit {
      std::size_t begin, end;
      std::size_t arena_begin, arena_size; ///< replacement bytes in `arena`
      bool remove_member;
    };
    struct finding {
      std::uint32_t rule;
      action act;
      std::string path;
      std::uint32_t count;
    };
    std::vector<pending_edit> edits;
    std::vector<finding> findings;
    std::string arena;     ///< escaped replacement values
    bool redacted = false; ///< some finding replaced or removed text (not only defused)
    const scan::ruleset& rules() const noexcept { return scanner_.rules(); }

  private:
    /// A string value of a record of the batch.
    struct string_value {
      std::size_t begin, end, member_begin;    ///< in its record
      std::size_t pointer_begin, pointer_size; ///< in `pointers_`
      std::size_t text_begin, text_size;       ///< in `text_arena_`
      bool in_object;
    };
    std::vector<string_value> values_;
    std::vector<std::string_view> texts_; ///< views into text_arena_, made by scan_all()
    std::string pointers_;
    std::string text_arena_; ///< the values' decoded texts (a walk reuses its buffer)
    std::size_t mark_values_ = 0, mark_pointers_ = 0, mark_texts_ = 0;
    std::vector<std::vector<scan::match>> matches_;
    std::vector<scan::match> single_;
    std::vector<std::vector<scan::match>> side_matches_; ///< redact_texts()'s
    policy_set policies_;
    std::vector<std::string_view> system_messages_; ///< message pointers whose role is "system"
    scan::scanner scanner_;
    std::vector<action> applied_;
    std::string rewritten_;
  };

  /// Feeds the fact capture, then the scanner, from one walk.
  class fact_visitor final : public json::visitor {
  public:
    void arm(const fact_spec* spec, record_facts* facts, std::string_view line,
             json::visitor* next) noexcept {
      spec_ = spec;
      facts_ = facts;
      line_ = line;
      next_ = next;
    }
    bool on_value(const json::value_ref& v) override;

  private:
    const fact_spec* spec_ = nullptr;
    record_facts* facts_ = nullptr;
    std::string_view line_;
    json::visitor* next_ = nullptr;
  };

  void prepare_impl(std::string_view record, const raw_info& info, const origin& from,
                    const fact_spec* spec, record_facts* facts);
  verdict finish_impl(std::string& out, std::string& dlq);

  /// A record prepared and not yet finished.
  struct pending {
    std::string_view record;
    raw_info info;
    origin from;
    const fact_spec* spec;
    record_facts* facts;
    json::error err;
    std::size_t values_begin, values_end; ///< its string values in the scanner
  };
  std::vector<pending> pending_;
  std::size_t next_finish_ = 0; ///< 0: nothing finished yet, so the batch is not scanned yet

  /// Splices the current record's edits into `spliced_`.
  void splice(std::string_view record);
  /// Appends the spliced record with its `_bulwark` member to `out`.
  void emit_annotation(verdict v, std::string& out);

  json::walker walker_;
  std::optional<value_scanner> scanner_;
  fact_visitor fact_visitor_;
  std::string findings_json_;
  std::vector<json::edit> edits_;
  std::string spliced_;
  std::string raw_text_;     ///< a rejected record made valid UTF-8
  std::string redacted_raw_; ///< ... and redacted, for its dead letter
  std::string side_lossy_;   ///< redact_side_texts(): the invalid texts made valid UTF-8
  std::vector<std::string_view> side_views_;
  std::vector<std::size_t> side_ends_; ///< per text: its end in side_lossy_, or npos (valid)
  std::string annotation_;
  stats stats_;
  std::string_view last_reason_;
};

/// Appends the value of `_bulwark` (SPEC §3): {"v":1,"verdict":…,["integrity":…,]
/// ["trust":"untrusted",]"findings":[`findings_json`]}.
void append_annotation(std::string& out, verdict v, std::optional<std::string_view> integrity,
                       bool untrusted, std::string_view findings_json);

/// Appends the placeholder line for a record that produced no event.
void append_placeholder(std::string& out, verdict v, std::string_view reason, const origin& from);

/// Appends a DLQ/quarantine record: {"line":N,"reason":"…","raw":"…"}, or with
/// "topic","partition","offset" instead of "line" for a Kafka record.
void append_dead_letter(std::string& out, std::string_view reason, std::string_view raw,
                        const raw_info& info, const origin& from);

} // namespace bulwark::pipeline
