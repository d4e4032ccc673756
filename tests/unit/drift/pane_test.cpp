#include "drift/pane.hpp"
#include "drift/reference.hpp"

#include <gtest/gtest.h>
#include <random>

namespace bulwark::drift {
namespace {

TEST(DriftCategorySketch, MergingTwoHalvesKeepsTheBottomKOfTheWhole) {
  category_sketch whole, left, right;
  for (int i = 0; i < 100; ++i) {
    const auto h = category_hash("value-" + std::to_string(i));
    whole.add(h);
    (i % 3 == 0 ? left : right).add(h);
    (i % 3 == 0 ? left : right).add(h); // repeats do not count twice
  }
  left.merge(right);
  EXPECT_EQ(left, whole);
  EXPECT_TRUE(whole.saturated());
  // The KMV estimate lands within a factor of two of 100 distinct values.
  EXPECT_GT(whole.distinct(), 50);
  EXPECT_LT(whole.distinct(), 200);
}

TEST(DriftCategorySketch, CountsExactlyBelowItsSize) {
  category_sketch s;
  s.add(category_hash("a"));
  s.add(category_hash("b"));
  s.add(category_hash("a"));
  EXPECT_EQ(s.distinct(), 2.0);
  EXPECT_FALSE(s.saturated());
}

TEST(DriftPane, MergeIsExactAndOrderIndependent) {
  std::mt19937_64 rng(11);
  pane a(5), b(5), c(5), all(5);
  for (int i = 0; i < 300; ++i) {
    pane& target = i % 3 == 0 ? a : (i % 3 == 1 ? b : c);
    const auto slot = rng() % 5;
    const auto u = rng() % (u_scale + 1);
    const timestamp_ms t = 1000 + static_cast<timestamp_ms>(rng() % 50);
    for (pane* p : {&target, &all}) {
      ++p->slots[slot];
      ++p->u_n;
      p->u_sum += u;
      p->u_sum_sq += u * u;
      p->note(t, static_cast<std::uint64_t>(i));
    }
  }
  pane abc = a, cba = c;
  abc.merge(b);
  abc.merge(c);
  cba.merge(b);
  cba.merge(a);
  EXPECT_EQ(abc, all);
  EXPECT_EQ(cba, all);
}

TEST(DriftPane, JsonRoundTripsAndChecksTheSlotCount) {
  pane p(3);
  p.slots = {1, 2, 3};
  p.u_n = 3;
  p.u_sum = 5000;
  p.u_sum_sq = 9000000;
  p.note(1234, 77);
  p.novel.add(0xffffffffffffffffULL);
  json_writer w;
  write_pane(w, p);
  const auto v = std::get<json::value>(json::parse(w.str()));
  auto back = read_pane(v, 3);
  ASSERT_TRUE(std::holds_alternative<pane>(back));
  EXPECT_EQ(std::get<pane>(back), p);
  EXPECT_TRUE(std::holds_alternative<error>(read_pane(v, 4)));
}

} // namespace
} // namespace bulwark::drift

namespace bulwark::drift {
namespace {

TEST(DriftJsonReader, ReadsWhatTheModuleWritesAndRejectsTheRest) {
  const auto ok =
      json::parse(R"( {"a":[1,-2.5e3,"x\u00e9\ud83d\ude00\n"],"b":{"c":null,"d":true}} )");
  ASSERT_TRUE(std::holds_alternative<json::value>(ok));
  const auto& v = std::get<json::value>(ok);
  const auto* a = v.find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->items[0].as_u64(), 1U);
  EXPECT_EQ(a->items[1].as_double(), -2500.0);
  EXPECT_FALSE(a->items[1].as_u64());
  EXPECT_EQ(a->items[2].text, "x\xC3\xA9\xF0\x9F\x98\x80\n");
  EXPECT_TRUE(v.find("b")->find("c")->is_null());
  EXPECT_EQ(json::parse("18446744073709551615").index(), 0U);
  EXPECT_EQ(std::get<json::value>(json::parse("18446744073709551615")).as_u64(),
            18446744073709551615ULL);
  for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\ud800\"", "\"a\nb\"",
                          "[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]", "{} x", "tru"})
    EXPECT_TRUE(std::holds_alternative<std::string>(json::parse(bad))) << bad;
}

} // namespace
} // namespace bulwark::drift
