// S3Service: single objects — PUT, GET/HEAD, DELETE, multi-delete, copy, tagging — and the atomic
// swap of an object's metadata that every write ends with.

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <random>
#include <thread>

#include "common/strings.h"
#include "crypto/base64.h"
#include "s3/object_io.h"
#include "s3/object_rules.h"
#include "s3/s3_service.h"
#include "s3/tags.h"
#include "store/memory_blob.h"

namespace hangar::s3 {
namespace {

constexpr size_t kMaxKeyBytes = 1024;
constexpr size_t kMaxUserMetadataBytes = 2048;

std::string QuotedHexEtag(std::string_view raw_md5) { return "\"" + HexEncode(raw_md5) + "\""; }

// A response body that keeps its object's blobs from the garbage collector while it streams.
class LeasedBodySource final : public BodySource {
 public:
  LeasedBodySource(std::unique_ptr<BodySource> inner, std::unique_ptr<BlobLeases::Lease> lease)
      : inner_(std::move(inner)), lease_(std::move(lease)) {}
  Result<size_t> Read(std::span<char> into) override { return inner_->Read(into); }

 private:
  std::unique_ptr<BodySource> inner_;
  std::unique_ptr<BlobLeases::Lease> lease_;
};

std::vector<std::string> BlobIds(const std::vector<Segment>& segments) {
  std::vector<std::string> ids;
  for (const auto& seg : segments) {
    if (seg.in_blob()) ids.push_back(seg.blob_id);
  }
  return ids;
}

// A locked version's GET that KMS refuses says why on the error too: it is the only answer a GET
// gets (docs/s3-object-lock.md).
Status WithKeyStateHeaders(Status error,
                           const std::optional<KmsGateway::KeyStatus>& locked_key_status) {
  if (!locked_key_status) return error;
  error.WithHeader("x-hangar-kms-key-state", locked_key_status->state);
  if (locked_key_status->deletion_date_ms > 0) {
    error.WithHeader("x-hangar-kms-key-deletion-date",
                     FormatIso8601(FromUnixMillis(locked_key_status->deletion_date_ms), true));
  }
  return error;
}

Status NoSuchVersion(std::string_view key, std::string_view version_id) {
  return Error(ErrorCode::kNoSuchVersion, "The specified version does not exist.")
      .WithField("Key", std::string(key))
      .WithField("VersionId", std::string(version_id));
}

Status NoSuchKey(std::string_view key) {
  return Error(ErrorCode::kNoSuchKey, "The specified key does not exist.")
      .WithField("Key", std::string(key));
}

// The record of a copy: the source's metadata and tags unless the request replaces them.
ObjectRecord CopiedRecord(const CopyObjectInput& input, const ObjectRecord& src,
                          const WrittenBlob& written, std::string etag, int64_t now_ms) {
  ObjectRecord record;
  record.bucket = input.bucket;
  record.key = input.key;
  record.size = written.size;
  record.etag = std::move(etag);
  record.last_modified_ms = now_ms;
  record.headers = input.replace_metadata ? input.headers : src.headers;
  record.user_metadata = input.replace_metadata ? input.user_metadata : src.user_metadata;
  record.tags = input.replace_tags ? input.tags : src.tags;
  record.storage_class = input.storage_class.empty() ? src.storage_class : input.storage_class;
  return record;
}

// CopyObject's condition keys beyond PutObject's: the source and a replaced metadata directive.
iam::ContextKeys CopyConditionKeys(const CopyObjectInput& input) {
  iam::ContextKeys keys = WriteConditionKeys(input.conditions);
  keys["s3:x-amz-copy-source"] = {input.source.bucket + "/" + input.source.key};
  if (input.replace_metadata) keys["s3:x-amz-metadata-directive"] = {"REPLACE"};
  return keys;
}

}  // namespace

Result<std::optional<std::string>> ExpectedChecksum(const std::optional<ChecksumRequest>& request) {
  if (!request || !request->expected) return std::optional<std::string>();
  HANGAR_ASSIGN_OR_RETURN(std::string raw,
                          ParseChecksumHeaderValue(request->algorithm, *request->expected));
  return std::optional<std::string>(std::move(raw));
}

Result<std::optional<std::string>> CheckDeclaredBody(std::optional<uint64_t> content_length,
                                                     bool length_known_at_end, uint64_t max_size,
                                                     const std::optional<std::string>& content_md5) {
  if (!content_length && !length_known_at_end) {
    return Error(ErrorCode::kMissingContentLength, "You must provide the Content-Length HTTP header.");
  }
  if (content_length && *content_length > max_size) {
    return Error(ErrorCode::kEntityTooLarge, "Your proposed upload exceeds the maximum allowed size")
        .WithField("ProposedSize", std::to_string(*content_length))
        .WithField("MaxSizeAllowed", std::to_string(max_size));
  }
  if (!content_md5) return std::optional<std::string>();
  HANGAR_ASSIGN_OR_RETURN(std::string raw, ParseContentMd5(*content_md5));
  return std::optional<std::string>(std::move(raw));
}

void BackOffAfterConflict(int attempt) {
  // Up to 50 µs after the first loss, doubling to at most 2 ms: 16 attempts span ~20 ms at most.
  const int64_t cap_us = std::min<int64_t>(2000, int64_t{50} << std::min(attempt, 6));
  thread_local std::minstd_rand jitter(std::random_device{}());
  std::this_thread::sleep_for(std::chrono::microseconds(jitter() % (cap_us + 1)));
}

Status ValidateObjectKey(std::string_view key) {
  if (key.size() > kMaxKeyBytes) {
    return Error(ErrorCode::kKeyTooLong, "Your key is too long")
        .WithField("MaxSizeAllowed", std::to_string(kMaxKeyBytes))
        .WithField("Size", std::to_string(key.size()));
  }
  if (key.empty() || !IsValidUtf8(key)) {
    return Error(ErrorCode::kValidation, "Object key must be a non-empty UTF-8 string");
  }
  return Status::Ok();
}

Status ValidateUserMetadata(const KeyValues& metadata) {
  size_t total = 0;
  for (const auto& [name, value] : metadata) total += name.size() + value.size();
  if (total > kMaxUserMetadataBytes) {
    return Error(ErrorCode::kMetadataTooLarge,
                 "Your metadata headers exceed the maximum allowed metadata size")
        .WithField("Size", std::to_string(total))
        .WithField("MaxSizeAllowed", std::to_string(kMaxUserMetadataBytes));
  }
  return Status::Ok();
}

Status VerifyUpload(const WrittenBlob& written, const std::optional<std::string>& md5_expected,
                    const std::optional<ChecksumRequest>& checksum,
                    const std::optional<std::string>& checksum_expected,
                    const auth::PayloadReader& body) {
  if (md5_expected) HANGAR_RETURN_IF_ERROR(CheckContentMd5(*md5_expected, written.md5));
  if (!checksum) return Status::Ok();
  std::optional<std::string> expected = checksum_expected;
  if (!expected) {
    // Sent after the body, in the aws-chunked trailer.
    const std::string* trailer = body.trailers().Find(ChecksumHeaderName(checksum->algorithm));
    if (trailer == nullptr) {
      return Error(ErrorCode::kInvalidRequest,
                   "The checksum named in x-amz-trailer was not sent in the trailer.");
    }
    HANGAR_ASSIGN_OR_RETURN(std::string raw,
                            ParseChecksumHeaderValue(checksum->algorithm, *trailer));
    expected = std::move(raw);
  }
  return VerifyChecksum(checksum->algorithm, *expected, written.checksum);
}

BlobWriterFactory S3Service::EncryptingWriter(const WriteKeys& keys, SegmentKeys& segment_keys,
                                              std::string* inline_into) {
  return [this, &keys, &segment_keys,
          inline_into]() -> Result<std::unique_ptr<store::BlobWriter>> {
    std::unique_ptr<store::BlobWriter> raw;
    if (inline_into != nullptr) {
      raw = std::make_unique<store::MemoryBlobWriter>(inline_into);
    } else {
      HANGAR_ASSIGN_OR_RETURN(raw, blobs_.Create());
    }
    return sse_.WrapWriter(keys, std::move(raw), segment_keys);
  };
}

std::string* S3Service::InlineTarget(std::optional<uint64_t> expected_size,
                                     std::string& storage) const {
  const bool small = expected_size && *expected_size > 0 &&
                     *expected_size <= options_.inline_max_size;
  return small ? &storage : nullptr;
}

SegmentOpener S3Service::DecryptingOpener(std::shared_ptr<const ReadKeys> keys) {
  return [this, keys](const Segment& segment) -> Result<std::unique_ptr<store::BlobReader>> {
    std::unique_ptr<store::BlobReader> raw;
    if (segment.in_blob()) {
      HANGAR_ASSIGN_OR_RETURN(raw, blobs_.Open(segment.blob_id));
    } else {
      raw = std::make_unique<store::MemoryBlobReader>(segment.inline_data);
    }
    return sse_.WrapReader(*keys, segment, std::move(raw));
  };
}

// The segment one write made, or none for a zero-byte body.
static std::optional<Segment> WrittenSegment(const WrittenBlob& written, const SegmentKeys& keys,
                                             std::string inline_data) {
  if (written.size == 0) return std::nullopt;
  Segment segment{written.blob_id, written.size, 0, "", {}, keys};
  if (!written.blob_id.empty()) return segment;
  segment.inline_data = std::move(inline_data);
  return segment;
}

// SSE-S3 objects keep the plaintext MD5 as ETag (as AWS); other modes must not reveal it.
static std::string ObjectEtag(const WrittenBlob& written, const WriteKeys& keys, const SegmentKeys& seg) {
  if (keys.encryption.mode == "AES256") return QuotedHexEtag(written.md5);
  return SseEngine::OpaqueEtag(written.md5, seg);
}

Result<Stored<BucketRecord>> S3Service::AuthorizeObjectWrite(const auth::RequestContext& ctx,
                                                             std::string_view bucket,
                                                             std::string_view key,
                                                             const SseHeaders& sse,
                                                             const KeyValues& tags,
                                                             const iam::ContextKeys& extra,
                                                             const std::optional<AclRequest>& acl) {
  S3Request put{"s3:PutObject", std::string(key), SseConditionKeys(sse)};
  for (const auto& [k, v] : extra) put.keys[k] = v;
  const iam::ContextKeys acl_keys = AclConditionKeys(acl);
  for (const auto& [k, v] : acl_keys) put.keys[k] = v;
  if (!tags.empty()) {
    for (auto& [k, v] : RequestTagKeys(tags, /*object=*/true)) put.keys[k] = std::move(v);
  }
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireBucket(ctx, bucket, put));
  if (!tags.empty()) {
    // Setting tags with the object is tagging it: AWS's PutObject wants both permissions.
    HANGAR_RETURN_IF_ERROR(RequireBucket(ctx, bucket,
                                         {"s3:PutObjectTagging", std::string(key),
                                          RequestTagKeys(tags, /*object=*/true)})
                               .status());
  }
  // Setting an ACL with the object is PutObjectAcl too (AWS's PutObject permissions), on the
  // object as it will be: a writer that will own it decides with its own account's policies.
  // The canned ACLs that grant nothing beyond the two owners need no more than the write.
  if (acl && stored.record.acls_enabled() && acl->canned != "private" &&
      acl->canned != "bucket-owner-full-control") {
    S3Request set_acl{"s3:PutObjectAcl", std::string(key), acl_keys};
    set_acl.object_owner = NewObjectOwner(ctx, stored.record, acl);
    HANGAR_RETURN_IF_ERROR(RequireBucket(ctx, bucket, set_acl).status());
  }
  return stored;
}

void S3Service::PublishQuietly(const std::string& blob_id) {
  // Publishing only moves a durable, referenced blob to its final place; if it fails, readers
  // still find it staged and recovery finishes the job.
  Status s = blobs_.Publish(blob_id);
  if (!s.ok()) spdlog::warn("blob {} stays staged: {}", blob_id, s.ToString());
}

iam::ContextKeys WriteConditionKeys(const WriteConditions& conditions) {
  iam::ContextKeys keys;
  if (conditions.if_none_match_star) keys["s3:if-none-match"] = {"*"};
  if (conditions.if_match) keys["s3:if-match"] = {*conditions.if_match};
  return keys;
}

Status S3Service::CheckWriteConditions(const WriteConditions& conditions,
                                       const std::optional<Stored<ObjectRecord>>& current,
                                       std::string_view key) {
  if (conditions.if_none_match_star && current) return PreconditionFailed("If-None-Match");
  if (conditions.if_match) {
    if (!current) return NoSuchKey(key);
    if (!SameEtag(*conditions.if_match, current->record.etag)) return PreconditionFailed("If-Match");
  }
  return Status::Ok();
}

Status S3Service::SwapObject(ObjectRecord& record, std::string_view bucket_incarnation,
                             const WriteConditions& conditions, std::vector<store::Mutation> extra,
                             std::optional<int64_t> key_revision_at_start,
                             const std::function<store::Mutation(const ObjectRecord&)>& record_result) {
  const std::string owner = "object " + record.bucket + "/" + record.key;
  const auto turn = key_writes_.Acquire(record.bucket, record.key, kKeyWritePatience);
  if (!turn) return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    // Re-read each attempt: a harmless bucket change (tags, policy) only moves the revision on.
    BucketRecord bucket;
    HANGAR_ASSIGN_OR_RETURN(store::Mutation guard,
                            BucketGuard(record.bucket, bucket_incarnation, &bucket));
    HANGAR_ASSIGN_OR_RETURN(auto current, repository_.GetObject(record.bucket, record.key));
    // Conditions see a delete marker as no object.
    std::optional<Stored<ObjectRecord>> live;
    if (current && !current->record.delete_marker) live = current;
    HANGAR_RETURN_IF_ERROR(CheckWriteConditions(conditions, live, record.key));
    // A conditional Complete also fails if the key changed since its upload began, even when the
    // condition holds now (s3-data-protection.md §4.1).
    if (conditions.any() && key_revision_at_start &&
        *key_revision_at_start != (current ? current->revision : 0)) {
      return Error(ErrorCode::kConditionalRequestConflict,
                   "The conditional request cannot succeed due to a conflicting operation against "
                   "this resource.")
          .WithField("Condition", conditions.if_match ? "If-Match" : "If-None-Match")
          .WithField("Key", record.key);
    }
    std::vector<store::Mutation> m = extra;
    m.push_back(std::move(guard));
    HANGAR_ASSIGN_OR_RETURN(auto replace, ReplaceCurrent(bucket, record, current));
    for (auto& r : replace) m.push_back(std::move(r));
    if (record_result) m.push_back(record_result(record));
    for (const auto& seg : record.segments) {
      if (seg.in_blob()) m.push_back(S3Repository::RegisterBlob(seg.blob_id, owner));
    }
    Status s = repository_.Commit(m);
    if (s.ok()) {
      for (const auto& seg : record.segments) {
        if (seg.in_blob()) PublishQuietly(seg.blob_id);
      }
      return Status::Ok();
    }
    if (s.code() != ErrorCode::kConflict) return s;
    BackOffAfterConflict(attempt);
  }
  return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
}

Result<PutObjectOutput> S3Service::PutObject(const auth::RequestContext& ctx,
                                             const PutObjectInput& input,
                                             auth::PayloadReader& body) {
  // 1. Everything that can be checked before reading the body.
  HANGAR_ASSIGN_OR_RETURN(auto bucket,
                          AuthorizeObjectWrite(ctx, input.bucket, input.key, input.sse, input.tags,
                                               WriteConditionKeys(input.conditions), input.acl));
  HANGAR_RETURN_IF_ERROR(ValidateObjectKey(input.key));
  HANGAR_RETURN_IF_ERROR(ValidateUserMetadata(input.user_metadata));
  HANGAR_RETURN_IF_ERROR(ValidateTags(input.tags, kMaxObjectTags));
  HANGAR_ASSIGN_OR_RETURN(auto md5_expected, CheckDeclaredBody(input.content_length,
                                                               input.length_known_at_end,
                                                               options_.max_object_size,
                                                               input.content_md5));
  HANGAR_ASSIGN_OR_RETURN(auto checksum_expected, ExpectedChecksum(input.checksum));
  HANGAR_ASSIGN_OR_RETURN(ObjectLock lock,
                          LockForWrite(ctx, bucket.record, input.key, input.lock,
                                       input.content_md5.has_value() || input.checksum.has_value()));
  HANGAR_ASSIGN_OR_RETURN(NewObjectOwnership ownership,
                          OwnershipOfNewObject(ctx, bucket.record, input.acl));
  // The encryption and its data key(s): KMS is asked before a byte of the body is read.
  HANGAR_ASSIGN_OR_RETURN(WriteKeys keys, sse_.PrepareWrite(ctx, bucket.record, input.key,
                                                            input.sse, input.customer_key));

  // 2. The body, encrypted into a staged blob.
  // Every new object gets a checksum: the client's, else a full-object CRC64NVME, as S3 computes
  // since 2024 (s3-data-protection.md §9).
  const ChecksumAlgorithm algorithm =
      input.checksum ? input.checksum->algorithm : ChecksumAlgorithm::kCrc64Nvme;
  SegmentKeys segment_keys;
  std::string inline_bytes;
  HANGAR_ASSIGN_OR_RETURN(
      WrittenBlob written,
      WriteBlob(EncryptingWriter(keys, segment_keys,
                                 InlineTarget(input.content_length, inline_bytes)),
                body, algorithm, options_.max_object_size, input.content_length));
  auto discard = [&](Status s) -> Status {
    if (!written.blob_id.empty()) blobs_.Delete(written.blob_id);
    return s;
  };
  Status verified = VerifyUpload(written, md5_expected, input.checksum, checksum_expected, body);
  if (!verified.ok()) return discard(verified);

  // 3. The metadata that makes it visible.
  ObjectRecord record;
  record.bucket = input.bucket;
  record.key = input.key;
  record.size = written.size;
  record.etag = ObjectEtag(written, keys, segment_keys);
  record.last_modified_ms = ToUnixMillis(ctx.now);
  record.encryption = keys.encryption;
  record.headers = input.headers;
  record.user_metadata = input.user_metadata;
  record.tags = input.tags;
  record.storage_class = input.storage_class;
  record.lock = lock;
  record.owner_account = std::move(ownership.owner_account);
  record.acl = std::move(ownership.acl);
  record.checksum = ChecksumValue{std::string(ChecksumAlgorithmName(algorithm)),
                                  crypto::Base64Encode(written.checksum), "FULL_OBJECT"};
  if (auto segment = WrittenSegment(written, segment_keys, std::move(inline_bytes))) {
    record.segments.push_back(std::move(*segment));
  }
  Status swapped = SwapObject(record, bucket.record.incarnation, input.conditions, {});
  if (!swapped.ok()) return discard(swapped);
  std::optional<std::string> version_id;
  if (!record.version_id.empty()) version_id = record.version_id;
  return PutObjectOutput{record.etag, ExpirationHeaderOf(record), version_id, record.checksum,
                         record.encryption};
}

Result<ObjectRecord> S3Service::GetObjectRecord(const auth::RequestContext& ctx,
                                                std::string_view bucket, std::string_view key,
                                                const std::optional<CustomerKey>* customer,
                                                std::string_view action,
                                                const std::optional<std::string>& version_id) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireObject(ctx, bucket, key, action, {}, version_id));
  if (customer && (stored.record.encryption.mode == "SSE-C" || customer->has_value())) {
    HANGAR_ASSIGN_OR_RETURN(ReadKeys keys, sse_.PrepareRead(ctx, stored.record, *customer));
  }
  return std::move(stored.record);
}

Result<GetObjectOutput> S3Service::GetObject(const auth::RequestContext& ctx,
                                             const GetObjectInput& input) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireObject(ctx, input.bucket, input.key, "s3:GetObject",
                                                     {}, input.version_id));
  GetObjectOutput out;
  out.object = std::move(stored.record);
  HANGAR_ASSIGN_OR_RETURN(out.version_id, VersionHeaderOf(out.object));
  out.locked_key_status = LockedKeyStatus(ctx, out.object);
  if (!input.version_id) out.expiration = ExpirationHeaderOf(out.object);
  const ObjectRecord& o = out.object;
  // An SSE-C object's key is checked before anything else is said about it: a Range, a part
  // number or a condition evaluated first would tell a caller without the key its size, part
  // count, ETag or age (docs/hardening.md item 6).
  std::optional<ReadKeys> read_keys;
  if (o.encryption.mode == "SSE-C" || input.customer_key) {
    HANGAR_ASSIGN_OR_RETURN(read_keys, sse_.PrepareRead(ctx, o, input.customer_key));
  }
  HANGAR_RETURN_IF_ERROR(
      EvaluateConditions(input.conditions, o.etag, FromUnixMillis(o.last_modified_ms), ctx.now));

  out.first = 0;
  out.length = o.size;
  if (input.part_number) {
    // PartNumber selects one part of a multipart object; part 1 of a simple object is all of it.
    int part = *input.part_number;
    int parts = o.parts_count > 0 ? o.parts_count : 1;
    if (part < 1 || part > parts) {
      return Error(ErrorCode::kInvalidPartNumber, "The requested partnumber is not satisfiable")
          .WithField("PartNumberRequested", std::to_string(part))
          .WithField("ActualPartCount", std::to_string(parts));
    }
    if (o.parts_count > 0) {
      uint64_t offset = 0;
      for (const auto& seg : o.segments) {
        if (seg.part_number == part) {
          out.first = offset;
          out.length = seg.size;
          break;
        }
        offset += seg.size;
      }
      out.partial = true;
    }
  } else if (!input.range.empty()) {
    RangeResult range = ParseRange(input.range, o.size);
    if (range.kind == RangeKind::kUnsatisfiable) return InvalidRangeError(input.range, o.size);
    if (range.kind == RangeKind::kSatisfiable) {
      out.first = range.range.first;
      out.length = range.range.length();
      out.partial = true;
    }
  }
  // HEAD reads no data and asks KMS nothing (an SSE-C object's key was checked above).
  if (input.head) return out;
  // A GET needs the data keys: this is where KMS (Decrypt) decides whether the data is readable.
  if (!read_keys) {
    auto prepared = sse_.PrepareRead(ctx, o, input.customer_key);
    if (!prepared.ok()) return WithKeyStateHeaders(prepared.status(), out.locked_key_status);
    read_keys = std::move(prepared).value();
  }
  ReadKeys read = std::move(*read_keys);
  if (out.length == 0) return out;
  SegmentOpener open = DecryptingOpener(std::make_shared<const ReadKeys>(std::move(read)));
  if (out.length <= options_.small_object) {
    HANGAR_ASSIGN_OR_RETURN(out.body, ReadRange(open, o.segments, out.first, out.length));
  } else {
    // Leased before the first byte: the object may be overwritten while this response streams.
    auto lease = leases_.Take(BlobIds(o.segments));
    out.stream = std::make_unique<LeasedBodySource>(
        std::make_unique<ObjectBodySource>(std::move(open), o.segments, out.first, out.length),
        std::move(lease));
  }
  return out;
}

Result<std::vector<DeleteObjectsEntry>> S3Service::DeleteObjects(
    const auth::RequestContext& ctx, std::string_view bucket,
    const std::vector<ObjectToDelete>& objects, const DeleteOptions& bypass) {
  // Each key is authorised as its own s3:DeleteObject; the bucket need only exist.
  HANGAR_ASSIGN_OR_RETURN(auto b, repository_.GetBucket(bucket));
  if (!b) return Error(ErrorCode::kNoSuchBucket, "The specified bucket does not exist")
                  .WithField("BucketName", std::string(bucket));
  if (bypass.bypass_header && !b->record.object_lock_enabled) {
    return Error(ErrorCode::kValidation,
                 "x-amz-bypass-governance-retention is only applicable to Object Lock enabled "
                 "buckets.")
        .WithField("ArgumentName", "x-amz-bypass-governance-retention");
  }
  std::vector<DeleteObjectsEntry> out;
  out.reserve(objects.size());
  for (const auto& o : objects) {
    DeleteObjectsEntry entry{o.key, o.version_id, ValidateObjectKey(o.key), {}};
    if (entry.status.ok()) {
      auto deleted =
          DeleteObject(ctx, bucket, o.key, {o.version_id, o.etag, false, bypass.bypass_governance});
      // A version that is not there, malformed ids included, is a per-key NoSuchVersion here,
      // where a single DELETE answers 204 or InvalidArgument (s3-data-protection.md §1.5).
      const bool no_such_version =
          o.version_id && (deleted.ok() ? deleted->absent
                                        : deleted.status().code() == ErrorCode::kValidation);
      if (no_such_version) {
        entry.status = NoSuchVersion(o.key, *o.version_id);
      } else if (deleted.ok()) {
        entry.result = std::move(*deleted);
      } else {
        entry.status = deleted.status();
      }
    }
    out.push_back(std::move(entry));
  }
  return out;
}

Result<CopyObjectOutput> S3Service::CopyObject(const auth::RequestContext& ctx,
                                               const CopyObjectInput& input) {
  HANGAR_ASSIGN_OR_RETURN(auto source, RequireCopySource(ctx, input.source));
  HANGAR_ASSIGN_OR_RETURN(auto target_bucket,
                          AuthorizeObjectWrite(ctx, input.bucket, input.key, input.sse,
                                               input.replace_tags ? input.tags : KeyValues{},
                                               CopyConditionKeys(input), input.acl));
  HANGAR_RETURN_IF_ERROR(ValidateObjectKey(input.key));
  const ObjectRecord& src = source.record;
  HANGAR_RETURN_IF_ERROR(EvaluateCopySourceConditions(
      input.source.conditions, src.etag, FromUnixMillis(src.last_modified_ms), ctx.now));
  // A copy of an older version onto its own key restores it: that is not a copy onto itself.
  const bool same_object = input.source.bucket == input.bucket && input.source.key == input.key &&
                           !input.source.version_id;
  // Encryption changes when the request names one, when the source is under KMS (without headers
  // the copy takes the bucket's default) or when the bucket has a configured default (AWS).
  const bool changes_encryption = input.sse.algorithm || input.customer_key ||
                                  src.encryption.mode.starts_with("aws:kms") ||
                                  target_bucket.record.encryption.configured;
  if (same_object && !input.replace_metadata && input.storage_class.empty() &&
      !input.checksum_algorithm && !changes_encryption) {
    return Error(ErrorCode::kInvalidRequest,
                 "This copy request is illegal because it is trying to copy an object to itself "
                 "without changing the object's metadata, storage class, website redirect "
                 "location or encryption attributes.");
  }
  if (src.size > options_.max_object_size) {
    return Error(ErrorCode::kInvalidRequest,
                 "The specified copy source is larger than the maximum allowable size for a copy "
                 "source: " + std::to_string(options_.max_object_size));
  }
  if (input.replace_metadata) HANGAR_RETURN_IF_ERROR(ValidateUserMetadata(input.user_metadata));
  if (input.replace_tags) HANGAR_RETURN_IF_ERROR(ValidateTags(input.tags, kMaxObjectTags));
  HANGAR_ASSIGN_OR_RETURN(ObjectLock lock, LockForWrite(ctx, target_bucket.record, input.key,
                                                        input.lock, std::nullopt));
  HANGAR_ASSIGN_OR_RETURN(NewObjectOwnership ownership,
                          OwnershipOfNewObject(ctx, target_bucket.record, input.acl));

  std::optional<ChecksumAlgorithm> algorithm = input.checksum_algorithm;
  if (!algorithm && src.checksum) algorithm = ParseChecksumAlgorithm(src.checksum->algorithm);
  if (!algorithm) algorithm = ChecksumAlgorithm::kCrc64Nvme;  // the default every new object gets
  // Decrypt with the source's keys, re-encrypt to the destination's settings.
  HANGAR_ASSIGN_OR_RETURN(ReadKeys source_keys,
                          sse_.PrepareRead(ctx, src, input.source.customer_key));
  HANGAR_ASSIGN_OR_RETURN(WriteKeys keys, sse_.PrepareWrite(ctx, target_bucket.record, input.key,
                                                            input.sse, input.customer_key));
  auto source_lease = leases_.Take(BlobIds(src.segments));  // the copy may outlast the grace time
  ObjectRangeReader reader(DecryptingOpener(std::make_shared<const ReadKeys>(std::move(source_keys))),
                           src.segments, 0, src.size);
  SegmentKeys segment_keys;
  std::string inline_bytes;
  HANGAR_ASSIGN_OR_RETURN(
      WrittenBlob written,
      WriteBlob(EncryptingWriter(keys, segment_keys, InlineTarget(src.size, inline_bytes)), reader,
                algorithm, options_.max_object_size, src.size));

  ObjectRecord record = CopiedRecord(input, src, written, ObjectEtag(written, keys, segment_keys),
                                     ToUnixMillis(ctx.now));
  record.encryption = keys.encryption;
  record.lock = lock;
  record.owner_account = std::move(ownership.owner_account);
  record.acl = std::move(ownership.acl);
  record.checksum = ChecksumValue{std::string(ChecksumAlgorithmName(*algorithm)),
                                  crypto::Base64Encode(written.checksum), "FULL_OBJECT"};
  if (auto segment = WrittenSegment(written, segment_keys, std::move(inline_bytes))) {
    record.segments.push_back(std::move(*segment));
  }
  Status swapped = SwapObject(record, target_bucket.record.incarnation, input.conditions, {});
  if (!swapped.ok()) {
    if (!written.blob_id.empty()) blobs_.Delete(written.blob_id);
    return swapped;
  }
  CopyObjectOutput out{record.etag,           ExpirationHeaderOf(record), {}, {},
                       record.last_modified_ms, record.checksum,               record.encryption};
  if (target_bucket.record.versioned()) out.version_id = record.wire_version_id();
  if (!src.version_id.empty()) out.source_version_id = src.version_id;
  return out;
}

Result<S3Service::TaggingOutput> S3Service::PutObjectTagging(
    const auth::RequestContext& ctx, std::string_view bucket, std::string_view key,
    const KeyValues& tags, const std::optional<std::string>& version_id) {
  return ReplaceObjectTags(ctx, bucket, key, tags, "s3:PutObjectTagging", version_id);
}

Result<S3Service::TaggingOutput> S3Service::ReplaceObjectTags(
    const auth::RequestContext& ctx, std::string_view bucket, std::string_view key,
    const KeyValues& tags, std::string_view tagging_action,
    const std::optional<std::string>& version_id) {
  HANGAR_RETURN_IF_ERROR(ValidateTags(tags, kMaxObjectTags));
  HANGAR_ASSIGN_OR_RETURN(ObjectRecord o,
                          UpdateVersion(ctx, bucket, key, version_id, tagging_action,
                                        RequestTagKeys(tags, /*object=*/true), [&](ObjectRecord& o) {
                                          o.tags = tags;
                                          return Status::Ok();
                                        }));
  HANGAR_ASSIGN_OR_RETURN(auto version_header, VersionHeaderOf(o));
  return TaggingOutput{std::move(o.tags), std::move(version_header)};
}

Result<S3Service::TaggingOutput> S3Service::GetObjectTagging(
    const auth::RequestContext& ctx, std::string_view bucket, std::string_view key,
    const std::optional<std::string>& version_id) {
  HANGAR_ASSIGN_OR_RETURN(auto stored,
                          RequireObject(ctx, bucket, key, "s3:GetObjectTagging", {}, version_id));
  HANGAR_ASSIGN_OR_RETURN(auto version_header, VersionHeaderOf(stored.record));
  return TaggingOutput{std::move(stored.record.tags), std::move(version_header)};
}

Result<S3Service::TaggingOutput> S3Service::DeleteObjectTagging(
    const auth::RequestContext& ctx, std::string_view bucket, std::string_view key,
    const std::optional<std::string>& version_id) {
  return ReplaceObjectTags(ctx, bucket, key, {}, "s3:DeleteObjectTagging", version_id);
}

}  // namespace hangar::s3
