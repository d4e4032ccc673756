// The composition root: parse the command line, hand over to one subcommand.
#include "app/cli.hpp"

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

int main(int argc, char** argv) {
  // Writes to a closed pipe must fail with EPIPE and be reported, not kill us.
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App cli{"bulwark: guards the telemetry of AI systems in production"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", "bulwark 0.1.0");

  bulwark::app::scan_args scan;
  CLI::App* scan_cmd =
      cli.add_subcommand("scan", "Run the pipeline over NDJSON files or stdin/stdout (no Kafka)");
  scan_cmd->add_option("-c,--config", scan.config, "Configuration file (YAML); default: built-in");
  scan_cmd->add_option("--in", scan.in, "Input NDJSON file, or - for stdin")->capture_default_str();
  scan_cmd->add_option("--out", scan.out, "Output NDJSON file, or - for stdout")
      ->capture_default_str();
  scan_cmd->add_option("--alerts", scan.alerts, "Write alerts (NDJSON) to this file");
  scan_cmd->add_option("--dlq", scan.dlq, "Write rejected records (NDJSON) to this file");
  scan_cmd->add_option("--quarantine", scan.quarantine,
                       "Write quarantined records (NDJSON) to this file");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return cli.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return cli.exit(e);
  } catch (const CLI::ParseError& e) {
    cli.exit(e);
    return bulwark::app::bad_usage;
  }

  if (scan_cmd->parsed()) return bulwark::app::scan_command(scan);
  return bulwark::app::bad_usage;
}
