#pragma once
/// SHA-256, HMAC-SHA256 and constant-time comparison (OpenSSL underneath,
/// linked PRIVATE here only).
///
/// Cost model: the OpenSSL algorithms are fetched once per process, and each
/// thread keeps its own digest context and a few keyed HMAC contexts (the
/// most recently used keys, compared in constant time), so a call on a key
/// the thread used lately neither fetches nor re-hashes the key pads. Every
/// function is safe to call from any number of threads at once. A thread's
/// cached key copies are wiped when they are evicted or the thread ends.
///
/// A failure inside OpenSSL (out of memory, a missing provider) aborts the
/// process: returning a made-up digest would let a forged MAC match it.
#include <array>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace bulwark::crypto {

using digest = std::array<std::uint8_t, 32>;

digest sha256(std::string_view data) noexcept;

digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) noexcept;

/// The MAC of the concatenation of `parts`, without building it: e.g. a
/// signed prefix and the byte that closes it.
digest hmac_sha256(std::span<const std::uint8_t> key,
                   std::initializer_list<std::string_view> parts) noexcept;

/// Equal contents, in time that depends on the length only.
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;

/// Lower-case hex of `bytes`.
std::string to_hex(std::span<const std::uint8_t> bytes);

} // namespace bulwark::crypto
