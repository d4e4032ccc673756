#include "pipeline/policy.hpp"

#include <gtest/gtest.h>

namespace bulwark::pipeline {
namespace {

TEST(Policy, PathsMatchSegmentBySegmentWithStarForOneSegment) {
  EXPECT_TRUE(policy_set::matches("/features/note", "/features/note"));
  EXPECT_TRUE(policy_set::matches("/input/messages/*/content", "/input/messages/12/content"));
  EXPECT_FALSE(policy_set::matches("/input/messages/*/content", "/input/messages/1/2/content"));
  EXPECT_FALSE(policy_set::matches("/features/note", "/features/notes"));
  EXPECT_FALSE(policy_set::matches("/features/note", "/features/note/0"));
  EXPECT_FALSE(policy_set::matches("/features", "/features/note"));
}

TEST(Policy, TheFirstMatchingPolicyWins) {
  const policy_set p({{"/a/*", "mask"}, {"/a/b", "drop"}, {"/c", "hash"}});
  EXPECT_EQ(p.action_for("/a/b"), action::mask);
  EXPECT_EQ(p.action_for("/c"), action::hash);
  EXPECT_FALSE(p.action_for("/d").has_value());
}

TEST(Policy, MessageMembersAreRecognisedWithTheirMessage) {
  std::string_view message;
  ASSERT_TRUE(policy_set::is_message_content("/input/messages/3/content", message));
  EXPECT_EQ(message, "/input/messages/3");
  ASSERT_TRUE(policy_set::is_message_role("/input/messages/0/role", message));
  EXPECT_EQ(message, "/input/messages/0");
  EXPECT_FALSE(policy_set::is_message_content("/output/messages/3/content", message));
  EXPECT_FALSE(policy_set::is_message_content("/input/messages//content", message));
  EXPECT_FALSE(policy_set::is_message_content("/input/messages/3/content/x", message));
}

} // namespace
} // namespace bulwark::pipeline
