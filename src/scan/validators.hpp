#pragma once
/// Validators confirm a pattern match before it becomes a finding, so that
/// card-like numbers failing Luhn, impossible SSNs or random hex stay untouched.
/// Pure functions over the matched text; no allocation.
#include <cstdint>
#include <optional>
#include <string_view>

namespace bulwark::scan {

/// Luhn (mod 10) over the digits of `text`; other characters (spaces, dashes)
/// are skipped. Needs 12..19 digits.
bool luhn_valid(std::string_view text) noexcept;

/// IBAN: country code, check digits, per-country length, mod-97 == 1.
/// Spaces are skipped; letters may be upper or lower case.
bool iban_valid(std::string_view text) noexcept;

/// US SSN AAA-GG-SSSS (separators '-', ' ' or none): area not 000, 666 or
/// 900-999; group not 00; serial not 0000.
bool us_ssn_valid(std::string_view text) noexcept;

/// A JWT: three base64url segments; the first two decode to JSON objects and
/// the header names an `alg`.
bool jwt_valid(std::string_view text) noexcept;

/// Shannon entropy in bits per character.
double shannon_entropy(std::string_view text) noexcept;

/// GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_ + 30 base62 + 6 base62 CRC32 of the
/// first 30 characters' prefix+payload).
bool github_token_crc_valid(std::string_view text) noexcept;

} // namespace bulwark::scan
