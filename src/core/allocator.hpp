#pragma once
/// How the process's allocator gives memory back to the kernel.
///
/// glibc returns the free top of each arena to the kernel once it exceeds
/// 128 KiB (`madvise(MADV_DONTNEED)`), and serves blocks over a threshold
/// that starts at 128 KiB with `mmap`/`munmap`. librdkafka's broker threads
/// allocate and free such blocks for every batch they compress or fetch
/// (an LZ4F context with its block buffer, receive buffers), so with the
/// defaults each batch costs a trim and then page faults to get the memory
/// back, and every `madvise`/`munmap` flushes the TLB of each core the
/// process runs on. Where a batch carries few records (moderate rates) that
/// was a fifth of a relay's CPU (bench/RESULTS.md, session 14).
///
/// `tune_allocator` keeps up to `keep_bytes` of free memory at the top of
/// each arena and serves blocks under it from the arenas, so a thread that
/// frees and reallocates the same buffers reuses mapped pages. What it can
/// cost is bounded: at most `keep_bytes` of free memory per arena (glibc
/// makes at most 8 per core).
#include <cstddef>
#include <string>

namespace bulwark::core {

struct allocator_tuning {
  bool applied = false;
  std::string why; ///< when not applied: the reason
};

inline constexpr std::size_t default_allocator_keep_bytes = std::size_t{4} << 20;

/// Applies the tuning unless the environment already sets glibc's malloc
/// tunables (`GLIBC_TUNABLES` naming `glibc.malloc.trim_threshold` or
/// `glibc.malloc.mmap_threshold`, or `MALLOC_TRIM_THRESHOLD_` /
/// `MALLOC_MMAP_THRESHOLD_`): that is the operator's choice, and it wins.
allocator_tuning tune_allocator(std::size_t keep_bytes = default_allocator_keep_bytes);

} // namespace bulwark::core
