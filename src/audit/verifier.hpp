#pragma once
/// Verifying an audit chain (`bulwark verify`, SPEC §1 and §5) and proving
/// that an event's receipt is included under a verified checkpoint
/// (`bulwark verify --receipt`).
///
/// A line at position p (0-based) is checked in this order, and the first
/// failure makes p the first bad index:
///   1. it parses as a record of the written layout (record.hpp);
///   2. its `hash` matches its bytes             -> else: the record was modified;
///   3. its `index` is p                         -> else: records missing, duplicated,
///                                                   inserted or reordered;
///   4. its `prev` is the hash of record p-1     -> else: replaced or re-chained;
///   5. a checkpoint's `count` and `root` match its receipts, its key id is in
///      the ring and its signature verifies     -> else: forged, or the records since
///                                                   the previous checkpoint were rewritten.
/// At the end, unless the settings allow an open tail, the chain must end with
/// a `final` checkpoint; otherwise the first bad index is the one after the
/// last record (truncated, or the writer did not finish).
///
/// What needs an external anchor (see docs/audit.md): a chain cut right after
/// an earlier final checkpoint (a resumed chain), or replaced as a whole by
/// another chain signed with the same key, verifies. settings.anchor closes
/// that when the operator keeps the head of the chain (index and hash)
/// elsewhere.
///
/// Exit codes the CLI derives (SPEC §1): ok -> 0; !ok -> 1 with
/// first_bad_index and reason; 2 belongs to the CLI (usage, unreadable file,
/// key ring errors).
#include "audit/keys.hpp"
#include "audit/record.hpp"
#include "core/time.hpp"
#include "crypto/hmac.hpp"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::audit {

/// What the verifier found wrong; `none` when the chain is intact.
enum class problem : std::uint8_t {
  none,
  unparsable,     ///< the line is not a JSON object
  malformed,      ///< JSON, but not a record of the written layout
  modified,       ///< the record's bytes do not match its hash
  missing,        ///< the index skips ahead: records deleted (or moved later)
  out_of_order,   ///< the index repeats or goes back: duplicated, inserted or reordered
  broken_link,    ///< `prev` is not the previous record's hash
  bad_root,       ///< a checkpoint's count or root does not match its receipts
  unknown_key,    ///< a checkpoint names a key id the ring does not hold
  bad_signature,  ///< a checkpoint's signature does not verify
  truncated,      ///< the chain ends without a final checkpoint (or is empty)
  stale,          ///< the last checkpoint is older than allowed
  anchor_missing, ///< the anchor's record is absent or differs
};

/// Stable snake_case name of a problem.
std::string_view to_string(problem p) noexcept;

/// A record whose index and hash the operator kept outside the chain.
struct chain_anchor {
  std::uint64_t index = 0;
  crypto::digest hash{};
};

/// Verifier settings (documented defaults).
struct verify_settings {
  /// The chain must end with a final checkpoint. True for files from `scan`
  /// (which always ends with one); false for a live `run` topic, whose tail
  /// after the last checkpoint is then reported as `unsealed`.
  bool require_final = true;
  /// With require_final false: the last checkpoint may be at most this old at
  /// `now` (0: not checked). With heartbeats every 10 s, ~30 s catches a
  /// missing tail of a live chain.
  timestamp_ms max_checkpoint_age_ms = 0;
  std::optional<timestamp_ms> now;
  /// A record that must be present with this hash.
  std::optional<chain_anchor> anchor;
  /// Parser limits per line.
  json::limits limits = default_record_limits;
  /// Keep a summary of every verified checkpoint (about 150 bytes each) in
  /// the result; needed by verify_receipt_proof(proof, chain).
  bool keep_checkpoints = true;
};

/// A verified checkpoint.
struct checkpoint_summary {
  std::uint64_t index = 0;
  timestamp_ms at = 0;
  std::uint64_t count = 0;
  crypto::digest root{};
  crypto::digest hash{};
  bool final = false;
  signature_alg alg = signature_alg::hmac_sha256;
  std::string kid;
};

/// The verdict over a chain.
struct verify_result {
  bool ok = false;
  std::uint64_t lines = 0;       ///< lines examined
  std::uint64_t records = 0;     ///< records that passed every check, before any bad one
  std::uint64_t checkpoints = 0; ///< verified checkpoints among them
  std::uint64_t receipts = 0;    ///< receipts under verified checkpoints
  std::uint64_t unsealed = 0;    ///< intact records after the last verified checkpoint
  bool ends_final = false;       ///< the last intact record is a final checkpoint
  std::optional<std::uint64_t> first_bad_index;
  problem what = problem::none;
  std::string reason; ///< for humans; never quotes the chain's bytes
  /// After the last intact record: where a writer would continue, and an
  /// anchor to keep.
  chain_head head;
  std::optional<checkpoint_summary> last_checkpoint;
  std::vector<checkpoint_summary> checkpoint_list; ///< with keep_checkpoints
};

/// One line: `intact: …` or `first bad index N (problem): reason`.
std::string describe(const verify_result& r);

/// Verifies a chain line by line, for inputs too large to hold (a topic).
class chain_verifier {
public:
  /// A verifier that accepts the keys of `ring` (copied).
  chain_verifier(const key_ring& ring, verify_settings settings = {});
  ~chain_verifier();
  chain_verifier(chain_verifier&&) noexcept;
  chain_verifier& operator=(chain_verifier&&) noexcept;
  chain_verifier(const chain_verifier&) = delete;
  chain_verifier& operator=(const chain_verifier&) = delete;

  /// Checks the next line (without its `\n`). False once the chain is known
  /// bad; later lines are counted but not checked.
  bool add(std::string_view line);

  /// The verdict over the lines added so far, with the end-of-chain checks.
  verify_result finish() const;

  /// Looks for `receipt` in the receipts of verified checkpoints; found() then
  /// tells where. The first occurrence wins.
  void look_for(const crypto::digest& receipt);

  /// Where the receipt looked for was found: the checkpoint and the leaf hashes
  /// of its receipts.
  struct found_receipt {
    checkpoint_summary checkpoint;
    std::uint64_t leaf_index = 0;
    std::vector<crypto::digest> leaves;
  };
  /// The receipt given to look_for, once a verified checkpoint held it.
  const std::optional<found_receipt>& found() const noexcept;

private:
  struct state;
  std::unique_ptr<state> s_;
};

/// Verifies the whole chain held in `lines`.
verify_result verify_chain(std::span<const std::string_view> lines, const key_ring& ring,
                           const verify_settings& settings = {});

/// An inclusion proof of one receipt under a verified checkpoint.
struct receipt_proof {
  crypto::digest receipt{};
  std::uint64_t checkpoint_index = 0; ///< chain index of the checkpoint record
  crypto::digest checkpoint_hash{};   ///< that record's hash
  timestamp_ms checkpoint_at = 0;
  signature_alg alg = signature_alg::hmac_sha256;
  std::string kid;
  std::uint64_t leaf_index = 0;
  std::uint64_t tree_size = 0;
  std::vector<crypto::digest> path; ///< RFC 6962 audit path, nearest sibling first
  crypto::digest root{};
};

/// The outcome of prove_receipt: the chain's verdict, and the proof or why
/// there is none.
struct receipt_result {
  verify_result chain;
  std::optional<receipt_proof> proof;
  std::string reason; ///< when there is no proof
};

/// Verifies the chain and, when `receipt` is among the receipts of a
/// checkpoint before the first bad index, proves its inclusion. The proof is
/// checked against that checkpoint before it is returned. The CLI should
/// exit 0 only when chain.ok and a proof was found.
receipt_result prove_receipt(std::span<const std::string_view> lines, const key_ring& ring,
                             const crypto::digest& receipt, const verify_settings& settings = {});

/// The Merkle part alone: the path leads from leaf_hash(receipt) at leaf_index
/// to root in a tree of tree_size leaves (RFC 9162 §2.1.3.2).
bool verify_receipt_proof(const receipt_proof& proof) noexcept;

/// The proof and its anchoring: `chain` (verified with keep_checkpoints)
/// holds a verified checkpoint at checkpoint_index with the same hash, root
/// and receipt count as tree_size, and the Merkle path verifies.
bool verify_receipt_proof(const receipt_proof& proof, const verify_result& chain) noexcept;

/// The printable form: one JSON object (receipt, leaf_index, tree_size,
/// leaf_hash, path, root, checkpoint {index, at, hash, alg, kid}).
std::string format_receipt_proof(const receipt_proof& proof);

} // namespace bulwark::audit
