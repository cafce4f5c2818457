// S3Service: a bucket's CORS configuration (PutBucketCors, GetBucketCors, DeleteBucketCors) and
// the unauthorised read of its rules that preflight and response decoration need.

#include "s3/s3_service.h"

namespace hangar::s3 {

// Authorised as AWS does: DeleteBucketCors needs s3:PutBucketCORS (there is no delete action).
Status S3Service::PutBucketCors(const auth::RequestContext& ctx, std::string_view bucket,
                                std::vector<CorsRule> rules) {
  return UpdateBucketAs(ctx, bucket, "s3:PutBucketCORS", [&](BucketRecord& b) {
           b.cors_rules = std::move(rules);
           return Status::Ok();
         })
      .status();
}

Result<std::vector<CorsRule>> S3Service::GetBucketCors(const auth::RequestContext& ctx,
                                                       std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireBucket(ctx, bucket, {"s3:GetBucketCORS"}));
  if (stored.record.cors_rules.empty()) {
    return Error(ErrorCode::kNoSuchCorsConfiguration, "The CORS configuration does not exist")
        .WithField("BucketName", std::string(bucket));
  }
  return std::move(stored.record.cors_rules);
}

Status S3Service::DeleteBucketCors(const auth::RequestContext& ctx, std::string_view bucket) {
  return UpdateBucketAs(ctx, bucket, "s3:PutBucketCORS", [](BucketRecord& b) {
           b.cors_rules.clear();
           return Status::Ok();
         })
      .status();
}

Result<std::vector<CorsRule>> S3Service::CorsRulesOf(std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, repository_.GetBucket(bucket));
  if (!stored || stored->record.deleting) {
    return Error(ErrorCode::kNoSuchBucket, "The specified bucket does not exist");
  }
  return std::move(stored->record.cors_rules);
}

}  // namespace hangar::s3
