// S3Service: buckets (create, head, delete, list, tagging) and the checks every operation shares.

#include <set>

#include <algorithm>
#include <map>

#include "common/strings.h"
#include "crypto/random.h"
#include "s3/bucket_name.h"
#include "s3/object_rules.h"
#include "s3/s3_service.h"
#include "s3/tags.h"
#include "s3/xml.h"

namespace hangar::s3 {
namespace {

constexpr std::string_view kGlobalRegion = "us-east-1";

Status NoSuchBucket(std::string_view bucket) {
  return Error(ErrorCode::kNoSuchBucket, "The specified bucket does not exist")
      .WithField("BucketName", std::string(bucket));
}

}  // namespace

S3Service::S3Service(S3Repository& repository, store::BlobStore& blobs, SseEngine& sse,
                     const S3Access& access, const Clock& clock, S3Options options)
    : repository_(repository),
      blobs_(blobs),
      sse_(sse),
      access_(access),
      clock_(clock),
      options_(options) {}

int64_t S3Service::GarbageDue() const {
  return ToUnixMillis(clock_.Now()) +
         std::chrono::duration_cast<std::chrono::milliseconds>(options_.garbage_grace).count();
}

Result<Stored<BucketRecord>> S3Service::RequireBucket(const auth::RequestContext& ctx,
                                                      std::string_view bucket,
                                                      const S3Request& request) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, repository_.GetBucket(bucket));
  if (!stored) return NoSuchBucket(bucket);
  // The bucket's owner receives this request's audit record (and owns the resources it names).
  if (ctx.audit) ctx.audit->recipient_account_id = stored->record.owner_account;
  // Block Public Access only ever takes away what a bucket policy grants.
  std::optional<PublicAccessBlock> account_block;
  if (!stored->record.policy.empty() || stored->record.acls_enabled()) {
    HANGAR_ASSIGN_OR_RETURN(account_block,
                            repository_.GetAccountPublicAccessBlock(stored->record.owner_account));
  }
  HANGAR_RETURN_IF_ERROR(access_.Authorize(
      ctx, stored->record, EffectivePublicAccessBlock(stored->record, account_block), request));
  return std::move(*stored);
}

Status S3Service::AdmitBody(const auth::RequestContext& ctx, std::string_view bucket,
                            const S3Request* preauthorize, bool object) {
  if (preauthorize && object) {
    return RequireObject(ctx, bucket, preauthorize->key, preauthorize->action).status();
  }
  if (preauthorize) return RequireBucket(ctx, bucket, *preauthorize).status();
  HANGAR_ASSIGN_OR_RETURN(auto stored, repository_.GetBucket(bucket));
  if (!stored) return NoSuchBucket(bucket);
  if (ctx.principal.anonymous() && !access_.MayAllowAnonymous(stored->record)) {
    return Error(ErrorCode::kAccessDenied, "Access Denied");
  }
  return Status::Ok();
}

bool S3Service::ReadsAreCheap(std::string_view bucket) {
  auto stored = repository_.GetBucket(bucket);
  return stored.ok() &&
         (!*stored || ((*stored)->record.policy.empty() && !(*stored)->record.acls_enabled()));
}

Status S3Service::CreateBucket(const auth::RequestContext& ctx, const CreateBucketInput& input) {
  HANGAR_RETURN_IF_ERROR(ValidateBucketName(input.bucket));
  const std::string arn = "arn:aws:s3:::" + input.bucket;
  HANGAR_RETURN_IF_ERROR(access_.AuthorizeAccount(ctx, "s3:CreateBucket", arn));
  // AWS's CreateBucket permissions: an ACL other than private needs s3:PutBucketAcl too, an
  // x-amz-object-ownership header s3:PutBucketOwnershipControls.
  if (input.acl && input.acl->canned != "private") {
    HANGAR_RETURN_IF_ERROR(access_.AuthorizeAccount(ctx, "s3:PutBucketAcl", arn));
  }
  if (input.object_ownership) {
    HANGAR_RETURN_IF_ERROR(access_.AuthorizeAccount(ctx, "s3:PutBucketOwnershipControls", arn));
  }
  std::string region = ctx.region;
  if (input.location_constraint) {
    const std::string& location = *input.location_constraint;
    if (location == kGlobalRegion) {
      // AWS refuses an explicit us-east-1 constraint: that region is the absence of one.
      return Error(ErrorCode::kInvalidLocationConstraint,
                   "The specified location-constraint is not valid")
          .WithField("LocationConstraint", location);
    }
    // The us-east-1 endpoint creates buckets anywhere; a regional one only in its own region.
    if (!location.empty() && ctx.region != kGlobalRegion && location != ctx.region) {
      return Error(ErrorCode::kIllegalLocationConstraint,
                   "The " + location +
                       " location constraint is incompatible for the region specific endpoint "
                       "this request was sent to.")
          .WithField("LocationConstraint", location);
    }
    if (!location.empty()) region = location;
  }
  BucketRecord bucket;
  bucket.name = input.bucket;
  bucket.owner_account = ctx.principal.account_id;
  bucket.region = region;
  bucket.created_ms = ToUnixMillis(ctx.now);
  bucket.public_access_block = PublicAccessBlock{};  // all four on, as AWS does since 2023
  bucket.incarnation = crypto::RandomUuid();
  HANGAR_RETURN_IF_ERROR(InitialBucketAcl(input, bucket));
  if (input.object_lock_enabled) {
    // Object Lock protects versions, so a bucket created with it is versioned from the start.
    bucket.object_lock_enabled = true;
    bucket.versioning = "Enabled";
  }
  Status created = repository_.Commit({S3Repository::CreateBucket(bucket)});
  if (created.code() != ErrorCode::kConflict) return created;
  HANGAR_ASSIGN_OR_RETURN(auto existing, repository_.GetBucket(input.bucket));
  if (existing && existing->record.owner_account == ctx.principal.account_id) {
    // In us-east-1, re-creating your own bucket succeeds (kept for compatibility by AWS).
    if (existing->record.region == kGlobalRegion && region == kGlobalRegion) return Status::Ok();
    return Error(ErrorCode::kBucketAlreadyOwnedByYou,
                 "Your previous request to create the named bucket succeeded and you already own "
                 "it.")
        .WithField("BucketName", input.bucket);
  }
  return Error(ErrorCode::kBucketAlreadyExists,
               "The requested bucket name is not available. The bucket namespace is shared by all "
               "users of the system. Please select a different name and try again.")
      .WithField("BucketName", input.bucket);
}

Result<BucketRecord> S3Service::HeadBucket(const auth::RequestContext& ctx,
                                           std::string_view bucket, std::string_view action) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireBucket(ctx, bucket, {std::string(action)}));
  return std::move(stored.record);
}

Result<std::string> S3Service::BucketOwner(std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, repository_.GetBucket(bucket));
  if (!stored) return NoSuchBucket(bucket);
  return std::move(stored->record.owner_account);
}

Result<store::Mutation> S3Service::BucketGuard(std::string_view bucket,
                                               std::string_view incarnation, BucketRecord* now) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, repository_.GetBucket(bucket));
  if (!stored || stored->record.deleting || stored->record.incarnation != incarnation) {
    return NoSuchBucket(bucket);
  }
  if (now != nullptr) *now = stored->record;
  return S3Repository::RequireBucketRevision(bucket, stored->revision);
}

// 1. Refuse a bucket with objects at once. 2. Mark it deleting: that changes its revision, so
//    every write that was authorised before fails its guard, and later ones see the mark.
// 3. Check emptiness again (a write may have committed between 1 and 2) and undo the mark if
//    needed. 4. Abort the uploads in progress. 5. Delete it, if nothing changed since the mark.
// The caller is authorised once, at 1; the mark and its undoing are this operation's own steps.
Status S3Service::DeleteBucket(const auth::RequestContext& ctx, std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireBucket(ctx, bucket, {"s3:DeleteBucket"}));
  auto not_empty = [&] {
    return Error(ErrorCode::kBucketNotEmpty,
                 stored.record.versioned()
                     ? "The bucket you tried to delete is not empty. You must delete all versions "
                       "in the bucket."
                     : "The bucket you tried to delete is not empty")
        .WithField("BucketName", std::string(bucket));
  };
  HANGAR_ASSIGN_OR_RETURN(bool empty, repository_.BucketIsEmpty(bucket));
  if (!empty) return not_empty();
  // The mark, on the bucket as it is now: a setting changed meanwhile (here or on another node)
  // is no reason to refuse. A mark already there (another DeleteBucket under way, or one a crash
  // left) is taken over: both deletes end in the bucket's removal.
  HANGAR_ASSIGN_OR_RETURN(stored, ChangeBucket(bucket, [](BucketRecord& b) {
                            b.deleting = true;
                            return Status::Ok();
                          }));
  HANGAR_ASSIGN_OR_RETURN(empty, repository_.BucketIsEmpty(bucket));
  if (!empty) {
    HANGAR_RETURN_IF_ERROR(ChangeBucket(bucket, [](BucketRecord& b) {
                             b.deleting = false;
                             return Status::Ok();
                           }).status());
    return not_empty();
  }
  // Uploads still in progress go with the bucket.
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto uploads, repository_.ListUploads(bucket, "", "", "", 100));
    for (const auto& u : uploads) {
      Status s = AbortUpload(bucket, u.key, u.upload_id);
      if (!s.ok() && s.code() != ErrorCode::kNoSuchUpload) return s;
    }
    if (uploads.size() < 100) break;
  }
  // Settings may still change on a marked bucket (they are no writes into it): delete what is
  // there now, for as long as it stays marked and empty.
  for (int attempt = 0;; ++attempt) {
    Status s = repository_.Commit({S3Repository::DeleteBucket(bucket, stored.revision)});
    if (s.code() != ErrorCode::kConflict) return s;
    if (attempt == 15) return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
    BackOffAfterConflict(attempt);
    HANGAR_ASSIGN_OR_RETURN(auto current, repository_.GetBucket(bucket));
    if (!current) return Status::Ok();  // gone already
    HANGAR_ASSIGN_OR_RETURN(empty, repository_.BucketIsEmpty(bucket));
    if (!current->record.deleting || !empty) return not_empty();
    stored = std::move(*current);
  }
}

Result<Stored<BucketRecord>> S3Service::ChangeBucket(
    std::string_view bucket, const std::function<Status(BucketRecord&)>& change) {
  for (int attempt = 0; attempt < 16; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(auto current, repository_.GetBucket(bucket));
    if (!current) return NoSuchBucket(bucket);
    HANGAR_RETURN_IF_ERROR(change(current->record));
    Status s =
        repository_.Commit({S3Repository::UpdateBucket(current->record, current->revision)});
    if (s.ok()) {
      HANGAR_ASSIGN_OR_RETURN(auto committed, repository_.GetBucket(bucket));
      if (!committed) return NoSuchBucket(bucket);
      return std::move(*committed);
    }
    if (s.code() != ErrorCode::kConflict) return s;
    BackOffAfterConflict(attempt);
  }
  return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
}

Result<std::vector<BucketRecord>> S3Service::ListBuckets(const auth::RequestContext& ctx) {
  HANGAR_RETURN_IF_ERROR(access_.AuthorizeAccount(ctx, "s3:ListAllMyBuckets", "*"));
  HANGAR_ASSIGN_OR_RETURN(auto all, repository_.ListBuckets());
  std::vector<BucketRecord> mine;
  for (auto& b : all) {
    if (b.owner_account == ctx.principal.account_id) mine.push_back(std::move(b));
  }
  return mine;
}

Status S3Service::PutBucketTagging(const auth::RequestContext& ctx, std::string_view bucket,
                                   const KeyValues& tags) {
  HANGAR_RETURN_IF_ERROR(ValidateTags(tags, kMaxBucketTags));
  return UpdateBucketAs(ctx, bucket,
                        {"s3:PutBucketTagging", "", RequestTagKeys(tags, /*object=*/false)},
                        [&](BucketRecord& b) {
                          b.tags = tags;
                          b.has_tags = true;
                          return Status::Ok();
                        })
      .status();
}

Result<KeyValues> S3Service::GetBucketTagging(const auth::RequestContext& ctx,
                                              std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireBucket(ctx, bucket, {"s3:GetBucketTagging"}));
  if (!stored.record.has_tags) {
    return Error(ErrorCode::kNoSuchTagSet, "The TagSet does not exist")
        .WithField("BucketName", std::string(bucket));
  }
  return stored.record.tags;
}

Status S3Service::DeleteBucketTagging(const auth::RequestContext& ctx, std::string_view bucket) {
  return UpdateBucketAs(ctx, bucket, "s3:PutBucketTagging", [](BucketRecord& b) {
           b.tags.clear();
           b.has_tags = false;
           return Status::Ok();
         })
      .status();
}

Status S3Service::PutBucketEncryption(const auth::RequestContext& ctx, std::string_view bucket,
                                      const BucketEncryption& encryption) {
  // A missing bucket (or a refusal) is said before anything about the configuration, as on AWS.
  HANGAR_RETURN_IF_ERROR(RequireBucket(ctx, bucket, {"s3:PutEncryptionConfiguration"}).status());
  if (encryption.algorithm != "AES256" && encryption.algorithm != "aws:kms" &&
      encryption.algorithm != "aws:kms:dsse") {
    return MalformedXmlError();
  }
  if (encryption.algorithm == "AES256" && !encryption.kms_key_id.empty()) {
    return Error(ErrorCode::kValidation,
                 "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms "
                 "or aws:kms:dsse")
        .WithField("ArgumentName", "ApplyServerSideEncryptionByDefault");
  }
  // The key id is not checked here (AWS does not either): errors surface on object writes.
  return UpdateBucketAs(ctx, bucket, "s3:PutEncryptionConfiguration", [&](BucketRecord& b) {
           b.encryption = encryption;
           b.encryption.configured = true;
           return Status::Ok();
         })
      .status();
}

Result<BucketEncryption> S3Service::GetBucketEncryption(const auth::RequestContext& ctx,
                                                        std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto stored,
                          RequireBucket(ctx, bucket, {"s3:GetEncryptionConfiguration"}));
  return stored.record.encryption;
}

Status S3Service::DeleteBucketEncryption(const auth::RequestContext& ctx, std::string_view bucket) {
  // Deleting the configuration restores the default every bucket has: SSE-S3.
  return UpdateBucketAs(ctx, bucket, "s3:PutEncryptionConfiguration", [](BucketRecord& b) {
           b.encryption = BucketEncryption{};
           return Status::Ok();
         })
      .status();
}

}  // namespace hangar::s3
