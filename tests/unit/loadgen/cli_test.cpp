#include "loadgen/cli.hpp"

#include <gtest/gtest.h>
#include <initializer_list>
#include <string>
#include <vector>

namespace bulwark::loadgen {
namespace {

cli_parse parse_args(std::initializer_list<const char*> args) {
  std::vector<const char*> argv{"bulwark-loadgen"};
  argv.insert(argv.end(), args.begin(), args.end());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

/// Parses args that must be refused; returns the message.
std::string refused(std::initializer_list<const char*> args) {
  const cli_parse p = parse_args(args);
  EXPECT_EQ(p.exit_code, std::optional<int>(2)) << p.message;
  return p.message;
}

TEST(Cli, HelpListsEveryOptionAndExitsZero) {
  const cli_parse p = parse_args({"--help"});
  ASSERT_EQ(p.exit_code, std::optional<int>(0));
  for (const char* opt : {"--events",
                          "--seconds",
                          "--rate",
                          "--seed",
                          "--sources",
                          "--clock-rate",
                          "--start",
                          "--metric-interval",
                          "--log-share",
                          "--audit-share",
                          "--out",
                          "--labels",
                          "--brokers",
                          "--topic",
                          "--property",
                          "--quiet",
                          "--sign",
                          "--kid",
                          "--key",
                          "--mix",
                          "--secret-rate",
                          "--pii-rate",
                          "--injection-rate",
                          "--prompt-leak-rate",
                          "--tamper-rate",
                          "--replay-rate",
                          "--gap-rate",
                          "--unsigned-rate",
                          "--gap-max",
                          "--replay-memory",
                          "--silence",
                          "--silence-first",
                          "--silence-every",
                          "--silence-for",
                          "--poison",
                          "--poison-first",
                          "--poison-every",
                          "--poison-for",
                          "--poison-impossible",
                          "--poison-rollback",
                          "--flood",
                          "--flood-first",
                          "--flood-every",
                          "--flood-for",
                          "--flood-share",
                          "--flood-sources",
                          "--drift-step",
                          "--drift-window",
                          "--drift-start"})
    EXPECT_NE(p.message.find(opt), std::string::npos) << opt;
}

TEST(Cli, DefaultsGiveACleanSignedUnpacedRun) {
  const cli_parse p = parse_args({});
  ASSERT_FALSE(p.exit_code) << p.message;
  EXPECT_EQ(p.config.out, "-");
  EXPECT_EQ(p.config.run.rate, 0);
  EXPECT_EQ(p.config.run.fleet.sign, signing::body);
  EXPECT_FALSE(p.config.run.fleet.mix.any());
}

TEST(Cli, AnUnknownOptionExitsTwoNamingIt) {
  EXPECT_NE(refused({"--bogus"}).find("--bogus"), std::string::npos);
}

TEST(Cli, BadValuesExitTwoNamingTheOption) {
  EXPECT_NE(refused({"--rate", "fast"}).find("--rate"), std::string::npos);
  EXPECT_NE(refused({"--rate", "-5"}).find("--rate"), std::string::npos);
  EXPECT_NE(refused({"--sources", "0"}).find("--sources"), std::string::npos);
  EXPECT_NE(refused({"--silence-for", "5"}).find("--silence-for"), std::string::npos);
  EXPECT_NE(refused({"--sign", "rsa"}).find("--sign"), std::string::npos);
  EXPECT_NE(refused({"--mix", "chaos"}).find("--mix"), std::string::npos);
  EXPECT_NE(refused({"--secret-rate", "1.5"}).find("--secret-rate"), std::string::npos);
  EXPECT_NE(refused({"--secret-rate", "0.6", "--pii-rate", "0.6"}).find("rate"), std::string::npos);
  EXPECT_NE(refused({"--key", "xyz"}).find("--key"), std::string::npos);
  EXPECT_NE(refused({"--start", "yesterday"}).find("--start"), std::string::npos);
  EXPECT_NE(refused({"--property", "novalue"}).find("--property"), std::string::npos);
  EXPECT_NE(refused({"--sign", "header"}).find("--sign"), std::string::npos);
  EXPECT_NE(refused({"--silence", "2", "--silence-every", "1s", "--silence-for", "5s"})
                .find("--silence-every"),
            std::string::npos);
  EXPECT_NE(refused({"--brokers", "h:1", "--out", "x.ndjson"}).find("--out"), std::string::npos);
}

TEST(Cli, ThePresetIsABaselineThatExplicitOptionsOverride) {
  const cli_parse p = parse_args({"--secret-rate", "0", "--mix", "demo", "--flood-sources", "7"});
  ASSERT_FALSE(p.exit_code) << p.message;
  const attack_mix& m = p.config.run.fleet.mix;
  EXPECT_EQ(m.secret, 0.0);
  EXPECT_GT(m.pii, 0.0);
  EXPECT_EQ(m.flood.sources, 7);
  EXPECT_GT(m.silence.count, 0);
  EXPECT_EQ(p.config.run.fleet.metric_interval, 1'000);
}

TEST(Cli, OptionsReachTheRunSettings) {
  const cli_parse p = parse_args({"--events",
                                  "500",
                                  "--rate",
                                  "2000",
                                  "--seed",
                                  "9",
                                  "--sources",
                                  "12",
                                  "--start",
                                  "2027-01-02T03:04:05Z",
                                  "--silence",
                                  "1",
                                  "--silence-first",
                                  "90s",
                                  "--silence-for",
                                  "2m",
                                  "--drift-step",
                                  "0.02",
                                  "--drift-window",
                                  "1h",
                                  "--drift-start",
                                  "5",
                                  "--brokers",
                                  "127.0.0.1:9092",
                                  "--topic",
                                  "t2",
                                  "--property",
                                  "linger.ms=5",
                                  "--sign",
                                  "header",
                                  "--kid",
                                  "k9",
                                  "--poison-rollback",
                                  "false",
                                  "--labels",
                                  "l.ndjson",
                                  "-q"});
  ASSERT_FALSE(p.exit_code) << p.message;
  const cli_config& c = p.config;
  EXPECT_EQ(c.run.events, 500U);
  EXPECT_EQ(c.run.rate, 2000);
  EXPECT_EQ(c.run.fleet.seed, 9U);
  EXPECT_EQ(c.run.fleet.sources, 12);
  EXPECT_EQ(c.run.fleet.start, *parse_rfc3339("2027-01-02T03:04:05Z"));
  EXPECT_EQ(c.run.fleet.mix.silence.count, 1);
  EXPECT_EQ(c.run.fleet.mix.silence.first_at, 90'000);
  EXPECT_EQ(c.run.fleet.mix.silence.duration, 120'000);
  EXPECT_EQ(c.run.fleet.mix.drift.step_sd, 0.02);
  EXPECT_EQ(c.run.fleet.mix.drift.window, 3'600'000);
  EXPECT_EQ(c.run.fleet.mix.drift.start_window, 5);
  EXPECT_EQ(c.brokers, "127.0.0.1:9092");
  EXPECT_EQ(c.run.topic, "t2");
  EXPECT_EQ(c.properties.at("linger.ms"), "5");
  EXPECT_EQ(c.run.fleet.sign, signing::header);
  EXPECT_EQ(c.run.fleet.kid, "k9");
  EXPECT_FALSE(c.run.fleet.mix.poisoning.rollback);
  EXPECT_EQ(c.labels, "l.ndjson");
  EXPECT_TRUE(c.quiet);
  EXPECT_EQ(effective_fleet_options(c.run).clock_rate, 2000);
}

TEST(Cli, DurationsNeedAUnit) {
  EXPECT_EQ(parse_duration("250ms"), 250);
  EXPECT_EQ(parse_duration("90s"), 90'000);
  EXPECT_EQ(parse_duration("5m"), 300'000);
  EXPECT_EQ(parse_duration("2h"), 7'200'000);
  EXPECT_EQ(parse_duration("1d"), 86'400'000);
  EXPECT_EQ(parse_duration("0"), 0);
  EXPECT_FALSE(parse_duration("5"));
  EXPECT_FALSE(parse_duration("-5s"));
  EXPECT_FALSE(parse_duration("5 s"));
  EXPECT_FALSE(parse_duration("s"));
  EXPECT_FALSE(parse_duration("99999999999999999d"));
}

} // namespace
} // namespace bulwark::loadgen
