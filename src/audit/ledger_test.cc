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
  AuditLedger& Node(std::string name, std::chrono::seconds retention = {}) {
    LedgerOptions o{std::move(name), "111122223333"};
    o.digest_interval = std::chrono::hours(24 * 365);
    o.retention = retention;
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

// Retention of one day: digests 1 (entries 1-2) and 2 (entries 3-4) are two days older than
// digest 3 (entry 5), which cuts them.
class AuditLedgerRetentionTest : public AuditLedgerTest {
 protected:
  void ThreeDigestsThenACut() {
    AuditLedger& node = Node("a", std::chrono::hours(24));
    for (int digest = 0; digest < 2; ++digest) {
      ASSERT_TRUE(node.Record(Event("Encrypt")).ok());
      ASSERT_TRUE(node.Record(Event("Decrypt")).ok());
      ASSERT_TRUE(node.DigestNow().ok());
      clock_.Advance(std::chrono::hours(1));
    }
    auto first = store_->Get("audit.ledger", "", Position(1));
    ASSERT_TRUE(first.ok() && first->has_value());
    first_entry_ = (*first)->body;
    clock_.Advance(std::chrono::hours(48));
    ASSERT_TRUE(node.Record(Event("ScheduleKeyDeletion")).ok());
    ASSERT_TRUE(node.DigestNow().ok());
  }
  bool Exists(std::string_view collection, int n) {
    auto doc = store_->Get(collection, "", Position(n));
    EXPECT_TRUE(doc.ok());
    return doc.ok() && doc->has_value();
  }
  std::string first_entry_;
};

TEST_F(AuditLedgerRetentionTest, OldDigestsGoWithTheirEntriesAndTheRestStillVerifies) {
  ThreeDigestsThenACut();
  EXPECT_FALSE(Exists("audit.digest", 1));
  EXPECT_FALSE(Exists("audit.digest", 2));
  EXPECT_TRUE(Exists("audit.digest", 3)) << "the newest digest is always kept";
  for (int n = 1; n <= 4; ++n) EXPECT_FALSE(Exists("audit.ledger", n)) << n;
  EXPECT_TRUE(Exists("audit.ledger", 5));
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok()) << Problems(r);
  EXPECT_EQ(r.logs_checked, 1);
  EXPECT_EQ(r.digests_checked, 1);
  int records = 0;
  ASSERT_TRUE(ForEachLedgerRecord(*store_, std::nullopt, std::nullopt, [&](std::string_view) {
                ++records;
                return true;
              }).ok());
  EXPECT_EQ(records, 1);
}

TEST_F(AuditLedgerRetentionTest, NothingIsCutWithoutRetentionOrBeforeItsTime) {
  AuditLedger& keeps = Node("keeps");
  ASSERT_TRUE(keeps.Record(Event("Encrypt")).ok());
  ASSERT_TRUE(keeps.DigestNow().ok());
  AuditLedger& young = Node("young", std::chrono::hours(24));
  clock_.Advance(std::chrono::hours(23));
  ASSERT_TRUE(young.Record(Event("Decrypt")).ok());
  ASSERT_TRUE(young.DigestNow().ok());
  EXPECT_TRUE(Exists("audit.digest", 1)) << "23 hours old, retention one day";
  EXPECT_TRUE(Exists("audit.ledger", 1));
  clock_.Advance(std::chrono::hours(48));
  ASSERT_TRUE(keeps.Record(Event("Decrypt")).ok());
  ASSERT_TRUE(keeps.DigestNow().ok());
  EXPECT_TRUE(Exists("audit.digest", 1)) << "a node without retention cuts nothing";
}

TEST_F(AuditLedgerRetentionTest, AKeptDigestOrEntryRemovedOrAlteredAfterTheCutIsNamed) {
  ThreeDigestsThenACut();
  Rewrite("audit.ledger", Position(5), [](std::string& body) { body += "{\"forged\":1}\n"; });
  VerifyReport altered = Verify();
  EXPECT_NE(Problems(altered).find("ledger entry 5 was altered"), std::string::npos)
      << Problems(altered);
  ASSERT_TRUE(store_->Commit({store::Mutation::Delete("audit.digest", "", Position(3))}).ok());
  VerifyReport deleted = Verify();
  EXPECT_NE(Problems(deleted).find("digest " + Position(3) +
                                   ", the first one the retention cut kept, is missing"),
            std::string::npos)
      << Problems(deleted);
}

TEST_F(AuditLedgerRetentionTest, AnAlteredMarkerIsNamed) {
  ThreeDigestsThenACut();
  Rewrite("audit.retention", "marker", [](std::string& body) {
    body.replace(body.find("\"firstPosition\":5"), 17, "\"firstPosition\":4");
  });
  VerifyReport r = Verify();
  EXPECT_NE(Problems(r).find("the retention marker was altered"), std::string::npos)
      << Problems(r);
}

// A cut would take the evidence with it: over a chain someone broke, it is refused, and verify
// still names the deleted digest.
TEST_F(AuditLedgerRetentionTest, NoCutOverABrokenChain) {
  AuditLedger& node = Node("a", std::chrono::hours(24));
  for (int digest = 0; digest < 3; ++digest) {
    ASSERT_TRUE(node.Record(Event("Encrypt")).ok());
    ASSERT_TRUE(node.DigestNow().ok());
    clock_.Advance(std::chrono::hours(1));
  }
  ASSERT_TRUE(store_->Commit({store::Mutation::Delete("audit.digest", "", Position(2))}).ok());
  clock_.Advance(std::chrono::hours(48));
  ASSERT_TRUE(node.Record(Event("Decrypt")).ok());
  ASSERT_TRUE(node.DigestNow().ok());
  EXPECT_TRUE(Exists("audit.digest", 1)) << "not cut";
  EXPECT_TRUE(Exists("audit.ledger", 1));
  auto marker = store_->Get("audit.retention", "", "marker");
  ASSERT_TRUE(marker.ok());
  EXPECT_FALSE(marker->has_value());
  VerifyReport r = Verify();
  EXPECT_NE(Problems(r).find("digest " + Position(3) + " does not link to digest " + Position(1)),
            std::string::npos)
      << Problems(r);
}

TEST_F(AuditLedgerRetentionTest, ADocumentSlippedInBelowTheCutGoesWithIt) {
  ASSERT_TRUE(store_
                  ->Commit({store::Mutation::Create(
                      {"audit.ledger", "", "0-slipped-in", "{}\n{\"forged\":1}\n", 0, 0})})
                  .ok());
  ThreeDigestsThenACut();
  auto slipped = store_->Get("audit.ledger", "", "0-slipped-in");
  ASSERT_TRUE(slipped.ok());
  EXPECT_FALSE(slipped->has_value());
  for (int n = 1; n <= 4; ++n) EXPECT_FALSE(Exists("audit.ledger", n)) << n;
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok()) << Problems(r);
}

TEST_F(AuditLedgerRetentionTest, ACutACrashInterruptedIsSkippedByVerifyAndFinishedByTheNext) {
  ThreeDigestsThenACut();
  // As if the node died after the marker, before deleting entry 1.
  ASSERT_TRUE(store_
                  ->Commit({store::Mutation::Create(
                      {"audit.ledger", "", Position(1), first_entry_, 0, 0})})
                  .ok());
  VerifyReport r = Verify();
  EXPECT_TRUE(r.ok()) << Problems(r);
  ASSERT_TRUE(nodes_.back()->DigestNow().ok());
  EXPECT_FALSE(Exists("audit.ledger", 1));
}

// Digests an hour apart over entries 1-2, 3-4 and 5-6; entry 1 altered. A window after the first
// digest does not read entry 1 (and links entry 3 to the hash the first digest signed); one that
// reaches back to it names it.
TEST_F(AuditLedgerTest, AWindowChecksTheEntriesOfTheDigestsInIt) {
  AuditLedger& node = Node("a");
  std::vector<TimePoint> digested;
  for (int digest = 0; digest < 3; ++digest) {
    ASSERT_TRUE(node.Record(Event("Encrypt")).ok());
    ASSERT_TRUE(node.Record(Event("Decrypt")).ok());
    ASSERT_TRUE(node.DigestNow().ok());
    digested.push_back(clock_.Now());
    clock_.Advance(std::chrono::hours(1));
  }
  Rewrite("audit.ledger", Position(1), [](std::string& body) { body += "{\"forged\":1}\n"; });
  auto key = LedgerPublicKey(*store_, root_key_.get());
  ASSERT_TRUE(key.ok());
  auto verify = [&](LedgerWindow window) {
    return VerifyLedger(*store_, *key, clock_.Now(), kInterval, window);
  };
  ASSERT_FALSE(verify({}).ok());

  const auto minute = std::chrono::minutes(1);
  VerifyReport later = verify({digested[0] + minute, std::nullopt});
  EXPECT_TRUE(later.ok()) << Problems(later);
  EXPECT_EQ(later.logs_checked, 4);
  VerifyReport middle = verify({digested[0] + minute, digested[1] - minute});
  EXPECT_TRUE(middle.ok()) << Problems(middle);
  EXPECT_EQ(middle.logs_checked, 2) << "entries 3 and 4, under the second digest";
  VerifyReport early = verify({std::nullopt, digested[0] - minute});
  EXPECT_NE(Problems(early).find("ledger entry 1 was altered"), std::string::npos)
      << Problems(early);
  EXPECT_EQ(early.logs_checked, 2);

  // An entry of the window deleted is named, also at the window's end.
  ASSERT_TRUE(store_->Commit({store::Mutation::Delete("audit.ledger", "", Position(4))}).ok());
  VerifyReport gap = verify({digested[0] + minute, digested[1] - minute});
  EXPECT_NE(Problems(gap).find("ledger entries 4 to 4 are missing"), std::string::npos)
      << Problems(gap);
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

// Counts the ledger entries a reader fetched.
class EntryCountingStore final : public store::MetadataStore {
 public:
  explicit EntryCountingStore(store::MetadataStore& inner) : inner_(inner) {}
  int entries_read = 0;

  Result<std::optional<store::Document>> Get(std::string_view c, std::string_view p,
                                             std::string_view id) override {
    auto doc = inner_.Get(c, p, id);
    if (c == "audit.ledger" && doc.ok() && doc->has_value()) ++entries_read;
    return doc;
  }
  Result<std::vector<store::Document>> List(std::string_view c, std::string_view p,
                                            const store::ListOptions& o) override {
    auto docs = inner_.List(c, p, o);
    if (c == "audit.ledger" && docs.ok()) entries_read += static_cast<int>(docs->size());
    return docs;
  }
  Result<std::vector<store::Document>> ListDue(std::string_view c, int64_t now_ms,
                                               size_t limit) override {
    return inner_.ListDue(c, now_ms, limit);
  }
  Result<std::vector<int64_t>> Commit(const std::vector<store::Mutation>& m) override {
    return inner_.Commit(m);
  }
  Status Scrub() override { return inner_.Scrub(); }

 private:
  store::MetadataStore& inner_;
};

// 300 entries a minute apart; a window around the tenth is found without reading the 290 after it
// (it read them all, back from the head).
TEST_F(AuditLedgerTest, LookupOfAnOldWindowDoesNotReadTheLedgerBackFromItsHead) {
  AuditLedger& node = Node("a");
  TimePoint tenth;
  for (int i = 1; i <= 300; ++i) {
    clock_.Advance(std::chrono::minutes(1));
    if (i == 10) tenth = clock_.Now();
    ASSERT_TRUE(node.Record(Event("Op" + std::to_string(i))).ok());
  }
  EntryCountingStore counting(*store_);
  LookupQuery q;
  q.account_id = "111122223333";
  q.start = tenth - std::chrono::seconds(30);
  q.end = tenth + std::chrono::seconds(30);
  auto got = LookupLedger(counting, q);
  ASSERT_TRUE(got.ok()) << got.status().message();
  ASSERT_EQ(got->records.size(), 1u);
  EXPECT_EQ(json::parse(got->records[0])["eventName"], "Op10");
  EXPECT_LT(counting.entries_read, 40);

  // Records that end the window at its last second are found too, and paging still works.
  q.start = std::nullopt;
  q.max_results = 4;
  std::vector<std::string> seen;
  for (int page = 0; page < 5; ++page) {
    auto p = LookupLedger(*store_, q);
    ASSERT_TRUE(p.ok());
    for (const auto& r : p->records) seen.push_back(json::parse(r)["eventName"]);
    if (p->next_token.empty()) break;
    q.next_token = p->next_token;
  }
  ASSERT_EQ(seen.size(), 10u);
  EXPECT_EQ(seen.front(), "Op10");
  EXPECT_EQ(seen.back(), "Op1");
}

}  // namespace
}  // namespace hangar::audit
