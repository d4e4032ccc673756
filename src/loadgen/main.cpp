// bulwark-loadgen: parse, then run until the limits or SIGINT/SIGTERM.
#include "loadgen/cli.hpp"

#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>

namespace {

std::atomic<bool> stop_requested{false};
static_assert(std::atomic<bool>::is_always_lock_free, "set from a signal handler");

extern "C" void on_signal(int /*signal*/) {
  stop_requested.store(true);
}

} // namespace

int main(int argc, char** argv) {
  // A closed pipe (`| head`) must end the run quietly, not kill it mid-write.
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);

  const bulwark::loadgen::cli_parse parsed = bulwark::loadgen::parse_command_line(argc, argv);
  if (parsed.exit_code) {
    std::fputs(parsed.message.c_str(), *parsed.exit_code == 0 ? stdout : stderr);
    std::fputc('\n', *parsed.exit_code == 0 ? stdout : stderr);
    return *parsed.exit_code;
  }
  try {
    return bulwark::loadgen::run_cli(parsed.config, stop_requested);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bulwark-loadgen: %s\n", e.what());
    return 1;
  }
}
