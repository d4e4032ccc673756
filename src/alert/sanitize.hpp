#pragma once
/// The engine's defensive gate between detectors and alert output: every
/// string of an alert_request passes here before it is stored or emitted, so
/// that a detector bug or an attacker-chosen identifier cannot smuggle raw
/// event text (secrets, PII) into alerts, nor make memory grow per byte sent.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace bulwark::alert {

/// 64-bit FNV-1a followed by a splitmix64 finaliser: a stable, non-keyed hash
/// for display (fingerprints, hashed identifiers). Never used to decide
/// equality: folds are keyed by the exact identifiers.
std::uint64_t hash64(std::string_view bytes) noexcept;

/// 16 lowercase hex digits.
std::string hex64(std::uint64_t value);

/// An identifier as the engine keeps and shows it. Names of at most
/// `max_bytes` bytes drawn from `[A-Za-z0-9._:/-]` (what source, model, rule,
/// kind and topic names look like) pass unchanged; anything else — too long,
/// spaces, `@`, quotes, non-ASCII — becomes `~` followed by hex64(hash64(text)),
/// so that an e-mail address or a free-text value never appears in an alert.
/// `~` is outside the allowed set, so a hashed name never equals a plain one.
std::string safe_identifier(std::string_view text, std::size_t max_bytes);

/// Whether safe_identifier() returns `text` unchanged.
bool is_plain_identifier(std::string_view text, std::size_t max_bytes) noexcept;

/// `text` cut to at most `max_bytes` bytes at a UTF-8 character boundary.
std::string_view clip_utf8(std::string_view text, std::size_t max_bytes) noexcept;

/// Whether `text` is exactly one JSON object (RFC 8259; surrounding
/// whitespace allowed) with valid UTF-8 strings and nesting of at most
/// `max_depth` levels.
bool is_json_object(std::string_view text, std::size_t max_depth = 32) noexcept;

/// Why checked_evidence replaced a detector's evidence.
enum class evidence_check : std::uint8_t { ok, empty, oversize, invalid };

/// Evidence as the engine stores it: `text` itself when it is a JSON object of
/// at most `max_bytes` bytes; `{}` for empty text; otherwise a placeholder
/// object `{"omitted":"oversize","limit":N}` or `{"omitted":"invalid"}` that
/// keeps nothing of the original.
std::string checked_evidence(std::string_view text, std::size_t max_bytes,
                             evidence_check* why = nullptr);

} // namespace bulwark::alert
