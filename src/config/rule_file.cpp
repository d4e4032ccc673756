/// Rule files -> rule_spec (docs/rules.md). Checks shape and names here; the
/// scan module compiles patterns and runs the examples.
#include "config/readers.hpp"
#include "config/rules.hpp"

namespace bulwark::config {

using namespace readers;

bulwark::severity default_severity(category c) noexcept {
  switch (c) {
  case category::secret:
  case category::prompt_leak:
    return bulwark::severity::high;
  case category::pii:
  case category::injection:
    return bulwark::severity::medium;
  }
  return bulwark::severity::high;
}

namespace {

bool is_rule_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  const auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (!first && (c == '-' || c == '_'));
  };
  for (std::size_t i = 0; i < id.size(); ++i)
    if (!ok(id[i], i == 0)) return false;
  return true;
}

std::string rule_id(const value& v) {
  std::string id = non_empty_text(v);
  if (!is_rule_id(id))
    v.fail(cat("a rule id is 1-64 characters of a-z, 0-9, '-' and '_', starting with a letter or "
               "digit; got ",
               shown(id)));
  return id;
}

std::string lower_keyword(const value& v) {
  std::string k = non_empty_text(v);
  for (char& c : k)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return k;
}

/// `text` or `{text, span}`.
rule_example read_example(const value& v) {
  rule_example ex;
  ex.line = v.line;
  if (v.node.IsMap()) {
    std::string span;
    const present seen = read_mapping(
        v, {required_field("text", ex.text, text), field("span", span, non_empty_text)});
    if (seen.contains("span")) ex.span = span;
    return ex;
  }
  ex.text = scalar_of(v, "a string or {text, span}");
  return ex;
}

/// `luhn`, `iban_mod97`, …, or `{entropy: 3.5}`.
void read_validator(const value& v, rule_spec& r) {
  if (v.node.IsMap()) {
    std::string bits;
    read_mapping(v, {required_field("entropy", bits, non_empty_text)});
    char* end = nullptr;
    const double min = std::strtod(bits.c_str(), &end);
    if (end == bits.c_str() || *end != '\0' || !(min > 0 && min <= 8))
      v.fail(cat("entropy: bits per character between 0 and 8, got ", shown(bits)));
    r.validator = validator_kind::entropy;
    r.entropy_min = min;
    return;
  }
  r.validator = choice<validator_kind>({{"luhn", validator_kind::luhn},
                                        {"iban_mod97", validator_kind::iban_mod97},
                                        {"us_ssn", validator_kind::us_ssn},
                                        {"jwt", validator_kind::jwt},
                                        {"github_crc32", validator_kind::github_crc32}})(v);
}

rule_spec read_rule(const value& v, const std::string& file) {
  rule_spec r;
  r.file = file;
  r.line = v.line;
  std::optional<bulwark::severity> sev;
  std::optional<text_form> form;
  std::vector<rule_example> match, no_match;
  const auto category_reader = choice<category>({{"secret", category::secret},
                                                 {"pii", category::pii},
                                                 {"prompt_leak", category::prompt_leak},
                                                 {"injection", category::injection}});
  const auto severity_reader = choice<bulwark::severity>({{"critical", bulwark::severity::critical},
                                                          {"high", bulwark::severity::high},
                                                          {"medium", bulwark::severity::medium},
                                                          {"low", bulwark::severity::low}});
  const auto action_reader = action_choice();
  const auto examples_reader = [&](const value& ev) {
    read_mapping(ev, {field("match", match, list_of(read_example)),
                      field("no_match", no_match, list_of(read_example))});
    return 0;
  };
  int examples_seen = 0;
  const present seen = read_mapping(
      v, {
             required_field("id", r.id, rule_id),
             required_field("category", r.cat, category_reader),
             field("severity", sev, [&](const value& x) { return severity_reader(x); }),
             required_field("pattern", r.pattern, non_empty_text),
             field("form", form,
                   [](const value& x) {
                     return choice<text_form>(
                         {{"raw", text_form::raw}, {"normalized", text_form::normalized}})(x);
                   }),
             field("keywords", r.keywords, list_of(lower_keyword)),
             field("keyword_window", r.keyword_window, integer<std::size_t>(1, 4096)),
             field("validator", examples_seen,
                   [&](const value& x) {
                     read_validator(x, r);
                     return 0;
                   }),
             field("allow", r.allow, list_of(non_empty_text)),
             field("action", r.act, [&](const value& x) { return action_reader(x); }),
             required_field("examples", examples_seen, examples_reader),
         });
  if (match.empty())
    v.fail(cat("rule ", shown(r.id),
               ": examples.match is empty; a rule without examples does not load"));
  if (seen.contains("keyword_window") && r.keywords.empty())
    v.fail(cat("rule ", shown(r.id), ": keyword_window without keywords"));
  r.match = std::move(match);
  r.no_match = std::move(no_match);
  r.sev = sev.value_or(default_severity(r.cat));
  r.form = form.value_or(r.cat == category::injection ? text_form::normalized : text_form::raw);
  return r;
}

auto read_rules_root(const std::string& file) {
  return [file](const value& root) -> std::vector<rule_spec> {
    std::vector<rule_spec> rules;
    std::string pack;
    read_mapping(root,
                 {field("pack", pack, non_empty_text),
                  required_field("rules", rules,
                                 list_of([&](const value& item) { return read_rule(item, file); },
                                         distinct_by("id")))});
    return rules;
  };
}

} // namespace

rules_result load_rule_string(std::string_view yaml, std::string_view name) {
  return read_document<std::vector<rule_spec>>(yaml, name, read_rules_root(std::string(name)));
}

rules_result load_rule_file(const std::string& path) {
  return load_rule_file(path, {});
}

rules_result load_rule_file(const std::string& path,
                            const std::function<bool(std::string_view)>& known_single) {
  std::string content;
  if (const int error = read_file(path, content); error != 0)
    return load_error{path, 0, "", cat("cannot read: ", std::strerror(error))};
  const bool known = known_single && known_single(content);
  return read_document<std::vector<rule_spec>>(content, path, read_rules_root(path), known);
}

} // namespace bulwark::config
