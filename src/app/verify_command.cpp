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

/// One writer's chain on the audit topic: its records in the order written.
struct writer_chain {
  std::string writer; ///< the records' Kafka key ("" for unkeyed records)
  std::vector<std::string> lines;
};

/// Reads the audit topic (partition order as written: bulwark writes its
/// chains to one partition, each writer's records keyed by its writer id)
/// until it has been quiet for a few seconds; one chain per key, in the order
/// the keys first appear.
std::optional<std::string> read_topic(const config::options& opts, const std::string& topic,
                                      std::vector<writer_chain>& chains) {
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
    const std::string_view writer = m->key().value_or(std::string_view{});
    auto it = std::find_if(chains.begin(), chains.end(),
                           [&](const writer_chain& chain) { return chain.writer == writer; });
    if (it == chains.end()) it = chains.insert(chains.end(), writer_chain{std::string(writer), {}});
    it->lines.emplace_back(m->value().value_or(std::string_view{}));
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

  std::vector<writer_chain> chains;
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
    if (auto err = read_topic(*opts, args.topic, chains)) {
      std::fprintf(stderr, "bulwark verify: --topic %s: %s\n", args.topic.c_str(), err->c_str());
      return runtime_failure;
    }
    settings.require_final = false; // a live chain has an open tail
  }
  // A file holds one chain; a topic one per writer (an empty topic: one
  // empty chain, which verify_chain judges as it always has).
  std::vector<std::vector<std::string_view>> lines;
  std::vector<std::string> writers;
  if (!args.audit.empty()) {
    lines.emplace_back();
    writers.emplace_back();
    for (std::string_view v : audit::split_lines(text))
      lines.back().push_back(v);
  } else {
    if (chains.empty()) chains.emplace_back();
    for (const auto& c : chains) {
      writers.push_back(c.writer);
      lines.emplace_back(c.lines.begin(), c.lines.end());
    }
  }
  // One unkeyed chain prints as it always did; several, or a named writer,
  // each get a line that names the writer (an identifier by construction of
  // kafka.audit_writer; anything else a reader put there is shown escaped).
  const bool named = writers.size() > 1 || !writers.front().empty();
  const auto prefix = [&](std::size_t i) {
    if (!named) return std::string();
    std::string w = "writer ";
    for (const char c : writers[i]) {
      const auto u = static_cast<unsigned char>(c);
      if (config::is_writer_id_char(c)) {
        w += c;
      } else {
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02x", u);
        w += hex;
      }
    }
    if (writers[i].empty()) w += "(no key)";
    return w + ": ";
  };
  const auto& keys = std::get<audit::key_ring>(ring);
  if (!receipt) {
    bool all_ok = true;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const audit::verify_result r = audit::verify_chain(lines[i], keys, settings);
      std::printf("%s%s\n", prefix(i).c_str(), audit::describe(r).c_str());
      all_ok = all_ok && r.ok;
    }
    return all_ok ? ok : runtime_failure;
  }
  bool all_ok = true;
  std::optional<std::size_t> proven;
  std::string why = "not in any chain";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const audit::receipt_result r = audit::prove_receipt(lines[i], keys, *receipt, settings);
    std::printf("%s%s\n", prefix(i).c_str(), audit::describe(r.chain).c_str());
    all_ok = all_ok && r.chain.ok;
    if (r.proof && !proven) {
      proven = i;
      std::printf("%s%s\n", prefix(i).c_str(), audit::format_receipt_proof(*r.proof).c_str());
    } else if (!r.proof && lines.size() == 1) {
      why = r.reason;
    }
  }
  if (!all_ok) return runtime_failure;
  if (!proven) {
    std::printf("receipt not proven: %s\n", why.c_str());
    return runtime_failure;
  }
  return ok;
}

} // namespace bulwark::app
