#include "core/verdict.hpp"

#include <gtest/gtest.h>

namespace bulwark {
namespace {

TEST(Vocabulary, VerdictNamesAreTheOnesSpecSection3Uses) {
  EXPECT_EQ(to_string(verdict::clean), "clean");
  EXPECT_EQ(to_string(verdict::redacted), "redacted");
  EXPECT_EQ(to_string(verdict::flagged), "flagged");
  EXPECT_EQ(to_string(verdict::quarantined), "quarantined");
  EXPECT_EQ(to_string(verdict::rejected), "rejected");
}

TEST(Vocabulary, CategoryAndActionNamesAreTheOnesSpecSection3Uses) {
  EXPECT_EQ(to_string(category::secret), "secret");
  EXPECT_EQ(to_string(category::pii), "pii");
  EXPECT_EQ(to_string(category::prompt_leak), "prompt_leak");
  EXPECT_EQ(to_string(category::injection), "injection");
  EXPECT_EQ(to_string(action::tag), "tag");
  EXPECT_EQ(to_string(action::hash), "hash");
  EXPECT_EQ(to_string(action::mask), "mask");
  EXPECT_EQ(to_string(action::drop), "drop");
  EXPECT_EQ(to_string(action::defuse), "defuse");
}

} // namespace
} // namespace bulwark
