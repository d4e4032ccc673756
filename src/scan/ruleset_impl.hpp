#pragma once
// Private to src/scan/: what a ruleset holds behind its public face.
#include "scan/gate.hpp"
#include "scan/prompt_leak.hpp"
#include "scan/ruleset.hpp"

#include <hs/hs.h>
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

struct ruleset::impl {
  /// Rules on the raw form, then on the normalized form, by gate. The
  /// normalized databases are compiled case-insensitively, so a value that
  /// needs nothing but lower-casing is scanned as it is (normalized rules are
  /// written in lower case; RE2 confirms on the lower-cased text).
  std::vector<gated_db> raw;
  std::vector<gated_db> normalized;
  hs_scratch_ptr prototype; ///< scratch big enough for every database; scanners clone it
  std::vector<std::unique_ptr<re2::RE2>> span; ///< per rule: finds its matches and group
                                               ///< (null for rules without a pattern)
  prompt_index prompts;                        ///< registered system prompts
  std::vector<std::uint32_t> prompt_rule;      ///< prompt id -> rule index
};

} // namespace bulwark::scan
