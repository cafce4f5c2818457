// S3Service: bucket policies and Block Public Access (bucket and account level).

#include "s3/s3_service.h"

#include "s3/object_rules.h"

namespace hangar::s3 {
namespace {

constexpr int kMaxAttempts = 16;

Status SlowDown() { return Error(ErrorCode::kSlowDown, "Please reduce your request rate."); }

}  // namespace

Result<BucketRecord> S3Service::UpdateBucketAs(
    const auth::RequestContext& ctx, std::string_view bucket, std::string_view action,
    const std::function<Status(BucketRecord&)>& change) {
  return UpdateBucketAs(ctx, bucket, S3Request{std::string(action)}, change);
}

Result<BucketRecord> S3Service::UpdateBucketAs(
    const auth::RequestContext& ctx, std::string_view bucket, const S3Request& request,
    const std::function<Status(BucketRecord&)>& change) {
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(auto stored, RequireBucket(ctx, bucket, request));
    HANGAR_RETURN_IF_ERROR(change(stored.record));
    Status s = repository_.Commit({S3Repository::UpdateBucket(stored.record, stored.revision)});
    if (s.ok()) return std::move(stored.record);
    if (s.code() != ErrorCode::kConflict) return s;
    BackOffAfterConflict(attempt);
  }
  return SlowDown();
}

Status S3Service::PutBucketPolicy(const auth::RequestContext& ctx, std::string_view bucket,
                                  std::string_view policy) {
  return UpdateBucketAs(ctx, bucket, "s3:PutBucketPolicy", [&](BucketRecord& b) -> Status {
           HANGAR_ASSIGN_OR_RETURN(auto account_block,
                                   repository_.GetAccountPublicAccessBlock(b.owner_account));
           HANGAR_RETURN_IF_ERROR(access_.CheckNewBucketPolicy(
               b, policy, EffectivePublicAccessBlock(b, account_block)));
           b.policy = std::string(policy);
           return Status::Ok();
         })
      .status();
}

Result<std::string> S3Service::GetBucketPolicy(const auth::RequestContext& ctx,
                                               std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireBucket(ctx, bucket, {"s3:GetBucketPolicy"}));
  if (stored.record.policy.empty()) {
    return Error(ErrorCode::kNoSuchBucketPolicy, "The bucket policy does not exist")
        .WithField("BucketName", std::string(bucket));
  }
  return std::move(stored.record.policy);
}

Status S3Service::DeleteBucketPolicy(const auth::RequestContext& ctx, std::string_view bucket) {
  return UpdateBucketAs(ctx, bucket, "s3:DeleteBucketPolicy", [](BucketRecord& b) {
           b.policy.clear();
           return Status::Ok();
         })
      .status();
}

Result<bool> S3Service::GetBucketPolicyStatus(const auth::RequestContext& ctx,
                                              std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireBucket(ctx, bucket, {"s3:GetBucketPolicyStatus"}));
  if (stored.record.policy.empty()) {
    return Error(ErrorCode::kNoSuchBucketPolicy, "The bucket policy does not exist")
        .WithField("BucketName", std::string(bucket));
  }
  return access_.IsPublic(stored.record);
}

Status S3Service::PutPublicAccessBlock(const auth::RequestContext& ctx, std::string_view bucket,
                                       const PublicAccessBlock& block) {
  return UpdateBucketAs(ctx, bucket, "s3:PutBucketPublicAccessBlock", [&](BucketRecord& b) {
           b.public_access_block = block;
           return Status::Ok();
         })
      .status();
}

Result<PublicAccessBlock> S3Service::GetPublicAccessBlock(const auth::RequestContext& ctx,
                                                          std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto stored,
                          RequireBucket(ctx, bucket, {"s3:GetBucketPublicAccessBlock"}));
  if (!stored.record.public_access_block) {
    return Error(ErrorCode::kNoSuchPublicAccessBlockConfiguration,
                 "The public access block configuration was not found")
        .WithField("BucketName", std::string(bucket));
  }
  return *stored.record.public_access_block;
}

Status S3Service::DeletePublicAccessBlock(const auth::RequestContext& ctx,
                                          std::string_view bucket) {
  return UpdateBucketAs(ctx, bucket, "s3:PutBucketPublicAccessBlock", [](BucketRecord& b) {
           b.public_access_block.reset();
           return Status::Ok();
         })
      .status();
}

Status S3Service::PutAccountPublicAccessBlock(const auth::RequestContext& ctx,
                                              std::string_view account,
                                              const std::optional<PublicAccessBlock>& block) {
  HANGAR_RETURN_IF_ERROR(AuthorizeAccountSettings(
      ctx, account, "s3:PutAccountPublicAccessBlock"));
  return repository_.PutAccountPublicAccessBlock(account, block);
}

Result<PublicAccessBlock> S3Service::GetAccountPublicAccessBlock(const auth::RequestContext& ctx,
                                                                 std::string_view account) {
  HANGAR_RETURN_IF_ERROR(AuthorizeAccountSettings(
      ctx, account, "s3:GetAccountPublicAccessBlock"));
  HANGAR_ASSIGN_OR_RETURN(auto block, repository_.GetAccountPublicAccessBlock(account));
  if (!block) {
    return Error(ErrorCode::kNoSuchPublicAccessBlockConfiguration,
                 "The public access block configuration was not found")
        .WithField("AccountId", std::string(account));
  }
  return *block;
}

Status S3Service::AuthorizeAccountSettings(const auth::RequestContext& ctx,
                                           std::string_view account, std::string_view action) {
  // Only the account's own principals manage its settings.
  if (ctx.principal.anonymous() || ctx.principal.account_id != account) {
    return Error(ErrorCode::kAccessDenied, "Access Denied");
  }
  return access_.AuthorizeAccount(ctx, action, "*");
}

}  // namespace hangar::s3
