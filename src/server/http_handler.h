#pragma once
// HttpHandler: routes one HTTP request of the health/metrics port to its reply. Knows nothing of
// sockets or Beast (http_listener.cc does the I/O), so it is tested directly.
//
//   GET /health   200 {"status":"ok"}                (application/json)
//   GET /metrics  200 the registry in Prometheus text format
//   other paths   404;  known path, other method: 405 with "Allow: GET"
//
// A query string ("/metrics?x=1") is ignored for routing.
//
// Threading: Handle() may be called from any number of threads at once.
// Ownership: borrows the MetricsRegistry, which must outlive the handler.

#include <string>
#include <string_view>

#include "server/metrics.h"

namespace amalgam::server {

struct HttpReply {
  int status = 200;
  std::string content_type;
  std::string body;
  std::string allow;  // the Allow header for 405 replies; empty otherwise
};

class HttpHandler {
 public:
  explicit HttpHandler(MetricsRegistry& metrics);

  // Never fails: every request gets a reply. Counts the reply's status code in
  // amalgam_http_requests_total{code="..."}.
  HttpReply Handle(std::string_view method, std::string_view target);

 private:
  HttpReply Route(std::string_view method, std::string_view target);

  MetricsRegistry& metrics_;
};

}  // namespace amalgam::server
