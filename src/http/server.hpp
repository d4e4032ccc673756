#pragma once
/// bulwark's own HTTP endpoint (`http.listen`): /metrics, /healthz, /readyz,
/// the live status page (/, /status.js, /status.css, /api/status) and
/// POST /-/reload.
///
///   socket loop (one io_context thread) ─▶ bounded read ─▶ handle() ─▶ write, close
///                     │ peer address, Origin              │ pure: no sockets
///                     └──────▶ request_context ───────────┘
///                              endpoints::metrics / ready / status / reload
///
/// Invariants:
///  1. handle() is a pure function of (method, target, endpoints, context): it
///     never copies the request's path, query or headers into the response, so
///     nothing a client sends is reflected back (or reaches a log line).
///  2. A request is bounded: its header block to server_options::max_header_bytes
///     (431 beyond), no body at all (413), the whole exchange to
///     server_options::timeout; at most server_options::max_connections are
///     open at once (newer ones are closed at once, unanswered).
///  3. The server runs on its own thread and only calls the endpoints'
///     callbacks, which must not block for long (a metrics render, a few
///     atomic loads): a slow or hostile client never holds up the pipeline,
///     and never holds up another client (every I/O is asynchronous).
///  4. One request per connection (`Connection: close`): no keep-alive state.
///  5. Every response carries `X-Content-Type-Options: nosniff`,
///     `Cache-Control: no-store`, content_security_policy, `X-Frame-Options:
///     DENY`, `Referrer-Policy: no-referrer` and
///     `Cross-Origin-Resource-Policy: same-origin`.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace bulwark::http {

/// One response, before serialisation.
struct response {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  /// For 405: the methods the route accepts.
  std::string allow;
};

/// Headers on every response (docs/status-page.md says why each is there).
/// The page's policy allows only its own script, stylesheet and fetches.
inline constexpr std::string_view content_security_policy =
    "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; "
    "img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// What the socket loop knows about a request beyond its method and target.
struct request_context {
  /// The peer's address is loopback (127.0.0.0/8, ::1, or v4-mapped loopback).
  bool peer_is_loopback = false;
  /// A browser marked the request as sent by a page of another origin
  /// (`Sec-Fetch-Site: cross-site|same-site`, or an `Origin` header without
  /// `Sec-Fetch-Site: same-origin`): a local browser visiting a hostile
  /// site must not be able to trigger a state change (CSRF).
  bool cross_origin = false;
};

/// The answer of a readiness check.
struct readiness {
  bool ready = false;
  /// Short, fixed-vocabulary text for a 503 (e.g. "waiting for partition
  /// assignment"); never event content.
  std::string reason;
};

/// What the routes serve. A missing callback, or a metrics callback that
/// returns false, answers 503 ("starting"), so the server can listen before
/// the service behind it exists.
struct endpoints {
  /// Appends the exposition (text format 0.0.4) and returns true.
  std::function<bool(std::string& body)> metrics;
  std::string metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";
  std::function<readiness()> ready;
  /// Appends the /api/status JSON document and returns true; false answers
  /// 503 ("starting").
  std::function<bool(std::string& body)> status;
  /// Performs a reload (POST /-/reload) and says how it went.
  std::function<response()> reload;
};

/// Routes one request:
///   GET|HEAD /metrics → 200 exposition · /healthz → 200 "ok" · /readyz → 200
///   "ready" or 503 with the reason · / → the status page (HTML) ·
///   /status.js, /status.css → its script and stylesheet · /api/status → 200
///   JSON, or 503 "starting" without a status callback; another method on
///   these paths → 405 with `Allow: GET, HEAD`.
///   POST /-/reload → 403 unless the peer is loopback and the request is not
///   cross-origin, 503 without a reload callback, else the callback's
///   answer; another method → 405 with `Allow: POST`.
///   Any other path → 404. The query string is ignored. HEAD answers like GET
///   (the serialiser leaves the body out).
response handle(std::string_view method, std::string_view target, const endpoints& e,
                const request_context& ctx = {});

/// The response to a request the socket loop refused before routing it
/// (400 malformed, 413 body, 431 header too large, …): a fixed text per status.
response refusal(unsigned status);

struct server_options {
  std::string listen = "127.0.0.1:9464"; ///< host:port or [v6]:port; port 0 = ephemeral
  std::size_t max_header_bytes = 8 * 1024;
  std::size_t max_connections = 64;
  std::chrono::milliseconds timeout{5'000}; ///< read + write of one exchange
};

/// The socket loop. Thread-safe to stop from any thread; destruction stops it.
class server {
public:
  /// Binds and starts serving. Refused with a reason naming `http.listen`
  /// (a bad address, or the system's reason the bind failed).
  static std::variant<std::unique_ptr<server>, std::string> start(server_options o, endpoints e);

  ~server();
  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// The bound port (the ephemeral one when `listen` asked for port 0).
  std::uint16_t port() const noexcept;
  /// The bound address as `host:port` (IPv6 in brackets).
  std::string address() const;
  /// Connections open now (for tests and the cap).
  std::size_t open_connections() const noexcept;
  /// Closes the listener and every connection, joins the thread. Idempotent.
  void stop();

  struct impl;

private:
  explicit server(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

} // namespace bulwark::http
