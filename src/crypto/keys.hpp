#pragma once
/// Key material from where the configuration says (SPEC §2 key sources):
/// `{hex: …}`, `{file: PATH}` or `{env: VAR}`. A file or variable holds the key
/// as hex (64+ digits are typical) or, for a file, as raw bytes when it is not
/// hex. Errors name the source, never the key.
#include "config/options.hpp"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace bulwark::crypto {

using key_bytes = std::vector<std::uint8_t>;

struct key_error {
  std::string reason; ///< e.g. "env BULWARK_HASH_KEY: not set"
};

/// Reads the key. Relative file paths are resolved against `base_dir`. A key
/// file must be a regular file of at most 64 KiB whose mode gives its group and
/// other users no access (`mode & 077 == 0`, as ssh requires of a private key):
/// anything else is refused with the mode and the fix (`chmod 600 PATH`). Keys
/// shorter than 16 bytes are refused. Errors name the source (`key file PATH`,
/// `env VAR`, `hex key`), never its content; callers prefix the configuration
/// path (`integrity.keys.k1: …`).
std::variant<key_bytes, key_error> load_key(const config::key_source& source,
                                            const std::string& base_dir);

/// Decodes even-length hex; nothing when `text` is not hex.
std::variant<key_bytes, key_error> decode_hex(std::string_view text);

} // namespace bulwark::crypto
