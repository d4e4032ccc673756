#include "scan/ruleset.hpp"

#include "crypto/hmac.hpp"
#include "scan/db_cache.hpp"
#include "scan/filter.hpp"
#include "scan/ruleset_impl.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

namespace bulwark::scan {

ruleset::ruleset() : impl_(std::make_unique<impl>()) {}
ruleset::~ruleset() = default;

namespace {

std::string where(const config::rule_spec& r) {
  return r.file + ":" + std::to_string(r.line) + ": rule " + r.id;
}

/// Compiles the rules of one form; `ids` are indices into the ruleset.
/// `keywords`, when given, are compiled into the same database as caseless
/// literals reported with ids from rules.size() on, at every occurrence.
std::variant<hs_database_ptr, std::string> compile(const std::vector<rule_info>& rules,
                                                   std::vector<unsigned> ids, unsigned extra_flags,
                                                   const std::vector<std::string>& keywords = {}) {
  if (ids.empty() && keywords.empty()) return hs_database_ptr{};
  std::vector<const char*> patterns;
  std::vector<unsigned> flags;
  const std::size_t rule_count = ids.size();
  // Hyperscan runs each rule's filter (filter.hpp); RE2 confirms with the pattern.
  std::vector<std::string> filters(ids.size());
  for (std::size_t k = 0; k < ids.size(); ++k) {
    auto f = hyperscan_filter(rules[ids[k]].spec.pattern, (extra_flags & HS_FLAG_CASELESS) != 0);
    filters[k] = f ? std::move(*f) : rules[ids[k]].spec.pattern;
  }
  for (std::size_t k = 0; k < ids.size(); ++k) {
    const unsigned id = ids[k];
    patterns.push_back(filters[k].c_str());
    // Which rules hit in which values is all Hyperscan is asked; RE2 then
    // finds the spans
    // (see ruleset.hpp for why).
    // Multi-line: an event's values are scanned joined, each followed by a
    // newline, and `^`/`$` must hold at every value's edges. UTF-8 mode only
    // where a pattern names code points: it made compiling ~10x slower, and
    // byte semantics are enough for a filter whose hits RE2 (UTF-8) confirms.
    const std::string& p = rules[id].spec.pattern;
    const bool needs_utf8 =
        std::any_of(p.begin(), p.end(),
                    [](char c) { return static_cast<unsigned char>(c) >= 0x80; }) ||
        p.find("\\x{") != std::string::npos || p.find("\\p") != std::string::npos ||
        p.find("\\P") != std::string::npos;
    flags.push_back(HS_FLAG_MULTILINE | (needs_utf8 ? HS_FLAG_UTF8 : 0U) | extra_flags);
  }
  for (const std::string& k : keywords) {
    ids.push_back(static_cast<unsigned>(rules.size()));
    patterns.push_back(k.c_str());
    flags.push_back(HS_FLAG_CASELESS);
  }
  // The exact compile input: the cache uses a database only for the same input.
  std::string key = std::string("hyperscan ") + hs_version() + "\nmode block\n";
  for (std::size_t i = 0; i < ids.size(); ++i)
    key += std::to_string(ids[i]) + " " + std::to_string(flags[i]) + " " + patterns[i] + "\n";
  const std::string cache_dir = db_cache::directory();
  if (hs_database_ptr cached = db_cache::load(cache_dir, key)) return cached;

  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(patterns.data(), flags.data(), ids.data(), static_cast<unsigned>(ids.size()),
                       HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    std::string msg;
    if (err != nullptr && err->expression >= 0 &&
        static_cast<std::size_t>(err->expression) < rule_count) {
      msg = where(rules[ids[static_cast<std::size_t>(err->expression)]].spec) +
            ": pattern: " + err->message;
    } else {
      msg = std::string("cannot compile rules: ") + (err != nullptr ? err->message : "unknown");
    }
    hs_free_compile_error(err);
    return msg;
  }
  db_cache::store(cache_dir, key, db);
  return hs_database_ptr(db);
}

/// The gates rules are grouped by, rarest first: a rule goes to the first
/// class that holds a byte of every match of it (gate.hpp). Telemetry is mostly
/// ASCII prose and identifiers, so non-ASCII bytes, '@' and the symbols prose
/// seldom uses make the tightest gates; digits come next (ids and timestamps
/// have them, sentences seldom do), then ':' (URLs, IPv6, times: a tenth of the
/// benchmark telemetry's value bytes, and an IPv6 and a `javascript:` rule that
/// needed it cost a third of the every-value databases). Everything else scans
/// every value.
std::vector<byte_set> gate_classes() {
  byte_set high, at, symbols, digit;
  high.add_range(0x80, 0xFF);
  at.add('@');
  symbols.add_range(0x00, 0x1F);
  symbols.add(0x7F);
  for (const char c : std::string_view("!#$%&*+;<=>?@[\\]^`{|}~"))
    symbols.add(static_cast<unsigned char>(c));
  digit.add_range('0', '9');
  byte_set digit_or_symbol = digit;
  digit_or_symbol |= symbols;
  byte_set colon;
  colon.add(':');
  return {high, at, symbols, digit, digit_or_symbol, colon};
}

/// `word` as a pattern matching it literally.
std::string literal_pattern(std::string_view word) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string p;
  for (const char c : word) {
    const auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
      p += c;
    } else {
      p += "\\x";
      p += hex[u >> 4];
      p += hex[u & 15];
    }
  }
  return p;
}

/// Compiles the rules `ids` of one form into databases by gate.
std::variant<std::vector<gated_db>, std::string> compile_gated(const std::vector<rule_info>& rules,
                                                               const std::vector<unsigned>& ids,
                                                               bool normalized) {
  const std::vector<byte_set> classes = gate_classes();
  // The byte classes, then every value, then rules with keywords and no byte
  // gate: those scan only the values where the every-value database, which
  // runs first, found one of their keywords.
  const std::size_t every = classes.size();
  const std::size_t by_keyword = classes.size() + 1;
  std::vector<std::vector<unsigned>> members(classes.size() + 2);
  std::vector<byte_set> gates(classes.size() + 2);
  std::vector<std::string> keywords;
  for (const unsigned id : ids) {
    std::size_t k = 0;
    for (; k < classes.size(); ++k) {
      if (auto need = required_bytes(rules[id].spec.pattern, classes[k])) {
        // Normalized rules are matched on the lower-cased text but gated on
        // the value as it is when only case differs: both cases open the gate.
        gates[k] |= normalized ? need->case_closed() : *need;
        break;
      }
    }
    // Keyword gating pays for a rule Hyperscan cannot find by a literal of its
    // own (an AWS secret key's 40 base64 characters): its keywords cost a
    // match in every value holding one ("user", "account" are common words)
    // and a second scan of those values. A rule with a literal ("pass",
    // "basic") costs less in the every-value database itself.
    const auto& kws = rules[id].spec.keywords;
    if (k == every && !kws.empty() &&
        std::none_of(kws.begin(), kws.end(), [](const std::string& w) { return w.empty(); }) &&
        required_literal(rules[id].spec.pattern, normalized) < 2) {
      k = by_keyword;
      for (const std::string& w : kws)
        keywords.push_back(literal_pattern(w));
    }
    members[k].push_back(id);
  }
  std::sort(keywords.begin(), keywords.end());
  keywords.erase(std::unique(keywords.begin(), keywords.end()), keywords.end());
  std::vector<gated_db> out;
  for (std::size_t k = 0; k < members.size(); ++k) {
    const bool with_keywords = k == every && !members[by_keyword].empty();
    if (members[k].empty() && !with_keywords) continue;
    auto db = compile(rules, members[k], normalized ? HS_FLAG_CASELESS : 0U,
                      with_keywords ? keywords : std::vector<std::string>{});
    if (auto* e = std::get_if<std::string>(&db)) return *e;
    gated_db g;
    g.db = std::move(std::get<hs_database_ptr>(db));
    g.gate = gates[k];
    g.every_value = k == every;
    g.by_keyword = k == by_keyword;
    out.push_back(std::move(g));
  }
  return out;
}

} // namespace

std::vector<std::string> ruleset::compile_all() const {
  std::vector<std::string> errors;
  for (std::size_t i = 0; i < rules_.size(); ++i) {
    const auto& x = impl_->span[i];
    if (x && x->get() == nullptr)
      errors.push_back(where(rules_[i].spec) +
                       ": pattern: does not fit the span extractor (RE2): " + x->error());
  }
  return errors;
}

std::variant<std::shared_ptr<const ruleset>, std::string>
ruleset::build(std::vector<config::rule_spec> specs, const ruleset_options& opts) {
  std::shared_ptr<ruleset> rs(new ruleset());
  std::set<std::string, std::less<>> ids;
  std::vector<unsigned> raw_ids, norm_ids;
  for (auto& spec : specs) {
    if (!ids.insert(spec.id).second)
      return where(spec) + ": the id is already used by another rule";
    rule_info info{std::move(spec), opts.default_action};
    if (info.spec.act) {
      info.act = *info.spec.act;
    } else if (info.spec.cat == category::injection) {
      info.act = action::defuse; // an injection is reported and defused, not erased
    }
    if (info.act == action::hash && opts.hash_key.empty())
      return where(info.spec) + ": action hash needs rules.hash_key (" +
             (opts.hash_key_problem.empty() ? "no key" : opts.hash_key_problem) + ")";
    // The span extractor compiles on first use; here RE2 only parses: with
    // a memory budget too small for any program, a pattern it accepts fails
    // at compiling ("pattern too large") and one it rejects fails before.
    re2::RE2::Options parse_only = span_extractor::options();
    parse_only.set_max_mem(2);
    const re2::RE2 probe(info.spec.pattern, parse_only);
    if (!probe.ok() && probe.error_code() != re2::RE2::ErrorPatternTooLarge)
      return where(info.spec) +
             ": pattern: not supported by the span extractor (RE2): " + probe.error();
    rs->impl_->span.push_back(std::make_unique<span_extractor>(info.spec.pattern));
    (info.spec.form == config::text_form::raw ? raw_ids : norm_ids)
        .push_back(static_cast<unsigned>(rs->rules_.size()));
    rs->rules_.push_back(std::move(info));
  }
  // Rules without a pattern: found by code, reported like any other rule.
  const auto add_builtin = [&](std::string id, std::string what) {
    rule_info info{config::rule_spec{}, opts.default_action};
    info.spec.id = std::move(id);
    info.spec.cat = category::prompt_leak;
    info.spec.sev = bulwark::severity::high;
    info.spec.file = std::move(what);
    if (info.act == action::defuse) info.act = action::tag; // defusing does not hide a prompt
    rs->impl_->span.push_back(nullptr);
    rs->rules_.push_back(std::move(info));
    return static_cast<std::uint32_t>(rs->rules_.size() - 1);
  };
  if (opts.default_action == action::hash && opts.hash_key.empty())
    return "rules.action hash needs rules.hash_key (" +
           (opts.hash_key_problem.empty() ? std::string("no key") : opts.hash_key_problem) + ")";
  rs->system_message_rule_ = add_builtin("system-prompt", "built-in policy");
  for (const auto& [name, text] : opts.system_prompts) {
    const std::uint32_t id = static_cast<std::uint32_t>(rs->impl_->prompt_rule.size());
    rs->impl_->prompt_rule.push_back(add_builtin("system-prompt-" + name, "rules.system_prompts"));
    rs->impl_->prompts.add(id, text);
  }

  auto raw = compile_gated(rs->rules_, raw_ids, false);
  if (auto* e = std::get_if<std::string>(&raw)) return *e;
  auto norm = compile_gated(rs->rules_, norm_ids, true);
  if (auto* e = std::get_if<std::string>(&norm)) return *e;
  rs->impl_->raw = std::move(std::get<std::vector<gated_db>>(raw));
  rs->impl_->normalized = std::move(std::get<std::vector<gated_db>>(norm));

  hs_scratch_t* scratch = nullptr;
  for (const auto* form : {&rs->impl_->raw, &rs->impl_->normalized})
    for (const gated_db& g : *form)
      if (hs_alloc_scratch(g.db.get(), &scratch) != HS_SUCCESS)
        return std::string("cannot allocate Hyperscan scratch space");
  rs->impl_->prototype.reset(scratch);
  rs->hash_key_ = opts.hash_key;
  return std::shared_ptr<const ruleset>(std::move(rs));
}

std::string default_rules_dir() {
  if (const char* env = std::getenv("BULWARK_RULES_DIR"); env != nullptr && *env != '\0')
    return env;
  std::error_code ec;
  if (std::filesystem::is_directory(BULWARK_SOURCE_RULES_DIR, ec)) return BULWARK_SOURCE_RULES_DIR;
  return "/usr/share/bulwark/rules";
}

bool is_shipped_pack(std::string_view content) {
  static constexpr std::string_view shipped[] = {
#include "scan/shipped_packs.inc"
      std::string_view{}, // never a digest; keeps the array valid with no packs
  };
  const std::string digest = crypto::to_hex(crypto::sha256(content));
  return std::find(std::begin(shipped), std::end(shipped), digest) != std::end(shipped);
}

std::variant<std::shared_ptr<const ruleset>, std::string>
load_ruleset(const std::string& rules_dir, const std::vector<std::string>& packs,
             const std::vector<std::string>& extra, const ruleset_options& opts) {
  std::vector<config::rule_spec> all;
  std::vector<std::string> files;
  files.reserve(packs.size() + extra.size());
  for (const auto& p : packs)
    files.push_back(rules_dir + '/' + p + ".yaml");
  files.insert(files.end(), extra.begin(), extra.end());
  for (const auto& f : files) {
    auto loaded = config::load_rule_file(f, is_shipped_pack);
    if (auto* e = std::get_if<config::load_error>(&loaded)) return e->message();
    auto& rules = std::get<std::vector<config::rule_spec>>(loaded);
    std::move(rules.begin(), rules.end(), std::back_inserter(all));
  }
  return ruleset::build(std::move(all), opts);
}

} // namespace bulwark::scan
