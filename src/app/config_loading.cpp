#include "app/cli.hpp"
#include "config/load.hpp"

#include <cstdio>

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

} // namespace bulwark::app
