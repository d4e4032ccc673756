#include "core/time.hpp"

#include <gtest/gtest.h>

namespace bulwark {
namespace {

TEST(Time, ParsesUtcAndOffsets) {
  EXPECT_EQ(parse_rfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(parse_rfc3339("2026-11-27T10:15:00Z"), 1795774500000);
  EXPECT_EQ(parse_rfc3339("2026-11-27T12:15:00+02:00"), 1795774500000);
  EXPECT_EQ(parse_rfc3339("2026-11-27T09:15:00.5-01:00"), 1795774500500);
  EXPECT_EQ(parse_rfc3339("2026-11-27t10:15:00.123456z"), 1795774500123);
  EXPECT_EQ(parse_rfc3339("2026-11-27 10:15:00Z"), 1795774500000);
  EXPECT_EQ(parse_rfc3339("1969-12-31T23:59:59Z"), -1000);
}

TEST(Time, RejectsWhatIsNotRfc3339) {
  for (const char* bad :
       {"", "2026-11-27", "2026-11-27T10:15:00", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "2026-11-27T24:00:00Z", "2026-11-27T10:15:00.Z", "2026-11-27T10:15:00+0200",
        "2026-11-27T10:15:00Zjunk", "20261127T101500Z", "2026-11-27T10:15:00+24:00"})
    EXPECT_FALSE(parse_rfc3339(bad).has_value()) << bad;
  EXPECT_TRUE(parse_rfc3339("2024-02-29T00:00:00Z").has_value());
}

TEST(Time, FormatsAndRoundTrips) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
  for (const timestamp_ms t :
       {timestamp_ms{1795774500123}, timestamp_ms{951782400000}, timestamp_ms{-86400001}})
    EXPECT_EQ(parse_rfc3339(format_rfc3339(t)), t);
}

} // namespace
} // namespace bulwark
