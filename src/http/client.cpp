#include "http/client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <future>
#include <thread>
#include <unordered_set>

namespace bulwark::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

std::string refuse(std::string_view key, std::string_view why) {
  std::string s(key);
  s += ": ";
  s += why;
  return s;
}

/// RFC 3986 unreserved, sub-delims, ':', '@', '%' (pct-encoding) and '/'.
bool path_char(char c) noexcept {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()*+,;=:@%/").find(c) != std::string_view::npos;
}

/// A host name or an IPv4 address; '_' as container and service names use it.
bool host_name(std::string_view h) noexcept {
  if (h.empty() || h.size() > 253) return false;
  for (const char c : h)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '.' || c == '_'))
      return false;
  return h.front() != '.' && h.front() != '-';
}

} // namespace

std::string endpoint::host_header() const {
  const bool v6 = host.find(':') != std::string::npos;
  std::string h = v6 ? "[" + host + "]" : host;
  h += ':';
  h += std::to_string(port);
  return h;
}

std::string endpoint::target(std::string_view path) const {
  std::string t = prefix;
  t += path;
  return t;
}

std::variant<endpoint, std::string> parse_url(std::string_view url, std::string_view key) {
  constexpr std::string_view scheme = "http://";
  if (url.starts_with("https://") || url.starts_with("HTTPS://"))
    return refuse(key, "https is not supported: bulwark posts plain http (put a TLS-terminating "
                       "proxy in front of a remote Alertmanager)");
  if (!url.starts_with(scheme) && !url.starts_with("HTTP://"))
    return refuse(key, "must be an http:// URL (http://host:port[/prefix])");
  std::string_view rest = url.substr(scheme.size());
  if (rest.find_first_of("?#") != std::string_view::npos)
    return refuse(key, "a query or fragment is not allowed: give http://host:port[/prefix]");
  const std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos)
    return refuse(key, "user info (user:password@) in the URL is not supported");

  endpoint ep;
  std::string_view port_text;
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    if (close == std::string_view::npos) return refuse(key, "unterminated IPv6 address");
    ep.host = std::string(authority.substr(1, close - 1));
    error_code ec;
    const auto addr = asio::ip::make_address_v6(ep.host, ec);
    if (ec || ep.host.empty()) return refuse(key, "not a valid IPv6 address between [ ]");
    (void)addr;
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return refuse(key, "unexpected text after the IPv6 address");
      port_text = after.substr(1);
      if (port_text.empty()) return refuse(key, "empty port");
    }
  } else {
    const std::size_t colon = authority.rfind(':');
    ep.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return refuse(key, "empty port");
    }
    if (ep.host.empty()) return refuse(key, "the URL has no host");
    if (!host_name(ep.host))
      return refuse(key, "the host must be a name, an IPv4 address or an [IPv6] address");
  }
  if (!port_text.empty()) {
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc{} || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
      return refuse(key, "the port must be a number from 1 to 65535");
    ep.port = static_cast<std::uint16_t>(port);
  }
  for (const char c : path)
    if (!path_char(c))
      return refuse(key, "the path holds a character that is not allowed in a URL");
  while (path.ends_with('/'))
    path.remove_suffix(1);
  ep.prefix = std::string(path);
  return ep;
}

std::string_view to_string(post_result::failure f) noexcept {
  switch (f) {
  case post_result::failure::none:
    return "none";
  case post_result::failure::resolve:
    return "resolve";
  case post_result::failure::connect:
    return "connect";
  case post_result::failure::io:
    return "io";
  case post_result::failure::timeout:
    return "timeout";
  case post_result::failure::cancelled:
    return "cancelled";
  }
  return "unknown";
}

alert::post_outcome outcome_of_status(unsigned status) noexcept {
  if (status >= 200 && status < 300) return alert::post_outcome::delivered;
  if (status >= 400 && status < 500 && status != 429) return alert::post_outcome::rejected;
  return alert::post_outcome::failed;
}

alert::post_outcome outcome_of(const post_result& r) noexcept {
  if (r.error != post_result::failure::none) return alert::post_outcome::failed;
  return outcome_of_status(r.status);
}

// One request: resolve → connect → write → read, all on the io thread, with a
// single timer that ends whichever step is pending when its phase's time is up.
class session : public std::enable_shared_from_this<session> {
public:
  session(asio::io_context& ioc, const client_options& o, std::unordered_set<session*>& live,
          client::callback done)
      : opts_(o), live_(live), resolver_(ioc), socket_(ioc), timer_(ioc), done_(std::move(done)) {
    parser_.body_limit(opts_.max_response_bytes);
  }

  void start(const endpoint& ep, std::string target, std::string body) {
    live_.insert(this);
    req_.method(bhttp::verb::post);
    req_.target(target);
    req_.version(11);
    req_.set(bhttp::field::host, ep.host_header());
    req_.set(bhttp::field::user_agent, opts_.user_agent);
    req_.set(bhttp::field::content_type, "application/json");
    req_.keep_alive(false);
    req_.body() = std::move(body);
    req_.prepare_payload();
    arm(opts_.connect_timeout, "connect");
    resolver_.async_resolve(
        ep.host, std::to_string(ep.port), tcp::resolver::numeric_service,
        [self = shared_from_this()](const error_code& ec, const tcp::resolver::results_type& r) {
          self->on_resolve(ec, r);
        });
  }

  void cancel() { finish(post_result::failure::cancelled, 0, "cancelled"); }

private:
  void arm(std::chrono::milliseconds after, std::string_view phase) {
    timer_.expires_after(after);
    timer_.async_wait([self = shared_from_this(), phase, ms = after.count()](const error_code& ec) {
      if (ec) return; // re-armed or finished
      self->finish(post_result::failure::timeout, 0,
                   std::string(phase) + ": no progress within " + std::to_string(ms) + " ms");
    });
  }

  void on_resolve(const error_code& ec, const tcp::resolver::results_type& results) {
    if (done()) return;
    if (ec) return finish(post_result::failure::resolve, 0, ec.message());
    asio::async_connect(socket_, results,
                        [self = shared_from_this()](const error_code& e, const tcp::endpoint&) {
                          self->on_connect(e);
                        });
  }

  void on_connect(const error_code& ec) {
    if (done()) return;
    if (ec) return finish(post_result::failure::connect, 0, ec.message());
    arm(opts_.request_timeout, "request");
    bhttp::async_write(
        socket_, req_,
        [self = shared_from_this()](const error_code& e, std::size_t) { self->on_write(e); });
  }

  void on_write(const error_code& ec) {
    if (done()) return;
    // Even after a failed write, read: a server may answer (e.g. 413) and
    // close before taking the whole body; the read reports the failure.
    bhttp::async_read(socket_, buffer_, parser_,
                      [self = shared_from_this(), write_ec = ec](const error_code& e, std::size_t) {
                        self->on_read(e, write_ec);
                      });
  }

  void on_read(const error_code& ec, const error_code& write_ec) {
    if (done()) return;
    // Once the status line is in, the server has decided; a body that is too
    // large or cut short does not change that.
    if (parser_.is_header_done())
      return finish(post_result::failure::none, parser_.get().result_int(), "");
    const error_code& first = write_ec ? write_ec : ec;
    finish(post_result::failure::io, 0,
           ec == bhttp::error::end_of_stream ? "the connection closed before a response"
                                             : first.message());
  }

  bool done() const noexcept { return !done_; }

  void finish(post_result::failure f, unsigned status, std::string reason) {
    if (done()) return;
    error_code ignored;
    timer_.cancel();
    resolver_.cancel();
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
    live_.erase(this);
    client::callback cb = std::move(done_);
    done_ = nullptr;
    cb(post_result{f, status, std::move(reason)});
  }

  const client_options& opts_;
  std::unordered_set<session*>& live_;
  tcp::resolver resolver_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  bhttp::request<bhttp::string_body> req_;
  bhttp::response_parser<bhttp::string_body> parser_;
  beast::flat_buffer buffer_;
  client::callback done_;
};

struct client::impl {
  client_options opts;
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(ioc);
  std::unordered_set<session*> live; ///< only touched on the io thread
  std::thread thread;

  void cancel_all() {
    // finish() erases from `live`: iterate over a copy, keeping each alive.
    std::vector<std::shared_ptr<session>> sessions;
    sessions.reserve(live.size());
    for (session* s : live)
      sessions.push_back(s->shared_from_this());
    for (const auto& s : sessions)
      s->cancel();
  }
};

client::client(client_options o) : impl_(std::make_unique<impl>()) {
  impl_->opts = std::move(o);
  impl_->thread = std::thread([i = impl_.get()] { i->ioc.run(); });
}

client::~client() {
  asio::post(impl_->ioc, [i = impl_.get()] { i->cancel_all(); });
  impl_->work.reset();
  impl_->thread.join();
}

void client::async_post(const endpoint& ep, std::string target, std::string body, callback done) {
  asio::post(impl_->ioc, [i = impl_.get(), ep, target = std::move(target), body = std::move(body),
                          done = std::move(done)]() mutable {
    auto s = std::make_shared<session>(i->ioc, i->opts, i->live, std::move(done));
    s->start(ep, std::move(target), std::move(body));
  });
}

post_result client::post(const endpoint& ep, std::string target, std::string body) {
  std::promise<post_result> result;
  auto got = result.get_future();
  async_post(ep, std::move(target), std::move(body),
             [&result](post_result r) { result.set_value(std::move(r)); });
  return got.get();
}

void client::cancel() {
  asio::post(impl_->ioc, [i = impl_.get()] { i->cancel_all(); });
}

} // namespace bulwark::http
