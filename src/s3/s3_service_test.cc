#include "s3/s3_service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "common/strings.h"
#include "crypto/base64.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "s3/key_write_locks.h"
#include "store/fs/fs_blob_store.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace hangar::s3 {
namespace {

constexpr char kAccount[] = "111122223333";

class StringReader final : public BodyReader {
 public:
  explicit StringReader(std::string data, size_t piece = 7919) : data_(std::move(data)), piece_(piece) {}
  // Runs once, when the body is half read: what a slow client's peers do meanwhile.
  std::function<void()> halfway;
  Result<size_t> Read(std::span<char> into) override {
    if (halfway && offset_ >= data_.size() / 2) std::exchange(halfway, nullptr)();
    size_t n = std::min({into.size(), data_.size() - offset_, piece_});
    std::copy_n(data_.data() + offset_, n, into.data());
    offset_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t piece_;
  size_t offset_ = 0;
};

// KMS for these tests: data keys sealed under a test key; the real KMS is exercised end to end.
// Account roots only: no identity policies; ownership and bucket policies decide.
class NoIdentityPolicies final : public iam::IdentityPolicySource {
 public:
  Result<iam::IdentityPolicies> PoliciesFor(const auth::Principal&) const override {
    return iam::IdentityPolicies{};
  }
};

class FakeKms final : public KmsGateway {
 public:
  Result<DataKey> GenerateDataKey(const auth::RequestContext&, std::string_view key_id,
                                  const KmsContext& context) override {
    ++generate_calls;
    if (on_generate) std::exchange(on_generate, nullptr)();
    if (disabled) return Error(ErrorCode::kKmsDisabled, std::string(key_id) + " is disabled.");
    SecretBytes key = crypto::RandomSecret(32);
    std::string sealed = *sealer_->Wrap(key.span(), ContextText(context));
    return DataKey{std::move(key), sealed, ArnOf(key_id)};
  }
  Result<SecretBytes> Decrypt(const auth::RequestContext&, std::string_view ciphertext,
                              const KmsContext& context) override {
    ++decrypt_calls;
    if (disabled) return Error(ErrorCode::kKmsDisabled, "key is disabled.");
    auto key = sealer_->Unwrap(ciphertext, ContextText(context));
    if (!key.ok()) return Error(ErrorCode::kKmsInvalidCiphertext, "");
    return std::move(key).value();
  }
  Result<std::string> DefaultKeyArn(const auth::RequestContext&) override {
    return std::string("arn:aws:kms:us-east-1:111122223333:key/aws-s3-default");
  }
  Result<std::string> CheckKeyUsable(const auth::RequestContext&, std::string_view key_id,
                                     std::string_view, const KmsContext&) override {
    if (disabled) return Error(ErrorCode::kKmsDisabled, "key is disabled.");
    return ArnOf(key_id);
  }
  Result<KeyStatus> DescribeKeyState(const auth::RequestContext&, std::string_view) override {
    return KeyStatus{disabled ? "Disabled" : "Enabled", 0};
  }
  // "alias/..." names resolve through this map, as KMS aliases do.
  std::string ArnOf(std::string_view key_id) const {
    if (key_id.starts_with("arn:")) return std::string(key_id);
    auto alias = aliases.find(std::string(key_id));
    const std::string id = alias != aliases.end() ? alias->second : std::string(key_id);
    return "arn:aws:kms:us-east-1:111122223333:key/" + id;
  }
  std::map<std::string, std::string> aliases;
  std::function<void()> on_generate;  // runs once, inside the next GenerateDataKey
  int generate_calls = 0;
  int decrypt_calls = 0;
  bool disabled = false;

 private:
  static std::string ContextText(const KmsContext& c) {
    std::string out;
    for (const auto& [k, v] : c) out += k + "=" + v + ";";
    return out;
  }
  std::unique_ptr<crypto::RootKey> sealer_ = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
};

// The real store, with a hook that runs once just before the next read of one collection: how a
// test puts a concurrent request's commit between two reads of one request.
class InterleavingStore final : public store::MetadataStore {
 public:
  explicit InterleavingStore(store::MetadataStore& inner) : inner_(inner) {}
  void BeforeNextGet(std::string collection, std::function<void()> hook) {
    hook_collection_ = std::move(collection);
    hook_ = std::move(hook);
  }
  Result<std::optional<store::Document>> Get(std::string_view collection,
                                             std::string_view partition,
                                             std::string_view id) override {
    if (hook_ && collection == hook_collection_) std::exchange(hook_, nullptr)();
    return inner_.Get(collection, partition, id);
  }
  Result<std::vector<store::Document>> List(std::string_view collection,
                                            std::string_view partition,
                                            const store::ListOptions& options) override {
    return inner_.List(collection, partition, options);
  }
  Result<std::vector<store::Document>> ListDue(std::string_view collection, int64_t now_ms,
                                               size_t limit) override {
    return inner_.ListDue(collection, now_ms, limit);
  }
  Result<std::vector<int64_t>> Commit(const std::vector<store::Mutation>& mutations) override {
    return inner_.Commit(mutations);
  }
  Status Scrub() override { return inner_.Scrub(); }

 private:
  store::MetadataStore& inner_;
  std::string hook_collection_;
  std::function<void()> hook_;
};

// An S3Service over a real SQLite store and a real blob directory in a temp dir.
class S3ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-s3-" + std::to_string(::getpid()) + "-" + crypto::RandomString(8, "abcdef"));
    std::filesystem::create_directories(dir_);
    Reopen();
  }
  void TearDown() override {
    service_.reset();
    sse_.reset();
    repository_.reset();
    interleaving_.reset();
    blobs_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    service_.reset();
    sse_.reset();
    repository_.reset();
    interleaving_.reset();
    blobs_.reset();
    store_.reset();
    store_ = std::move(*store::SqliteMetadataStore::Open((dir_ / "meta.db").string()));
    blobs_ = std::move(*store::FsBlobStore::OpenAt((dir_ / "blobs").string()));
    interleaving_ = std::make_unique<InterleavingStore>(*store_);
    repository_ = std::make_unique<S3Repository>(*interleaving_);
    sse_ = std::make_unique<SseEngine>(kms_, *root_key_, clock_, SseOptions{});
    S3Options options;
    options.min_part_size = 1024;  // small parts keep the tests fast
    options.small_object = 1000;
    options.inline_max_size = inline_max_size_;
    service_ = std::make_unique<S3Service>(*repository_, *blobs_, *sse_, access_, clock_, options);
  }
  auth::RequestContext Ctx(std::string account = kAccount) const {
    auth::RequestContext ctx;
    ctx.principal.type = auth::PrincipalType::kRoot;
    ctx.principal.account_id = account;
    ctx.principal.arn = "arn:aws:iam::" + account + ":root";
    ctx.region = "us-east-1";
    ctx.now = clock_.Now();
    ctx.secure_transport = true;  // SSE-KMS and SSE-C want TLS
    return ctx;
  }
  void MakeBucket(const std::string& name) {
    ASSERT_TRUE(service_->CreateBucket(Ctx(), {name, std::nullopt}).ok());
  }
  Result<PutObjectOutput> Put(const std::string& bucket, const std::string& key,
                              const std::string& data, PutObjectInput input = {}) {
    input.bucket = bucket;
    input.key = key;
    input.content_length = data.size();
    StringReader raw(data);
    auth::PassThroughReader body(raw, data.size());
    return service_->PutObject(Ctx(), input, body);
  }
  std::string Get(const std::string& bucket, const std::string& key, std::string range = "") {
    GetObjectInput in;
    in.bucket = bucket;
    in.key = key;
    in.range = std::move(range);
    auto out = service_->GetObject(Ctx(), in);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    if (!out.ok()) return "<error>";
    if (!out->stream) return out->body;
    std::string all;
    char buf[4096];
    for (;;) {
      auto n = out->stream->Read(buf);
      EXPECT_TRUE(n.ok());
      if (!n.ok() || *n == 0) break;
      all.append(buf, *n);
    }
    return all;
  }
  size_t FilesUnder(const std::string& sub) {
    size_t n = 0;
    for (auto& e : std::filesystem::recursive_directory_iterator(dir_ / "blobs" / sub)) {
      if (e.is_regular_file()) ++n;
    }
    return n;
  }

  // Most tests here are about blobs: their objects are small, so keep them out of the records.
  // InlineObjectTest turns this on.
  uint64_t inline_max_size_ = 0;
  std::filesystem::path dir_;
  OffsetClock clock_{FromUnixMillis(1'800'000'000'000)};
  std::unique_ptr<store::SqliteMetadataStore> store_;
  std::unique_ptr<InterleavingStore> interleaving_;
  std::unique_ptr<store::FsBlobStore> blobs_;
  std::unique_ptr<S3Repository> repository_;
  FakeKms kms_;
  std::unique_ptr<crypto::RootKey> root_key_ = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
  std::unique_ptr<SseEngine> sse_;
  NoIdentityPolicies identities_;
  S3Access access_{identities_};
  std::unique_ptr<S3Service> service_;
};

TEST_F(S3ServiceTest, BucketsBelongToTheirCreator) {
  MakeBucket("alpha");
  EXPECT_EQ(service_->CreateBucket(Ctx(), {"alpha", std::nullopt}).code(), ErrorCode::kOk)
      << "us-east-1 re-create by the owner succeeds";
  EXPECT_EQ(service_->CreateBucket(Ctx("999988887777"), {"alpha", std::nullopt}).code(),
            ErrorCode::kBucketAlreadyExists);
  EXPECT_EQ(service_->HeadBucket(Ctx("999988887777"), "alpha").status().code(),
            ErrorCode::kAccessDenied);
  EXPECT_EQ(service_->HeadBucket(Ctx(), "missing").status().code(), ErrorCode::kNoSuchBucket);
  EXPECT_EQ(service_->CreateBucket(Ctx(), {"Bad_Name", std::nullopt}).code(),
            ErrorCode::kInvalidBucketName);
}

// Two nodes over one store (cluster mode): a node's cached bucket may be stale when another node
// changed the bucket during its write. The write's bucket guard then fails, and the retry must
// read the bucket afresh rather than fail on the same stale revision until it gives up.
TEST_F(S3ServiceTest, AWriteRetriesPastABucketChangedByAnotherNode) {
  MakeBucket("shared");
  ASSERT_TRUE(Put("shared", "first", "cached the bucket").ok());
  S3Repository other_repository(*store_);
  S3Service other_node(other_repository, *blobs_, *sse_, access_, clock_, S3Options{});
  ASSERT_TRUE(other_node.PutBucketTagging(Ctx(), "shared", {{"team", "flight"}}).ok());

  auto written = Put("shared", "second", "after the other node's change");
  ASSERT_TRUE(written.ok()) << written.status().ToString();
  EXPECT_EQ(Get("shared", "second"), "after the other node's change");
}

// Bucket tagging (and the encryption configuration) read the bucket from this node's cache; a
// change another node made meanwhile fails the commit's revision check. It answered 500.
TEST_F(S3ServiceTest, BucketSettingsRetryPastABucketChangedByAnotherNode) {
  MakeBucket("shared");
  ASSERT_TRUE(service_->PutBucketTagging(Ctx(), "shared", {{"round", "0"}}).ok());
  ASSERT_TRUE(service_->GetBucketTagging(Ctx(), "shared").ok());  // now cached
  S3Repository other_repository(*store_);
  S3Service other_node(other_repository, *blobs_, *sse_, access_, clock_, S3Options{});
  ASSERT_TRUE(other_node.PutBucketTagging(Ctx(), "shared", {{"round", "1"}}).ok());
  Status tagged = service_->PutBucketTagging(Ctx(), "shared", {{"round", "2"}});
  ASSERT_TRUE(tagged.ok()) << tagged.ToString();
  EXPECT_EQ(other_node.GetBucketTagging(Ctx(), "shared")->at(0).second, "2");

  ASSERT_TRUE(service_->GetBucketTagging(Ctx(), "shared").ok());
  ASSERT_TRUE(other_node.PutBucketTagging(Ctx(), "shared", {{"round", "3"}}).ok());
  Status untagged = service_->DeleteBucketTagging(Ctx(), "shared");
  ASSERT_TRUE(untagged.ok()) << untagged.ToString();
  EXPECT_EQ(other_node.GetBucketTagging(Ctx(), "shared").status().code(),
            ErrorCode::kNoSuchTagSet);
}

// DeleteBucket marks the bucket before deleting it; a setting another node changed since this node
// cached the bucket answered SlowDown.
TEST_F(S3ServiceTest, DeleteBucketGoesPastASettingChangedByAnotherNode) {
  MakeBucket("leaving");
  ASSERT_TRUE(service_->GetBucketEncryption(Ctx(), "leaving").ok());  // now cached
  S3Repository other_repository(*store_);
  S3Service other_node(other_repository, *blobs_, *sse_, access_, clock_, S3Options{});
  ASSERT_TRUE(other_node.PutBucketTagging(Ctx(), "leaving", {{"team", "flight"}}).ok());
  Status deleted = service_->DeleteBucket(Ctx(), "leaving");
  ASSERT_TRUE(deleted.ok()) << deleted.ToString();
  EXPECT_EQ(other_node.GetBucketTagging(Ctx(), "leaving").status().code(),
            ErrorCode::kNoSuchBucket);
}

// Deletes of one bucket through two nodes at once, with its tags changing meanwhile: the bucket
// goes, and each delete answers success or NoSuchBucket, never an error of its own making.
TEST_F(S3ServiceTest, DeletesOfOneBucketRacingOnTwoNodesAllEndInItsRemoval) {
  S3Repository other_repository(*store_);
  S3Service other_node(other_repository, *blobs_, *sse_, access_, clock_, S3Options{});
  for (int round = 0; round < 5; ++round) {
    MakeBucket("contested");
    std::vector<ErrorCode> codes(6, ErrorCode::kOk);
    std::vector<std::thread> threads;
    for (int i = 0; i < 6; ++i) {
      threads.emplace_back([&, i] {
        S3Service& node = i % 2 ? other_node : *service_;
        if (i == 5) {
          (void)node.PutBucketTagging(Ctx(), "contested", {{"round", std::to_string(round)}});
          return;
        }
        codes[i] = node.DeleteBucket(Ctx(), "contested").code();
      });
    }
    for (auto& t : threads) t.join();
    for (int i = 0; i < 5; ++i) {
      EXPECT_TRUE(codes[i] == ErrorCode::kOk || codes[i] == ErrorCode::kNoSuchBucket)
          << "round " << round << ", delete " << i << ": " << static_cast<int>(codes[i]);
    }
    EXPECT_EQ(service_->HeadBucket(Ctx(), "contested").status().code(), ErrorCode::kNoSuchBucket);
    EXPECT_EQ(other_node.HeadBucket(Ctx(), "contested").status().code(),
              ErrorCode::kNoSuchBucket);
  }
}

TEST_F(S3ServiceTest, LocationConstraintSetsTheRegionAndRegionalEndpointsRefuseOthers) {
  ASSERT_TRUE(service_->CreateBucket(Ctx(), {"euro", "eu-west-1"}).ok());
  EXPECT_EQ(service_->HeadBucket(Ctx(), "euro")->region, "eu-west-1");
  EXPECT_EQ(service_->CreateBucket(Ctx(), {"euro", "eu-west-1"}).code(),
            ErrorCode::kBucketAlreadyOwnedByYou);
  auth::RequestContext regional = Ctx();
  regional.region = "eu-central-1";
  EXPECT_EQ(service_->CreateBucket(regional, {"other", "eu-west-1"}).code(),
            ErrorCode::kIllegalLocationConstraint);
  EXPECT_EQ(service_->CreateBucket(Ctx(), {"explicit-east", "us-east-1"}).code(),
            ErrorCode::kInvalidLocationConstraint);
}

TEST_F(S3ServiceTest, PutGetRoundTripsAcrossSizesAndRanges) {
  MakeBucket("bkt");
  std::mt19937 rng(7);
  for (size_t size : {0u, 1u, 999u, 1000u, 1001u, 300000u}) {
    std::string data(size, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    auto put = Put("bkt", "k" + std::to_string(size), data);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
    EXPECT_EQ(put->etag, "\"" + HexEncode(crypto::Md5(data)) + "\"");
    EXPECT_EQ(Get("bkt", "k" + std::to_string(size)), data);
    if (size > 10) {
      EXPECT_EQ(Get("bkt", "k" + std::to_string(size), "bytes=3-9"), data.substr(3, 7));
      EXPECT_EQ(Get("bkt", "k" + std::to_string(size), "bytes=-5"), data.substr(size - 5));
    }
  }
}

TEST_F(S3ServiceTest, AWrongContentMd5StoresNothing) {
  MakeBucket("bkt");
  PutObjectInput in;
  in.content_md5 = "1B2M2Y8AsgTpgAmY7PhCfg==";  // MD5 of the empty string
  auto put = Put("bkt", "k", "not empty", std::move(in));
  EXPECT_EQ(put.status().code(), ErrorCode::kBadDigest);
  EXPECT_EQ(service_->GetObjectRecord(Ctx(), "bkt", "k").status().code(), ErrorCode::kNoSuchKey);
  EXPECT_EQ(FilesUnder("staging") + FilesUnder("objects"), 0u);
}

TEST_F(S3ServiceTest, AShortBodyStoresNothing) {
  MakeBucket("bkt");
  PutObjectInput in;
  in.bucket = "bkt";
  in.key = "k";
  in.content_length = 100;
  StringReader raw("only ten b");
  auth::PassThroughReader body(raw, 100);
  EXPECT_EQ(service_->PutObject(Ctx(), in, body).status().code(), ErrorCode::kIncompleteBody);
  EXPECT_EQ(FilesUnder("staging") + FilesUnder("objects"), 0u);
}

// Issue 13: 32 concurrent writers of one key once lost their optimistic commits to each other
// (group commit puts them in one batch) until some gave up with SlowDown. They take turns now.
TEST_F(S3ServiceTest, ConcurrentWritersOfOneKeyAllSucceed) {
  MakeBucket("bkt");
  constexpr int kWriters = 32, kEach = 4;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        auto put = Put("bkt", "hot", "writer " + std::to_string(w) + " round " + std::to_string(i));
        if (!put.ok()) {
          ADD_FAILURE() << put.status().ToString();
          ++failures;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Get("bkt", "hot").substr(0, 7), "writer ");
}

TEST(KeyWriteLocksTest, OneHolderPerKeyAndWaitersGiveUpAfterTheirPatience) {
  KeyWriteLocks locks;
  {
    auto held = locks.Acquire("b", "k", std::chrono::milliseconds(0));
    ASSERT_TRUE(held.has_value());
    EXPECT_FALSE(locks.Acquire("b", "k", std::chrono::milliseconds(1)).has_value());
    EXPECT_TRUE(locks.Acquire("b", "other", std::chrono::milliseconds(0)).has_value());
    // "b/k" and "b" + "/k" vs "b/" + "k": bucket names never hold '/', so names cannot collide.
    EXPECT_EQ(locks.keys_in_use(), 1u);
  }
  EXPECT_EQ(locks.keys_in_use(), 0u) << "entries go with their last user";
  EXPECT_TRUE(locks.Acquire("b", "k", std::chrono::milliseconds(0)).has_value());
}

TEST_F(S3ServiceTest, OverwritesReleaseTheOldBlobAfterTheGraceTime) {
  MakeBucket("bkt");
  ASSERT_TRUE(Put("bkt", "k", "first version").ok());
  ASSERT_TRUE(Put("bkt", "k", "second version").ok());
  EXPECT_EQ(Get("bkt", "k"), "second version");
  EXPECT_EQ(FilesUnder("objects"), 2u);
  EXPECT_EQ(*service_->RunMaintenance(), 0);
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(*service_->RunMaintenance(), 1);
  EXPECT_EQ(FilesUnder("objects"), 1u);
  EXPECT_EQ(Get("bkt", "k"), "second version");
  ASSERT_TRUE(service_->DeleteObject(Ctx(), "bkt", "k").ok());
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(*service_->RunMaintenance(), 1);
  EXPECT_EQ(FilesUnder("objects"), 0u);
}

TEST_F(S3ServiceTest, RecoveryPublishesReferencedBlobsAndRemovesOrphans) {
  MakeBucket("bkt");
  ASSERT_TRUE(Put("bkt", "kept", "visible").ok());
  // A committed write whose publish was lost, and a write that never committed: put the first
  // blob back into staging, and stage a blob nothing refers to.
  auto record = service_->GetObjectRecord(Ctx(), "bkt", "kept");
  std::string id = record->segments[0].blob_id;
  std::filesystem::rename(dir_ / "blobs" / "objects" / id.substr(0, 2) / id,
                          dir_ / "blobs" / "staging" / id);
  auto orphan = blobs_->Create();
  ASSERT_TRUE((*orphan)->Append(std::span<const char>("junk", 4)).ok());
  ASSERT_TRUE((*orphan)->Commit().ok());
  Reopen();
  ASSERT_TRUE(service_->Recover().ok());
  EXPECT_EQ(FilesUnder("staging"), 0u);
  EXPECT_EQ(FilesUnder("objects"), 1u);
  EXPECT_EQ(Get("bkt", "kept"), "visible");
}

TEST_F(S3ServiceTest, DeleteBucketNeedsItEmpty) {
  MakeBucket("bkt");
  ASSERT_TRUE(Put("bkt", "k", "x").ok());
  EXPECT_EQ(service_->DeleteBucket(Ctx(), "bkt").code(), ErrorCode::kBucketNotEmpty);
  ASSERT_TRUE(service_->DeleteObject(Ctx(), "bkt", "k").ok());
  EXPECT_TRUE(service_->DeleteBucket(Ctx(), "bkt").ok());
  EXPECT_EQ(service_->HeadBucket(Ctx(), "bkt").status().code(), ErrorCode::kNoSuchBucket);
}

// Reference listing: what S3 returns, computed from the full key set.
ListObjectsOutput ReferenceList(const std::set<std::string>& keys, const ListObjectsInput& in) {
  ListObjectsOutput out;
  std::set<std::string> prefixes_seen;
  for (const auto& key : keys) {
    if (!key.starts_with(in.prefix) || key <= in.start_after) continue;
    std::string common;
    if (!in.delimiter.empty()) {
      size_t at = key.find(in.delimiter, in.prefix.size());
      if (at != std::string::npos) common = key.substr(0, at + in.delimiter.size());
    }
    if (!common.empty() && (prefixes_seen.count(common) || common <= in.start_after)) continue;
    if (out.objects.size() + out.common_prefixes.size() == static_cast<size_t>(in.max_keys)) {
      out.truncated = true;
      break;
    }
    if (!common.empty()) {
      prefixes_seen.insert(common);
      out.common_prefixes.push_back(common);
    } else {
      ObjectRecord o;
      o.key = key;
      out.objects.push_back(o);
    }
  }
  return out;
}

TEST_F(S3ServiceTest, ListingMatchesAReferenceOnRandomKeySets) {
  MakeBucket("bkt");
  std::mt19937 rng(42);
  const std::string alphabet = "ab/.-";
  std::set<std::string> keys;
  while (keys.size() < 120) {
    std::string key;
    size_t len = 1 + rng() % 6;
    for (size_t i = 0; i < len; ++i) key += alphabet[rng() % alphabet.size()];
    keys.insert(key);
  }
  for (const auto& k : keys) ASSERT_TRUE(Put("bkt", k, "").ok());
  for (int trial = 0; trial < 200; ++trial) {
    ListObjectsInput in;
    in.bucket = "bkt";
    in.prefix = std::string(rng() % 3, 'a');
    if (rng() % 2) in.delimiter = rng() % 2 ? "/" : "b";
    in.max_keys = 1 + static_cast<int>(rng() % 12);
    // Page through everything, comparing each page with the reference.
    std::string after;
    for (int page = 0; page < 200; ++page) {
      in.start_after = after;
      auto got = service_->ListObjects(Ctx(), in);
      ASSERT_TRUE(got.ok());
      ListObjectsOutput want = ReferenceList(keys, in);
      std::vector<std::string> got_keys, want_keys;
      for (auto& o : got->objects) got_keys.push_back(o.key);
      for (auto& o : want.objects) want_keys.push_back(o.key);
      ASSERT_EQ(got_keys, want_keys) << "trial " << trial << " page " << page;
      ASSERT_EQ(got->common_prefixes, want.common_prefixes) << "trial " << trial;
      ASSERT_EQ(got->truncated, want.truncated) << "trial " << trial;
      if (!got->truncated) break;
      after = got->next_marker;
    }
  }
}

TEST_F(S3ServiceTest, MultipartUploadCompletesWithMd5OfMd5sAndCleansUp) {
  MakeBucket("bkt");
  auto upload = service_->CreateMultipartUpload(Ctx(), {"bkt", "big", {}, {}, {}, "STANDARD", {}, ""});
  ASSERT_TRUE(upload.ok());
  std::string p1(2000, 'x'), p2(500, 'y'), stale(1500, 'z');
  auto part = [&](int n, const std::string& data) {
    UploadPartInput in{"bkt", "big", upload->upload_id, n, {}, {}, data.size()};
    StringReader raw(data);
    auth::PassThroughReader body(raw, data.size());
    return service_->UploadPart(Ctx(), in, body);
  };
  auto first_try = part(1, stale);
  ASSERT_TRUE(first_try.ok());
  auto e1 = part(1, p1);  // replaces the earlier part 1
  auto e2 = part(2, p2);
  auto unused = part(3, p2);
  ASSERT_TRUE(e1.ok() && e2.ok() && unused.ok());
  EXPECT_EQ(service_->CompleteMultipartUpload(Ctx(), "bkt", "big", upload->upload_id,
                                              {{2, e2->part.etag, {}}, {1, e1->part.etag, {}}})
                .status()
                .code(),
            ErrorCode::kInvalidPartOrder);
  EXPECT_EQ(service_->CompleteMultipartUpload(Ctx(), "bkt", "big", upload->upload_id,
                                              {{1, "\"00\"", {}}})
                .status()
                .code(),
            ErrorCode::kInvalidPart);
  EXPECT_EQ(service_->CompleteMultipartUpload(Ctx(), "bkt", "big", upload->upload_id,
                                              {{2, e2->part.etag, {}}, {3, unused->part.etag, {}}})
                .status()
                .code(),
            ErrorCode::kEntityTooSmall);
  auto done = service_->CompleteMultipartUpload(Ctx(), "bkt", "big", upload->upload_id,
                                                {{1, e1->part.etag, {}}, {2, e2->part.etag, {}}});
  ASSERT_TRUE(done.ok()) << done.status().ToString();
  std::string md5s = crypto::Md5(p1) + crypto::Md5(p2);
  EXPECT_EQ(done->etag, "\"" + HexEncode(crypto::Md5(md5s)) + "-2\"");
  EXPECT_EQ(Get("bkt", "big"), p1 + p2);
  EXPECT_EQ(Get("bkt", "big", "bytes=1995-2004"), p1.substr(1995) + p2.substr(0, 5));
  EXPECT_EQ(service_->ListParts(Ctx(), "bkt", "big", upload->upload_id, 0, 1000).status().code(),
            ErrorCode::kNoSuchUpload);
  // The replaced part 1 and the unused part 3 become garbage; the two used parts stay.
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(*service_->RunMaintenance(), 2);
  EXPECT_EQ(FilesUnder("objects"), 2u);
}

TEST_F(S3ServiceTest, AbortedAndAbandonedUploadsLeaveNoBlobs) {
  MakeBucket("bkt");
  auto upload = service_->CreateMultipartUpload(Ctx(), {"bkt", "k", {}, {}, {}, "STANDARD", {}, ""});
  auto abandoned = service_->CreateMultipartUpload(Ctx(), {"bkt", "k2", {}, {}, {}, "STANDARD", {}, ""});
  for (auto* u : {&upload, &abandoned}) {
    std::string data(3000, 'p');
    UploadPartInput in{"bkt", (*u)->key, (*u)->upload_id, 1, {}, {}, data.size()};
    StringReader raw(data);
    auth::PassThroughReader body(raw, data.size());
    ASSERT_TRUE(service_->UploadPart(Ctx(), in, body).ok());
  }
  ASSERT_TRUE(service_->AbortMultipartUpload(Ctx(), "bkt", "k", upload->upload_id).ok());
  EXPECT_EQ(service_->AbortMultipartUpload(Ctx(), "bkt", "k", upload->upload_id).code(),
            ErrorCode::kNoSuchUpload);
  clock_.Advance(std::chrono::hours(24 * 7 + 1));
  EXPECT_GE(*service_->RunMaintenance(), 1);  // aborts the abandoned upload
  clock_.Advance(std::chrono::seconds(61));
  ASSERT_TRUE(service_->RunMaintenance().ok());
  EXPECT_EQ(FilesUnder("objects") + FilesUnder("staging"), 0u);
  EXPECT_TRUE(service_->ListMultipartUploads(Ctx(), {"bkt", "", "", "", "", 1000})->uploads.empty());
}

TEST_F(S3ServiceTest, CopyObjectCopiesOrReplacesMetadata) {
  MakeBucket("bkt");
  PutObjectInput in;
  in.headers.content_type = "text/plain";
  in.user_metadata = {{"owner", "ops"}};
  ASSERT_TRUE(Put("bkt", "src", "copy me", std::move(in)).ok());
  CopyObjectInput copy;
  copy.source.bucket = "bkt";
  copy.source.key = "src";
  copy.bucket = "bkt";
  copy.key = "dst";
  ASSERT_TRUE(service_->CopyObject(Ctx(), copy).ok());
  auto dst = service_->GetObjectRecord(Ctx(), "bkt", "dst");
  EXPECT_EQ(dst->headers.content_type, "text/plain");
  EXPECT_EQ(dst->user_metadata, (KeyValues{{"owner", "ops"}}));
  EXPECT_EQ(Get("bkt", "dst"), "copy me");
  copy.key = "src";
  EXPECT_EQ(service_->CopyObject(Ctx(), copy).status().code(), ErrorCode::kInvalidRequest);
  copy.replace_metadata = true;
  copy.user_metadata = {{"owner", "dev"}};
  ASSERT_TRUE(service_->CopyObject(Ctx(), copy).ok());
  EXPECT_EQ(service_->GetObjectRecord(Ctx(), "bkt", "src")->user_metadata,
            (KeyValues{{"owner", "dev"}}));
}

// Item 3: a write authorised against one bucket must not land in another bucket of the same name.
// Account B's upload into its bucket is half read when B deletes the bucket and account A creates
// one of that name and writes to it: B's upload fails and A's bucket holds only A's object.
TEST_F(S3ServiceTest, Item03AnUploadDoesNotLandInABucketReCreatedMeanwhile) {
  const std::string b_account = "999988887777";
  ASSERT_TRUE(service_->CreateBucket(Ctx(b_account), {"race-victim", std::nullopt}).ok());
  const std::string data(100000, 'B');
  StringReader raw(data);
  raw.halfway = [&] {
    ASSERT_TRUE(service_->DeleteBucket(Ctx(b_account), "race-victim").ok());
    ASSERT_TRUE(service_->CreateBucket(Ctx(), {"race-victim", std::nullopt}).ok());
    ASSERT_TRUE(Put("race-victim", "config.json", "A's config").ok());
  };
  PutObjectInput in;
  in.bucket = "race-victim";
  in.key = "config.json";
  in.content_length = data.size();
  auth::PassThroughReader body(raw, data.size());
  EXPECT_EQ(service_->PutObject(Ctx(b_account), in, body).status().code(),
            ErrorCode::kNoSuchBucket);
  EXPECT_EQ(Get("race-victim", "config.json"), "A's config");
  // Re-created by the same owner is another bucket too.
  StringReader again(data);
  again.halfway = [&] {
    ASSERT_TRUE(service_->DeleteObject(Ctx(), "race-victim", "config.json").ok());
    ASSERT_TRUE(service_->DeleteBucket(Ctx(), "race-victim").ok());
    ASSERT_TRUE(service_->CreateBucket(Ctx(), {"race-victim", std::nullopt}).ok());
  };
  auth::PassThroughReader body2(again, data.size());
  EXPECT_EQ(service_->PutObject(Ctx(), in, body2).status().code(), ErrorCode::kNoSuchBucket);
  EXPECT_EQ(service_->GetObjectRecord(Ctx(), "race-victim", "config.json").status().code(),
            ErrorCode::kNoSuchKey);
  // Neither failed write left its bytes behind.
  clock_.Advance(std::chrono::seconds(61));
  ASSERT_TRUE(service_->RunMaintenance().ok());
  EXPECT_EQ(FilesUnder("staging") + FilesUnder("objects"), 0u);
}

TEST_F(S3ServiceTest, Item03CopiesAndMultipartUploadsAreBoundToTheirBucketToo) {
  const std::string b_account = "999988887777";
  ASSERT_TRUE(service_->CreateBucket(Ctx(b_account), {"race-victim", std::nullopt}).ok());
  ASSERT_TRUE(service_->CreateBucket(Ctx(b_account), {"b-source", std::nullopt}).ok());
  PutObjectInput src;
  src.bucket = "b-source";
  src.key = "payload";
  src.content_length = 5;
  StringReader raw("bytes");
  auth::PassThroughReader body(raw, 5);
  ASSERT_TRUE(service_->PutObject(Ctx(b_account), src, body).ok());
  // CopyObject: the destination's data key is asked for after authorisation; the bucket changes
  // hands right then.
  kms_.on_generate = [&] {
    ASSERT_TRUE(service_->DeleteBucket(Ctx(b_account), "race-victim").ok());
    ASSERT_TRUE(service_->CreateBucket(Ctx(), {"race-victim", std::nullopt}).ok());
  };
  CopyObjectInput copy;
  copy.source = {"b-source", "payload"};
  copy.bucket = "race-victim";
  copy.key = "config.json";
  copy.sse.algorithm = "aws:kms";
  EXPECT_EQ(service_->CopyObject(Ctx(b_account), copy).status().code(), ErrorCode::kNoSuchBucket);
  EXPECT_EQ(service_->GetObjectRecord(Ctx(), "race-victim", "config.json").status().code(),
            ErrorCode::kNoSuchKey);
  // CreateMultipartUpload: same, while its data key is made.
  ASSERT_TRUE(service_->DeleteBucket(Ctx(), "race-victim").ok());
  ASSERT_TRUE(service_->CreateBucket(Ctx(b_account), {"race-victim", std::nullopt}).ok());
  kms_.on_generate = [&] {
    ASSERT_TRUE(service_->DeleteBucket(Ctx(b_account), "race-victim").ok());
    ASSERT_TRUE(service_->CreateBucket(Ctx(), {"race-victim", std::nullopt}).ok());
  };
  CreateUploadInput create;
  create.bucket = "race-victim";
  create.key = "config.json";
  create.sse.algorithm = "aws:kms";
  EXPECT_EQ(service_->CreateMultipartUpload(Ctx(b_account), create).status().code(),
            ErrorCode::kNoSuchBucket);
  auto uploads = service_->ListMultipartUploads(Ctx(), {"race-victim"});
  ASSERT_TRUE(uploads.ok());
  EXPECT_TRUE(uploads->uploads.empty());
}

// Item 7: a bucket whose default key is an alias follows the alias at once.
TEST_F(S3ServiceTest, Item07BucketKeysFollowARetargetedAlias) {
  MakeBucket("bkt");
  kms_.aliases["alias/k3"] = "k3";
  BucketEncryption encryption{"aws:kms", "alias/k3", /*bucket_key_enabled=*/true};
  ASSERT_TRUE(service_->PutBucketEncryption(Ctx(), "bkt", encryption).ok());
  auto first = Put("bkt", "one", "under k3");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->encryption.kms_key_arn, "arn:aws:kms:us-east-1:111122223333:key/k3");
  kms_.aliases["alias/k3"] = "k4";
  auto second = Put("bkt", "two", "under k4");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->encryption.kms_key_arn, "arn:aws:kms:us-east-1:111122223333:key/k4");
  EXPECT_EQ(Get("bkt", "one"), "under k3");
  EXPECT_EQ(Get("bkt", "two"), "under k4");
}

// Item 6: nothing about an SSE-C object (size, parts, ETag, age) is answered without its key.
TEST_F(S3ServiceTest, Item06SseCustomerKeyIsCheckedBeforeRangesPartsAndConditions) {
  MakeBucket("bkt");
  SecretBytes key_bytes = crypto::RandomSecret(32);
  auto customer = [&] {
    return CustomerKey{key_bytes.Clone(),
                       crypto::Base64Encode(crypto::Md5(AsStringView(key_bytes.span())))};
  };
  PutObjectInput in;
  in.customer_key = customer();
  ASSERT_TRUE(Put("bkt", "secret", "customer data", std::move(in)).ok());
  auto get = [&](GetObjectInput& input) {
    input.bucket = "bkt";
    input.key = "secret";
    return service_->GetObject(Ctx(), input).status().code();
  };
  GetObjectInput range;
  range.range = "bytes=999999-";
  EXPECT_EQ(get(range), ErrorCode::kInvalidRequest);
  GetObjectInput part;
  part.part_number = 5;
  EXPECT_EQ(get(part), ErrorCode::kInvalidRequest);
  GetObjectInput if_match;
  if_match.conditions.if_match = "\"wrong\"";
  EXPECT_EQ(get(if_match), ErrorCode::kInvalidRequest);
  GetObjectInput modified;
  modified.conditions.if_modified_since = "Tue, 01 Jan 2030 00:00:00 GMT";
  EXPECT_EQ(get(modified), ErrorCode::kInvalidRequest);
  GetObjectInput head;
  head.head = true;
  EXPECT_EQ(get(head), ErrorCode::kInvalidRequest);
  // With the key, the usual answers.
  range.customer_key = customer();
  EXPECT_EQ(get(range), ErrorCode::kInvalidRange);
  if_match.customer_key = customer();
  EXPECT_EQ(get(if_match), ErrorCode::kPreconditionFailed);
}

// Item 17: a response streaming an object keeps its blobs from the collector, however long it
// takes after the object was overwritten.
TEST_F(S3ServiceTest, Item17AStreamingReadOutlivesTheGarbageGraceTime) {
  MakeBucket("bkt");
  std::string data(300000, '\0');
  std::mt19937 rng(17);
  for (auto& c : data) c = static_cast<char>(rng());
  ASSERT_TRUE(Put("bkt", "big", data).ok());
  GetObjectInput in;
  in.bucket = "bkt";
  in.key = "big";
  auto out = service_->GetObject(Ctx(), in);
  ASSERT_TRUE(out.ok());
  ASSERT_TRUE(out->stream);
  // Nothing read yet: the blob is opened only when the response gets to it (for a multipart
  // object, each part when its turn comes), long after the overwrite.
  std::string got;
  ASSERT_TRUE(Put("bkt", "big", "overwritten").ok());
  clock_.Advance(std::chrono::seconds(120));
  ASSERT_TRUE(service_->RunMaintenance().ok());
  char buf[65536];
  for (;;) {
    auto n = out->stream->Read(buf);
    ASSERT_TRUE(n.ok()) << n.status().ToString();
    if (*n == 0) break;
    got.append(buf, *n);
  }
  EXPECT_EQ(got, data);
  out->stream.reset();  // the reader is done: now the blob may go
  clock_.Advance(std::chrono::seconds(120));
  ASSERT_TRUE(service_->RunMaintenance().ok());
  EXPECT_EQ(FilesUnder("objects"), 1u);
}

// Item 17: a published blob that no record names and no collection is scheduled for (a lost
// metadata write, an unlink lost with its directory) is swept once it is older than the grace.
TEST_F(S3ServiceTest, Item17OrphanedBlobsAreSwept) {
  MakeBucket("bkt");
  ASSERT_TRUE(Put("bkt", "kept", "referenced").ok());
  auto publish_orphan = [&] {
    auto writer = blobs_->Create();
    EXPECT_TRUE((*writer)->Append(std::span<const char>("orphan", 6)).ok());
    auto id = (*writer)->Commit();
    EXPECT_TRUE(id.ok() && blobs_->Publish(*id).ok());
    return dir_ / "blobs" / "objects" / id->substr(0, 2) / *id;
  };
  const auto old_orphan = publish_orphan();
  const auto young_orphan = publish_orphan();
  std::filesystem::last_write_time(old_orphan, std::filesystem::file_time_type::clock::now() -
                                                   std::chrono::hours(1));
  EXPECT_EQ(FilesUnder("objects"), 3u);
  clock_.Advance(std::chrono::hours(7));  // the sweep is due
  ASSERT_TRUE(service_->RunMaintenance().ok());
  EXPECT_FALSE(std::filesystem::exists(old_orphan));
  EXPECT_TRUE(std::filesystem::exists(young_orphan))
      << "younger than the grace time: it may be a write whose commit is landing";
  EXPECT_EQ(Get("bkt", "kept"), "referenced");
}


// --- Versioning ---------------------------------------------------------------------------------

class VersioningTest : public S3ServiceTest {
 protected:
  void Versioned(const std::string& bucket, const std::string& status = "Enabled") {
    ASSERT_TRUE(service_->PutBucketVersioning(Ctx(), bucket, {status, ""}).ok());
  }
  std::string GetVersion(const std::string& bucket, const std::string& key,
                         const std::string& version_id) {
    GetObjectInput in;
    in.bucket = bucket;
    in.key = key;
    in.version_id = version_id;
    auto out = service_->GetObject(Ctx(), in);
    if (!out.ok()) return "<" + std::string(WireOf(out.status().code()).xml_code) + ">";
    return out->body;
  }
  std::vector<std::string> Listing(const std::string& bucket, ListVersionsInput in = {}) {
    in.bucket = bucket;
    auto out = service_->ListObjectVersions(Ctx(), in);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    std::vector<std::string> lines;
    if (!out.ok()) return lines;
    for (const auto& v : out->versions) {
      lines.push_back(v.record.key + (v.record.delete_marker ? " marker" : " object") +
                      (v.is_latest ? " latest" : ""));
    }
    return lines;
  }
};

TEST_F(VersioningTest, EveryWriteKeepsTheOldVersionReadableByItsId) {
  MakeBucket("bkt");
  ASSERT_TRUE(Put("bkt", "k", "before versioning").ok());
  Versioned("bkt");
  auto v1 = Put("bkt", "k", "one");
  auto v2 = Put("bkt", "k", "two");
  ASSERT_TRUE(v1.ok() && v2.ok());
  ASSERT_TRUE(v1->version_id && v2->version_id);
  EXPECT_NE(*v1->version_id, *v2->version_id);
  EXPECT_EQ(v1->version_id->size(), 32u);
  EXPECT_EQ(Get("bkt", "k"), "two");
  EXPECT_EQ(GetVersion("bkt", "k", *v1->version_id), "one");
  EXPECT_EQ(GetVersion("bkt", "k", "null"), "before versioning");
  // An id with one character changed is malformed, not merely unknown (as on AWS).
  std::string forged = *v1->version_id;
  forged[31] = forged[31] == 'A' ? 'B' : 'A';
  EXPECT_EQ(GetVersion("bkt", "k", forged), "<InvalidArgument>");
  EXPECT_EQ(Listing("bkt"),
            (std::vector<std::string>{"k object latest", "k object", "k object"}));
}

TEST_F(VersioningTest, ADeleteMarkerHidesTheKeyAndRemovingItRestores) {
  MakeBucket("bkt");
  Versioned("bkt");
  ASSERT_TRUE(Put("bkt", "k", "data").ok());
  auto marker = service_->DeleteObject(Ctx(), "bkt", "k");
  ASSERT_TRUE(marker.ok());
  EXPECT_TRUE(marker->delete_marker);
  ASSERT_TRUE(marker->version_id);
  auto hidden = service_->GetObjectRecord(Ctx(), "bkt", "k");
  EXPECT_EQ(hidden.status().code(), ErrorCode::kNoSuchKey);
  ASSERT_EQ(hidden.status().headers().size(), 2u);
  EXPECT_EQ(hidden.status().headers()[1].second, *marker->version_id);
  EXPECT_EQ(GetVersion("bkt", "k", *marker->version_id), "<MethodNotAllowed>");
  auto listed = service_->ListObjects(Ctx(), {"bkt", "", "", "", 1000});
  EXPECT_TRUE(listed->objects.empty());
  auto bucket_delete = service_->DeleteBucket(Ctx(), "bkt");
  EXPECT_EQ(bucket_delete.code(), ErrorCode::kBucketNotEmpty);
  EXPECT_NE(bucket_delete.message().find("all versions"), std::string::npos);

  auto removed = service_->DeleteObject(Ctx(), "bkt", "k", {marker->version_id, std::nullopt});
  ASSERT_TRUE(removed.ok());
  EXPECT_TRUE(removed->delete_marker);
  EXPECT_EQ(Get("bkt", "k"), "data");
}

TEST_F(VersioningTest, DeletingAVersionReleasesItsBlobAndPromotesTheNextNewest) {
  MakeBucket("bkt");
  Versioned("bkt");
  auto v1 = Put("bkt", "k", "one");
  auto v2 = Put("bkt", "k", "two");
  ASSERT_TRUE(v1.ok() && v2.ok());
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(*service_->RunMaintenance(), 0) << "a versioned overwrite releases nothing";
  EXPECT_EQ(FilesUnder("objects"), 2u);
  auto gone = service_->DeleteObject(Ctx(), "bkt", "k", {v2->version_id, std::nullopt});
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_FALSE(gone->delete_marker);
  EXPECT_EQ(Get("bkt", "k"), "one");
  EXPECT_EQ(GetVersion("bkt", "k", *v2->version_id), "<NoSuchVersion>");
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(*service_->RunMaintenance(), 1);
  EXPECT_EQ(FilesUnder("objects"), 1u);
  ASSERT_TRUE(service_->DeleteObject(Ctx(), "bkt", "k", {v1->version_id, std::nullopt}).ok());
  EXPECT_TRUE(Listing("bkt").empty());
  EXPECT_TRUE(service_->DeleteBucket(Ctx(), "bkt").ok());
}

// rclone's purge deletes every version of a key at once. Deleting the current version promotes the
// next newest into the current slot; a delete of that next version whose lookup straddles the move
// (current slot read before it, history read after) must still find it, not answer "already gone".
TEST_F(VersioningTest, DeletingAVersionWhileItIsPromotedStillDeletesIt) {
  MakeBucket("bkt");
  Versioned("bkt");
  auto v1 = Put("bkt", "k", "one");
  auto v2 = Put("bkt", "k", "two");
  ASSERT_TRUE(v1.ok() && v2.ok());
  interleaving_->BeforeNextGet("s3.version", [&] {
    auto promoted = service_->DeleteObject(Ctx(), "bkt", "k", {v2->version_id, std::nullopt});
    ASSERT_TRUE(promoted.ok()) << promoted.status().ToString();
  });
  auto gone = service_->DeleteObject(Ctx(), "bkt", "k", {v1->version_id, std::nullopt});
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  EXPECT_TRUE(Listing("bkt").empty());
  EXPECT_EQ(GetVersion("bkt", "k", *v1->version_id), "<NoSuchVersion>");
}

// A version demoted by a write shares that write's commit, and so its revision, with the new
// current version: changing it by id must change it, not put it back in the current slot.
TEST_F(VersioningTest, TaggingTheVersionJustDemotedLeavesTheCurrentVersionAlone) {
  MakeBucket("bkt");
  Versioned("bkt");
  auto v1 = Put("bkt", "k", "one");
  auto v2 = Put("bkt", "k", "two");
  ASSERT_TRUE(v1.ok() && v2.ok());
  auto tagged = service_->PutObjectTagging(Ctx(), "bkt", "k", {{"era", "first"}}, v1->version_id);
  ASSERT_TRUE(tagged.ok()) << tagged.status().ToString();
  EXPECT_EQ(Get("bkt", "k"), "two");
  EXPECT_EQ(GetVersion("bkt", "k", *v1->version_id), "one");
  auto current = service_->GetObjectTagging(Ctx(), "bkt", "k", std::nullopt);
  ASSERT_TRUE(current.ok());
  EXPECT_TRUE(current->tags.empty());
  auto old = service_->GetObjectTagging(Ctx(), "bkt", "k", v1->version_id);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->tags, (KeyValues{{"era", "first"}}));
}

TEST_F(VersioningTest, SuspendedBucketsKeepOneNullVersion) {
  MakeBucket("bkt");
  Versioned("bkt");
  auto v1 = Put("bkt", "k", "kept");
  ASSERT_TRUE(v1.ok());
  Versioned("bkt", "Suspended");
  auto n1 = Put("bkt", "k", "null one");
  ASSERT_TRUE(n1.ok());
  EXPECT_FALSE(n1->version_id) << "a PUT into a Suspended bucket answers no version id";
  ASSERT_TRUE(Put("bkt", "k", "null two").ok());
  EXPECT_EQ(Listing("bkt"), (std::vector<std::string>{"k object latest", "k object"}));
  EXPECT_EQ(GetVersion("bkt", "k", "null"), "null two");
  // A delete writes a null marker that replaces the null version for good.
  auto marker = service_->DeleteObject(Ctx(), "bkt", "k");
  ASSERT_TRUE(marker.ok());
  EXPECT_EQ(marker->version_id, "null");
  EXPECT_EQ(Listing("bkt"), (std::vector<std::string>{"k marker latest", "k object"}));
  EXPECT_EQ(GetVersion("bkt", "k", *v1->version_id), "kept");
}

// Pages of any size, across the batches in which current and noncurrent versions are read, list
// every version once, in the order of the whole listing, with what the records hold.
TEST_F(VersioningTest, PagesOfAnySizeListEveryVersionOnce) {
  MakeBucket("bkt");
  Versioned("bkt");
  for (int k = 0; k < 30; ++k) {
    for (int v = 0; v <= k % 4 * 7; ++v) {
      ASSERT_TRUE(Put("bkt", "key" + std::to_string(100 + k), std::string(v + 1, 'x')).ok());
    }
  }
  ASSERT_TRUE(service_->DeleteObject(Ctx(), "bkt", "key105").ok());
  auto entry = [](const ListedVersion& v) {
    return v.record.key + ":" + v.record.wire_version_id() + ":" +
           std::to_string(v.record.size) + ":" + v.record.etag + (v.is_latest ? ":latest" : "");
  };
  ListVersionsInput all;
  all.bucket = "bkt";
  auto whole = service_->ListObjectVersions(Ctx(), all);
  ASSERT_TRUE(whole.ok());
  ASSERT_FALSE(whole->truncated);
  std::vector<std::string> expected;
  for (const auto& v : whole->versions) expected.push_back(entry(v));
  ASSERT_EQ(expected.size(), 8u * 1 + 8 * 8 + 7 * 15 + 7 * 22 + 1);  // and the marker
  EXPECT_EQ(expected.front().substr(0, 7), "key100:");
  for (int page_size : {1, 7, 16, 17, 64, 100, 999}) {
    std::vector<std::string> seen;
    ListVersionsInput in;
    in.bucket = "bkt";
    in.max_keys = page_size;
    for (;;) {
      auto out = service_->ListObjectVersions(Ctx(), in);
      ASSERT_TRUE(out.ok());
      ASSERT_LE(out->versions.size(), static_cast<size_t>(page_size));
      for (const auto& v : out->versions) seen.push_back(entry(v));
      if (!out->truncated) break;
      in.key_marker = out->next_key_marker;
      in.version_id_marker = out->next_version_id_marker.value_or("");
    }
    EXPECT_EQ(seen, expected) << "pages of " << page_size;
  }
}

TEST_F(VersioningTest, ListingPagesByKeyAndVersionMarkers) {
  MakeBucket("bkt");
  Versioned("bkt");
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(Put("bkt", "a", "a" + std::to_string(i)).ok());
  ASSERT_TRUE(Put("bkt", "b", "b").ok());
  ASSERT_TRUE(service_->DeleteObject(Ctx(), "bkt", "b").ok());
  ASSERT_TRUE(Put("bkt", "dir/x", "x").ok());
  std::vector<std::string> seen;
  ListVersionsInput in;
  in.max_keys = 2;
  in.delimiter = "/";
  for (int page = 0; page < 10; ++page) {
    in.bucket = "bkt";
    auto out = service_->ListObjectVersions(Ctx(), in);
    ASSERT_TRUE(out.ok());
    for (const auto& v : out->versions) seen.push_back(v.record.key + ":" + v.record.version_id);
    for (const auto& p : out->common_prefixes) seen.push_back(p);
    if (!out->truncated) break;
    in.key_marker = out->next_key_marker;
    in.version_id_marker = out->next_version_id_marker.value_or("");
  }
  ASSERT_EQ(seen.size(), 8u);
  EXPECT_EQ(seen.back(), "dir/");
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "no entry twice across pages";
  ListVersionsInput bad;
  bad.bucket = "bkt";
  bad.version_id_marker = "null";
  EXPECT_EQ(service_->ListObjectVersions(Ctx(), bad).status().code(), ErrorCode::kValidation);
}

TEST_F(VersioningTest, ListObjectsSkipsMarkersAndPrefixesHoldingOnlyMarkers) {
  MakeBucket("bkt");
  Versioned("bkt");
  ASSERT_TRUE(Put("bkt", "gone/a", "a").ok());
  ASSERT_TRUE(Put("bkt", "live/b", "b").ok());
  ASSERT_TRUE(Put("bkt", "top", "t").ok());
  ASSERT_TRUE(service_->DeleteObject(Ctx(), "bkt", "gone/a").ok());
  auto out = service_->ListObjects(Ctx(), {"bkt", "", "/", "", 1000});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->common_prefixes, (std::vector<std::string>{"live/"}));
  ASSERT_EQ(out->objects.size(), 1u);
  EXPECT_EQ(out->objects[0].key, "top");
}


// --- Object Lock --------------------------------------------------------------------------------

class ObjectLockTest : public VersioningTest {
 protected:
  void LockedBucket(const std::string& name) {
    CreateBucketInput in{name, std::nullopt, true};
    ASSERT_TRUE(service_->CreateBucket(Ctx(), in).ok());
  }
  int64_t Later(int days) const { return ToUnixMillis(clock_.Now()) + days * 86'400'000LL; }
  Result<PutObjectOutput> PutLocked(const std::string& bucket, const std::string& key,
                                    LockRequest lock) {
    PutObjectInput in;
    in.lock = std::move(lock);
    in.content_md5 = crypto::Base64Encode(crypto::Md5("data"));
    return Put(bucket, key, "data", std::move(in));
  }
  Status DeleteVersionOf(const std::string& bucket, const std::string& key,
                         const std::string& version_id, bool bypass = false) {
    return service_->DeleteObject(Ctx(), bucket, key, {version_id, std::nullopt, bypass, bypass})
        .status();
  }
};

TEST_F(ObjectLockTest, ComplianceCannotBeShortenedOrDeletedByTheRoot) {
  LockedBucket("worm");
  auto put = PutLocked("worm", "k", {"COMPLIANCE", Later(10), ""});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(DeleteVersionOf("worm", "k", *put->version_id, true).code(), ErrorCode::kAccessDenied);
  EXPECT_EQ(service_->PutObjectRetention(Ctx(), "worm", "k", put->version_id,
                                         {"COMPLIANCE", Later(5), ""}, true)
                .code(),
            ErrorCode::kAccessDenied);
  EXPECT_EQ(service_->PutObjectRetention(Ctx(), "worm", "k", put->version_id,
                                         {"GOVERNANCE", Later(20), ""}, true)
                .code(),
            ErrorCode::kAccessDenied);
  EXPECT_TRUE(service_->PutObjectRetention(Ctx(), "worm", "k", put->version_id,
                                           {"COMPLIANCE", Later(20), ""}, false)
                  .ok())
      << "extending is always allowed";
  // A delete without a version only adds a marker: locks protect versions, not keys.
  auto marker = service_->DeleteObject(Ctx(), "worm", "k");
  ASSERT_TRUE(marker.ok());
  EXPECT_TRUE(marker->delete_marker);
  clock_.Advance(std::chrono::hours(24 * 21));
  EXPECT_TRUE(DeleteVersionOf("worm", "k", *put->version_id).ok()) << "after the date it may go";
}

TEST_F(ObjectLockTest, GovernanceNeedsTheBypassAndLegalHoldBlocksEvenThat) {
  LockedBucket("gov");
  auto put = PutLocked("gov", "k", {"GOVERNANCE", Later(10), ""});
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(DeleteVersionOf("gov", "k", *put->version_id).code(), ErrorCode::kAccessDenied);
  ASSERT_TRUE(service_->PutObjectLegalHold(Ctx(), "gov", "k", put->version_id, "ON").ok());
  EXPECT_EQ(DeleteVersionOf("gov", "k", *put->version_id, true).code(), ErrorCode::kAccessDenied);
  ASSERT_TRUE(service_->PutObjectLegalHold(Ctx(), "gov", "k", put->version_id, "OFF").ok());
  EXPECT_TRUE(DeleteVersionOf("gov", "k", *put->version_id, true).ok());
}

TEST_F(ObjectLockTest, DefaultRetentionAppliesAndNeedsAnIntegrityHeader) {
  LockedBucket("dflt");
  ASSERT_TRUE(service_->PutObjectLockConfiguration(Ctx(), "dflt", {true, {"GOVERNANCE", 2, 0}}).ok());
  EXPECT_EQ(Put("dflt", "plain", "data").status().code(), ErrorCode::kInvalidRequest)
      << "no Content-MD5 or checksum";
  auto put = PutLocked("dflt", "k", {});
  ASSERT_TRUE(put.ok());
  auto retention = service_->GetObjectRetention(Ctx(), "dflt", "k", std::nullopt);
  ASSERT_TRUE(retention.ok());
  EXPECT_EQ(retention->mode, "GOVERNANCE");
  EXPECT_EQ(retention->until_ms, Later(2));
}

TEST_F(ObjectLockTest, LockNeedsAVersioningBucketAndLockHeadersNeedALockBucket) {
  MakeBucket("plain");
  EXPECT_EQ(service_->PutObjectLockConfiguration(Ctx(), "plain", {true, {}}).code(),
            ErrorCode::kInvalidBucketState);
  EXPECT_EQ(PutLocked("plain", "k", {"GOVERNANCE", Later(1), ""}).status().code(),
            ErrorCode::kInvalidRequest);
  EXPECT_EQ(service_->GetObjectLockConfiguration(Ctx(), "plain").status().code(),
            ErrorCode::kObjectLockConfigurationNotFound);
  Versioned("plain");
  ASSERT_TRUE(service_->PutObjectLockConfiguration(Ctx(), "plain", {true, {}}).ok());
  EXPECT_EQ(service_->PutBucketVersioning(Ctx(), "plain", {"Suspended", ""}).code(),
            ErrorCode::kInvalidBucketState);
}

// Small objects keep their encrypted bytes in their record (S3Options::inline_max_size).
class InlineObjectTest : public S3ServiceTest {
 protected:
  void SetUp() override {
    inline_max_size_ = 64;
    S3ServiceTest::SetUp();
  }
  std::string MetadataFiles() {
    std::string all;
    for (auto& e : std::filesystem::directory_iterator(dir_)) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path(), std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    return all;
  }
};

TEST_F(InlineObjectTest, ASmallObjectLivesEncryptedInItsRecordWithNoBlobFile) {
  MakeBucket("bkt");
  const std::string secret = "inline-secret-0123456789";
  ASSERT_TRUE(Put("bkt", "small-key-marker", secret).ok());
  EXPECT_EQ(FilesUnder("staging") + FilesUnder("objects"), 0u);
  auto record = service_->GetObjectRecord(Ctx(), "bkt", "small-key-marker");
  ASSERT_TRUE(record.ok());
  ASSERT_EQ(record->segments.size(), 1u);
  EXPECT_TRUE(record->segments[0].blob_id.empty());
  EXPECT_EQ(record->segments[0].inline_data.size(), secret.size() + 16) << "ciphertext and tag";
  EXPECT_EQ(Get("bkt", "small-key-marker"), secret);
  EXPECT_EQ(Get("bkt", "small-key-marker", "bytes=7-12"), secret.substr(7, 6));
  // The metadata files hold the record (its key is found) but never the plaintext.
  const std::string files = MetadataFiles();
  EXPECT_NE(files.find("small-key-marker"), std::string::npos);
  EXPECT_EQ(files.find(secret), std::string::npos);
}

TEST_F(InlineObjectTest, LargerObjectsStillGoToBlobs) {
  MakeBucket("bkt");
  ASSERT_TRUE(Put("bkt", "big", std::string(65, 'b')).ok());
  EXPECT_EQ(FilesUnder("objects"), 1u);
  EXPECT_EQ(Get("bkt", "big"), std::string(65, 'b'));
}

TEST_F(InlineObjectTest, CopiesOverwritesAndDeletesOfInlineObjectsLeaveNoGarbage) {
  MakeBucket("bkt");
  ASSERT_TRUE(Put("bkt", "src", "original bytes").ok());
  CopyObjectInput copy;
  copy.source.bucket = "bkt";
  copy.source.key = "src";
  copy.bucket = "bkt";
  copy.key = "dst";
  ASSERT_TRUE(service_->CopyObject(Ctx(), copy).ok());
  EXPECT_TRUE(service_->GetObjectRecord(Ctx(), "bkt", "dst")->segments[0].blob_id.empty());
  ASSERT_TRUE(Put("bkt", "src", "overwritten").ok());
  EXPECT_EQ(Get("bkt", "dst"), "original bytes");
  EXPECT_EQ(Get("bkt", "src"), "overwritten");
  ASSERT_TRUE(service_->DeleteObject(Ctx(), "bkt", "dst").ok());
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ(*service_->RunMaintenance(), 0) << "no blob was ever released";
  EXPECT_EQ(FilesUnder("staging") + FilesUnder("objects"), 0u);
  Reopen();
  ASSERT_TRUE(service_->Recover().ok());
  EXPECT_EQ(Get("bkt", "src"), "overwritten");
}

TEST_F(InlineObjectTest, EveryVersionKeepsItsOwnInlineBytes) {
  MakeBucket("bkt");
  ASSERT_TRUE(service_->PutBucketVersioning(Ctx(), "bkt", {"Enabled", ""}).ok());
  auto first = Put("bkt", "k", "version one");
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(Put("bkt", "k", "version two").ok());
  GetObjectInput in;
  in.bucket = "bkt";
  in.key = "k";
  in.version_id = *first->version_id;
  auto old = service_->GetObject(Ctx(), in);
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  EXPECT_EQ(old->body, "version one");
  EXPECT_EQ(Get("bkt", "k"), "version two");
}

TEST(ObjectRecordEncoding, InlineBytesFollowTheJsonRawAndRoundTrip) {
  ObjectRecord o;
  o.bucket = "b";
  o.key = "k";
  o.size = 3;
  Segment segment{"", 3, 0, "", {}, {}};
  segment.inline_data = std::string("\0\x01{\"x", 5);  // any bytes, NUL and braces included
  o.segments.push_back(segment);
  const std::string stored = EncodeObject(o);
  EXPECT_EQ(ObjectRecordJson(stored).size(), stored.size() - 6);
  auto decoded = DecodeObject(stored);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->segments[0].inline_data, segment.inline_data);
  // A record that claims inline bytes it does not carry is corrupt.
  auto truncated = DecodeObject(ObjectRecordJson(stored));
  ASSERT_FALSE(truncated.ok());
  EXPECT_EQ(truncated.status().code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace hangar::s3
