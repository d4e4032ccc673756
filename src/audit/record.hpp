#pragma once
/// The audit record format, version 1 (SPEC §5; docs/audit.md is the
/// reference for operators). One JSON object per line, written with
/// bulwark::json_writer in exactly this member order, no whitespace:
///
///   {"v":1,"index":N,"prev":"<64 hex>","type":"event|decision|checkpoint",
///    "at":"<RFC 3339>", <type members>, "hash":"<64 hex>"}
///
///   event:      "ref":{"line":N} | {"topic":T,"partition":P,"offset":O},
///               "receipt":"<64 hex>","event":{<the sanitised event>}
///   decision:   "decision":"<name>","detail":{<object>}
///   checkpoint: "final":bool,"count":K,"root":"<64 hex>","receipts":["<64 hex>",…],
///               "alg":"hmac-sha256|ed25519","kid":"<key id>","sig":"<hex>"
///
/// Hashing (every byte of a line is covered):
///  - `hash` = SHA-256 of the line's bytes without its `hash` member: from the
///    opening `{` up to, not including, the `,` before `"hash"`, followed by `}`.
///  - `prev` = the `hash` of the record with index N-1; 64 zeros for index 0.
///  - `sig` (checkpoints) = HMAC-SHA256 (32 bytes) or Ed25519 (64 bytes), in
///    hex, over the line's bytes from `{` up to, not including, the `,` before
///    `"sig"`, followed by `}`. The signed bytes contain `prev`, so a
///    checkpoint authenticates every record before it, and `alg` and `kid`.
///  - `root` = RFC 6962 Merkle root over `receipts` (each the 32-byte
///    receipt as a leaf); `count` = the number of receipts.
///
/// Invariants:
///  1. parse_record never quotes bytes of the line in a reason (a tampered
///     file must not put text on the operator's terminal).
///  2. A record is accepted only in the exact layout above: unknown, missing or
///     repeated members, another version or stray bytes make it malformed.
#include "core/alert_request.hpp"
#include "core/time.hpp"
#include "crypto/hmac.hpp"

#include "json/walk.hpp"
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bulwark::audit {

/// The `v` every record carries; bumped on any change to the layout.
inline constexpr int format_version = 1;

/// Parser limits for whole record lines: room for an embedded event of the
/// default SPEC §2 limits (1 MiB, depth 64) one level down, and for long
/// checkpoints.
inline constexpr json::limits default_record_limits{std::size_t{64} << 20, 66};

/// What a record is.
enum class record_type : std::uint8_t {
  event,      ///< an audit event from telemetry (deploy, rollback, config)
  decision,   ///< one of bulwark's own decisions (rules reloaded, …)
  checkpoint, ///< a signed seal over the chain so far and a Merkle root of receipts
};

/// `event`, `decision`, `checkpoint`.
std::string_view to_string(record_type t) noexcept;

/// How a checkpoint is signed.
enum class signature_alg : std::uint8_t { hmac_sha256, ed25519 };

/// `hmac-sha256`, `ed25519`.
std::string_view to_string(signature_alg a) noexcept;

/// Where the next record goes: its index and the hash it must name as `prev`.
/// A fresh chain starts at {0, all zeros}.
struct chain_head {
  std::uint64_t next_index = 0;
  crypto::digest prev{};
};

/// One record taken apart. Views point into the parsed line.
struct record {
  std::uint64_t index = 0;
  crypto::digest prev{};
  record_type type = record_type::event;
  timestamp_ms at = 0;
  crypto::digest hash{};          ///< the `hash` member as written
  crypto::digest computed_hash{}; ///< SHA-256 of the bytes `hash` must cover

  // type event
  input_ref ref;
  crypto::digest receipt{};
  std::string_view event; ///< the embedded sanitised event (JSON object text)

  // type decision
  std::string decision;
  std::string_view detail; ///< JSON object text

  // type checkpoint
  bool final = false;
  std::uint64_t count = 0;
  crypto::digest root{};
  std::vector<crypto::digest> receipts;
  signature_alg alg = signature_alg::hmac_sha256;
  std::string kid;
  std::vector<std::uint8_t> sig;
  std::string_view signed_prefix; ///< the bytes before `,"sig"`; the signed text is this + "}"
};

/// Why a line is not a record; `unparsable` lines are not JSON at all.
struct parse_failure {
  bool unparsable = false;
  std::string reason;
  /// Whether the line's bytes match its `hash`, when the hash could be found:
  /// false means the record was edited (whatever else the edit broke).
  std::optional<bool> hash_matches;
};

/// Parses one line into a record and computes the hash its `hash` member
/// must equal (the caller compares: a mismatch means the record was altered).
/// The hash is located and computed before anything else is interpreted.
std::variant<record, parse_failure> parse_record(std::string_view line, json::walker& walker);

/// SHA-256 of `prefix` followed by `}`: the hash and signature input for a
/// line cut before a member.
crypto::digest hash_closed(std::string_view prefix) noexcept;

/// Decodes exactly 64 lowercase hex digits.
std::optional<crypto::digest> parse_digest(std::string_view hex) noexcept;

/// Key id under which an Ed25519 public key signs: `ed25519:` and the first
/// 16 hex digits of the SHA-256 of the raw public key.
std::string ed25519_kid(std::span<const std::uint8_t> public_key);

/// A decision name: 1..64 bytes of [a-z0-9_.-].
bool is_decision_name(std::string_view name) noexcept;

/// Lines of a chain file: split at `\n`; a final empty piece (the file ends
/// with a newline) is not a line. Views point into `text`.
std::vector<std::string_view> split_lines(std::string_view text);

} // namespace bulwark::audit
