#pragma once
/// A small HTTP/1.1 client for bulwark's outgoing POSTs (Alertmanager):
/// plain http only (no TLS: bulwark links no TLS stack here; put a
/// TLS-terminating proxy in front of a remote Alertmanager), one connection per
/// request, bounded in time and in the response size it reads.
///
///   caller ─post()/async_post()─▶ io_context thread (one per client)
///        resolve ─▶ connect ─┐  connect_timeout
///        write ─▶ read ──────┘  request_timeout ─▶ post_result ─▶ callback
///
/// Invariants:
///  1. Every request completes exactly once: with a status, an error, a
///     timeout or a cancellation — never later than its deadline plus the time
///     the io thread needs to run the handler.
///  2. Nothing of a request or response body is kept or reported; errors say
///     what failed (resolve, connect, …) and the system's reason.
#include "alert/alertmanager.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace bulwark::http {

/// Where to send: the parts of `http://host[:port][/prefix]`.
struct endpoint {
  std::string host; ///< a name, an IPv4 address, or an IPv6 address without brackets
  std::uint16_t port = 80;
  std::string prefix; ///< "" or "/path" without a trailing '/'

  /// The `Host` header value (`host:port`, IPv6 in brackets).
  std::string host_header() const;
  /// prefix + path (`path` starts with '/').
  std::string target(std::string_view path) const;
};

/// Parses `http://host[:port][/prefix]`. Refused, with a reason that names
/// `key` and never repeats the URL (it may hold a password): another scheme
/// (https included: plain http only), user info, a query or fragment, an empty
/// host, a bad port, or bytes that are not URL characters.
std::variant<endpoint, std::string> parse_url(std::string_view url, std::string_view key);

/// How one request ended.
struct post_result {
  enum class failure : std::uint8_t {
    none,      ///< a response was read; `status` holds its code
    resolve,   ///< the host name did not resolve
    connect,   ///< no connection (refused, unreachable)
    io,        ///< the connection broke, or the response was not HTTP
    timeout,   ///< connect_timeout or request_timeout passed
    cancelled, ///< cancel() or the client's destruction
  };
  failure error = failure::none;
  unsigned status = 0; ///< HTTP status; 0 when no response header was read
  std::string reason;  ///< for logs: the system's message ("Connection refused"), "" on success
};

/// "delivered", "connect", …: names for logs.
std::string_view to_string(post_result::failure f) noexcept;

/// Alertmanager's view of an HTTP status: 2xx delivered; 5xx, 429, 1xx and
/// 3xx (redirects are not followed; a fixed server may answer next time)
/// failed; any other 4xx rejected (the same body would fail again).
alert::post_outcome outcome_of_status(unsigned status) noexcept;
/// outcome_of_status, and every transport failure is `failed`.
alert::post_outcome outcome_of(const post_result& r) noexcept;

struct client_options {
  std::chrono::milliseconds connect_timeout{2'000}; ///< resolve + connect
  std::chrono::milliseconds request_timeout{5'000}; ///< write + read the response
  std::size_t max_response_bytes = 64 * 1024; ///< body read at most; beyond, the status counts
  std::string user_agent = "bulwark/0.1.0";
};

/// Owns an io_context and the thread running it. Thread-safe: post(),
/// async_post() and cancel() may be called from any thread. Destruction
/// cancels what is in flight and joins the thread; a host-name lookup still
/// running in the system resolver is waited for (its own timeout bounds it).
class client {
public:
  explicit client(client_options o = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  using callback = std::function<void(post_result)>;

  /// POSTs `body` (Content-Type application/json) to `ep` at `target`;
  /// `done` runs once, on the client's thread, and must not block.
  void async_post(const endpoint& ep, std::string target, std::string body, callback done);

  /// async_post, waiting for the result. Never call it from a callback.
  post_result post(const endpoint& ep, std::string target, std::string body);

  /// Ends every request in flight now (they complete with `cancelled`).
  /// Requests started afterwards are unaffected.
  void cancel();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace bulwark::http
