// URL parsing, the status → outcome mapping, and the client against a local
// server on 127.0.0.1 (answers, refused connections, hangs, cancellation).
#include "http/client.hpp"
#include "unit/http/test_server.hpp"

#include <future>
#include <gtest/gtest.h>

namespace {

using bulwark::alert::post_outcome;
using bulwark::http::client;
using bulwark::http::client_options;
using bulwark::http::endpoint;
using bulwark::http::outcome_of;
using bulwark::http::outcome_of_status;
using bulwark::http::parse_url;
using bulwark::http::post_result;
using namespace std::chrono_literals;

endpoint parsed(std::string_view url) {
  auto r = parse_url(url, "alerts.alertmanager");
  if (auto* e = std::get_if<std::string>(&r)) ADD_FAILURE() << url << ": " << *e;
  return std::get_if<endpoint>(&r) ? std::get<endpoint>(r) : endpoint{};
}

std::string refused(std::string_view url) {
  auto r = parse_url(url, "alerts.alertmanager");
  if (std::holds_alternative<endpoint>(r)) {
    ADD_FAILURE() << url << " was accepted";
    return "";
  }
  return std::get<std::string>(r);
}

TEST(Url, HostPortAndPrefixAreSplitAndTheTargetFollowsThePrefix) {
  const endpoint ep = parsed("http://127.0.0.1:9093/am/");
  EXPECT_EQ(ep.host, "127.0.0.1");
  EXPECT_EQ(ep.port, 9093);
  EXPECT_EQ(ep.prefix, "/am");
  EXPECT_EQ(ep.target("/api/v2/alerts"), "/am/api/v2/alerts");
  EXPECT_EQ(ep.host_header(), "127.0.0.1:9093");

  const endpoint plain = parsed("http://alertmanager.monitoring.svc:9093");
  EXPECT_EQ(plain.host, "alertmanager.monitoring.svc");
  EXPECT_EQ(plain.prefix, "");
  EXPECT_EQ(plain.target("/api/v2/alerts"), "/api/v2/alerts");
}

TEST(Url, ThePortDefaultsTo80AndIpv6AddressesAreBracketed) {
  EXPECT_EQ(parsed("http://am").port, 80);
  EXPECT_EQ(parsed("http://am/").prefix, "");
  const endpoint v6 = parsed("http://[::1]:9093");
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 9093);
  EXPECT_EQ(v6.host_header(), "[::1]:9093");
}

TEST(Url, HttpsIsRefusedNamingTheKeyAndThatOnlyPlainHttpIsSupported) {
  const std::string why = refused("https://am.example.com:9093");
  EXPECT_EQ(why.rfind("alerts.alertmanager: ", 0), 0U) << why;
  EXPECT_NE(why.find("https is not supported"), std::string::npos) << why;
  EXPECT_NE(why.find("plain http"), std::string::npos) << why;
}

TEST(Url, OtherSchemesAndMalformedUrlsAreRefusedWithAReason) {
  for (const char* url :
       {"ftp://am:21", "127.0.0.1:9093", "", "http://", "http://:9093", "http://am:", "http://am:0",
        "http://am:65536", "http://am:90x3", "http://am:9093/a b", "http://am:9093?x=1",
        "http://am:9093/#frag", "http://[::1", "http://[zz]:80", "http://am!x:80",
        "http://am:9093/\x01"}) {
    const std::string why = refused(url);
    EXPECT_EQ(why.rfind("alerts.alertmanager: ", 0), 0U) << url << " → " << why;
    EXPECT_GT(why.size(), std::string_view("alerts.alertmanager: ").size()) << url;
  }
}

TEST(Url, UserInfoIsRefusedAndTheErrorNeverRepeatsThePassword) {
  const std::string why = refused("http://admin:s3cr3t-pw@am:9093");
  EXPECT_NE(why.find("user info"), std::string::npos) << why;
  EXPECT_EQ(why.find("s3cr3t-pw"), std::string::npos) << why;
  EXPECT_EQ(refused("https://admin:s3cr3t-pw@am").find("s3cr3t-pw"), std::string::npos);
}

TEST(Outcome, TwoHundredsAreDeliveredServerErrorsAnd429AreRetriedOther4xxAreRejected) {
  for (const unsigned s : {200U, 202U, 204U})
    EXPECT_EQ(outcome_of_status(s), post_outcome::delivered) << s;
  for (const unsigned s : {500U, 502U, 503U, 504U, 429U, 301U, 307U, 100U})
    EXPECT_EQ(outcome_of_status(s), post_outcome::failed) << s;
  for (const unsigned s : {400U, 401U, 403U, 404U, 413U, 422U})
    EXPECT_EQ(outcome_of_status(s), post_outcome::rejected) << s;
}

TEST(Outcome, EveryTransportFailureIsRetriedWhateverTheStatusField) {
  for (const auto f :
       {post_result::failure::resolve, post_result::failure::connect, post_result::failure::io,
        post_result::failure::timeout, post_result::failure::cancelled})
    EXPECT_EQ(outcome_of(post_result{f, 400, "x"}), post_outcome::failed);
  EXPECT_EQ(outcome_of(post_result{post_result::failure::none, 200, ""}), post_outcome::delivered);
  EXPECT_EQ(outcome_of(post_result{post_result::failure::none, 400, ""}), post_outcome::rejected);
}

endpoint local(std::uint16_t port, std::string prefix = "") {
  endpoint ep;
  ep.host = "127.0.0.1";
  ep.port = port;
  ep.prefix = std::move(prefix);
  return ep;
}

TEST(Client, PostsTheBodyAsJsonToTheTargetAndReportsTheStatus) {
  http_test::test_server server(200);
  client c;
  const post_result r = c.post(local(server.port(), "/am"), "/am/api/v2/alerts", R"([{"a":1}])");
  EXPECT_EQ(r.error, post_result::failure::none) << r.reason;
  EXPECT_EQ(r.status, 200U);
  const auto got = server.requests();
  ASSERT_EQ(got.size(), 1U);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].target, "/am/api/v2/alerts");
  EXPECT_EQ(got[0].host, "127.0.0.1:" + std::to_string(server.port()));
  EXPECT_EQ(got[0].content_type, "application/json");
  EXPECT_EQ(got[0].body, R"([{"a":1}])");
}

TEST(Client, ErrorStatusesAreReportedAsResponsesNotTransportFailures) {
  http_test::test_server server(500);
  client c;
  post_result r = c.post(local(server.port()), "/", "[]");
  EXPECT_EQ(r.error, post_result::failure::none);
  EXPECT_EQ(r.status, 500U);
  server.answer(400);
  r = c.post(local(server.port()), "/", "[]");
  EXPECT_EQ(r.status, 400U);
}

TEST(Client, AResponseLargerThanTheLimitStillCountsByItsStatus) {
  http_test::test_server server(200);
  server.pad_answers(256 * 1024);
  client_options o;
  o.max_response_bytes = 1024;
  client c(o);
  const post_result r = c.post(local(server.port()), "/", "[]");
  EXPECT_EQ(r.error, post_result::failure::none) << r.reason;
  EXPECT_EQ(r.status, 200U);
}

TEST(Client, AClosedPortIsAConnectFailure) {
  client c;
  const post_result r = c.post(local(http_test::closed_port()), "/", "[]");
  EXPECT_EQ(r.error, post_result::failure::connect);
  EXPECT_EQ(r.status, 0U);
  EXPECT_FALSE(r.reason.empty());
  EXPECT_EQ(outcome_of(r), post_outcome::failed);
}

TEST(Client, AServerThatNeverAnswersIsATimeout) {
  http_test::test_server server(0);
  client_options o;
  o.request_timeout = 200ms;
  client c(o);
  const post_result r = c.post(local(server.port()), "/", "[]");
  EXPECT_EQ(r.error, post_result::failure::timeout) << r.reason;
  EXPECT_EQ(server.count(), 1U) << "the request was sent, the answer never came";
}

TEST(Client, CancelEndsARequestInFlight) {
  http_test::test_server server(0);
  client_options o;
  o.request_timeout = std::chrono::hours(1); // only cancel() can end it
  client c(o);
  std::promise<post_result> done;
  c.async_post(local(server.port()), "/", "[]", [&](post_result r) { done.set_value(r); });
  ASSERT_TRUE(server.wait_for(1));
  c.cancel();
  const post_result r = done.get_future().get();
  EXPECT_EQ(r.error, post_result::failure::cancelled);
  // The client still works afterwards.
  server.answer(204);
  server.release();
  EXPECT_EQ(c.post(local(server.port()), "/", "[]").status, 204U);
}

TEST(Client, DestroyingTheClientCompletesWhatIsInFlight) {
  http_test::test_server server(0);
  std::promise<post_result> done;
  {
    client_options o;
    o.request_timeout = std::chrono::hours(1);
    client c(o);
    c.async_post(local(server.port()), "/", "[]", [&](post_result r) { done.set_value(r); });
    ASSERT_TRUE(server.wait_for(1));
  }
  EXPECT_EQ(done.get_future().get().error, post_result::failure::cancelled);
}

} // namespace
