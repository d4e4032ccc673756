#pragma once
/// Hot reload of the rules (SIGHUP, `POST /-/reload`): compiles a new rule set
/// in the background and hands it to the workers between records.
///
///   request() ─▶ reload thread: compile() ─▶ ok: publish generation N+1
///                                          └▶ error: keep generation N
///   worker, before each record: generation() changed? ─▶ current() ─▶ processor::use_rules
///   service (poller thread): take_outcomes() ─▶ audit record, `config` alert, log, metrics
///
/// Invariants:
///  1. A generation is immutable once published and complete: its rules are
///     compiled and their examples checked before any worker can see it, so
///     no record is ever processed by a half-loaded rule set.
///  2. A worker swaps between records only (it asks generation() before a
///     record and keeps what it took for the whole record, key and headers
///     included), so each record sees exactly one generation.
///  3. A failed compile leaves the published generation as it was; the
///     failure is reported once through take_outcomes().
///  4. request() never blocks: requests that arrive while a compile runs fold
///     into one more compile after it, so the files as they are after the
///     last request always win and no request is lost.
///  5. The checks cost the workers one atomic load per record; current()
///     (a mutex and a shared_ptr copy) only runs after a swap.
#include "config/options.hpp"
#include "scan/ruleset.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>
#include <vector>

namespace bulwark::pipeline {

/// One compiled rule set with the policies that go with it.
struct rule_generation {
  std::uint64_t id = 0;                       ///< 1 for the rules the service started with
  std::shared_ptr<const scan::ruleset> rules; ///< null: scanning off
  std::vector<config::policy> policies;
  /// Identifies what was compiled, for the audit record: a JSON object of
  /// names and SHA-256 digests of the rule files (never their content).
  std::string inputs_json = "{}";
};

/// What one compile ended in.
struct reload_outcome {
  bool ok = false;
  std::uint64_t generation = 0; ///< the new one when ok, else the one kept
  std::size_t rules = 0;        ///< rules in that generation
  std::string error;            ///< why it failed (file:line: reason); empty when ok
  std::string trigger;          ///< who asked first ("SIGHUP", "http")
  std::uint64_t requests = 0;   ///< requests this compile answered (folded ones included)
  std::string inputs_json = "{}";
  std::chrono::system_clock::time_point at;
};

class rules_reloader {
public:
  /// Builds a complete generation (rules compiled, examples checked) from the
  /// files as they are now, or says why it cannot. Runs on the reload thread.
  using compile_fn = std::function<std::variant<rule_generation, std::string>()>;

  rules_reloader(rule_generation first, compile_fn compile);
  /// Waits for a compile under way, then stops the reload thread.
  ~rules_reloader();
  rules_reloader(const rules_reloader&) = delete;
  rules_reloader& operator=(const rules_reloader&) = delete;

  /// Asks for a reload (any thread, never blocks; not async-signal-safe: a
  /// signal handler sets a flag that a thread passes on).
  void request(std::string_view trigger);

  /// The id of the published generation (one acquire load).
  std::uint64_t generation() const noexcept { return published_.load(std::memory_order_acquire); }
  /// The published generation.
  std::shared_ptr<const rule_generation> current() const;

  /// Outcomes since the last call, oldest first (at most max_pending_outcomes
  /// kept; older ones are counted in dropped_outcomes()).
  std::vector<reload_outcome> take_outcomes();
  std::uint64_t dropped_outcomes() const;
  /// True while a compile runs or a request waits.
  bool busy() const;

  static constexpr std::size_t max_pending_outcomes = 64;

private:
  void loop();

  compile_fn compile_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::shared_ptr<const rule_generation> current_; ///< under mu_
  std::atomic<std::uint64_t> published_{0};
  std::uint64_t requested_ = 0;          ///< requests so far (under mu_)
  std::uint64_t served_ = 0;             ///< requests answered by a finished compile (under mu_)
  std::string first_trigger_;            ///< of the first request since a compile began (under mu_)
  bool compiling_ = false;               ///< under mu_
  bool stopping_ = false;                ///< under mu_
  std::vector<reload_outcome> outcomes_; ///< under mu_
  std::uint64_t dropped_ = 0;            ///< under mu_
  std::thread thread_;
};

} // namespace bulwark::pipeline
