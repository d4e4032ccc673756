#pragma once
/// The `bulwark-loadgen` command line, parsed apart from `main` so that tests
/// can check every option and every refusal without running a process.
#include "loadgen/runner.hpp"

#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace bulwark::loadgen {

/// Everything the command line decides.
struct cli_config {
  run_options run;
  std::string out = "-";                         ///< NDJSON events: a path or - for stdout
  std::string labels;                            ///< ground truth NDJSON path; empty: none
  std::string brokers;                           ///< non-empty: produce to Kafka instead of `out`
  std::map<std::string, std::string> properties; ///< librdkafka properties (--property k=v)
  bool quiet = false;                            ///< no progress on stderr
};

/// The result of parsing: run `config`, or exit at once with `exit_code`
/// (0 after --help, 2 for bad usage) printing `message` (to stdout for help,
/// stderr otherwise).
struct cli_parse {
  std::optional<int> exit_code;
  std::string message;
  cli_config config;
};

/// Parses the arguments (argv[0] is the program name). A bad option or value
/// yields exit code 2 and a message naming the option.
cli_parse parse_command_line(int argc, const char* const* argv);

/// Parses a duration with a unit: `250ms`, `90s`, `5m`, `1h`, `1d` (or a bare
/// `0`). Nothing for anything else.
std::optional<timestamp_ms> parse_duration(std::string_view text) noexcept;

/// Runs the parsed configuration: 0 done or stopped, 1 runtime failure (the
/// reason on stderr), 2 a setting the run itself refuses.
int run_cli(const cli_config& config, const std::atomic<bool>& stop);

} // namespace bulwark::loadgen
