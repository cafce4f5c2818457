#include "store/sqlite/sqlite_metadata_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

namespace hangar::store {
namespace {

class SqliteMetadataStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    store_.reset();
    auto s = SqliteMetadataStore::Open((dir_ / "meta.db").string());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  static Document Doc(std::string id, std::string body, int64_t due = 0) {
    return Document{"c", "p", std::move(id), std::move(body), 0, due};
  }
  std::filesystem::path dir_;
  std::unique_ptr<SqliteMetadataStore> store_;
};

TEST_F(SqliteMetadataStoreTest, CreateThenGetReturnsBodyAndRevisionOne) {
  auto revs = store_->Commit({Mutation::Create(Doc("a", "body-a"))});
  ASSERT_TRUE(revs.ok());
  EXPECT_EQ((*revs)[0], 1);
  auto got = store_->Get("c", "p", "a");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->body, "body-a");
  EXPECT_EQ((*got)->revision, 1);
  EXPECT_FALSE(store_->Get("c", "p", "missing")->has_value());
  EXPECT_FALSE(store_->Get("c", "other", "a")->has_value());
}

TEST_F(SqliteMetadataStoreTest, CreateOfAnExistingDocumentConflicts) {
  ASSERT_TRUE(store_->Commit({Mutation::Create(Doc("a", "1"))}).ok());
  auto again = store_->Commit({Mutation::Create(Doc("a", "2"))});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kConflict);
  EXPECT_EQ((*store_->Get("c", "p", "a"))->body, "1");
}

TEST_F(SqliteMetadataStoreTest, UpdateChecksTheRevision) {
  ASSERT_TRUE(store_->Commit({Mutation::Create(Doc("a", "1"))}).ok());
  EXPECT_EQ(store_->Commit({Mutation::Update(Doc("a", "stale"), 7)}).status().code(),
            ErrorCode::kConflict);
  auto ok = store_->Commit({Mutation::Update(Doc("a", "2"), 1)});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*ok)[0], 2);
  EXPECT_EQ((*store_->Get("c", "p", "a"))->body, "2");
}

TEST_F(SqliteMetadataStoreTest, AFailedPreconditionRollsBackTheWholeCommit) {
  ASSERT_TRUE(store_->Commit({Mutation::Create(Doc("a", "1"))}).ok());
  auto r = store_->Commit({Mutation::Create(Doc("b", "new")), Mutation::Create(Doc("a", "dup"))});
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(store_->Get("c", "p", "b")->has_value());
}

TEST_F(SqliteMetadataStoreTest, ACheckMutationGuardsACommitWithoutWriting) {
  ASSERT_TRUE(store_->Commit({Mutation::Create(Doc("guard", "g"))}).ok());
  auto ok = store_->Commit({Mutation::RequireRevision("c", "p", "guard", 1),
                            Mutation::Create(Doc("child", "c"))});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ((*store_->Get("c", "p", "guard"))->revision, 1);
  auto stale = store_->Commit({Mutation::RequireRevision("c", "p", "guard", 2),
                               Mutation::Create(Doc("orphan", "o"))});
  EXPECT_EQ(stale.status().code(), ErrorCode::kConflict);
  EXPECT_FALSE(store_->Get("c", "p", "orphan")->has_value());
}

// Hardening item 17: a revision read before a delete must not match the document created again
// under the same address (ABA), or a conditional update could overwrite the new document.
TEST_F(SqliteMetadataStoreTest, Item17RevisionsAreNeverReusedAfterADelete) {
  ASSERT_TRUE(store_->Commit({Mutation::Create(Doc("a", "first"))}).ok());
  const int64_t before = (*store_->Get("c", "p", "a"))->revision;
  ASSERT_TRUE(store_->Commit({Mutation::Delete("c", "p", "a")}).ok());
  ASSERT_TRUE(store_->Commit({Mutation::Create(Doc("a", "second"))}).ok());
  const int64_t after = (*store_->Get("c", "p", "a"))->revision;
  EXPECT_GT(after, before);
  EXPECT_EQ(store_->Commit({Mutation::Update(Doc("a", "stale writer"), before)}).status().code(),
            ErrorCode::kConflict);
  EXPECT_EQ(store_->Commit({Mutation::RequireRevision("c", "p", "a", before)}).status().code(),
            ErrorCode::kConflict);
  // The sequence survives a reopen: it is stored, not counted in memory.
  Reopen();
  ASSERT_TRUE(store_->Commit({Mutation::Delete("c", "p", "a")}).ok());
  ASSERT_TRUE(store_->Commit({Mutation::Create(Doc("a", "third"))}).ok());
  EXPECT_GT((*store_->Get("c", "p", "a"))->revision, after);
}

TEST_F(SqliteMetadataStoreTest, ListIsInBinaryOrderWithPrefixStartAfterAndLimit) {
  std::vector<Mutation> m;
  for (std::string id : {"b", "a/2", "a/1", "a\xff", "\xc3\xa9", "A", "a/10"}) {
    m.push_back(Mutation::Create(Doc(id, "x")));
  }
  ASSERT_TRUE(store_->Commit(m).ok());
  auto ids = [&](ListOptions o) {
    std::vector<std::string> out;
    auto listed = store_->List("c", "p", o);
    EXPECT_TRUE(listed.ok());
    for (auto& d : *listed) out.push_back(d.id);
    return out;
  };
  EXPECT_EQ(ids({}), (std::vector<std::string>{"A", "a/1", "a/10", "a/2", "a\xff", "b",
                                               "\xc3\xa9"}));
  EXPECT_EQ(ids({"a/", "", 1000}), (std::vector<std::string>{"a/1", "a/10", "a/2"}));
  EXPECT_EQ(ids({"a/", "a/1", 1000}), (std::vector<std::string>{"a/10", "a/2"}));
  EXPECT_EQ(ids({"", "a/2", 2}), (std::vector<std::string>{"a\xff", "b"}));
  EXPECT_EQ(ids({"a\xff", "", 1000}), (std::vector<std::string>{"a\xff"}));
  EXPECT_EQ(ids({"a/", "a", 1000}), (std::vector<std::string>{"a/1", "a/10", "a/2"}));
}

TEST_F(SqliteMetadataStoreTest, ListDueReturnsOnlyDocumentsWhoseTimeHasCome) {
  ASSERT_TRUE(store_
                  ->Commit({Mutation::Create(Doc("late", "x", 300)),
                            Mutation::Create(Doc("early", "x", 100)),
                            Mutation::Create(Doc("never", "x", 0))})
                  .ok());
  auto due = store_->ListDue("c", 200, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].id, "early");
  EXPECT_EQ(store_->ListDue("c", 300, 10)->size(), 2u);
}

TEST_F(SqliteMetadataStoreTest, CommittedDataSurvivesReopen) {
  ASSERT_TRUE(store_->Commit({Mutation::Create(Doc("a", "durable"))}).ok());
  Reopen();
  EXPECT_EQ((*store_->Get("c", "p", "a"))->body, "durable");
}

TEST_F(SqliteMetadataStoreTest, DeletedBodiesLeaveNoTraceInFilesAfterScrub) {
  std::string marker = "SECRET-MARKER-0123456789";
  ASSERT_TRUE(store_->Commit({Mutation::Create(Doc("a", marker))}).ok());
  ASSERT_TRUE(store_->Commit({Mutation::Delete("c", "p", "a")}).ok());
  ASSERT_TRUE(store_->Scrub().ok());
  for (auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content.find(marker), std::string::npos) << entry.path();
  }
}

TEST_F(SqliteMetadataStoreTest, ConcurrentRevisionCheckedUpdatesNeverLoseAnIncrement) {
  ASSERT_TRUE(store_->Commit({Mutation::Create(Doc("n", "0"))}).ok());
  auto worker = [&] {
    for (int i = 0; i < 25; ++i) {
      for (;;) {
        auto d = **store_->Get("c", "p", "n");
        d.body = std::to_string(std::stoi(d.body) + 1);
        auto r = store_->Commit({Mutation::Update(d, d.revision)});
        if (r.ok()) break;
        ASSERT_EQ(r.status().code(), ErrorCode::kConflict);
      }
    }
  };
  std::thread t1(worker), t2(worker), t3(worker);
  t1.join();
  t2.join();
  t3.join();
  EXPECT_EQ((*store_->Get("c", "p", "n"))->body, "75");
}

// Group commit: commits queued while a batch runs share the next transaction, and each stays
// atomic on its own — a failed precondition undoes that caller's writes only.
TEST_F(SqliteMetadataStoreTest, CommitsQueuedDuringABatchShareOneTransactionAndStayAtomic) {
  ASSERT_TRUE(store_->Commit({Mutation::Create(Doc("taken", "original"))}).ok());
  const uint64_t transactions_before = store_->transactions();
  std::promise<void> leader_holding, release;
  std::shared_future<void> released = release.get_future().share();
  bool first = true;
  store_->SetBeforeBatchForTest([&] {
    if (!first) return;
    first = false;
    leader_holding.set_value();
    released.wait();
  });
  std::thread leader([&] { EXPECT_TRUE(store_->Commit({Mutation::Create(Doc("l", "1"))}).ok()); });
  leader_holding.get_future().wait();

  constexpr int kWriters = 4;
  std::vector<Result<std::vector<int64_t>>> results(kWriters, InternalError("not run"));
  Result<std::vector<int64_t>> conflicting = InternalError("not run");
  std::vector<std::thread> threads;
  for (int i = 0; i < kWriters; ++i) {
    threads.emplace_back([&, i] {
      results[i] = store_->Commit({Mutation::Create(Doc("w" + std::to_string(i), "v"))});
    });
  }
  // Its first write would succeed, its second conflicts: neither may remain.
  threads.emplace_back([&] {
    conflicting = store_->Commit(
        {Mutation::Create(Doc("half", "x")), Mutation::Create(Doc("taken", "overwritten"))});
  });
  while (store_->queued() < kWriters + 1) std::this_thread::yield();
  release.set_value();
  leader.join();
  for (auto& t : threads) t.join();

  EXPECT_EQ(store_->transactions() - transactions_before, 2u);
  std::set<int64_t> revisions;
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    revisions.insert((*r)[0]);
  }
  EXPECT_EQ(revisions.size(), static_cast<size_t>(kWriters)) << "each commit its own revision";
  ASSERT_FALSE(conflicting.ok());
  EXPECT_EQ(conflicting.status().code(), ErrorCode::kConflict);
  EXPECT_FALSE(store_->Get("c", "p", "half")->has_value());
  EXPECT_EQ((*store_->Get("c", "p", "taken"))->body, "original");
  for (int i = 0; i < kWriters; ++i) {
    EXPECT_TRUE(store_->Get("c", "p", "w" + std::to_string(i))->has_value());
  }
  Reopen();  // durable: the batch's one commit reached the file
  EXPECT_TRUE(store_->Get("c", "p", "w0")->has_value());
}

}  // namespace
}  // namespace hangar::store
