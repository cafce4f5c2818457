#pragma once
// OperatorEndpoints: the RequestHandler of the operator listener (--admin-listen, loopback by
// default): GET /metrics (Prometheus text format, for a Prometheus scrape), GET /_hangar/metrics
// (KMS call counters as JSON) and GET /_hangar/health. They are kept off the public listener
// because metrics describe every account's activity; whoever can reach this listener is an
// operator.
// Thread-safe: holds no per-request state.

#include <functional>
#include <string>

#include "http/server.h"

namespace hangar::http {

// Metrics as text: counters as a JSON object (KMS calls per operation, ...), or every metric in
// Prometheus' text format. Never secrets.
using MetricsFn = std::function<std::string()>;

class OperatorEndpoints final : public RequestHandler {
 public:
  OperatorEndpoints(MetricsFn json_metrics, MetricsFn prometheus_metrics)
      : json_metrics_(std::move(json_metrics)),
        prometheus_metrics_(std::move(prometheus_metrics)) {}

  RoutePlan Plan(const HttpRequest& request) override;
  HttpResponse Handle(HttpRequest& request) override;
  HttpResponse RenderError(const HttpRequest& request, const Status& status) override;

 private:
  MetricsFn json_metrics_;
  MetricsFn prometheus_metrics_;
};

}  // namespace hangar::http
