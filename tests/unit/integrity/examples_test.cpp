// The signer examples for model servers (examples/) produce events that the
// integrity checker accepts, and that it rejects once edited.
#include "bulwark_signer.hpp"
#include "integrity/checker.hpp"
#include "support/temp_dir.hpp"
#include "unit/integrity/fleet.hpp"

#include <array>
#include <cstdio>
#include <gtest/gtest.h>
#include <sstream>
#include <string>
#include <vector>

namespace bulwark::integrity {
namespace {

using namespace bulwark::integrity::testing;

constexpr timestamp_ms t0 = 1'790'000'000'000;

const verifier& ring_verifier() {
  static const verifier v(test_ring());
  return v;
}

bulwark_signer::signer k1_signer() {
  return *bulwark_signer::signer::from_hex("k1", key1_hex);
}

const std::vector<std::string>& sample_events() {
  static const std::vector<std::string> events{
      R"({"ts":"2026-11-27T10:15:00Z","source":"srv-4","seq":1,"epoch":"e1","type":"metric","model":"fraud","name":"latency_p99_ms","value":118.2})",
      R"({"ts":1795000000123,"source":"srv-4","seq":2,"type":"prediction","model":"fraud","features":{"note":"braces } and \"quotes\", commas"},"score":0.12})",
      R"({"source":"srv-4","seq":3,"type":"audit","action":"rollback","actor":"ops","model":"fraud","version":"1.2","reason":"latency"})",
      R"(  { "source" : "srv-4" , "seq" : 4 }  )",
      R"({"source":"srv-4","seq":5,"text":"caf\u00e9 ☕"})",
  };
  return events;
}

TEST(CppSigner, ItsInBodySignaturesVerifyAndEditsFail) {
  const auto s = k1_signer();
  for (const auto& e : sample_events()) {
    const std::string signed_event = s.sign_body(e);
    ASSERT_FALSE(signed_event.empty()) << e;
    EXPECT_EQ(ring_verifier().verify(signed_event, std::nullopt, t0).status,
              integrity_status::verified)
        << signed_event;
    std::string edited = signed_event;
    edited[edited.find("srv-4") + 4] = '5';
    EXPECT_EQ(ring_verifier().verify(edited, std::nullopt, t0).status, integrity_status::invalid);
  }
}

TEST(CppSigner, ItsHeaderSignaturesVerify) {
  const auto s = k1_signer();
  for (const auto& e : sample_events()) {
    EXPECT_EQ(ring_verifier().verify(e, s.header_value(e), t0).status, integrity_status::verified);
    EXPECT_EQ(ring_verifier().verify(e + " ", s.header_value(e), t0).status,
              integrity_status::invalid);
  }
}

TEST(CppSigner, ASignedStreamPassesTheWholeChecker) {
  auto c = make_checker();
  const auto s = k1_signer();
  bulwark_signer::sequence seq("srv-7");
  for (int i = 0; i < 50; ++i) {
    const std::uint64_t n = seq.next();
    const std::string event = R"({"ts":)" + std::to_string(t0 + i) + R"(,"source":"srv-7","seq":)" +
                              std::to_string(n) + R"(,"epoch":")" + seq.epoch() + R"("})";
    const std::string raw = s.sign_body(event);
    event_facts f;
    f.raw = raw;
    f.event_time = t0 + i;
    f.source = "srv-7";
    f.seq = n;
    f.epoch = seq.epoch();
    const auto r = c.check(f, t0 + i);
    EXPECT_EQ(r.status, integrity_status::verified);
    EXPECT_TRUE(r.alerts.empty());
  }
  EXPECT_TRUE(c.finish(t0 + 100).empty());
}

TEST(CppSigner, RefusesWhatCannotCarryASignature) {
  const auto s = k1_signer();
  EXPECT_TRUE(s.sign_body("{}").empty());
  EXPECT_TRUE(s.sign_body("{ }").empty());
  EXPECT_TRUE(s.sign_body("[1]").empty());
  EXPECT_TRUE(s.sign_body("").empty());
  EXPECT_FALSE(bulwark_signer::signer::from_hex("k1", "abc").has_value());
  EXPECT_FALSE(bulwark_signer::signer::from_hex("k1", "zz").has_value());
}

/// Runs the Python example over `input` and returns its standard output.
std::string run_python(const std::string& input, const std::string& extra_args) {
  bulwark::testing::temp_dir dir;
  bulwark::testing::write_file(dir.file("in.ndjson"), input);
  const std::string cmd = std::string(BULWARK_PYTHON3) + " " + BULWARK_SOURCE_DIR +
                          "/examples/sign_event.py --kid k1 --key-hex " + key1_hex + " " +
                          extra_args + " < " + dir.file("in.ndjson");
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    out.append(buf.data(), n);
  EXPECT_EQ(::pclose(p), 0) << cmd;
  return out;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

std::string joined_events() {
  std::string input;
  for (const auto& e : sample_events())
    input += e + "\n";
  return input;
}

TEST(PythonSigner, ItsInBodySignaturesVerifyAndMatchTheCppSigner) {
  if (std::string(BULWARK_PYTHON3).empty()) GTEST_SKIP() << "python3 not found at configure time";
  const auto out = lines_of(run_python(joined_events(), ""));
  ASSERT_EQ(out.size(), sample_events().size());
  const auto s = k1_signer();
  for (std::size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(ring_verifier().verify(out[i], std::nullopt, t0).status, integrity_status::verified)
        << out[i];
    EXPECT_EQ(out[i], s.sign_body(sample_events()[i])); // byte for byte
  }
}

TEST(PythonSigner, ItsHeaderSignaturesVerify) {
  if (std::string(BULWARK_PYTHON3).empty()) GTEST_SKIP() << "python3 not found at configure time";
  const auto out = lines_of(run_python(joined_events(), "--header"));
  ASSERT_EQ(out.size(), sample_events().size());
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto tab = out[i].find('\t');
    ASSERT_NE(tab, std::string::npos);
    const std::string header = out[i].substr(0, tab);
    const std::string value = out[i].substr(tab + 1);
    EXPECT_EQ(value, sample_events()[i]);
    EXPECT_EQ(ring_verifier().verify(value, header, t0).status, integrity_status::verified);
    EXPECT_EQ(ring_verifier().verify(value + " ", header, t0).status, integrity_status::invalid);
  }
}

} // namespace
} // namespace bulwark::integrity
