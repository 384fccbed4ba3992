#include "server/http_handler.h"

#include <gtest/gtest.h>

namespace amalgam::server {
namespace {

TEST(HttpHandlerTest, HealthIsOkJson) {
  MetricsRegistry metrics;
  HttpHandler handler(metrics);
  HttpReply r = handler.Handle("GET", "/health");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body, "{\"status\":\"ok\"}");
}

TEST(HttpHandlerTest, MetricsRendersRegistryAndCountsRequests) {
  MetricsRegistry metrics;
  HttpHandler handler(metrics);
  handler.Handle("GET", "/health");
  HttpReply r = handler.Handle("GET", "/metrics?name=x");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, MetricsRegistry::kContentType);
  EXPECT_NE(r.body.find("# TYPE amalgam_http_requests_total counter\n"), std::string::npos);
  EXPECT_NE(r.body.find("amalgam_http_requests_total{code=\"200\"} 1\n"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("amalgam_http_requests_total{code=\"404\"} 0\n"), std::string::npos);
}

TEST(HttpHandlerTest, UnknownPathIs404AndWrongMethodIs405) {
  MetricsRegistry metrics;
  HttpHandler handler(metrics);
  EXPECT_EQ(handler.Handle("GET", "/").status, 404);
  EXPECT_EQ(handler.Handle("GET", "/healthz").status, 404);
  EXPECT_EQ(handler.Handle("POST", "/nope").status, 404);
  HttpReply r = handler.Handle("POST", "/health");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "GET");
  EXPECT_EQ(handler.Handle("DELETE", "/metrics").status, 405);
  EXPECT_EQ(metrics.GetCounter("amalgam_http_requests_total", "", {{"code", "404"}}).value(), 3u);
  EXPECT_EQ(metrics.GetCounter("amalgam_http_requests_total", "", {{"code", "405"}}).value(), 2u);
}

}  // namespace
}  // namespace amalgam::server
