#pragma once
// Test helpers for the loadgen tests: generate streams, parse events with the
// json module's walker (an independent parser), decode hex.
#include "loadgen/fleet.hpp"

#include "json/walk.hpp"
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace bulwark::loadgen::testing {

/// One event as the walker sees it.
struct parsed_event {
  json::error err = json::error::none;
  std::map<std::string, std::string> strings; ///< pointer → decoded text
  std::map<std::string, std::string> numbers; ///< pointer → the number's bytes
  std::map<std::string, std::string> other;   ///< pointer → true/false/null
  std::vector<std::string> top_keys;          ///< top-level members in order

  bool ok() const { return err == json::error::none; }
  bool has(const std::string& p) const {
    return strings.count(p) + numbers.count(p) + other.count(p) > 0;
  }
  std::string str(const std::string& p) const {
    auto it = strings.find(p);
    return it == strings.end() ? std::string{} : it->second;
  }
  double num(const std::string& p) const {
    auto it = numbers.find(p);
    return it == numbers.end() ? -1e300 : std::strtod(it->second.c_str(), nullptr);
  }
};

inline parsed_event parse(std::string_view line) {
  struct collector : json::visitor {
    parsed_event* e;
    std::string_view line;
    bool on_value(const json::value_ref& v) override {
      const std::string p(v.pointer);
      if (v.depth == 1 && v.in_object) e->top_keys.push_back(p.substr(1));
      switch (v.kind) {
      case json::value_kind::string:
        e->strings[p] = std::string(v.text);
        break;
      case json::value_kind::number:
        e->numbers[p] = std::string(line.substr(v.begin, v.end - v.begin));
        break;
      case json::value_kind::boolean:
      case json::value_kind::null:
        e->other[p] = std::string(line.substr(v.begin, v.end - v.begin));
        break;
      default:
        break;
      }
      return true;
    }
  };
  static json::walker w(json::limits{});
  parsed_event out;
  collector c;
  c.e = &out;
  c.line = line;
  out.err = w.walk(line, 0, &c);
  return out;
}

/// One generated event with its truth.
struct generated {
  record rec;
  label truth;
};

/// Generates `n` events from a fresh fleet built from `o` (which must be valid).
inline std::vector<generated> generate(const options& o, std::size_t n) {
  auto made = fleet::make(o);
  if (!std::holds_alternative<fleet>(made)) std::abort();
  fleet& f = std::get<fleet>(made);
  std::vector<generated> out(n);
  for (auto& g : out)
    f.next(g.rec, &g.truth);
  return out;
}

/// The attack of `kind` in `l`, or null.
inline const attack* find_attack(const label& l, attack_kind kind) {
  for (const attack& a : l.attacks)
    if (a.kind == kind) return &a;
  return nullptr;
}

inline std::vector<std::uint8_t> unhex(std::string_view h) {
  std::vector<std::uint8_t> out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2)
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  return out;
}

/// A number from a label's detail object, e.g. detail_number(a, "shift").
inline double detail_number(const attack& a, const std::string& key) {
  const parsed_event d = parse(a.detail);
  return d.num("/" + key);
}

inline std::string detail_string(const attack& a, const std::string& key) {
  return parse(a.detail).str("/" + key);
}

} // namespace bulwark::loadgen::testing
