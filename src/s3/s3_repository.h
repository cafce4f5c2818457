#pragma once
// S3Repository: how S3's records map onto MetadataStore documents, and the reads S3 needs.
// Writes are built as mutations here and committed together by the services, so that an object,
// the blobs it now uses and the blobs it stopped using change in one atomic commit.
//
// Documents (collection / partition / id):
//   s3.bucket   ""        / <bucket>                     BucketRecord
//   s3.object   <bucket>  / <key>                        the key's current version, which may be a
//                                                        delete marker (listing order = key order)
//   s3.version  <bucket>  / <key> \0 <~stamp, 16 hex>     noncurrent versions, newest first
//   s3.upload   <bucket>  / <key> \0 <upload id>         UploadRecord; due = abandonment time
//   s3.part     <upload>  / <part number, 5 digits>      PartRecord
//   s3.blob     ""        / <blob id>                    which record uses the blob (recovery)
//   s3.garbage  ""        / <blob id>                    blob to delete; due = after a grace time
// Bucket records are cached in memory (every request reads one; they rarely change) and
// invalidated by every commit that touches a bucket document.
// Thread-safety: safe for concurrent use.

#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "s3/records.h"
#include "store/metadata_store.h"

namespace hangar::s3 {

template <typename T>
struct Stored {
  T record;
  int64_t revision = 0;
};

class S3Repository {
 public:
  explicit S3Repository(store::MetadataStore& store) : store_(store) {}

  // --- reads ---
  Result<std::optional<Stored<BucketRecord>>> GetBucket(std::string_view bucket);
  Result<std::vector<BucketRecord>> ListBuckets();
  // The account's Block Public Access settings (none = not configured). Cached.
  Result<std::optional<PublicAccessBlock>> GetAccountPublicAccessBlock(std::string_view account);
  // `block` none deletes them.
  Status PutAccountPublicAccessBlock(std::string_view account,
                                     const std::optional<PublicAccessBlock>& block);
  Result<std::optional<Stored<ObjectRecord>>> GetObject(std::string_view bucket,
                                                        std::string_view key);
  // Objects of a bucket in key order: keys starting with `prefix`, strictly after `start_after`.
  Result<std::vector<ObjectRecord>> ListObjects(std::string_view bucket, std::string_view prefix,
                                                std::string_view start_after, size_t limit);
  // The same, undecoded: listings decode only the entries they return.
  Result<std::vector<store::Document>> ListObjectDocuments(std::string_view bucket,
                                                           std::string_view prefix,
                                                           std::string_view start_after,
                                                           size_t limit);
  // No current object, delete marker or noncurrent version is left.
  Result<bool> BucketIsEmpty(std::string_view bucket);
  // Noncurrent versions (versions.h for the id order).
  Result<std::optional<Stored<ObjectRecord>>> GetVersion(std::string_view bucket,
                                                         std::string_view key, int64_t stamp);
  // Noncurrent versions of one key, newest first.
  Result<std::vector<Stored<ObjectRecord>>> ListKeyVersions(std::string_view bucket,
                                                            std::string_view key, size_t limit);
  // Noncurrent version documents of a bucket in id order (key, then newest first).
  Result<std::vector<store::Document>> ListVersionDocuments(std::string_view bucket,
                                                            std::string_view prefix,
                                                            std::string_view start_after,
                                                            size_t limit);
  Result<std::optional<Stored<UploadRecord>>> GetUpload(std::string_view bucket,
                                                        std::string_view key,
                                                        std::string_view upload_id);
  // Uploads of a bucket ordered by key, then upload id (= initiation order).
  Result<std::vector<UploadRecord>> ListUploads(std::string_view bucket, std::string_view prefix,
                                                std::string_view key_marker,
                                                std::string_view upload_id_marker, size_t limit);
  Result<std::vector<Stored<PartRecord>>> ListParts(std::string_view upload_id,
                                                    int after_part_number, size_t limit);
  Result<std::optional<Stored<PartRecord>>> GetPart(std::string_view upload_id, int part_number);
  Result<bool> IsBlobReferenced(std::string_view blob_id);
  // Whether the blob is scheduled for deletion (released, grace time running).
  Result<bool> IsGarbage(std::string_view blob_id);
  // Blobs whose grace time has passed, and uploads abandoned long enough to be cleaned up.
  Result<std::vector<std::string>> ListDueGarbage(int64_t now_ms, size_t limit);
  Result<std::vector<UploadRecord>> ListAbandonedUploads(int64_t now_ms, size_t limit);
  // The result of a completed upload, kept so that a retried Complete answers as the first did
  // (only in the bucket incarnation it completed in).
  Result<std::optional<ObjectRecord>> GetCompletedUpload(std::string_view bucket,
                                                         std::string_view key,
                                                         std::string_view upload_id,
                                                         std::string_view bucket_incarnation);
  // Removes completion results older than their replay window. Returns how many.
  Result<int> ForgetCompletedUploads(int64_t now_ms, size_t limit);

  // --- mutations (commit them with Commit) ---
  static store::Mutation CreateBucket(const BucketRecord& b);
  static store::Mutation UpdateBucket(const BucketRecord& b, int64_t revision);
  static store::Mutation DeleteBucket(std::string_view bucket, int64_t revision);
  // Writes nothing: the commit holds only if the bucket document is still at `revision`.
  static store::Mutation RequireBucketRevision(std::string_view bucket, int64_t revision);
  // `expected_revision` 0: the object must not exist yet.
  static store::Mutation PutObject(const ObjectRecord& o, int64_t expected_revision);
  static store::Mutation DeleteObject(std::string_view bucket, std::string_view key,
                                      int64_t revision);
  // A version that stops being current (created) or is removed for good.
  // `expected_revision` 0: a new noncurrent version; otherwise an update of it (tags, retention).
  static store::Mutation PutVersion(const ObjectRecord& o, int64_t expected_revision = 0);
  static store::Mutation DeleteVersion(const ObjectRecord& o, int64_t revision);
  static store::Mutation PutUpload(const UploadRecord& u, int64_t due_ms, int64_t revision);
  static store::Mutation DeleteUpload(const UploadRecord& u, int64_t revision);
  // Keeps `result` (segments dropped) as the answer to retries of upload `u` until `due_ms`.
  static store::Mutation PutCompletedUpload(const UploadRecord& u, const ObjectRecord& result,
                                            int64_t due_ms);
  static store::Mutation PutPart(std::string_view upload_id, const PartRecord& p);
  static store::Mutation DeletePart(std::string_view upload_id, int part_number);
  // The blob now belongs to `owner` (a description for recovery, e.g. "object <bucket>/<key>").
  static store::Mutation RegisterBlob(std::string_view blob_id, std::string_view owner);
  // The blob is no longer used: drop its registration and schedule its deletion at `due_ms`.
  static std::vector<store::Mutation> ReleaseBlob(std::string_view blob_id, int64_t due_ms);
  static store::Mutation ForgetGarbage(std::string_view blob_id);
  // Moves a scheduled deletion to `due_ms` (the blob is still being read).
  static store::Mutation PostponeGarbage(std::string_view blob_id, int64_t due_ms);

  Status Commit(const std::vector<store::Mutation>& mutations);

  // A noncurrent version's document id: key, NUL, the bit-inverted stamp in 16 hex digits (so a
  // key's versions list newest first), and back.
  static std::string VersionDocId(std::string_view key, int64_t stamp);
  static std::string_view KeyOfVersionDocId(std::string_view id);

 // The collections of objects, versions, uploads, parts and blob bookkeeping: written by most
  // requests and cached by no node, so in cluster mode they do not move the change epoch.
  static std::vector<std::string> UncachedCollections();

 // Drops every cached bucket and account setting (cluster mode: another node changed some).
  // A load that raced with it does not cache what it read.
  void InvalidateAll();

 private:
  store::MetadataStore& store_;
  std::shared_mutex mu_;
  std::unordered_map<std::string, Stored<BucketRecord>> buckets_;  // protected by mu_
  uint64_t bucket_generation_ = 0;  // protected by mu_; bumped by bucket writes
  std::unordered_map<std::string, std::optional<PublicAccessBlock>> account_blocks_;  // mu_
};

}  // namespace hangar::s3
