#include "core/allocator.hpp"

#include <cstdlib>
#include <cstring>
#include <malloc.h>

namespace bulwark::core {

namespace {

bool operator_chose() {
  if (const char* t = std::getenv("GLIBC_TUNABLES");
      t != nullptr && (std::strstr(t, "glibc.malloc.trim_threshold") != nullptr ||
                       std::strstr(t, "glibc.malloc.mmap_threshold") != nullptr))
    return true;
  return std::getenv("MALLOC_TRIM_THRESHOLD_") != nullptr ||
         std::getenv("MALLOC_MMAP_THRESHOLD_") != nullptr;
}

} // namespace

allocator_tuning tune_allocator(std::size_t keep_bytes) {
  if (operator_chose()) return {false, "the environment sets malloc's thresholds"};
  const int keep = static_cast<int>(keep_bytes);
  // Both, and the mmap threshold first: setting either one turns off glibc's
  // own adjustment of the mmap threshold, which would otherwise stay at
  // 128 KiB and send every larger block through mmap/munmap.
  if (mallopt(M_MMAP_THRESHOLD, keep) != 1) return {false, "mallopt(M_MMAP_THRESHOLD) refused"};
  if (mallopt(M_TRIM_THRESHOLD, keep) != 1) return {false, "mallopt(M_TRIM_THRESHOLD) refused"};
  return {true, {}};
}

} // namespace bulwark::core
