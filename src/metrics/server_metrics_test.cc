#include "metrics/server_metrics.h"

#include <gtest/gtest.h>

#include <atomic>
#include <regex>
#include <thread>
#include <vector>

namespace hangar::metrics {
namespace {

// The value of the sample line `series` (name{labels}) in Prometheus text, or -1.
double ValueOf(const std::string& text, const std::string& series) {
  const std::string escaped = std::regex_replace(series, std::regex(R"([{}\[\]().*+?^$|\\])"),
                                                 R"(\$&)");
  std::smatch m;
  if (!std::regex_search(text, m, std::regex("(^|\n)" + escaped + " ([0-9.e+-]+)"))) return -1;
  return std::stod(m[2]);
}

TEST(ServerMetrics, RequestsAreCountedByServiceOperationAndStatus) {
  ServerMetrics metrics;
  metrics.RecordRequest({"kms", "GenerateDataKey", 200, 0.002, 120, 300});
  metrics.RecordRequest({"kms", "GenerateDataKey", 200, 0.004, 120, 300});
  metrics.RecordRequest({"kms", "GenerateDataKey", 400, 0.001, 80, 90});
  metrics.RecordRequest({"s3", "GetObject", 200, 0.2, 0, 4096});
  const std::string text = metrics.Scrape();
  EXPECT_EQ(ValueOf(text, R"(hangar_requests_total{operation="GenerateDataKey",service="kms",status="200"})"), 2);
  EXPECT_EQ(ValueOf(text, R"(hangar_requests_total{operation="GenerateDataKey",service="kms",status="400"})"), 1);
  EXPECT_EQ(ValueOf(text, R"(hangar_requests_total{operation="GetObject",service="s3",status="200"})"), 1);
  EXPECT_EQ(ValueOf(text, R"(hangar_received_bytes_total{service="kms"})"), 320);
  EXPECT_EQ(ValueOf(text, R"(hangar_sent_bytes_total{service="s3"})"), 4096);
  // The histogram: three KMS samples, two within 2.5 ms, all within 5 ms.
  EXPECT_EQ(ValueOf(text, R"(hangar_request_duration_seconds_count{operation="GenerateDataKey",service="kms"})"), 3);
  EXPECT_EQ(ValueOf(text, R"(hangar_request_duration_seconds_bucket{operation="GenerateDataKey",service="kms",le="0.0025"})"), 2);
  EXPECT_EQ(ValueOf(text, R"(hangar_request_duration_seconds_bucket{operation="GenerateDataKey",service="kms",le="0.005"})"), 3);
  EXPECT_NE(text.find("# TYPE hangar_request_duration_seconds histogram"), std::string::npos);
}

TEST(ServerMetrics, KmsCallsAreSplitByCaller) {
  ServerMetrics metrics;
  for (int i = 0; i < 3; ++i) metrics.RecordKmsCall("GenerateDataKey", KmsCaller::kS3);
  metrics.RecordKmsCall("GenerateDataKey", KmsCaller::kDirect);
  const std::string text = metrics.Scrape();
  EXPECT_EQ(ValueOf(text, R"(hangar_kms_calls_total{caller="s3",operation="GenerateDataKey"})"), 3);
  EXPECT_EQ(ValueOf(text, R"(hangar_kms_calls_total{caller="direct",operation="GenerateDataKey"})"), 1);
}

TEST(ServerMetrics, AuditBatchesAndGaugesReadAtScrape) {
  ServerMetrics metrics;
  metrics.RecordAuditBatch(10, 0.0004, false);
  metrics.RecordAuditBatch(5, 0.0001, true);
  std::atomic<int> connections{7};
  metrics.AddGauge("hangar_open_connections", "Open client connections",
                   [&] { return static_cast<double>(connections.load()); });
  EXPECT_EQ(ValueOf(metrics.Scrape(), "hangar_open_connections"), 7);
  connections = 9;
  const std::string text = metrics.Scrape();
  EXPECT_EQ(ValueOf(text, "hangar_open_connections"), 9);
  EXPECT_EQ(ValueOf(text, "hangar_audit_records_total"), 10);
  EXPECT_EQ(ValueOf(text, R"(hangar_audit_batches_total{outcome="written"})"), 1);
  EXPECT_EQ(ValueOf(text, R"(hangar_audit_batches_total{outcome="failed"})"), 1);
  EXPECT_EQ(ValueOf(text, R"(hangar_audit_write_seconds_bucket{le="0.0005"})"), 1);
}

TEST(ServerMetrics, ConcurrentRecordingLosesNothing) {
  ServerMetrics metrics;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&metrics, t] {
      for (int i = 0; i < 5000; ++i) {
        metrics.RecordRequest({"s3", i % 2 ? "GetObject" : "PutObject", 200 + (t % 2), 0.001, 1, 1});
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::string text = metrics.Scrape();
  double total = 0;
  for (const char* op : {"GetObject", "PutObject"}) {
    for (int status : {200, 201}) {
      total += ValueOf(text, std::string("hangar_requests_total{operation=\"") + op +
                                 "\",service=\"s3\",status=\"" + std::to_string(status) + "\"}");
    }
  }
  EXPECT_EQ(total, 20000);
}

// Operation names are the client's to invent (X-Amz-Target): the label sets stay bounded.
TEST(ServerMetrics, InventedOperationNamesCannotGrowTheScrapeWithoutBound) {
  ServerMetrics metrics;
  metrics.RecordRequest({"kms", "Encrypt", 200, 0.001, 1, 1});
  metrics.RecordRequest({"kms", "Bad\"Name{}", 400, 0.001, 1, 1});
  metrics.RecordKmsCall(std::string(100, 'A'), KmsCaller::kDirect);
  const size_t small = metrics.Scrape().size();
  for (int i = 0; i < 20000; ++i) {
    const std::string name = "Invented" + std::to_string(i);
    metrics.RecordRequest({"kms", name, 400, 0.001, 1, 1});
    metrics.RecordKmsCall(name, KmsCaller::kDirect);
  }
  const std::string text = metrics.Scrape();
  EXPECT_EQ(ValueOf(text, R"(hangar_requests_total{operation="Encrypt",service="kms",status="200"})"), 1);
  // The odd name was counted as "other" before the cap, and so was everything past the cap.
  const double other = ValueOf(text, R"(hangar_requests_total{operation="other",service="kms",status="400"})");
  EXPECT_EQ(other, 1 + 20000 - (2000 - 2));
  EXPECT_EQ(text.find("Bad"), std::string::npos);
  EXPECT_EQ(text.find("Invented19999"), std::string::npos);
  // Past the cap the scrape no longer grows: 20,000 more names change counter values only.
  EXPECT_GT(text.size(), small);
  for (int i = 20000; i < 40000; ++i) {
    const std::string name = "Invented" + std::to_string(i);
    metrics.RecordRequest({"kms", name, 400, 0.001, 1, 1});
    metrics.RecordKmsCall(name, KmsCaller::kDirect);
  }
  EXPECT_LT(metrics.Scrape().size(), text.size() + 1000);
}

}  // namespace
}  // namespace hangar::metrics
