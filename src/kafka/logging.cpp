#include "kafka/logging.hpp"

#include "core/log.hpp"

#include <librdkafka/rdkafka.h>
#include <string>

namespace bulwark::kafka {
namespace {

log::level from_syslog(int level) noexcept {
  if (level <= 3) return log::level::error;
  if (level == 4) return log::level::warn;
  if (level <= 6) return log::level::info;
  return log::level::debug;
}

extern "C" void on_rdkafka_log(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  const log::level lv = from_syslog(level);
  if (!log::enabled(lv)) return;
  const std::string_view facility = fac != nullptr ? fac : "";
  const std::string_view text = buf != nullptr ? buf : "";
  const std::string_view client = rk != nullptr ? rd_kafka_name(rk) : "";
  // A broker that stays down makes librdkafka repeat itself per connection
  // attempt: a few lines per facility, then a count.
  const std::string key = "kafka:" + std::string(facility);
  log::limited().write(lv, "kafka", key, text, {{"facility", facility}, {"client", client}});
}

} // namespace

void route_logs(rd_kafka_conf_s* conf) noexcept {
  rd_kafka_conf_set_log_cb(conf, on_rdkafka_log);
}

} // namespace bulwark::kafka
