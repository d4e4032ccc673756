// Fold topic records (src/pipeline/fold.hpp): fold::decode on arbitrary
// bytes, as the fold member reads them from a topic anyone with write access
// could fill.
//
// Input: byte 0 gives the configured feature count (0-7); the rest is the
// record value.
// Invariants:
//  - no crash; a refusal carries a reason;
//  - what decodes encodes again to a record that decodes to the same
//    contents (drift values bit for bit; every alert member), so a record
//    forwarded twice means the same thing both times;
//  - an alert's evidence that decodes is a JSON object (it goes into alert
//    lines as it is).
#include "check.hpp"
#include "pipeline/fold.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace {

using namespace bulwark;

bool same(const drift::feature_value& a, const drift::feature_value& b) {
  if (a.type != b.type) return false;
  if (a.type == drift::feature_value::kind::number)
    return std::memcmp(&a.number, &b.number, sizeof a.number) == 0;
  return a.type != drift::feature_value::kind::text || a.text == b.text;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t features = data[0] % 8;
  const std::string_view value(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto decoded = pipeline::fold::decode(value, features);
  if (auto* why = std::get_if<std::string>(&decoded)) {
    FUZZ_CHECK(!why->empty());
    return 0;
  }
  if (auto* d = std::get_if<pipeline::fold::drift_values>(&decoded)) {
    FUZZ_CHECK(d->features.size() == features);
    std::vector<drift::feature_value> values;
    d->values(values);
    const std::string again = pipeline::fold::encode(d->key, d->model, d->at, d->ref, values);
    auto back = pipeline::fold::decode(again, features);
    auto* e = std::get_if<pipeline::fold::drift_values>(&back);
    FUZZ_CHECK(e != nullptr);
    FUZZ_CHECK(e->key == d->key && e->model == d->model && e->at == d->at && e->ref == d->ref);
    std::vector<drift::feature_value> values_back;
    e->values(values_back);
    FUZZ_CHECK(values_back.size() == values.size());
    for (std::size_t i = 0; i < values.size(); ++i)
      FUZZ_CHECK(same(values[i], values_back[i]));
    return 0;
  }
  const auto& r = std::get<alert_request>(decoded);
  FUZZ_CHECK(!r.kind.empty());
  FUZZ_CHECK(r.evidence.empty() || r.evidence.front() == '{');
  auto back = pipeline::fold::decode(pipeline::fold::encode(r), features);
  auto* b = std::get_if<alert_request>(&back);
  FUZZ_CHECK(b != nullptr);
  FUZZ_CHECK(b->kind == r.kind && b->level == r.level && b->source == r.source &&
             b->authenticated == r.authenticated && b->model == r.model && b->rule == r.rule &&
             b->title == r.title && b->evidence == r.evidence && b->at == r.at);
  FUZZ_CHECK(b->ref.topic == r.ref.topic && b->ref.partition == r.ref.partition &&
             b->ref.offset == r.ref.offset && b->ref.line == r.ref.line);
  return 0;
}
