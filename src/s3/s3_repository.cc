#include "s3/s3_repository.h"

#include <cstdio>
#include <mutex>

namespace hangar::s3 {
namespace {

constexpr std::string_view kBuckets = "s3.bucket";
constexpr std::string_view kObjects = "s3.object";
constexpr std::string_view kVersions = "s3.version";
constexpr std::string_view kUploads = "s3.upload";
constexpr std::string_view kParts = "s3.part";
constexpr std::string_view kBlobs = "s3.blob";
constexpr std::string_view kGarbage = "s3.garbage";
constexpr std::string_view kAccountBlocks = "s3.account-public-access-block";
// A completed upload's result, body "<bucket incarnation>\n<object record without segments>".
constexpr std::string_view kCompleted = "s3.completed-upload";

std::string UploadDocId(std::string_view key, std::string_view upload_id) {
  std::string id(key);
  id.push_back('\0');
  id.append(upload_id);
  return id;
}

std::string PartDocId(int part_number) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%05d", part_number);
  return buf;
}

store::Document Doc(std::string_view collection, std::string_view partition, std::string_view id,
                    std::string body, int64_t due_ms = 0) {
  return store::Document{std::string(collection), std::string(partition), std::string(id),
                         std::move(body), 0, due_ms};
}

}  // namespace

std::string S3Repository::VersionDocId(std::string_view key, int64_t stamp) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx",
                static_cast<unsigned long long>(~static_cast<uint64_t>(stamp)));
  std::string id(key);
  id.push_back('\0');
  id.append(buf, 16);
  return id;
}

std::string_view S3Repository::KeyOfVersionDocId(std::string_view id) {
  return id.size() >= 17 ? id.substr(0, id.size() - 17) : id;
}

Result<std::optional<Stored<BucketRecord>>> S3Repository::GetBucket(std::string_view bucket) {
  uint64_t generation;
  {
    std::shared_lock lock(mu_);
    auto it = buckets_.find(std::string(bucket));
    if (it != buckets_.end()) return std::optional<Stored<BucketRecord>>(it->second);
    generation = bucket_generation_;
  }
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kBuckets, "", bucket));
  if (!doc) return std::optional<Stored<BucketRecord>>();
  HANGAR_ASSIGN_OR_RETURN(BucketRecord b, DecodeBucket(doc->body));
  Stored<BucketRecord> stored{std::move(b), doc->revision};
  std::unique_lock lock(mu_);
  // A bucket write that raced with this read makes what we read possibly stale: do not keep it.
  if (generation == bucket_generation_) buckets_[std::string(bucket)] = stored;
  return std::optional<Stored<BucketRecord>>(std::move(stored));
}

Result<std::optional<PublicAccessBlock>> S3Repository::GetAccountPublicAccessBlock(
    std::string_view account) {
  {
    std::shared_lock lock(mu_);
    auto it = account_blocks_.find(std::string(account));
    if (it != account_blocks_.end()) return it->second;
  }
  uint64_t generation;
  {
    std::shared_lock lock(mu_);
    generation = bucket_generation_;
  }
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kAccountBlocks, "", account));
  std::optional<PublicAccessBlock> block;
  if (doc) {
    HANGAR_ASSIGN_OR_RETURN(block, DecodePublicAccessBlock(doc->body));
  }
  std::unique_lock lock(mu_);
  if (generation == bucket_generation_) account_blocks_.emplace(std::string(account), block);
  return block;
}

std::vector<std::string> S3Repository::UncachedCollections() {
  return {std::string(kObjects), std::string(kVersions), std::string(kUploads),
          std::string(kParts),   std::string(kBlobs),    std::string(kGarbage),
          std::string(kCompleted)};
}

void S3Repository::InvalidateAll() {
  std::unique_lock lock(mu_);
  buckets_.clear();
  account_blocks_.clear();
  ++bucket_generation_;
}

Status S3Repository::PutAccountPublicAccessBlock(std::string_view account,
                                                 const std::optional<PublicAccessBlock>& block) {
  std::unique_lock lock(mu_);  // serialises writers with the cache update
  store::Mutation m = block ? store::Mutation::Upsert(Doc(kAccountBlocks, "", account,
                                                       EncodePublicAccessBlock(*block)))
                            : store::Mutation::Delete(std::string(kAccountBlocks), "",
                                                      std::string(account));
  HANGAR_RETURN_IF_ERROR(store_.Commit({m}).status());
  account_blocks_[std::string(account)] = block;
  return Status::Ok();
}

Result<std::vector<BucketRecord>> S3Repository::ListBuckets() {
  std::vector<BucketRecord> out;
  std::string after;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kBuckets, "", {"", after, 1000}));
    for (const auto& d : docs) {
      HANGAR_ASSIGN_OR_RETURN(BucketRecord b, DecodeBucket(d.body));
      out.push_back(std::move(b));
    }
    if (docs.size() < 1000) break;
    after = docs.back().id;
  }
  return out;
}

Result<std::optional<Stored<ObjectRecord>>> S3Repository::GetObject(std::string_view bucket,
                                                                    std::string_view key) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kObjects, bucket, key));
  if (!doc) return std::optional<Stored<ObjectRecord>>();
  HANGAR_ASSIGN_OR_RETURN(ObjectRecord o, DecodeObject(doc->body));
  return std::optional<Stored<ObjectRecord>>(Stored<ObjectRecord>{std::move(o), doc->revision});
}

Result<std::vector<ObjectRecord>> S3Repository::ListObjects(std::string_view bucket,
                                                           std::string_view prefix,
                                                           std::string_view start_after,
                                                           size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kObjects, bucket,
                                                 {std::string(prefix), std::string(start_after),
                                                  limit}));
  std::vector<ObjectRecord> out;
  out.reserve(docs.size());
  for (const auto& d : docs) {
    HANGAR_ASSIGN_OR_RETURN(ObjectRecord o, DecodeObject(d.body));
    out.push_back(std::move(o));
  }
  return out;
}

Result<std::vector<store::Document>> S3Repository::ListObjectDocuments(
    std::string_view bucket, std::string_view prefix, std::string_view start_after, size_t limit) {
  return store_.List(kObjects, bucket, {std::string(prefix), std::string(start_after), limit});
}

Result<bool> S3Repository::BucketIsEmpty(std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kObjects, bucket, {"", "", 1}));
  if (!docs.empty()) return false;
  HANGAR_ASSIGN_OR_RETURN(docs, store_.List(kVersions, bucket, {"", "", 1}));
  return docs.empty();
}

Result<std::optional<Stored<ObjectRecord>>> S3Repository::GetVersion(std::string_view bucket,
                                                                     std::string_view key,
                                                                     int64_t stamp) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kVersions, bucket, VersionDocId(key, stamp)));
  if (!doc) return std::optional<Stored<ObjectRecord>>();
  HANGAR_ASSIGN_OR_RETURN(ObjectRecord o, DecodeObject(doc->body));
  return std::optional<Stored<ObjectRecord>>(Stored<ObjectRecord>{std::move(o), doc->revision});
}

Result<std::vector<Stored<ObjectRecord>>> S3Repository::ListKeyVersions(std::string_view bucket,
                                                                        std::string_view key,
                                                                        size_t limit) {
  std::string prefix(key);
  prefix.push_back('\0');
  HANGAR_ASSIGN_OR_RETURN(auto docs, store_.List(kVersions, bucket, {prefix, "", limit}));
  std::vector<Stored<ObjectRecord>> out;
  out.reserve(docs.size());
  for (const auto& d : docs) {
    HANGAR_ASSIGN_OR_RETURN(ObjectRecord o, DecodeObject(d.body));
    out.push_back({std::move(o), d.revision});
  }
  return out;
}

Result<std::vector<store::Document>> S3Repository::ListVersionDocuments(
    std::string_view bucket, std::string_view prefix, std::string_view start_after, size_t limit) {
  return store_.List(kVersions, bucket, {std::string(prefix), std::string(start_after), limit});
}

store::Mutation S3Repository::PutVersion(const ObjectRecord& o, int64_t expected_revision) {
  store::Document doc = Doc(kVersions, o.bucket, VersionDocId(o.key, o.stamp()), EncodeObject(o));
  return expected_revision == 0 ? store::Mutation::Create(std::move(doc))
                                : store::Mutation::Update(std::move(doc), expected_revision);
}

store::Mutation S3Repository::DeleteVersion(const ObjectRecord& o, int64_t revision) {
  return store::Mutation::DeleteIfRevision(std::string(kVersions), o.bucket,
                                           VersionDocId(o.key, o.stamp()), revision);
}

Result<std::optional<Stored<UploadRecord>>> S3Repository::GetUpload(std::string_view bucket,
                                                                    std::string_view key,
                                                                    std::string_view upload_id) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kUploads, bucket, UploadDocId(key, upload_id)));
  if (!doc) return std::optional<Stored<UploadRecord>>();
  HANGAR_ASSIGN_OR_RETURN(UploadRecord u, DecodeUpload(doc->body));
  return std::optional<Stored<UploadRecord>>(Stored<UploadRecord>{std::move(u), doc->revision});
}

Result<std::vector<UploadRecord>> S3Repository::ListUploads(std::string_view bucket,
                                                            std::string_view prefix,
                                                            std::string_view key_marker,
                                                            std::string_view upload_id_marker,
                                                            size_t limit) {
  // After (key_marker, upload_id_marker): with an upload id marker, uploads of that key after it;
  // without one, everything after that key.
  std::string after;
  if (!key_marker.empty()) {
    after = upload_id_marker.empty() ? UploadDocId(key_marker, "\xff") :
                                       UploadDocId(key_marker, upload_id_marker);
  }
  HANGAR_ASSIGN_OR_RETURN(auto docs,
                          store_.List(kUploads, bucket, {std::string(prefix), after, limit}));
  std::vector<UploadRecord> out;
  for (const auto& d : docs) {
    HANGAR_ASSIGN_OR_RETURN(UploadRecord u, DecodeUpload(d.body));
    out.push_back(std::move(u));
  }
  return out;
}

Result<std::vector<Stored<PartRecord>>> S3Repository::ListParts(std::string_view upload_id,
                                                                int after_part_number,
                                                                size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(
      auto docs,
      store_.List(kParts, upload_id,
                  {"", after_part_number > 0 ? PartDocId(after_part_number) : "", limit}));
  std::vector<Stored<PartRecord>> out;
  for (const auto& d : docs) {
    HANGAR_ASSIGN_OR_RETURN(PartRecord p, DecodePart(d.body));
    out.push_back({std::move(p), d.revision});
  }
  return out;
}

Result<std::optional<Stored<PartRecord>>> S3Repository::GetPart(std::string_view upload_id,
                                                                int part_number) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kParts, upload_id, PartDocId(part_number)));
  if (!doc) return std::optional<Stored<PartRecord>>();
  HANGAR_ASSIGN_OR_RETURN(PartRecord p, DecodePart(doc->body));
  return std::optional<Stored<PartRecord>>(Stored<PartRecord>{std::move(p), doc->revision});
}

Result<bool> S3Repository::IsBlobReferenced(std::string_view blob_id) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kBlobs, "", blob_id));
  return doc.has_value();
}

Result<bool> S3Repository::IsGarbage(std::string_view blob_id) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kGarbage, "", blob_id));
  return doc.has_value();
}

Result<std::vector<std::string>> S3Repository::ListDueGarbage(int64_t now_ms, size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(auto docs, store_.ListDue(kGarbage, now_ms, limit));
  std::vector<std::string> ids;
  for (auto& d : docs) ids.push_back(std::move(d.id));
  return ids;
}

Result<std::vector<UploadRecord>> S3Repository::ListAbandonedUploads(int64_t now_ms,
                                                                     size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(auto docs, store_.ListDue(kUploads, now_ms, limit));
  std::vector<UploadRecord> out;
  for (const auto& d : docs) {
    HANGAR_ASSIGN_OR_RETURN(UploadRecord u, DecodeUpload(d.body));
    out.push_back(std::move(u));
  }
  return out;
}

Result<std::optional<ObjectRecord>> S3Repository::GetCompletedUpload(
    std::string_view bucket, std::string_view key, std::string_view upload_id,
    std::string_view bucket_incarnation) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kCompleted, bucket, UploadDocId(key, upload_id)));
  if (!doc) return std::optional<ObjectRecord>();
  size_t newline = doc->body.find('\n');
  if (newline == std::string::npos) return InternalError("completed upload record is corrupt");
  if (std::string_view(doc->body).substr(0, newline) != bucket_incarnation) {
    return std::optional<ObjectRecord>();
  }
  HANGAR_ASSIGN_OR_RETURN(ObjectRecord o, DecodeObject(std::string_view(doc->body).substr(newline + 1)));
  return std::optional<ObjectRecord>(std::move(o));
}

Result<int> S3Repository::ForgetCompletedUploads(int64_t now_ms, size_t limit) {
  HANGAR_ASSIGN_OR_RETURN(auto docs, store_.ListDue(kCompleted, now_ms, limit));
  if (docs.empty()) return 0;
  std::vector<store::Mutation> m;
  for (const auto& d : docs) {
    m.push_back(store::Mutation::DeleteIfRevision(std::string(kCompleted), d.partition, d.id,
                                                  d.revision));
  }
  HANGAR_RETURN_IF_ERROR(store_.Commit(m).status());
  return static_cast<int>(docs.size());
}

store::Mutation S3Repository::PutCompletedUpload(const UploadRecord& u, const ObjectRecord& result,
                                                 int64_t due_ms) {
  ObjectRecord kept = result;
  kept.segments.clear();  // the answer needs no blobs, and must not keep any referenced
  return store::Mutation::Upsert(Doc(kCompleted, u.bucket, UploadDocId(u.key, u.upload_id),
                                     u.bucket_incarnation + "\n" + EncodeObject(kept), due_ms));
}

store::Mutation S3Repository::CreateBucket(const BucketRecord& b) {
  return store::Mutation::Create(Doc(kBuckets, "", b.name, EncodeBucket(b)));
}

store::Mutation S3Repository::UpdateBucket(const BucketRecord& b, int64_t revision) {
  return store::Mutation::Update(Doc(kBuckets, "", b.name, EncodeBucket(b)), revision);
}

store::Mutation S3Repository::DeleteBucket(std::string_view bucket, int64_t revision) {
  return store::Mutation::DeleteIfRevision(std::string(kBuckets), "", std::string(bucket),
                                           revision);
}

store::Mutation S3Repository::RequireBucketRevision(std::string_view bucket, int64_t revision) {
  return store::Mutation::RequireRevision(std::string(kBuckets), "", std::string(bucket),
                                          revision);
}

store::Mutation S3Repository::PutObject(const ObjectRecord& o, int64_t expected_revision) {
  store::Document doc = Doc(kObjects, o.bucket, o.key, EncodeObject(o));
  return expected_revision == 0 ? store::Mutation::Create(std::move(doc))
                                : store::Mutation::Update(std::move(doc), expected_revision);
}

store::Mutation S3Repository::DeleteObject(std::string_view bucket, std::string_view key,
                                           int64_t revision) {
  return store::Mutation::DeleteIfRevision(std::string(kObjects), std::string(bucket),
                                           std::string(key), revision);
}

store::Mutation S3Repository::PutUpload(const UploadRecord& u, int64_t due_ms, int64_t revision) {
  store::Document doc =
      Doc(kUploads, u.bucket, UploadDocId(u.key, u.upload_id), EncodeUpload(u), due_ms);
  return revision == 0 ? store::Mutation::Create(std::move(doc))
                       : store::Mutation::Update(std::move(doc), revision);
}

store::Mutation S3Repository::DeleteUpload(const UploadRecord& u, int64_t revision) {
  return store::Mutation::DeleteIfRevision(std::string(kUploads), u.bucket,
                                           UploadDocId(u.key, u.upload_id), revision);
}

store::Mutation S3Repository::PutPart(std::string_view upload_id, const PartRecord& p) {
  return store::Mutation::Upsert(Doc(kParts, upload_id, PartDocId(p.part_number), EncodePart(p)));
}

store::Mutation S3Repository::DeletePart(std::string_view upload_id, int part_number) {
  return store::Mutation::Delete(std::string(kParts), std::string(upload_id),
                                 PartDocId(part_number));
}

store::Mutation S3Repository::RegisterBlob(std::string_view blob_id, std::string_view owner) {
  return store::Mutation::Upsert(Doc(kBlobs, "", blob_id, std::string(owner)));
}

std::vector<store::Mutation> S3Repository::ReleaseBlob(std::string_view blob_id, int64_t due_ms) {
  if (blob_id.empty()) return {};  // a segment kept inline: its bytes go with its record
  std::vector<store::Mutation> m;
  m.push_back(store::Mutation::Delete(std::string(kBlobs), "", std::string(blob_id)));
  m.push_back(store::Mutation::Upsert(Doc(kGarbage, "", blob_id, "", due_ms)));
  return m;
}

store::Mutation S3Repository::ForgetGarbage(std::string_view blob_id) {
  return store::Mutation::Delete(std::string(kGarbage), "", std::string(blob_id));
}

store::Mutation S3Repository::PostponeGarbage(std::string_view blob_id, int64_t due_ms) {
  return store::Mutation::Upsert(Doc(kGarbage, "", blob_id, "", due_ms));
}

Status S3Repository::Commit(const std::vector<store::Mutation>& mutations) {
  auto r = store_.Commit(mutations);
  // A bucket written, or one whose check failed (another node may have changed it: the retry
  // must read it afresh), leaves the cache.
  const bool conflict = !r.ok() && r.status().code() == ErrorCode::kConflict;
  bool touches_buckets = false;
  for (const auto& m : mutations) {
    if (m.doc.collection == kBuckets && (conflict || m.kind != store::Mutation::Kind::kCheck)) {
      touches_buckets = true;
    }
  }
  if (touches_buckets) {
    std::unique_lock lock(mu_);
    for (const auto& m : mutations) {
      if (m.doc.collection == kBuckets) buckets_.erase(m.doc.id);
    }
    ++bucket_generation_;
  }
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace hangar::s3
