#pragma once
// A tiny HTTP/1.1 server on 127.0.0.1 for the client and forwarder tests: it
// records every request and answers with the status it is told, or holds the
// connection open without answering ("hang") until it is released or stopped.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace http_test {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct received {
  std::string method;
  std::string target;
  std::string host;
  std::string content_type;
  std::string body;
};

class test_server {
public:
  /// 0 = hang: read the request, never answer.
  explicit test_server(unsigned status = 200)
      : status_(status), acceptor_(ioc_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  /// Held connections close with the sockets, when the members go.
  ~test_server() {
    ioc_.stop();
    thread_.join();
  }
  test_server(const test_server&) = delete;
  test_server& operator=(const test_server&) = delete;

  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }

  /// The status of the next answers; 0 = hang.
  void answer(unsigned status) {
    std::lock_guard lock(mu_);
    status_ = status;
  }
  /// Adds `extra` bytes of body to each answer (a response larger than the
  /// client reads).
  void pad_answers(std::size_t extra) {
    std::lock_guard lock(mu_);
    pad_ = extra;
  }
  /// Closes every held ("hung") connection.
  void release() {
    asio::post(ioc_, [this] {
      boost::system::error_code ec;
      for (auto& s : held_)
        s->close(ec);
      held_.clear();
    });
  }

  std::vector<received> requests() const {
    std::lock_guard lock(mu_);
    return got_;
  }
  std::size_t count() const {
    std::lock_guard lock(mu_);
    return got_.size();
  }
  /// Waits until `n` requests have arrived; false after `limit` (a test then
  /// fails instead of hanging).
  bool wait_for(std::size_t n, std::chrono::seconds limit = std::chrono::seconds(30)) const {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, limit, [&] { return got_.size() >= n; });
  }

private:
  struct connection {
    explicit connection(asio::io_context& ioc) : socket(ioc) {}
    tcp::socket socket;
    boost::beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> req;
    bhttp::response<bhttp::string_body> res;
  };

  void accept() {
    auto c = std::make_shared<connection>(ioc_);
    acceptor_.async_accept(c->socket, [this, c](const boost::system::error_code& ec) {
      if (ec) return;
      read(c);
      accept();
    });
  }

  void read(const std::shared_ptr<connection>& c) {
    bhttp::async_read(
        c->socket, c->buffer, c->req, [this, c](const boost::system::error_code& ec, std::size_t) {
          if (ec) return;
          unsigned status = 0;
          std::size_t pad = 0;
          {
            std::lock_guard lock(mu_);
            got_.push_back({std::string(c->req.method_string()), std::string(c->req.target()),
                            std::string(c->req[bhttp::field::host]),
                            std::string(c->req[bhttp::field::content_type]), c->req.body()});
            status = status_;
            pad = pad_;
          }
          cv_.notify_all();
          if (status == 0) {
            held_.push_back(std::shared_ptr<tcp::socket>(c, &c->socket));
            return;
          }
          c->res.result(status);
          c->res.version(11);
          c->res.set(bhttp::field::content_type, "application/json");
          if (status != 204 && status != 304 && status >= 200)
            c->res.body() = R"({"answer":"test"})" + std::string(pad, ' ');
          c->res.keep_alive(false);
          c->res.prepare_payload();
          bhttp::async_write(c->socket, c->res, [c](const boost::system::error_code&, std::size_t) {
            boost::system::error_code ignored;
            c->socket.shutdown(tcp::socket::shutdown_both, ignored);
            c->socket.close(ignored);
          });
        });
  }

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  unsigned status_;
  std::size_t pad_ = 0;
  std::vector<received> got_;
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<tcp::socket>> held_; ///< only touched on the io thread
  std::thread thread_;
};

/// A port on 127.0.0.1 where nothing listens (bound, then closed).
inline std::uint16_t closed_port() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const std::uint16_t port = a.local_endpoint().port();
  a.close();
  return port;
}

/// Polls `done` until it holds; false after `limit`.
inline bool eventually(const std::function<bool()>& done,
                       std::chrono::seconds limit = std::chrono::seconds(30)) {
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

} // namespace http_test
