#include "http/server.hpp"

#include "http/status_page.hpp"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <optional>
#include <thread>

namespace bulwark::http {

namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

response text(unsigned status, std::string body) {
  response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

response fixed(std::string_view body, std::string content_type) {
  response r;
  r.content_type = std::move(content_type);
  r.body.assign(body);
  return r;
}

bool is_read_method(std::string_view m) noexcept {
  return m == "GET" || m == "HEAD";
}

bool is_loopback(const asio::ip::address& a) noexcept {
  if (a.is_v4()) return a.to_v4().is_loopback(); // 127.0.0.0/8
  const asio::ip::address_v6 v6 = a.to_v6();
  if (v6.is_v4_mapped()) return asio::ip::make_address_v4(asio::ip::v4_mapped, v6).is_loopback();
  return v6.is_loopback();
}

/// Splits "host:port" or "[v6]:port"; nullopt when malformed.
std::optional<std::pair<std::string, std::uint16_t>> split_listen(std::string_view s) {
  std::string_view host, port;
  if (!s.empty() && s.front() == '[') {
    const std::size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return std::nullopt;
    host = s.substr(1, close - 1);
    port = s.substr(close + 2);
  } else {
    const std::size_t colon = s.rfind(':');
    if (colon == std::string_view::npos || s.find(':') != colon) return std::nullopt;
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || port.empty() || ec != std::errc{} || end != port.data() + port.size() ||
      value > 65535)
    return std::nullopt;
  return std::pair{std::string(host), static_cast<std::uint16_t>(value)};
}

} // namespace

response handle(std::string_view method, std::string_view target, const endpoints& e,
                const request_context& ctx) {
  // The query string selects nothing here; it is dropped, never echoed.
  const std::string_view path = target.substr(0, target.find('?'));
  if (path == "/-/reload") {
    if (method != "POST") {
      response res = text(405, "method not allowed\n");
      res.allow = "POST";
      return res;
    }
    if (!ctx.peer_is_loopback) return text(403, "reload is only accepted from loopback\n");
    if (ctx.cross_origin) return text(403, "reload is not accepted from a web page\n");
    if (!e.reload) return text(503, "starting\n");
    return e.reload();
  }
  enum class route { metrics, healthz, readyz, page, script, style, status };
  route r;
  if (path == "/metrics")
    r = route::metrics;
  else if (path == "/healthz")
    r = route::healthz;
  else if (path == "/readyz")
    r = route::readyz;
  else if (path == "/")
    r = route::page;
  else if (path == "/status.js")
    r = route::script;
  else if (path == "/status.css")
    r = route::style;
  else if (path == "/api/status")
    r = route::status;
  else
    return text(404, "not found\n");
  if (!is_read_method(method)) {
    response res = text(405, "method not allowed\n");
    res.allow = "GET, HEAD";
    return res;
  }
  switch (r) {
  case route::metrics: {
    if (!e.metrics) return text(503, "starting\n");
    response res;
    res.content_type = e.metrics_content_type;
    if (!e.metrics(res.body)) return text(503, "starting\n");
    return res;
  }
  case route::healthz:
    return text(200, "ok\n");
  case route::readyz: {
    if (!e.ready) return text(503, "not ready: starting\n");
    const readiness rd = e.ready();
    if (rd.ready) return text(200, "ready\n");
    return text(503, "not ready: " + rd.reason + "\n");
  }
  case route::page:
    return fixed(status_page::html(), "text/html; charset=utf-8");
  case route::script:
    return fixed(status_page::script(), "text/javascript; charset=utf-8");
  case route::style:
    return fixed(status_page::stylesheet(), "text/css; charset=utf-8");
  case route::status: {
    if (!e.status) return text(503, "starting\n");
    response res;
    res.content_type = "application/json; charset=utf-8";
    if (!e.status(res.body)) return text(503, "starting\n");
    return res;
  }
  }
  return text(404, "not found\n");
}

response refusal(unsigned status) {
  switch (status) {
  case 408:
    return text(408, "request timeout\n");
  case 413:
    return text(413, "request bodies are not accepted\n");
  case 431:
    return text(431, "request header fields too large\n");
  case 503:
    return text(503, "too many connections\n");
  default:
    return text(400, "bad request\n");
  }
}

struct server::impl {
  explicit impl(server_options o, endpoints e) : opts(std::move(o)), eps(std::move(e)) {}

  struct connection : std::enable_shared_from_this<connection> {
    connection(impl& o, tcp::socket s)
        : owner(o), stream(std::move(s)), buffer(o.opts.max_header_bytes + 4096) {
      owner.open.fetch_add(1, std::memory_order_relaxed);
    }
    ~connection() { owner.open.fetch_sub(1, std::memory_order_relaxed); }

    void start() {
      parser.emplace();
      parser->header_limit(static_cast<std::uint32_t>(owner.opts.max_header_bytes));
      parser->body_limit(0);
      stream.expires_after(owner.opts.timeout);
      bhttp::async_read(
          stream, buffer, *parser,
          [self = shared_from_this()](const error_code& ec, std::size_t) { self->on_read(ec); });
    }

    void on_read(const error_code& ec) {
      if (ec == beast::error::timeout || ec == asio::error::operation_aborted ||
          ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
          ec == asio::error::connection_reset)
        return close();
      if (ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
        return reply(refusal(431), false);
      if (ec == bhttp::error::body_limit || ec == bhttp::error::unexpected_body)
        return reply(refusal(413), false);
      if (ec) return reply(refusal(400), false);
      const auto& req = parser->get();
      // A body announced but not read would be one we never asked for.
      if (req.has_content_length() || req.chunked()) {
        const auto len = req[bhttp::field::content_length];
        if (req.chunked() || (len != "0" && !len.empty())) return reply(refusal(413), false);
      }
      const bool head = req.method() == bhttp::verb::head;
      const auto method = req.method_string();
      const auto target = req.target();
      request_context ctx;
      error_code ec_peer;
      const tcp::endpoint peer = stream.socket().remote_endpoint(ec_peer);
      ctx.peer_is_loopback = !ec_peer && is_loopback(peer.address());
      const auto site = req["Sec-Fetch-Site"];
      ctx.cross_origin = site == "cross-site" || site == "same-site" ||
                         (req.find(bhttp::field::origin) != req.end() && site != "same-origin");
      reply(handle(std::string_view(method.data(), method.size()),
                   std::string_view(target.data(), target.size()), owner.eps, ctx),
            head);
    }

    void reply(response r, bool head) {
      res.emplace();
      res->version(11);
      res->result(r.status);
      res->set(bhttp::field::content_type, r.content_type);
      res->set(bhttp::field::cache_control, "no-store");
      res->set("X-Content-Type-Options", "nosniff");
      res->set("Content-Security-Policy", std::string(content_security_policy));
      res->set("X-Frame-Options", "DENY");
      res->set("Referrer-Policy", "no-referrer");
      res->set("Cross-Origin-Resource-Policy", "same-origin");
      if (!r.allow.empty()) res->set(bhttp::field::allow, r.allow);
      res->keep_alive(false);
      res->content_length(r.body.size());
      if (!head) res->body() = std::move(r.body);
      stream.expires_after(owner.opts.timeout);
      bhttp::async_write(stream, *res, [self = shared_from_this()](const error_code&, std::size_t) {
        self->close();
      });
    }

    void close() {
      error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      stream.socket().close(ignored);
    }

    impl& owner;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    std::optional<bhttp::request_parser<bhttp::empty_body>> parser;
    std::optional<bhttp::response<bhttp::string_body>> res;
  };

  void accept() {
    acceptor.async_accept([this](const error_code& ec, tcp::socket s) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
      if (!ec) {
        if (open.load(std::memory_order_relaxed) >= opts.max_connections) {
          // Over the cap: closed unanswered; answering would take a write
          // that a hostile peer could stall.
          error_code ignored;
          s.close(ignored);
        } else {
          std::make_shared<connection>(*this, std::move(s))->start();
        }
      }
      accept();
    });
  }

  server_options opts;
  endpoints eps;
  std::atomic<std::size_t> open{0}; ///< before the io_context: connections die with it
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::uint16_t port = 0;
  std::string address;
  std::thread thread;
  std::atomic<bool> stopped{false};
};

std::variant<std::unique_ptr<server>, std::string> server::start(server_options o, endpoints e) {
  const auto hp = split_listen(o.listen);
  if (!hp) return std::string("http.listen: expected host:port or [v6]:port");
  auto i = std::make_unique<impl>(std::move(o), std::move(e));
  error_code ec;
  tcp::resolver resolver(i->ioc);
  const auto results =
      resolver.resolve(hp->first, std::to_string(hp->second),
                       tcp::resolver::numeric_service | tcp::resolver::passive, ec);
  if (ec || results.empty())
    return std::string("http.listen: cannot resolve the host: ") + ec.message();
  const tcp::endpoint at = results.begin()->endpoint();
  i->acceptor.open(at.protocol(), ec);
  if (!ec) i->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) i->acceptor.bind(at, ec);
  if (!ec) i->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return std::string("http.listen: cannot listen: ") + ec.message();
  const tcp::endpoint bound = i->acceptor.local_endpoint(ec);
  if (ec) return std::string("http.listen: ") + ec.message();
  i->port = bound.port();
  const std::string host = bound.address().to_string();
  i->address = bound.address().is_v6() ? "[" + host + "]" : host;
  i->address += ':' + std::to_string(i->port);
  i->accept();
  i->thread = std::thread([p = i.get()] { p->ioc.run(); });
  return std::unique_ptr<server>(new server(std::move(i)));
}

server::server(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

server::~server() {
  stop();
}

std::uint16_t server::port() const noexcept {
  return impl_->port;
}

std::string server::address() const {
  return impl_->address;
}

std::size_t server::open_connections() const noexcept {
  return impl_->open.load(std::memory_order_relaxed);
}

void server::stop() {
  if (impl_->stopped.exchange(true)) return;
  asio::post(impl_->ioc, [p = impl_.get()] {
    error_code ignored;
    p->acceptor.close(ignored);
  });
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  // The loop is gone (the posted close may not have run): close here, so the
  // port refuses connections from now on.
  error_code ignored;
  impl_->acceptor.close(ignored);
}

} // namespace bulwark::http
