// The composition root: parse the command line, hand over to one subcommand.
#include "app/cli.hpp"
#include "core/allocator.hpp"

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
  scan_cmd->add_option("--audit", scan.audit,
                       "Write the audit chain (NDJSON, SPEC §5) to this file; needs an audit key");

  bulwark::app::run_args run;
  CLI::App* run_cmd =
      cli.add_subcommand("run", "The service: Kafka in, Kafka out (embedded cluster by default)");
  run_cmd->add_option("-c,--config", run.config, "Configuration file (YAML); default: built-in");
  run_cmd->add_flag("--relay", run.relay,
                    "Benchmarks only: relay records unprocessed (the bare-relay baseline)");

  bulwark::app::demo_args demo;
  CLI::App* demo_cmd = cli.add_subcommand(
      "demo", "Embedded Kafka + a simulated fleet with every attack + the service, with progress");
  demo_cmd->add_option("--seconds", demo.seconds, "How long the fleet sends")
      ->capture_default_str();
  demo_cmd->add_option("--rate", demo.rate, "Events per second")->capture_default_str();

  bulwark::app::broker_args broker;
  CLI::App* broker_cmd =
      cli.add_subcommand("broker", "The embedded Kafka cluster in its own process; stdin: down B | "
                                   "up B | slow B MS | topic NAME:P | fail-produce N CODE | "
                                   "fail-commit N CODE | quit");
  broker_cmd->add_option("--brokers", broker.brokers, "Number of brokers")->capture_default_str();
  broker_cmd
      ->add_option("--partitions", broker.partitions, "Partitions of a --topic without a count")
      ->capture_default_str();
  broker_cmd->add_option("--topic", broker.topics, "Create topic NAME:PARTITIONS (repeatable)");

  bulwark::app::verify_args verify;
  CLI::App* verify_cmd = cli.add_subcommand(
      "verify",
      "Verify an audit chain (exit 0 intact, 1 altered, 2 usage); --receipt proves an event");
  verify_cmd->add_option("-c,--config", verify.config, "Configuration file (YAML): the keys");
  verify_cmd->add_option("--audit", verify.audit, "The audit chain file (NDJSON)");
  verify_cmd->add_option("--topic", verify.topic, "The audit topic (kafka.brokers)");
  verify_cmd->add_option("--receipt", verify.receipt,
                         "Prove that the event with this SHA-256 digest (hex) is included");

  bulwark::app::drift_args drift;
  CLI::App* drift_cmd = cli.add_subcommand("drift", "Drift references");
  drift_cmd->require_subcommand(1);
  CLI::App* drift_baseline = drift_cmd->add_subcommand(
      "baseline", "Build a frozen drift reference (drift.features) from a stream of events");
  drift_baseline->add_option("-c,--config", drift.config, "Configuration file (YAML)");
  drift_baseline->add_option("--in", drift.in, "Input NDJSON, or - for stdin")
      ->capture_default_str();
  drift_baseline->add_option("--out", drift.out, "The reference file to write")->required();

  bulwark::app::rules_args rules;
  CLI::App* rules_cmd = cli.add_subcommand("rules", "Compile, check and try the redaction rules");
  rules_cmd->require_subcommand(1);
  CLI::App* rules_check = rules_cmd->add_subcommand(
      "check", "Compile every rule and run every rule's examples (exit 1 if one fails)");
  rules_check->add_option("-c,--config", rules.config, "Configuration file (YAML)");
  CLI::App* rules_test =
      rules_cmd->add_subcommand("test", "Show which rules match TEXT and the redacted text");
  rules_test->add_option("-c,--config", rules.config, "Configuration file (YAML)");
  rules_test->add_option("text", rules.text, "The text to scan")->required();

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

  // The commands that run librdkafka clients (or its embedded cluster) keep
  // freed buffers mapped instead of trimming them per batch
  // (core/allocator.hpp); `scan` and the tools keep glibc's defaults.
  if (run_cmd->parsed() || demo_cmd->parsed() || broker_cmd->parsed())
    (void)bulwark::core::tune_allocator();

  // Nothing on the per-record path throws; what can (allocation, the standard
  // library at start-up) ends the run as a runtime failure with its reason.
  try {
    if (scan_cmd->parsed()) return bulwark::app::scan_command(scan);
    if (run_cmd->parsed()) return bulwark::app::run_command(run);
    if (demo_cmd->parsed()) return bulwark::app::demo_command(demo);
    if (broker_cmd->parsed()) return bulwark::app::broker_command(broker);
    if (verify_cmd->parsed()) return bulwark::app::verify_command(verify);
    if (drift_baseline->parsed()) return bulwark::app::drift_baseline_command(drift);
    if (rules_check->parsed()) return bulwark::app::rules_check_command(rules);
    if (rules_test->parsed()) return bulwark::app::rules_test_command(rules);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bulwark: %s\n", e.what());
    return bulwark::app::runtime_failure;
  }
  return bulwark::app::bad_usage;
}
