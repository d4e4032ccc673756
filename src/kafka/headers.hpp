#pragma once
/// Which record headers bulwark refuses to carry. Header values are redacted
/// like the record's value and travel with it; a record whose headers cannot
/// travel safely goes to the DLQ with reason `bad_headers` instead:
///  - a name that is empty, longer than 255 bytes, or holds anything but
///    printable ASCII (a control character or escape in a name reaches every
///    log viewer downstream unredacted: names are not scanned);
///  - a name bulwark itself writes on its outputs (`bw-reason`), which a
///    producer could otherwise forge on the sanitised topic;
///  - more than `max_headers` headers, one value larger than
///    `max_value_bytes`, or all names and values together larger than
///    `max_total_bytes` (bounded work and memory per record).
#include "kafka/client.hpp"

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

namespace bulwark::kafka {

struct header_limits {
  std::size_t max_headers = 64;
  std::size_t max_value_bytes = 64 * 1024;
  std::size_t max_total_bytes = 1024 * 1024; ///< bulwark run uses limits.max_event_bytes
};

/// Why the headers are refused (a short phrase for logs, never a header's
/// content), or nothing when they may travel.
std::optional<std::string_view> header_problem(std::span<const header> headers,
                                               const header_limits& limits = {});

} // namespace bulwark::kafka
