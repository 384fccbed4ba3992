#include "server/http_handler.h"

namespace amalgam::server {
namespace {

constexpr std::string_view kRequestsName = "amalgam_http_requests_total";
constexpr std::string_view kRequestsHelp = "HTTP requests answered on the health/metrics port.";
constexpr std::string_view kJson = "application/json";

HttpReply JsonReply(int status, std::string body) {
  return HttpReply{status, std::string(kJson), std::move(body), ""};
}

}  // namespace

HttpHandler::HttpHandler(MetricsRegistry& metrics) : metrics_(metrics) {
  // Create the usual series up front, so a scrape shows them (at 0) before the first request.
  for (const char* code : {"200", "404", "405"}) {
    metrics_.GetCounter(kRequestsName, kRequestsHelp, {{"code", code}});
  }
}

HttpReply HttpHandler::Handle(std::string_view method, std::string_view target) {
  HttpReply reply = Route(method, target);
  metrics_.GetCounter(kRequestsName, kRequestsHelp, {{"code", std::to_string(reply.status)}})
      .Increment();
  return reply;
}

HttpReply HttpHandler::Route(std::string_view method, std::string_view target) {
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/health" && path != "/metrics") {
    return JsonReply(404, "{\"error\":\"not found\"}");
  }
  if (method != "GET") {
    HttpReply reply = JsonReply(405, "{\"error\":\"method not allowed\"}");
    reply.allow = "GET";
    return reply;
  }
  if (path == "/health") return JsonReply(200, "{\"status\":\"ok\"}");
  return HttpReply{200, std::string(MetricsRegistry::kContentType), metrics_.RenderPrometheus(),
                   ""};
}

}  // namespace amalgam::server
