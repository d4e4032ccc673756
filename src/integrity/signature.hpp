#pragma once
/// Signed telemetry (SPEC §4): finding the signature, the key ring, and the MAC
/// check.
///
/// Two forms:
///  - in-body: `"sig": {"kid": "k1", "mac": "<64 lowercase hex>"}` as the LAST
///    member of the top-level object; the MAC covers the exact bytes from the
///    opening `{` up to, not including, the `,` before `"sig"`, followed by `}`;
///  - header: Kafka header `bw-sig: <kid>:<hex mac>`, the MAC over the whole value.
/// When a record carries the header, the header decides (it covers the whole
/// value, an in-body `sig` included).
///
/// Verification is split in two so that the sequence window can be consulted
/// between them (see checker.hpp): `find_signature` only looks (cheap, no
/// key), `verifier::verify` computes the MAC.
///
/// Invariants:
///  1. No canonicalisation: a single changed byte in the signed range fails.
///  2. MACs are compared in constant time (crypto::constant_time_equal).
///  3. Nothing here echoes event text: problems are enum values, and a key id
///     is reported only when it names a configured key.
#include "config/options.hpp"
#include "core/time.hpp"
#include "crypto/hmac.hpp"
#include "crypto/keys.hpp"
#include "integrity/status.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace bulwark::integrity {

/// Why a signature was not accepted (or `none`). Stable names for evidence.
enum class sig_problem : std::uint8_t {
  none,
  malformed_event,   ///< the bytes are not one JSON object (the scanner gave up)
  duplicate_sig,     ///< more than one top-level `sig` member
  sig_not_last,      ///< a top-level `sig` member that is not the last member
  sig_only_member,   ///< `sig` is the only member: there is no `,` to cut at
  sig_key_escaped,   ///< the key is spelled with escapes, not the bytes `"sig"`
  bad_sig_object,    ///< `sig` is not exactly {"kid": string, "mac": string}
  bad_kid,           ///< an empty key id or one with escapes
  bad_mac_format,    ///< `mac` is not 64 lowercase hex digits
  bad_header,        ///< `bw-sig` is not `<kid>:<64 hex>`
  unknown_kid,       ///< no key with that id is configured
  key_not_yet_valid, ///< the key's rotation window starts after the event
  key_expired,       ///< the key's rotation window ended before the event
  bad_mac,           ///< the MAC does not match the bytes
};

/// Stable snake_case name of a problem (used as `reason` in alert evidence).
std::string_view to_string(sig_problem p) noexcept;

/// What a record claims about its signature, found without any key.
struct signature_claim {
  enum class form : std::uint8_t { none, body, header };
  form where = form::none;
  sig_problem problem = sig_problem::none; ///< set when the claim is malformed
  std::string_view kid;                    ///< view into the record or header
  crypto::digest mac{};                    ///< the claimed MAC, decoded
  /// The signed bytes. Body form: from `{` up to (not including) the `,`
  /// before `"sig"` — the verifier appends the closing `}`. Header form: the
  /// whole value.
  std::string_view signed_part;

  /// The record claims a signature (well-formed or not).
  bool present() const noexcept { return where != form::none; }
};

/// Scans the top-level object of `raw` (strings, escapes and nesting aware)
/// for an in-body signature. Never reads outside `raw`; any input is safe.
/// Leading and trailing JSON whitespace around the object is allowed.
signature_claim find_body_signature(std::string_view raw) noexcept;

/// Parses a `bw-sig` header value `<kid>:<hex mac>` (surrounding spaces
/// allowed; the kid is everything before the last `:`; hex of either case).
signature_claim parse_header_signature(std::string_view raw, std::string_view header) noexcept;

/// The header form when a header is present, else the in-body form.
signature_claim find_signature(std::string_view raw,
                               std::optional<std::string_view> header) noexcept;

/// When a key may be used, compared with the event's time (rotation). Either
/// bound may be open. Inclusive on both ends.
struct key_validity {
  std::optional<timestamp_ms> not_before;
  std::optional<timestamp_ms> not_after;
};

/// Why a key ring could not be built. Names the key id and the source, never the key.
struct key_ring_error {
  std::string reason;
};

/// The configured keys, by key id. Immutable after construction, so one ring
/// may be shared by several threads.
class key_ring {
public:
  /// One key.
  struct entry {
    std::string kid;
    crypto::key_bytes key;
    key_validity valid;
  };

  /// An empty ring: signatures are not checked.
  key_ring() = default;

  /// Loads every `integrity.keys` entry through crypto::load_key (hex, file or
  /// environment; files resolved against `base_dir`). `windows` gives optional
  /// rotation windows by key id; a window for an unconfigured id is an error,
  /// as is a window whose not_before is after its not_after.
  static std::variant<key_ring, key_ring_error>
  load(const std::map<std::string, config::key_source>& keys,
       const std::map<std::string, key_validity>& windows, const std::string& base_dir);

  /// Adds a key directly (already loaded bytes). Refuses an empty id, an empty
  /// key, a duplicate id or an inverted window. crypto::load_key enforces the
  /// 16-byte minimum for configured keys; this lower level accepts any
  /// non-empty key so that published test vectors can run through it.
  std::optional<key_ring_error> add(std::string kid, crypto::key_bytes key,
                                    key_validity valid = {});

  /// The key with id `kid`, or null.
  const entry* find(std::string_view kid) const noexcept;

  /// No key configured.
  bool empty() const noexcept { return keys_.empty(); }
  /// Keys configured.
  std::size_t size() const noexcept { return keys_.size(); }

private:
  std::vector<entry> keys_; ///< few keys: a linear search beats a map
};

/// The outcome of checking one claim against the ring.
struct verification {
  integrity_status status = integrity_status::not_signed; ///< verified|unsigned|invalid|unknown_key
  sig_problem problem = sig_problem::none;
  const key_ring::entry* key = nullptr; ///< the configured key used, if the kid named one
};

/// Checks claims against a key ring. Const and therefore thread-safe; the body
/// form needs a copy of the signed bytes plus `}`, kept in a per-thread buffer.
class verifier {
public:
  /// A verifier owning `ring`.
  explicit verifier(key_ring ring) : ring_(std::move(ring)) {}

  /// Verifies a claim. `key_time` is the time the rotation windows are checked
  /// against (the event time, else the record time, else now).
  verification verify(const signature_claim& claim, timestamp_ms key_time) const;

  /// find_signature + verify, for callers that do not track sequences.
  verification verify(std::string_view raw, std::optional<std::string_view> header,
                      timestamp_ms key_time) const {
    return verify(find_signature(raw, header), key_time);
  }

  /// The keys it checks against.
  const key_ring& ring() const noexcept { return ring_; }

private:
  key_ring ring_;
};

} // namespace bulwark::integrity
