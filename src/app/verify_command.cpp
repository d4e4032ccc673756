// `bulwark verify`: checks an audit chain (SPEC §1, §5) from a file or a topic,
// and with --receipt proves that an event is included under a checkpoint.
#include "app/cli.hpp"
#include "audit/keys.hpp"
#include "audit/verifier.hpp"
#include "kafka/client.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace bulwark::app {
namespace {

using namespace std::chrono_literals;

/// Reads the audit topic (partition order as written: bulwark writes its chain
/// to one partition) until it has been quiet for a few seconds.
std::optional<std::string> read_topic(const config::options& opts, const std::string& topic,
                                      std::vector<std::string>& lines) {
  kafka::properties props = opts.kafka.properties;
  props["bootstrap.servers"] = opts.kafka.brokers;
  props["group.id"] = "bulwark-verify-" +
                      std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
  auto c = kafka::consumer::make(props, {topic}, nullptr);
  if (auto* e = std::get_if<kafka::error>(&c)) return e->message;
  auto& consumer = std::get<kafka::consumer>(c);
  auto last = std::chrono::steady_clock::now();
  const auto start = last;
  while (std::chrono::steady_clock::now() - last < 5s ||
         std::chrono::steady_clock::now() - start < 10s) {
    auto m = consumer.poll(200ms);
    if (!m || m->failure()) continue;
    last = std::chrono::steady_clock::now();
    lines.emplace_back(m->value().value_or(std::string_view{}));
  }
  consumer.close();
  return std::nullopt;
}

} // namespace

int verify_command(const verify_args& args) {
  if (args.audit.empty() == args.topic.empty()) {
    std::fprintf(stderr, "bulwark verify: give exactly one of --audit PATH or --topic T\n");
    return bad_usage;
  }
  const auto opts = load_config(args.config);
  if (!opts) return bad_usage;
  auto ring = audit::key_ring::from_config(opts->integrity, opts->base_dir);
  if (auto* e = std::get_if<audit::audit_error>(&ring)) {
    std::fprintf(stderr, "bulwark verify: integrity keys: %s\n", e->reason.c_str());
    return bad_usage;
  }
  std::optional<crypto::digest> receipt;
  if (!args.receipt.empty()) {
    std::string hex = args.receipt;
    std::transform(hex.begin(), hex.end(), hex.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    receipt = audit::parse_digest(hex);
    if (!receipt) {
      std::fprintf(stderr,
                   "bulwark verify: --receipt: expected 64 hex digits (a SHA-256 digest)\n");
      return bad_usage;
    }
  }

  std::vector<std::string> owned;
  std::string text;
  audit::verify_settings settings;
  if (!args.audit.empty()) {
    std::ifstream in(args.audit, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "bulwark verify: --audit %s: cannot read\n", args.audit.c_str());
      return bad_usage;
    }
    std::ostringstream all;
    all << in.rdbuf();
    text = all.str();
  } else {
    if (opts->kafka.brokers == "embedded") {
      std::fprintf(stderr, "bulwark verify: --topic needs kafka.brokers (the embedded cluster "
                           "lives inside `bulwark run`)\n");
      return bad_usage;
    }
    if (auto err = read_topic(*opts, args.topic, owned)) {
      std::fprintf(stderr, "bulwark verify: --topic %s: %s\n", args.topic.c_str(), err->c_str());
      return runtime_failure;
    }
    settings.require_final = false; // a live chain has an open tail
  }
  std::vector<std::string_view> lines;
  if (!args.audit.empty()) {
    for (std::string_view v : audit::split_lines(text))
      lines.push_back(v);
  } else {
    for (const auto& l : owned)
      lines.push_back(l);
  }
  const auto& keys = std::get<audit::key_ring>(ring);
  if (!receipt) {
    const audit::verify_result r = audit::verify_chain(lines, keys, settings);
    std::printf("%s\n", audit::describe(r).c_str());
    return r.ok ? ok : runtime_failure;
  }
  const audit::receipt_result r = audit::prove_receipt(lines, keys, *receipt, settings);
  std::printf("%s\n", audit::describe(r.chain).c_str());
  if (!r.chain.ok) return runtime_failure;
  if (!r.proof) {
    std::printf("receipt not proven: %s\n", r.reason.c_str());
    return runtime_failure;
  }
  std::printf("%s\n", audit::format_receipt_proof(*r.proof).c_str());
  return ok;
}

} // namespace bulwark::app
