// The parse-only limit: simdjson On-Demand visiting every string value of every
// line of an NDJSON file, and nothing else (no pointers, no output). bulwark's
// pass-through scan is measured against it in the same run (bench/scan_bench.py).
//
//   parse_only FILE   -> prints "lines=N strings=S bytes=B"
#include <cstdio>
#include <fstream>
#include <simdjson.h>
#include <sstream>
#include <string>

namespace {

std::size_t count_strings(simdjson::ondemand::value v, std::size_t& bytes) {
  using simdjson::ondemand::json_type;
  json_type t;
  if (v.type().get(t)) return 0;
  std::size_t n = 0;
  switch (t) {
  case json_type::object:
    for (auto field : v.get_object()) {
      simdjson::ondemand::value child;
      if (field.value().get(child)) return n;
      n += count_strings(child, bytes);
    }
    break;
  case json_type::array:
    for (auto element : v.get_array()) {
      simdjson::ondemand::value child;
      if (element.get(child)) return n;
      n += count_strings(child, bytes);
    }
    break;
  case json_type::string: {
    std::string_view s;
    if (!v.get_string().get(s)) {
      bytes += s.size();
      ++n;
    }
    break;
  }
  default:
    break;
  }
  return n;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: parse_only FILE\n");
    return 2;
  }
  simdjson::padded_string file;
  if (simdjson::padded_string::load(argv[1]).get(file)) {
    std::fprintf(stderr, "parse_only: cannot read %s\n", argv[1]);
    return 2;
  }
  simdjson::ondemand::parser parser;
  std::string_view all(file.data(), file.size());
  std::size_t lines = 0, strings = 0, string_bytes = 0, pos = 0;
  while (pos < all.size()) {
    std::size_t nl = all.find('\n', pos);
    if (nl == std::string_view::npos) nl = all.size();
    // Lines are followed by the rest of the file plus simdjson's padding, so
    // each can be parsed in place.
    simdjson::padded_string_view line(all.data() + pos, nl - pos,
                                      file.size() - pos + simdjson::SIMDJSON_PADDING);
    ++lines;
    simdjson::ondemand::document doc;
    if (!parser.iterate(line).get(doc)) {
      simdjson::ondemand::value root;
      if (!doc.get_value().get(root)) strings += count_strings(root, string_bytes);
    }
    pos = nl + 1;
  }
  std::printf("lines=%zu strings=%zu string_bytes=%zu bytes=%zu\n", lines, strings, string_bytes,
              file.size());
  return 0;
}
