#include "audit/verifier.hpp"

#include "core/json_writer.hpp"
#include "crypto/ed25519.hpp"
#include "crypto/merkle.hpp"

#include <algorithm>

namespace bulwark::audit {
namespace {

std::vector<crypto::digest> leaf_hashes(const std::vector<crypto::digest>& receipts) {
  std::vector<crypto::digest> out;
  out.reserve(receipts.size());
  for (const auto& r : receipts)
    out.push_back(crypto::merkle::leaf_hash(r));
  return out;
}

std::string num(std::uint64_t v) {
  return std::to_string(v);
}

constexpr const char* modified_reason = "the record's bytes do not match its hash (modified)";

} // namespace

std::string_view to_string(problem p) noexcept {
  switch (p) {
  case problem::none:
    return "none";
  case problem::unparsable:
    return "unparsable";
  case problem::malformed:
    return "malformed";
  case problem::modified:
    return "modified";
  case problem::missing:
    return "missing";
  case problem::out_of_order:
    return "out_of_order";
  case problem::broken_link:
    return "broken_link";
  case problem::bad_root:
    return "bad_root";
  case problem::unknown_key:
    return "unknown_key";
  case problem::bad_signature:
    return "bad_signature";
  case problem::truncated:
    return "truncated";
  case problem::stale:
    return "stale";
  case problem::anchor_missing:
    return "anchor_missing";
  }
  return "none";
}

struct chain_verifier::state {
  state(key_ring r, verify_settings s)
      : ring(std::move(r)), settings(std::move(s)), walker(settings.limits) {}

  key_ring ring;
  verify_settings settings;
  json::walker walker;

  std::uint64_t lines = 0;
  std::uint64_t records = 0; // also the position of the next line
  std::uint64_t checkpoints = 0;
  std::uint64_t receipts = 0;
  std::uint64_t since_checkpoint = 0;
  crypto::digest prev{};
  bool last_final = false;
  std::optional<checkpoint_summary> last_checkpoint;
  std::vector<checkpoint_summary> list;
  bool anchor_seen = false;

  bool bad = false;
  std::uint64_t bad_index = 0;
  problem what = problem::none;
  std::string reason;

  std::optional<crypto::digest> wanted;
  std::optional<found_receipt> found;

  bool fail(std::uint64_t index, problem p, std::string why) {
    bad = true;
    bad_index = index;
    what = p;
    reason = std::move(why);
    return false;
  }

  std::string since_text() const {
    return last_checkpoint ? "since the checkpoint at index " + num(last_checkpoint->index)
                           : "since the start of the chain";
  }

  bool check_signature(std::uint64_t p, const record& r) {
    std::string signed_text(r.signed_prefix);
    signed_text += '}';
    bool valid = false;
    if (r.alg == signature_alg::hmac_sha256) {
      const auto it = ring.hmac.find(r.kid);
      if (it == ring.hmac.end())
        return fail(p, problem::unknown_key,
                    "the checkpoint names an HMAC key id that is not configured");
      valid = crypto::constant_time_equal(crypto::hmac_sha256(it->second, signed_text), r.sig);
    } else {
      const auto it = ring.ed25519.find(r.kid);
      if (it == ring.ed25519.end())
        return fail(p, problem::unknown_key,
                    "the checkpoint names an Ed25519 key id that is not configured");
      valid = crypto::ed25519_verify(it->second, signed_text, r.sig);
    }
    if (!valid)
      return fail(p, problem::bad_signature,
                  "the checkpoint's signature does not verify under key " + r.kid +
                      ": the checkpoint or the records " + since_text() +
                      " were rewritten, or the key is not the one that signed");
    return true;
  }

  bool add(std::string_view line) {
    ++lines;
    if (bad) return false;
    const std::uint64_t p = records;
    auto parsed = parse_record(line, walker);
    if (auto* f = std::get_if<parse_failure>(&parsed)) {
      if (f->unparsable) return fail(p, problem::unparsable, f->reason);
      if (f->hash_matches == false) return fail(p, problem::modified, modified_reason);
      return fail(p, problem::malformed, f->reason);
    }
    const record& r = std::get<record>(parsed);

    if (!crypto::constant_time_equal(r.hash, r.computed_hash))
      return fail(p, problem::modified, modified_reason);
    if (r.index > p)
      return fail(p, problem::missing,
                  "index " + num(r.index) + " where " + num(p) +
                      " was expected: records are missing (deleted) or out of order");
    if (r.index < p)
      return fail(p, problem::out_of_order,
                  "index " + num(r.index) + " where " + num(p) +
                      " was expected: a duplicated, inserted or reordered record");
    if (!crypto::constant_time_equal(r.prev, prev))
      return fail(p, problem::broken_link,
                  p == 0 ? "the first record's prev is not zero: it does not start a chain"
                         : "prev is not the hash of record " + num(p - 1) +
                               ": the record was replaced or comes from another chain");

    if (r.type == record_type::checkpoint) {
      if (r.count != r.receipts.size())
        return fail(p, problem::bad_root, "the checkpoint's count does not match its receipts");
      const auto leaves = leaf_hashes(r.receipts);
      if (!crypto::constant_time_equal(crypto::merkle::root(leaves), r.root))
        return fail(p, problem::bad_root, "the checkpoint's root does not match its receipts");
      if (!check_signature(p, r)) return false;

      checkpoint_summary s{r.index, r.at, r.count, r.root, r.hash, r.final, r.alg, r.kid};
      if (wanted && !found) {
        const auto it = std::find(r.receipts.begin(), r.receipts.end(), *wanted);
        if (it != r.receipts.end())
          found = found_receipt{s, static_cast<std::uint64_t>(it - r.receipts.begin()), leaves};
      }
      ++checkpoints;
      receipts += r.count;
      since_checkpoint = 0;
      last_final = r.final;
      if (settings.keep_checkpoints) list.push_back(s);
      last_checkpoint = std::move(s);
    } else {
      ++since_checkpoint;
      last_final = false;
    }

    if (settings.anchor && settings.anchor->index == p) {
      if (!crypto::constant_time_equal(settings.anchor->hash, r.hash))
        return fail(p, problem::anchor_missing,
                    "the record at the anchor's index has another hash: the chain was "
                    "replaced");
      anchor_seen = true;
    }
    ++records;
    prev = r.hash;
    return true;
  }

  verify_result finish() const {
    verify_result out;
    out.lines = lines;
    out.records = records;
    out.checkpoints = checkpoints;
    out.receipts = receipts;
    out.unsealed = since_checkpoint;
    out.ends_final = records > 0 && last_final;
    out.head = chain_head{records, prev};
    out.last_checkpoint = last_checkpoint;
    out.checkpoint_list = list;

    auto failed = [&](std::uint64_t index, problem p, std::string why) {
      out.first_bad_index = index;
      out.what = p;
      out.reason = std::move(why);
      return out;
    };
    if (bad) return failed(bad_index, what, reason);
    if (settings.require_final && records == 0)
      return failed(0, problem::truncated,
                    "the chain is empty: a complete chain ends with a final checkpoint");
    if (settings.require_final && !last_final)
      return failed(records, problem::truncated,
                    "the chain ends at index " + num(records - 1) +
                        " without a final checkpoint: later records are missing (truncated) or "
                        "the writer did not finish; " +
                        num(since_checkpoint) + " record(s) " + since_text() + " are not sealed");
    if (!settings.require_final && settings.max_checkpoint_age_ms > 0 && settings.now) {
      if (!last_checkpoint || *settings.now - last_checkpoint->at > settings.max_checkpoint_age_ms)
        return failed(records, problem::stale,
                      last_checkpoint
                          ? "no checkpoint since " + format_rfc3339(last_checkpoint->at) +
                                ": the tail is missing or the writer stopped"
                          : "no checkpoint at all: the chain is not sealed");
    }
    if (settings.anchor && !anchor_seen)
      return failed(records, problem::anchor_missing,
                    "the chain ends before the anchor at index " + num(settings.anchor->index) +
                        " (truncated)");
    out.ok = true;
    return out;
  }
};

chain_verifier::chain_verifier(const key_ring& ring, verify_settings settings)
    : s_(std::make_unique<state>(ring, std::move(settings))) {}
chain_verifier::~chain_verifier() = default;
chain_verifier::chain_verifier(chain_verifier&&) noexcept = default;
chain_verifier& chain_verifier::operator=(chain_verifier&&) noexcept = default;

bool chain_verifier::add(std::string_view line) {
  return s_->add(line);
}
verify_result chain_verifier::finish() const {
  return s_->finish();
}
void chain_verifier::look_for(const crypto::digest& receipt) {
  s_->wanted = receipt;
}
const std::optional<chain_verifier::found_receipt>& chain_verifier::found() const noexcept {
  return s_->found;
}

std::string describe(const verify_result& r) {
  if (!r.ok) {
    return "first bad index " + num(r.first_bad_index.value_or(0)) + " (" +
           std::string(to_string(r.what)) + "): " + r.reason;
  }
  std::string out = "intact: " + num(r.records) + " records, " + num(r.checkpoints) +
                    " checkpoints, " + num(r.receipts) + " receipts";
  if (r.ends_final) {
    out += ", ends with a final checkpoint";
  } else if (r.records > 0) {
    out += "; " + num(r.unsealed) + " record(s) after the last checkpoint are not sealed yet";
  }
  return out;
}

verify_result verify_chain(std::span<const std::string_view> lines, const key_ring& ring,
                           const verify_settings& settings) {
  chain_verifier v(ring, settings);
  for (const auto line : lines)
    v.add(line);
  return v.finish();
}

receipt_result prove_receipt(std::span<const std::string_view> lines, const key_ring& ring,
                             const crypto::digest& receipt, const verify_settings& settings) {
  chain_verifier v(ring, settings);
  v.look_for(receipt);
  for (const auto line : lines)
    v.add(line);
  receipt_result out;
  out.chain = v.finish();
  const auto& f = v.found();
  if (!f) {
    out.reason = "the receipt is not among the receipts of any verified checkpoint";
    if (out.chain.first_bad_index)
      out.reason += " before the first bad index " + num(*out.chain.first_bad_index);
    return out;
  }
  receipt_proof proof;
  proof.receipt = receipt;
  proof.checkpoint_index = f->checkpoint.index;
  proof.checkpoint_hash = f->checkpoint.hash;
  proof.checkpoint_at = f->checkpoint.at;
  proof.alg = f->checkpoint.alg;
  proof.kid = f->checkpoint.kid;
  proof.leaf_index = f->leaf_index;
  proof.tree_size = f->leaves.size();
  proof.path = crypto::merkle::inclusion_proof(f->leaves, f->leaf_index)
                   .value_or(std::vector<crypto::digest>{});
  proof.root = f->checkpoint.root;
  if (!verify_receipt_proof(proof)) {
    out.reason = "the inclusion proof does not verify against its checkpoint";
    return out;
  }
  out.proof = std::move(proof);
  return out;
}

bool verify_receipt_proof(const receipt_proof& proof) noexcept {
  return crypto::merkle::verify_inclusion(proof.leaf_index, proof.tree_size,
                                          crypto::merkle::leaf_hash(proof.receipt), proof.path,
                                          proof.root);
}

bool verify_receipt_proof(const receipt_proof& proof, const verify_result& chain) noexcept {
  const auto& list = chain.checkpoint_list;
  const auto it = std::lower_bound(
      list.begin(), list.end(), proof.checkpoint_index,
      [](const checkpoint_summary& s, std::uint64_t index) { return s.index < index; });
  if (it == list.end() || it->index != proof.checkpoint_index) return false;
  // The tree size comes from the signed checkpoint: an inclusion proof alone
  // does not bind it (see the Merkle tests).
  return crypto::constant_time_equal(it->hash, proof.checkpoint_hash) &&
         crypto::constant_time_equal(it->root, proof.root) && it->count == proof.tree_size &&
         verify_receipt_proof(proof);
}

std::string format_receipt_proof(const receipt_proof& proof) {
  json_writer w;
  w.begin_object();
  w.key("receipt").value(crypto::to_hex(proof.receipt));
  w.key("leaf_index").value(proof.leaf_index);
  w.key("tree_size").value(proof.tree_size);
  w.key("leaf_hash").value(crypto::to_hex(crypto::merkle::leaf_hash(proof.receipt)));
  w.key("path").begin_array();
  for (const auto& p : proof.path)
    w.value(crypto::to_hex(p));
  w.end_array();
  w.key("root").value(crypto::to_hex(proof.root));
  w.key("checkpoint").begin_object();
  w.key("index").value(proof.checkpoint_index);
  w.key("at").value(format_rfc3339(proof.checkpoint_at));
  w.key("hash").value(crypto::to_hex(proof.checkpoint_hash));
  w.key("alg").value(to_string(proof.alg));
  w.key("kid").value(proof.kid);
  w.end_object();
  w.end_object();
  return w.take();
}

} // namespace bulwark::audit
