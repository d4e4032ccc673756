#include "loadgen/cli.hpp"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <vector>

namespace bulwark::loadgen {

std::optional<timestamp_ms> parse_duration(std::string_view text) noexcept {
  if (text == "0") return 0;
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc{} || n < 0 || end == text.data()) return std::nullopt;
  const std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
  std::int64_t scale = 0;
  if (unit == "ms")
    scale = 1;
  else if (unit == "s")
    scale = 1000;
  else if (unit == "m")
    scale = 60'000;
  else if (unit == "h")
    scale = 3'600'000;
  else if (unit == "d")
    scale = 86'400'000;
  else
    return std::nullopt;
  if (n > INT64_MAX / scale) return std::nullopt;
  return n * scale;
}

namespace {

using setter = std::function<std::optional<std::string>(cli_config&)>;

/// Registers options whose values are applied after parsing, in registration
/// order, and only when given, so that they override the preset (--mix),
/// which is applied first whatever its place on the command line.
class binder {
public:
  explicit binder(CLI::App& app) : app_(app) {}

  template <class T, class Apply>
  CLI::Option* add(const std::string& flag, const std::string& help, Apply apply) {
    auto holder = std::make_shared<T>();
    CLI::Option* opt = app_.add_option(flag, *holder, help);
    setters_.push_back([opt, holder, apply, flag](cli_config& c) -> std::optional<std::string> {
      if (opt->count() == 0) return std::nullopt;
      return apply(c, *holder, flag);
    });
    return opt;
  }

  /// A number stored as is.
  template <class T, class Field>
  CLI::Option* number(const std::string& flag, const std::string& help, Field field) {
    return add<T>(
        flag, help,
        [field](cli_config& c, const T& v, const std::string&) -> std::optional<std::string> {
          field(c) = v;
          return std::nullopt;
        });
  }

  /// A duration with a unit.
  template <class Field>
  CLI::Option* duration(const std::string& flag, const std::string& help, Field field) {
    return add<std::string>(flag, help + " (250ms, 90s, 5m, 1h)",
                            [field](cli_config& c, const std::string& v,
                                    const std::string& name) -> std::optional<std::string> {
                              const auto d = parse_duration(v);
                              if (!d)
                                return name + ": '" + v +
                                       "' is not a duration such as 250ms, 90s, 5m or 1h";
                              field(c) = *d;
                              return std::nullopt;
                            });
  }

  std::optional<std::string> apply(cli_config& c) const {
    for (const setter& s : setters_)
      if (auto problem = s(c)) return problem;
    return std::nullopt;
  }

private:
  CLI::App& app_;
  std::vector<setter> setters_;
};

template <class F> F field(F f) {
  return f;
}

} // namespace

cli_parse parse_command_line(int argc, const char* const* argv) {
  cli_parse result;
  CLI::App app{"bulwark-loadgen: a simulated fleet of model servers writing signed telemetry "
               "(SPEC §3, §4) with a configurable attack mix and out-of-band ground truth"};
  app.set_help_flag("-h,--help", "Print this help and exit");
  binder b(app);
  const std::string attacks = "Attacks (rates are fractions of the drawn events; all off unless "
                              "given or --mix demo)";
  const std::string episodes = "Episodes (simulated time)";

  // ---- run
  const std::string run_group = "Run";
  b.number<std::uint64_t>("--events", "Stop after N events (0 = no limit) [0]",
                          [](cli_config& c) -> std::uint64_t& { return c.run.events; })
      ->group(run_group);
  b.number<double>("--seconds", "Stop after S wall-clock seconds (0 = no limit) [0]",
                   [](cli_config& c) -> double& { return c.run.seconds; })
      ->group(run_group);
  b.number<double>("--rate", "Target events per second, token-bucket paced (0 = unpaced) [0]",
                   [](cli_config& c) -> double& { return c.run.rate; })
      ->group(run_group);
  b.number<std::uint64_t>("--seed", "Random seed: same seed and options, same bytes [1]",
                          [](cli_config& c) -> std::uint64_t& { return c.run.fleet.seed; })
      ->group(run_group);
  b.number<int>("--sources", "Model servers srv-1..srv-N (models round-robin) [24]",
                [](cli_config& c) -> int& { return c.run.fleet.sources; })
      ->group(run_group);
  b.number<double>("--clock-rate",
                   "Events per simulated second, how fast ts advances (0 = --rate, or 1000) [0]",
                   [](cli_config& c) -> double& { return c.run.fleet.clock_rate; })
      ->group(run_group);
  b.add<std::string>("--start", "Simulated clock start: RFC 3339 or 'now' [2026-11-27T00:00:00Z]",
                     [](cli_config& c, const std::string& v,
                        const std::string& name) -> std::optional<std::string> {
                       if (v == "now") {
                         c.run.fleet.start = wall_clock_now();
                         return std::nullopt;
                       }
                       const auto t = parse_rfc3339(v);
                       if (!t) return name + ": '" + v + "' is neither RFC 3339 nor 'now'";
                       c.run.fleet.start = *t;
                       return std::nullopt;
                     })
      ->group(run_group);
  b.duration("--metric-interval", "Each server reports its 3 metrics this often [10s]",
             [](cli_config& c) -> timestamp_ms& { return c.run.fleet.metric_interval; })
      ->group(run_group);
  b.number<double>("--log-share", "Fraction of drawn events that are logs [0.25]",
                   [](cli_config& c) -> double& { return c.run.fleet.log_share; })
      ->group(run_group);
  b.number<double>("--audit-share", "Fraction of drawn events that are audit events [0.001]",
                   [](cli_config& c) -> double& { return c.run.fleet.audit_share; })
      ->group(run_group);

  // ---- output
  const std::string out_group = "Output";
  app.add_option("--out", result.config.out, "Events as NDJSON: a file, or - for stdout [-]")
      ->group(out_group);
  app.add_option("--labels", result.config.labels,
                 "Ground truth as NDJSON (one line per planted attack) to this file")
      ->group(out_group);
  app.add_option("--brokers", result.config.brokers,
                 "Produce to Kafka at host:port,... instead of writing --out")
      ->group(out_group);
  app.add_option("--topic", result.config.run.topic, "Kafka topic [telemetry]")->group(out_group);
  b.add<std::vector<std::string>>("--property", "librdkafka property KEY=VALUE (repeatable)",
                                  [](cli_config& c, const std::vector<std::string>& v,
                                     const std::string& name) -> std::optional<std::string> {
                                    for (const std::string& kv : v) {
                                      const auto eq = kv.find('=');
                                      if (eq == std::string::npos || eq == 0)
                                        return name + ": '" + kv + "' is not KEY=VALUE";
                                      c.properties[kv.substr(0, eq)] = kv.substr(eq + 1);
                                    }
                                    return std::nullopt;
                                  })
      ->group(out_group);
  app.add_flag("-q,--quiet", result.config.quiet, "No progress lines on stderr")->group(out_group);

  // ---- signing
  const std::string sig_group = "Signing (SPEC §4)";
  b.add<std::string>("--sign", "body (sig member), header (bw-sig, Kafka only) or none [body]",
                     [](cli_config& c, const std::string& v,
                        const std::string& name) -> std::optional<std::string> {
                       const auto s = parse_signing(v);
                       if (!s) return name + ": '" + v + "' is not body, header or none";
                       c.run.fleet.sign = *s;
                       return std::nullopt;
                     })
      ->group(sig_group);
  b.number<std::string>("--kid", "Key id in signatures [k1]", [](cli_config& c) -> std::string& {
     return c.run.fleet.kid;
   })->group(sig_group);
  b.number<std::string>("--key", "HMAC key as hex [a published DEMO key: never use it for real]",
                        [](cli_config& c) -> std::string& { return c.run.fleet.key_hex; })
      ->group(sig_group);

  // The preset is a baseline: it is applied before every explicit option.
  std::string preset;
  CLI::Option* mix_opt =
      app.add_option("--mix", preset,
                     "Attack preset: none or demo (every attack, metrics every 1s); explicit "
                     "options override it")
          ->group(attacks);

  // ---- drawn attacks
  const auto rate = [&](const std::string& flag, const std::string& help, auto f) {
    b.number<double>(flag, help + " [0]", f)->group(attacks);
  };
  rate("--secret-rate", "AWS keys, GitHub tokens, typed passwords, PEM keys",
       [](cli_config& c) -> double& { return c.run.fleet.mix.secret; });
  rate("--pii-rate", "E-mails, phones, cards (Luhn), IBANs (mod 97), SSNs",
       [](cli_config& c) -> double& { return c.run.fleet.mix.pii; });
  rate("--injection-rate",
       "<script>, forged log lines, terminal escapes, ${jndi:}, prompt injection",
       [](cli_config& c) -> double& { return c.run.fleet.mix.injection; });
  rate("--prompt-leak-rate", "System prompt echoed in a chat output",
       [](cli_config& c) -> double& { return c.run.fleet.mix.prompt_leak; });
  rate("--tamper-rate", "Events edited after signing",
       [](cli_config& c) -> double& { return c.run.fleet.mix.tamper; });
  rate("--replay-rate", "Earlier signed events re-sent verbatim",
       [](cli_config& c) -> double& { return c.run.fleet.mix.replay; });
  rate("--gap-rate", "A source skips 1..--gap-max sequence numbers",
       [](cli_config& c) -> double& { return c.run.fleet.mix.gap; });
  rate("--unsigned-rate", "Events without a signature from a signing source",
       [](cli_config& c) -> double& { return c.run.fleet.mix.unsigned_events; });
  b.number<int>("--gap-max", "Largest number of skipped sequence numbers [5]",
                [](cli_config& c) -> int& { return c.run.fleet.mix.gap_max; })
      ->group(attacks);
  b.number<std::size_t>("--replay-memory", "Recent clean events kept for replays [512]",
                        [](cli_config& c) -> std::size_t& { return c.run.fleet.replay_memory; })
      ->group(attacks);

  // ---- episodes
  const auto episode = [&](const std::string& name, const std::string& what, auto plan,
                           const std::string& defaults) {
    b.number<int>("--" + name, "Number of " + what + " episodes (0 = off) [0]",
                  [plan](cli_config& c) -> int& { return plan(c).count; })
        ->group(episodes);
    b.duration("--" + name + "-first", "Start of the first " + what + " episode" + defaults,
               [plan](cli_config& c) -> timestamp_ms& { return plan(c).first_at; })
        ->group(episodes);
    b.duration("--" + name + "-every", "Spacing of " + what + " episodes",
               [plan](cli_config& c) -> timestamp_ms& { return plan(c).every; })
        ->group(episodes);
    b.duration("--" + name + "-for", "Length of one " + what + " episode",
               [plan](cli_config& c) -> timestamp_ms& { return plan(c).duration; })
        ->group(episodes);
  };
  episode(
      "silence", "silence (a source stops)",
      [](cli_config& c) -> episode_plan& { return c.run.fleet.mix.silence; },
      " [first 1m, every 15m, for 6m]");
  episode(
      "poison", "poisoning (a source lies in its metrics)",
      [](cli_config& c) -> episode_plan& { return c.run.fleet.mix.poisoning.when; },
      " [first 2m, every 30m, for 5m]");
  episode(
      "flood", "alert flood (junk injection findings)",
      [](cli_config& c) -> episode_plan& { return c.run.fleet.mix.flood.when; },
      " [first 3m, every 15m, for 1m]");
  b.number<double>(
       "--poison-impossible", "Share of the liar's metrics that are impossible values [0.25]",
       [](cli_config& c) -> double& { return c.run.fleet.mix.poisoning.impossible_share; })
      ->group(episodes);
  b.add<bool>("--poison-rollback", "A rollback audit event ends each poisoning episode [true]",
              [](cli_config& c, const bool& v, const std::string&) -> std::optional<std::string> {
                c.run.fleet.mix.poisoning.rollback = v;
                return std::nullopt;
              })
      ->group(episodes);
  b.number<double>("--flood-share", "Share of the events during a flood that are junk [0.5]",
                   [](cli_config& c) -> double& { return c.run.fleet.mix.flood.share; })
      ->group(episodes);
  b.number<int>("--flood-sources",
                "0: junk from the fleet's servers; N: from N unsigned sources edge-1..N [0]",
                [](cli_config& c) -> int& { return c.run.fleet.mix.flood.sources; })
      ->group(episodes);
  b.number<double>("--drift-step",
                   "Drift of /features/amount per window, in reference sd (0 = off) [0]",
                   [](cli_config& c) -> double& { return c.run.fleet.mix.drift.step_sd; })
      ->group(episodes);
  b.duration("--drift-window", "Drift window; match drift.window [1h]",
             [](cli_config& c) -> timestamp_ms& { return c.run.fleet.mix.drift.window; })
      ->group(episodes);
  b.number<int>("--drift-start", "Clean reference windows before the drift starts [24]",
                [](cli_config& c) -> int& { return c.run.fleet.mix.drift.start_window; })
      ->group(episodes);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp&) {
    result.exit_code = 0;
    result.message = app.help();
    return result;
  } catch (const CLI::ParseError& e) {
    result.exit_code = 2;
    result.message = std::string("bulwark-loadgen: ") + e.what() + " (see --help)";
    return result;
  }
  if (mix_opt->count() > 0 && !apply_preset(preset, result.config.run.fleet)) {
    result.exit_code = 2;
    result.message = "bulwark-loadgen: --mix: unknown preset '" + preset + "' (none, demo)";
    return result;
  }
  if (auto problem = b.apply(result.config)) {
    result.exit_code = 2;
    result.message = "bulwark-loadgen: " + *problem;
    return result;
  }
  const cli_config& c = result.config;
  std::optional<std::string> problem;
  if (!(c.run.rate >= 0 && c.run.rate <= 1e9))
    problem = "--rate: must be in [0, 1e9]";
  else if (!(c.run.seconds >= 0))
    problem = "--seconds: must not be negative";
  else if (c.brokers.empty() && c.run.fleet.sign == signing::header)
    problem = "--sign: header signatures travel in Kafka headers; use --brokers or --sign body";
  else if (!c.brokers.empty() && c.out != "-")
    problem = "--out: events go to Kafka when --brokers is given; drop one of them";
  else if (c.run.topic.empty())
    problem = "--topic: must not be empty";
  else if (auto bad = validate(effective_fleet_options(c.run)))
    problem = "--" + *bad;
  if (problem) {
    result.exit_code = 2;
    result.message = "bulwark-loadgen: " + *problem;
  }
  return result;
}

namespace {

/// A FILE* that closes itself unless it is stdout.
struct output_file {
  std::FILE* f = nullptr;
  bool owned = false;
  ~output_file() {
    if (owned && f != nullptr) std::fclose(f);
  }
};

progress_sink progress_printer(bool quiet) {
  if (quiet) return {};
  return [](const run_stats& s) {
    std::fprintf(stderr,
                 "bulwark-loadgen: %" PRIu64 " events (%.0f/s), %.1f MB, %" PRIu64
                 " with attacks, %.1f s simulated\n",
                 s.events, s.elapsed_s > 0 ? static_cast<double>(s.events) / s.elapsed_s : 0.0,
                 static_cast<double>(s.bytes) / 1e6, s.attacked,
                 static_cast<double>(s.simulated_ms) / 1000.0);
  };
}

int report(const run_outcome& o) {
  if (!o.error || o.broken_pipe) return 0;
  std::fprintf(stderr, "bulwark-loadgen: %s\n", o.error->c_str());
  return 1;
}

} // namespace

int run_cli(const cli_config& c, const std::atomic<bool>& stop) {
  output_file labels;
  if (!c.labels.empty()) {
    labels.f = std::fopen(c.labels.c_str(), "w");
    labels.owned = true;
    if (labels.f == nullptr) {
      std::fprintf(stderr, "bulwark-loadgen: --labels %s: %s\n", c.labels.c_str(),
                   std::strerror(errno));
      return 1;
    }
  }
  if (c.brokers.empty()) {
    output_file out;
    if (c.out == "-") {
      out.f = stdout;
    } else {
      out.f = std::fopen(c.out.c_str(), "w");
      out.owned = true;
      if (out.f == nullptr) {
        std::fprintf(stderr, "bulwark-loadgen: --out %s: %s\n", c.out.c_str(),
                     std::strerror(errno));
        return 1;
      }
    }
    return report(run_to_stream(c.run, out.f, labels.f, stop, progress_printer(c.quiet)));
  }

  kafka::properties props = c.properties;
  props["bootstrap.servers"] = c.brokers;
  std::uint64_t failed = 0;
  std::string first_failure;
  auto made = kafka::producer::make(props, [&](const kafka::delivery& d) {
    if (!d.failure) return;
    if (failed++ == 0) first_failure = d.failure->message;
  });
  if (auto* e = std::get_if<kafka::error>(&made)) {
    std::fprintf(stderr, "bulwark-loadgen: --brokers %s: %s\n", c.brokers.c_str(),
                 e->message.c_str());
    return 1;
  }
  kafka::producer& producer = std::get<kafka::producer>(made);
  std::string lines;
  bool label_error = false;
  const label_sink sink = [&](const label& l) {
    if (labels.f == nullptr || label_error) return;
    lines.clear();
    append_label_lines(lines, l);
    label_error = std::fwrite(lines.data(), 1, lines.size(), labels.f) != lines.size();
  };
  const run_outcome o = run_to_kafka(c.run, producer, stop, sink, progress_printer(c.quiet));
  int code = report(o);
  if (failed > 0) {
    std::fprintf(stderr, "bulwark-loadgen: %" PRIu64 " records failed delivery, first: %s\n",
                 failed, first_failure.c_str());
    code = 1;
  }
  if (labels.f != nullptr && (label_error || std::fflush(labels.f) != 0)) {
    std::fprintf(stderr, "bulwark-loadgen: --labels %s: write failed\n", c.labels.c_str());
    code = 1;
  }
  return code;
}

} // namespace bulwark::loadgen
