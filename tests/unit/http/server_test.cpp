// The endpoint's routes as pure handlers (no sockets), then the socket loop on
// 127.0.0.1:0: a real exposition over TCP, the request bounds, slow clients,
// the connection cap.
#include "http/server.hpp"
#include "metrics/catalog.hpp"
#include "unit/http/test_server.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

namespace {

using bulwark::http::endpoints;
using bulwark::http::handle;
using bulwark::http::readiness;
using bulwark::http::response;
using bulwark::http::server;
using bulwark::http::server_options;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

endpoints fixed(std::string exposition, readiness rd) {
  endpoints e;
  e.metrics = [exposition](std::string& out) {
    out += exposition;
    return true;
  };
  e.ready = [rd] { return rd; };
  return e;
}

TEST(Handler, MetricsServesTheExpositionWithThePrometheusContentType) {
  const endpoints e = fixed("bulwark_x_total 3\n", {true, ""});
  const response r = handle("GET", "/metrics", e);
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r.body, "bulwark_x_total 3\n");
  // Prometheus adds no query, but a scraper with params must still be served.
  EXPECT_EQ(handle("GET", "/metrics?name[]=x", e).body, "bulwark_x_total 3\n");
  EXPECT_EQ(handle("HEAD", "/metrics", e).status, 200u);
}

TEST(Handler, HealthzIsOkWhateverTheReadiness) {
  const response r = handle("GET", "/healthz", fixed("", {false, "waiting"}));
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(r.body, "ok\n");
  EXPECT_EQ(r.content_type, "text/plain; charset=utf-8");
}

TEST(Handler, ReadyzAnswers200WhenReadyAnd503WithTheReasonWhenNot) {
  EXPECT_EQ(handle("GET", "/readyz", fixed("", {true, ""})).status, 200u);
  const response r = handle("GET", "/readyz", fixed("", {false, "consumer lag above 10000"}));
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.body, "not ready: consumer lag above 10000\n");
}

TEST(Handler, WithoutTheServiceYetMetricsAndReadyzAnswer503AndHealthz200) {
  const endpoints none;
  EXPECT_EQ(handle("GET", "/metrics", none).status, 503u);
  EXPECT_EQ(handle("GET", "/readyz", none).status, 503u);
  EXPECT_EQ(handle("GET", "/healthz", none).status, 200u);
  endpoints not_yet;
  not_yet.metrics = [](std::string&) { return false; };
  const response r = handle("GET", "/metrics", not_yet);
  EXPECT_EQ(r.status, 503u);
  EXPECT_EQ(r.body, "starting\n");
}

TEST(Handler, UnknownPathsAre404AndOtherMethods405WithAllow) {
  const endpoints e = fixed("x 1\n", {true, ""});
  for (const char* path : {"/index.html", "/metrics/", "/METRICS", "/healthz/x", "//metrics", ""})
    EXPECT_EQ(handle("GET", path, e).status, 404u) << path;
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "get", "TRACE"}) {
    const response r = handle(method, "/metrics", e);
    EXPECT_EQ(r.status, 405u) << method;
    EXPECT_EQ(r.allow, "GET, HEAD");
    EXPECT_TRUE(r.body.find("bulwark") == std::string::npos);
  }
}

TEST(Handler, NothingOfTheRequestIsEchoedIntoTheResponse) {
  const endpoints e = fixed("x 1\n", {false, "waiting for partition assignment"});
  const std::string hostile = "/<script>alert(1)</script>?q=AKIAIOSFODNN7EXAMPLE";
  for (const char* method : {"GET", "<img src=x onerror=alert(1)>"}) {
    const response r = handle(method, hostile, e);
    EXPECT_EQ(r.body.find("script"), std::string::npos);
    EXPECT_EQ(r.body.find("AKIA"), std::string::npos);
    EXPECT_EQ(r.body.find("onerror"), std::string::npos);
  }
  const response q = handle("GET", "/readyz?AKIAIOSFODNN7EXAMPLE", e);
  EXPECT_EQ(q.body.find("AKIA"), std::string::npos);
}

TEST(Handler, StatusPageRoutesServeTheShellScriptStylesheetAndJson) {
  endpoints e;
  const response page = handle("GET", "/", e);
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<script src=\"/status.js\" defer></script>"), std::string::npos);
  // No inline script or style, no handler attribute: the CSP forbids them.
  EXPECT_EQ(page.body.find("<script>"), std::string::npos);
  EXPECT_EQ(page.body.find("style="), std::string::npos);
  EXPECT_EQ(page.body.find(" on"), std::string::npos);
  const response js = handle("GET", "/status.js", e);
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  for (const char* banned :
       {"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", ".href", ".src"})
    EXPECT_EQ(js.body.find(banned), std::string::npos) << banned;
  EXPECT_EQ(handle("HEAD", "/status.css", e).content_type, "text/css; charset=utf-8");
  // Without the service: 503; then the callback's document.
  EXPECT_EQ(handle("GET", "/api/status", e).status, 503u);
  e.status = [](std::string& out) { return out += "{\"v\":1}", true; };
  const response st = handle("GET", "/api/status?x=1", e);
  EXPECT_EQ(st.status, 200u);
  EXPECT_EQ(st.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(st.body, "{\"v\":1}");
  e.status = [](std::string&) { return false; };
  EXPECT_EQ(handle("GET", "/api/status", e).body, "starting\n");
  const response post = handle("POST", "/", e);
  EXPECT_EQ(post.status, 405u);
  EXPECT_EQ(post.allow, "GET, HEAD");
}

TEST(Handler, ReloadIsPostOnlyLoopbackOnlyAndNotFromAWebPage) {
  int calls = 0;
  endpoints e;
  const bulwark::http::request_context local{.peer_is_loopback = true, .cross_origin = false};
  EXPECT_EQ(handle("POST", "/-/reload", e, local).status, 503u); // no callback yet
  e.reload = [&calls] {
    ++calls;
    response r;
    r.body = "reloaded\n";
    return r;
  };
  const response get = handle("GET", "/-/reload", e, local);
  EXPECT_EQ(get.status, 405u);
  EXPECT_EQ(get.allow, "POST");
  EXPECT_EQ(handle("POST", "/-/reload", e).status, 403u); // default context: not loopback
  EXPECT_EQ(handle("POST", "/-/reload", e, {.peer_is_loopback = false}).status, 403u);
  EXPECT_EQ(handle("POST", "/-/reload", e, {.peer_is_loopback = true, .cross_origin = true}).status,
            403u);
  EXPECT_EQ(calls, 0);
  const response ok = handle("POST", "/-/reload?now", e, local);
  EXPECT_EQ(ok.status, 200u);
  EXPECT_EQ(ok.body, "reloaded\n");
  EXPECT_EQ(calls, 1);
}

TEST(Handler, RefusalsHaveFixedTexts) {
  EXPECT_EQ(bulwark::http::refusal(431).status, 431u);
  EXPECT_EQ(bulwark::http::refusal(413).status, 413u);
  EXPECT_EQ(bulwark::http::refusal(400).status, 400u);
  EXPECT_EQ(bulwark::http::refusal(999).status, 400u);
}

// ---------------------------------------------------------------- sockets

struct raw_response {
  unsigned status = 0;
  std::string head;
  std::string body;
};

/// Sends `request` as is and reads until the server closes.
raw_response roundtrip(std::uint16_t port, const std::string& request) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  if (ec) return {};
  // A refused connection may fail the write or the read: both mean no answer.
  asio::write(s, asio::buffer(request), ec);
  std::string all;
  asio::read(s, asio::dynamic_buffer(all), ec);
  raw_response r;
  const std::size_t split = all.find("\r\n\r\n");
  if (all.size() < 12 || split == std::string::npos) return r;
  r.status = static_cast<unsigned>(std::stoul(all.substr(9, 3)));
  r.head = all.substr(0, split);
  r.body = all.substr(split + 4);
  return r;
}

raw_response get(std::uint16_t port, const std::string& path) {
  return roundtrip(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
}

std::unique_ptr<server> started(endpoints e, server_options o = {}) {
  o.listen = "127.0.0.1:0";
  auto s = server::start(std::move(o), std::move(e));
  if (auto* why = std::get_if<std::string>(&s)) {
    ADD_FAILURE() << *why;
    return nullptr;
  }
  return std::move(std::get<std::unique_ptr<server>>(s));
}

TEST(Server, ServesARealCatalogueExpositionOnAnEphemeralPort) {
  namespace m = bulwark::metrics;
  m::builder b;
  const m::catalog cat = m::declare_catalog(b, {.rules = {"aws-access-key"},
                                                .inputs = {{"telemetry", 2}},
                                                .models = {},
                                                .features = {},
                                                .key_ids = {},
                                                .version = "0.1.0"});
  auto made = m::registry::make(std::move(b));
  ASSERT_TRUE(std::holds_alternative<std::unique_ptr<m::registry>>(made));
  auto reg = std::move(std::get<std::unique_ptr<m::registry>>(made));
  {
    m::writer w = reg->make_writer();
    w.add(cat.records_received, {"reader"}, 7);
  }
  endpoints e;
  e.metrics = [&reg](std::string& out) {
    reg->render(out);
    return true;
  };
  auto srv = started(e);
  ASSERT_TRUE(srv);
  EXPECT_NE(srv->port(), 0);
  EXPECT_EQ(srv->address(), "127.0.0.1:" + std::to_string(srv->port()));

  const raw_response r = get(srv->port(), "/metrics");
  EXPECT_EQ(r.status, 200u);
  EXPECT_NE(r.head.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << r.head;
  EXPECT_NE(r.head.find("Connection: close"), std::string::npos);
  // Every line is a comment or `name{labels} value`, and the update is there.
  std::size_t samples = 0;
  for (std::size_t pos = 0; pos < r.body.size();) {
    const std::size_t nl = r.body.find('\n', pos);
    ASSERT_NE(nl, std::string::npos) << "unterminated last line";
    const std::string line = r.body.substr(pos, nl - pos);
    pos = nl + 1;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) continue;
    ASSERT_TRUE(line.starts_with("bulwark_")) << line;
    const std::size_t space = line.rfind(' ');
    ASSERT_NE(space, std::string::npos) << line;
    std::size_t used = 0;
    const std::string value = line.substr(space + 1);
    if (value != "+Inf" && value != "NaN") {
      (void)std::stod(value, &used);
      EXPECT_EQ(used, value.size()) << line;
    }
    ++samples;
  }
  EXPECT_EQ(samples, reg->series_count());
  EXPECT_NE(r.body.find("bulwark_records_received_total{stage=\"reader\"} 7\n"), std::string::npos);

  const raw_response h = roundtrip(srv->port(), "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.status, 200u);
  EXPECT_TRUE(h.body.empty());
  srv->stop();
  srv.reset(); // before the registry its callback reads
}

TEST(Server, StatusCodesOverTheWire) {
  auto srv = started(fixed("x 1\n", {false, "waiting for partition assignment"}));
  ASSERT_TRUE(srv);
  EXPECT_EQ(get(srv->port(), "/healthz").status, 200u);
  EXPECT_EQ(get(srv->port(), "/readyz").status, 503u);
  EXPECT_EQ(get(srv->port(), "/nope").status, 404u);
  const raw_response post =
      roundtrip(srv->port(), "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(post.status, 405u);
  EXPECT_NE(post.head.find("Allow: GET, HEAD"), std::string::npos);
  EXPECT_EQ(roundtrip(srv->port(), "NOT HTTP AT ALL\r\n\r\n").status, 400u);
}

TEST(Server, EveryResponseCarriesTheSecurityHeaders) {
  endpoints e = fixed("x 1\n", {true, ""});
  e.status = [](std::string& out) { return out += "{}", true; };
  auto srv = started(e);
  ASSERT_TRUE(srv);
  for (const char* path : {"/", "/status.js", "/status.css", "/api/status", "/metrics", "/nope"}) {
    const raw_response r = get(srv->port(), path);
    EXPECT_NE(r.status, 0u) << path;
    for (const std::string& h :
         {std::string("X-Content-Type-Options: nosniff"), std::string("Cache-Control: no-store"),
          "Content-Security-Policy: " + std::string(bulwark::http::content_security_policy),
          std::string("X-Frame-Options: DENY"), std::string("Referrer-Policy: no-referrer")})
      EXPECT_NE(r.head.find(h), std::string::npos) << path << ": " << h << "\n" << r.head;
  }
  EXPECT_NE(bulwark::http::content_security_policy.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(bulwark::http::content_security_policy.find("unsafe"), std::string::npos);
}

TEST(Server, ReloadOverTheWireFromLoopbackAndNotFromACrossOriginPage) {
  int calls = 0;
  endpoints e;
  e.reload = [&calls] {
    ++calls;
    return response{};
  };
  auto srv = started(e);
  ASSERT_TRUE(srv);
  EXPECT_EQ(roundtrip(srv->port(), "POST /-/reload HTTP/1.1\r\nHost: x\r\n\r\n").status, 200u);
  EXPECT_EQ(calls, 1);
  // A page of another site in a local browser: refused.
  EXPECT_EQ(roundtrip(srv->port(), "POST /-/reload HTTP/1.1\r\nHost: x\r\nOrigin: "
                                   "http://evil.example\r\n\r\n")
                .status,
            403u);
  EXPECT_EQ(roundtrip(srv->port(),
                      "POST /-/reload HTTP/1.1\r\nHost: x\r\nSec-Fetch-Site: cross-site\r\n\r\n")
                .status,
            403u);
  EXPECT_EQ(calls, 1);
  const raw_response g = get(srv->port(), "/-/reload");
  EXPECT_EQ(g.status, 405u);
  EXPECT_NE(g.head.find("Allow: POST"), std::string::npos);
}

TEST(Server, OversizedHeadersAre431AndBodiesAre413) {
  auto srv = started(fixed("x 1\n", {true, ""}));
  ASSERT_TRUE(srv);
  const std::string big(9 * 1024, 'a');
  EXPECT_EQ(roundtrip(srv->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n")
                .status,
            431u);
  EXPECT_EQ(
      roundtrip(srv->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello")
          .status,
      413u);
  EXPECT_EQ(roundtrip(srv->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
                                   "chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
                .status,
            413u);
  // A header just under the limit is fine.
  EXPECT_EQ(roundtrip(srv->port(), "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " +
                                       std::string(7000, 'a') + "\r\n\r\n")
                .status,
            200u);
}

TEST(Server, ASlowClientDoesNotBlockOthersAndIsClosedAtItsTimeout) {
  server_options o;
  o.timeout = 1500ms;
  auto srv = started(fixed("x 1\n", {true, ""}), o);
  ASSERT_TRUE(srv);
  // Half a request line, then nothing.
  asio::io_context ioc;
  tcp::socket slow(ioc);
  slow.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv->port()));
  asio::write(slow, asio::buffer(std::string("GET /met")));
  ASSERT_TRUE(http_test::eventually([&] { return srv->open_connections() == 1; }));
  for (int i = 0; i < 5; ++i)
    EXPECT_EQ(get(srv->port(), "/metrics").status, 200u);
  // The server gives up on it: the read sees the close.
  std::string rest;
  boost::system::error_code ec;
  asio::read(slow, asio::dynamic_buffer(rest), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
  EXPECT_TRUE(http_test::eventually([&] { return srv->open_connections() == 0; }));
}

TEST(Server, ConnectionsOverTheCapAreClosedAndServiceResumesBelowIt) {
  server_options o;
  o.max_connections = 2;
  auto srv = started(fixed("x 1\n", {true, ""}), o);
  ASSERT_TRUE(srv);
  asio::io_context ioc;
  std::vector<tcp::socket> held;
  for (int i = 0; i < 2; ++i) {
    held.emplace_back(ioc);
    held.back().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), srv->port()));
  }
  ASSERT_TRUE(http_test::eventually([&] { return srv->open_connections() == 2; }));
  EXPECT_EQ(get(srv->port(), "/healthz").status, 0u); // closed unanswered
  held.clear();
  ASSERT_TRUE(http_test::eventually([&] { return srv->open_connections() == 0; }));
  EXPECT_EQ(get(srv->port(), "/healthz").status, 200u);
}

TEST(Server, BadListenAddressesAndBusyPortsAreRefusedNamingTheKey) {
  for (const char* bad : {"127.0.0.1", "127.0.0.1:99999", ":80", "::1:80", "127.0.0.1:x"}) {
    server_options o;
    o.listen = bad;
    auto s = server::start(o, {});
    ASSERT_TRUE(std::holds_alternative<std::string>(s)) << bad;
    EXPECT_TRUE(std::get<std::string>(s).starts_with("http.listen: ")) << bad;
  }
  auto first = started(fixed("x 1\n", {true, ""}));
  ASSERT_TRUE(first);
  server_options o;
  o.listen = "127.0.0.1:" + std::to_string(first->port());
  auto second = server::start(o, {});
  ASSERT_TRUE(std::holds_alternative<std::string>(second));
  EXPECT_TRUE(std::get<std::string>(second).starts_with("http.listen: cannot listen"))
      << std::get<std::string>(second);
}

TEST(Server, StopClosesTheListenerAndIsIdempotent) {
  auto srv = started(fixed("x 1\n", {true, ""}));
  ASSERT_TRUE(srv);
  const std::uint16_t port = srv->port();
  EXPECT_EQ(get(port, "/healthz").status, 200u);
  srv->stop();
  srv->stop();
  asio::io_context ioc;
  tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), ec);
  EXPECT_TRUE(ec) << "still accepting after stop()";
}

} // namespace
