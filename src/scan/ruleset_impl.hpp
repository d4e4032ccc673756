#pragma once
// Private to src/scan/: what a ruleset holds behind its public face.
#include "scan/gate.hpp"
#include "scan/prompt_leak.hpp"
#include "scan/ruleset.hpp"

#include <hs/hs.h>
#include <mutex>
#include <re2/re2.h>

namespace bulwark::scan {

struct hs_database_deleter {
  void operator()(hs_database_t* db) const noexcept { hs_free_database(db); }
};
using hs_database_ptr = std::unique_ptr<hs_database_t, hs_database_deleter>;

struct hs_scratch_deleter {
  void operator()(hs_scratch_t* s) const noexcept { hs_free_scratch(s); }
};
using hs_scratch_ptr = std::unique_ptr<hs_scratch_t, hs_scratch_deleter>;

/// The rules of one text form that share a byte gate (gate.hpp), compiled together.
struct gated_db {
  hs_database_ptr db;
  byte_set gate;            ///< a value is scanned only when it holds one of these bytes
  bool every_value = false; ///< the gate admits every value (rules without a usable gate)
  /// The gate is a keyword one instead: the database holds rules with
  /// proximity keywords, no byte gate and no literal of two bytes or more
  /// (filter.hpp's required_literal), and a value is scanned only when the
  /// form's every-value database (which runs before it and also holds their
  /// keywords, as caseless literals with ids from the rule count on) found one
  /// of them in it. A match is confirmed only with a keyword inside the same
  /// value, so a value without one cannot hold a finding of these rules.
  bool by_keyword = false;
};

/// A rule's span extractor (RE2), compiled on first use. Compiling every
/// rule's was most of start-up (~25 ms of ~90 for the built-in packs), and
/// most rules never match in a given stream. build() has already checked that
/// the pattern parses; a pattern that parses but does not fit RE2's memory
/// budget compiles to nothing, and the scanner then fails closed: the whole
/// value where the rule's filter hit is the match (`rules check` reports it).
class span_extractor {
public:
  explicit span_extractor(std::string pattern) : pattern_(std::move(pattern)) {}

  /// The compiled pattern; null when it does not fit. Thread-safe.
  const re2::RE2* get() const {
    std::call_once(once_, [this] { compile(); });
    return re_.get();
  }
  /// Whether the pattern has a capturing group (the span is its first).
  bool has_group() const {
    get();
    return has_group_;
  }
  /// Why it compiled to nothing (empty when it compiled).
  const std::string& error() const {
    get();
    return error_;
  }

  /// The options every span extractor is compiled with: leftmost-longest,
  /// so the whole secret is found and not a prefix of it.
  static re2::RE2::Options options() {
    re2::RE2::Options o;
    o.set_log_errors(false);
    o.set_longest_match(true);
    return o;
  }

private:
  void compile() const {
    auto re = std::make_unique<re2::RE2>(pattern_, options());
    if (!re->ok()) {
      error_ = re->error();
      return;
    }
    has_group_ = re->NumberOfCapturingGroups() >= 1;
    re_ = std::move(re);
  }

  std::string pattern_;
  mutable std::once_flag once_;
  mutable std::unique_ptr<re2::RE2> re_;
  mutable bool has_group_ = false;
  mutable std::string error_;
};

struct ruleset::impl {
  /// Rules on the raw form, then on the normalized form, by gate. The
  /// normalized databases are compiled case-insensitively, so a value that
  /// needs nothing but lower-casing is scanned as it is (normalized rules are
  /// written in lower case; RE2 confirms on the lower-cased text).
  std::vector<gated_db> raw;
  std::vector<gated_db> normalized;
  hs_scratch_ptr prototype; ///< scratch big enough for every database; scanners clone it
  /// Per rule: finds its matches and group (null for rules without a pattern).
  std::vector<std::unique_ptr<span_extractor>> span;
  prompt_index prompts;                   ///< registered system prompts
  std::vector<std::uint32_t> prompt_rule; ///< prompt id -> rule index
};

} // namespace bulwark::scan
