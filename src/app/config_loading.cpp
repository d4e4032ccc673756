#include "app/cli.hpp"
#include "config/load.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "crypto/hmac.hpp"
#include "crypto/keys.hpp"
#include "http/alertmanager_forwarder.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace bulwark::app {

std::optional<config::options> load_config(const std::string& path) {
  if (path.empty()) return config::options{};
  auto loaded = config::load_file(path);
  if (auto* err = std::get_if<config::load_error>(&loaded)) {
    std::fprintf(stderr, "bulwark: %s\n", err->message().c_str());
    return std::nullopt;
  }
  return std::get<config::options>(std::move(loaded));
}

std::optional<loaded_config> load_config_and_rules(const std::string& path) {
  auto loaded_opts = load_config(path);
  if (!loaded_opts) return std::nullopt;
  return compile_rules(std::move(*loaded_opts));
}

std::optional<loaded_config> compile_rules(config::options options) {
  auto built = try_compile_rules(std::move(options));
  if (auto* err = std::get_if<std::string>(&built)) {
    std::fprintf(stderr, "bulwark: %s\n", err->c_str());
    return std::nullopt;
  }
  return std::get<loaded_config>(std::move(built));
}

namespace {

std::string resolve(const std::string& file, const std::string& base_dir) {
  const std::filesystem::path p(file);
  return p.is_absolute() ? file : (std::filesystem::path(base_dir) / p).string();
}

/// SHA-256 of a file's bytes in hex, or "unreadable".
std::string file_digest(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "unreadable";
  std::ostringstream text;
  text << in.rdbuf();
  const crypto::digest d = crypto::sha256(text.str());
  return crypto::to_hex(d);
}

} // namespace

std::variant<loaded_config, std::string> try_compile_rules(config::options options) {
  loaded_config loaded{std::move(options), nullptr};
  const config::options& opts = loaded.opts;
  if (opts.rules.packs.empty() && opts.rules.extra.empty()) return loaded;
  std::vector<std::string> extra;
  for (const auto& f : opts.rules.extra)
    extra.push_back(resolve(f, opts.base_dir));
  scan::ruleset_options ro;
  ro.default_action = action_from_string(opts.rules.action).value_or(action::tag);
  // Loaded whether or not a rule hashes; the ruleset refuses a hash action
  // without it, quoting why it is missing.
  auto key = crypto::load_key(opts.rules.hash_key, opts.base_dir);
  if (auto* k = std::get_if<crypto::key_bytes>(&key)) {
    ro.hash_key = std::move(*k);
  } else {
    ro.hash_key_problem = std::get<crypto::key_error>(key).reason;
  }
  for (const auto& prompt : opts.rules.system_prompts) {
    if (!prompt.text.empty()) {
      ro.system_prompts.emplace_back(prompt.name, prompt.text);
      continue;
    }
    const std::string file = resolve(prompt.file, opts.base_dir);
    std::ifstream in(file, std::ios::binary);
    if (!in) return "rules.system_prompts " + prompt.name + ": cannot read " + file;
    std::ostringstream text;
    text << in.rdbuf();
    ro.system_prompts.emplace_back(prompt.name, text.str());
  }
  auto built = scan::load_ruleset(scan::default_rules_dir(), opts.rules.packs, extra, ro);
  if (auto* err = std::get_if<std::string>(&built)) return std::move(*err);
  loaded.rules = std::get<std::shared_ptr<const scan::ruleset>>(std::move(built));
  return loaded;
}

std::string rule_inputs_json(const config::options& opts) {
  // Names and digests only: a system prompt is named, never hashed (a digest
  // of a short secret text would let anyone holding the audit log test guesses).
  json_writer j;
  j.begin_object();
  j.key("packs");
  j.begin_array();
  for (const auto& pack : opts.rules.packs) {
    j.begin_object();
    j.key("name").value(pack);
    j.key("sha256").value(file_digest(scan::default_rules_dir() + "/" + pack + ".yaml"));
    j.end_object();
  }
  j.end_array();
  j.key("extra");
  j.begin_array();
  for (const auto& f : opts.rules.extra) {
    j.begin_object();
    j.key("file").value(f);
    j.key("sha256").value(file_digest(resolve(f, opts.base_dir)));
    j.end_object();
  }
  j.end_array();
  j.key("system_prompts");
  j.begin_array();
  for (const auto& prompt : opts.rules.system_prompts)
    j.value(prompt.name);
  j.end_array();
  j.key("policies").value(static_cast<std::uint64_t>(opts.policies.size()));
  j.end_object();
  return j.take();
}

bool make_alertmanager(const config::options& opts, const std::string& listen, const char* who,
                       std::unique_ptr<http::alertmanager_forwarder>& out) {
  out.reset();
  if (opts.alerts.alertmanager.empty()) return true;
  http::forwarder_options fo;
  fo.url = opts.alerts.alertmanager;
  fo.buffer.generator_url = "http://" + listen + "/";
  // The forwarder's lines name the endpoint, a state change and counts, never
  // alert content. A recovery is news; anything else is a failure to act on.
  fo.log = [](std::string_view line) {
    if (line.starts_with("alertmanager: ")) line.remove_prefix(14); // the component says it
    const bool recovered = line.find("accepts alerts again") != std::string_view::npos;
    log::write(recovered ? log::level::info : log::level::warn, "alertmanager", line);
  };
  auto made = http::alertmanager_forwarder::make(std::move(fo));
  if (auto* e = std::get_if<std::string>(&made)) {
    std::fprintf(stderr, "%s: %s\n", who, e->c_str());
    return false;
  }
  out = std::move(std::get<std::unique_ptr<http::alertmanager_forwarder>>(made));
  return true;
}

} // namespace bulwark::app
