#pragma once
/// librdkafka's own log lines go through bulwark's logger (docs/logging.md):
/// component "kafka", fields facility and client, the syslog level mapped to
/// ours (0-3 error, 4 warn, 5-6 info, 7 debug), repeats of one facility
/// rate-limited. librdkafka's lines name brokers, topics, partitions and
/// errors; they never hold record keys or values.
struct rd_kafka_conf_s;

namespace bulwark::kafka {

/// Sets the log callback on a configuration before rd_kafka_new().
void route_logs(rd_kafka_conf_s* conf) noexcept;

} // namespace bulwark::kafka
