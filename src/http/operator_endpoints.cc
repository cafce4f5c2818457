#include "http/operator_endpoints.h"

#include <nlohmann/json.hpp>

namespace hangar::http {
namespace {

HttpResponse Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.Add("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

}  // namespace

RoutePlan OperatorEndpoints::Plan(const HttpRequest&) {
  RoutePlan plan;
  plan.max_buffered_body = 0;  // these endpoints take no body
  plan.run_inline = true;      // in-memory counters only
  return plan;
}

HttpResponse OperatorEndpoints::Handle(HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    return Json(405, R"({"error":"use GET"})");
  }
  if (request.path == "/metrics") {
    HttpResponse r;
    r.headers.Add("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    r.body = prometheus_metrics_();
    return r;
  }
  if (request.path == "/_hangar/metrics") return Json(200, json_metrics_());
  if (request.path == "/_hangar/health") return Json(200, R"({"status":"ok"})");
  return Json(404, R"({"error":"no such endpoint"})");
}

HttpResponse OperatorEndpoints::RenderError(const HttpRequest&, const Status& status) {
  const ErrorWire& wire = WireOf(status.code());
  return Json(wire.json_status,
              nlohmann::json{{"error", status.message()}}.dump(
                  -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace hangar::http
