// The audit trail on disk: group-committed records, the signed digest chain and what tampering
// with it looks like to `hangar audit verify`, recovery after a crash, LookupEvents.
#include <signal.h>
#include <sys/resource.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/cloudtrail_api.h"
#include "audit/digest.h"
#include "audit/lookup.h"
#include "audit/trail.h"
#include "audit/verify.h"
#include "common/files.h"
#include "common/strings.h"
#include "crypto/random.h"

namespace hangar::audit {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

class AuditTrailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hangar-audit-test-" + NewRequestId());
    clock_.Advance(std::chrono::hours(1));  // 2026-01-01T01:00:00Z
    Reopen();
  }
  void TearDown() override {
    trail_.reset();
    fs::remove_all(dir_);
  }
  void Reopen() {
    trail_.reset();
    auto opened = AuditTrail::Open(Options(), *root_key_, clock_);
    ASSERT_TRUE(opened.ok()) << opened.status().message();
    trail_ = std::move(opened).value();
  }
  // Digests only when a test asks (DigestNow): the hourly timer would race with the test's clock.
  TrailOptions Options() {
    TrailOptions o{dir_.string(), "111122223333"};
    o.digest_interval = std::chrono::hours(24 * 365 * 100);
    o.retention = retention_;
    return o;
  }
  AuditEvent Event(std::string name, std::string key_arn = "") {
    AuditEvent e;
    e.event_time = clock_.Now();
    e.event_id = NewRequestId();
    e.event_source = "kms.amazonaws.com";
    e.event_name = std::move(name);
    e.region = "us-east-1";
    auth::Principal p;
    p.type = auth::PrincipalType::kUser;
    p.account_id = "111122223333";
    p.arn = "arn:aws:iam::111122223333:user/alice";
    p.name = "alice";
    p.access_key_id = "AKIAALICE";
    e.principal = p;
    e.account_id = "111122223333";
    e.request_id = NewRequestId();
    if (!key_arn.empty()) e.resources.push_back({"AWS::KMS::Key", key_arn, "111122223333"});
    return e;
  }
  std::vector<std::string> Files(std::string_view sub, std::string_view suffix) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir_ / sub)) {
      if (e.path().filename().string().ends_with(suffix)) out.push_back(e.path().string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  std::string Read(const std::string& path) { return *ReadSmallFile(path, 1 << 30); }
  void Write(const std::string& path, const std::string& text) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  }
  VerifyReport Verify() {
    auto key = DigestKey::LoadPublicKey(dir_.string(), root_key_.get());
    EXPECT_TRUE(key.ok()) << key.status().message();
    return VerifyTrail(VerifyOptions{dir_.string(), key.ok() ? *key : "", {}, {}});
  }
  // Three digests: records in each of three hours.
  void ThreeHours() {
    for (int hour = 0; hour < 3; ++hour) {
      ASSERT_TRUE(trail_->Record(Event("Encrypt")).ok());
      ASSERT_TRUE(trail_->Record(Event("Decrypt")).ok());
      clock_.Advance(std::chrono::hours(1));
      ASSERT_TRUE(trail_->DigestNow().ok());
    }
  }

  fs::path dir_;
  std::chrono::seconds retention_{0};
  OffsetClock clock_{FromUnixMillis(1767225600000)};  // 2026-01-01T00:00:00Z
  std::unique_ptr<crypto::RootKey> root_key_ = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
  std::unique_ptr<AuditTrail> trail_;
};

TEST_F(AuditTrailTest, ARecordIsOnDiskWhenRecordReturns) {
  ASSERT_TRUE(trail_->Record(Event("ScheduleKeyDeletion", "arn:aws:kms:us-east-1:111122223333:key/k1")).ok());
  auto logs = Files("logs", ".jsonl");
  ASSERT_EQ(logs.size(), 1u);
  json record = json::parse(Read(logs[0]));
  EXPECT_EQ(record["eventName"], "ScheduleKeyDeletion");
  EXPECT_EQ(record["eventVersion"], "1.11");
  EXPECT_EQ(record["userIdentity"]["type"], "IAMUser");
  EXPECT_EQ(record["userIdentity"]["userName"], "alice");
  EXPECT_EQ(record["resources"][0]["ARN"], "arn:aws:kms:us-east-1:111122223333:key/k1");
  EXPECT_EQ(record["eventTime"], "2026-01-01T01:00:00Z");
  EXPECT_EQ(record["recipientAccountId"], "111122223333");
  EXPECT_TRUE(trail_->Healthy().ok());
}

TEST_F(AuditTrailTest, RecordsAreValidJsonWhateverTheClientSent) {
  AuditEvent e = Event("GetObject");
  e.user_agent = std::string("quote\" back\\slash \n\t\x01 end");
  e.source_ip = "\xff\xfe not utf-8";
  e.principal->type = auth::PrincipalType::kAssumedRole;
  e.principal->role_arn = "arn:aws:iam::111122223333:role/r";
  e.principal->role_name = "r";
  e.principal->user_id = "AROAEXAMPLE:session";
  e.request_parameters = R"({"key":"a\"b"})";
  e.response_elements = "not json";
  json record = json::parse(ToCloudTrailJson(e));
  EXPECT_EQ(record["userAgent"], e.user_agent);
  EXPECT_EQ(record["sourceIPAddress"], "\xEF\xBF\xBD\xEF\xBF\xBD not utf-8");
  EXPECT_EQ(record["requestParameters"]["key"], "a\"b");
  EXPECT_TRUE(record["responseElements"].is_null());
  EXPECT_EQ(record["userIdentity"]["type"], "AssumedRole");
  EXPECT_EQ(record["userIdentity"]["sessionContext"]["sessionIssuer"]["principalId"], "AROAEXAMPLE");
  EXPECT_EQ(record["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"], "r");
  e.principal.reset();
  record = json::parse(ToCloudTrailJson(e));
  EXPECT_EQ(record["userIdentity"], json({{"accountId", "111122223333"}, {"invokedBy", "AWS Internal"}}));
}

TEST_F(AuditTrailTest, ManyConcurrentRecordsShareBatches) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) ok += trail_->Record(Event("Encrypt")).ok();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 400);
  TrailStats stats = trail_->stats();
  EXPECT_EQ(stats.records, 400u);
  EXPECT_LE(stats.batches, 400u);
  std::string text = Read(Files("logs", ".jsonl")[0]);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 400);
}

TEST_F(AuditTrailTest, AnUntouchedChainVerifies) {
  ThreeHours();
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok()) << report.problems[0];
  EXPECT_GE(report.digests_checked, 3);
  EXPECT_EQ(report.logs_checked, 3);
  // Each digest links to the one before it.
  auto digests = Files("digests", ".json");
  json second = json::parse(Read(digests[1]));
  EXPECT_EQ(second["previousDigestS3Object"],
            "digests/" + fs::path(digests[0]).filename().string());
  EXPECT_EQ(second["digestSignatureAlgorithm"], "SHA256withRSA");
  EXPECT_TRUE(json::parse(Read(digests[0]))["previousDigestS3Object"].is_null());
}

TEST_F(AuditTrailTest, AFlippedByteInALogIsNamed) {
  ThreeHours();
  std::string log = Files("logs", ".jsonl")[1];
  std::string text = Read(log);
  text[text.find("Decrypt")] = 'd';
  Write(log, text);
  VerifyReport report = Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find(fs::path(log).filename().string()), std::string::npos)
      << report.problems[0];
  EXPECT_NE(report.problems[0].find("altered"), std::string::npos);
}

TEST_F(AuditTrailTest, AnInsertedRecordIsNamed) {
  ThreeHours();
  std::string log = Files("logs", ".jsonl")[0];
  Write(log, Read(log) + ToCloudTrailJson(Event("DisableKey")) + "\n");
  VerifyReport report = Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find(fs::path(log).filename().string() + " was altered"),
            std::string::npos) << report.problems[0];
}

TEST_F(AuditTrailTest, ADeletedLogIsNamed) {
  ThreeHours();
  std::string log = Files("logs", ".jsonl")[2];
  fs::remove(log);
  VerifyReport report = Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find(fs::path(log).filename().string() + " listed in"),
            std::string::npos) << report.problems[0];
  EXPECT_NE(report.problems[0].find("was deleted"), std::string::npos);
}

TEST_F(AuditTrailTest, ADeletedDigestIsNamedWithTheGap) {
  ThreeHours();
  auto digests = Files("digests", ".json");
  ASSERT_GE(digests.size(), 3u);
  fs::remove(digests[1]);
  fs::remove(digests[1] + ".sig");
  VerifyReport report = Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find("digest digests/" + fs::path(digests[1]).filename().string() +
                                    " was deleted"),
            std::string::npos) << report.problems[0];
  EXPECT_NE(report.problems[0].find("2026-01-01T02:00:00Z to 2026-01-01T03:00:00Z"),
            std::string::npos) << report.problems[0];
  // The log file the deleted digest listed is unchecked, not "inserted".
  for (const std::string& problem : report.problems) {
    EXPECT_EQ(problem.find("inserted"), std::string::npos) << problem;
  }
}

TEST_F(AuditTrailTest, AForgedLogBeyondTheChainButDatedInsideItIsNamed) {
  ThreeHours();
  // A sequence number no digest covers yet, but a time the newest digest already covers: a live
  // file cannot be older than the last digest, so this one was put there.
  std::string forged = (dir_ / "logs" / LogFileName(FromUnixMillis(1767225600000 + 5400 * 1000), 99)).string();
  Write(forged, ToCloudTrailJson(Event("Decrypt")) + "\n");
  VerifyReport report = Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find(fs::path(forged).filename().string() + " is not listed by any digest"),
            std::string::npos) << report.problems[0];
}

TEST_F(AuditTrailTest, AnInsertedLogFileIsNamed) {
  ThreeHours();
  std::string inserted = (dir_ / "logs" / LogFileName(FromUnixMillis(1767225600000 + 5400 * 1000), 2)).string();
  Write(inserted, ToCloudTrailJson(Event("Decrypt")) + "\n");
  VerifyReport report = Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find(fs::path(inserted).filename().string() +
                                    " is not listed by any digest"),
            std::string::npos) << report.problems[0];
}

TEST_F(AuditTrailTest, ARewrittenDigestFailsItsSignature) {
  ThreeHours();
  std::string digest = Files("digests", ".json")[1];
  std::string text = Read(digest);
  text.replace(text.find("\"111122223333\""), 14, "\"999999999999\"");
  Write(digest, text);
  VerifyReport report = Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find(fs::path(digest).filename().string() + " was altered"),
            std::string::npos) << report.problems[0];
}

TEST_F(AuditTrailTest, AReplacedDigestKeyIsRefusedWithTheRootKey) {
  ThreeHours();
  trail_.reset();
  // Someone makes their own key and trail: the key file no longer opens under the root key.
  auto other_root = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
  fs::remove(dir_ / "digest-key");
  ASSERT_TRUE(DigestKey::Load(dir_.string(), *other_root, true).ok());
  EXPECT_FALSE(DigestKey::LoadPublicKey(dir_.string(), root_key_.get()).ok());
}

TEST_F(AuditTrailTest, ATornLastLineIsCutAndTheFileDigestedAfterACrash) {
  ASSERT_TRUE(trail_->Record(Event("Encrypt")).ok());
  trail_.reset();  // a clean stop: the first file is digested
  // What a crash leaves: a log file after the last digest, no digest for it, half a record at
  // its end (the batch being written when the process died; never acknowledged).
  const std::string crashed =
      (dir_ / "logs" / LogFileName(clock_.Now() + std::chrono::minutes(1), 2)).string();
  Write(crashed, ToCloudTrailJson(Event("Decrypt")) + "\n{\"eventVersion\":\"1.11\",\"eventN");
  Reopen();
  std::string text = Read(crashed);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1);
  EXPECT_EQ(text.back(), '\n');
  ASSERT_TRUE(trail_->Record(Event("Decrypt")).ok());
  ASSERT_TRUE(trail_->DigestNow().ok());
  json digest = json::parse(Read(Files("digests", ".json").back()));
  ASSERT_EQ(digest["logFiles"].size(), 2u);
  EXPECT_EQ(digest["logFiles"][0]["s3Object"], "logs/" + fs::path(crashed).filename().string());
  EXPECT_TRUE(Verify().ok());
}

TEST_F(AuditTrailTest, ZeroFillAndAnUnwrittenPageAreCutAfterACrash) {
  ASSERT_TRUE(trail_->Record(Event("Encrypt")).ok());
  trail_.reset();
  // A crash with the live file zero-filled ahead of its records, one of which sits beyond a page
  // that never reached the disk (zeros): only the records before the first zero were written in
  // order, so only they can have been acknowledged.
  const std::string acknowledged = ToCloudTrailJson(Event("Decrypt")) + "\n";
  const std::string crashed =
      (dir_ / "logs" / LogFileName(clock_.Now() + std::chrono::minutes(1), 2)).string();
  Write(crashed, acknowledged + std::string(4096, '\0') + ToCloudTrailJson(Event("Sign")) +
                     "\n" + std::string(8192, '\0'));
  Reopen();
  EXPECT_EQ(Read(crashed), acknowledged);
  ASSERT_TRUE(trail_->DigestNow().ok());
  EXPECT_TRUE(Verify().ok());
}

TEST_F(AuditTrailTest, AFailedWriteRefusesAndRecovers) {
  ASSERT_TRUE(trail_->Record(Event("Encrypt")).ok());
  // The records end where the zero fill ahead of them starts.
  std::ifstream log(Files("logs", ".jsonl")[0], std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  const uint64_t size = text.find('\0');
  ASSERT_NE(size, std::string::npos) << "the live log file is zero-filled ahead of its records";
  // No write may reach past the records: pwrite() fails with EFBIG (SIGXFSZ ignored), as on a
  // failing disk.
  signal(SIGXFSZ, SIG_IGN);
  rlimit saved{};
  getrlimit(RLIMIT_FSIZE, &saved);
  rlimit limited = saved;
  limited.rlim_cur = size;
  setrlimit(RLIMIT_FSIZE, &limited);
  Status refused = trail_->Record(Event("Decrypt"));
  Status health = trail_->Healthy();
  setrlimit(RLIMIT_FSIZE, &saved);
  EXPECT_EQ(refused.code(), ErrorCode::kAuditUnavailable);
  EXPECT_EQ(health.code(), ErrorCode::kAuditUnavailable);
  EXPECT_NE(health.message().find("cannot be written"), std::string::npos) << health.message();
  ASSERT_TRUE(trail_->Record(Event("Decrypt")).ok());
  EXPECT_TRUE(trail_->Healthy().ok());
  ASSERT_TRUE(trail_->DigestNow().ok());
  EXPECT_TRUE(Verify().ok()) << "the failed batch left nothing behind";
}

TEST_F(AuditTrailTest, LookupFiltersNewestFirstAndPages) {
  const std::string key = "arn:aws:kms:us-east-1:111122223333:key/k1";
  for (int i = 0; i < 7; ++i) {
    ASSERT_TRUE(trail_->Record(Event("Encrypt", i % 2 ? key : "")).ok());
    clock_.Advance(std::chrono::seconds(1));
  }
  LookupQuery q;
  q.account_id = "111122223333";
  q.attribute = {"ResourceName", key};
  q.max_results = 2;
  auto first = LookupEvents(dir_.string(), q);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->records.size(), 2u);
  EXPECT_EQ(json::parse(first->records[0])["eventTime"], "2026-01-01T01:00:05Z");
  EXPECT_EQ(json::parse(first->records[1])["eventTime"], "2026-01-01T01:00:03Z");
  ASSERT_FALSE(first->next_token.empty());
  q.next_token = first->next_token;
  auto second = LookupEvents(dir_.string(), q);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->records.size(), 1u);
  EXPECT_EQ(json::parse(second->records[0])["eventTime"], "2026-01-01T01:00:01Z");
  EXPECT_TRUE(second->next_token.empty());
  // A token replayed with other parameters is refused, as CloudTrail does.
  q.attribute = {"EventName", "Encrypt"};
  EXPECT_EQ(LookupEvents(dir_.string(), q).status().code(),
            ErrorCode::kCloudTrailInvalidNextToken);
  // Another account sees none of it.
  LookupQuery other;
  other.account_id = "444455556666";
  EXPECT_TRUE(LookupEvents(dir_.string(), other)->records.empty());
}

TEST_F(AuditTrailTest, LookupEventsApiSpeaksCloudTrailJson) {
  ASSERT_TRUE(trail_->Record(Event("CreateKey", "arn:aws:kms:us-east-1:111122223333:key/k1")).ok());
  const std::string dir = dir_.string();
  CloudTrailApi api(CloudTrailOptions{[dir](const LookupQuery& q) { return LookupEvents(dir, q); },
                                      false},
                    [](const auth::RequestContext&, std::string_view) { return Status::Ok(); });
  auth::RequestContext ctx;
  ctx.principal.account_id = "111122223333";
  auto out = api.Call(ctx, "LookupEvents",
                      R"({"LookupAttributes":[{"AttributeKey":"EventName","AttributeValue":"CreateKey"}]})");
  ASSERT_TRUE(out.ok()) << out.status().message();
  json response = json::parse(*out);
  ASSERT_EQ(response["Events"].size(), 1u);
  const json& event = response["Events"][0];
  EXPECT_EQ(event["EventName"], "CreateKey");
  EXPECT_EQ(event["Username"], "alice");
  EXPECT_EQ(event["ReadOnly"], "false");
  EXPECT_EQ(event["EventTime"], 1767229200);
  EXPECT_EQ(event["Resources"][0]["ResourceType"], "AWS::KMS::Key");
  EXPECT_EQ(json::parse(event["CloudTrailEvent"].get<std::string>())["eventName"], "CreateKey");

  EXPECT_EQ(api.Call(ctx, "LookupEvents", R"({"MaxResults":51})").status().code(),
            ErrorCode::kCloudTrailInvalidMaxResults);
  EXPECT_EQ(api.Call(ctx, "LookupEvents", R"({"StartTime":20,"EndTime":10})").status().code(),
            ErrorCode::kCloudTrailInvalidTimeRange);
  EXPECT_EQ(api.Call(ctx, "LookupEvents",
                     R"({"LookupAttributes":[{"AttributeKey":"Nope","AttributeValue":"x"}]})")
                .status().code(),
            ErrorCode::kCloudTrailInvalidLookupAttributes);
}

TEST_F(AuditTrailTest, RetentionRemovesOldDigestsWithTheirLogsAndTheChainStillVerifies) {
  retention_ = std::chrono::hours(2);
  Reopen();
  // Digests end at 01:00 (the reopen), 02:00, 03:00, 04:00 (ThreeHours), then 05:00: with two
  // hours kept, those that ended before 03:00 go.
  ThreeHours();
  ASSERT_TRUE(trail_->Record(Event("Encrypt")).ok());
  clock_.Advance(std::chrono::hours(1));
  ASSERT_TRUE(trail_->DigestNow().ok());
  auto digests = Files("digests", ".json");
  ASSERT_EQ(digests.size(), 4u) << "three kept and the retention marker";
  EXPECT_EQ(fs::path(digests[0]).filename().string().substr(0, 16), "20260101T030000Z");
  EXPECT_EQ(fs::path(digests.back()).filename(), "retention.json");
  EXPECT_EQ(Files("logs", ".jsonl").size(), 3u) << "the 01:00-02:00 log went with its digest";
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok()) << report.problems[0];
  EXPECT_EQ(report.digests_checked, 3);
  // The cut does not excuse a digest deleted by someone else: the first one kept, here.
  fs::remove(digests[0]);
  fs::remove(digests[0] + ".sig");
  report = Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find("was deleted"), std::string::npos) << report.problems[0];
}

TEST_F(AuditTrailTest, AnAlteredRetentionMarkerIsNamed) {
  retention_ = std::chrono::hours(1);
  Reopen();
  ThreeHours();
  const std::string marker = (dir_ / "digests" / "retention.json").string();
  ASSERT_TRUE(fs::exists(marker));
  ASSERT_TRUE(Verify().ok());
  std::string text = Read(marker);
  text.replace(text.find("cutAt"), 5, "cutAT");
  Write(marker, text);
  VerifyReport report = Verify();
  ASSERT_FALSE(report.ok());
  EXPECT_NE(report.problems[0].find("retention marker"), std::string::npos) << report.problems[0];
}

}  // namespace
}  // namespace hangar::audit
