#pragma once
// Private to src/scan/: what a ruleset holds behind its public face.
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

struct ruleset::impl {
  hs_database_ptr raw;                         ///< rules on the raw form; null when there are none
  hs_database_ptr normalized;                  ///< rules on the normalized (lower-case) form
  hs_scratch_ptr prototype;                    ///< scratch big enough for both; scanners clone it
  std::vector<std::unique_ptr<re2::RE2>> span; ///< per rule: finds its matches and group
                                               ///< (null for rules without a pattern)
  prompt_index prompts;                        ///< registered system prompts
  std::vector<std::uint32_t> prompt_rule;      ///< prompt id -> rule index
};

} // namespace bulwark::scan
