// AuditLedger on the embedded SQLite store (the ledger knows only MetadataStore; cluster mode puts
// it on PostgreSQL, where e2e-cluster.cluster runs it across nodes).
#include "audit/ledger.h"

#include <filesystem>
#include <functional>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "crypto/random.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace hangar::audit {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr std::chrono::seconds kInterval = std::chrono::hours(1);

class AuditLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("hangar-ledger-test-" + NewRequestId());
    fs::create_directories(dir_);
    store_ = std::move(store::SqliteMetadataStore::Open((dir_ / "m.db").string())).value();
  }
  void TearDown() override {
    nodes_.clear();
    store_.reset();
    fs::remove_all(dir_);
  }
  // Another node on the same store. Digests only when a test asks (DigestNow).
  AuditLedger& Node(std::string name) {
    LedgerOptions o{std::move(name), "111122223333"};
    o.digest_interval = std::chrono::hours(24 * 365);
    auto opened = AuditLedger::Open(*store_, o, *root_key_, clock_);
    EXPECT_TRUE(opened.ok()) << opened.status().message();
    nodes_.push_back(std::move(opened).value());
    return *nodes_.back();
  }
  AuditEvent Event(std::string name) {
    AuditEvent e;
    e.event_time = clock_.Now();
    e.event_id = NewRequestId();
    e.event_source = "kms.amazonaws.com";
    e.event_name = std::move(name);
    e.region = "us-east-1";
    auth::Principal p;
    p.type = auth::PrincipalType::kRoot;
    p.account_id = "111122223333";
    p.arn = "arn:aws:iam::111122223333:root";
    e.principal = p;
    e.account_id = "111122223333";
    e.request_id = NewRequestId();
    return e;
  }
  VerifyReport Verify() {
    auto key = LedgerPublicKey(*store_, root_key_.get());
    EXPECT_TRUE(key.ok()) << key.status().message();
    return VerifyLedger(*store_, key.ok() ? *key : "", clock_.Now(), kInterval);
  }
  static std::string Problems(const VerifyReport& r) {
    std::string all;
    for (const auto& p : r.problems) all += p + "\n";
    return all;
  }
  // Three entries (one record each) and a digest over them.
  void ThreeDigestedEntries() {
    AuditLedger& node = Node("a");
    for (const char* name : {"CreateKey", "Encrypt", "Decrypt"}) {
      ASSERT_TRUE(node.Record(Event(name)).ok());
    }
    ASSERT_TRUE(node.DigestNow().ok());
    VerifyReport clean = Verify();
    ASSERT_TRUE(clean.ok()) << Problems(clean);
    ASSERT_EQ(clean.logs_checked, 3);
    ASSERT_EQ(clean.digests_checked, 1);
  }
  void Rewrite(std::string_view collection, std::string_view id,
               const std::function<void(std::string&)>& change) {
    auto doc = store_->Get(collection, "", id);
    ASSERT_TRUE(doc.ok() && doc->has_value()) << id;
    std::string body = (*doc)->body;
    change(body);
    ASSERT_TRUE(store_
                    ->Commit({store::Mutation::Upsert(
                        {std::string(collection), "", std::string(id), body, 0, 0})})
                    .ok());
  }
  static std::string Position(int n) {
    std::string id = std::to_string(n);
    return std::string(20 - id.size(), '0') + id;
  }

  fs::path dir_;
  std::unique_ptr<store::SqliteMetadataStore> store_;
  std::unique_ptr<crypto::RootKey> root_key_ = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
  OffsetClock clock_{FromUnixMillis(1767225600000)};  // 2026-01-01T00:00:00Z
  std::vector<std::unique_ptr<AuditLedger>> nodes_;
};

TEST_F(AuditLedgerTest, NodesAppendToOneChainThatVerifiesAndADigestCoversIt) {
  AuditLedger& a = Node("node-a");
  AuditLedger& b = Node("node-b");  // finds the digest key node-a made
  constexpr int kPerThread = 40;
  std::vector<std::thread> threads;
  for (AuditLedger* node : {&a, &b, &a, &b}) {
    threads.emplace_back([&, node] {
      for (int i = 0; i < kPerThread; ++i) ASSERT_TRUE(node->Record(Event("Encrypt")).ok());
    });
  }
  for (auto& t : threads) t.join();
  int records = 0;
  std::set<std::string> ids;
  ASSERT_TRUE(ForEachLedgerRecord(*store_, std::nullopt, std::nullopt, [&](std::string_view r) {
                ids.insert(json::parse(r)["eventID"].get<std::string>());
                ++records;
                return true;
              }).ok());
  EXPECT_EQ(records, 4 * kPerThread);
  EXPECT_EQ(ids.size(), 4u * kPerThread) << "every record once";
  VerifyReport before = Verify();
  EXPECT_TRUE(before.ok()) << Problems(before);
  EXPECT_EQ(before.digests_checked, 0);
  EXPECT_EQ(before.undigested.size(), 1u) << "nothing signed yet";
  ASSERT_TRUE(b.DigestNow().ok());
  VerifyReport after = Verify();
  EXPECT_TRUE(after.ok()) << Problems(after);
  EXPECT_EQ(after.digests_checked, 1);
  EXPECT_TRUE(after.undigested.empty());
  ASSERT_TRUE(a.DigestNow().ok());
  EXPECT_EQ(Verify().digests_checked, 1) << "nothing new: no second digest";
}

TEST_F(AuditLedgerTest, AnAlteredEntryIsNamed) {
  ThreeDigestedEntries();
  Rewrite("audit.ledger", Position(2), [](std::string& body) {
    body.replace(body.find("Encrypt"), 7, "Decrypt");
  });
  VerifyReport r = Verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(Problems(r).find("ledger entry 2 was altered"), std::string::npos) << Problems(r);
}

TEST_F(AuditLedgerTest, ADeletedEntryIsNamed) {
  ThreeDigestedEntries();
  ASSERT_TRUE(store_->Commit({store::Mutation::Delete("audit.ledger", "", Position(2))}).ok());
  VerifyReport r = Verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(Problems(r).find("ledger entries 2 to 2 are missing (deleted)"), std::string::npos)
      << Problems(r);
}

TEST_F(AuditLedgerTest, AnEntryInsertedAfterTheHeadOrTheLastOneAlteredIsNamed) {
  ThreeDigestedEntries();
  auto last = store_->Get("audit.ledger", "", Position(3));
  ASSERT_TRUE(last.ok() && last->has_value());
  ASSERT_TRUE(store_
                  ->Commit({store::Mutation::Create(
                      {"audit.ledger", "", Position(4), (*last)->body, 0, 0})})
                  .ok());
  VerifyReport r = Verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(Problems(r).find("the ledger's head names entry 3 but the ledger ends at entry 4"),
            std::string::npos)
      << Problems(r);
}

TEST_F(AuditLedgerTest, AnAlteredDigestIsNamed) {
  ThreeDigestedEntries();
  Rewrite("audit.digest", Position(1), [](std::string& body) {
    body.replace(body.find("\"position\":3"), 12, "\"position\":2");
  });
  VerifyReport r = Verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(Problems(r).find("digest " + Position(1) + " was altered"), std::string::npos)
      << Problems(r);
}

TEST_F(AuditLedgerTest, ADeletedDigestBreaksTheNextOnesLink) {
  AuditLedger& node = Node("a");
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(node.Record(Event("Encrypt")).ok());
    ASSERT_TRUE(node.DigestNow().ok());
  }
  ASSERT_TRUE(Verify().ok());
  ASSERT_TRUE(store_->Commit({store::Mutation::Delete("audit.digest", "", Position(2))}).ok());
  VerifyReport r = Verify();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(Problems(r).find("digest " + Position(3) + " does not link to digest " + Position(1)),
            std::string::npos)
      << Problems(r);
}

// Deleting every digest (or the newest) would otherwise leave a chain that verifies: a node signs
// one every interval, so old entries that none covers are a problem.
TEST_F(AuditLedgerTest, EntriesLeftUncoveredPastTheDigestIntervalAreAProblem) {
  ThreeDigestedEntries();
  ASSERT_TRUE(store_->Commit({store::Mutation::Delete("audit.digest", "", Position(1))}).ok());
  VerifyReport fresh = Verify();
  EXPECT_TRUE(fresh.ok()) << "the next digest may still come: " << Problems(fresh);
  clock_.Advance(kInterval + std::chrono::minutes(16));
  VerifyReport stale = Verify();
  ASSERT_FALSE(stale.ok());
  EXPECT_NE(Problems(stale).find("ledger entries 1 to 3 are older than the digest interval"),
            std::string::npos)
      << Problems(stale);
}

// A digest written by someone without the key neither stops the chain nor is linked to.
TEST_F(AuditLedgerTest, AForgedDigestDoesNotStopTheNodesDigests) {
  AuditLedger& node = Node("a");
  ASSERT_TRUE(node.Record(Event("Encrypt")).ok());
  ASSERT_TRUE(node.DigestNow().ok());
  ASSERT_TRUE(store_
                  ->Commit({store::Mutation::Create(
                      {"audit.digest", "", Position(2), "{\"position\":\"x\"}\nabcd", 0, 0})})
                  .ok());
  ASSERT_TRUE(node.Record(Event("Decrypt")).ok());
  ASSERT_TRUE(node.DigestNow().ok()) << "a malformed digest must not stop the signer";
  auto third = store_->Get("audit.digest", "", Position(3));
  ASSERT_TRUE(third.ok() && third->has_value()) << "the next digest was signed";
  EXPECT_NE((*third)->body.find(Position(1)), std::string::npos) << "linked to the real one";
  VerifyReport r = Verify();
  EXPECT_NE(Problems(r).find("digest " + Position(2) + " was altered"), std::string::npos)
      << Problems(r);
}

TEST_F(AuditLedgerTest, LookupReadsNewestFirstAcrossNodesInPages) {
  AuditLedger& a = Node("a");
  AuditLedger& b = Node("b");
  std::vector<std::string> names;
  for (int i = 0; i < 7; ++i) {
    names.push_back("Op" + std::to_string(i));
    clock_.Advance(std::chrono::seconds(1));
    ASSERT_TRUE((i % 2 ? b : a).Record(Event(names.back())).ok());
  }
  LookupQuery q;
  q.account_id = "111122223333";
  q.max_results = 3;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto got = LookupLedger(*store_, q);
    ASSERT_TRUE(got.ok()) << got.status().message();
    for (const auto& r : got->records) seen.push_back(json::parse(r)["eventName"]);
    if (got->next_token.empty()) break;
    q.next_token = got->next_token;
  }
  EXPECT_EQ(seen, std::vector<std::string>(names.rbegin(), names.rend()));
  q.next_token = "not-a-token";
  EXPECT_EQ(LookupLedger(*store_, q).status().code(), ErrorCode::kCloudTrailInvalidNextToken);
  LookupQuery named;
  named.account_id = "111122223333";
  named.attribute = std::make_pair(std::string("EventName"), std::string("Op4"));
  auto one = LookupLedger(*store_, named);
  ASSERT_TRUE(one.ok());
  ASSERT_EQ(one->records.size(), 1u);
  LookupQuery other_account;
  other_account.account_id = "444455556666";
  EXPECT_TRUE(LookupLedger(*store_, other_account)->records.empty());
}

}  // namespace
}  // namespace hangar::audit
