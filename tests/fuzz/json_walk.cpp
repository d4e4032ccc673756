// The JSON walk and splice (src/json) on arbitrary bytes.
//
// Invariants:
//  - walk() never crashes or reads outside the line, with or without padding;
//    every offset it reports lies inside the line and is ordered;
//  - validation does not depend on the visitor or on in-place parsing;
//  - a line accepted as an object round-trips through apply_edits with no
//    edits byte-identically;
//  - rewriting every string value with append_string(its unescaped text), or
//    removing a top-level member, or appending a member, yields a line the
//    walker accepts again, with the same string texts where they were kept;
//  - append_string_lossy always yields a valid JSON string; on valid UTF-8,
//    append_utf8_lossy is the identity.
#include "check.hpp"

#include "json/splice.hpp"
#include "json/walk.hpp"
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace bulwark::json;

struct seen_value {
  std::string pointer;
  value_kind kind;
  std::string text;
  std::size_t begin, end, member_begin;
  std::uint32_t depth;
  bool in_object;
};

class recorder final : public visitor {
public:
  explicit recorder(std::string_view line) : line_(line) {}
  bool on_value(const value_ref& v) override {
    FUZZ_CHECK(v.begin <= v.end);
    FUZZ_CHECK(v.end <= line_.size());
    FUZZ_CHECK(v.member_begin <= v.begin);
    FUZZ_CHECK(v.in_object || v.member_begin == v.begin);
    FUZZ_CHECK((v.depth == 0) == v.pointer.empty());
    if (v.kind == value_kind::string) FUZZ_CHECK(line_[v.begin] == '"' && line_[v.end - 1] == '"');
    values.push_back({std::string(v.pointer), v.kind, std::string(v.text), v.begin, v.end,
                      v.member_begin, v.depth, v.in_object});
    return true;
  }
  std::vector<seen_value> values;

private:
  std::string_view line_;
};

std::vector<std::string> string_texts(walker& w, std::string_view line) {
  recorder r(line);
  FUZZ_CHECK(w.walk(line, 0, &r) == error::none);
  std::vector<std::string> texts;
  for (const auto& v : r.values)
    if (v.kind == value_kind::string) texts.push_back(v.text);
  return texts;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static walker w(limits{std::size_t{1} << 16, 32});
  // Rewritten lines may grow (a raw U+2028 becomes \u2028): check them with room.
  static walker roomy(limits{std::size_t{1} << 24, 32});
  const std::string_view line(reinterpret_cast<const char*>(data), size);

  recorder r(line);
  const error e = w.walk(line, 0, &r);
  FUZZ_CHECK(w.walk(line, 0, nullptr) == e);
  {
    // In-place parsing over a padded copy must agree with the copying path.
    std::string padded(line);
    padded.append(walker::required_padding(), ' ');
    FUZZ_CHECK(w.walk(std::string_view(padded.data(), size), walker::required_padding(), nullptr) ==
               e);
  }

  std::string lossy;
  append_string_lossy(lossy, line);
  FUZZ_CHECK(roomy.walk("{\"s\":" + lossy + "}", 0, nullptr) == error::none);
  if (is_valid_utf8(line)) {
    std::string same;
    append_utf8_lossy(same, line);
    FUZZ_CHECK(same == line);
  }
  if (e != error::none) return 0;

  std::string out;
  apply_edits(line, {}, out);
  FUZZ_CHECK(out == line);

  for (const auto& v : r.values) {
    const std::size_t end = value_end(line, v.begin);
    FUZZ_CHECK(end > v.begin && end <= line.size());
    if (v.kind != value_kind::object && v.kind != value_kind::array) FUZZ_CHECK(end == v.end);
  }

  // Every string value re-escaped in place: same texts, still valid.
  std::vector<std::string> replacements;
  std::vector<std::string> texts;
  for (const auto& v : r.values) {
    if (v.kind != value_kind::string) continue;
    replacements.emplace_back();
    append_string(replacements.back(), v.text);
    texts.push_back(v.text);
  }
  std::vector<edit> edits;
  std::size_t k = 0;
  for (const auto& v : r.values)
    if (v.kind == value_kind::string) edits.push_back({v.begin, v.end, replacements[k++]});
  out.clear();
  apply_edits(line, edits, out);
  FUZZ_CHECK(string_texts(roomy, out) == texts);

  // Removing one top-level member (chosen by the input) keeps the line valid.
  std::vector<const seen_value*> members;
  for (const auto& v : r.values)
    if (v.depth == 1 && v.in_object) members.push_back(&v);
  if (!members.empty()) {
    const seen_value& m = *members[size % members.size()];
    const edit drop{m.member_begin, value_end(line, m.begin), {}, true};
    out.clear();
    apply_edits(line, {&drop, 1}, out);
    FUZZ_CHECK(roomy.walk(out, 0, nullptr) == error::none);
  }

  out.clear();
  append_with_member(out, line, "_bulwark", R"({"v":1})");
  FUZZ_CHECK(roomy.walk(out, 0, nullptr) == error::none);
  return 0;
}
