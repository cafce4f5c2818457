#pragma once
// RequestObserver: what the server does with every answered request besides answering it —
// counts it in the Prometheus metrics (metrics/server_metrics.h) and, when the operator asked for
// one, writes a line of the structured request log: JSON with the request id the response and the
// audit record carry, so a log line, an audit record and a client's error report meet.
// The log never holds a secret (no header, query or body is written, only the names below).
// Thread-safe.

#include <memory>
#include <string>

#include "common/result.h"
#include "http/server.h"
#include "metrics/server_metrics.h"

namespace spdlog {
class logger;
}

namespace hangar::http {

class RequestObserver {
 public:
  // `request_log`: a file to append JSON lines to, "-" for standard error, or empty for none.
  // Errors: kInternal (the file cannot be opened).
  static Result<std::unique_ptr<RequestObserver>> Create(metrics::ServerMetrics& metrics,
                                                         const std::string& request_log);
  ~RequestObserver();

  // Whether log lines are written: the router fills the labels they need only then.
  bool logging() const { return log_ != nullptr; }
  void Observe(const HttpRequest& request, const CompletedExchange& exchange);
  // Writes what the log buffered (at shutdown).
  void Flush();

 private:
  RequestObserver(metrics::ServerMetrics& metrics, std::shared_ptr<spdlog::logger> log);
  metrics::ServerMetrics& metrics_;
  std::shared_ptr<spdlog::logger> log_;
};

// One request log line (JSON, no newline). Exposed for tests.
std::string RequestLogLine(const HttpRequest& request, const CompletedExchange& exchange);

}  // namespace hangar::http
