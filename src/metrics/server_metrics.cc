#include "metrics/server_metrics.h"

#include <cctype>
#include <mutex>
#include <shared_mutex>
#include <sstream>
#include <unordered_map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace hangar::metrics {
namespace {

namespace prom = prometheus;

// Request latencies, from a cached KMS call (well under a millisecond) to a large upload.
const prom::Histogram::BucketBoundaries kRequestBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};
// An audit batch's write and fdatasync.
const prom::Histogram::BucketBoundaries kAuditBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};

// The series of one (service, operation, status): found once, then only incremented.
struct RequestSeries {
  prom::Counter* requests;
  prom::Histogram* seconds;
  prom::Counter* received;
  prom::Counter* sent;
};

struct Gauge {
  std::string name;
  std::string help;
  std::function<double()> read;
};

// Operation names come from the request (X-Amz-Target, a query's Action), so anyone can invent
// them: past this many label sets, or for a name no AWS operation has, the operation is counted
// as "other" and the scrape stays bounded.
constexpr size_t kMaxSeries = 2000;
constexpr size_t kMaxOperationName = 64;
constexpr std::string_view kOther = "other";

bool PlausibleOperation(std::string_view name) {
  if (name.empty() || name.size() > kMaxOperationName) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string SeriesKey(std::string_view a, std::string_view b, int status) {
  std::string key;
  key.reserve(a.size() + b.size() + 6);
  key.append(a).append(1, '\0').append(b).append(1, '\0').append(std::to_string(status));
  return key;
}

}  // namespace

struct ServerMetrics::Impl {
  std::shared_ptr<prom::Registry> registry = std::make_shared<prom::Registry>();
  prom::Family<prom::Counter>& requests =
      prom::BuildCounter()
          .Name("hangar_requests_total")
          .Help("Requests answered, by service, operation and HTTP status")
          .Register(*registry);
  prom::Family<prom::Histogram>& seconds =
      prom::BuildHistogram()
          .Name("hangar_request_duration_seconds")
          .Help("From a request's header to its response's last byte, its audit record's "
                "write included")
          .Register(*registry);
  prom::Family<prom::Counter>& received =
      prom::BuildCounter()
          .Name("hangar_received_bytes_total")
          .Help("Request body bytes, by service")
          .Register(*registry);
  prom::Family<prom::Counter>& sent = prom::BuildCounter()
                                          .Name("hangar_sent_bytes_total")
                                          .Help("Response body bytes, by service")
                                          .Register(*registry);
  prom::Family<prom::Counter>& kms_calls =
      prom::BuildCounter()
          .Name("hangar_kms_calls_total")
          .Help("KMS operations, by caller: a client (direct) or S3 on a client's behalf (s3)")
          .Register(*registry);
  prom::Family<prom::Counter>& audit_records_family =
      prom::BuildCounter()
          .Name("hangar_audit_records_total")
          .Help("Audit records written and synced")
          .Register(*registry);
  prom::Family<prom::Counter>& audit_batches_family =
      prom::BuildCounter()
          .Name("hangar_audit_batches_total")
          .Help("Audit batches (one write and one fdatasync each), by outcome")
          .Register(*registry);
  prom::Family<prom::Histogram>& audit_seconds_family =
      prom::BuildHistogram()
          .Name("hangar_audit_write_seconds")
          .Help("Write and fdatasync of one audit batch")
          .Register(*registry);
  prom::Counter& audit_records = audit_records_family.Add({});
  prom::Counter& audit_batches_ok = audit_batches_family.Add({{"outcome", "written"}});
  prom::Counter& audit_batches_failed = audit_batches_family.Add({{"outcome", "failed"}});
  prom::Histogram& audit_seconds = audit_seconds_family.Add({}, kAuditBuckets);

  std::shared_mutex mu;
  std::unordered_map<std::string, RequestSeries> request_series;
  std::unordered_map<std::string, prom::Counter*> kms_series;
  std::vector<Gauge> gauges;

  RequestSeries& SeriesFor(RequestSample s) {
    if (!PlausibleOperation(s.operation)) s.operation = kOther;
    std::string key = SeriesKey(s.service, s.operation, s.status);
    {
      std::shared_lock lock(mu);
      if (auto it = request_series.find(key); it != request_series.end()) return it->second;
    }
    std::unique_lock lock(mu);
    if (auto it = request_series.find(key); it != request_series.end()) return it->second;
    if (request_series.size() >= kMaxSeries && s.operation != kOther) {
      s.operation = kOther;
      key = SeriesKey(s.service, s.operation, s.status);
      if (auto it = request_series.find(key); it != request_series.end()) return it->second;
    }
    const std::string service(s.service), operation(s.operation);
    RequestSeries series{
        &requests.Add({{"service", service},
                       {"operation", operation},
                       {"status", std::to_string(s.status)}}),
        &seconds.Add({{"service", service}, {"operation", operation}}, kRequestBuckets),
        &received.Add({{"service", service}}), &sent.Add({{"service", service}})};
    return request_series.emplace(key, series).first->second;
  }

  prom::Counter& KmsSeriesFor(std::string_view operation, KmsCaller caller) {
    const std::string_view caller_name = caller == KmsCaller::kS3 ? "s3" : "direct";
    if (!PlausibleOperation(operation)) operation = kOther;
    std::string key = SeriesKey(operation, caller_name, 0);
    {
      std::shared_lock lock(mu);
      if (auto it = kms_series.find(key); it != kms_series.end()) return *it->second;
    }
    std::unique_lock lock(mu);
    if (auto it = kms_series.find(key); it != kms_series.end()) return *it->second;
    if (kms_series.size() >= kMaxSeries && operation != kOther) {
      operation = kOther;
      key = SeriesKey(operation, caller_name, 0);
      if (auto it = kms_series.find(key); it != kms_series.end()) return *it->second;
    }
    prom::Counter* counter = &kms_calls.Add(
        {{"operation", std::string(operation)}, {"caller", std::string(caller_name)}});
    kms_series.emplace(key, counter);
    return *counter;
  }
};

ServerMetrics::ServerMetrics() : impl_(std::make_unique<Impl>()) {}
ServerMetrics::~ServerMetrics() = default;

void ServerMetrics::RecordRequest(const RequestSample& sample) {
  RequestSeries& series = impl_->SeriesFor(sample);
  series.requests->Increment();
  series.seconds->Observe(sample.seconds);
  if (sample.bytes_in > 0) series.received->Increment(static_cast<double>(sample.bytes_in));
  if (sample.bytes_out > 0) series.sent->Increment(static_cast<double>(sample.bytes_out));
}

void ServerMetrics::RecordKmsCall(std::string_view operation, KmsCaller caller) {
  impl_->KmsSeriesFor(operation, caller).Increment();
}

void ServerMetrics::RecordAuditBatch(uint64_t records, double seconds, bool failed) {
  if (failed) {
    impl_->audit_batches_failed.Increment();
    return;
  }
  impl_->audit_batches_ok.Increment();
  impl_->audit_records.Increment(static_cast<double>(records));
  impl_->audit_seconds.Observe(seconds);
}

void ServerMetrics::AddGauge(std::string name, std::string help, std::function<double()> read) {
  std::unique_lock lock(impl_->mu);
  impl_->gauges.push_back(Gauge{std::move(name), std::move(help), std::move(read)});
}

std::string ServerMetrics::Scrape() const {
  std::vector<prom::MetricFamily> families = impl_->registry->Collect();
  {
    std::shared_lock lock(impl_->mu);
    for (const Gauge& gauge : impl_->gauges) {
      prom::MetricFamily family{gauge.name, gauge.help, prom::MetricType::Gauge, {}};
      prom::ClientMetric value;
      value.gauge.value = gauge.read();
      family.metric.push_back(std::move(value));
      families.push_back(std::move(family));
    }
  }
  std::ostringstream out;
  prom::TextSerializer().Serialize(out, families);
  return out.str();
}

}  // namespace hangar::metrics
