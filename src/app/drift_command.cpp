// `bulwark drift baseline`: a frozen drift reference from a stream of events.
#include "app/cli.hpp"
#include "drift/monitor.hpp"
#include "pipeline/detectors.hpp"
#include "pipeline/processor.hpp"

#include <cstdio>
#include <fstream>
#include <iostream>

namespace bulwark::app {

int drift_baseline_command(const drift_args& args) {
  const auto opts = load_config(args.config);
  if (!opts) return bad_usage;
  if (opts->drift.features.empty()) {
    std::fprintf(stderr, "bulwark drift baseline: %s: drift.features is empty: nothing to learn\n",
                 args.config.empty() ? "(built-in configuration)" : args.config.c_str());
    return bad_usage;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (args.in != "-") {
    file.open(args.in, std::ios::binary);
    if (!file) {
      std::fprintf(stderr, "bulwark drift baseline: --in %s: cannot read\n", args.in.c_str());
      return bad_usage;
    }
    in = &file;
  }
  std::ofstream out(args.out, std::ios::binary | std::ios::trunc);
  if (!out) {
    std::fprintf(stderr, "bulwark drift baseline: --out %s: cannot write\n", args.out.c_str());
    return bad_usage;
  }
  auto made = drift::baseline_builder::make(drift::from_config(opts->drift));
  if (auto* e = std::get_if<drift::error>(&made)) {
    std::fprintf(stderr, "bulwark drift baseline: drift: %s\n", e->message.c_str());
    return bad_usage;
  }
  auto& builder = std::get<drift::baseline_builder>(made);
  // Events are only parsed here: no rules, the fields come from the walk.
  pipeline::processor proc(*opts, nullptr);
  const pipeline::fact_spec spec(*opts);
  pipeline::record_facts facts;
  std::vector<drift::feature_value> values(opts->drift.features.size());
  std::string key, sink, dlq, line;
  std::string_view model;
  std::uint64_t n = 0, used = 0, rejected = 0;
  while (std::getline(*in, line)) {
    ++n;
    sink.clear();
    dlq.clear();
    proc.process(line, pipeline::raw_info{}, pipeline::origin(n), sink, dlq, spec, facts);
    if (!facts.parsed) {
      ++rejected;
      continue;
    }
    pipeline::drift_inputs(facts, spec, key, model, values);
    builder.add(key, model, values);
    ++used;
  }
  out << builder.finish();
  out.flush();
  if (!out) {
    std::fprintf(stderr, "bulwark drift baseline: --out %s: write failed\n", args.out.c_str());
    return runtime_failure;
  }
  std::fprintf(stderr,
               "bulwark drift baseline: lines=%llu used=%llu rejected=%llu untracked=%llu out=%s\n",
               static_cast<unsigned long long>(n), static_cast<unsigned long long>(used),
               static_cast<unsigned long long>(rejected),
               static_cast<unsigned long long>(builder.untracked()), args.out.c_str());
  return ok;
}

} // namespace bulwark::app
