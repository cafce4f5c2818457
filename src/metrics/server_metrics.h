#pragma once
// ServerMetrics: what the operator's Prometheus scrapes (GET /metrics on the operator listener),
// in Prometheus' text format, through prometheus-cpp. Knows nothing of the services: they hand it
// label values (service, operation, status) and figures; values read at scrape time (open
// connections, the audit queue) are registered as callbacks. Never holds a secret: labels are
// operation names and status codes, never keys, principals or object names. Operation names
// arrive from clients (X-Amz-Target, a query's Action): odd ones, and any beyond 2,000 label sets,
// are counted as "other", so no client can grow the scrape without bound.
// Thread-safe. After a label set's first use its series is cached: recording costs a shared lock,
// a hash lookup and atomic adds.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace hangar::metrics {

// One answered request, as the server saw it: from its header's arrival to its last byte sent
// (the wait for its audit record included).
struct RequestSample {
  std::string_view service;    // "kms", "s3", "iam", "sts", "cloudtrail", "securityhub", ...
  std::string_view operation;  // the API operation, e.g. "GenerateDataKey", "GetObject"
  int status = 0;              // HTTP status sent
  double seconds = 0;
  uint64_t bytes_in = 0;   // request body
  uint64_t bytes_out = 0;  // response body
};

// Who made a KMS call: a client directly, or S3 on a client's behalf (SSE-KMS data keys, Bucket
// Keys). The ratio of the two shows what Bucket Keys save.
enum class KmsCaller { kDirect, kS3 };

class ServerMetrics {
 public:
  ServerMetrics();
  ~ServerMetrics();
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  void RecordRequest(const RequestSample& sample);
  void RecordKmsCall(std::string_view operation, KmsCaller caller);
  // One audit batch written and synced: its records and how long the write and sync took.
  void RecordAuditBatch(uint64_t records, double seconds, bool failed);

  // A gauge read when scraped (open connections, audit queue depth). Register before serving.
  void AddGauge(std::string name, std::string help, std::function<double()> read);

  // Every metric in Prometheus' text exposition format (version 0.0.4).
  std::string Scrape() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hangar::metrics
