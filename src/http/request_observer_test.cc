#include "http/request_observer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "common/strings.h"

namespace hangar::http {
namespace {

namespace fs = std::filesystem;

HttpRequest Request() {
  HttpRequest r;
  r.method = "POST";
  r.remote_address = "192.0.2.7";
  r.headers.Add("Authorization", "AWS4-HMAC-SHA256 Credential=AKIASECRETMARKER/...");
  r.body = R"({"Plaintext":"c2VjcmV0LW1hcmtlcg=="})";
  return r;
}

TEST(RequestObserver, LogLineCarriesTheRequestIdAndNothingOfTheRequestItself) {
  ExchangeLabels labels{"kms", "Encrypt", "0f0e-request-id", "arn:aws:iam::111122223333:user/a",
                        "AccessDeniedException"};
  HttpRequest request = Request();
  const std::string line =
      RequestLogLine(request, CompletedExchange{labels, 400, 38, 120, 0.0042, true});
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["requestId"], "0f0e-request-id");
  EXPECT_EQ(j["service"], "kms");
  EXPECT_EQ(j["operation"], "Encrypt");
  EXPECT_EQ(j["status"], 400);
  EXPECT_EQ(j["errorCode"], "AccessDeniedException");
  EXPECT_NEAR(j["durationMs"].get<double>(), 4.2, 1e-9);
  EXPECT_EQ(j["bytesIn"], 38);
  EXPECT_EQ(j["sourceIp"], "192.0.2.7");
  EXPECT_EQ(j["principal"], "arn:aws:iam::111122223333:user/a");
  // Headers and bodies never reach the log: the markers planted in them are absent.
  EXPECT_NE(request.headers.Get("authorization").find("SECRETMARKER"), std::string::npos);
  EXPECT_NE(request.body.find("c2VjcmV0LW1hcmtlcg"), std::string::npos);
  EXPECT_EQ(line.find("SECRETMARKER"), std::string::npos);
  EXPECT_EQ(line.find("c2VjcmV0LW1hcmtlcg"), std::string::npos);
}

TEST(RequestObserver, CountsEveryRequestAndWritesOneLineEach) {
  const fs::path log = fs::temp_directory_path() / ("hangar-request-log-" + NewRequestId());
  metrics::ServerMetrics metrics;
  {
    auto observer = RequestObserver::Create(metrics, log.string());
    ASSERT_TRUE(observer.ok()) << observer.status().message();
    ASSERT_TRUE((*observer)->logging());
    HttpRequest request = Request();
    ExchangeLabels labels{"kms", "GenerateDataKey", "id-1", "", ""};
    for (int i = 0; i < 3; ++i) {
      (*observer)->Observe(request, CompletedExchange{labels, 200, 10, 20, 0.001, true});
    }
  }
  std::ifstream in(log);
  int lines = 0;
  for (std::string line; std::getline(in, line); ++lines) {
    EXPECT_EQ(nlohmann::json::parse(line)["operation"], "GenerateDataKey");
  }
  EXPECT_EQ(lines, 3);
  const std::string text = metrics.Scrape();
  EXPECT_NE(text.find(R"(hangar_requests_total{operation="GenerateDataKey",service="kms",status="200"} 3)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(hangar_kms_calls_total{caller="direct",operation="GenerateDataKey"} 3)"),
            std::string::npos);
  fs::remove(log);
}

TEST(RequestObserver, AnUnwritableLogIsRefusedAtStart) {
  // Its directory is a file: nothing can be created beneath it.
  const fs::path file = fs::temp_directory_path() / ("hangar-not-a-dir-" + NewRequestId());
  std::ofstream(file) << "x";
  metrics::ServerMetrics metrics;
  auto observer = RequestObserver::Create(metrics, (file / "requests.log").string());
  EXPECT_FALSE(observer.ok());
  EXPECT_NE(observer.status().message().find("request log"), std::string::npos);
  fs::remove(file);
}

}  // namespace
}  // namespace hangar::http
