// S3Service: Object Lock — the bucket's configuration, a version's retention and legal hold, and
// the rules that keep a locked version from being removed (docs/s3-object-lock.md).
//
// Locks protect versions, not keys: a DELETE without a version id still adds a delete marker.
// COMPLIANCE retention cannot be shortened or removed by anyone, the account root included;
// GOVERNANCE can, with x-amz-bypass-governance-retention and s3:BypassGovernanceRetention.

#include "common/strings.h"
#include "s3/object_rules.h"
#include "s3/s3_service.h"

namespace hangar::s3 {
namespace {

constexpr int64_t kDayMs = 86'400'000;

Status ProtectedByLock() {
  return Error(ErrorCode::kAccessDenied, "Access Denied because object protected by object lock.");
}

Status MissingLockConfiguration() {
  return Error(ErrorCode::kInvalidRequest, "Bucket is missing Object Lock Configuration");
}

bool RetentionActive(const ObjectLock& lock, int64_t now_ms) {
  return !lock.mode.empty() && lock.until_ms > now_ms;
}

}  // namespace

Result<ObjectRecord> S3Service::UpdateVersion(const auth::RequestContext& ctx, std::string_view bucket,
                                std::string_view key, const std::optional<std::string>& version_id,
                                std::string_view action, const iam::ContextKeys& extra,
                                const std::function<Status(ObjectRecord&)>& change) {
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(auto stored,
                            RequireObject(ctx, bucket, key, action, extra, version_id));
    HANGAR_RETURN_IF_ERROR(change(stored.record));
    // The version is current if the current slot holds it. Its revision alone does not say so:
    // the write that demoted it stored the new current version in the same commit, at the same
    // revision.
    HANGAR_ASSIGN_OR_RETURN(auto current, repository_.GetObject(bucket, key));
    const bool is_current = current && current->revision == stored.revision &&
                            current->record.version_id == stored.record.version_id;
    Status s = repository_.Commit({is_current
                                       ? S3Repository::PutObject(stored.record, stored.revision)
                                       : S3Repository::PutVersion(stored.record, stored.revision)});
    if (s.ok()) return std::move(stored.record);
    if (s.code() != ErrorCode::kConflict) return s;
    BackOffAfterConflict(attempt);
  }
  return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
}

Result<ObjectLock> S3Service::LockForWrite(const auth::RequestContext& ctx,
                                           const BucketRecord& bucket, std::string_view key,
                                           const LockRequest& request,
                                           std::optional<bool> has_integrity) {
  if (request.any() && !bucket.object_lock_enabled) {
    return Error(ErrorCode::kInvalidRequest, "Bucket is missing ObjectLockConfiguration");
  }
  if (!request.mode.empty()) {
    HANGAR_RETURN_IF_ERROR(
        RequireBucket(ctx, bucket.name, {"s3:PutObjectRetention", std::string(key)}).status());
  }
  if (!request.legal_hold.empty()) {
    HANGAR_RETURN_IF_ERROR(
        RequireBucket(ctx, bucket.name, {"s3:PutObjectLegalHold", std::string(key)}).status());
  }
  ObjectLock lock{request.mode, request.until_ms, request.legal_hold};
  const DefaultRetention& rule = bucket.default_retention;
  if (has_integrity && !*has_integrity && (request.any() || !rule.mode.empty())) {
    return Error(ErrorCode::kInvalidRequest,
                 "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests "
                 "with Object Lock parameters");
  }
  if (lock.mode.empty() && !rule.mode.empty()) {
    // Creation time plus the period, not rounded (s3-data-protection.md §2.3).
    lock.mode = rule.mode;
    const int64_t days = rule.days > 0 ? rule.days : int64_t{rule.years} * 365;
    lock.until_ms = ToUnixMillis(ctx.now) + days * kDayMs;
  }
  return lock;
}

std::optional<KmsGateway::KeyStatus> S3Service::LockedKeyStatus(const auth::RequestContext& ctx,
                                                                const ObjectRecord& o) {
  const bool locked = o.lock.legal_hold == "ON" || RetentionActive(o.lock, ToUnixMillis(ctx.now));
  if (!locked) return std::nullopt;
  auto status = sse_.KmsKeyStatus(ctx, o.encryption);
  if (!status || status->state == "Enabled") return std::nullopt;
  return status;
}

Status S3Service::CheckLockAllowsDelete(const auth::RequestContext& ctx, std::string_view bucket,
                                        const ObjectRecord& version, bool bypass_governance) {
  if (version.lock.legal_hold == "ON") return ProtectedByLock();
  if (!RetentionActive(version.lock, ToUnixMillis(ctx.now))) return Status::Ok();
  if (version.lock.mode != "GOVERNANCE" || !bypass_governance) return ProtectedByLock();
  Status allowed =
      RequireBucket(ctx, bucket, {"s3:BypassGovernanceRetention", version.key}).status();
  return allowed.ok() ? Status::Ok() : ProtectedByLock();
}

Status S3Service::PutObjectLockConfiguration(const auth::RequestContext& ctx,
                                             std::string_view bucket,
                                             const ObjectLockConfiguration& configuration) {
  return UpdateBucketAs(ctx, bucket, "s3:PutBucketObjectLockConfiguration",
                        [&](BucketRecord& b) -> Status {
                          if (!b.object_lock_enabled && b.versioning != "Enabled") {
                            return Error(ErrorCode::kInvalidBucketState,
                                         "Versioning must be 'Enabled' on the bucket to apply a "
                                         "Object Lock configuration");
                          }
                          b.object_lock_enabled = true;
                          b.default_retention = configuration.rule;
                          return Status::Ok();
                        })
      .status();
}

Result<ObjectLockConfiguration> S3Service::GetObjectLockConfiguration(
    const auth::RequestContext& ctx, std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto b,
                          RequireBucket(ctx, bucket, {"s3:GetBucketObjectLockConfiguration"}));
  if (!b.record.object_lock_enabled) {
    return Error(ErrorCode::kObjectLockConfigurationNotFound,
                 "Object Lock configuration does not exist for this bucket")
        .WithField("BucketName", std::string(bucket));
  }
  return ObjectLockConfiguration{true, b.record.default_retention};
}

Status S3Service::PutObjectRetention(const auth::RequestContext& ctx, std::string_view bucket,
                                     std::string_view key,
                                     const std::optional<std::string>& version_id,
                                     const ObjectLock& retention, bool bypass_governance) {
  HANGAR_ASSIGN_OR_RETURN(auto b, repository_.GetBucket(bucket));
  if (b && !b->record.object_lock_enabled) return MissingLockConfiguration();
  const int64_t now_ms = ToUnixMillis(ctx.now);
  if (!retention.mode.empty() && retention.until_ms <= now_ms) {
    return Error(ErrorCode::kValidation, "The retain until date must be in the future!")
        .WithField("ArgumentName", "RetainUntilDate")
        .WithField("ArgumentValue", FormatIso8601(FromUnixMillis(retention.until_ms), true));
  }
  return UpdateVersion(ctx, bucket, key, version_id, "s3:PutObjectRetention", {},
                       [&](ObjectRecord& o) -> Status {
    const ObjectLock& now_lock = o.lock;
    const bool weakens = retention.mode.empty() || retention.until_ms < now_lock.until_ms ||
                         (now_lock.mode == "COMPLIANCE" && retention.mode != "COMPLIANCE");
    if (RetentionActive(now_lock, now_ms) && weakens) {
      if (now_lock.mode == "COMPLIANCE" || !bypass_governance) return ProtectedByLock();
      Status allowed = RequireBucket(ctx, bucket, {"s3:BypassGovernanceRetention", o.key}).status();
      if (!allowed.ok()) return ProtectedByLock();
    }
    o.lock.mode = retention.mode;
    o.lock.until_ms = retention.mode.empty() ? 0 : retention.until_ms;
    return Status::Ok();
  }).status();
}

Result<ObjectLock> S3Service::GetObjectRetention(const auth::RequestContext& ctx,
                                                 std::string_view bucket, std::string_view key,
                                                 const std::optional<std::string>& version_id) {
  HANGAR_ASSIGN_OR_RETURN(auto b, repository_.GetBucket(bucket));
  if (b && !b->record.object_lock_enabled) return MissingLockConfiguration();
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireObject(ctx, bucket, key, "s3:GetObjectRetention",
                                                     {}, version_id));
  if (stored.record.lock.mode.empty()) {
    return Error(ErrorCode::kNoSuchObjectLockConfiguration,
                 "The specified object does not have a ObjectLock configuration");
  }
  return stored.record.lock;
}

Status S3Service::PutObjectLegalHold(const auth::RequestContext& ctx, std::string_view bucket,
                                     std::string_view key,
                                     const std::optional<std::string>& version_id,
                                     const std::string& status) {
  HANGAR_ASSIGN_OR_RETURN(auto b, repository_.GetBucket(bucket));
  if (b && !b->record.object_lock_enabled) return MissingLockConfiguration();
  return UpdateVersion(ctx, bucket, key, version_id, "s3:PutObjectLegalHold", {},
                       [&](ObjectRecord& o) {
                         o.lock.legal_hold = status;
                         return Status::Ok();
                       })
      .status();
}

Result<std::string> S3Service::GetObjectLegalHold(const auth::RequestContext& ctx,
                                                  std::string_view bucket, std::string_view key,
                                                  const std::optional<std::string>& version_id) {
  HANGAR_ASSIGN_OR_RETURN(auto b, repository_.GetBucket(bucket));
  if (b && !b->record.object_lock_enabled) return MissingLockConfiguration();
  HANGAR_ASSIGN_OR_RETURN(auto stored, RequireObject(ctx, bucket, key, "s3:GetObjectLegalHold",
                                                     {}, version_id));
  if (stored.record.lock.legal_hold.empty()) {
    return Error(ErrorCode::kNoSuchObjectLockConfiguration,
                 "The specified object does not have a ObjectLock configuration");
  }
  return stored.record.lock.legal_hold;
}

}  // namespace hangar::s3
