#pragma once
// Private to src/scan/: an on-disk cache of compiled Hyperscan databases.
//
// Compiling the built-in packs takes about 1.5 s; loading a serialised database
// takes milliseconds. A cache file holds the exact compile input (Hyperscan
// version, mode, every pattern, flag and id) followed by the serialised
// database; it is used only when that input matches byte for byte, so a stale
// or colliding file is never used. The directory must belong to the current
// user and not be writable by others (a writable cache would let another user
// swap in a database that misses secrets); otherwise the cache is skipped.
#include "scan/ruleset_impl.hpp"

#include <optional>
#include <string>

namespace bulwark::scan::db_cache {

/// $BULWARK_CACHE_DIR, else $XDG_CACHE_HOME/bulwark, else $HOME/.cache/bulwark;
/// empty when none can be used. BULWARK_CACHE_DIR=off disables the cache.
std::string directory();

/// The database compiled from `key` (see compile_key), if cached.
hs_database_ptr load(const std::string& dir, const std::string& key);

/// Stores `db` under `key`; failures are ignored (the cache is an optimisation).
void store(const std::string& dir, const std::string& key, const hs_database_t* db);

} // namespace bulwark::scan::db_cache
