// listing_bench: how ListObjects behaves on a bucket of 1,000,000 keys in the embedded store.
// The issue asks for listings that stay efficient at that size (an index, not a scan): this fills
// one bucket's metadata directly (1,000 prefixes x 1,000 keys; no object bytes are needed to list)
// and times pages from the start, deep in the key space, under a prefix, and rolled up with a
// delimiter. Usage: listing_bench [--keys N] [--dir DIR]

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "crypto/random.h"
#include "s3/s3_service.h"
#include "store/fs/fs_blob_store.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace {

using namespace hangar;
using Clock_ = std::chrono::steady_clock;

// Listing never asks KMS anything.
class NoIdentityPolicies final : public iam::IdentityPolicySource {
 public:
  Result<iam::IdentityPolicies> PoliciesFor(const auth::Principal&) const override {
    return iam::IdentityPolicies{};
  }
};

class NoKms final : public s3::KmsGateway {
 public:
  Result<DataKey> GenerateDataKey(const auth::RequestContext&, std::string_view,
                                  const s3::KmsContext&) override {
    return InternalError("unused");
  }
  Result<SecretBytes> Decrypt(const auth::RequestContext&, std::string_view,
                              const s3::KmsContext&) override {
    return InternalError("unused");
  }
  Result<std::string> DefaultKeyArn(const auth::RequestContext&) override {
    return InternalError("unused");
  }
  Result<std::string> CheckKeyUsable(const auth::RequestContext&, std::string_view,
                                     std::string_view, const s3::KmsContext&) override {
    return InternalError("unused");
  }
  Result<KeyStatus> DescribeKeyState(const auth::RequestContext&, std::string_view) override {
    return InternalError("unused");
  }
};

double Millis(Clock_::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
  size_t keys = 1'000'000;
  std::string dir = std::filesystem::temp_directory_path() /
                    ("hangar-listing-" + std::to_string(::getpid()));
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--keys") keys = std::strtoull(argv[i + 1], nullptr, 10);
    if (flag == "--dir") dir = argv[i + 1];
  }
  std::filesystem::create_directories(dir);
  auto store = std::move(*store::SqliteMetadataStore::Open(dir + "/metadata.db"));
  auto blobs = std::move(*store::FsBlobStore::OpenAt(dir + "/blobs"));
  s3::S3Repository repository(*store);
  NoKms kms;
  auto root_key = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
  SystemClock clock;
  s3::SseEngine sse(kms, *root_key, clock, s3::SseOptions{});
  NoIdentityPolicies identities;
  s3::S3Access access(identities);
  s3::S3Service service(repository, *blobs, sse, access, clock, s3::S3Options{});

  auth::RequestContext ctx;
  ctx.principal.type = auth::PrincipalType::kRoot;
  ctx.principal.account_id = "111122223333";
  ctx.region = "us-east-1";
  ctx.now = clock.Now();
  if (!service.CreateBucket(ctx, {"big-bucket", std::nullopt}).ok()) return 1;

  // 1. Fill: 1,000 prefixes of 1,000 keys each, 10,000 documents per transaction.
  auto fill_start = Clock_::now();
  std::vector<store::Mutation> batch;
  char key[64];
  for (size_t i = 0; i < keys; ++i) {
    std::snprintf(key, sizeof key, "dir%04zu/object%06zu.dat", i / 1000, i);
    s3::ObjectRecord o;
    o.bucket = "big-bucket";
    o.key = key;
    o.size = 4096;
    o.etag = "\"0123456789abcdef0123456789abcdef\"";
    o.last_modified_ms = ToUnixMillis(clock.Now());
    batch.push_back(s3::S3Repository::PutObject(o, 0));
    if (batch.size() == 10'000 || i + 1 == keys) {
      if (!repository.Commit(batch).ok()) return 1;
      batch.clear();
    }
  }
  std::printf("filled %zu keys in %.1f s\n", keys,
              std::chrono::duration<double>(Clock_::now() - fill_start).count());

  // 2. Listings, each timed over several runs.
  auto time_list = [&](const char* what, s3::ListObjectsInput input) {
    input.bucket = "big-bucket";
    double best = 1e9, total = 0;
    size_t entries = 0;
    const int runs = 20;
    for (int r = 0; r < runs; ++r) {
      auto start = Clock_::now();
      auto out = service.ListObjects(ctx, input);
      double ms = Millis(Clock_::now() - start);
      if (!out.ok()) {
        std::printf("%s: %s\n", what, out.status().ToString().c_str());
        std::exit(1);
      }
      entries = out->objects.size() + out->common_prefixes.size();
      best = std::min(best, ms);
      total += ms;
    }
    std::printf("%-52s %5zu entries  best %7.2f ms  mean %7.2f ms\n", what, entries, best,
                total / runs);
  };
  time_list("first page (1000 keys)", {"", "", "", "", 1000});
  time_list("page after key 500,000", {"", "", "", "dir0500/object500000.dat", 1000});
  time_list("last page", {"", "", "", "dir0999/object999000.dat", 1000});
  time_list("prefix dir0777/ (1000 keys)", {"", "dir0777/", "", "", 1000});
  time_list("delimiter '/' at the root (1000 common prefixes)", {"", "", "/", "", 1000});
  time_list("delimiter '/', second half (500 prefixes)", {"", "", "/", "dir0499/", 1000});
  time_list("prefix that matches nothing", {"", "zzz/", "", "", 1000});
  std::filesystem::remove_all(dir);
  return 0;
}
