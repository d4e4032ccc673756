#include "app/cli.hpp"
#include "http/alertmanager_forwarder.hpp"
#include "pipeline/ndjson.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <type_traits>
#include <unistd.h>

namespace bulwark::app {
namespace {

std::atomic<bool> stop_requested{false};

extern "C" void on_stop_signal(int /*signal*/) {
  stop_requested.store(true);
}

/// SIGINT/SIGTERM: stop reading, finish and write what was read, exit 0.
/// No SA_RESTART, so a read blocked on a quiet pipe returns EINTR at once.
void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

/// An open file descriptor that closes itself.
class fd_owner {
public:
  fd_owner() = default;
  explicit fd_owner(int fd) : fd_(fd) {}
  fd_owner(fd_owner&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  fd_owner& operator=(fd_owner&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  fd_owner(const fd_owner&) = delete;
  fd_owner& operator=(const fd_owner&) = delete;
  ~fd_owner() {
    if (fd_ > 2) ::close(fd_);
  }
  int get() const noexcept { return fd_; }

private:
  int fd_ = -1;
};

/// Opens `path` for the option `flag`; "-" means stdin/stdout. Prints why on failure.
bool open_path(const char* flag, const std::string& path, bool for_write, mode_t mode,
               fd_owner& fd) {
  if (path == "-") {
    fd = fd_owner(for_write ? 1 : 0);
    return true;
  }
  const int flags = for_write ? (O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC);
  const int f = ::open(path.c_str(), flags, mode);
  if (f < 0) {
    std::fprintf(stderr, "bulwark scan: %s %s: cannot open for %s: %s\n", flag, path.c_str(),
                 for_write ? "writing" : "reading", std::strerror(errno));
    return false;
  }
  fd = fd_owner(f);
  return true;
}

void print_summary(const pipeline::ndjson_result& r, std::uint64_t alerts) {
  const auto& t = r.totals;
  const double secs = r.seconds > 0 ? r.seconds : 1e-9;
  std::string line = "bulwark scan:";
  const auto add = [&line](std::string_view key, auto value) {
    line += ' ';
    line += key;
    line += '=';
    if constexpr (std::is_floating_point_v<decltype(value)>) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", value);
      line += buf;
    } else {
      line += std::to_string(value);
    }
  };
  add("lines_in", r.lines);
  add("lines_out", t.records);
  for (const verdict v : {verdict::clean, verdict::redacted, verdict::flagged, verdict::quarantined,
                          verdict::rejected})
    add(to_string(v), t.count(v));
  add("alerts", alerts);
  add("bytes_in", r.bytes_read);
  add("seconds", r.seconds);
  add("events_per_s", static_cast<std::uint64_t>(static_cast<double>(r.lines) / secs));
  add("mb_per_s", static_cast<double>(r.bytes_read) / secs / 1e6);
  for (const category c :
       {category::secret, category::pii, category::prompt_leak, category::injection})
    add(std::string("findings.") + std::string(to_string(c)),
        t.findings_by_category[static_cast<int>(c)]);
  for (std::size_t i = 1; i < t.rejected_by_reason.size(); ++i)
    if (t.rejected_by_reason[i] != 0)
      add(std::string("rejected.") + std::string(json::to_string(static_cast<json::error>(i))),
          t.rejected_by_reason[i]);
  if (r.drift) {
    // Events drift did not use are counted, never silently dropped.
    const auto& d = *r.drift;
    add("drift.observed", d.observed);
    add("drift.late", d.late);
    add("drift.future", d.future);
    add("drift.untracked", d.untracked);
    add("drift.unreferenced", d.unreferenced);
  }
  std::fprintf(stderr, "%s\n", line.c_str());
}

/// How long scan waits, after its last alert, for Alertmanager to take what
/// is due; then it gives up and says how many alerts were not delivered.
constexpr std::chrono::seconds alertmanager_flush{5};

void print_alertmanager(const http::forwarder_stats& s) {
  std::uint64_t dropped = 0;
  for (const std::uint64_t d : s.buffer.dropped)
    dropped += d;
  std::fprintf(stderr,
               "bulwark scan: alertmanager: alerts_sent=%llu posts_ok=%llu posts_failed=%llu "
               "posts_rejected=%llu dropped=%llu undelivered=%zu\n",
               static_cast<unsigned long long>(s.buffer.alerts_sent),
               static_cast<unsigned long long>(s.buffer.posts_ok),
               static_cast<unsigned long long>(s.buffer.posts_failed),
               static_cast<unsigned long long>(s.buffer.posts_rejected),
               static_cast<unsigned long long>(dropped), s.pending);
}

} // namespace

int scan_command(const scan_args& args) {
  const auto loaded = load_config_and_rules(args.config);
  if (!loaded) return bad_usage;
  const config::options& opts = loaded->opts;
  // Before any output file is created: a bad URL changes nothing on disk.
  std::unique_ptr<http::alertmanager_forwarder> alertmanager;
  if (!make_alertmanager(opts, opts.http.listen, "bulwark scan", alertmanager)) return bad_usage;

  // Every path is opened before any input is read, so a bad path fails fast
  // with exit 2 and no partial output.
  fd_owner in, out, alerts, dlq, quarantine;
  if (!open_path("--in", args.in, false, 0, in)) return bad_usage;
  if (!open_path("--out", args.out, true, 0644, out)) return bad_usage;
  // Dead letters and quarantined records hold (redacted) raw input: owner only.
  if (!args.dlq.empty() && !open_path("--dlq", args.dlq, true, 0600, dlq)) return bad_usage;
  if (!args.quarantine.empty() &&
      !open_path("--quarantine", args.quarantine, true, 0600, quarantine))
    return bad_usage;
  if (!args.alerts.empty() && !open_path("--alerts", args.alerts, true, 0644, alerts))
    return bad_usage;
  fd_owner audit;
  if (!args.audit.empty() && !open_path("--audit", args.audit, true, 0644, audit)) return bad_usage;

  pipeline::ndjson_io io;
  io.in = in.get();
  io.out = out.get();
  io.dlq = dlq.get();
  io.quarantine = quarantine.get();
  io.alerts = alerts.get();
  io.audit = audit.get();
  io.in_name = args.in == "-" ? "stdin" : args.in;
  io.stop = &stop_requested;
  io.also = alertmanager.get();
  install_stop_handlers();

  const pipeline::ndjson_result r = pipeline::run_ndjson(opts, io, loaded->rules);
  if (alertmanager) { // the stage has finished: every alert it will emit is in
    alertmanager->stop(alertmanager_flush);
    if (!r.config_error) print_alertmanager(alertmanager->stats());
  }
  if (r.config_error) {
    std::fprintf(stderr, "bulwark scan: %s\n", r.error.c_str());
    return bad_usage;
  }
  if (!r.error.empty()) {
    std::fprintf(stderr, "bulwark scan: %s\n", r.error.c_str());
    print_summary(r, r.alerts);
    return runtime_failure;
  }
  if (r.stopped)
    std::fprintf(stderr, "bulwark scan: stopped by signal; input not read to its end\n");
  print_summary(r, r.alerts);
  return ok;
}

} // namespace bulwark::app
