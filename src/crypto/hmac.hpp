#pragma once
/// SHA-256, HMAC-SHA256 and constant-time comparison (OpenSSL underneath,
/// linked PRIVATE here only).
#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bulwark::crypto {

using digest = std::array<std::uint8_t, 32>;

digest sha256(std::string_view data) noexcept;

digest hmac_sha256(std::span<const std::uint8_t> key, std::string_view data) noexcept;

/// Equal contents, in time that depends on the length only.
bool constant_time_equal(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) noexcept;

/// Lower-case hex of `bytes`.
std::string to_hex(std::span<const std::uint8_t> bytes);

} // namespace bulwark::crypto
