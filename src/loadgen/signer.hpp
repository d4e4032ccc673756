#pragma once
/// The model server's side of SPEC §4: signing an event in its body or for
/// the `bw-sig` Kafka header. A model server needs nothing else; the verifier
/// lives in src/integrity.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bulwark::loadgen {

/// The name of the Kafka header that carries a signature.
inline constexpr std::string_view sig_header_name = "bw-sig";

/// Signs `event` (one JSON object with at least one member, ending in `}`) in
/// place: the MAC covers exactly the bytes of the object as given, which are
/// the bytes up to the `,"sig"` we insert plus the closing `}` — so a verifier
/// cutting at that comma recomputes the same MAC. Appends
/// `,"sig":{"kid":"<kid>","mac":"<64 lowercase hex>"}` before the final `}`.
/// `kid` must need no JSON escaping (options validation ensures it).
void sign_body(std::string& event, std::string_view kid, std::span<const std::uint8_t> key);

/// The `bw-sig` header value `<kid>:<hex mac>`, the MAC over all of `value`.
std::string header_signature(std::string_view value, std::string_view kid,
                             std::span<const std::uint8_t> key);

} // namespace bulwark::loadgen
