#include "kafka/commit_tracker.hpp"

#include <algorithm>
#include <gtest/gtest.h>
#include <map>
#include <random>
#include <vector>

namespace bulwark::kafka {
namespace {

TEST(PartitionTracker, NothingIsCommittableBeforeADelivery) {
  partition_tracker t;
  t.begin(10, 1);
  EXPECT_FALSE(t.committable());
  EXPECT_FALSE(t.watermark());
  EXPECT_EQ(t.in_flight(), 1U);
}

TEST(PartitionTracker, ACommitIsTheNextOffsetAfterTheDeliveredRecord) {
  partition_tracker t;
  t.begin(10, 1);
  EXPECT_TRUE(t.delivered(10));
  EXPECT_EQ(t.committable(), 11);
  EXPECT_EQ(t.in_flight(), 0U);
}

TEST(PartitionTracker, AnOutOfOrderDeliveryDoesNotSkipAnUndeliveredRecord) {
  partition_tracker t;
  t.begin(1, 1);
  t.begin(2, 1);
  t.begin(3, 1);
  EXPECT_TRUE(t.delivered(3));
  EXPECT_TRUE(t.delivered(2));
  EXPECT_FALSE(t.committable()) << "record 1 is still in flight";
  EXPECT_TRUE(t.delivered(1));
  EXPECT_EQ(t.committable(), 4);
}

TEST(PartitionTracker, ARecordWithSeveralOutputsWaitsForAllOfThem) {
  partition_tracker t;
  t.begin(5, 3);
  EXPECT_TRUE(t.delivered(5));
  EXPECT_TRUE(t.delivered(5));
  EXPECT_FALSE(t.committable());
  EXPECT_TRUE(t.delivered(5));
  EXPECT_EQ(t.committable(), 6);
  EXPECT_FALSE(t.delivered(5)) << "a fourth report for three outputs is stale";
}

TEST(PartitionTracker, GapsBetweenOffsetsAreFine) {
  partition_tracker t;
  t.begin(100, 1);
  t.begin(250, 1);
  EXPECT_TRUE(t.delivered(100));
  EXPECT_EQ(t.committable(), 101);
  EXPECT_TRUE(t.delivered(250));
  EXPECT_EQ(t.committable(), 251);
}

TEST(PartitionTracker, AStaleReportIsRefusedAndChangesNothing) {
  partition_tracker t;
  t.begin(7, 1);
  EXPECT_FALSE(t.delivered(6));
  EXPECT_FALSE(t.delivered(8));
  EXPECT_FALSE(t.committable());
  EXPECT_EQ(t.in_flight(), 1U);
}

TEST(PartitionTracker, CommittableReportsOnlyWhenTheWatermarkMoved) {
  partition_tracker t;
  t.begin(1, 1);
  t.delivered(1);
  EXPECT_EQ(t.committable(), 2);
  EXPECT_FALSE(t.committable());
  EXPECT_EQ(t.watermark(), 2) << "the final commit still gets the watermark";
}

// Against a reference: in any delivery order, the watermark is one past the
// longest fully delivered prefix of the begun records.
TEST(PartitionTracker, ARefusedCommitIsOfferedAgainWithoutNewInput) {
  partition_tracker t;
  t.begin(5, 1);
  ASSERT_TRUE(t.delivered(5));
  ASSERT_EQ(t.committable(), 6);
  EXPECT_FALSE(t.committable()) << "nothing moved";
  t.refused(6);
  EXPECT_EQ(t.committable(), 6)
      << "the partition is quiet, but its refused commit is offered again";
  EXPECT_FALSE(t.committable());
}

TEST(PartitionTracker, ARefusalOfAnOlderCommitDoesNotRepeatANewerOne) {
  partition_tracker t;
  t.begin(5, 1);
  t.begin(6, 1);
  ASSERT_TRUE(t.delivered(5));
  ASSERT_EQ(t.committable(), 6);
  ASSERT_TRUE(t.delivered(6));
  ASSERT_EQ(t.committable(), 7);
  t.refused(6); // the answer to the first commit arrives after the second was sent
  EXPECT_FALSE(t.committable()) << "7 is on its way and covers 6";
  t.refused(7);
  EXPECT_EQ(t.committable(), 7);
}

TEST(PartitionTracker, MatchesAReferenceInEveryDeliveryOrder) {
  std::mt19937 rng(20261127);
  for (int round = 0; round < 300; ++round) {
    partition_tracker t;
    std::vector<std::int64_t> offsets;
    std::map<std::int64_t, std::uint32_t> remaining;
    std::vector<std::int64_t> reports;
    std::int64_t next = std::uniform_int_distribution<std::int64_t>(0, 1000)(rng);
    const int records = std::uniform_int_distribution<int>(1, 60)(rng);
    for (int i = 0; i < records; ++i) {
      next += std::uniform_int_distribution<std::int64_t>(1, 3)(rng);
      const auto outputs = std::uniform_int_distribution<std::uint32_t>(1, 3)(rng);
      t.begin(next, outputs);
      offsets.push_back(next);
      remaining[next] = outputs;
      for (std::uint32_t k = 0; k < outputs; ++k)
        reports.push_back(next);
    }
    std::shuffle(reports.begin(), reports.end(), rng);
    for (const std::int64_t r : reports) {
      ASSERT_TRUE(t.delivered(r));
      --remaining[r];
      std::optional<std::int64_t> expected;
      for (const std::int64_t o : offsets) {
        if (remaining[o] != 0) break;
        expected = o + 1;
      }
      ASSERT_EQ(t.watermark(), expected);
    }
    EXPECT_EQ(t.watermark(), offsets.back() + 1);
    EXPECT_EQ(t.in_flight(), 0U);
  }
}

} // namespace
} // namespace bulwark::kafka
