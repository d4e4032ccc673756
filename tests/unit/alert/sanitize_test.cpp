// The defensive gate: identifiers, titles and evidence.
#include "alert/sanitize.hpp"
#include "unit/alert/mini_json.hpp"

#include <gtest/gtest.h>

namespace {

using namespace bulwark::alert;

TEST(Sanitize, PlainIdentifiersPassUnchanged) {
  for (const char* name : {"srv-4", "fraud-svc.eu_1", "/features/amount", "integrity.tamper",
                           "k1:v2", "latency_p99_ms"})
    EXPECT_EQ(safe_identifier(name, 64), name);
}

TEST(Sanitize, AnythingElseIsShownOnlyAsAHash) {
  for (const auto& name :
       {std::string("jane.doe@example.com"), std::string("has space"), std::string("quote\"d"),
        std::string("caf\xc3\xa9"), std::string(65, 'a')}) {
    const std::string shown = safe_identifier(name, 64);
    EXPECT_EQ(shown.size(), 17U) << name;
    EXPECT_EQ(shown[0], '~');
    EXPECT_EQ(shown.find(name), std::string::npos);
    EXPECT_EQ(shown, safe_identifier(name, 64)) << "stable";
  }
  EXPECT_NE(safe_identifier("a b", 64), safe_identifier("a c", 64));
}

TEST(Sanitize, ClippingNeverSplitsAUtf8Character) {
  const std::string text = "ab\xc3\xa9\xc3\xa9"; // a b é é
  EXPECT_EQ(clip_utf8(text, 3), "ab");
  EXPECT_EQ(clip_utf8(text, 4), "ab\xc3\xa9");
  EXPECT_EQ(clip_utf8(text, 100), text);
}

TEST(Sanitize, TheValidatorAcceptsJsonObjects) {
  for (const char* ok : {"{}", " { } ", R"({"a":1,"b":[true,false,null,-1.5e3,"x\u00e9\n"]})",
                         R"({"nested":{"deeper":{"x":[{}]}}})", "{\"caf\xc3\xa9\":0}"})
    EXPECT_TRUE(is_json_object(ok)) << ok;
}

TEST(Sanitize, TheValidatorRejectsEverythingElse) {
  for (const auto& bad :
       {std::string("[]"), std::string("\"s\""), std::string("{"), std::string("{\"a\":}"),
        std::string("{\"a\":1,}"), std::string("{\"a\":01}"), std::string("{\"a\":1} x"),
        std::string("{\"a\":\"\x01\"}"), std::string("{\"a\":\"\xff\"}"),
        std::string("{\"a\":\"\\x\"}"), std::string("{'a':1}"), std::string("{\"a\":tru}"),
        std::string("{\"a\":1}{\"b\":2}"), std::string("")})
    EXPECT_FALSE(is_json_object(bad)) << bad;
}

TEST(Sanitize, DeepNestingIsRejectedWithoutRecursingWithoutBound) {
  std::string deep = "{\"a\":";
  for (int i = 0; i < 100'000; ++i)
    deep += '[';
  EXPECT_FALSE(is_json_object(deep));
  std::string ok = "{\"a\":";
  for (int i = 0; i < 20; ++i)
    ok += '[';
  for (int i = 0; i < 20; ++i)
    ok += ']';
  ok += '}';
  EXPECT_TRUE(is_json_object(ok));
}

TEST(Sanitize, OversizeOrInvalidEvidenceIsReplacedByAPlaceholder) {
  evidence_check why{};
  const std::string big = "{\"x\":\"" + std::string(5000, 'z') + "\"}";
  const std::string replaced = checked_evidence(big, 2048, &why);
  EXPECT_EQ(why, evidence_check::oversize);
  const auto doc = mini_json::parse(replaced);
  EXPECT_EQ(doc["omitted"].s, "oversize");
  EXPECT_EQ(doc["limit"].i(), 2048);
  EXPECT_EQ(replaced.find("zzz"), std::string::npos);

  EXPECT_EQ(checked_evidence("{\"x\":", 2048, &why), R"({"omitted":"invalid"})");
  EXPECT_EQ(why, evidence_check::invalid);
  EXPECT_EQ(checked_evidence("", 2048, &why), "{}");
  EXPECT_EQ(why, evidence_check::empty);
  EXPECT_EQ(checked_evidence(R"({"psi":0.3})", 2048, &why), R"({"psi":0.3})");
  EXPECT_EQ(why, evidence_check::ok);
}

TEST(Sanitize, Hash64IsStableAndSpreads) {
  EXPECT_EQ(hash64("abc"), hash64("abc"));
  EXPECT_NE(hash64("abc"), hash64("abd"));
  EXPECT_EQ(hex64(0x0123456789abcdefULL), "0123456789abcdef");
}

} // namespace
