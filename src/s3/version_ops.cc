// S3Service: versioning — the bucket's state, finding a version, the swap that keeps or releases
// the replaced version, delete markers and deleting versions for good (docs/s3-versioning.md).
//
// A key's current version (possibly a delete marker) is its s3.object document; every versioned
// write to a key replaces that document at a known revision, so concurrent writers to one key
// serialise there, and the noncurrent versions (s3.version) change only under that protection or
// by a revision-checked delete of their own document.

#include <algorithm>

#include "common/strings.h"

#include "s3/object_rules.h"
#include "s3/s3_service.h"
#include "s3/version_id.h"

namespace hangar::s3 {
namespace {

Status InvalidVersionId(std::string_view version_id) {
  if (version_id.empty()) {
    return Error(ErrorCode::kValidation, "Version id cannot be the empty string")
        .WithField("ArgumentName", "versionId")
        .WithField("ArgumentValue", "");
  }
  return Error(ErrorCode::kValidation, "Invalid version id specified")
      .WithField("ArgumentName", "versionId")
      .WithField("ArgumentValue", std::string(version_id));
}

// s3:GetObject -> s3:GetObjectVersion, s3:PutObjectTagging -> s3:PutObjectVersionTagging: the
// action AWS authorises when a request names a version. Retention and legal hold have no such
// form: they are authorised as themselves.
std::string VersionAction(std::string_view action) {
  static constexpr std::string_view kWithVersionForm[] = {
      "s3:GetObject",        "s3:GetObjectTagging", "s3:PutObjectTagging",
      "s3:DeleteObjectTagging", "s3:GetObjectAttributes", "s3:GetObjectAcl", "s3:PutObjectAcl"};
  std::string out(action);
  for (std::string_view a : kWithVersionForm) {
    if (a == action) return out.insert(out.find("Object") + 6, "Version");
  }
  return out;
}

bool IsObjectLockAction(std::string_view action) {
  return action == "s3:PutObjectRetention" || action == "s3:GetObjectRetention" ||
         action == "s3:PutObjectLegalHold" || action == "s3:GetObjectLegalHold";
}

std::string HttpMethodOf(std::string_view action) {
  if (action.find(":Put") != std::string_view::npos) return "PUT";
  if (action.find(":Delete") != std::string_view::npos) return "DELETE";
  return "GET";
}

void AppendRelease(std::vector<store::Mutation>& m, const ObjectRecord& gone,
                   const ObjectRecord* successor, int64_t due_ms) {
  for (const auto& seg : gone.segments) {
    bool reused = successor != nullptr &&
                  std::any_of(successor->segments.begin(), successor->segments.end(),
                              [&](const Segment& s) { return s.blob_id == seg.blob_id; });
    if (reused) continue;
    for (auto& r : S3Repository::ReleaseBlob(seg.blob_id, due_ms)) m.push_back(std::move(r));
  }
}

}  // namespace

Status ValidateVersionId(std::string_view version_id) {
  if (version_id == kNullVersionId || VersionIdStamp(version_id)) return Status::Ok();
  return InvalidVersionId(version_id);
}

Status DeleteMarkerAnswer(const ObjectRecord& marker, bool named, std::string_view action) {
  Status s = named ? Error(ErrorCode::kMethodNotAllowed,
                           "The specified method is not allowed against this resource.")
                         .WithField("Method", HttpMethodOf(action))
                         .WithField("ResourceType", "DeleteMarker")
                   : Error(ErrorCode::kNoSuchKey, "The specified key does not exist.")
                         .WithField("Key", marker.key);
  s.WithHeader("x-amz-delete-marker", "true").WithHeader("x-amz-version-id",
                                                         marker.wire_version_id());
  if (named) {
    s.WithHeader("Allow", "DELETE")
        .WithHeader("Last-Modified", FormatHttpDate(FromUnixMillis(marker.last_modified_ms)));
  }
  return s;
}

Status S3Service::PutBucketVersioning(const auth::RequestContext& ctx, std::string_view bucket,
                                      const VersioningConfiguration& configuration) {
  if (configuration.mfa_delete == "Enabled") {
    // MFA Delete needs an MFA device's code on every change; Hangar has no MFA devices, so such a
    // request can never carry a valid one (docs/s3-versioning.md).
    return Error(ErrorCode::kAccessDenied, "Mfa Authentication must be used for this request");
  }
  return UpdateBucketAs(ctx, bucket, "s3:PutBucketVersioning", [&](BucketRecord& b) -> Status {
           if (configuration.status == "Suspended" && b.object_lock_enabled) {
             return Error(ErrorCode::kInvalidBucketState,
                          "An Object Lock configuration is present on this bucket, so the "
                          "versioning state cannot be changed.");
           }
           b.versioning = configuration.status;
           if (!configuration.mfa_delete.empty()) b.mfa_delete = configuration.mfa_delete;
           return Status::Ok();
         })
      .status();
}

Result<VersioningConfiguration> S3Service::GetBucketVersioning(const auth::RequestContext& ctx,
                                                               std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto b, RequireBucket(ctx, bucket, {"s3:GetBucketVersioning"}));
  return VersioningConfiguration{b.record.versioning, b.record.mfa_delete};
}

Result<std::optional<std::string>> S3Service::VersionHeaderOf(const ObjectRecord& o) {
  if (!o.version_id.empty()) return std::optional<std::string>(o.version_id);
  HANGAR_ASSIGN_OR_RETURN(auto b, repository_.GetBucket(o.bucket));
  if (b && b->record.versioned()) return std::optional<std::string>(std::string(kNullVersionId));
  return std::optional<std::string>();
}

Result<std::optional<Stored<ObjectRecord>>> S3Service::FindNoncurrentNull(std::string_view bucket,
                                                                          std::string_view key) {
  // A key has at most one null version; finding a noncurrent one walks the key's history, which
  // only Suspended buckets and reads of ?versionId=null need.
  HANGAR_ASSIGN_OR_RETURN(auto versions, repository_.ListKeyVersions(bucket, key, SIZE_MAX));
  for (auto& v : versions) {
    if (v.record.version_id.empty()) return std::optional<Stored<ObjectRecord>>(std::move(v));
  }
  return std::optional<Stored<ObjectRecord>>();
}

Result<std::optional<S3Service::FoundVersion>> S3Service::FindVersion(std::string_view bucket,
                                                                      std::string_view key,
                                                                      std::string_view version_id) {
  const bool null_version = version_id == kNullVersionId;
  const std::string wanted = null_version ? "" : std::string(version_id);
  // A version moves between the current slot and the history only in a commit that also changes
  // the current slot. The two are read separately, so a miss counts only if the current slot is
  // unchanged after the history was read; otherwise the version may have moved under the lookup
  // (a delete promoting it, a write demoting it) and the lookup starts again.
  HANGAR_ASSIGN_OR_RETURN(auto current, repository_.GetObject(bucket, key));
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    if (current && current->record.version_id == wanted) {
      return std::optional<FoundVersion>(FoundVersion{std::move(*current), true});
    }
    std::optional<Stored<ObjectRecord>> found;
    if (null_version) {
      HANGAR_ASSIGN_OR_RETURN(found, FindNoncurrentNull(bucket, key));
    } else {
      HANGAR_ASSIGN_OR_RETURN(found,
                              repository_.GetVersion(bucket, key, *VersionIdStamp(version_id)));
      if (found && found->record.version_id != wanted) found.reset();
    }
    if (found) return std::optional<FoundVersion>(FoundVersion{std::move(*found), false});
    HANGAR_ASSIGN_OR_RETURN(auto again, repository_.GetObject(bucket, key));
    const bool unchanged = again.has_value() == current.has_value() &&
                           (!again || again->revision == current->revision);
    if (unchanged) return std::optional<FoundVersion>();
    current = std::move(again);
  }
  return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
}

Result<Stored<ObjectRecord>> S3Service::RequireObject(const auth::RequestContext& ctx,
                                                      std::string_view bucket,
                                                      std::string_view key,
                                                      std::string_view action,
                                                      const iam::ContextKeys& extra,
                                                      const std::optional<std::string>& version_id) {
  if (version_id) HANGAR_RETURN_IF_ERROR(ValidateVersionId(*version_id));
  // The object is read before the caller is authorised, because policies may test its tags
  // (s3:ExistingObjectTag, aws:ResourceTag); whether it exists is said only after.
  std::optional<Stored<ObjectRecord>> stored;
  if (version_id) {
    HANGAR_ASSIGN_OR_RETURN(auto found, FindVersion(bucket, key, *version_id));
    if (found) stored = std::move(found->stored);
  } else {
    HANGAR_ASSIGN_OR_RETURN(stored, repository_.GetObject(bucket, key));
  }
  S3Request request{version_id ? VersionAction(action) : std::string(action), std::string(key),
                    extra};
  if (stored && !stored->record.delete_marker) {
    AddExistingObjectTags(request.keys, stored->record.tags);
    // Another account's object is governed by its ACL, except for Object Lock: retention and
    // legal holds keep versions from the bucket owner's deletes, so they stay the bucket's to
    // authorise, as when the lock was set with the write.
    if (!IsObjectLockAction(action)) {
      request.object_owner = stored->record.owner_account;
      if (stored->record.acl) request.object_acl = &*stored->record.acl;
    }
  }
  HANGAR_ASSIGN_OR_RETURN(auto b, RequireBucket(ctx, bucket, request));
  if (!stored && version_id) {
    return Error(ErrorCode::kNoSuchVersion, "The specified version does not exist.")
        .WithField("Key", std::string(key))
        .WithField("VersionId", *version_id);
  }
  if (!stored) {
    return Error(ErrorCode::kNoSuchKey, "The specified key does not exist.")
        .WithField("Key", std::string(key));
  }
  if (stored->record.delete_marker) {
    return DeleteMarkerAnswer(stored->record, version_id.has_value(), action);
  }
  return std::move(*stored);
}

Result<Stored<ObjectRecord>> S3Service::RequireCopySource(const auth::RequestContext& ctx,
                                                          const CopySource& source) {
  auto found = RequireObject(ctx, source.bucket, source.key, "s3:GetObject", {}, source.version_id);
  if (!found.ok() && found.status().code() == ErrorCode::kMethodNotAllowed) {
    return Error(ErrorCode::kInvalidRequest,
                 "The source of a copy request may not specifically refer to a delete marker by "
                 "version id.");
  }
  return found;
}

Result<std::vector<store::Mutation>> S3Service::ReplaceCurrent(
    const BucketRecord& bucket, ObjectRecord& record,
    const std::optional<Stored<ObjectRecord>>& current) {
  // Stamps grow along a key's history even if the clock steps back.
  const int64_t floor = current ? current->record.stamp() + 1 : 0;
  record.version_stamp = std::max(record.last_modified_ms * 1000, floor);
  record.version_id = bucket.versioning == "Enabled" ? NewVersionId(record.version_stamp) : "";
  std::vector<store::Mutation> m;
  m.push_back(S3Repository::PutObject(record, current ? current->revision : 0));
  const bool suspended = bucket.versioning == "Suspended";
  bool null_replaced = false;
  if (current) {
    // Unversioned buckets overwrite; Suspended ones overwrite only the null version.
    const bool keep = bucket.versioned() && !(suspended && current->record.version_id.empty());
    if (keep) {
      m.push_back(S3Repository::PutVersion(current->record));
    } else {
      AppendRelease(m, current->record, &record, GarbageDue());
      null_replaced = true;
    }
  }
  if (suspended && !null_replaced) {
    // The new null version replaces the key's older one, wherever it is in the history.
    HANGAR_ASSIGN_OR_RETURN(auto old_null, FindNoncurrentNull(record.bucket, record.key));
    if (old_null) {
      m.push_back(S3Repository::DeleteVersion(old_null->record, old_null->revision));
      AppendRelease(m, old_null->record, &record, GarbageDue());
    }
  }
  return m;
}

Result<DeleteOutput> S3Service::DeleteObject(const auth::RequestContext& ctx,
                                             std::string_view bucket, std::string_view key,
                                             const DeleteOptions& options) {
  if (options.bypass_header) {
    HANGAR_ASSIGN_OR_RETURN(auto b, repository_.GetBucket(bucket));
    if (b && !b->record.object_lock_enabled) {
      return Error(ErrorCode::kValidation,
                   "x-amz-bypass-governance-retention is only applicable to Object Lock enabled "
                   "buckets.")
          .WithField("ArgumentName", "x-amz-bypass-governance-retention");
    }
  }
  if (options.version_id) return DeleteVersion(ctx, bucket, key, options);
  iam::ContextKeys keys;
  if (options.if_match) keys["s3:if-match"] = {*options.if_match};
  HANGAR_ASSIGN_OR_RETURN(auto b,
                          RequireBucket(ctx, bucket, {"s3:DeleteObject", std::string(key), keys}));
  // A delete that names an ETag reveals it: it needs s3:GetObject on the object as well
  // (conditional-deletes), by the object's own ACL where another account owns it. Whether it
  // exists is the condition's to say.
  if (options.if_match) {
    auto readable = RequireObject(ctx, bucket, key, "s3:GetObject");
    if (!readable.ok() && readable.status().code() == ErrorCode::kAccessDenied) {
      return readable.status();
    }
  }
  if (b.record.versioned()) return AddDeleteMarker(ctx, b, key, options);
  return DeleteUnversioned(bucket, key, options);
}

// The delete's If-Match against the key's current object (a delete marker counts as none).
static Status CheckDeleteCondition(const std::optional<std::string>& if_match,
                                   const std::optional<Stored<ObjectRecord>>& current,
                                   std::string_view key) {
  if (!if_match) return Status::Ok();
  const bool live = current && !current->record.delete_marker;
  if (!live) {
    return Error(ErrorCode::kNoSuchKey, "The specified key does not exist.")
        .WithField("Key", std::string(key));
  }
  if (*if_match != "*" && !SameEtag(*if_match, current->record.etag)) {
    return PreconditionFailed("If-Match");
  }
  return Status::Ok();
}

Result<DeleteOutput> S3Service::DeleteUnversioned(std::string_view bucket, std::string_view key,
                                                  const DeleteOptions& options) {
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(auto current, repository_.GetObject(bucket, key));
    HANGAR_RETURN_IF_ERROR(CheckDeleteCondition(options.if_match, current, key));
    if (!current) return DeleteOutput{};  // deleting what is not there succeeds, as on S3
    std::vector<store::Mutation> m = {S3Repository::DeleteObject(bucket, key, current->revision)};
    AppendRelease(m, current->record, nullptr, GarbageDue());
    Status s = repository_.Commit(m);
    if (s.ok()) return DeleteOutput{};
    if (s.code() != ErrorCode::kConflict) return s;
    BackOffAfterConflict(attempt);
  }
  return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
}

Result<DeleteOutput> S3Service::AddDeleteMarker(const auth::RequestContext& ctx,
                                                const Stored<BucketRecord>& bucket,
                                                std::string_view key,
                                                const DeleteOptions& options) {
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    BucketRecord now;
    HANGAR_ASSIGN_OR_RETURN(store::Mutation guard,
                            BucketGuard(bucket.record.name, bucket.record.incarnation, &now));
    HANGAR_ASSIGN_OR_RETURN(auto current, repository_.GetObject(bucket.record.name, key));
    HANGAR_RETURN_IF_ERROR(CheckDeleteCondition(options.if_match, current, key));
    ObjectRecord marker;
    marker.bucket = bucket.record.name;
    marker.key = std::string(key);
    marker.delete_marker = true;
    marker.last_modified_ms = ToUnixMillis(ctx.now);
    HANGAR_ASSIGN_OR_RETURN(std::vector<store::Mutation> m, ReplaceCurrent(now, marker, current));
    m.push_back(std::move(guard));
    Status s = repository_.Commit(m);
    if (s.ok()) return DeleteOutput{true, marker.wire_version_id(), false};
    if (s.code() != ErrorCode::kConflict) return s;
    BackOffAfterConflict(attempt);
  }
  return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
}

Result<DeleteOutput> S3Service::DeleteVersion(const auth::RequestContext& ctx,
                                              std::string_view bucket, std::string_view key,
                                              const DeleteOptions& options) {
  const std::string& version_id = *options.version_id;
  HANGAR_RETURN_IF_ERROR(ValidateVersionId(version_id));
  HANGAR_RETURN_IF_ERROR(
      RequireBucket(ctx, bucket, {"s3:DeleteObjectVersion", std::string(key)}).status());
  for (int attempt = 0; attempt < kMaxCommitAttempts; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(auto found, FindVersion(bucket, key, version_id));
    // Removing a version that is not there succeeds, as removing a key that is not there does.
    if (!found) return DeleteOutput{false, version_id, true, true};
    const ObjectRecord& gone = found->stored.record;
    HANGAR_RETURN_IF_ERROR(CheckLockAllowsDelete(ctx, bucket, gone, options.bypass_governance));
    if (options.if_match && !gone.delete_marker && *options.if_match != "*" &&
        !SameEtag(*options.if_match, gone.etag)) {
      return PreconditionFailed("If-Match");
    }
    std::vector<store::Mutation> m;
    if (!found->current) {
      m.push_back(S3Repository::DeleteVersion(gone, found->stored.revision));
    } else {
      // The next newest version, marker or not, becomes current.
      HANGAR_ASSIGN_OR_RETURN(auto next, repository_.ListKeyVersions(bucket, key, 1));
      if (next.empty()) {
        m.push_back(S3Repository::DeleteObject(bucket, key, found->stored.revision));
      } else {
        m.push_back(S3Repository::DeleteVersion(next[0].record, next[0].revision));
        m.push_back(S3Repository::PutObject(next[0].record, found->stored.revision));
      }
    }
    AppendRelease(m, gone, nullptr, GarbageDue());
    Status s = repository_.Commit(m);
    if (s.ok()) return DeleteOutput{gone.delete_marker, version_id, true};
    if (s.code() != ErrorCode::kConflict) return s;
    BackOffAfterConflict(attempt);
  }
  return Error(ErrorCode::kSlowDown, "Please reduce your request rate.");
}

}  // namespace hangar::s3
