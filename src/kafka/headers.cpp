#include "kafka/headers.hpp"

#include <algorithm>

namespace bulwark::kafka {
namespace {

bool printable_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b >= 0x21 && b <= 0x7e;
  });
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           const auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

} // namespace

std::optional<std::string_view> header_problem(std::span<const header> headers,
                                               const header_limits& limits) {
  if (headers.size() > limits.max_headers) return "too many headers";
  std::size_t total = 0;
  for (const header& h : headers) {
    if (h.name.empty() || h.name.size() > 255) return "a header name is empty or too long";
    if (!printable_ascii(h.name)) return "a header name holds a byte other than printable ASCII";
    if (equals_ignoring_case(h.name, "bw-reason")) return "a header name bulwark writes itself";
    const std::size_t value = h.value ? h.value->size() : 0;
    if (value > limits.max_value_bytes) return "a header value is too large";
    total += h.name.size() + value;
    if (total > limits.max_total_bytes) return "the headers are too large together";
  }
  return std::nullopt;
}

} // namespace bulwark::kafka
