#pragma once
/// Subcommands of the `bulwark` binary (SPEC §1). Each returns the process exit
/// code: 0 ok, 1 runtime failure, 2 bad usage or bad config.
#include "config/options.hpp"

#include <optional>
#include <string>

namespace bulwark::app {

enum exit_code : int { ok = 0, runtime_failure = 1, bad_usage = 2 };

struct scan_args {
  std::string config; ///< empty: built-in defaults
  std::string in = "-";
  std::string out = "-";
  std::string alerts;
  std::string dlq;
  std::string quarantine;
};

int scan_command(const scan_args& args);

/// Loads the configuration named on the command line (or the defaults when
/// none is given); on error prints `file:line: key: reason` and returns nothing.
std::optional<config::options> load_config(const std::string& path);

} // namespace bulwark::app
