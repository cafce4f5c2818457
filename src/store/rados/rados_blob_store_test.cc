// RadosBlobStore against a real Ceph cluster: the shared BlobStore suite, then what is particular
// to RADOS (the objects it leaves, crash leftovers, errors). The cluster comes from
// HANGAR_TEST_RADOS_URI, a rados:// URI; each test uses a pool of its own named after the URI's
// pool and deletes it afterwards. ctest starts a cluster with scripts/ceph.sh and sets the
// variable.

#include "store/rados/rados_blob_store.h"

#include <gtest/gtest.h>
#include <rados/librados.h>

#include <cstdlib>
#include <cstring>
#include <set>

#include "crypto/random.h"
#include "store/blob_store_conformance.h"

namespace hangar::store {
namespace {

constexpr size_t kTestStripe = 64 << 10;

// The test's cluster and a fresh pool name, or why there is none.
Result<RadosConfig> TestConfig() {
  const char* uri = std::getenv("HANGAR_TEST_RADOS_URI");
  if (uri == nullptr || *uri == '\0') {
    return InternalError(
        "HANGAR_TEST_RADOS_URI is not set. These tests need a Ceph cluster: run "
        "`scripts/ceph.sh start` and export HANGAR_TEST_RADOS_URI=<the uri it prints>, or run "
        "them through ctest, which does both (ctest -L cluster)");
  }
  HANGAR_ASSIGN_OR_RETURN(RadosConfig config, ParseRadosUri(uri));
  config.pool += "-" + crypto::RandomString(10, "abcdefghijklmnopqrstuvwxyz0123456789");
  config.stripe_size = kTestStripe;
  config.connect_timeout_seconds = 20;
  config.staged_grace_seconds = 0;  // this test's blobs are listed as soon as they are staged
  return config;
}

// Plain librados on the test's pool, to look behind the store's back.
class RawPool {
 public:
  ~RawPool() {
    if (io_ != nullptr) rados_ioctx_destroy(io_);
    if (cluster_ != nullptr) rados_shutdown(cluster_);
  }

  Status Connect(const RadosConfig& config) {
    pool_ = config.pool;
    if (rados_create(&cluster_, config.client_id.c_str()) < 0 ||
        rados_conf_read_file(cluster_, config.conf_path.c_str()) < 0 ||
        rados_connect(cluster_) < 0) {
      return InternalError("test cannot connect to " + config.conf_path);
    }
    connected_ = true;
    return Status::Ok();
  }

  // After the store created the pool.
  void OpenPool() { ASSERT_EQ(rados_ioctx_create(cluster_, pool_.c_str(), &io_), 0); }

  void DeletePool() {
    if (io_ != nullptr) rados_ioctx_destroy(io_);
    io_ = nullptr;
    if (!connected_) return;
    // This client may not have seen the store create the pool yet.
    rados_wait_for_latest_osdmap(cluster_);
    int ret = rados_pool_delete(cluster_, pool_.c_str());
    EXPECT_TRUE(ret == 0 || ret == -ENOENT) << "cannot delete pool " << pool_ << ": " << ret;
  }

  std::set<std::string> Objects() {
    std::set<std::string> names;
    rados_list_ctx_t list = nullptr;
    EXPECT_EQ(rados_nobjects_list_open(io_, &list), 0);
    const char* entry = nullptr;
    while (rados_nobjects_list_next(list, &entry, nullptr, nullptr) == 0) names.insert(entry);
    rados_nobjects_list_close(list);
    return names;
  }

  // Objects other than the staged index.
  std::set<std::string> BlobObjects() {
    std::set<std::string> names = Objects();
    names.erase(std::string(RadosBlobStore::kStagedIndexObject));
    return names;
  }

  uint64_t Size(const std::string& object) {
    uint64_t size = 0;
    time_t mtime = 0;
    EXPECT_EQ(rados_stat(io_, object.c_str(), &size, &mtime), 0) << object;
    return size;
  }

  void Write(const std::string& object, std::string_view data) {
    ASSERT_EQ(rados_write_full(io_, object.c_str(), data.data(), data.size()), 0) << object;
  }
  void Remove(const std::string& object) {
    ASSERT_EQ(rados_remove(io_, object.c_str()), 0) << object;
  }
  void Truncate(const std::string& object, uint64_t size) {
    ASSERT_EQ(rados_trunc(io_, object.c_str(), size), 0) << object;
  }
  void AddStaged(const std::string& id) {
    const char* keys[] = {id.c_str()};
    const char* values[] = {"0"};
    const size_t lengths[] = {1};
    rados_write_op_t op = rados_create_write_op();
    rados_write_op_omap_set(op, keys, values, lengths, 1);
    EXPECT_EQ(
        rados_write_op_operate(op, io_, RadosBlobStore::kStagedIndexObject.data(), nullptr, 0), 0);
    rados_release_write_op(op);
  }

  std::vector<std::string> Applications() {
    char names[256];
    size_t length = sizeof(names);
    EXPECT_EQ(rados_application_list(io_, names, &length), 0);
    std::vector<std::string> out;
    for (const char* p = names; p < names + length && *p != '\0'; p += std::strlen(p) + 1) {
      out.emplace_back(p);
    }
    return out;
  }

 private:
  std::string pool_;
  rados_t cluster_ = nullptr;
  bool connected_ = false;
  rados_ioctx_t io_ = nullptr;
};

}  // namespace

// The shared suite's harness: a store on a pool of its own, with 64 KiB stripes.
class RadosHarness {
 public:
  static constexpr size_t kStripe = kTestStripe;
  ~RadosHarness() {
    store_.reset();
    raw_.DeletePool();
  }
  Status Start() {
    HANGAR_ASSIGN_OR_RETURN(RadosConfig config, TestConfig());
    HANGAR_RETURN_IF_ERROR(raw_.Connect(config));
    HANGAR_ASSIGN_OR_RETURN(store_, RadosBlobStore::Open(config));
    return Status::Ok();
  }
  BlobStore& store() { return *store_; }

 private:
  RawPool raw_;
  std::unique_ptr<RadosBlobStore> store_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Rados, BlobStoreConformance, RadosHarness);

namespace {

class RadosBlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto config = TestConfig();
    ASSERT_TRUE(config.ok()) << config.status().message();
    config_ = *config;
    Status connected = raw_.Connect(config_);
    ASSERT_TRUE(connected.ok()) << connected.message();
    auto store = RadosBlobStore::Open(config_);
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    raw_.OpenPool();
  }
  void TearDown() override {
    store_.reset();
    raw_.DeletePool();
  }

  std::string Write(const std::string& data) {
    auto writer = store_->Create();
    EXPECT_TRUE(writer.ok()) << writer.status().message();
    EXPECT_TRUE((*writer)->Append(data).ok());
    auto id = (*writer)->Commit();
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : "";
  }

  static std::string Bytes(size_t size) {
    std::string out(size, '\0');
    for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>('a' + i % 26);
    return out;
  }

  RadosConfig config_;
  RawPool raw_;
  std::unique_ptr<RadosBlobStore> store_;
};

TEST_F(RadosBlobStoreTest, StripesAreObjectsOfTheStripeSizeNamedAfterTheBlob) {
  const std::string id = Write(Bytes(2 * kTestStripe + 1));
  EXPECT_EQ(raw_.BlobObjects(), (std::set<std::string>{id + ".0", id + ".1", id + ".2"}));
  EXPECT_EQ(raw_.Size(id + ".0"), kTestStripe);
  EXPECT_EQ(raw_.Size(id + ".1"), kTestStripe);
  EXPECT_EQ(raw_.Size(id + ".2"), 1u);
  EXPECT_TRUE(raw_.Objects().contains("hangar.staged"));

  const std::string empty = Write("");
  EXPECT_TRUE(raw_.BlobObjects().contains(empty + ".0")) << "an empty blob still has its head";
  EXPECT_EQ(raw_.Size(empty + ".0"), 0u);
}

TEST_F(RadosBlobStoreTest, TheDefaultFourMebibyteStripeRoundTrips) {
  RadosConfig config = config_;
  config.stripe_size = RadosConfig{}.stripe_size;
  auto store = RadosBlobStore::Open(config);
  ASSERT_TRUE(store.ok()) << store.status().message();
  const std::string data = Bytes(9 << 20);
  auto writer = (*store)->Create();
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE((*writer)->Append(data).ok());
  auto id = (*writer)->Commit();
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(raw_.BlobObjects().size(), 3u);

  auto reader = (*store)->Open(*id);
  ASSERT_TRUE(reader.ok());
  std::string back(data.size(), '\0');
  auto n = (*reader)->ReadAt(0, back);
  ASSERT_TRUE(n.ok()) << n.status().message();
  EXPECT_EQ(*n, data.size());
  EXPECT_TRUE(back == data);
}

TEST_F(RadosBlobStoreTest, AnAbandonedWriterRemovesItsStripesAndIndexEntry) {
  {
    auto writer = store_->Create();
    ASSERT_TRUE(writer.ok());
    // Stripes 0..8 sent (4 in flight at most), stripe 9 still buffered.
    ASSERT_TRUE((*writer)->Append(Bytes(9 * kTestStripe + 5)).ok());
    EXPECT_FALSE(raw_.BlobObjects().empty());
  }
  EXPECT_TRUE(raw_.BlobObjects().empty());
  EXPECT_TRUE(store_->ListStaged()->empty());
}

TEST_F(RadosBlobStoreTest, DeleteFindsAndRemovesTheStripesOfACrashedUpload) {
  // What a writer killed mid-upload leaves: its index entry and stripes with gaps where writes
  // were still in flight, but no layout on the head.
  const std::string id = std::string(31, 'c') + "1";
  raw_.AddStaged(id);
  for (int stripe : {1, 2, 3, 7, 12, 20}) raw_.Write(RadosBlobStore::StripeObject(id, stripe), "x");
  EXPECT_EQ(*store_->ListStaged(), std::vector<std::string>{id});
  EXPECT_FALSE(store_->Open(id).ok()) << "an uncommitted blob is not readable";

  Status deleted = store_->Delete(id);
  ASSERT_TRUE(deleted.ok()) << deleted.message();
  EXPECT_TRUE(raw_.BlobObjects().empty());
  EXPECT_TRUE(store_->ListStaged()->empty());
}

TEST_F(RadosBlobStoreTest, AnInterruptedDeletionIsFoundByTheSweepAndFinished) {
  const std::string id = Write(Bytes(3 * kTestStripe));
  ASSERT_TRUE(store_->Publish(id).ok());
  raw_.Remove(id + ".2");  // a deletion that stopped after its first removal

  std::vector<std::string> swept;
  ASSERT_TRUE(
      store_->ForEachPublished([&](std::string_view id, TimePoint) { swept.emplace_back(id); })
          .ok());
  EXPECT_EQ(swept, std::vector<std::string>{id});
  ASSERT_TRUE(store_->Delete(id).ok());
  EXPECT_TRUE(raw_.BlobObjects().empty());
}

TEST_F(RadosBlobStoreTest, ReadingALostOrShortStripeFailsNamingTheObject) {
  const std::string data = Bytes(3 * kTestStripe + 10);
  const std::string id = Write(data);
  auto reader = store_->Open(id);
  ASSERT_TRUE(reader.ok());

  raw_.Truncate(id + ".1", 100);
  std::string into(2 * kTestStripe, '\0');
  auto short_read = (*reader)->ReadAt(kTestStripe / 2, into);
  ASSERT_FALSE(short_read.ok());
  EXPECT_EQ(short_read.status().code(), ErrorCode::kInternal);
  EXPECT_NE(short_read.status().message().find(id + ".1 in pool " + config_.pool),
            std::string::npos)
      << short_read.status().message();

  raw_.Remove(id + ".2");
  auto lost = (*reader)->ReadAt(2 * kTestStripe + 1, into);
  ASSERT_FALSE(lost.ok());
  const std::string& message = lost.status().message();
  EXPECT_NE(message.find("cannot read " + id + ".2 in pool " + config_.pool), std::string::npos)
      << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  EXPECT_EQ(message.find(data.substr(0, 8)), std::string::npos) << "no object bytes in errors";
}

TEST_F(RadosBlobStoreTest, ListStagedLeavesYoungUploadsToTheNodeWritingThem) {
  const std::string young = Write(Bytes(10));
  const std::string old = Write(Bytes(20));
  raw_.AddStaged(old);  // staged at the epoch: long abandoned
  RadosConfig node = config_;
  node.staged_grace_seconds = 3600;  // another node, recovering at start-up
  auto other = RadosBlobStore::Open(node);
  ASSERT_TRUE(other.ok()) << other.status().message();
  auto listed = (*other)->ListStaged();
  ASSERT_TRUE(listed.ok()) << listed.status().message();
  EXPECT_EQ(*listed, std::vector<std::string>{old});
  auto everything = store_->ListStaged();  // no grace
  ASSERT_TRUE(everything.ok());
  EXPECT_EQ(std::set<std::string>(everything->begin(), everything->end()),
            (std::set<std::string>{young, old}));
}

TEST_F(RadosBlobStoreTest, OpenCreatesAMissingPoolForHangar) {
  EXPECT_EQ(raw_.Applications(), std::vector<std::string>{"hangar"});
  auto again = RadosBlobStore::Open(config_);
  EXPECT_TRUE(again.ok()) << "an existing pool is used as it is: " << again.status().message();
}

TEST_F(RadosBlobStoreTest, OpenSaysWhatFailed) {
  RadosConfig no_conf = config_;
  no_conf.conf_path = "/nonexistent/ceph.conf";
  auto store = RadosBlobStore::Open(no_conf);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kInternal);
  EXPECT_NE(store.status().message().find("cannot read Ceph config /nonexistent/ceph.conf"),
            std::string::npos)
      << store.status().message();

  RadosConfig stranger = config_;
  stranger.client_id = "stranger";  // no key in the cluster's keyrings
  store = RadosBlobStore::Open(stranger);
  ASSERT_FALSE(store.ok());
  EXPECT_NE(store.status().message().find("cannot connect to the Ceph cluster of " +
                                          config_.conf_path + " as client.stranger: "),
            std::string::npos)
      << store.status().message();

  RadosConfig tiny = config_;
  tiny.stripe_size = 100;
  store = RadosBlobStore::Open(tiny);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), ErrorCode::kValidation);
  RadosConfig deep = config_;
  deep.max_in_flight = kMaxStripesInFlight + 1;
  EXPECT_EQ(RadosBlobStore::Open(deep).status().code(), ErrorCode::kValidation);
}

}  // namespace
}  // namespace hangar::store
