// S3Service: multipart uploads (docs/reference/s3.md §5). Parts are blobs of their own; a
// completed upload becomes an object whose segments are those blobs, so completing moves no data.

#include <array>
#include <cstdio>

#include <algorithm>
#include <map>

#include "common/strings.h"
#include "crypto/base64.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "s3/object_io.h"
#include "s3/object_rules.h"
#include "s3/s3_service.h"
#include "s3/tags.h"

namespace hangar::s3 {
namespace {

// How long a completed upload's answer is kept for retried Completes.
constexpr int64_t kReplayMs = 24LL * 3600 * 1000;

Status NoSuchUpload(std::string_view upload_id) {
  return Error(ErrorCode::kNoSuchUpload,
               "The specified upload does not exist. The upload ID may be invalid, or the upload "
               "may have been aborted or completed.")
      .WithField("UploadId", std::string(upload_id));
}

// Upload ids sort by initiation time (hex milliseconds), then a random tail.
std::string NewUploadId(int64_t now_ms) {
  char time_part[17];
  std::snprintf(time_part, sizeof time_part, "%016llx", static_cast<unsigned long long>(now_ms));
  std::array<uint8_t, 12> random{};
  crypto::RandomBytes(random);
  return std::string(time_part) + HexEncode(std::span<const uint8_t>(random));
}

std::string Unquote(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
    etag = etag.substr(1, etag.size() - 2);
  }
  return std::string(etag);
}

Status CheckPartNumber(int part_number, int max_parts) {
  if (part_number < 1 || part_number > max_parts) {
    return Error(ErrorCode::kValidation,
                 "Part number must be an integer between 1 and " + std::to_string(max_parts) +
                     ", inclusive")
        .WithField("ArgumentName", "partNumber")
        .WithField("ArgumentValue", std::to_string(part_number));
  }
  return Status::Ok();
}

// x-amz-copy-source-range: "bytes=first-last", both given, inside the source object.
Result<std::pair<uint64_t, uint64_t>> ParseCopySourceRange(std::string_view header,
                                                           uint64_t size) {
  auto invalid = [] {
    return Error(ErrorCode::kValidation,
                 "The x-amz-copy-source-range value must be of the form bytes=first-last where "
                 "first and last are the zero-based offsets of the first and last bytes to copy")
        .WithField("ArgumentName", "x-amz-copy-source-range");
  };
  if (!header.starts_with("bytes=")) return invalid();
  header.remove_prefix(6);
  size_t dash = header.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == header.size()) return invalid();
  uint64_t first = 0, last = 0;
  try {
    size_t used = 0;
    std::string a(header.substr(0, dash)), b(header.substr(dash + 1));
    first = std::stoull(a, &used);
    if (used != a.size()) return invalid();
    last = std::stoull(b, &used);
    if (used != b.size()) return invalid();
  } catch (...) {
    return invalid();
  }
  if (first > last || last >= size) {
    return Error(ErrorCode::kValidation,
                 "Range specified is not valid for source object of size: " + std::to_string(size))
        .WithField("ArgumentName", "x-amz-copy-source-range");
  }
  return std::make_pair(first, last);
}

std::string PartOwner(std::string_view upload_id, int part_number) {
  return "part " + std::string(upload_id) + "/" + std::to_string(part_number);
}

// CompleteMultipartUpload's list: at least one part, ascending, every number valid.
// Errors: kInvalidRequest (no parts), kValidation (a number out of range), kInvalidPartOrder.
Status CheckPartList(const std::vector<CompletedPart>& parts, int max_parts,
                     std::string_view upload_id) {
  if (parts.empty()) {
    return Error(ErrorCode::kInvalidRequest, "You must specify at least one part");
  }
  for (size_t i = 0; i < parts.size(); ++i) {
    HANGAR_RETURN_IF_ERROR(CheckPartNumber(parts[i].part_number, max_parts));
    if (i > 0 && parts[i].part_number <= parts[i - 1].part_number) {
      return Error(ErrorCode::kInvalidPartOrder,
                   "The list of parts was not in ascending order. Parts must be ordered by part "
                   "number.")
          .WithField("UploadId", std::string(upload_id));
    }
  }
  return Status::Ok();
}

// The stored part each listed part names, in the list's order: it exists with that ETag (and
// checksum, if the list gives one), and all but the last are at least `min_part_size`.
// Errors: kInvalidPart, kEntityTooSmall, kBadDigest.
Result<std::vector<const PartRecord*>> ChooseParts(const std::vector<CompletedPart>& parts,
                                                   const std::vector<Stored<PartRecord>>& stored,
                                                   uint64_t min_part_size,
                                                   std::string_view upload_id) {
  std::map<int, const PartRecord*> by_number;
  for (const auto& p : stored) by_number[p.record.part_number] = &p.record;
  std::vector<const PartRecord*> chosen;
  for (size_t i = 0; i < parts.size(); ++i) {
    auto it = by_number.find(parts[i].part_number);
    if (it == by_number.end() || Unquote(it->second->etag) != Unquote(parts[i].etag)) {
      return Error(ErrorCode::kInvalidPart,
                   "One or more of the specified parts could not be found.  The part may not have "
                   "been uploaded, or the specified entity tag may not match the part's entity "
                   "tag.")
          .WithField("ETag", Unquote(parts[i].etag))
          .WithField("PartNumber", std::to_string(parts[i].part_number))
          .WithField("UploadId", std::string(upload_id));
    }
    const PartRecord& p = *it->second;
    if (i + 1 < parts.size() && p.size < min_part_size) {
      return Error(ErrorCode::kEntityTooSmall,
                   "Your proposed upload is smaller than the minimum allowed size")
          .WithField("ETag", Unquote(p.etag))
          .WithField("MinSizeAllowed", std::to_string(min_part_size))
          .WithField("PartNumber", std::to_string(p.part_number))
          .WithField("ProposedSize", std::to_string(p.size));
    }
    if (parts[i].checksum && p.checksum && *parts[i].checksum != p.checksum->value) {
      return Error(ErrorCode::kBadDigest,
                   "The " + ToLower(p.checksum->algorithm) + " you specified for part " +
                       std::to_string(p.part_number) + " did not match what we received.");
    }
    chosen.push_back(&p);
  }
  return chosen;
}

// The object a Complete makes of `chosen`: the upload's metadata, the parts' blobs as its segments,
// the MD5 of the parts' MD5s as its ETag and, for a COMPOSITE upload whose parts all have
// checksums, their checksum of checksums. A FULL_OBJECT checksum is the caller's.
ObjectRecord AssembleObject(std::string_view bucket, std::string_view key, int64_t now_ms,
                            const UploadRecord& u, const std::vector<const PartRecord*>& chosen) {
  crypto::Digest md5s(crypto::DigestAlgorithm::kMd5);
  ObjectRecord record;
  record.bucket = std::string(bucket);
  record.key = std::string(key);
  record.last_modified_ms = now_ms;
  record.headers = u.headers;
  record.user_metadata = u.user_metadata;
  record.tags = u.tags;
  record.storage_class = u.storage_class;
  record.encryption = u.encryption;
  record.parts_count = static_cast<int>(chosen.size());
  std::vector<std::string> part_digests;
  for (const PartRecord* p : chosen) {
    md5s.Update(*HexDecode(Unquote(p->etag)));
    record.size += p->size;
    // A zero-byte part has no blob: it counts as a part but holds no segment.
    if (!p->blob_id.empty()) {
      record.segments.push_back({p->blob_id, p->size, p->part_number, p->etag, p->checksum, p->keys});
    }
    if (p->checksum) part_digests.push_back(*crypto::Base64Decode(p->checksum->value));
  }
  record.etag = "\"" + HexEncode(md5s.Finish()) + "-" + std::to_string(chosen.size()) + "\"";
  if (!u.checksum_algorithm.empty() && u.checksum_type == "COMPOSITE" &&
      part_digests.size() == chosen.size()) {
    auto algorithm = ParseChecksumAlgorithm(u.checksum_algorithm);
    record.checksum = ChecksumValue{u.checksum_algorithm,
                                    CompositeChecksum(*algorithm, part_digests), "COMPOSITE"};
  }
  return record;
}

}  // namespace

Result<Stored<UploadRecord>> S3Service::RequireUpload(const auth::RequestContext& ctx,
                                                      std::string_view bucket,
                                                      std::string_view key,
                                                      std::string_view upload_id,
                                                      std::string_view action,
                                                      const iam::ContextKeys& extra) {
  HANGAR_ASSIGN_OR_RETURN(auto b, RequireBucket(ctx, bucket,
                                                {std::string(action), std::string(key), extra}));
  HANGAR_ASSIGN_OR_RETURN(auto stored, repository_.GetUpload(bucket, key, upload_id));
  if (!stored) return NoSuchUpload(upload_id);
  return std::move(*stored);
}

Result<UploadRecord> S3Service::CreateMultipartUpload(const auth::RequestContext& ctx,
                                                      const CreateUploadInput& input) {
  HANGAR_ASSIGN_OR_RETURN(auto bucket, AuthorizeObjectWrite(ctx, input.bucket, input.key,
                                                            input.sse, input.tags, {}, input.acl));
  HANGAR_RETURN_IF_ERROR(ValidateObjectKey(input.key));
  HANGAR_RETURN_IF_ERROR(ValidateUserMetadata(input.user_metadata));
  HANGAR_RETURN_IF_ERROR(ValidateTags(input.tags, kMaxObjectTags));
  UploadRecord upload;
  upload.bucket = input.bucket;
  upload.key = input.key;
  upload.initiated_ms = ToUnixMillis(ctx.now);
  upload.upload_id = NewUploadId(upload.initiated_ms);
  upload.owner_account = ctx.principal.account_id;
  upload.headers = input.headers;
  upload.user_metadata = input.user_metadata;
  upload.tags = input.tags;
  upload.storage_class = input.storage_class;
  if (input.checksum_algorithm) {
    upload.checksum_algorithm = std::string(ChecksumAlgorithmName(*input.checksum_algorithm));
    upload.checksum_type = input.checksum_type.empty() ? "COMPOSITE" : input.checksum_type;
    if (upload.checksum_type == "COMPOSITE" && !SupportsCompositeChecksum(*input.checksum_algorithm)) {
      return Error(ErrorCode::kInvalidRequest,
                   "The COMPOSITE checksum type cannot be used with the " +
                       ToLower(upload.checksum_algorithm) + " checksum algorithm.");
    }
    if (upload.checksum_type == "FULL_OBJECT" &&
        !SupportsFullObjectChecksum(*input.checksum_algorithm)) {
      return Error(ErrorCode::kInvalidRequest,
                   "The FULL_OBJECT checksum type cannot be used with the " +
                       ToLower(upload.checksum_algorithm) + " checksum algorithm.");
    }
  }
  // Encryption is fixed now; SSE-KMS asks KMS for the upload's data key once, here.
  HANGAR_ASSIGN_OR_RETURN(WriteKeys keys, sse_.PrepareWrite(ctx, bucket.record, input.key,
                                                            input.sse, input.customer_key));
  upload.encryption = keys.encryption;
  upload.upload_keys = keys.stored;
  const int64_t abandon_ms =
      upload.initiated_ms +
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.abandoned_upload_ttl).count();
  upload.bucket_incarnation = bucket.record.incarnation;
  HANGAR_ASSIGN_OR_RETURN(upload.lock, LockForWrite(ctx, bucket.record, input.key, input.lock,
                                                    std::nullopt));
  HANGAR_ASSIGN_OR_RETURN(NewObjectOwnership ownership,
                          OwnershipOfNewObject(ctx, bucket.record, input.acl));
  upload.object_owner = std::move(ownership.owner_account);
  upload.acl = std::move(ownership.acl);
  // What the key held when the upload began, for conditional Completes (409 if it changes).
  HANGAR_ASSIGN_OR_RETURN(auto existing, repository_.GetObject(input.bucket, input.key));
  upload.key_revision_at_start = existing ? existing->revision : 0;
  // Bound to the bucket as authorised: an upload must not outlive a DeleteBucket that raced it.
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(store::Mutation guard,
                            BucketGuard(input.bucket, upload.bucket_incarnation));
    Status s =
        repository_.Commit({std::move(guard), S3Repository::PutUpload(upload, abandon_ms, 0)});
    if (s.ok()) return upload;
    if (s.code() != ErrorCode::kConflict) return s;
    BackOffAfterConflict(attempt);
  }
  return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
}

Result<PartRecord> S3Service::StorePart(const auth::RequestContext& ctx, const UploadRecord& upload,
                                        int part_number, const WrittenBlob& written,
                                        const SegmentKeys& keys, bool default_checksum) {
  PartRecord part;
  part.keys = keys;
  part.part_number = part_number;
  part.size = written.size;
  part.etag = "\"" + HexEncode(written.md5) + "\"";
  part.blob_id = written.blob_id;
  part.last_modified_ms = ToUnixMillis(ctx.now);
  if (!upload.checksum_algorithm.empty() && !written.checksum.empty()) {
    part.checksum = ChecksumValue{upload.checksum_algorithm, crypto::Base64Encode(written.checksum),
                                  upload.checksum_type};
  }
  if (default_checksum) part.default_crc64nvme = crypto::Base64Encode(written.checksum);
  const int64_t abandon_ms =
      upload.initiated_ms +
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.abandoned_upload_ttl).count();
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    // Re-writing the upload document bumps its revision, so Complete and Abort (which check it)
    // can never miss a part that lands while they run.
    HANGAR_ASSIGN_OR_RETURN(auto current, repository_.GetUpload(upload.bucket, upload.key,
                                                                upload.upload_id));
    if (!current) return NoSuchUpload(upload.upload_id);
    HANGAR_ASSIGN_OR_RETURN(auto previous, repository_.GetPart(upload.upload_id, part_number));
    std::vector<store::Mutation> m = {
        S3Repository::PutUpload(current->record, abandon_ms, current->revision),
        S3Repository::PutPart(upload.upload_id, part)};
    if (!part.blob_id.empty()) {
      m.push_back(S3Repository::RegisterBlob(part.blob_id,
                                             PartOwner(upload.upload_id, part_number)));
    }
    if (previous && !previous->record.blob_id.empty()) {
      // Re-uploading a part number replaces the earlier part.
      for (auto& r : S3Repository::ReleaseBlob(previous->record.blob_id, GarbageDue())) {
        m.push_back(std::move(r));
      }
    }
    Status s = repository_.Commit(m);
    if (s.ok()) {
      if (!part.blob_id.empty()) PublishQuietly(part.blob_id);
      return part;
    }
    if (s.code() != ErrorCode::kConflict) return s;
    BackOffAfterConflict(attempt);
  }
  return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
}

Result<PartOutput> S3Service::UploadPart(const auth::RequestContext& ctx,
                                         const UploadPartInput& input, auth::PayloadReader& body) {
  HANGAR_RETURN_IF_ERROR(CheckPartNumber(input.part_number, options_.max_parts));
  HANGAR_ASSIGN_OR_RETURN(auto upload, RequireUpload(ctx, input.bucket, input.key, input.upload_id,
                                                     "s3:PutObject"));
  HANGAR_ASSIGN_OR_RETURN(WriteKeys keys, sse_.ResumeUpload(ctx, upload.record, input.customer_key));
  HANGAR_ASSIGN_OR_RETURN(auto md5_expected, CheckDeclaredBody(input.content_length, false,
                                                               options_.max_object_size,
                                                               input.content_md5));
  std::optional<ChecksumRequest> checksum = input.checksum;
  if (!checksum && !upload.record.checksum_algorithm.empty()) {
    // The upload asked for a checksum: compute it for every part even if the part carries none.
    checksum = ChecksumRequest{*ParseChecksumAlgorithm(upload.record.checksum_algorithm), ""};
  }
  // Without an algorithm, the part's CRC64NVME makes the object's default checksum at Complete.
  const bool default_checksum = !checksum;
  if (default_checksum) checksum = ChecksumRequest{ChecksumAlgorithm::kCrc64Nvme, ""};
  HANGAR_ASSIGN_OR_RETURN(auto checksum_expected, ExpectedChecksum(input.checksum));
  std::optional<ChecksumAlgorithm> algorithm;
  if (checksum) algorithm = checksum->algorithm;
  SegmentKeys segment_keys;
  HANGAR_ASSIGN_OR_RETURN(WrittenBlob written,
                          WriteBlob(EncryptingWriter(keys, segment_keys), body, algorithm,
                                    options_.max_object_size, input.content_length));
  auto discard = [&](Status s) -> Status {
    if (!written.blob_id.empty()) blobs_.Delete(written.blob_id);
    return s;
  };
  // Only a checksum the client sent (header or trailer) is verified; a computed one is recorded.
  std::optional<ChecksumRequest> to_verify = input.checksum;
  Status verified = VerifyUpload(written, md5_expected, to_verify, checksum_expected, body);
  if (!verified.ok()) return discard(verified);
  auto part = StorePart(ctx, upload.record, input.part_number, written, segment_keys,
                        default_checksum);
  if (!part.ok()) return discard(part.status());
  return PartOutput{std::move(part).value(), upload.record.encryption};
}

Result<PartOutput> S3Service::UploadPartCopy(const auth::RequestContext& ctx,
                                             const UploadPartInput& input,
                                             const CopySource& source) {
  HANGAR_RETURN_IF_ERROR(CheckPartNumber(input.part_number, options_.max_parts));
  HANGAR_ASSIGN_OR_RETURN(auto upload, RequireUpload(ctx, input.bucket, input.key, input.upload_id,
                                                     "s3:PutObject"));
  HANGAR_ASSIGN_OR_RETURN(auto src, RequireCopySource(ctx, source));
  HANGAR_ASSIGN_OR_RETURN(ReadKeys source_keys,
                          sse_.PrepareRead(ctx, src.record, source.customer_key));
  HANGAR_ASSIGN_OR_RETURN(WriteKeys keys, sse_.ResumeUpload(ctx, upload.record, input.customer_key));
  HANGAR_RETURN_IF_ERROR(EvaluateCopySourceConditions(
      source.conditions, src.record.etag, FromUnixMillis(src.record.last_modified_ms), ctx.now));
  uint64_t first = 0, length = src.record.size;
  if (!source.range.empty()) {
    auto range = ParseCopySourceRange(source.range, src.record.size);
    if (!range.ok()) return range.status();
    first = range->first;
    length = range->second - range->first + 1;
  }
  if (length > options_.max_object_size) {
    return Error(ErrorCode::kInvalidRequest,
                 "The specified copy source is larger than the maximum allowable size for a copy "
                 "source: " + std::to_string(options_.max_object_size));
  }
  std::optional<ChecksumAlgorithm> algorithm = ChecksumAlgorithm::kCrc64Nvme;
  const bool default_checksum = upload.record.checksum_algorithm.empty();
  if (!default_checksum) algorithm = ParseChecksumAlgorithm(upload.record.checksum_algorithm);
  std::vector<std::string> source_blobs;
  for (const auto& seg : src.record.segments) {
    if (seg.in_blob()) source_blobs.push_back(seg.blob_id);
  }
  auto source_lease = leases_.Take(std::move(source_blobs));  // the copy may outlast the grace
  ObjectRangeReader reader(DecryptingOpener(std::make_shared<const ReadKeys>(std::move(source_keys))),
                           src.record.segments, first, length);
  SegmentKeys segment_keys;
  HANGAR_ASSIGN_OR_RETURN(WrittenBlob written,
                          WriteBlob(EncryptingWriter(keys, segment_keys), reader, algorithm,
                                    options_.max_object_size, length));
  auto part = StorePart(ctx, upload.record, input.part_number, written, segment_keys,
                        default_checksum);
  if (!part.ok()) {
    if (!written.blob_id.empty()) blobs_.Delete(written.blob_id);
    return part.status();
  }
  return PartOutput{std::move(part).value(), upload.record.encryption};
}

// An upload without an algorithm still makes an object with a checksum, as on S3: the parts'
// CRC64NVMEs combined (none for parts stored before Hangar kept them).
std::optional<ChecksumValue> DefaultFullObjectChecksum(const std::vector<const PartRecord*>& chosen);

Result<ObjectRecord> S3Service::CompleteMultipartUpload(const auth::RequestContext& ctx,
                                                        std::string_view bucket,
                                                        std::string_view key,
                                                        std::string_view upload_id,
                                                        const std::vector<CompletedPart>& parts,
                                                        const CompleteUploadOptions& options) {
  const WriteConditions& conditions = options.conditions;
  auto found = RequireUpload(ctx, bucket, key, upload_id, "s3:PutObject",
                             WriteConditionKeys(conditions));
  if (!found.ok() && found.status().code() == ErrorCode::kNoSuchUpload) {
    // A retry of a Complete that succeeded (its answer lost on the way) gets the same answer.
    HANGAR_ASSIGN_OR_RETURN(auto b, repository_.GetBucket(bucket));
    if (b) {
      HANGAR_ASSIGN_OR_RETURN(auto done, repository_.GetCompletedUpload(bucket, key, upload_id,
                                                                        b->record.incarnation));
      if (done) return std::move(*done);
    }
  }
  HANGAR_RETURN_IF_ERROR(found.status());
  Stored<UploadRecord> upload = std::move(found).value();
  HANGAR_RETURN_IF_ERROR(CheckCompleteChecksumMode(upload.record, options.checksum_type));
  // 1. The list: at least one part, ascending, every number valid.
  HANGAR_RETURN_IF_ERROR(CheckPartList(parts, options_.max_parts, upload_id));
  // 2. Every listed part exists with that ETag; all but the last are at least 5 MiB.
  HANGAR_ASSIGN_OR_RETURN(auto stored_parts,
                          repository_.ListParts(upload_id, 0, static_cast<size_t>(options_.max_parts)));
  HANGAR_ASSIGN_OR_RETURN(std::vector<const PartRecord*> chosen,
                          ChooseParts(parts, stored_parts, options_.min_part_size, upload_id));
  // 3. The object: its ETag is the MD5 of the parts' MD5s, suffixed with the part count.
  const UploadRecord& u = upload.record;
  ObjectRecord record = AssembleObject(bucket, key, ToUnixMillis(ctx.now), u, chosen);
  record.lock = u.lock;
  record.owner_account = u.object_owner;
  record.acl = u.acl;
  if (u.checksum_type == "FULL_OBJECT") {
    HANGAR_ASSIGN_OR_RETURN(record.checksum, FullObjectChecksum(u, chosen, options));
  }
  if (u.checksum_algorithm.empty()) record.checksum = DefaultFullObjectChecksum(chosen);

  // 4. One commit: the object appears, the upload and its part records go, parts not used are
  //    released. The upload's revision guards against a part landing meanwhile.
  std::vector<store::Mutation> extra;
  extra.push_back(S3Repository::DeleteUpload(u, upload.revision));
  for (const auto& p : stored_parts) {
    extra.push_back(S3Repository::DeletePart(upload_id, p.record.part_number));
    bool used = std::any_of(chosen.begin(), chosen.end(), [&](const PartRecord* c) {
      return c->part_number == p.record.part_number;
    });
    if (!used && !p.record.blob_id.empty()) {
      for (auto& r : S3Repository::ReleaseBlob(p.record.blob_id, GarbageDue())) {
        extra.push_back(std::move(r));
      }
    }
  }
  const int64_t replay_until = ToUnixMillis(ctx.now) + kReplayMs;
  std::optional<int64_t> key_revision;
  if (u.key_revision_at_start >= 0) key_revision = u.key_revision_at_start;
  Status s = SwapObject(record, u.bucket_incarnation, conditions, std::move(extra), key_revision,
                        [&](const ObjectRecord& committed) {
                          return S3Repository::PutCompletedUpload(u, committed, replay_until);
                        });
  if (s.code() == ErrorCode::kConflict || s.code() == ErrorCode::kSlowDown) {
    // The upload changed under us (a part arrived, or another Complete/Abort won).
    HANGAR_ASSIGN_OR_RETURN(auto again, repository_.GetUpload(bucket, key, upload_id));
    if (!again) return NoSuchUpload(upload_id);
  }
  HANGAR_RETURN_IF_ERROR(s);
  return record;
}

// The mode of a Complete must be the upload's (s3-data-protection.md §9).
Status S3Service::CheckCompleteChecksumMode(const UploadRecord& u,
                                            const std::optional<std::string>& requested_type) {
  if (!requested_type) return Status::Ok();
  const std::string mode = u.checksum_algorithm.empty() ? "null" : u.checksum_type;
  if (*requested_type == mode) return Status::Ok();
  return Error(ErrorCode::kInvalidRequest,
               "The upload was created using the " + mode +
                   " checksum mode. The complete request must use the same checksum mode.");
}

// A FULL_OBJECT upload's checksum: the parts' CRCs combined into the whole object's, checked
// against the one the Complete request sends (x-amz-checksum-<alg> with x-amz-checksum-type
// FULL_OBJECT); a mismatch, or a value without the type, is BadDigest naming the upload's
// algorithm (s3-data-protection.md §9).
std::optional<ChecksumValue> DefaultFullObjectChecksum(const std::vector<const PartRecord*>& chosen) {
  std::vector<ChecksumPiece> pieces;
  for (const PartRecord* p : chosen) {
    auto raw = crypto::Base64Decode(p->default_crc64nvme);
    if (!raw || raw->size() != ChecksumDigestSize(ChecksumAlgorithm::kCrc64Nvme)) return std::nullopt;
    pieces.push_back({std::move(*raw), p->size});
  }
  auto combined = CombineFullObjectChecksum(ChecksumAlgorithm::kCrc64Nvme, pieces);
  if (!combined) return std::nullopt;
  return ChecksumValue{"CRC64NVME", crypto::Base64Encode(*combined), "FULL_OBJECT"};
}

Result<std::optional<ChecksumValue>> S3Service::FullObjectChecksum(
    const UploadRecord& u, const std::vector<const PartRecord*>& chosen,
    const CompleteUploadOptions& options) {
  auto algorithm = ParseChecksumAlgorithm(u.checksum_algorithm);
  if (!algorithm) return std::optional<ChecksumValue>();
  std::vector<ChecksumPiece> pieces;
  for (const PartRecord* p : chosen) {
    std::optional<std::string> raw;
    if (p->checksum) raw = crypto::Base64Decode(p->checksum->value);
    if (!raw || raw->size() != ChecksumDigestSize(*algorithm)) return std::optional<ChecksumValue>();
    pieces.push_back({std::move(*raw), p->size});
  }
  auto combined = CombineFullObjectChecksum(*algorithm, pieces);
  if (!combined) return std::optional<ChecksumValue>();
  if (options.checksum && options.checksum->expected) {
    auto sent = DecodeChecksumValue(*algorithm, *options.checksum->expected);
    if (options.checksum_type != "FULL_OBJECT" || options.checksum->algorithm != *algorithm ||
        !sent || *sent != *combined) {
      return Error(ErrorCode::kBadDigest, "The " + ToLower(u.checksum_algorithm) +
                                              " you specified did not match the calculated "
                                              "checksum.");
    }
  }
  return std::optional<ChecksumValue>(
      ChecksumValue{u.checksum_algorithm, crypto::Base64Encode(*combined), "FULL_OBJECT"});
}

Status S3Service::AbortMultipartUpload(const auth::RequestContext& ctx, std::string_view bucket,
                                       std::string_view key, std::string_view upload_id) {
  HANGAR_RETURN_IF_ERROR(
      RequireUpload(ctx, bucket, key, upload_id, "s3:AbortMultipartUpload").status());
  return AbortUpload(bucket, key, upload_id);
}

Status S3Service::AbortUpload(std::string_view bucket, std::string_view key,
                              std::string_view upload_id) {
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(auto found, repository_.GetUpload(bucket, key, upload_id));
    if (!found) return NoSuchUpload(upload_id);
    Stored<UploadRecord>& upload = *found;
    HANGAR_ASSIGN_OR_RETURN(auto parts, repository_.ListParts(upload_id, 0,
                                                             static_cast<size_t>(options_.max_parts)));
    std::vector<store::Mutation> m;
    m.push_back(S3Repository::DeleteUpload(upload.record, upload.revision));
    for (const auto& p : parts) {
      m.push_back(S3Repository::DeletePart(upload_id, p.record.part_number));
      if (!p.record.blob_id.empty()) {
        for (auto& r : S3Repository::ReleaseBlob(p.record.blob_id, GarbageDue())) {
          m.push_back(std::move(r));
        }
      }
    }
    Status s = repository_.Commit(m);
    if (s.code() != ErrorCode::kConflict) return s;
    BackOffAfterConflict(attempt);
  }
  return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
}

Result<ListPartsOutput> S3Service::ListParts(const auth::RequestContext& ctx,
                                             std::string_view bucket, std::string_view key,
                                             std::string_view upload_id, int part_number_marker,
                                             int max_parts) {
  HANGAR_ASSIGN_OR_RETURN(auto upload, RequireUpload(ctx, bucket, key, upload_id,
                                                     "s3:ListMultipartUploadParts"));
  max_parts = std::clamp(max_parts, 0, 1000);
  HANGAR_ASSIGN_OR_RETURN(auto parts, repository_.ListParts(upload_id, part_number_marker,
                                                           static_cast<size_t>(max_parts) + 1));
  ListPartsOutput out;
  out.upload = std::move(upload.record);
  out.truncated = parts.size() > static_cast<size_t>(max_parts);
  if (out.truncated) parts.resize(static_cast<size_t>(max_parts));
  for (auto& p : parts) out.parts.push_back(std::move(p.record));
  if (!out.parts.empty()) out.next_marker = out.parts.back().part_number;
  return out;
}

Result<ListUploadsOutput> S3Service::ListMultipartUploads(const auth::RequestContext& ctx,
                                                          const ListUploadsInput& input) {
  HANGAR_ASSIGN_OR_RETURN(auto bucket,
                          RequireBucket(ctx, input.bucket, {"s3:ListBucketMultipartUploads"}));
  const int max = std::clamp(input.max_uploads, 0, 1000);
  ListUploadsOutput out;
  std::string key_marker = input.key_marker;
  std::string upload_marker = input.upload_id_marker;
  while (out.uploads.size() + out.common_prefixes.size() < static_cast<size_t>(max)) {
    HANGAR_ASSIGN_OR_RETURN(auto batch, repository_.ListUploads(input.bucket, input.prefix,
                                                               key_marker, upload_marker, 1000));
    if (batch.empty()) break;
    bool restart = false;
    for (auto& u : batch) {
      if (out.uploads.size() + out.common_prefixes.size() == static_cast<size_t>(max)) {
        out.truncated = true;
        break;
      }
      if (!input.delimiter.empty()) {
        size_t at = u.key.find(input.delimiter, input.prefix.size());
        if (at != std::string::npos) {
          std::string prefix = u.key.substr(0, at + input.delimiter.size());
          out.common_prefixes.push_back(prefix);
          out.next_key_marker = prefix;
          out.next_upload_id_marker.clear();
          // Skip every upload under this prefix (keys are UTF-8, so no byte is 0xff).
          key_marker = prefix + "\xff";
          upload_marker.clear();
          restart = true;
          break;
        }
      }
      out.next_key_marker = u.key;
      out.next_upload_id_marker = u.upload_id;
      key_marker = u.key;
      upload_marker = u.upload_id;
      out.uploads.push_back(std::move(u));
    }
    if (out.truncated) break;
    if (!restart && batch.size() < 1000) break;
  }
  if (!out.truncated) {
    out.next_key_marker.clear();
    out.next_upload_id_marker.clear();
  }
  return out;
}

}  // namespace hangar::s3
