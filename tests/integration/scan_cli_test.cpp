// `bulwark scan` as a user runs it: exit codes, messages, golden files.
#include "support/temp_dir.hpp"

#include <gtest/gtest.h>

namespace {

using bulwark::testing::lines_of;
using bulwark::testing::read_file;
using bulwark::testing::run;
using bulwark::testing::temp_dir;
using bulwark::testing::write_file;

const std::string exe = BULWARK_EXE;
const std::string source_dir = BULWARK_SOURCE_DIR;

std::string data(const std::string& name) {
  return source_dir + "/tests/data/" + name;
}

TEST(ScanCli, GoldenFileGivesTheExpectedOutputAndDeadLetters) {
  temp_dir dir;
  for (const char* workers : {"1", "2", "4"}) {
    write_file(dir.file("cfg.yaml"), std::string("workers: ") + workers + "\n");
    const auto r =
        run(exe + " scan -c " + dir.file("cfg.yaml") + " --in " + data("foundation.ndjson") +
            " --out " + dir.file("out") + " --dlq " + dir.file("dlq"));
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(read_file(dir.file("out")), read_file(data("foundation.expected.ndjson")))
        << "workers=" << workers;
    EXPECT_EQ(read_file(dir.file("dlq")), read_file(data("foundation.dlq.expected.ndjson")))
        << "workers=" << workers;
  }
}

TEST(ScanCli, RedactionGoldenFileGivesTheExpectedSanitisedEvents) {
  // Secrets, PII and injections in chat, tabular and log events, next to hard
  // negatives (hex digests, failed-Luhn numbers, "reset your password", ${name}).
  temp_dir dir;
  const auto r = run(exe + " scan --in " + data("redaction.ndjson") + " --out " + dir.file("out"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(read_file(dir.file("out")), read_file(data("redaction.expected.ndjson")));
  for (const char* planted :
       {"AKIAZ3MSJV4WWNKWW5FG", "S3cr3tPassw0rd", "4111 1111 1111 1111", "jane.doe@example.org",
        "DE89 3704", "hunter2", "<script", "${jndi", "\\u001b"})
    EXPECT_EQ(read_file(dir.file("out")).find(planted), std::string::npos) << planted;
}

TEST(RulesCli, CheckCompilesEveryPackAndRunsEveryExample) {
  const auto r = run(exe + " rules check");
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find(" 0 failed"), std::string::npos) << r.out;
}

TEST(RulesCli, TestShowsTheRulesThatMatchAndTheRedactedText) {
  const auto r = run(exe + " rules test 'key AKIAZ3MSJV4WWNKWW5FG ok'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("aws-access-key-id"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("redacted: key [REDACTED:aws-access-key-id] ok"), std::string::npos)
      << r.out;
}

TEST(RulesCli, AUserRuleWhoseExampleFailsMakesCheckExitOne) {
  temp_dir dir;
  write_file(dir.file("mine.yaml"), "rules:\n  - id: order-token\n    category: secret\n"
                                    "    pattern: 'ord_([a-z]{6})'\n    examples:\n"
                                    "      match: [ord_abcdef, ord_123456]\n");
  write_file(dir.file("cfg.yaml"), "rules:\n  packs: []\n  extra: [mine.yaml]\n");
  const auto r = run(exe + " rules check -c " + dir.file("cfg.yaml"));
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find(dir.file("mine.yaml") + ":6: rule order-token: match example not found"),
            std::string::npos)
      << r.out;
}

TEST(RulesCli, ARuleThatDoesNotCompileIsAConfigErrorNamingFileAndLine) {
  temp_dir dir;
  write_file(dir.file("bad.yaml"), "rules:\n  - id: broken\n    category: secret\n"
                                   "    pattern: 'a(b'\n    examples: {match: [ab]}\n");
  write_file(dir.file("cfg.yaml"), "rules:\n  packs: []\n  extra: [bad.yaml]\n");
  const auto r = run("printf '{}\\n' | " + exe + " scan -c " + dir.file("cfg.yaml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(dir.file("bad.yaml") + ":2: rule broken: pattern"), std::string::npos)
      << r.err;
}

TEST(ScanCli, HashActionUsesTheConfiguredKeyAndIsRefusedWithoutOne) {
  temp_dir dir;
  write_file(dir.file("cfg.yaml"), "rules:\n  action: hash\n  hash_key: {env: BW_TEST_HASH_KEY}\n");
  const std::string in = "printf '{\"m\":\"key AKIAZ3MSJV4WWNKWW5FG\"}\\n' | ";
  const auto refused = run(in + exe + " scan -c " + dir.file("cfg.yaml"));
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find("needs rules.hash_key (env BW_TEST_HASH_KEY: not set)"),
            std::string::npos)
      << refused.err;
  const auto ok = run(in + "BW_TEST_HASH_KEY=" + std::string(64, 'a') + " " + exe + " scan -c " +
                      dir.file("cfg.yaml"));
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("key [aws-access-key-id:"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find(R"("action":"hash")"), std::string::npos) << ok.out;
}

TEST(ScanCli, ReadsStdinAndWritesStdoutByDefault) {
  const auto r = run("printf '{\"a\":1}\\n[1]\\n' | " + exe + " scan");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out,
            "{\"a\":1}\n{\"_bulwark\":{\"v\":1,\"verdict\":\"rejected\",\"reason\":\"not_object\","
            "\"line\":2}}\n");
}

TEST(ScanCli, TheSummaryOnStderrCountsLinesAndRejections) {
  const auto r = run("printf '{\"a\":1}\\n[1]\\nnope\\n' | " + exe + " scan --out /dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* part :
       {"lines_in=3", "lines_out=3", "clean=1", "rejected=2", "bytes_in=17", "rejected.not_json=1",
        "rejected.not_object=1", "events_per_s=", "mb_per_s=", "seconds="}) {
    EXPECT_NE(r.err.find(part), std::string::npos) << part << " missing in: " << r.err;
  }
}

TEST(ScanCli, FindingsAreCountedByCategoryInTheSummary) {
  const auto r = run("printf '{\"a\":\"mail bob@example.com\",\"b\":\"x <script>y\"}\\n' | " + exe +
                     " scan --out /dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("findings.pii=1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("findings.injection=1"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("redacted=1"), std::string::npos) << r.err;
}

TEST(ScanCli, AnUnreadableInputExitsTwoNamingThePath) {
  const auto r = run(exe + " scan --in /nonexistent/telemetry.ndjson");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--in /nonexistent/telemetry.ndjson: cannot open for reading"),
            std::string::npos)
      << r.err;
}

TEST(ScanCli, AnOutputPathThatCannotBeWrittenExitsTwoBeforeReadingInput) {
  const auto r = run("printf '{}\\n' | " + exe + " scan --out /nonexistent/dir/out.ndjson");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--out /nonexistent/dir/out.ndjson: cannot open for writing"),
            std::string::npos)
      << r.err;
}

TEST(ScanCli, ABadConfigExitsTwoWithFileLineKeyAndReason) {
  temp_dir dir;
  write_file(dir.file("bad.yaml"), "workers: 2\nkafka:\n  brokerz: x\n");
  const auto r = run("printf '{}\\n' | " + exe + " scan -c " + dir.file("bad.yaml"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(dir.file("bad.yaml") + ":3: kafka.brokerz:"), std::string::npos) << r.err;
  EXPECT_TRUE(r.out.empty()) << "no output before the config is valid";
}

TEST(ScanCli, AMissingConfigFileExitsTwo) {
  const auto r = run("printf '{}\\n' | " + exe + " scan -c /nonexistent.yaml");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("/nonexistent.yaml"), std::string::npos) << r.err;
}

TEST(ScanCli, UnknownFlagsAndMissingSubcommandsAreUsageErrors) {
  EXPECT_EQ(run(exe + " scan --no-such-flag").exit_code, 2);
  EXPECT_EQ(run(exe).exit_code, 2);
  EXPECT_EQ(run(exe + " frobnicate").exit_code, 2);
  EXPECT_EQ(run(exe + " --help").exit_code, 0);
  EXPECT_EQ(run(exe + " scan --help").exit_code, 0);
}

TEST(ScanCli, AClosedStdoutIsARuntimeFailureNotACrash) {
  // `head -c 0` exits at once: bulwark's writes then fail with EPIPE.
  const auto r = run("bash -c '" + source_dir + "/scripts/gen-telemetry --events 20000 | " + exe +
                     " scan | head -c 0; exit ${PIPESTATUS[1]}'");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("--out: write failed"), std::string::npos) << r.err;
}

TEST(ScanCli, SigtermStopsReadingWritesWhatWasReadAndExitsZero) {
  temp_dir dir;
  const std::string fifo = dir.file("fifo");
  write_file(dir.file("three.ndjson"), "{\"a\":1}\n{\"b\":2}\n[3]\n");
  write_file(dir.file("script.sh"),
             "mkfifo " + fifo + "\n" + //
                 exe + " scan --in " + fifo + " --out " + dir.file("out") + " &\n" +
                 "pid=$!\n"
                 // The writer keeps the pipe open: only the signal can end the scan.
                 "exec 3>" +
                 fifo + "\n" +                                  //
                 "cat " + dir.file("three.ndjson") + " >&3\n" + //
                 "sleep 1\n"
                 "kill -TERM $pid\n"
                 "start=$(date +%s)\n"
                 "wait $pid\n"
                 "rc=$?\n"
                 "elapsed=$(( $(date +%s) - start ))\n"
                 "exec 3>&-\n"
                 // SPEC §1: drain and exit within 10 s; a scan has nothing to wait for.
                 "[ $elapsed -le 3 ] || { echo slow stop: $elapsed s >&2; exit 99; }\n"
                 "exit $rc\n");
  const auto r = run("sh " + dir.file("script.sh"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("stopped by signal"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("lines_in=3"), std::string::npos) << r.err;
  EXPECT_EQ(lines_of(read_file(dir.file("out"))).size(), 3U);
}

TEST(ScanCli, TheBundledSampleScansWithEveryLineAccountedFor) {
  temp_dir dir;
  const auto r = run(exe + " scan -c " + source_dir + "/configs/demo.yaml --in " + source_dir +
                     "/configs/samples/telemetry.ndjson --out " + dir.file("out") + " --dlq " +
                     dir.file("dlq"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto in = lines_of(read_file(source_dir + "/configs/samples/telemetry.ndjson"));
  const auto out = lines_of(read_file(dir.file("out")));
  const auto dlq = lines_of(read_file(dir.file("dlq")));
  ASSERT_EQ(out.size(), in.size());
  std::size_t rejected = 0;
  for (const auto& l : out)
    rejected += l.rfind(R"({"_bulwark":)", 0) == 0 ? 1 : 0;
  EXPECT_EQ(rejected, dlq.size());
  EXPECT_GT(rejected, 0U) << "the sample carries a few malformed lines on purpose";
}

} // namespace
