#include "store/fs/fs_blob_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "crypto/random.h"
#include "store/blob_store_conformance.h"

namespace hangar::store {
namespace {

class FsBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-blobs-" + std::to_string(::getpid()) + "-" + crypto::RandomString(8, "abcdef"));
    auto s = FsBlobStore::OpenAt(dir_.string());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(std::string_view data) {
    auto w = store_->Create();
    EXPECT_TRUE(w.ok());
    EXPECT_TRUE((*w)->Append(std::span<const char>(data.data(), data.size())).ok());
    auto id = (*w)->Commit();
    EXPECT_TRUE(id.ok());
    return *id;
  }

  std::string ReadAll(std::string_view id) {
    auto r = store_->Open(id);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    if (!r.ok()) return "";
    std::string out((*r)->size(), '\0');
    size_t done = 0;
    while (done < out.size()) {
      auto n = (*r)->ReadAt(done, std::span<char>(out.data() + done, out.size() - done));
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      done += *n;
    }
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<FsBlobStore> store_;
};

TEST_F(FsBlobStoreTest, CommittedBlobsAreReadableStagedAndPublished) {
  std::string id = Write("hello blob");
  EXPECT_EQ(ReadAll(id), "hello blob");
  EXPECT_EQ(*store_->ListStaged(), std::vector<std::string>{id});
  ASSERT_TRUE(store_->Publish(id).ok());
  EXPECT_TRUE(store_->ListStaged()->empty());
  EXPECT_EQ(ReadAll(id), "hello blob");
  EXPECT_TRUE(store_->Publish(id).ok()) << "publishing twice is harmless";
}

TEST_F(FsBlobStoreTest, AnUncommittedWriterLeavesNothing) {
  {
    auto w = store_->Create();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE((*w)->Append(std::span<const char>("partial", 7)).ok());
  }
  EXPECT_TRUE(store_->ListStaged()->empty());
}

TEST_F(FsBlobStoreTest, ReadAtServesRangesAndEndOfBlob) {
  std::string id = Write("0123456789");
  auto r = store_->Open(id);
  ASSERT_TRUE(r.ok());
  char buf[4];
  EXPECT_EQ(*(*r)->ReadAt(3, buf), 4u);
  EXPECT_EQ(std::string(buf, 4), "3456");
  EXPECT_EQ(*(*r)->ReadAt(8, buf), 2u);
  EXPECT_EQ(*(*r)->ReadAt(10, buf), 0u);
}

TEST_F(FsBlobStoreTest, DeleteRemovesStagedOrPublishedAndToleratesMissing) {
  std::string a = Write("a"), b = Write("b");
  ASSERT_TRUE(store_->Publish(b).ok());
  ASSERT_TRUE(store_->Delete(a).ok());
  ASSERT_TRUE(store_->Delete(b).ok());
  EXPECT_FALSE(store_->Open(a).ok());
  EXPECT_FALSE(store_->Open(b).ok());
  EXPECT_TRUE(store_->Delete(a).ok());
}

TEST_F(FsBlobStoreTest, RejectsIdsThatAreNotBlobIds) {
  EXPECT_FALSE(store_->Open("../../etc/passwd").ok());
  EXPECT_FALSE(store_->Delete("../x").ok());
  EXPECT_FALSE(store_->Publish("short").ok());
}

TEST_F(FsBlobStoreTest, BlobFilesAreOwnerOnly) {
  std::string id = Write("private");
  ASSERT_TRUE(store_->Publish(id).ok());
  auto path = dir_ / "objects" / id.substr(0, 2) / id;
  auto perms = std::filesystem::status(path).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

}  // namespace

// The shared BlobStore behaviour (store/blob_store_conformance.h). Files have no stripes; the
// sizes only need to be a few pages.
class FsHarness {
 public:
  static constexpr size_t kStripe = 4096;
  ~FsHarness() {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  Status Start() {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-blobs-" + std::to_string(::getpid()) + "-" + crypto::RandomString(8, "abcdef"));
    auto store = FsBlobStore::OpenAt(dir_.string());
    if (!store.ok()) return store.status();
    store_ = std::move(*store);
    return Status::Ok();
  }
  BlobStore& store() { return *store_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<FsBlobStore> store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Fs, BlobStoreConformance, FsHarness);

}  // namespace hangar::store
