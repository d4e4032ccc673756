#pragma once
/// Subcommands of the `bulwark` binary (SPEC §1). Each returns the process exit
/// code: 0 ok, 1 runtime failure, 2 bad usage or bad config.
#include "config/options.hpp"
#include "scan/ruleset.hpp"

#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace bulwark::http {
class alertmanager_forwarder;
} // namespace bulwark::http

namespace bulwark::app {

enum exit_code : int { ok = 0, runtime_failure = 1, bad_usage = 2 };

struct scan_args {
  std::string config; ///< empty: built-in defaults
  std::string in = "-";
  std::string out = "-";
  std::string alerts;
  std::string dlq;
  std::string quarantine;
  std::string audit;
};

int scan_command(const scan_args& args);

struct run_args {
  std::string config;
  /// Benchmarks only: pass every record through unprocessed (same consumers,
  /// producer, settings and commit discipline) to measure what Kafka costs.
  bool relay = false;
};
int run_command(const run_args& args);

struct broker_args {
  int brokers = 3;
  int partitions = 8;              ///< for --topic NAME without :PARTITIONS
  std::vector<std::string> topics; ///< NAME:PARTITIONS
};
int broker_command(const broker_args& args);

struct verify_args {
  std::string config;
  std::string audit;   ///< a chain file
  std::string topic;   ///< or the audit topic
  std::string receipt; ///< hex SHA-256 of an event's bytes
};
int verify_command(const verify_args& args);

struct drift_args {
  std::string config;
  std::string in = "-";
  std::string out;
};
int drift_baseline_command(const drift_args& args);

struct rules_args {
  std::string config;
  std::string text; ///< rules test
};
int rules_check_command(const rules_args& args);
int rules_test_command(const rules_args& args);

/// Loads the configuration named on the command line (or the defaults when
/// none is given); on error prints `file:line: key: reason` and returns nothing.
std::optional<config::options> load_config(const std::string& path);

/// The configuration and the rules it names, compiled.
struct loaded_config {
  config::options opts;
  std::shared_ptr<const scan::ruleset> rules; ///< null: no packs and no files (scanning off)
};

/// load_config, then compiles the rule packs and files the options name; on
/// error prints `file:line: rule id: reason` and returns nothing.
std::optional<loaded_config> load_config_and_rules(const std::string& path);
/// Compiles the rules `options` name (for a configuration built in code).
std::optional<loaded_config> compile_rules(config::options options);
/// The same, returning the error (`file:line: rule id: reason`) instead of
/// printing it (hot reload logs it and keeps the old rules).
std::variant<loaded_config, std::string> try_compile_rules(config::options options);
/// What the rules of `options` are made of, for the audit record of a
/// (re)load: pack names and extra files with the SHA-256 of their bytes, the
/// names of the system prompts (never their text or a digest of it).
std::string rule_inputs_json(const config::options& options);

/// The Alertmanager forwarder for `alerts.alertmanager` (left null when it is
/// not set), its log lines and errors prefixed with `who` ("bulwark scan"),
/// its generatorURL pointing at `listen`. On a bad URL prints why and returns
/// false (exit 2).
bool make_alertmanager(const config::options& opts, const std::string& listen, const char* who,
                       std::unique_ptr<http::alertmanager_forwarder>& out);

struct demo_args {
  int seconds = 30;
  double rate = 2000; ///< events per second from the simulated fleet
};
int demo_command(const demo_args& args);

} // namespace bulwark::app
