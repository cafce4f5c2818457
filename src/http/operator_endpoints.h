#pragma once
// OperatorEndpoints: the RequestHandler of the operator listener (--admin-listen, loopback by
// default): GET /_hangar/metrics (counters as JSON) and GET /_hangar/health. They are kept off the
// public listener because metrics describe every account's activity; whoever can reach this
// listener is an operator.
// Thread-safe: holds no per-request state.

#include <functional>
#include <string>

#include "http/server.h"

namespace hangar::http {

// Counters as a JSON object (KMS calls per operation, ...). Never secrets.
using MetricsFn = std::function<std::string()>;

class OperatorEndpoints final : public RequestHandler {
 public:
  explicit OperatorEndpoints(MetricsFn metrics) : metrics_(std::move(metrics)) {}

  RoutePlan Plan(const HttpRequest& request) override;
  HttpResponse Handle(HttpRequest& request) override;
  HttpResponse RenderError(const HttpRequest& request, const Status& status) override;

 private:
  MetricsFn metrics_;
};

}  // namespace hangar::http
