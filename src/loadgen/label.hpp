#pragma once
/// Ground truth, kept out of band: what the simulator planted in an event.
///
/// A label never travels inside the event. The runner writes it to a separate
/// NDJSON stream (one line per planted attack, nothing for a clean event) so a
/// test or a benchmark can score bulwark's alerts and redactions against it.
/// Attack kinds are spelled like the alert kinds of SPEC §6 that they should
/// raise, so scoring is a join on `kind`.
#include "core/time.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace bulwark::loadgen {

/// What was planted. The names (`to_string`) are the SPEC §6 alert kinds.
enum class attack_kind : std::uint8_t {
  secret,         ///< a credential in a chat message or a log
  pii,            ///< personal data (e-mail, phone, card, IBAN, SSN)
  injection,      ///< markup, forged log lines, escapes, JNDI lookups, prompt injection
  prompt_leak,    ///< the model's system prompt echoed in its output
  tamper,         ///< the event was edited after it was signed
  replay,         ///< an earlier signed event re-sent byte for byte
  gap,            ///< the source skipped sequence numbers before this event
  silence,        ///< the source was silent before this event
  unsigned_event, ///< a source that signs sent this event without a signature
  poisoning,      ///< an impossible or outlying metric from a lying source
  rollback_guard, ///< a rollback triggered by the poisoned metrics
  drift,          ///< a fraud feature drifted (first event of each drifted window)
  flood,          ///< junk injection findings in a burst from many sources
};

inline constexpr std::size_t attack_kind_count = 13;

/// `secret`, `pii`, `injection`, `prompt_leak`, `integrity.tamper`,
/// `integrity.replay`, `integrity.gap`, `integrity.silence`,
/// `integrity.unsigned`, `poisoning`, `rollback_guard`, `drift`, `flood`.
std::string_view to_string(attack_kind k) noexcept;

/// One planted attack.
struct attack {
  attack_kind kind = attack_kind::secret;
  std::string variant; ///< e.g. `aws_access_key`, `log_forging`, `impossible`
  std::string path;    ///< JSON pointer of the member carrying it; empty: the whole event
  /// The planted values (decoded text, as a detector sees them). A secret or
  /// PII canary must not survive redaction; an injection canary must not
  /// survive defusing verbatim.
  std::vector<std::string> canaries;
  std::string detail = "{}"; ///< kind-specific facts as a JSON object
};

/// The truth about one generated event.
struct label {
  std::uint64_t index = 0; ///< 1-based position in the stream (`scan`'s line number)
  std::string source;
  std::uint64_t seq = 0;
  std::string epoch;
  std::string request_id;
  timestamp_ms ts = 0;
  std::vector<attack> attacks; ///< empty for a clean event

  bool clean() const noexcept { return attacks.empty(); }
};

/// Appends one NDJSON line per attack of `l` (nothing for a clean event):
/// `{"index":…,"ts":…,"source":…,"seq":…,"epoch":…,"request_id":…,"kind":…,
///   "variant":…,"path":…,"canaries":[…],"detail":{…}}`.
void append_label_lines(std::string& out, const label& l);

} // namespace bulwark::loadgen
