#pragma once
/// Realistic text for the simulated fleet, and the values the attacks plant.
///
/// Clean text is built so that the built-in rule packs find nothing in it: no
/// e-mail addresses, IP addresses, long digit runs, `key=value` credentials or
/// line breaks that read as new log records. Planted values are built so that
/// they are found: card numbers pass Luhn, IBANs pass mod 97, SSNs use valid
/// areas, GitHub tokens carry their CRC-32 check.
#include "loadgen/random.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark::loadgen::content {

/// A capitalised sentence of `lo`..`hi` ordinary words, ending with a period.
std::string sentence(rng& r, int lo, int hi);

/// A Java-style stack trace (lines joined by "\n\tat "), safe for the packs.
std::string stack_trace(rng& r);

/// 32 lowercase hex digits whose first digit is a letter, so no digit run can
/// start the string (card or SSN look-alikes).
std::string trace_id(rng& r);

// ---- secrets

/// `AKIA` + 16 characters of [A-Z2-7].
std::string aws_access_key(rng& r);
/// `ghp_` + 30 base62 + the 6-character base62 CRC-32 of the 30.
std::string github_token(rng& r);
/// A password someone would type: letters, digits and one of `-_!`.
std::string password(rng& r);
/// An RSA private key in PEM form (random base64 body, lines joined by "\n").
std::string pem_private_key(rng& r);

// ---- personal data

/// firstname.lastname<digits>@<provider>.
std::string email(rng& r);
/// An E.164 number, e.g. `+4915123456789`.
std::string phone(rng& r);
/// A 16-digit Visa or Mastercard number passing Luhn, in groups of four.
std::string card_number(rng& r);
/// A German IBAN (22 characters) passing mod 97, in groups of four.
std::string iban(rng& r);
/// A US SSN `AAA-GG-SSSS` with a valid area, group and serial.
std::string ssn(rng& r);

// ---- checks (also used by the tests)

/// CRC-32 (IEEE 802.3, as zlib computes it).
std::uint32_t crc32(std::string_view data) noexcept;
/// Luhn over the digits of `text` (other characters skipped).
bool luhn_ok(std::string_view text) noexcept;
/// ISO 13616 mod 97 over an IBAN (spaces skipped).
bool iban_ok(std::string_view text) noexcept;

} // namespace bulwark::loadgen::content
