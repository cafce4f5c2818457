#include "store/sqlite/sqlite_metadata_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>
#include <set>
#include <thread>

#include "store/metadata_store_conformance.h"

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

// The shared MetadataStore behaviour (store/metadata_store_conformance.h); the tests above are
// SQLite's own: its files and its group commit.
class SqliteHarness {
 public:
  ~SqliteHarness() {
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  Status Start() {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-store-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    return Status::Ok();
  }
  Result<std::unique_ptr<MetadataStore>> Open() {
    HANGAR_ASSIGN_OR_RETURN(auto store, SqliteMetadataStore::Open((dir_ / "meta.db").string()));
    return std::unique_ptr<MetadataStore>(std::move(store));
  }

 private:
  std::filesystem::path dir_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, MetadataStoreConformance, SqliteHarness);

}  // namespace hangar::store
