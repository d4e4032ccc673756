#pragma once
// Shared helpers of the alert tests: a sink that records what it got (and
// during which call), request builders that follow the detectors' conventions,
// and quiet default settings.
#include "alert/engine.hpp"
#include "core/json_writer.hpp"

#include <gtest/gtest.h>
#include <string>
#include <utility>
#include <vector>

namespace alert_test {

using bulwark::alert_request;
using bulwark::default_severity;
using bulwark::format_rfc3339;
using bulwark::input_ref;
using bulwark::json_writer;
using bulwark::parse_rfc3339;
using bulwark::severity;
using bulwark::timestamp_ms;
using bulwark::alert::alert;
using bulwark::alert::alert_sink;
using bulwark::alert::engine;
using bulwark::alert::engine_settings;

/// Records every alert, with the number of the engine call that emitted it.
class recording_sink final : public alert_sink {
public:
  void emit(const alert& a) override { got.push_back({a, call}); }

  struct entry {
    alert a;
    int call; ///< value of `call` when emitted
  };
  std::vector<entry> got;
  int call = 0;

  std::vector<alert> of_kind(std::string_view kind) const {
    std::vector<alert> out;
    for (const auto& e : got)
      if (e.a.kind == kind) out.push_back(e.a);
    return out;
  }
  std::size_t count_kind(std::string_view kind) const { return of_kind(kind).size(); }
};

/// A request as a detector builds it: identifiers only, evidence by json_writer.
inline alert_request request(std::string kind, std::string source, bool authenticated,
                             timestamp_ms at, std::string rule = "rule-1",
                             std::string model = "fraud") {
  alert_request r;
  r.kind = std::move(kind);
  r.level = default_severity(r.kind);
  r.source = std::move(source);
  r.authenticated = authenticated;
  r.model = std::move(model);
  r.rule = std::move(rule);
  r.title = r.kind + " from " + (r.source.empty() ? "no source" : r.source);
  json_writer w;
  w.begin_object().key("n").value(1).end_object();
  r.evidence = w.take();
  r.at = at;
  return r;
}

inline engine make_engine(const engine_settings& s = {}) {
  auto made = engine::make(s);
  if (auto* e = std::get_if<bulwark::alert::error>(&made)) ADD_FAILURE() << e->message;
  return std::move(std::get<engine>(made));
}

/// Submits through the sink, bumping its call counter first.
inline void submit(engine& e, recording_sink& sink, const alert_request& r, timestamp_ms now) {
  ++sink.call;
  e.submit(r, now, sink);
}

inline void tick(engine& e, recording_sink& sink, timestamp_ms now) {
  ++sink.call;
  e.tick(now, sink);
}

constexpr timestamp_ms t0 = 1'800'000'000'000; // 2027-01-15, a fake clock origin

} // namespace alert_test
