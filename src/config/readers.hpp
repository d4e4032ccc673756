#pragma once
/// The YAML readers the configuration loaders share (options and rule files):
/// small functions from a located YAML node to a typed value, tables of fields
/// for mappings, lists and maps. Private to src/config/ (yaml-cpp stays inside
/// this module). See load.cpp for the invariants they keep.
#include "config/load.hpp"
#include "core/time.hpp"
#include "core/verdict.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <numeric>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

namespace bulwark::config::readers {

inline constexpr std::uint64_t kib = 1024;
inline constexpr std::uint64_t mib = 1024 * kib;
inline constexpr std::uint64_t gib = 1024 * mib;

// ---------------------------------------------------------------------------
// Text helpers for error reasons.

template <class... Parts> std::string cat(const Parts&... parts) {
  std::string out;
  (out += ... += parts);
  return out;
}

inline std::string join(const auto& names, std::string_view separator = ", ") {
  std::string out;
  for (const auto& name : names) {
    if (!out.empty()) out += separator;
    out += name;
  }
  return out;
}

inline bool is_hex_digit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/// A run of this many hex digits is treated as key material (invariant 3).
inline bool looks_like_key_material(std::string_view text) noexcept {
  constexpr std::size_t key_like_run = 32;
  std::size_t run = 0;
  for (const char c : text) {
    run = is_hex_digit(c) ? run + 1 : 0;
    if (run >= key_like_run) return true;
  }
  return false;
}

/// `text` cut at `max_shown` bytes, with `"` and `\` escaped when `quote_escapes`
/// and control bytes as \xNN: what an error may print of the operator's text.
inline void append_printable(std::string& out, std::string_view text, std::size_t max_shown,
                             bool quote_escapes) {
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == max_shown) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    if (quote_escapes && (c == '"' || c == '\\')) {
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
}

/// A scalar the operator wrote, quoted for an error reason (invariant 3).
inline std::string shown(std::string_view text) {
  if (looks_like_key_material(text)) return "a value that looks like key material (not shown)";
  std::string out = "\"";
  append_printable(out, text, 60, true);
  out += '"';
  return out;
}

/// A mapping key as it appears in an error's dotted path. Keys are echoed
/// because they name the setting, but a key pasted where a key name belongs
/// must not be: it is withheld like a value (invariant 3), and control bytes
/// are escaped so a crafted file cannot drive the operator's terminal.
inline std::string shown_key(std::string_view key) {
  if (looks_like_key_material(key)) return "<key that looks like key material>";
  std::string out;
  append_printable(out, key, 80, false);
  return out;
}

/// What a node is, without its content: used where the content might be a secret.
inline std::string_view kind_of(const YAML::Node& node) {
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

inline std::size_t edit_distance(std::string_view a, std::string_view b) {
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
inline int line_of(const YAML::Node& node, int fallback) {
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
    const std::string segment = shown_key(key);
    return path.empty() ? segment : cat(path, ".", segment);
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

inline const std::string& scalar_of(const value& v, std::string_view expected) {
  if (!v.node.IsScalar()) v.fail(cat("expected ", expected, ", got ", kind_of(v.node)));
  return v.node.Scalar();
}

/// Any scalar as text; an empty value is "".
inline std::string text(const value& v) {
  if (v.node.IsNull()) return {};
  return scalar_of(v, "a string");
}

inline std::string non_empty_text(const value& v) {
  std::string s = text(v);
  if (s.empty()) v.fail("must not be empty");
  return s;
}

/// The YAML 1.2 core-schema booleans; yes/no/on/off are YAML 1.1 and surprise people.
inline std::optional<bool> yaml_bool(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

inline bool boolean(const value& v) {
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

/// A bound for an error reason: shortest form that reads back the same.
inline std::string number_text(double n) {
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, n);
  return ec == std::errc{} ? std::string(buffer, end) : std::string("?");
}

inline std::string size_text(std::uint64_t bytes) {
  for (const auto& [unit, factor] : {std::pair{"GiB", gib}, {"MiB", mib}, {"KiB", kib}})
    if (bytes % factor == 0) return cat(std::to_string(bytes / factor), unit);
  return cat(std::to_string(bytes), " bytes");
}

/// A byte count in [lo, hi], with an optional KiB/MiB/GiB suffix.
inline auto byte_size(std::uint64_t lo, std::uint64_t hi) {
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

/// A duration; 0 allowed (`0s`).
inline duration any_duration(const value& v) {
  const std::string& s = scalar_of(v, "a duration");
  const auto d = parse_duration(s);
  if (!d) v.fail(cat("not a duration (use 90s, 5m, 1h, 1d), got ", shown(s)));
  return *d;
}

inline duration positive_duration(const value& v) {
  const duration d = any_duration(v);
  if (d.count() == 0) v.fail("must be greater than 0");
  return d;
}

/// The optional form of a reader, for keys whose absence means "inherit".
template <class Read> auto optional_of(Read read) {
  return [read](const value& v) { return std::optional(read(v)); };
}

/// A finite decimal number in [lo, hi] (an exponent is allowed: 1e-3).
inline auto real(double lo, double hi) {
  return [lo, hi](const value& v) -> double {
    const std::string& s = scalar_of(v, "a number");
    double n = 0;
    const char* const end = s.data() + s.size();
    const auto [stop, ec] = std::from_chars(s.data(), end, n);
    if (ec != std::errc{} || stop != end || !std::isfinite(n))
      v.fail(cat("expected a number, got ", shown(s)));
    if (n < lo || n > hi)
      v.fail(cat("must be between ", number_text(lo), " and ", number_text(hi), ", got ", s));
    return n;
  };
}

/// An RFC 3339 time (2026-11-27T00:00:00Z), as epoch milliseconds.
inline std::int64_t rfc3339_time(const value& v) {
  const std::string& s = scalar_of(v, "an RFC 3339 time");
  const auto t = parse_rfc3339(s);
  if (!t) v.fail(cat("not an RFC 3339 time (e.g. 2026-11-27T00:00:00Z), got ", shown(s)));
  return *t;
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
inline std::vector<std::string_view> action_names() {
  std::vector<std::string_view> names;
  for (const auto a : all_actions)
    names.push_back(to_string(a));
  return names;
}

/// An action name, read as the action.
inline auto action_choice() {
  std::vector<std::pair<std::string_view, action>> choices;
  for (const auto a : all_actions)
    choices.emplace_back(to_string(a), a);
  return choice(std::move(choices));
}

inline std::string topic_name(const value& v) {
  std::string s = text(v);
  if (!is_valid_topic_name(s))
    v.fail(cat("not a valid Kafka topic name (1-249 characters of a-z A-Z 0-9 . _ -), got ",
               shown(s)));
  return s;
}

inline std::string topic_suffix(const value& v) {
  std::string s = text(v);
  // Any prefix works: only the characters of the suffix are checked here.
  if (s.empty() || !is_valid_topic_name("t" + s))
    v.fail(cat("must be non-empty and use only topic-name characters (a-z A-Z 0-9 . _ -), got ",
               shown(s)));
  return s;
}

inline std::string json_pointer(const value& v) {
  std::string s = text(v);
  if (!s.starts_with('/'))
    v.fail(cat("must be a JSON pointer starting with \"/\" (e.g. /features/note), got ", shown(s)));
  if (!is_json_pointer(s))
    v.fail(
        cat("not a valid JSON pointer: \"~\" must be followed by 0 or 1 (~0 is ~, ~1 is /), got ",
            shown(s)));
  return s;
}

inline std::string listen_address(const value& v) {
  std::string s = text(v);
  if (!split_host_port(s))
    v.fail(cat("must be host:port with a port from 0 to 65535 (e.g. 127.0.0.1:9464 or "
               "[::1]:9464), got ",
               shown(s)));
  return s;
}

/// The Alertmanager URL: plain http (the sink speaks no TLS; a TLS-terminating
/// proxy on loopback covers a remote https Alertmanager).
inline std::string http_url_or_empty(const value& v) {
  std::string s = text(v);
  if (s.empty()) return s;
  // Not echoed: a URL may carry user:password.
  if (s.starts_with("https://"))
    v.fail("https is not supported: use http:// (for a remote https Alertmanager, a "
           "TLS-terminating proxy on loopback)");
  constexpr std::string_view scheme = "http://";
  if (s.starts_with(scheme)) {
    const std::string_view rest = std::string_view(s).substr(scheme.size());
    const bool has_host = !rest.empty() && rest.find_first_of("/?#") != 0;
    const bool has_space = std::any_of(s.begin(), s.end(),
                                       [](char c) { return static_cast<unsigned char>(c) <= ' '; });
    if (has_host && !has_space) return s;
  }
  v.fail("must be empty or an http:// URL with a host (e.g. http://127.0.0.1:9093)");
}

/// librdkafka takes every property as a string; plain YAML booleans are
/// normalised to its spelling. Values are never echoed: they include passwords.
inline std::string property_value(const value& v) {
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

inline constexpr list_spec any_list{false, false, {}};
inline constexpr list_spec non_empty_list{true, false, {}};
inline constexpr list_spec distinct_list{false, true, {}};
constexpr list_spec distinct_by(std::string_view member) {
  return {false, true, member};
}

template <class Read, class T = std::invoke_result_t<const Read&, const value&>>
inline auto list_of(Read read_item, list_spec spec = any_list) {
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
inline auto map_of(Read read_entry, std::string (*check_name)(std::string_view)) {
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

inline std::string unknown_key_reason(std::string_view name,
                                      std::initializer_list<field_spec> fields) {
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

inline present read_mapping(const value& v, std::initializer_list<field_spec> fields) {
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
inline void exactly_one_of(const value& v, const present& seen,
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

inline std::string key_source_form(key_source::kind kind) {
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

inline bool is_env_name(std::string_view name) {
  const auto word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  return !name.empty() && !(name[0] >= '0' && name[0] <= '9') &&
         std::all_of(name.begin(), name.end(), word);
}

/// Reasons here never quote the value: it is the key.
inline void check_hex_key(const value& at, std::string_view hex) {
  constexpr std::size_t min_digits = 32; // 16 bytes: less is guessable
  if (!std::all_of(hex.begin(), hex.end(), is_hex_digit))
    at.fail("must contain only hex digits (0-9, a-f)");
  if (hex.size() % 2 != 0) at.fail("must have an even number of hex digits");
  if (hex.size() < min_digits) at.fail("must be at least 32 hex digits (16 bytes)");
}

/// Where a key comes from: {hex: "..."}, {file: PATH} or {env: VAR}, limited
/// to `allowed`. With `window`, the mapping may also hold a rotation window
/// (`not_before` / `not_after`, RFC 3339), stored there.
inline key_source read_key_source(const value& v, const std::vector<key_source::kind>& allowed,
                                  key_window* window = nullptr) {
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
  key_window unused;
  key_window& w = window != nullptr ? *window : unused;
  const present seen =
      window != nullptr
          ? read_mapping(v, {field("hex", hex, text), field("file", file, text),
                             field("env", env, text),
                             field("not_before", w.not_before, optional_of(rfc3339_time)),
                             field("not_after", w.not_after, optional_of(rfc3339_time))})
          : read_mapping(
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
  if (w.not_before && w.not_after && *w.not_before > *w.not_after)
    v.fail("not_before is after not_after");
  return out;
}

inline auto key_source_reader(std::initializer_list<key_source::kind> allowed_kinds = {
                                  key_source::kind::hex, key_source::kind::file,
                                  key_source::kind::env}) {
  return [allowed = std::vector(allowed_kinds)](const value& v) -> key_source {
    return read_key_source(v, allowed);
  };
}

inline std::string key_id_problem(std::string_view id) {
  // Key ids travel in "sig": {"kid": ...} and in the `bw-sig: <kid>:<mac>` header.
  constexpr std::size_t max_length = 64;
  const bool ok =
      !id.empty() && id.size() <= max_length && std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
      });
  return ok ? "" : "a key id must be 1-64 characters of a-z A-Z 0-9 . _ -";
}

inline std::string property_name_problem(std::string_view name) {
  return name.empty() ? "a property name must not be empty" : "";
}

/// Reads the whole file into `content`; returns 0, or the errno that stopped it.
inline int read_file(const std::string& path, std::string& content) {
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

/// Records where each document of a YAML stream starts and whether its root
/// is empty, without building nodes.
class document_probe final : public YAML::EventHandler {
public:
  struct document {
    std::size_t start = 0; ///< byte offset of the document's start
    int root_line = 0;     ///< 1-based line of its root
    bool empty = true;     ///< the root is null
  };
  std::vector<document> documents;

  void OnDocumentStart(const YAML::Mark& mark) override {
    documents.push_back({static_cast<std::size_t>(mark.pos), 0, true});
    root_seen_ = false;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { root(mark, true); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { root(mark, false); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string&) override {
    root(mark, false);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    root(mark, false);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    root(mark, false);
  }
  void OnMapEnd() override {}

private:
  void root(const YAML::Mark& mark, bool null) {
    if (root_seen_ || documents.empty()) return;
    root_seen_ = true;
    documents.back().root_line = mark.is_null() ? 0 : mark.line + 1;
    documents.back().empty = null;
  }
  bool root_seen_ = false;
};

/// Checks that `yaml` holds at most one non-empty document, stopping where
/// yaml-cpp 0.7 would loop: on some invalid input (a `,` at the top level,
/// `,a}`) its parser reports an empty document without consuming the token,
/// again and again, so YAML::LoadAll never returns and grows memory without
/// bound (jbeder/yaml-cpp#1040; fixed upstream after 0.8). A document that
/// starts where the previous one did is that case: invalid YAML.
inline void check_single_document(std::string_view yaml) {
  std::istringstream in{std::string(yaml)};
  YAML::Parser parser(in);
  document_probe probe;
  while (parser.HandleNextDocument(probe)) {
    const auto& docs = probe.documents;
    if (docs.size() < 2) continue;
    const auto& last = docs.back();
    if (last.start == docs[docs.size() - 2].start)
      throw failure{last.root_line, "", "invalid YAML: unexpected token"};
    // A trailing `---` yields an empty second document; anything more is a mistake.
    if (!last.empty)
      throw failure{last.root_line, "",
                    "holds more than one YAML document (---); use a single document"};
  }
}

/// Parses one YAML document and reads it with `read_root`; every failure
/// becomes a load_error naming `name`. Nothing throws out of it. With
/// `known_single` the caller vouches that `yaml` passed check_single_document
/// (content it recognises by digest), which is then not run again.
template <class T, class Read>
std::variant<T, load_error> read_document(std::string_view yaml, std::string_view name,
                                          Read read_root, bool known_single = false) {
  const std::string file(name);
  try {
    if (!known_single) check_single_document(yaml);
    // Load reads the first document only (one parser step), so it cannot loop.
    const YAML::Node root = YAML::Load(std::string(yaml));
    return read_root(value{root, "", line_of(root, 1)});
  } catch (const failure& f) {
    return load_error{file, f.line, f.key, f.reason};
  } catch (const YAML::Exception& e) {
    return load_error{file, e.mark.is_null() ? 0 : e.mark.line + 1, "",
                      cat("invalid YAML: ", e.msg)};
  } catch (const std::exception& e) {
    return load_error{file, 0, "", cat("cannot load: ", e.what())};
  }
}

/// read_document over the contents of the file at `path`.
template <class T, class Read>
std::variant<T, load_error> read_document_file(const std::string& path, Read read_root) {
  std::string content;
  if (const int error = read_file(path, content); error != 0)
    return load_error{path, 0, "", cat("cannot read: ", std::strerror(error))};
  return read_document<T>(content, path, std::move(read_root));
}

} // namespace bulwark::config::readers
