#include "core/allocator.hpp"

#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <malloc.h>

namespace bulwark::core {
namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool sanitizer_allocator = true;
#else
constexpr bool sanitizer_allocator = false;
#endif

TEST(Allocator, AFreedBlockUnderTheThresholdStaysMappedForTheNextOne) {
  if (sanitizer_allocator) GTEST_SKIP() << "the sanitizer's allocator replaces glibc's";
  const allocator_tuning t = tune_allocator();
  ASSERT_TRUE(t.applied) << t.why;
  // 3 MiB: over glibc's default mmap threshold (128 KiB), under the kept 4 MiB.
  constexpr std::size_t size = std::size_t{3} << 20;
  const struct mallinfo2 before = mallinfo2();
  auto* block = static_cast<char*>(std::malloc(size));
  ASSERT_NE(block, nullptr);
  std::memset(block, 0x5a, size);
  const struct mallinfo2 held = mallinfo2();
  // From the arena, not a mapping of its own that free would unmap.
  EXPECT_LT(held.hblkhd - before.hblkhd, size);
  std::free(block);
  const struct mallinfo2 after = mallinfo2();
  // Not trimmed: the pages are still there for the next batch's buffers.
  EXPECT_GE(after.fordblks, size);
  EXPECT_GE(after.arena, size);
}

TEST(Allocator, AnOperatorsThresholdInTheEnvironmentWins) {
  ASSERT_EQ(setenv("MALLOC_TRIM_THRESHOLD_", "131072", 1), 0);
  const allocator_tuning t = tune_allocator();
  unsetenv("MALLOC_TRIM_THRESHOLD_");
  EXPECT_FALSE(t.applied);
  EXPECT_NE(t.why.find("environment"), std::string::npos) << t.why;

  ASSERT_EQ(setenv("GLIBC_TUNABLES", "glibc.malloc.mmap_threshold=65536", 1), 0);
  const allocator_tuning u = tune_allocator();
  unsetenv("GLIBC_TUNABLES");
  EXPECT_FALSE(u.applied);
}

} // namespace
} // namespace bulwark::core
