/// YAML -> options.
///
/// The readers below are small functions from a YAML node (with its dotted
/// path and line) to a typed value. A section is a table of fields, each one a
/// key name, the member it fills and the reader for its value; adding a key is
/// adding one line to a table (and to docs/configuration.md).
///
/// Invariants:
///  1. Keys are visited in file order, so the error reported is the first one
///     an operator would meet reading the file top to bottom.
///  2. A key that is absent keeps the default from options.hpp.
///  3. Key material (hex values, librdkafka property values) is never copied
///     into an error; any echoed value with a long run of hex digits is
///     withheld too, in case a key was pasted into the wrong field.
///  4. Nothing throws out of load_*: the readers throw `failure`, yaml-cpp throws
///     its own exceptions, and load_string turns both into a load_error.
#include "config/load.hpp"

#include "core/verdict.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <type_traits>
#include <utility>
#include <vector>
#include <yaml-cpp/yaml.h>

namespace bulwark::config {

std::string load_error::message() const {
  std::string out = file;
  if (line > 0) {
    out += ':';
    out += std::to_string(line);
  }
  for (const std::string* part : {&key, &reason}) {
    if (part->empty()) continue;
    if (!out.empty()) out += ": ";
    out += *part;
  }
  return out;
}

namespace {

/// A number followed by a unit from `units`, scaled; nullopt on anything else,
/// including a missing number, a sign, spaces or overflow past `max`.
std::optional<std::uint64_t>
scaled_number(std::string_view text,
              std::initializer_list<std::pair<std::string_view, std::uint64_t>> units,
              std::uint64_t max) {
  std::uint64_t n = 0;
  const char* const end = text.data() + text.size();
  const auto [unit_begin, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc{}) return std::nullopt;
  const std::string_view unit(unit_begin, static_cast<std::size_t>(end - unit_begin));
  for (const auto& [name, factor] : units) {
    if (unit != name) continue;
    if (n > max / factor) return std::nullopt;
    return n * factor;
  }
  return std::nullopt;
}

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t mib = 1024 * kib;
constexpr std::uint64_t gib = 1024 * mib;

} // namespace

std::optional<duration> parse_duration(std::string_view text) {
  constexpr auto max_ms = static_cast<std::uint64_t>(std::numeric_limits<duration::rep>::max());
  const auto ms = scaled_number(
      text, {{"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}}, max_ms);
  if (!ms) return std::nullopt;
  return duration(static_cast<duration::rep>(*ms));
}

std::optional<std::uint64_t> parse_byte_size(std::string_view text) {
  return scaled_number(text, {{"", 1}, {"B", 1}, {"KiB", kib}, {"MiB", mib}, {"GiB", gib}},
                       std::numeric_limits<std::uint64_t>::max());
}

namespace {

// ---------------------------------------------------------------------------
// Text helpers for error reasons.

template <class... Parts> std::string cat(const Parts&... parts) {
  std::string out;
  (out += ... += parts);
  return out;
}

std::string join(const auto& names, std::string_view separator = ", ") {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += separator;
    out += name;
  }
  return out;
}

bool is_hex_digit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// A scalar the operator wrote, quoted for an error reason (invariant 3).
std::string shown(std::string_view text) {
  constexpr std::size_t key_like_run = 32;
  std::size_t run = 0;
  for (const char c : text) {
    run = is_hex_digit(c) ? run + 1 : 0;
    if (run >= key_like_run) return "a value that looks like key material (not shown)";
  }
  constexpr std::size_t max_shown = 60;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == max_shown) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += text[i];
    } else if (c < 0x20 || c == 0x7f) {
      constexpr std::string_view digits = "0123456789abcdef";
      out += "\\x";
      out += digits[c >> 4U];
      out += digits[c & 0xfU];
    } else {
      out += text[i];
    }
  }
  out += '"';
  return out;
}

/// What a node is, without its content: used where the content might be a secret.
std::string_view kind_of(const YAML::Node& node) {
  switch (node.Type()) {
  case YAML::NodeType::Map:
    return "a mapping";
  case YAML::NodeType::Sequence:
    return "a list";
  case YAML::NodeType::Scalar:
    return "a scalar";
  case YAML::NodeType::Null:
  case YAML::NodeType::Undefined:
    break;
  }
  return "an empty value";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), std::size_t{0});
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// ---------------------------------------------------------------------------
// Nodes with their location, and the first-error exit.

/// The first problem found; load_string adds the file name.
struct failure {
  int line = 0;
  std::string key;
  std::string reason;
};

/// 1-based line of a node. yaml-cpp marks an empty value at the *next* token,
/// often a later line, so empty values take the line of their key instead.
int line_of(const YAML::Node& node, int fallback) {
  if (!node.IsDefined() || node.IsNull()) return fallback;
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback : mark.line + 1;
}

/// A YAML node, the dotted path that leads to it and its line.
struct value {
  YAML::Node node;
  std::string path; ///< e.g. "policies[0].action"; empty for the root
  int line = 0;

  [[noreturn]] void fail(std::string reason) const { throw failure{line, path, std::move(reason)}; }

  std::string child_path(std::string_view key) const {
    return path.empty() ? std::string(key) : cat(path, ".", key);
  }
  value child(std::string_view key, const YAML::Node& child_node, int key_line) const {
    return {child_node, child_path(key), line_of(child_node, key_line)};
  }
  value item(std::size_t index, const YAML::Node& item_node) const {
    return {item_node, cat(path, "[", std::to_string(index), "]"), line_of(item_node, line)};
  }
  /// A member of a mapping, read without yaml-cpp's inserting operator[].
  std::optional<value> member(std::string_view key) const {
    if (!node.IsMap()) return std::nullopt;
    for (const auto& entry : node) {
      if (entry.first.IsScalar() && entry.first.Scalar() == key)
        return child(key, entry.second, line_of(entry.first, line));
    }
    return std::nullopt;
  }
};

/// Calls visit(name, key_line, value) for each entry of a mapping, in file
/// order. An empty value is an empty mapping: a section whose keys are all
/// commented out means "all defaults".
template <class Visit> void for_each_entry(const value& map, Visit&& visit) {
  if (map.node.IsNull()) return;
  if (!map.node.IsMap()) map.fail(cat("expected a mapping, got ", kind_of(map.node)));
  // yaml-cpp keeps both copies of a repeated key; which one wins would be a guess.
  std::map<std::string, int, std::less<>> first_line;
  for (const auto& entry : map.node) {
    const int key_line = line_of(entry.first, map.line);
    if (!entry.first.IsScalar()) throw failure{key_line, map.path, "a key must be a plain string"};
    const std::string& name = entry.first.Scalar();
    const value child = map.child(name, entry.second, key_line);
    if (const auto [first, fresh] = first_line.emplace(name, key_line); !fresh)
      throw failure{key_line, child.path,
                    cat("duplicate key (first at line ", std::to_string(first->second), ")")};
    visit(name, key_line, child);
  }
}

// ---------------------------------------------------------------------------
// Readers: callables from `const value&` to a typed value.

const std::string& scalar_of(const value& v, std::string_view expected) {
  if (!v.node.IsScalar()) v.fail(cat("expected ", expected, ", got ", kind_of(v.node)));
  return v.node.Scalar();
}

/// Any scalar as text; an empty value is "".
std::string text(const value& v) {
  if (v.node.IsNull()) return {};
  return scalar_of(v, "a string");
}

std::string non_empty_text(const value& v) {
  std::string s = text(v);
  if (s.empty()) v.fail("must not be empty");
  return s;
}

/// The YAML 1.2 core-schema booleans; yes/no/on/off are YAML 1.1 and surprise people.
std::optional<bool> yaml_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

bool boolean(const value& v) {
  const std::string& s = scalar_of(v, "true or false");
  if (const auto b = yaml_bool(s)) return *b;
  v.fail(cat("expected true or false, got ", shown(s)));
}

/// A decimal integer in [lo, hi], converted to T.
template <class T> auto integer(std::int64_t lo, std::int64_t hi) {
  return [lo, hi](const value& v) -> T {
    const std::string& s = scalar_of(v, "an integer");
    std::int64_t n = 0;
    const char* const end = s.data() + s.size();
    const auto [stop, ec] = std::from_chars(s.data(), end, n);
    if (ec == std::errc::invalid_argument || stop != end)
      v.fail(cat("expected an integer, got ", shown(s)));
    if (ec == std::errc::result_out_of_range || n < lo || n > hi)
      v.fail(cat("must be between ", std::to_string(lo), " and ", std::to_string(hi), ", got ",
                 ec == std::errc{} ? s : "a number out of range"));
    return static_cast<T>(n);
  };
}

std::string size_text(std::uint64_t bytes) {
  for (const auto& [unit, factor] : {std::pair{"GiB", gib}, {"MiB", mib}, {"KiB", kib}})
    if (bytes % factor == 0) return cat(std::to_string(bytes / factor), unit);
  return cat(std::to_string(bytes), " bytes");
}

/// A byte count in [lo, hi], with an optional KiB/MiB/GiB suffix.
auto byte_size(std::uint64_t lo, std::uint64_t hi) {
  return [lo, hi](const value& v) -> std::size_t {
    const std::string& s = scalar_of(v, "a size");
    const auto n = parse_byte_size(s);
    if (!n)
      v.fail(cat("not a size (use bytes or KiB, MiB, GiB: 1048576, 512KiB, 1MiB), got ", shown(s)));
    if (*n < lo || *n > hi)
      v.fail(cat("must be between ", size_text(lo), " and ", size_text(hi), ", got ", shown(s)));
    return static_cast<std::size_t>(*n);
  };
}

duration positive_duration(const value& v) {
  const std::string& s = scalar_of(v, "a duration");
  const auto d = parse_duration(s);
  if (!d) v.fail(cat("not a duration (use 90s, 5m, 1h, 1d), got ", shown(s)));
  if (d->count() == 0) v.fail("must be greater than 0");
  return *d;
}

/// One of a fixed set of names, mapped to a T.
template <class T> auto choice(std::vector<std::pair<std::string_view, T>> choices) {
  return [choices = std::move(choices)](const value& v) -> T {
    std::vector<std::string_view> names;
    for (const auto& entry : choices)
      names.push_back(entry.first);
    const std::string& s = scalar_of(v, cat("one of ", join(names)));
    for (const auto& [name, result] : choices)
      if (s == name) return result;
    v.fail(cat("must be one of ", join(names), ", got ", shown(s)));
  };
}

/// One of a fixed set of names, kept as the name.
template <class Names> auto one_of(const Names& names) {
  std::vector<std::pair<std::string_view, std::string>> choices;
  choices.reserve(std::size(names));
  for (const std::string_view name : names)
    choices.emplace_back(name, std::string(name));
  return choice(std::move(choices));
}

/// The action names, spelled as core spells them.
std::vector<std::string_view> action_names() {
  std::vector<std::string_view> names;
  for (const auto a : {action::tag, action::hash, action::mask, action::drop, action::defuse})
    names.push_back(to_string(a));
  return names;
}

std::string topic_name(const value& v) {
  std::string s = text(v);
  if (!is_valid_topic_name(s))
    v.fail(cat("not a valid Kafka topic name (1-249 characters of a-z A-Z 0-9 . _ -), got ",
               shown(s)));
  return s;
}

std::string topic_suffix(const value& v) {
  std::string s = text(v);
  // Any prefix works: only the characters of the suffix are checked here.
  if (s.empty() || !is_valid_topic_name("t" + s))
    v.fail(cat("must be non-empty and use only topic-name characters (a-z A-Z 0-9 . _ -), got ",
               shown(s)));
  return s;
}

std::string json_pointer(const value& v) {
  std::string s = text(v);
  if (!s.starts_with('/'))
    v.fail(cat("must be a JSON pointer starting with \"/\" (e.g. /features/note), got ", shown(s)));
  if (!is_json_pointer(s))
    v.fail(
        cat("not a valid JSON pointer: \"~\" must be followed by 0 or 1 (~0 is ~, ~1 is /), got ",
            shown(s)));
  return s;
}

std::string listen_address(const value& v) {
  std::string s = text(v);
  if (!split_host_port(s))
    v.fail(cat("must be host:port with a port from 0 to 65535 (e.g. 127.0.0.1:9464 or "
               "[::1]:9464), got ",
               shown(s)));
  return s;
}

std::string http_url_or_empty(const value& v) {
  std::string s = text(v);
  if (s.empty()) return s;
  for (const std::string_view scheme : {"http://", "https://"}) {
    if (!s.starts_with(scheme)) continue;
    const std::string_view rest = std::string_view(s).substr(scheme.size());
    const bool has_host = !rest.empty() && rest.find_first_of("/?#") != 0;
    const bool has_space = std::any_of(s.begin(), s.end(),
                                       [](char c) { return static_cast<unsigned char>(c) <= ' '; });
    if (has_host && !has_space) return s;
  }
  // Not echoed: a URL may carry user:password.
  v.fail("must be empty or an http:// or https:// URL with a host (e.g. http://127.0.0.1:9093)");
}

/// librdkafka takes every property as a string; plain YAML booleans are
/// normalised to its spelling. Values are never echoed: they include passwords.
std::string property_value(const value& v) {
  if (!v.node.IsScalar())
    v.fail(cat("expected a string, number or boolean, got ", kind_of(v.node)));
  const std::string& s = v.node.Scalar();
  if (v.node.Tag() == "?") // plain, i.e. not quoted
    if (const auto b = yaml_bool(s)) return *b ? "true" : "false";
  return s;
}

// ---------------------------------------------------------------------------
// Lists and maps of readers.

/// What list_of checks beyond the items themselves.
struct list_spec {
  bool non_empty = false;
  /// Items must differ: a repeated rule pack or policy path is a copy-paste
  /// slip, and for policies it would make the winning action a guess.
  bool distinct = false;
  /// With `distinct`, the member of a mapping item that must differ; empty:
  /// the (scalar) item itself.
  std::string_view distinct_member;
};

constexpr list_spec any_list{false, false, {}};
constexpr list_spec non_empty_list{true, false, {}};
constexpr list_spec distinct_list{false, true, {}};
constexpr list_spec distinct_by(std::string_view member) {
  return {false, true, member};
}

template <class Read, class T = std::invoke_result_t<const Read&, const value&>>
auto list_of(Read read_item, list_spec spec = any_list) {
  return [read_item, spec](const value& v) {
    std::vector<T> items;
    if (!v.node.IsNull() && !v.node.IsSequence())
      v.fail(cat("expected a list, got ", kind_of(v.node)));
    if (v.node.IsSequence()) {
      std::map<std::string, std::size_t, std::less<>> first_index;
      for (const auto& item_node : v.node) {
        const value item = v.item(items.size(), item_node);
        items.push_back(read_item(item));
        if (!spec.distinct) continue;
        // The item has been read successfully, so the compared node is a scalar.
        const value at =
            spec.distinct_member.empty() ? item : item.member(spec.distinct_member).value_or(item);
        std::string key = at.node.IsScalar() ? at.node.Scalar() : std::string();
        const auto [first, fresh] = first_index.emplace(key, items.size() - 1);
        if (!fresh) at.fail(cat("duplicate of ", v.path, "[", std::to_string(first->second), "]"));
      }
    }
    if (spec.non_empty && items.empty()) v.fail("must not be empty");
    return items;
  };
}

/// A mapping with free-form keys; `check_name` returns why a name is refused, or "".
template <class Read, class T = std::invoke_result_t<const Read&, const value&>>
auto map_of(Read read_entry, std::string (*check_name)(std::string_view)) {
  return [read_entry, check_name](const value& v) {
    std::map<std::string, T> entries;
    for_each_entry(v, [&](const std::string& name, int key_line, const value& entry) {
      if (std::string why = check_name(name); !why.empty())
        throw failure{key_line, entry.path, std::move(why)};
      entries.emplace(name, read_entry(entry));
    });
    return entries;
  };
}

// ---------------------------------------------------------------------------
// Mappings with known keys.

/// One key a mapping may hold and what to do with its value.
struct field_spec {
  std::string_view name;
  std::function<void(const value&)> read;
  bool required = false;
};

/// A key whose value `read` converts into `out`; absent, `out` keeps its default.
template <class T, class Read> field_spec field(std::string_view name, T& out, Read read) {
  return {name, [&out, read](const value& v) { out = read(v); }};
}

template <class T, class Read> field_spec required_field(std::string_view name, T& out, Read read) {
  field_spec spec = field(name, out, std::move(read));
  spec.required = true;
  return spec;
}

/// The keys a mapping held, for checks that involve several of them.
using present = std::map<std::string, value, std::less<>>;

std::string unknown_key_reason(std::string_view name, std::initializer_list<field_spec> fields) {
  std::vector<std::string_view> known;
  std::string_view closest;
  std::size_t best = 3; // farther than two edits is not a typo
  for (const auto& f : fields) {
    known.push_back(f.name);
    if (const std::size_t d = edit_distance(name, f.name); d < best && d < f.name.size()) {
      best = d;
      closest = f.name;
    }
  }
  std::string reason = "unknown key";
  if (!closest.empty()) reason += cat(", did you mean \"", closest, "\"?");
  return cat(reason, " (known keys: ", join(known), ")");
}

present read_mapping(const value& v, std::initializer_list<field_spec> fields) {
  present seen;
  for_each_entry(v, [&](const std::string& name, int key_line, const value& entry) {
    const auto* f = std::find_if(fields.begin(), fields.end(),
                                 [&](const field_spec& spec) { return spec.name == name; });
    if (f == fields.end()) throw failure{key_line, entry.path, unknown_key_reason(name, fields)};
    f->read(entry);
    seen.emplace(name, entry);
  });
  for (const auto& f : fields)
    if (f.required && !seen.contains(f.name))
      throw failure{v.line, v.child_path(f.name), "required key is missing"};
  return seen;
}

/// For mappings that are a choice between alternatives ({windows} or {file}).
void exactly_one_of(const value& v, const present& seen,
                    std::initializer_list<std::string_view> names) {
  std::vector<std::string_view> found;
  for (const auto name : names)
    if (seen.contains(name)) found.push_back(name);
  if (found.empty()) v.fail(cat("needs exactly one of: ", join(names)));
  if (found.size() > 1)
    v.fail(cat("takes exactly one of: ", join(names), " (found ", join(found, " and "), ")"));
}

// ---------------------------------------------------------------------------
// Key sources.

std::string key_source_form(key_source::kind kind) {
  switch (kind) {
  case key_source::kind::hex:
    return "{hex: \"...\"}";
  case key_source::kind::file:
    return "{file: PATH}";
  case key_source::kind::env:
    return "{env: VAR}";
  case key_source::kind::none:
    break;
  }
  return "{}";
}

bool is_env_name(std::string_view name) {
  const auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  return !name.empty() && !(name[0] >= '0' && name[0] <= '9') &&
         std::all_of(name.begin(), name.end(), word);
}

/// Reasons here never quote the value: it is the key.
void check_hex_key(const value& at, std::string_view hex) {
  constexpr std::size_t min_digits = 32; // 16 bytes: less is guessable
  if (!std::all_of(hex.begin(), hex.end(), is_hex_digit))
    at.fail("must contain only hex digits (0-9, a-f)");
  if (hex.size() % 2 != 0) at.fail("must have an even number of hex digits");
  if (hex.size() < min_digits) at.fail("must be at least 32 hex digits (16 bytes)");
}

/// Where a key comes from: {hex: "..."}, {file: PATH} or {env: VAR}, limited to `allowed`.
auto key_source_reader(std::initializer_list<key_source::kind> allowed_kinds = {
                           key_source::kind::hex, key_source::kind::file, key_source::kind::env}) {
  return [allowed = std::vector(allowed_kinds)](const value& v) -> key_source {
    std::vector<std::string> forms;
    forms.reserve(allowed.size());
    for (const auto kind : allowed)
      forms.push_back(key_source_form(kind));
    // Not echoed: a scalar here is most likely the key itself.
    if (!v.node.IsNull() && !v.node.IsMap())
      v.fail(cat("expected a key source (", join(forms, " or "), "), got ", kind_of(v.node)));
    std::string hex;
    std::string file;
    std::string env;
    const present seen = read_mapping(
        v, {field("hex", hex, text), field("file", file, text), field("env", env, text)});
    exactly_one_of(v, seen, {"hex", "file", "env"});

    key_source out;
    if (seen.contains("hex")) {
      check_hex_key(seen.at("hex"), hex);
      out = {key_source::kind::hex, std::move(hex)};
    } else if (seen.contains("file")) {
      if (file.empty()) seen.at("file").fail("must not be empty");
      out = {key_source::kind::file, std::move(file)};
    } else {
      if (!is_env_name(env))
        seen.at("env").fail(cat("not a valid environment variable name (letters, digits and _, "
                                "not starting with a digit), got ",
                                shown(env)));
      out = {key_source::kind::env, std::move(env)};
    }
    if (std::find(allowed.begin(), allowed.end(), out.from) == allowed.end())
      v.fail(cat("only ", join(forms, " or "), " is accepted here"));
    return out;
  };
}

std::string key_id_problem(std::string_view id) {
  // Key ids travel in "sig": {"kid": ...} and in the `bw-sig: <kid>:<mac>` header.
  constexpr std::size_t max_length = 64;
  const bool ok =
      !id.empty() && id.size() <= max_length && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
      });
  return ok ? "" : "a key id must be 1-64 characters of a-z A-Z 0-9 . _ -";
}

std::string property_name_problem(std::string_view name) {
  return name.empty() ? "a property name must not be empty" : "";
}

// ---------------------------------------------------------------------------
// Sections.

limits_options read_limits(const value& v) {
  limits_options o;
  read_mapping(v, {
                      field("max_event_bytes", o.max_event_bytes, byte_size(64, 256 * mib)),
                      field("max_depth", o.max_depth, integer<std::size_t>(1, 1024)),
                  });
  return o;
}

/// Topics bulwark reads and writes must all differ: an output that is also an
/// input would feed bulwark its own records, and two outputs sharing a topic
/// would mix record kinds (the audit chain in particular).
void check_topics(const value& section, const present& seen, const kafka_options& o) {
  struct use {
    std::string topic;
    std::string what;
    value at;
    bool in_file; ///< named in the file, not a default: the better place to point at
  };
  const auto located = [&](std::string_view key) {
    const auto it = seen.find(key);
    return it != seen.end()
               ? std::pair{it->second, true}
               : std::pair{value{section.node, section.child_path(key), section.line}, false};
  };
  std::vector<use> uses;
  const auto [inputs, inputs_in_file] = located("inputs");
  const bool suffix_in_file = seen.contains("sanitized_suffix");
  for (std::size_t i = 0; i < o.inputs.size(); ++i) {
    const value at = inputs.item(i, inputs.node.IsSequence() ? inputs.node[i] : YAML::Node());
    const std::string sanitized = o.inputs[i] + o.sanitized_suffix;
    if (!is_valid_topic_name(sanitized))
      at.fail(
          cat("the sanitized topic ", shown(sanitized), " would be longer than 249 characters"));
    uses.push_back({o.inputs[i], at.path, at, inputs_in_file});
    const value& sanitized_at =
        !inputs_in_file && suffix_in_file ? seen.at("sanitized_suffix") : at;
    uses.push_back({sanitized, cat(at.path, " + sanitized_suffix"), sanitized_at,
                    inputs_in_file || suffix_in_file});
  }
  for (const auto& [key, topic] : {std::pair{"alerts_topic", &o.alerts_topic},
                                   {"audit_topic", &o.audit_topic},
                                   {"dlq_topic", &o.dlq_topic},
                                   {"quarantine_topic", &o.quarantine_topic}}) {
    const auto [at, in_file] = located(key);
    uses.push_back({*topic, at.path, at, in_file});
  }
  for (std::size_t j = 1; j < uses.size(); ++j) {
    for (std::size_t i = 0; i < j; ++i) {
      if (uses[i].topic != uses[j].topic) continue;
      // Point at what the operator wrote, and of two such places at the later one.
      const use& first = uses[i];
      const use& second = uses[j];
      const bool pick_first = first.in_file && (!second.in_file || first.at.line > second.at.line);
      const value& at = pick_first ? first.at : second.at;
      at.fail(cat("topic ", shown(uses[i].topic), " is used twice: by ", uses[i].what, " and by ",
                  uses[j].what));
    }
  }
}

kafka_options read_kafka(const value& v) {
  kafka_options o;
  const present seen = read_mapping(
      v, {
             field("brokers", o.brokers, non_empty_text),
             field("group_id", o.group_id, non_empty_text),
             field("exactly_once", o.exactly_once, boolean),
             field("inputs", o.inputs, list_of(topic_name, non_empty_list)),
             field("sanitized_suffix", o.sanitized_suffix, topic_suffix),
             field("alerts_topic", o.alerts_topic, topic_name),
             field("audit_topic", o.audit_topic, topic_name),
             field("dlq_topic", o.dlq_topic, topic_name),
             field("quarantine_topic", o.quarantine_topic, topic_name),
             field("embedded_partitions", o.embedded_partitions, integer<int>(1, 1000)),
             field("properties", o.properties, map_of(property_value, property_name_problem)),
         });
  check_topics(v, seen, o);
  return o;
}

system_prompt read_system_prompt(const value& v) {
  system_prompt p;
  const present seen = read_mapping(v, {
                                           required_field("name", p.name, non_empty_text),
                                           field("file", p.file, non_empty_text),
                                           field("text", p.text, non_empty_text),
                                       });
  exactly_one_of(v, seen, {"file", "text"});
  return p;
}

rules_options read_rules(const value& v) {
  rules_options o;
  read_mapping(v, {
                      field("packs", o.packs, list_of(one_of(known_rule_packs), distinct_list)),
                      field("extra", o.extra, list_of(non_empty_text, distinct_list)),
                      field("system_prompts", o.system_prompts,
                            list_of(read_system_prompt, distinct_by("name"))),
                      field("action", o.action, one_of(action_names())),
                      field("hash_key", o.hash_key, key_source_reader()),
                  });
  return o;
}

policy read_policy(const value& v) {
  policy p;
  read_mapping(v, {
                      required_field("path", p.path, json_pointer),
                      required_field("action", p.action, one_of(action_names())),
                  });
  return p;
}

void read_reference(const value& v, drift_options& o) {
  int windows = o.reference_windows;
  std::string file;
  const present seen = read_mapping(v, {
                                           field("windows", windows, integer<int>(1, 1'000'000)),
                                           field("file", file, non_empty_text),
                                       });
  exactly_one_of(v, seen, {"windows", "file"});
  o.reference_windows = windows;
  o.reference_file = std::move(file);
}

drift_feature read_feature(const value& v) {
  drift_feature f;
  read_mapping(v, {
                      required_field("path", f.path, json_pointer),
                      required_field("type", f.kind,
                                     choice<drift_feature::type>(
                                         {{"numeric", drift_feature::type::numeric},
                                          {"categorical", drift_feature::type::categorical}})),
                  });
  return f;
}

drift_options read_drift(const value& v) {
  drift_options o;
  read_mapping(v, {
                      field("event_time", o.event_time, json_pointer),
                      field("key", o.key, list_of(json_pointer, distinct_list)),
                      field("window", o.window, positive_duration),
                      {"reference", [&o](const value& r) { read_reference(r, o); }},
                      field("features", o.features, list_of(read_feature, distinct_by("path"))),
                  });
  return o;
}

integrity_options read_integrity(const value& v) {
  integrity_options o;
  const present seen = read_mapping(
      v,
      {
          field("event_time", o.event_time, json_pointer),
          field("keys", o.keys, map_of(key_source_reader(), key_id_problem)),
          field("require_signature", o.require_signature, list_of(non_empty_text, distinct_list)),
          field("silence_after", o.silence_after, positive_duration),
          field("max_skew", o.max_skew, positive_duration),
          field("replay_window", o.replay_window, integer<std::size_t>(64, 1'048'576)),
          field("audit_key", o.audit_key, text),
          field("audit_signing_key", o.audit_signing_key,
                key_source_reader({key_source::kind::file})),
      });
  const bool signing = o.audit_signing_key.from != key_source::kind::none;
  if (!o.audit_key.empty() && signing)
    seen.at("audit_signing_key")
        .fail("set either audit_key (HMAC checkpoints) or audit_signing_key (Ed25519), not both");
  if (!o.audit_key.empty() && !o.keys.contains(o.audit_key)) {
    std::vector<std::string_view> ids;
    for (const auto& entry : o.keys)
      ids.push_back(entry.first);
    seen.at("audit_key")
        .fail(o.keys.empty()
                  ? cat("names key ", shown(o.audit_key), ", but integrity.keys is empty")
                  : cat("names key ", shown(o.audit_key), ", which is not in integrity.keys (",
                        join(ids), ")"));
  }
  if (!o.require_signature.empty() && o.keys.empty())
    seen.at("require_signature")
        .fail("needs integrity.keys: with no keys, signatures are not checked");
  if (o.audit_key.empty() && !signing && !o.keys.empty())
    o.audit_key = seen.at("keys").node.begin()->first.Scalar(); // first in file order
  return o;
}

alerts_options read_alerts(const value& v) {
  alerts_options o;
  using format = alerts_options::output_format;
  read_mapping(v, {
                      field("format", o.format,
                            choice<format>({{"bulwark", format::bulwark}, {"ocsf", format::ocsf}})),
                      field("alertmanager", o.alertmanager, http_url_or_empty),
                  });
  return o;
}

http_options read_http(const value& v) {
  http_options o;
  read_mapping(v, {field("listen", o.listen, listen_address)});
  return o;
}

options read_options(const value& root) {
  if (!root.node.IsNull() && !root.node.IsMap())
    root.fail(cat("the configuration must be a mapping of sections (workers, kafka, rules, ...), "
                  "got ",
                  kind_of(root.node)));
  options o;
  read_mapping(root, {
                         field("workers", o.workers, integer<int>(0, 1024)),
                         field("limits", o.limits, read_limits),
                         field("kafka", o.kafka, read_kafka),
                         field("rules", o.rules, read_rules),
                         field("policies", o.policies, list_of(read_policy, distinct_by("path"))),
                         field("drift", o.drift, read_drift),
                         field("integrity", o.integrity, read_integrity),
                         field("alerts", o.alerts, read_alerts),
                         field("http", o.http, read_http),
                     });
  return o;
}

/// Reads the whole file into `content`; returns 0, or the errno that stopped it.
int read_file(const std::string& path, std::string& content) {
  struct closer {
    void operator()(std::FILE* f) const noexcept { std::fclose(f); }
  };
  const auto failed = [] { return errno != 0 ? errno : EIO; };
  errno = 0;
  const std::unique_ptr<std::FILE, closer> file(std::fopen(path.c_str(), "rb"));
  if (!file) return failed();
  std::array<char, 4096> buffer{};
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0)
    content.append(buffer.data(), n);
  // A directory opens, then fails here with EISDIR. errno is read before fclose runs.
  return std::ferror(file.get()) != 0 ? failed() : 0;
}

} // namespace

load_result load_string(std::string_view yaml, std::string_view name) {
  const std::string file(name);
  try {
    const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml));
    // A trailing `---` yields an empty second document; anything more is a mistake.
    for (std::size_t i = 1; i < documents.size(); ++i)
      if (!documents[i].IsNull())
        return load_error{file, line_of(documents[i], 0), "",
                          "holds more than one YAML document (---); use a single document"};
    const YAML::Node root = documents.empty() ? YAML::Node() : documents.front();
    return read_options(value{root, "", line_of(root, 1)});
  } catch (const failure& f) {
    return load_error{file, f.line, f.key, f.reason};
  } catch (const YAML::Exception& e) {
    return load_error{file, e.mark.is_null() ? 0 : e.mark.line + 1, "",
                      cat("invalid YAML: ", e.msg)};
  } catch (const std::exception& e) {
    return load_error{file, 0, "", cat("cannot load: ", e.what())};
  }
}

load_result load_file(const std::string& path) {
  std::string content;
  if (const int error = read_file(path, content); error != 0)
    return load_error{path, 0, "", cat("cannot read: ", std::strerror(error))};
  load_result result = load_string(content, path);
  if (auto* loaded = std::get_if<options>(&result)) {
    // Absolute, so relative paths in the file keep their meaning whatever the
    // working directory is later.
    std::error_code ec;
    const std::filesystem::path directory =
        std::filesystem::absolute(std::filesystem::path(path), ec).parent_path();
    loaded->base_dir = ec || directory.empty() ? "." : directory.lexically_normal().string();
  }
  return result;
}

} // namespace bulwark::config
