// S3Service: object ownership and ACLs (docs/s3-acls.md). Buckets are BucketOwnerEnforced unless
// their ownership controls say otherwise; then ACLs count, evaluated with the bucket policy by
// S3Access, and an object written by another account may belong to that account.

#include <algorithm>

#include "s3/object_rules.h"
#include "s3/s3_service.h"

namespace hangar::s3 {
namespace {

constexpr std::string_view kEnforced = "BucketOwnerEnforced";

Status AclsDisabled() {
  return Error(ErrorCode::kAccessControlListNotSupported, "The bucket does not allow ACLs");
}

Status EnforcedBucketWithAcl() {
  return Error(ErrorCode::kInvalidBucketAclWithObjectOwnership,
               "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting");
}

// What AWS still accepts of a bucket without ACLs: a request that only restates the owner's full
// control (the canned private or bucket-owner-full-control, or a list granting just that).
bool RestatesOwnerControl(const AclRequest& request, std::string_view owner) {
  if (!request.canned.empty()) {
    return request.canned == "private" || request.canned == "bucket-owner-full-control";
  }
  const std::string owner_id = CanonicalUserId(owner);
  return std::all_of(request.grants.begin(), request.grants.end(), [&](const GranteeRef& g) {
    return g.kind == GranteeRef::Kind::kCanonicalUser && g.value == owner_id &&
           g.permission == "FULL_CONTROL";
  });
}

}  // namespace

Status ValidateObjectOwnership(std::string_view ownership) {
  if (ownership == kEnforced || ownership == "ObjectWriter" ||
      ownership == "BucketOwnerPreferred") {
    return Status::Ok();
  }
  return Error(ErrorCode::kMalformedXml,
               "The XML you provided was not well-formed or did not validate against our "
               "published schema");
}

Result<PublicAccessBlock> S3Service::PublicAccessBlockOf(const BucketRecord& bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto account,
                          repository_.GetAccountPublicAccessBlock(bucket.owner_account));
  return EffectivePublicAccessBlock(bucket, account);
}

Result<std::optional<AccessControlList>> S3Service::AclForWrite(const BucketRecord& bucket,
                                                                const AclRequest& request,
                                                                const AclParties& parties) {
  if (!bucket.acls_enabled()) {
    if (!RestatesOwnerControl(request, parties.owner)) return AclsDisabled();
    return std::optional<AccessControlList>();
  }
  HANGAR_ASSIGN_OR_RETURN(AccessControlList acl, ResolveAcl(request, parties, options_.accounts));
  if (IsPublicAcl(acl)) {
    HANGAR_ASSIGN_OR_RETURN(PublicAccessBlock block, PublicAccessBlockOf(bucket));
    if (block.block_public_acls) return Error(ErrorCode::kAccessDenied, "Access Denied");
  }
  return std::optional<AccessControlList>(std::move(acl));
}

Status S3Service::InitialBucketAcl(const CreateBucketInput& input, BucketRecord& bucket) {
  if (input.object_ownership) {
    if (!ValidateObjectOwnership(*input.object_ownership).ok()) {
      return Error(ErrorCode::kValidation,
                   "Invalid x-amz-object-ownership header: " + *input.object_ownership)
          .WithField("ArgumentName", "x-amz-object-ownership")
          .WithField("ArgumentValue", *input.object_ownership);
    }
    bucket.object_ownership = *input.object_ownership;
  }
  if (!input.acl) return Status::Ok();
  if (!bucket.acls_enabled()) {
    if (!RestatesOwnerControl(*input.acl, bucket.owner_account)) return EnforcedBucketWithAcl();
    return Status::Ok();
  }
  HANGAR_ASSIGN_OR_RETURN(
      auto acl,
      AclForWrite(bucket, *input.acl, {bucket.owner_account, bucket.owner_account, true}));
  bucket.acl = std::move(acl);
  return Status::Ok();
}

std::string NewObjectOwner(const auth::RequestContext& ctx, const BucketRecord& bucket,
                           const std::optional<AclRequest>& request) {
  // Anonymous writes (a public-read-write bucket) belong to the bucket owner.
  const std::string& writer =
      ctx.principal.anonymous() ? bucket.owner_account : ctx.principal.account_id;
  if (!bucket.acls_enabled() || writer == bucket.owner_account) return bucket.owner_account;
  // BucketOwnerPreferred takes the object when the writer hands it full control.
  const bool handed_over = bucket.object_ownership == "BucketOwnerPreferred" && request &&
                           request->canned == "bucket-owner-full-control";
  return handed_over ? bucket.owner_account : writer;
}

Result<S3Service::NewObjectOwnership> S3Service::OwnershipOfNewObject(
    const auth::RequestContext& ctx, const BucketRecord& bucket,
    const std::optional<AclRequest>& request) {
  const std::string owner = NewObjectOwner(ctx, bucket, request);
  NewObjectOwnership out;
  if (owner != bucket.owner_account) out.owner_account = owner;
  if (request) {
    HANGAR_ASSIGN_OR_RETURN(out.acl,
                            AclForWrite(bucket, *request, {owner, bucket.owner_account, false}));
  }
  return out;
}

Result<S3Service::AclView> S3Service::GetBucketAcl(const auth::RequestContext& ctx,
                                                   std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireBucket(ctx, bucket, {"s3:GetBucketAcl"}));
  const BucketRecord& b = stored.record;
  return AclView{b.owner_account, b.acls_enabled() && b.acl ? *b.acl : PrivateAcl(b.owner_account)};
}

Status S3Service::PutBucketAcl(const auth::RequestContext& ctx, std::string_view bucket,
                               const AclRequest& request) {
  return UpdateBucketAs(ctx, bucket, "s3:PutBucketAcl",
                        [&](BucketRecord& b) -> Status {
                          HANGAR_ASSIGN_OR_RETURN(
                              auto acl,
                              AclForWrite(b, request, {b.owner_account, b.owner_account, true}));
                          if (acl) b.acl = std::move(*acl);
                          return Status::Ok();
                        })
      .status();
}

Result<S3Service::AclView> S3Service::GetObjectAcl(const auth::RequestContext& ctx,
                                                   std::string_view bucket, std::string_view key,
                                                   const std::optional<std::string>& version_id) {
  HANGAR_ASSIGN_OR_RETURN(auto stored,
                          RequireObject(ctx, bucket, key, "s3:GetObjectAcl", {}, version_id));
  HANGAR_ASSIGN_OR_RETURN(auto b, repository_.GetBucket(bucket));
  if (!b) return Error(ErrorCode::kNoSuchBucket, "The specified bucket does not exist");
  const ObjectRecord& o = stored.record;
  if (!b->record.acls_enabled()) {
    return AclView{b->record.owner_account, PrivateAcl(b->record.owner_account)};
  }
  std::string owner = o.owner_account.empty() ? b->record.owner_account : o.owner_account;
  AccessControlList acl = o.acl ? *o.acl : PrivateAcl(owner);
  return AclView{std::move(owner), std::move(acl)};
}

Result<std::optional<std::string>> S3Service::PutObjectAcl(
    const auth::RequestContext& ctx, std::string_view bucket, std::string_view key,
    const std::optional<std::string>& version_id, const AclRequest& request) {
  auto change = [&](ObjectRecord& o) -> Status {
    HANGAR_ASSIGN_OR_RETURN(auto b, repository_.GetBucket(bucket));
    if (!b) return Error(ErrorCode::kNoSuchBucket, "The specified bucket does not exist");
    const std::string& owner = o.owner_account.empty() ? b->record.owner_account : o.owner_account;
    HANGAR_ASSIGN_OR_RETURN(
        auto acl, AclForWrite(b->record, request, {owner, b->record.owner_account, false}));
    if (acl) o.acl = std::move(*acl);
    return Status::Ok();
  };
  HANGAR_ASSIGN_OR_RETURN(
      ObjectRecord o, UpdateVersion(ctx, bucket, key, version_id, "s3:PutObjectAcl",
                                        AclConditionKeys(request), change));
  return VersionHeaderOf(o);
}

Status S3Service::PutOwnershipControls(const auth::RequestContext& ctx, std::string_view bucket,
                                       std::string_view ownership) {
  HANGAR_RETURN_IF_ERROR(ValidateObjectOwnership(ownership));
  return UpdateBucketAs(
             ctx, bucket, "s3:PutBucketOwnershipControls",
             [&](BucketRecord& b) -> Status {
               if (ownership == kEnforced && b.acl && GrantsBeyondOwner(*b.acl, b.owner_account)) {
                 return EnforcedBucketWithAcl();
               }
               b.object_ownership = std::string(ownership);
               return Status::Ok();
             })
      .status();
}

Result<std::string> S3Service::GetOwnershipControls(const auth::RequestContext& ctx,
                                                    std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto stored,
                          RequireBucket(ctx, bucket, {"s3:GetBucketOwnershipControls"}));
  const std::string& ownership = stored.record.object_ownership;
  if (ownership == "None") {
    return Error(ErrorCode::kOwnershipControlsNotFound,
                 "The bucket ownership controls were not found")
        .WithField("BucketName", std::string(bucket));
  }
  return ownership.empty() ? std::string(kEnforced) : ownership;
}

Status S3Service::DeleteOwnershipControls(const auth::RequestContext& ctx,
                                          std::string_view bucket) {
  // Without ownership controls a bucket behaves as ObjectWriter did before they existed.
  return UpdateBucketAs(ctx, bucket, "s3:PutBucketOwnershipControls",
                        [](BucketRecord& b) {
                          b.object_ownership = "None";
                          return Status::Ok();
                        })
      .status();
}

}  // namespace hangar::s3
