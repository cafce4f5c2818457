#include "http/request_observer.h"

#include <chrono>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "common/json_writer.h"
#include "common/strings.h"

namespace hangar::http {

Result<std::unique_ptr<RequestObserver>> RequestObserver::Create(metrics::ServerMetrics& metrics,
                                                                 const std::string& request_log) {
  std::shared_ptr<spdlog::logger> log;
  try {
    if (request_log == "-") {
      log = std::make_shared<spdlog::logger>(
          "requests", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    } else if (!request_log.empty()) {
      log = std::make_shared<spdlog::logger>(
          "requests", std::make_shared<spdlog::sinks::basic_file_sink_mt>(request_log));
    }
  } catch (const spdlog::spdlog_ex& e) {
    return InternalError("cannot open the request log " + request_log + ": " + e.what());
  }
  if (log) {
    log->set_pattern("%v");  // the line is the JSON object itself
    log->set_level(spdlog::level::info);
    // Lines reach the file within a second (spdlog's periodic flush of registered loggers)
    // rather than one write per request.
    spdlog::drop(log->name());
    spdlog::register_logger(log);
    spdlog::flush_every(std::chrono::seconds(1));
  }
  return std::unique_ptr<RequestObserver>(new RequestObserver(metrics, std::move(log)));
}

RequestObserver::RequestObserver(metrics::ServerMetrics& metrics,
                                 std::shared_ptr<spdlog::logger> log)
    : metrics_(metrics), log_(std::move(log)) {}

RequestObserver::~RequestObserver() {
  Flush();
  if (log_) spdlog::drop(log_->name());
}

void RequestObserver::Flush() {
  if (log_) log_->flush();
}

void RequestObserver::Observe(const HttpRequest& request, const CompletedExchange& exchange) {
  const ExchangeLabels& labels = exchange.labels;
  const std::string_view service = labels.service.empty() ? "none" : labels.service;
  metrics_.RecordRequest(metrics::RequestSample{service, labels.operation, exchange.status,
                                                exchange.seconds, exchange.bytes_in,
                                                exchange.bytes_out});
  if (service == "kms" && !labels.operation.empty()) {
    metrics_.RecordKmsCall(labels.operation, metrics::KmsCaller::kDirect);
  }
  if (log_) log_->info(RequestLogLine(request, exchange));
}

std::string RequestLogLine(const HttpRequest& request, const CompletedExchange& exchange) {
  const ExchangeLabels& labels = exchange.labels;
  std::string line;
  line.reserve(384);
  JsonObjectWriter w(line);
  w.String("time", FormatIso8601(std::chrono::system_clock::now(), /*with_millis=*/true));
  w.String("requestId", labels.request_id);
  w.String("service", labels.service);
  w.String("operation", labels.operation);
  w.String("method", request.method);
  w.Number("status", static_cast<uint64_t>(exchange.status));
  if (!labels.error_code.empty()) w.String("errorCode", labels.error_code);
  w.Double("durationMs", exchange.seconds * 1000);
  w.Number("bytesIn", exchange.bytes_in);
  w.Number("bytesOut", exchange.bytes_out);
  w.String("sourceIp", request.remote_address);
  if (!labels.principal_arn.empty()) w.String("principal", labels.principal_arn);
  if (!exchange.sent) w.Bool("sent", false);
  w.Finish();
  return line;
}

}  // namespace hangar::http
