#include "app/cli.hpp"
#include "config/load.hpp"
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
  loaded_config loaded{std::move(options), nullptr};
  const config::options& opts = loaded.opts;
  if (opts.rules.packs.empty() && opts.rules.extra.empty()) return loaded;
  std::vector<std::string> extra;
  for (const auto& f : opts.rules.extra) {
    const std::filesystem::path p(f);
    extra.push_back(p.is_absolute() ? f : (std::filesystem::path(opts.base_dir) / p).string());
  }
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
    const std::filesystem::path p(prompt.file);
    const std::string file =
        p.is_absolute() ? prompt.file : (std::filesystem::path(opts.base_dir) / p).string();
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      std::fprintf(stderr, "bulwark: rules.system_prompts %s: cannot read %s\n",
                   prompt.name.c_str(), file.c_str());
      return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    ro.system_prompts.emplace_back(prompt.name, text.str());
  }
  auto built = scan::load_ruleset(scan::default_rules_dir(), opts.rules.packs, extra, ro);
  if (auto* err = std::get_if<std::string>(&built)) {
    std::fprintf(stderr, "bulwark: %s\n", err->c_str());
    return std::nullopt;
  }
  loaded.rules = std::get<std::shared_ptr<const scan::ruleset>>(std::move(built));
  return loaded;
}

bool make_alertmanager(const config::options& opts, const std::string& listen, const char* who,
                       std::unique_ptr<http::alertmanager_forwarder>& out) {
  out.reset();
  if (opts.alerts.alertmanager.empty()) return true;
  http::forwarder_options fo;
  fo.url = opts.alerts.alertmanager;
  fo.buffer.generator_url = "http://" + listen + "/";
  fo.log = [who](std::string_view line) {
    std::fprintf(stderr, "%s: %.*s\n", who, static_cast<int>(line.size()), line.data());
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
