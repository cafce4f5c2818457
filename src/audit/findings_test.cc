// Findings: control results from facts, detections from records, the store's update rules, and
// Security Hub's GetFindings / BatchUpdateFindings over them.
#include <atomic>
#include <filesystem>
#include <functional>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "audit/controls.h"
#include "audit/detections.h"
#include "audit/finding.h"
#include "audit/findings_engine.h"
#include "audit/securityhub_api.h"
#include "common/strings.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace hangar::audit {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::string_view kAccount = "111122223333";
const std::string kKeyArn = "arn:aws:kms:us-east-1:111122223333:key/k1";

const Finding* ById(const std::vector<Finding>& findings, std::string_view control) {
  for (const Finding& f : findings) {
    if (f.control_id == control) return &f;
  }
  return nullptr;
}

TEST(ControlsTest, Kms3FailsForAKeyPendingDeletionAndPassesOtherwise) {
  KeyFacts key{kKeyArn, std::string(kAccount), "us-east-1", "PendingDeletion"};
  key.deletion_date_ms = 1767225600000;
  auto findings = KeyControls(key, FromUnixMillis(1000));
  const Finding* kms3 = ById(findings, "KMS.3");
  ASSERT_NE(kms3, nullptr);
  EXPECT_EQ(kms3->compliance_status, "FAILED");
  EXPECT_EQ(kms3->severity, "CRITICAL");
  EXPECT_EQ(kms3->record_state, "ACTIVE");
  EXPECT_EQ(kms3->generator_id, "security-control/KMS.3");
  EXPECT_NE(kms3->description.find("2026-01-01T00:00:00Z"), std::string::npos);
  key.state = "Enabled";
  const auto enabled = KeyControls(key, FromUnixMillis(1000));
  kms3 = ById(enabled, "KMS.3");
  EXPECT_EQ(kms3->compliance_status, "PASSED");
  EXPECT_EQ(kms3->record_state, "ARCHIVED");
  EXPECT_EQ(kms3->workflow_status, "RESOLVED");
}

TEST(ControlsTest, Kms4AndKms5FollowRotationAndPolicy) {
  KeyFacts key{kKeyArn, std::string(kAccount), "us-east-1", "Enabled"};
  auto findings = KeyControls(key, FromUnixMillis(1000));
  EXPECT_EQ(ById(findings, "KMS.4")->compliance_status, "FAILED");
  EXPECT_EQ(ById(findings, "KMS.5")->compliance_status, "PASSED");
  key.rotation_enabled = true;
  key.policy_public = true;
  findings = KeyControls(key, FromUnixMillis(1000));
  EXPECT_EQ(ById(findings, "KMS.4")->compliance_status, "PASSED");
  EXPECT_EQ(ById(findings, "KMS.5")->compliance_status, "FAILED");
  // AWS managed keys are not the customer's to fix.
  key.customer_managed = false;
  EXPECT_TRUE(KeyControls(key, FromUnixMillis(1000)).empty());
}

TEST(ControlsTest, BucketControlsJudgeBlockPublicAccessPolicyTlsAndEncryption) {
  BucketFacts bucket{"lab", std::string(kAccount), "us-east-1"};
  bucket.default_encryption = "AES256";
  auto findings = BucketControls(bucket, FromUnixMillis(1000));
  EXPECT_EQ(ById(findings, "S3.2")->compliance_status, "PASSED");
  EXPECT_EQ(ById(findings, "S3.5")->compliance_status, "FAILED");
  EXPECT_EQ(ById(findings, "S3.8")->compliance_status, "FAILED");
  EXPECT_EQ(ById(findings, "S3.17")->compliance_status, "FAILED");
  EXPECT_EQ(ById(findings, "S3.17")->resource_id, "arn:aws:s3:::lab");
  bucket.block = BlockFlags{true, true, true, true};
  bucket.requires_tls = true;
  bucket.default_encryption = "aws:kms";
  bucket.public_write = true;
  findings = BucketControls(bucket, FromUnixMillis(1000));
  EXPECT_EQ(ById(findings, "S3.3")->compliance_status, "FAILED");
  EXPECT_EQ(ById(findings, "S3.5")->compliance_status, "PASSED");
  EXPECT_EQ(ById(findings, "S3.8")->compliance_status, "PASSED");
  EXPECT_EQ(ById(findings, "S3.17")->compliance_status, "PASSED");
}

AuditEvent Event(std::string source, std::string name, std::string error_code = "",
                 std::string error_message = "") {
  AuditEvent e;
  e.event_time = FromUnixMillis(1767225600000);
  e.event_id = NewRequestId();
  e.event_source = std::move(source);
  e.event_name = std::move(name);
  e.region = "us-east-1";
  auth::Principal p;
  p.type = auth::PrincipalType::kUser;
  p.account_id = std::string(kAccount);
  p.arn = "arn:aws:iam::111122223333:user/Kzax01";
  p.name = "Kzax01";
  e.principal = p;
  e.account_id = std::string(kAccount);
  e.error_code = std::move(error_code);
  e.error_message = std::move(error_message);
  e.source_ip = "10.0.0.1";
  e.resources.push_back({"AWS::KMS::Key", kKeyArn, std::string(kAccount)});
  return e;
}

TEST(DetectorTest, UseOfAKeyPendingDeletionIsReportedWithItsRecord) {
  Detector detector({});
  AuditEvent e = Event("kms.amazonaws.com", "Decrypt", "KMSInvalidStateException",
                       kKeyArn + " is pending deletion.");
  auto findings = detector.Observe(e);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].generator_id, "hangar-detection/Impact:KMS/KeyPendingDeletionUsed");
  EXPECT_EQ(findings[0].severity, "HIGH");
  EXPECT_EQ(findings[0].resource_id, kKeyArn);
  EXPECT_EQ(findings[0].event_ids, std::vector<std::string>{e.event_id});
  // CancelKeyDeletion of a key that is not pending says "is not pending deletion": no alarm.
  EXPECT_TRUE(detector
                  .Observe(Event("kms.amazonaws.com", "CancelKeyDeletion",
                                 "KMSInvalidStateException",
                                 kKeyArn + " is not pending deletion."))
                  .empty());
}

TEST(DetectorTest, ABurstOfAccessDeniedFiresAtTheThresholdWithinTheWindow) {
  DetectionOptions options;
  options.access_denied_count = 3;
  options.access_denied_window = std::chrono::seconds(60);
  Detector detector(options);
  AuditEvent e = Event("kms.amazonaws.com", "Decrypt", "AccessDeniedException", "no");
  EXPECT_TRUE(detector.Observe(e).empty());
  e.event_time += std::chrono::seconds(61);  // the first one has left the window
  EXPECT_TRUE(detector.Observe(e).empty());
  e.event_time += std::chrono::seconds(1);
  EXPECT_TRUE(detector.Observe(e).empty());
  e.event_time += std::chrono::seconds(1);
  auto findings = detector.Observe(e);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, "MEDIUM");
  EXPECT_EQ(findings[0].resource_id, "arn:aws:iam::111122223333:user/Kzax01");
}

TEST(DetectorTest, MassDeletionCountsTheObjectsOfDeleteObjects) {
  DetectionOptions options;
  options.mass_delete_count = 10;
  Detector detector(options);
  AuditEvent e = Event("s3.amazonaws.com", "DeleteObjects");
  e.resources = {{"AWS::S3::Bucket", "arn:aws:s3:::lab", std::string(kAccount)}};
  e.additional_event_data = R"({"deletedObjects":6})";
  EXPECT_TRUE(detector.Observe(e).empty());
  auto findings = detector.Observe(e);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].resource_id, "arn:aws:s3:::lab");
  EXPECT_EQ(findings[0].event_ids.size(), 2u);
}

TEST(DetectorTest, DecryptFromANewAddressAfterABaseline) {
  Detector detector({});
  AuditEvent e = Event("kms.amazonaws.com", "Decrypt");
  EXPECT_TRUE(detector.Observe(e).empty()) << "the first address is the baseline";
  EXPECT_TRUE(detector.Observe(e).empty());
  e.source_ip = "192.0.2.7";
  auto findings = detector.Observe(e);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_NE(findings[0].description.find("192.0.2.7"), std::string::npos);
  EXPECT_TRUE(detector.Observe(e).empty()) << "now known";
  // Decrypts S3 makes for the caller come from S3, not from the caller's address.
  e.source_ip = "s3.amazonaws.com";
  e.invoked_by = "s3.amazonaws.com";
  EXPECT_TRUE(detector.Observe(e).empty());
}

// Two nodes' detectors on one store: the state they count in is the store's, so a burst whose
// requests were spread over the nodes is seen whole, once.
class SharedDetectionStateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hangar-detect-test-" + NewRequestId());
    fs::create_directories(dir_);
    metadata_ = std::move(store::SqliteMetadataStore::Open((dir_ / "m.db").string())).value();
    node_a_ = MakeSharedDetectionState(*metadata_);
    node_b_ = MakeSharedDetectionState(*metadata_);
  }
  void TearDown() override {
    node_a_.reset();
    node_b_.reset();
    metadata_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<store::MetadataStore> metadata_;
  std::unique_ptr<DetectionState> node_a_, node_b_;
};

TEST_F(SharedDetectionStateTest, ABurstSpreadOverTwoNodesFiresOnceAtTheThreshold) {
  DetectionOptions options;
  options.access_denied_count = 4;
  Detector a(options, node_a_.get()), b(options, node_b_.get());
  // Each node alone sees two refusals: below the threshold of four, as it was when each node
  // counted for itself.
  AuditEvent e = Event("kms.amazonaws.com", "Decrypt", "AccessDeniedException", "no");
  EXPECT_TRUE(a.Observe(e).empty());
  EXPECT_TRUE(b.Observe(e).empty());
  EXPECT_TRUE(a.Observe(e).empty());
  auto findings = b.Observe(e);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].generator_id, "hangar-detection/Discovery:IAMUser/AccessDeniedBurst");
  EXPECT_EQ(findings[0].event_ids.size(), 4u);
  // The window started over on both nodes.
  EXPECT_TRUE(a.Observe(e).empty());
  EXPECT_TRUE(b.Observe(e).empty());
}

TEST_F(SharedDetectionStateTest, NodesCountingAtOnceLoseNoHitAndFireOnce) {
  const BurstRule rule{std::chrono::seconds(60), 200};
  const TimePoint now = SystemClock().Now();
  std::atomic<int> fired{0};
  auto count = [&](DetectionState& state) {
    for (int i = 0; i < 50; ++i) {
      auto f = state.Count("deleted someone", {BurstHit{now, 2, "e"}}, rule);
      ASSERT_TRUE(f.ok()) << f.status().message();
      fired += static_cast<int>(f->size());
    }
  };
  std::thread a([&] { count(*node_a_); });
  std::thread b([&] { count(*node_b_); });
  a.join();
  b.join();
  EXPECT_EQ(fired.load(), 1) << "100 hits of weight 2 reach 200 exactly once";
}

TEST_F(SharedDetectionStateTest, AnAddressLearnedOnOneNodeIsNotNewOnTheOther) {
  Detector a({}, node_a_.get()), b({}, node_b_.get());
  AuditEvent e = Event("kms.amazonaws.com", "Decrypt");
  EXPECT_TRUE(a.Observe(e).empty()) << "the first address is the baseline";
  EXPECT_TRUE(b.Observe(e).empty()) << "known through the other node";
  e.source_ip = "192.0.2.7";
  ASSERT_EQ(b.Observe(e).size(), 1u);
  EXPECT_TRUE(a.Observe(e).empty()) << "learned through the other node";
}

// Cluster nodes add their hits in whatever order their batches commit: a hit that comes in late
// belongs where its time puts it, and a window reaches back from its newest hit.
TEST(DetectionStateTest, AHitThatComesInLateCountsWhereItsTimeFalls) {
  auto state = MakeMemoryDetectionState();
  const BurstRule rule{std::chrono::seconds(60), 3};
  const TimePoint t0 = FromUnixMillis(1767225600000);
  auto at = [&](int seconds) { return BurstHit{t0 + std::chrono::seconds(seconds), 1, "e"}; };
  EXPECT_TRUE(state->Count("w", {at(100), at(101)}, rule)->empty());
  EXPECT_TRUE(state->Count("w", {at(10)}, rule)->empty()) << "90 s before the newest: outside";
  EXPECT_EQ(state->Count("w", {at(102)}, rule)->size(), 1u);
  // In time order or not, three hits within the window fire once.
  EXPECT_TRUE(state->Count("v", {at(50)}, rule)->empty());
  EXPECT_TRUE(state->Count("v", {at(20)}, rule)->empty());
  EXPECT_EQ(state->Count("v", {at(40)}, rule)->size(), 1u);
}

TEST(DetectionStateTest, AWindowKeepsOneEntryPerSecondWhateverItsThreshold) {
  auto shared_dir = fs::temp_directory_path() / ("hangar-detect-size-" + NewRequestId());
  fs::create_directories(shared_dir);
  {
    auto metadata =
        std::move(store::SqliteMetadataStore::Open((shared_dir / "m.db").string())).value();
    auto state = MakeSharedDetectionState(*metadata);
    const BurstRule rule{std::chrono::seconds(60), 1000000};
    const TimePoint t0 = FromUnixMillis(1767225600000);
    std::vector<BurstHit> hits;
    for (int i = 0; i < 5000; ++i) {
      hits.push_back({t0 + std::chrono::milliseconds(i * 10), 1, "e" + std::to_string(i)});
    }
    ASSERT_TRUE(state->Count("w", hits, rule)->empty());
    auto doc = metadata->Get("audit.detect.window", "", "w");
    ASSERT_TRUE(doc.ok() && doc->has_value());
    EXPECT_LT((*doc)->body.size(), 2000u) << "50 seconds of hits, 5000 of them";
    hits.assign(1, {t0 + std::chrono::seconds(49), 995000, "last"});
    EXPECT_EQ(state->Count("w", hits, rule)->size(), 1u) << "the weights add up";
  }
  fs::remove_all(shared_dir);
}

TEST(DetectorTest, ABatchCountsEachWindowOnceAndFiresAtTheCrossingEvent) {
  DetectionOptions options;
  options.mass_delete_count = 3;
  Detector detector(options);
  AuditEvent e = Event("s3.amazonaws.com", "DeleteObject");
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    e.event_id = "event-" + std::to_string(i);
    e.resources = {{"AWS::S3::Bucket", "arn:aws:s3:::bucket-" + std::to_string(i),
                    std::string(kAccount)}};
    EXPECT_TRUE(detector.Add(e).empty()) << "bursts are counted at Settle";
  }
  auto findings = detector.Settle();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].resource_id, "arn:aws:s3:::bucket-2") << "the third deletion crossed";
  EXPECT_EQ(findings[0].event_ids,
            (std::vector<std::string>{"event-0", "event-1", "event-2"}));
  EXPECT_TRUE(detector.Settle().empty());
}

// Facts the test sets by hand (the real ones come from the services).
class TestFacts final : public FactsSource {
 public:
  std::map<std::string, KeyFacts> keys;
  // Calls the worker made, and a hook it runs inside them (a test holds the worker there).
  std::atomic<int> key_calls{0};
  std::atomic<int> users_calls{0};
  std::function<void()> on_call;
  Result<std::vector<KeyFacts>> AllKeys() override {
    std::vector<KeyFacts> out;
    for (const auto& [arn, k] : keys) out.push_back(k);
    return out;
  }
  Result<std::optional<KeyFacts>> Key(std::string_view arn) override {
    ++key_calls;
    if (on_call) on_call();
    auto it = keys.find(std::string(arn));
    return it == keys.end() ? std::optional<KeyFacts>() : std::optional<KeyFacts>(it->second);
  }
  Result<std::vector<BucketFacts>> AllBuckets() override { return std::vector<BucketFacts>{}; }
  Result<std::optional<BucketFacts>> Bucket(std::string_view) override {
    return std::optional<BucketFacts>();
  }
  Result<std::vector<AccountFacts>> Accounts() override { return std::vector<AccountFacts>{}; }
  std::vector<UserFacts> users;
  Result<std::vector<UserFacts>> Users(std::string_view) override {
    ++users_calls;
    if (on_call) on_call();
    return users;
  }
};

// The real store, with a count of the listings of findings (what grows with the account's past).
class ListCountingStore final : public store::MetadataStore {
 public:
  explicit ListCountingStore(std::unique_ptr<store::MetadataStore> inner)
      : inner_(std::move(inner)) {}
  std::atomic<int> finding_lists{0};
  std::atomic<int> finding_gets{0};

  Result<std::optional<store::Document>> Get(std::string_view c, std::string_view p,
                                             std::string_view id) override {
    if (c == "securityhub.finding") ++finding_gets;
    return inner_->Get(c, p, id);
  }
  Result<std::vector<store::Document>> List(std::string_view c, std::string_view p,
                                            const store::ListOptions& o) override {
    if (c == "securityhub.finding") ++finding_lists;
    return inner_->List(c, p, o);
  }
  Result<std::vector<store::Document>> ListDue(std::string_view c, int64_t now_ms,
                                               size_t limit) override {
    return inner_->ListDue(c, now_ms, limit);
  }
  Result<std::vector<int64_t>> Commit(const std::vector<store::Mutation>& m) override {
    return inner_->Commit(m);
  }
  Status Scrub() override { return inner_->Scrub(); }

 private:
  std::unique_ptr<store::MetadataStore> inner_;
};

class FindingsEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hangar-findings-test-" + NewRequestId());
    fs::create_directories(dir_);
    auto sqlite = std::move(store::SqliteMetadataStore::Open((dir_ / "m.db").string())).value();
    auto counting = std::make_unique<ListCountingStore>(std::move(sqlite));
    counting_ = counting.get();
    metadata_ = std::move(counting);
    store_ = std::make_unique<FindingStore>(*metadata_);
    engine_ = std::make_unique<FindingsEngine>(*store_, facts_, clock_, DetectionOptions{});
    api_ = std::make_unique<SecurityHubApi>(
        *store_, *engine_, [](const auth::RequestContext&, std::string_view) { return Status::Ok(); });
    ctx_.principal.account_id = std::string(kAccount);
    ctx_.now = clock_.Now();
    facts_.keys[kKeyArn] = KeyFacts{kKeyArn, std::string(kAccount), "us-east-1", "Enabled"};
  }
  void TearDown() override {
    engine_.reset();
    metadata_.reset();
    fs::remove_all(dir_);
  }
  json GetFindings(const std::string& body) {
    auto out = api_->Call(ctx_, "POST", "/findings", body);
    EXPECT_TRUE(out.ok()) << out.status().message();
    return out.ok() ? json::parse(*out) : json();
  }
  json Kms3() {
    json r = GetFindings(
        R"({"Filters":{"ComplianceSecurityControlId":[{"Value":"KMS.3","Comparison":"EQUALS"}]}})");
    return r["Findings"].empty() ? json() : r["Findings"][0];
  }

  fs::path dir_;
  OffsetClock clock_{FromUnixMillis(1767225600000)};
  TestFacts facts_;
  std::unique_ptr<store::MetadataStore> metadata_;
  ListCountingStore* counting_ = nullptr;  // metadata_
  std::unique_ptr<FindingStore> store_;
  std::unique_ptr<FindingsEngine> engine_;
  std::unique_ptr<SecurityHubApi> api_;
  auth::RequestContext ctx_;
};

TEST_F(FindingsEngineTest, AKeyScheduledForDeletionFailsKms3AndPassesAfterCancel) {
  ASSERT_TRUE(engine_->EvaluateAll().ok());
  EXPECT_EQ(Kms3()["Compliance"]["Status"], "PASSED");
  facts_.keys[kKeyArn].state = "PendingDeletion";
  engine_->Observe(Event("kms.amazonaws.com", "ScheduleKeyDeletion"));
  json kms3 = Kms3();
  EXPECT_EQ(kms3["Compliance"]["Status"], "FAILED");
  EXPECT_EQ(kms3["RecordState"], "ACTIVE");
  EXPECT_EQ(kms3["Severity"]["Label"], "CRITICAL");
  EXPECT_EQ(kms3["Resources"][0]["Id"], kKeyArn);
  EXPECT_EQ(kms3["ProductArn"], "arn:aws:securityhub:us-east-1::product/aws/securityhub");
  // The detection for the scheduling itself.
  json detections = GetFindings(
      R"({"Filters":{"GeneratorId":[{"Value":"hangar-detection/","Comparison":"PREFIX"}]}})");
  ASSERT_EQ(detections["Findings"].size(), 1u);
  EXPECT_EQ(detections["Findings"][0]["GeneratorId"],
            "hangar-detection/Impact:KMS/KeyDisabledOrScheduledForDeletion");
  facts_.keys[kKeyArn].state = "Disabled";
  engine_->Observe(Event("kms.amazonaws.com", "CancelKeyDeletion"));
  kms3 = Kms3();
  EXPECT_EQ(kms3["Compliance"]["Status"], "PASSED");
  EXPECT_EQ(kms3["RecordState"], "ARCHIVED");
  EXPECT_EQ(kms3["Workflow"]["Status"], "RESOLVED");
}

TEST_F(FindingsEngineTest, ADestroyedKeyArchivesItsFindings) {
  ASSERT_TRUE(engine_->EvaluateAll().ok());
  EXPECT_EQ(GetFindings(R"({"Filters":{"RecordState":[{"Value":"ACTIVE","Comparison":"EQUALS"}]}})")
                ["Findings"].size(), 1u) << "KMS.4: rotation off";
  facts_.keys.clear();
  AuditEvent deleted = Event("kms.amazonaws.com", "DeleteKey");
  deleted.principal.reset();
  deleted.event_type = "AwsServiceEvent";
  const int lists_before = counting_->finding_lists.load();
  engine_->Observe(deleted);
  engine_->Flush();
  EXPECT_EQ(counting_->finding_lists.load(), lists_before)
      << "archived by id: the account's other findings are not read";
  EXPECT_TRUE(GetFindings(R"({"Filters":{"RecordState":[{"Value":"ACTIVE","Comparison":"EQUALS"}]}})")
                  ["Findings"].empty());
}

// Holds the findings worker inside its first call to the facts until released, so that what the
// test observes meanwhile reaches the worker as one batch.
class WorkerGate {
 public:
  explicit WorkerGate(TestFacts& facts) : facts_(facts) {
    facts_.on_call = [this] {
      if (entered_.exchange(true)) return;
      inside_.set_value();
      release_.get_future().wait();
    };
  }
  ~WorkerGate() { facts_.on_call = nullptr; }
  void WaitUntilInside() { inside_.get_future().wait(); }
  void Release() { release_.set_value(); }

 private:
  TestFacts& facts_;
  std::atomic<bool> entered_{false};
  std::promise<void> inside_;
  std::promise<void> release_;
};

TEST_F(FindingsEngineTest, ABacklogCostsOneLookPerResourceNotOnePerEvent) {
  // bench/soak.py: every IAM change re-read every user and every finding of the account, a steady
  // load outran the worker and its queue (and the server's memory) grew without bound.
  WorkerGate gate(facts_);
  engine_->Observe(Event("iam.amazonaws.com", "CreateUser"));
  gate.WaitUntilInside();
  for (int i = 0; i < 100; ++i) engine_->Observe(Event("iam.amazonaws.com", "PutUserPolicy"));
  gate.Release();
  engine_->Flush();
  EXPECT_EQ(facts_.users_calls.load(), 2) << "one look for the first event, one for the batch";
}

TEST_F(FindingsEngineTest, ADeletedUsersFindingIsArchivedWithoutReadingEveryFinding) {
  // bench/soak.py: each IAM change read every finding of the account, archived ones of every user
  // ever made included, and the worker fell further behind the longer the server ran.
  UserFacts user{"arn:aws:iam::111122223333:user/churn", "churn", std::string(kAccount),
                 "us-east-1", 0, 1};
  facts_.users = {user};
  engine_->Observe(Event("iam.amazonaws.com", "PutUserPolicy"));
  auto iam2 = [&] {
    return GetFindings(R"({"Filters":{"ComplianceSecurityControlId":[{"Value":"IAM.2",)"
                       R"("Comparison":"EQUALS"}]}})")["Findings"];
  };
  ASSERT_EQ(iam2().size(), 1u);
  EXPECT_EQ(iam2()[0]["RecordState"], "ACTIVE") << "an inline policy of its own";

  const size_t remembered = engine_->RememberedResourcesForTest();
  facts_.users.clear();
  const int lists_before = counting_->finding_lists.load();
  engine_->Observe(Event("iam.amazonaws.com", "DeleteUser"));
  engine_->Flush();
  EXPECT_EQ(counting_->finding_lists.load(), lists_before);
  ASSERT_EQ(iam2().size(), 1u);
  EXPECT_EQ(iam2()[0]["RecordState"], "ARCHIVED");
  // The user's entry went with it: later IAM changes do not look at its findings again, and the
  // engine's memory does not grow with every user ever made.
  const int gets_before = counting_->finding_gets.load();
  engine_->Observe(Event("iam.amazonaws.com", "CreateUser"));
  engine_->Flush();
  EXPECT_EQ(counting_->finding_gets.load(), gets_before);
  EXPECT_EQ(engine_->RememberedResourcesForTest(), remembered - 1);
}

TEST_F(FindingsEngineTest, InABatchTheLastWordOnAKeyDecides) {
  ASSERT_TRUE(engine_->EvaluateAll().ok());
  facts_.keys[kKeyArn].state = "PendingDeletion";
  const int before = facts_.key_calls.load();
  {
    WorkerGate gate(facts_);
    engine_->Observe(Event("kms.amazonaws.com", "ScheduleKeyDeletion"));
    gate.WaitUntilInside();
    // The key is destroyed at the end of its waiting period while the worker is busy: the
    // service event comes after further changes to the same key, in one batch.
    engine_->Observe(Event("kms.amazonaws.com", "TagResource"));
    AuditEvent deleted = Event("kms.amazonaws.com", "DeleteKey");
    deleted.principal.reset();
    deleted.event_type = "AwsServiceEvent";
    engine_->Observe(deleted);
    gate.Release();
    engine_->Flush();
  }
  EXPECT_EQ(facts_.key_calls.load() - before, 1) << "the TagResource look gave way to the archive";
  // The key is still in the facts (pending): only the archive puts KMS.3 away.
  EXPECT_EQ(Kms3()["RecordState"], "ARCHIVED");
}

TEST_F(FindingsEngineTest, FiltersCombineAsSecurityHubSaysAndPagesAreStable) {
  ASSERT_TRUE(engine_->EvaluateAll().ok());  // KMS.3, KMS.4, KMS.5 for the key
  // Same field: positive filters OR together.
  json r = GetFindings(R"({"Filters":{"ComplianceSecurityControlId":[
      {"Value":"KMS.3","Comparison":"EQUALS"},{"Value":"KMS.4","Comparison":"EQUALS"}]}})");
  EXPECT_EQ(r["Findings"].size(), 2u);
  // Negative filters AND together.
  r = GetFindings(R"({"Filters":{"ComplianceSecurityControlId":[
      {"Value":"KMS.3","Comparison":"NOT_EQUALS"},{"Value":"KMS.4","Comparison":"NOT_EQUALS"}]}})");
  ASSERT_EQ(r["Findings"].size(), 1u);
  EXPECT_EQ(r["Findings"][0]["Compliance"]["SecurityControlId"], "KMS.5");
  // Different fields AND together.
  r = GetFindings(R"({"Filters":{"ComplianceStatus":[{"Value":"FAILED","Comparison":"EQUALS"}],
      "SeverityLabel":[{"Value":"MEDIUM","Comparison":"EQUALS"}]}})");
  ASSERT_EQ(r["Findings"].size(), 1u);
  EXPECT_EQ(r["Findings"][0]["Compliance"]["SecurityControlId"], "KMS.4");
  // Paging.
  std::set<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    json body{{"MaxResults", 1}};
    if (!token.empty()) body["NextToken"] = token;
    r = GetFindings(body.dump());
    for (const json& f : r["Findings"]) seen.insert(f["Id"].get<std::string>());
    token = r.value("NextToken", std::string());
    ++pages;
  } while (!token.empty() && pages < 10);
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen.size(), 3u);
  // Unknown filter fields are refused rather than ignored (which would widen the answer).
  EXPECT_EQ(api_->Call(ctx_, "POST", "/findings", R"({"Filters":{"Nope":[]}})").status().code(),
            ErrorCode::kSecurityHubInvalidInput);
  // Another account sees nothing.
  auth::RequestContext other = ctx_;
  other.principal.account_id = "444455556666";
  EXPECT_TRUE(json::parse(*api_->Call(other, "POST", "/findings", "{}"))["Findings"].empty());
}

TEST_F(FindingsEngineTest, BatchUpdateSetsWorkflowAndNoteAndReevaluationKeepsThem) {
  facts_.keys[kKeyArn].state = "PendingDeletion";
  ASSERT_TRUE(engine_->EvaluateAll().ok());
  json kms3 = Kms3();
  json update{{"FindingIdentifiers", {{{"Id", kms3["Id"]}, {"ProductArn", kms3["ProductArn"]}},
                                      {{"Id", "nope"}, {"ProductArn", kms3["ProductArn"]}}}},
              {"Workflow", {{"Status", "NOTIFIED"}}},
              {"Note", {{"Text", "asked the key owner"}, {"UpdatedBy", "secops"}}}};
  auto out = api_->Call(ctx_, "PATCH", "/findings/batchupdate", update.dump());
  ASSERT_TRUE(out.ok()) << out.status().message();
  json response = json::parse(*out);
  EXPECT_EQ(response["ProcessedFindings"].size(), 1u);
  ASSERT_EQ(response["UnprocessedFindings"].size(), 1u);
  EXPECT_EQ(response["UnprocessedFindings"][0]["ErrorCode"], "FindingNotFound");
  engine_->Observe(Event("kms.amazonaws.com", "PutKeyPolicy"));  // re-evaluated, still failing
  kms3 = Kms3();
  EXPECT_EQ(kms3["Workflow"]["Status"], "NOTIFIED");
  EXPECT_EQ(kms3["Note"]["Text"], "asked the key owner");
}

TEST_F(FindingsEngineTest, RootDataAccessIsSampledButCountedInFull) {
  AuditEvent e = Event("kms.amazonaws.com", "GenerateDataKey");
  e.principal->type = auth::PrincipalType::kRoot;
  e.principal->arn = "arn:aws:iam::111122223333:root";
  e.read_only = true;
  int queued = 0;
  for (int i = 0; i < 100; ++i) {
    e.event_id = NewRequestId();
    if (engine_->Sample(e)) {
      ++queued;
      engine_->Observe(e);
    }
  }
  EXPECT_EQ(queued, 20) << "at most 20 a second are queued";
  e.event_time += std::chrono::seconds(1);  // the next second: queued, carrying the 80 others
  ASSERT_TRUE(engine_->Sample(e));
  engine_->Observe(e);
  json r = GetFindings(R"({"Filters":{"GeneratorId":[{"Value":"RootCredentialUsage","Comparison":"CONTAINS"}]}})");
  ASSERT_EQ(r["Findings"].size(), 1u);
  EXPECT_EQ(r["Findings"][0]["ProductFields"]["hangar/Count"], "101");
  // A root deletion is never sampled away (mass deletion counts each).
  AuditEvent deletion = Event("s3.amazonaws.com", "DeleteObject");
  deletion.principal = e.principal;
  deletion.management_event = false;
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(engine_->Sample(deletion));
}

}  // namespace
}  // namespace hangar::audit
