#include "scan/examples.hpp"
#include "scan/redact.hpp"
#include "scan/ruleset_impl.hpp"
#include "scan/scanner.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <thread>

namespace bulwark::scan {
namespace {

std::shared_ptr<const ruleset> build(const std::string& yaml, ruleset_options o = {}) {
  auto specs = config::load_rule_string(yaml, "test.yaml");
  if (auto* e = std::get_if<config::load_error>(&specs)) {
    ADD_FAILURE() << e->message();
    return nullptr;
  }
  auto built = ruleset::build(std::get<std::vector<config::rule_spec>>(specs), o);
  if (auto* e = std::get_if<std::string>(&built)) {
    ADD_FAILURE() << *e;
    return nullptr;
  }
  return std::get<std::shared_ptr<const ruleset>>(built);
}

std::string rule(const std::string& id, const std::string& body) {
  return "  - id: " + id + "\n" + body + "    examples: {match: [x], no_match: []}\n";
}

const std::string two_rules = "rules:\n" +
                              rule("token", "    category: secret\n    severity: high\n"
                                            "    pattern: 'tok_([a-z0-9]{8})'\n") +
                              rule("word", "    category: pii\n    severity: low\n"
                                           "    pattern: '[a-z]{3,}'\n");

std::string redacted(scanner& s, const std::string& text) {
  std::vector<match> m;
  s.scan(text, m);
  std::string out;
  std::vector<action> applied;
  rewrite_value(text, m, s.rules(), std::nullopt, out, applied);
  return out;
}

TEST(Scanner, TheFirstCapturingGroupIsTheRedactedSpan) {
  auto rs = build("rules:\n" + rule("token", "    category: secret\n"
                                             "    pattern: 'tok_([a-z0-9]{8})'\n"));
  ASSERT_TRUE(rs);
  scanner s(rs);
  std::vector<match> m;
  s.scan("id tok_abcd1234 end", m);
  ASSERT_EQ(m.size(), 1U);
  EXPECT_EQ(m[0].begin, 7U);
  EXPECT_EQ(m[0].end, 15U);
  EXPECT_EQ(redacted(s, "id tok_abcd1234 end"), "id tok_[REDACTED:token] end");
}

TEST(Scanner, EveryOccurrenceInAValueIsFound) {
  auto rs = build("rules:\n" + rule("token", "    category: secret\n"
                                             "    pattern: 'tok_([a-z0-9]{8})'\n"));
  ASSERT_TRUE(rs);
  scanner s(rs);
  EXPECT_EQ(redacted(s, "tok_aaaaaaaa,tok_bbbbbbbb tok_cccccccc"),
            "tok_[REDACTED:token],tok_[REDACTED:token] tok_[REDACTED:token]");
}

TEST(Scanner, OverlapsResolveToTheLongestThenTheMostSevere) {
  auto rs = build(two_rules);
  ASSERT_TRUE(rs);
  scanner s(rs);
  std::vector<match> m;
  s.candidates("tok_abcdefgh", m);
  // token: [4,12); word: "tok" [0,3) and "abcdefgh" [4,12).
  EXPECT_EQ(m.size(), 3U);
  s.scan("tok_abcdefgh", m);
  ASSERT_EQ(m.size(), 2U);
  EXPECT_EQ(rs->rule(m[0].rule).spec.id, "word");
  EXPECT_EQ(m[0].end, 3U);
  // Same length [4,12): the more severe secret wins over the low pii rule.
  EXPECT_EQ(rs->rule(m[1].rule).spec.id, "token");
  // Longer wins over more severe: "tok_" + 8 is covered by the longer word run.
  s.scan("tok_abcdefghijkl", m);
  ASSERT_EQ(m.size(), 2U);
  EXPECT_EQ(rs->rule(m[1].rule).spec.id, "word");
  EXPECT_EQ(m[1].end - m[1].begin, 12U);
}

TEST(Scanner, TheWinnerOfAnOverlapAbsorbsTheLosersBytesSoNothingLeaks) {
  auto rs =
      build("rules:\n" + rule("pass", "    category: secret\n    pattern: 'pw=([^@ ]{4,})'\n") +
            rule("mail", "    category: pii\n    pattern: '[a-z]+@[a-z]+\\.[a-z]{2,}'\n"));
  ASSERT_TRUE(rs);
  scanner s(rs);
  // "xy!!ab" is the password; the longer "ab@example.org" wins the overlap
  // but must not leave "xy!!" in clear.
  EXPECT_EQ(redacted(s, "pw=xy!!ab@example.org end"), "pw=[REDACTED:mail] end");
}

TEST(Scanner, ValidatorsKeywordsAndAllowListsConfirmMatches) {
  auto rs = build("rules:\n" +
                  rule("card", "    category: pii\n    pattern: '\\b(\\d{16})\\b'\n"
                               "    validator: luhn\n") +
                  rule("pin", "    category: secret\n    pattern: '\\b(\\d{4})\\b'\n"
                              "    keywords: [pin]\n    keyword_window: 8\n") +
                  rule("key", "    category: secret\n    pattern: '\\bK-([A-Z]{4})'\n"
                              "    allow: [TEST]\n"));
  ASSERT_TRUE(rs);
  scanner s(rs);
  EXPECT_EQ(redacted(s, "card 4111111111111111"), "card [REDACTED:card]");
  EXPECT_EQ(redacted(s, "card 4111111111111112"), "card 4111111111111112") << "fails Luhn";
  EXPECT_EQ(redacted(s, "pin: 1234"), "pin: [REDACTED:pin]");
  EXPECT_EQ(redacted(s, "pin is not here, 1234"), "pin is not here, 1234") << "keyword too far";
  EXPECT_EQ(redacted(s, "K-ABCD K-TEST"), "K-[REDACTED:key] K-TEST");
}

TEST(Scanner, AValidValueRightAfterAnInvalidLookAlikeIsFound) {
  // The leftmost match "4111 4539 5787 6362" fails Luhn; the card starts at
  // the second group. Found by fuzzing (tests/fuzz/corpus/scan_redact/regress-card-*).
  auto rs = build("rules:\n" +
                  rule("card", "    category: pii\n"
                               "    pattern: '\\b(\\d{4} \\d{4} \\d{4} \\d{4})\\b'\n"
                               "    validator: luhn\n") +
                  rule("mail", "    category: pii\n    pattern: '[a-z]+@example\\.org'\n"
                               "    allow: [abc@example.org]\n"));
  ASSERT_TRUE(rs);
  scanner s(rs);
  EXPECT_EQ(redacted(s, "4111 4539 5787 6362 1486"), "4111 [REDACTED:card]");
  EXPECT_EQ(redacted(s, "4111 1111 1111 1112"), "4111 1111 1111 1112") << "no valid alignment";
  // A refusal by the allow list is final: a shifted match of an allowed value
  // ("bc@example.org") must not be reported.
  EXPECT_EQ(redacted(s, "abc@example.org"), "abc@example.org");
  // Bounded: a long run of look-alikes costs a bounded number of retries.
  std::string run;
  for (int i = 0; i < 2000; ++i)
    run += "1234 ";
  EXPECT_EQ(redacted(s, run), run);
}

TEST(Scanner, ADefusedSpanNeverHidesASecretInsideIt) {
  // An injection match is defused (its bytes stay, neutralised); it must not
  // absorb a secret or card inside it, which would then stay in clear. Found
  // by fuzzing (tests/fuzz/corpus/scan_redact/regress-defuse-absorbs-*).
  auto rs = build("rules:\n" +
                  rule("attr", "    category: injection\n"
                               "    pattern: '<[a-z]+ [^>]*on[a-z]+='\n") +
                  rule("akid", "    category: secret\n    pattern: 'AKIA[A-Z0-9]{16}'\n"));
  ASSERT_TRUE(rs);
  scanner s(rs);
  std::vector<match> m;
  s.scan("<a AKIAZ3MSJV4WWNKWW5FG onclick=", m);
  std::string spans;
  for (const match& x : m)
    spans +=
        std::to_string(x.rule) + ":" + std::to_string(x.begin) + "-" + std::to_string(x.end) + " ";
  EXPECT_EQ(spans, "0:0-3 1:3-23 0:23-32 ") << "the defused span, cut around the secret";
  const std::string out = redacted(s, "<a AKIAZ3MSJV4WWNKWW5FG onclick=");
  EXPECT_EQ(out.find("AKIAZ3MSJV4WWNKWW5FG"), std::string::npos) << out;
  EXPECT_NE(out.find("[REDACTED:akid]"), std::string::npos) << out;
  EXPECT_EQ(out.find('<'), std::string::npos) << "the markup around it is still defused: " << out;
}

TEST(Scanner, ManyCandidatesResolveLikeFewAcrossEveryOverlapShape) {
  // Past 64 candidates in a value, resolve() switches to an ordered map (1 MB
  // of `ESC[` took 47 s with the pass over every winner). The unit below has
  // nested, chained and absorbed overlaps of redacting and defusing rules; 40
  // copies of it (over 64 candidates) must resolve to 40 copies of what one
  // copy (the small path) resolves to.
  auto rs = build("rules:\n" +
                  rule("long", "    category: secret\n    severity: low\n"
                               "    pattern: 'k[a-z]{6}'\n") +
                  rule("short", "    category: secret\n    severity: high\n"
                                "    pattern: '[a-z]{3}9'\n") +
                  rule("chain", "    category: pii\n    pattern: 'x[a-z]{2}'\n") +
                  rule("tag", "    category: injection\n    pattern: '<[a-z]+[ >]'\n") +
                  rule("akid", "    category: secret\n    pattern: 'AKIA[A-Z0-9]{16}'\n"));
  ASSERT_TRUE(rs);
  const std::string unit = "kabcdefg9 xaxbxcxd <b AKIAZ3MSJV4WWNKWW5FG <i> abc9 | ";
  const auto spans_of = [&](const std::string& text) {
    scanner s(rs);
    std::vector<match> m;
    s.scan(text, m);
    return m;
  };
  const std::vector<match> one = spans_of(unit);
  ASSERT_GE(one.size(), 4U);
  ASSERT_LE(one.size(), 64U) << "one copy takes the small path";
  std::string many;
  for (int i = 0; i < 40; ++i)
    many += unit;
  const std::vector<match> got = spans_of(many);
  ASSERT_EQ(got.size(), one.size() * 40);
  for (std::size_t k = 0; k < got.size(); ++k) {
    const match& want = one[k % one.size()];
    const auto shift = static_cast<std::uint32_t>(unit.size() * (k / one.size()));
    EXPECT_EQ(got[k].rule, want.rule) << k;
    EXPECT_EQ(got[k].begin, want.begin + shift) << k;
    EXPECT_EQ(got[k].end, want.end + shift) << k;
  }
}

TEST(Scanner, ActionsTagMaskAndDefuseAsConfigured) {
  auto rs =
      build("rules:\n" +
            rule("card", "    category: pii\n    pattern: '\\b(\\d{4} \\d{4} \\d{4} \\d{4})\\b'\n"
                         "    action: mask\n") +
            rule("esc", "    category: injection\n    pattern: '\\x1b\\[[0-9;]*m'\n"));
  ASSERT_TRUE(rs);
  scanner s(rs);
  EXPECT_EQ(redacted(s, "4111 1111 1111 1111"), "**** **** **** 1111");
  EXPECT_EQ(rs->rule(1).act, action::defuse) << "injections default to defuse";
}

TEST(Scanner, TheHashActionGivesAStableKeyedToken) {
  const std::string rules_yaml =
      "rules:\n" + rule("token", "    category: secret\n    pattern: 'tok_([a-z0-9]{8})'\n"
                                 "    action: hash\n");
  ruleset_options with_key;
  with_key.hash_key.assign(32, 0x42);
  auto rs = build(rules_yaml, with_key);
  ASSERT_TRUE(rs);
  scanner s(rs);
  const std::string a = redacted(s, "tok_abcd1234");
  EXPECT_EQ(a.rfind("tok_[token:", 0), 0U) << a;
  EXPECT_EQ(a.size(), std::string("tok_[token:").size() + 12 + 1) << a;
  EXPECT_EQ(redacted(s, "again tok_abcd1234"), "again " + a) << "same value, same token";
  EXPECT_NE(redacted(s, "tok_abcd1235"), a);
  ruleset_options other_key;
  other_key.hash_key.assign(32, 0x43);
  auto rs2 = build(rules_yaml, other_key);
  ASSERT_TRUE(rs2);
  scanner s2(rs2);
  EXPECT_NE(redacted(s2, "tok_abcd1234"), a) << "the token depends on the key";
}

TEST(Scanner, AHashActionWithoutAKeyIsRefusedSayingWhy) {
  auto specs = config::load_rule_string(
      "rules:\n" + rule("token", "    category: secret\n    pattern: 'tok_'\n    action: hash\n"),
      "h.yaml");
  ruleset_options no_key;
  no_key.hash_key_problem = "env BULWARK_HASH_KEY: not set";
  auto built = ruleset::build(std::get<std::vector<config::rule_spec>>(specs), no_key);
  ASSERT_TRUE(std::holds_alternative<std::string>(built));
  EXPECT_NE(std::get<std::string>(built).find(
                "action hash needs rules.hash_key (env BULWARK_HASH_KEY: not set)"),
            std::string::npos)
      << std::get<std::string>(built);
}

TEST(Scanner, AValueWithNoMatchYieldsNothing) {
  auto rs = build(two_rules);
  ASSERT_TRUE(rs);
  scanner s(rs);
  std::vector<match> m;
  s.scan("12 34 56", m);
  EXPECT_TRUE(m.empty());
  s.scan("", m);
  EXPECT_TRUE(m.empty());
}

TEST(Scanner, ValuesOfOneEventAreScannedTogetherButMatchOnlyWithinAValue) {
  auto rs =
      build("rules:\n" + rule("start", "    category: secret\n    pattern: '^(tok_[a-z]{4})'\n") +
            rule("split", "    category: secret\n    pattern: 'abc[a-z]*def'\n"));
  ASSERT_TRUE(rs);
  scanner s(rs);
  const std::vector<std::string_view> values{"x tok_aaaa", "tok_bbbb at start", "abc", "def",
                                             "abcxdef"};
  std::vector<std::vector<match>> out;
  s.scan_values(values, out);
  ASSERT_GE(out.size(), values.size());
  EXPECT_TRUE(out[0].empty()) << "^ holds at a value's start only";
  ASSERT_EQ(out[1].size(), 1U);
  EXPECT_EQ(out[1][0].begin, 0U);
  EXPECT_TRUE(out[2].empty()) << "no match across two values";
  EXPECT_TRUE(out[3].empty());
  ASSERT_EQ(out[4].size(), 1U);
  EXPECT_EQ(out[4][0].end, 7U);
}

TEST(Scanner, ARuleIsConfirmedInEveryValueItOccursInAndOnlyThere) {
  // Hyperscan reports every occurrence, RE2 confirms rule by rule in the
  // values that held one: the same rule in several values of one event (raw
  // and normalized forms, interleaved with another rule) is found in each,
  // and a filter hit read across the newline between two values finds
  // nothing in either.
  auto rs =
      build("rules:\n" + rule("token", "    category: secret\n    pattern: 'tok_([a-z0-9]{8})'\n") +
            rule("mark", "    category: pii\n    pattern: 'zq[0-9]{3}'\n") +
            rule("phrase", "    category: injection\n    form: normalized\n"
                           "    pattern: 'ignore previous'\n") +
            rule("split", "    category: secret\n    pattern: 'abc\\s*defg'\n"));
  ASSERT_TRUE(rs);
  scanner s(rs);
  const std::vector<std::string_view> values{"tok_aaaa1111",
                                             "zq123 and IGNORE PREVIOUS",
                                             "nothing here",
                                             "x tok_bbbb2222 y",
                                             "abc",
                                             "defg",
                                             "zq456",
                                             "Ignore%20previous",
                                             "tok_cccc3333 tok_dddd4444"};
  std::vector<std::vector<match>> out;
  s.scan_values(values, out);
  ASSERT_GE(out.size(), values.size());
  const auto rules_of = [&](std::size_t i) {
    std::vector<std::pair<std::string, std::uint32_t>> r;
    for (const match& m : out[i])
      r.emplace_back(rs->rule(m.rule).spec.id, m.begin);
    std::sort(r.begin(), r.end());
    return r;
  };
  using found = std::vector<std::pair<std::string, std::uint32_t>>;
  EXPECT_EQ(rules_of(0), (found{{"token", 4}}));
  EXPECT_EQ(rules_of(1), (found{{"mark", 0}, {"phrase", 10}}));
  EXPECT_EQ(rules_of(2), found{});
  EXPECT_EQ(rules_of(3), (found{{"token", 6}}));
  EXPECT_EQ(rules_of(4), found{}) << "abc\ndefg spans two values";
  EXPECT_EQ(rules_of(5), found{});
  EXPECT_EQ(rules_of(6), (found{{"mark", 0}}));
  EXPECT_EQ(rules_of(7), (found{{"phrase", 0}}));
  EXPECT_EQ(rules_of(8), (found{{"token", 4}, {"token", 17}}));
}

TEST(Scanner, KeywordRulesWithoutAByteGateScanOnlyValuesHoldingAKeyword) {
  // Letters only: no byte gate, so the keyword rules are scanned only in the
  // values where the every-value database (here with the rule "plain" in it)
  // saw one of their keywords, whatever the case.
  auto rs = build("rules:\n" +
                  rule("pin", "    category: secret\n    pattern: '\\b([a-z]{6})\\b'\n"
                              "    keywords: [pin, 'p.i.n']\n    keyword_window: 8\n") +
                  rule("plain", "    category: pii\n    pattern: '\\bzz([a-z]{4})\\b'\n") +
                  rule("code", "    category: secret\n    pattern: '\\b(q[a-z]{7})\\b'\n"
                               "    keywords: [code]\n"));
  ASSERT_TRUE(rs);
  const auto& dbs = rs->internals().raw;
  ASSERT_EQ(std::count_if(dbs.begin(), dbs.end(), [](const gated_db& g) { return g.by_keyword; }),
            1)
      << "the test must exercise the keyword gate";
  scanner s(rs);
  const std::vector<std::string_view> values{
      "pin abcdef", "abcdef",   "PIN: qwerty",   "zzdefg",     "a qrstuvwx code", "p.i.n uvwxyz",
      "qrstuvwx",   "abc\npin", "CoDe qponmlkj", "hijklm pin", "xpinx defghi"};
  std::vector<std::vector<match>> out;
  s.scan_values(values, out);
  ASSERT_GE(out.size(), values.size());
  const auto one = [&](std::size_t i, std::uint32_t rule, std::uint32_t b, std::uint32_t e) {
    ASSERT_EQ(out[i].size(), 1U) << values[i];
    EXPECT_EQ(out[i][0].rule, rule) << values[i];
    EXPECT_EQ(out[i][0].begin, b) << values[i];
    EXPECT_EQ(out[i][0].end, e) << values[i];
  };
  one(0, 0, 4, 10);
  EXPECT_TRUE(out[1].empty()) << "a keyword in another value does not count";
  one(2, 0, 5, 11);
  one(3, 1, 2, 6);
  EXPECT_TRUE(out[4].empty()) << "the keyword must come before or inside the match";
  one(5, 0, 6, 12);
  EXPECT_TRUE(out[6].empty());
  EXPECT_TRUE(out[7].empty()) << "no 6-letter word";
  one(8, 2, 5, 13);
  EXPECT_TRUE(out[9].empty()) << "keyword after the match";
  one(10, 0, 6, 12);
}

TEST(Scanner, AKeywordRuleWithALiteralOfItsOwnIsScannedInTheEveryValueDatabase) {
  // "pass" is a literal Hyperscan finds by itself: gating the rule on its
  // keyword would cost a keyword match in every value saying "login" and a
  // second scan of those. The keyword still decides.
  auto rs =
      build("rules:\n" + rule("after-login", "    category: secret\n"
                                             "    pattern: '\\bpass[ :]+([a-z0-9]{6,})'\n"
                                             "    keywords: [login]\n    keyword_window: 32\n"));
  ASSERT_TRUE(rs);
  const auto& dbs = rs->internals().raw;
  EXPECT_EQ(std::count_if(dbs.begin(), dbs.end(), [](const gated_db& g) { return g.by_keyword; }),
            0);
  scanner s(rs);
  const std::vector<std::string_view> values{"login bob pass: abc123", "pass: abc123",
                                             "LOGIN pass xyz789q"};
  std::vector<std::vector<match>> out;
  s.scan_values(values, out);
  ASSERT_GE(out.size(), values.size());
  ASSERT_EQ(out[0].size(), 1U);
  EXPECT_EQ(out[0][0].begin, 16U);
  EXPECT_EQ(out[0][0].end, 22U);
  EXPECT_TRUE(out[1].empty()) << "no keyword, no finding";
  ASSERT_EQ(out[2].size(), 1U);
  EXPECT_EQ(out[2][0].begin, 11U);
}

TEST(Ruleset, SpanExtractorsCompileOnFirstUseAndTheSameForEveryThread) {
  auto rs = build(two_rules);
  ASSERT_TRUE(rs);
  // Several scanners (one per worker) share the ruleset and race to compile.
  std::vector<std::thread> threads;
  std::vector<std::string> got(4);
  for (std::size_t t = 0; t < got.size(); ++t)
    threads.emplace_back([&, t] {
      scanner s(rs);
      got[t] = redacted(s, "key tok_abcd1234 ok");
    });
  for (auto& th : threads)
    th.join();
  for (const auto& g : got)
    EXPECT_EQ(g, "[REDACTED:word] [REDACTED:word]_[REDACTED:token] ok");
  EXPECT_TRUE(rs->compile_all().empty());
}

TEST(Ruleset, APatternTooLargeForTheSpanExtractorFailsClosed) {
  // RE2 parses it (so it loads) but cannot compile 80,000 repeated classes
  // within its memory budget; Hyperscan's filter is its first bytes.
  std::string big = "zq";
  for (int i = 0; i < 80; ++i)
    big += "[^\\x00-\\x08]{1000}";
  auto rs = build("rules:\n" + rule("huge", "    category: secret\n    pattern: '" + big + "'\n"));
  ASSERT_TRUE(rs);
  scanner s(rs);
  std::vector<match> out;
  // The class adds no selectivity, so the filter is the whole pattern: a
  // value with 80,000 such bytes after "zq" is a hit.
  const std::string value = "id zq" + std::string(81000, 'k') + " and more";
  s.scan(value, out);
  ASSERT_EQ(out.size(), 1U) << "the value where the filter hit is taken whole";
  EXPECT_EQ(out[0].begin, 0U);
  EXPECT_EQ(out[0].end, value.size());
  s.scan("nothing here", out);
  EXPECT_TRUE(out.empty());
  const auto unfit = rs->compile_all();
  ASSERT_EQ(unfit.size(), 1U);
  EXPECT_NE(unfit[0].find("test.yaml:2: rule huge: pattern: does not fit the span extractor"),
            std::string::npos)
      << unfit[0];
}

TEST(Ruleset, APatternRe2RejectsIsALoadErrorEvenThoughItCompilesLazily) {
  auto specs = config::load_rule_string(
      "rules:\n" + rule("backref", "    category: secret\n    pattern: '(a)\\1'\n"), "br.yaml");
  ASSERT_TRUE(std::holds_alternative<std::vector<config::rule_spec>>(specs));
  auto built = ruleset::build(std::get<std::vector<config::rule_spec>>(specs));
  ASSERT_TRUE(std::holds_alternative<std::string>(built));
  EXPECT_NE(std::get<std::string>(built).find(
                "br.yaml:2: rule backref: pattern: not supported by the span extractor (RE2)"),
            std::string::npos)
      << std::get<std::string>(built);
}

TEST(Ruleset, ABadPatternNamesTheFileLineAndRule) {
  auto specs = config::load_rule_string("rules:\n" + rule("bad", "    category: secret\n"
                                                                 "    pattern: 'a(b'\n"),
                                        "bad.yaml");
  ASSERT_TRUE(std::holds_alternative<std::vector<config::rule_spec>>(specs));
  auto built = ruleset::build(std::get<std::vector<config::rule_spec>>(specs));
  ASSERT_TRUE(std::holds_alternative<std::string>(built));
  EXPECT_NE(std::get<std::string>(built).find("bad.yaml:2: rule bad: pattern"), std::string::npos)
      << std::get<std::string>(built);
}

TEST(Ruleset, ARuleWithoutMatchExamplesDoesNotLoad) {
  auto specs = config::load_rule_string("rules:\n  - id: x\n    category: pii\n"
                                        "    pattern: 'x'\n    examples: {no_match: [y]}\n",
                                        "r.yaml");
  ASSERT_TRUE(std::holds_alternative<config::load_error>(specs));
  EXPECT_NE(std::get<config::load_error>(specs).message().find("without examples"),
            std::string::npos);
}

TEST(Ruleset, DuplicateIdsAreRefused) {
  auto specs =
      config::load_rule_string("rules:\n" + rule("x", "    category: pii\n    pattern: 'x'\n") +
                                   rule("x", "    category: pii\n    pattern: 'y'\n"),
                               "r.yaml");
  ASSERT_TRUE(std::holds_alternative<config::load_error>(specs));
  EXPECT_NE(std::get<config::load_error>(specs).message().find("duplicate"), std::string::npos);
}

TEST(Examples, AFailingExampleIsReportedWithItsLine) {
  auto rs = build("rules:\n  - id: x\n    category: pii\n    pattern: 'abc'\n"
                  "    examples:\n      match: [abc, xyz]\n      no_match: [zabcz]\n");
  ASSERT_TRUE(rs);
  const auto failures = check_examples(rs);
  ASSERT_EQ(failures.size(), 2U);
  EXPECT_EQ(failures[0].reason, "match example not found");
  EXPECT_EQ(failures[1].reason, "no_match example matched");
  EXPECT_EQ(failures[0].where.rfind("test.yaml:", 0), 0U);
}

} // namespace
} // namespace bulwark::scan
