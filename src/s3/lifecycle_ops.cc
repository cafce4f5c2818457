// S3Service: lifecycle — the configuration calls, and the background pass that applies a bucket's
// rules on the lifecycle clock (docs/s3-lifecycle.md).
//
// Every action commits against the revision it read, so an object written while the pass runs is
// never expired in its place; a lost race is simply retried by the next pass. Locked versions are
// never removed (Object Lock wins over lifecycle, as on S3).

#include <spdlog/spdlog.h>

#include "audit/event.h"
#include "audit/sink.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "s3/s3_service.h"

namespace hangar::s3 {
namespace {

constexpr size_t kBatch = 500;
// Rules are evaluated at most this often (S3 runs them about once a day); the dev clock's advance
// runs the pass at once.
constexpr int64_t kLifecycleIntervalMs = 3600 * 1000;

bool Locked(const ObjectLock& lock, int64_t now_ms) {
  return lock.legal_hold == "ON" || (!lock.mode.empty() && lock.until_ms > now_ms);
}

}  // namespace

Status S3Service::PutBucketLifecycle(const auth::RequestContext& ctx, std::string_view bucket,
                                     LifecycleConfiguration configuration) {
  return UpdateBucketAs(ctx, bucket, "s3:PutLifecycleConfiguration",
                        [&](BucketRecord& b) {
                          b.lifecycle = configuration;
                          return Status::Ok();
                        })
      .status();
}

Result<LifecycleConfiguration> S3Service::GetBucketLifecycle(const auth::RequestContext& ctx,
                                                             std::string_view bucket) {
  HANGAR_ASSIGN_OR_RETURN(auto b, RequireBucket(ctx, bucket, {"s3:GetLifecycleConfiguration"}));
  if (!b.record.lifecycle) {
    return Error(ErrorCode::kNoSuchLifecycleConfiguration,
                 "The lifecycle configuration does not exist")
        .WithField("BucketName", std::string(bucket));
  }
  return *b.record.lifecycle;
}

Status S3Service::DeleteBucketLifecycle(const auth::RequestContext& ctx, std::string_view bucket) {
  // AWS authorises the deletion as s3:PutLifecycleConfiguration.
  return UpdateBucketAs(ctx, bucket, "s3:PutLifecycleConfiguration",
                        [](BucketRecord& b) {
                          b.lifecycle.reset();
                          return Status::Ok();
                        })
      .status();
}

std::optional<std::string> S3Service::ExpirationHeaderOf(const ObjectRecord& o) {
  auto b = repository_.GetBucket(o.bucket);
  if (!b.ok() || !*b || !(*b)->record.lifecycle || o.delete_marker) return std::nullopt;
  auto expiry =
      EarliestExpiry((*b)->record.lifecycle->rules, o.key, o.size, o.tags, o.last_modified_ms);
  if (!expiry) return std::nullopt;
  return "expiry-date=\"" + FormatHttpDate(FromUnixMillis(expiry->at_ms)) + "\", rule-id=\"" +
         UriEncode(expiry->rule_id, /*keep_slash=*/false) + "\"";
}

Result<int> S3Service::RunLifecycle(int64_t now_ms) {
  next_lifecycle_ms_ = now_ms + kLifecycleIntervalMs;
  HANGAR_ASSIGN_OR_RETURN(auto buckets, repository_.ListBuckets());
  int done = 0;
  for (const BucketRecord& b : buckets) {
    if (!b.lifecycle || b.deleting) continue;
    HANGAR_ASSIGN_OR_RETURN(int expired, ExpireCurrentVersions(b, now_ms));
    HANGAR_ASSIGN_OR_RETURN(int noncurrent, ExpireNoncurrentVersions(b, now_ms));
    HANGAR_ASSIGN_OR_RETURN(int aborted, AbortStaleUploads(b, now_ms));
    done += expired + noncurrent + aborted;
  }
  if (done > 0) spdlog::info("S3 lifecycle: {} actions", done);
  return done;
}

// Current versions past their Expiration: removed (unversioned) or hidden under a delete marker;
// delete markers with nothing left behind them, where ExpiredObjectDeleteMarker asks.
Result<int> S3Service::ExpireCurrentVersions(const BucketRecord& bucket, int64_t now_ms) {
  const auto& rules = bucket.lifecycle->rules;
  int done = 0;
  std::string after;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto docs,
                            repository_.ListObjectDocuments(bucket.name, "", after, kBatch));
    for (const auto& doc : docs) {
      after = doc.id;
      HANGAR_ASSIGN_OR_RETURN(ObjectRecord o, DecodeObject(doc.body));
      Stored<ObjectRecord> current{std::move(o), doc.revision};
      std::vector<store::Mutation> m;
      if (current.record.delete_marker) {
        bool wanted = std::any_of(rules.begin(), rules.end(), [&](const LifecycleRule& r) {
          return r.expired_object_delete_marker && RuleApplies(r, doc.id, 0, {});
        });
        if (!wanted) continue;
        HANGAR_ASSIGN_OR_RETURN(auto behind, repository_.ListKeyVersions(bucket.name, doc.id, 1));
        if (!behind.empty()) continue;
        HANGAR_RETURN_IF_ERROR(RecordLifecycleAction(bucket, "DeleteObject",
                                                     "ExpiredObjectDeleteMarker", doc.id,
                                                     current.record.wire_version_id()));
        m.push_back(S3Repository::DeleteObject(bucket.name, doc.id, doc.revision));
      } else {
        const ObjectRecord& c = current.record;
        auto expiry = EarliestExpiry(rules, c.key, c.size, c.tags, c.last_modified_ms);
        if (!expiry || now_ms < expiry->at_ms) continue;
        // As a DELETE without a version id: a marker in a versioned bucket, else the object goes.
        HANGAR_RETURN_IF_ERROR(
            RecordLifecycleAction(bucket, "DeleteObject", "Expiration", doc.id, ""));
        ObjectRecord marker;
        marker.bucket = bucket.name;
        marker.key = doc.id;
        marker.delete_marker = true;
        marker.last_modified_ms = now_ms;
        if (bucket.versioned()) {
          HANGAR_ASSIGN_OR_RETURN(m, ReplaceCurrent(bucket, marker, current));
        } else {
          m.push_back(S3Repository::DeleteObject(bucket.name, doc.id, doc.revision));
          for (const auto& seg : c.segments) {
            for (auto& r : S3Repository::ReleaseBlob(seg.blob_id, GarbageDue()))
              m.push_back(std::move(r));
          }
        }
      }
      Status s = repository_.Commit(m);
      if (s.ok())
        ++done;
      else if (s.code() != ErrorCode::kConflict)
        return s;
    }
    if (docs.size() < kBatch) return done;
  }
}

// Noncurrent versions past NoncurrentDays (counted from when the next version replaced them),
// beyond the NewerNoncurrentVersions newest ones; never a locked one.
Result<int> S3Service::ExpireNoncurrentVersions(const BucketRecord& bucket, int64_t now_ms) {
  const auto& rules = bucket.lifecycle->rules;
  if (std::none_of(rules.begin(), rules.end(),
                   [](const LifecycleRule& r) { return r.enabled && r.noncurrent_days; })) {
    return 0;
  }
  int done = 0;
  std::string after, key;
  int64_t successor_stamp = 0;
  int newer = 0;  // noncurrent versions of `key` newer than this one
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto docs,
                            repository_.ListVersionDocuments(bucket.name, "", after, kBatch));
    for (const auto& doc : docs) {
      after = doc.id;
      HANGAR_ASSIGN_OR_RETURN(ObjectRecord v, DecodeObject(doc.body));
      if (v.key != key) {
        key = v.key;
        newer = 0;
        HANGAR_ASSIGN_OR_RETURN(auto current, repository_.GetObject(bucket.name, key));
        successor_stamp = current ? current->record.stamp() : v.stamp();
      }
      const int64_t noncurrent_since_ms = successor_stamp / 1000;
      successor_stamp = v.stamp();
      const int index = newer++;
      bool expire = false;
      for (const LifecycleRule& r : rules) {
        if (!r.noncurrent_days || !RuleApplies(r, v.key, v.size, v.tags)) continue;
        if (index < r.newer_noncurrent_versions.value_or(0)) continue;
        if (now_ms >= LifecycleDueMs(noncurrent_since_ms, *r.noncurrent_days)) expire = true;
      }
      if (!expire || Locked(v.lock, now_ms)) continue;
      HANGAR_RETURN_IF_ERROR(RecordLifecycleAction(
          bucket, "DeleteObject", "NoncurrentVersionExpiration", v.key, v.wire_version_id()));
      std::vector<store::Mutation> m = {S3Repository::DeleteVersion(v, doc.revision)};
      for (const auto& seg : v.segments) {
        for (auto& r : S3Repository::ReleaseBlob(seg.blob_id, GarbageDue()))
          m.push_back(std::move(r));
      }
      Status s = repository_.Commit(m);
      if (s.ok())
        ++done;
      else if (s.code() != ErrorCode::kConflict)
        return s;
    }
    if (docs.size() < kBatch) return done;
  }
}

Result<int> S3Service::AbortStaleUploads(const BucketRecord& bucket, int64_t now_ms) {
  int done = 0;
  for (const LifecycleRule& r : bucket.lifecycle->rules) {
    if (!r.enabled || !r.abort_after_days) continue;
    std::string key_marker, id_marker;
    for (;;) {
      HANGAR_ASSIGN_OR_RETURN(auto uploads, repository_.ListUploads(bucket.name, r.filter.prefix,
                                                                    key_marker, id_marker, kBatch));
      for (const auto& u : uploads) {
        key_marker = u.key;
        id_marker = u.upload_id;
        if (now_ms < LifecycleDueMs(u.initiated_ms, *r.abort_after_days)) continue;
        HANGAR_RETURN_IF_ERROR(RecordLifecycleAction(
            bucket, "AbortMultipartUpload", "AbortIncompleteMultipartUpload", u.key, u.upload_id));
        Status s = AbortUpload(u.bucket, u.key, u.upload_id);
        if (s.ok())
          ++done;
        else if (s.code() != ErrorCode::kNoSuchUpload)
          return s;
      }
      if (uploads.size() < kBatch) break;
    }
  }
  return done;
}

// Recorded before the action commits, so that nothing happens unrecorded (a conflict that then
// keeps the action from committing leaves a record of an attempt, retried on the next pass).
Status S3Service::RecordLifecycleAction(const BucketRecord& bucket, std::string_view event_name,
                                        std::string_view lifecycle_action, std::string_view key,
                                        std::string_view version_or_upload) {
  if (audit_ == nullptr) return Status::Ok();
  audit::AuditEvent e;
  e.event_time = clock_.Now();
  e.event_id = NewRequestId();
  e.event_type = "AwsServiceEvent";
  e.event_source = "s3.amazonaws.com";
  e.event_name = std::string(event_name);
  e.region = bucket.region;
  e.account_id = bucket.owner_account;
  e.source_ip = "AWS Internal";
  e.user_agent = "AWS Internal";
  const bool upload = event_name == "AbortMultipartUpload";
  JsonObjectWriter params(e.request_parameters);
  params.String("bucketName", bucket.name);
  params.String("key", key);
  if (!version_or_upload.empty())
    params.String(upload ? "uploadId" : "versionId", version_or_upload);
  params.Finish();
  JsonObjectWriter extra(e.additional_event_data);
  extra.String("lifecycleAction", lifecycle_action);
  extra.Finish();
  e.request_id = NewRequestId();
  e.management_event = false;  // object-level, as S3's data events
  e.resources.push_back({"AWS::S3::Object", "arn:aws:s3:::" + bucket.name + "/" + std::string(key),
                         bucket.owner_account});
  e.resources.push_back({"AWS::S3::Bucket", "arn:aws:s3:::" + bucket.name, bucket.owner_account});
  e.recipient_account_id = bucket.owner_account;
  return audit_->Record(e);
}

}  // namespace hangar::s3
