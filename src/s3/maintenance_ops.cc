// S3Service: what keeps storage honest between requests — crash recovery before serving, the
// garbage collector, the abandoned-upload reaper and the orphan sweep.

#include <spdlog/spdlog.h>

#include "s3/s3_service.h"

namespace hangar::s3 {
namespace {

constexpr size_t kGarbageBatch = 500;
// How often (on the lifecycle clock) the whole blob directory is checked for orphans: it walks
// every published blob, so it runs rarely; at start-up too.
constexpr std::chrono::hours kSweepInterval{6};

}  // namespace

// 1. Staged blobs: publish those committed metadata names, delete the rest (writes that never
//    committed). 2. Buckets a crash left marked "deleting": the delete was never acknowledged,
//    so they become ordinary buckets again. 3. Sweep published blobs for orphans.
Status S3Service::Recover() {
  HANGAR_ASSIGN_OR_RETURN(auto staged, blobs_.ListStaged());
  int published = 0, removed = 0;
  for (const auto& id : staged) {
    HANGAR_ASSIGN_OR_RETURN(bool referenced, repository_.IsBlobReferenced(id));
    if (referenced) {
      HANGAR_RETURN_IF_ERROR(blobs_.Publish(id));
      ++published;
    } else {
      // Bytes of a write that never committed: nobody can see them, nobody will.
      HANGAR_RETURN_IF_ERROR(blobs_.Delete(id));
      ++removed;
    }
  }
  if (published + removed > 0) {
    spdlog::info("S3 recovery: published {} blobs, removed {} from interrupted writes", published,
                 removed);
  }
  HANGAR_ASSIGN_OR_RETURN(auto buckets, repository_.ListBuckets());
  for (const auto& b : buckets) {
    if (!b.deleting) continue;
    HANGAR_ASSIGN_OR_RETURN(auto stored, repository_.GetBucket(b.name));
    if (!stored) continue;
    stored->record.deleting = false;
    HANGAR_RETURN_IF_ERROR(
        repository_.Commit({S3Repository::UpdateBucket(stored->record, stored->revision)}));
  }
  HANGAR_ASSIGN_OR_RETURN(int orphans, SweepOrphans());
  if (orphans > 0) spdlog::info("S3 recovery: removed {} orphaned blobs", orphans);
  return Status::Ok();
}

Result<int> S3Service::RunMaintenance() {
  const int64_t now = ToUnixMillis(clock_.Now());
  int done = 0;
  HANGAR_ASSIGN_OR_RETURN(int collected, CollectGarbage(now));
  done += collected;
  // Uploads nobody completed or aborted in time.
  HANGAR_ASSIGN_OR_RETURN(auto abandoned, repository_.ListAbandonedUploads(now, 100));
  for (const auto& u : abandoned) {
    Status s = AbortUpload(u.bucket, u.key, u.upload_id);
    if (!s.ok() && s.code() != ErrorCode::kNoSuchUpload && s.code() != ErrorCode::kNoSuchBucket) {
      return s;
    }
    ++done;
  }
  HANGAR_ASSIGN_OR_RETURN(int forgotten, repository_.ForgetCompletedUploads(now, 1000));
  done += forgotten;
  if (now >= next_lifecycle_ms_.load()) {
    HANGAR_ASSIGN_OR_RETURN(int expired, RunLifecycle(now));
    done += expired;
  }
  if (now >= next_sweep_ms_.load()) {
    HANGAR_ASSIGN_OR_RETURN(int orphans, SweepOrphans());
    done += orphans;
  }
  return done;
}

// Blobs nothing refers to any more, once their grace time has passed — except those a response is
// still streaming (BlobLeases): their deletion moves on by another grace time. Each batch is
// unlinked durably before the records that name it are forgotten.
Result<int> S3Service::CollectGarbage(int64_t now) {
  int done = 0;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto garbage, repository_.ListDueGarbage(now, kGarbageBatch));
    if (garbage.empty()) break;
    std::vector<std::string> doomed;
    std::vector<store::Mutation> m;
    for (const auto& id : garbage) {
      if (leases_.InUse(id)) {
        m.push_back(S3Repository::PostponeGarbage(id, GarbageDue()));
        continue;
      }
      doomed.push_back(id);
      m.push_back(S3Repository::ForgetGarbage(id));
    }
    HANGAR_RETURN_IF_ERROR(blobs_.DeleteDurably(doomed));
    HANGAR_RETURN_IF_ERROR(repository_.Commit(m));
    done += static_cast<int>(doomed.size());
    if (garbage.size() < kGarbageBatch) break;
  }
  return done;
}

// Published blobs no record refers to and no collection is scheduled for (a crash between an
// unlink and its directory sync, a lost metadata write) would stay forever: remove those older
// than the grace time. Young ones may belong to a write whose commit is just landing.
Result<int> S3Service::SweepOrphans() {
  next_sweep_ms_ = ToUnixMillis(clock_.Now()) +
                   std::chrono::duration_cast<std::chrono::milliseconds>(kSweepInterval).count();
  // A file's age is a wall-clock fact, whatever the lifecycle clock says.
  const TimePoint written_before = std::chrono::system_clock::now() - options_.garbage_grace;
  std::vector<std::string> candidates;
  HANGAR_RETURN_IF_ERROR(blobs_.ForEachPublished([&](std::string_view id, TimePoint written) {
    if (written < written_before) candidates.emplace_back(id);
  }));
  std::vector<std::string> orphans;
  for (const auto& id : candidates) {
    HANGAR_ASSIGN_OR_RETURN(bool referenced, repository_.IsBlobReferenced(id));
    if (referenced) continue;
    HANGAR_ASSIGN_OR_RETURN(bool scheduled, repository_.IsGarbage(id));
    if (scheduled || leases_.InUse(id)) continue;
    orphans.push_back(id);
  }
  HANGAR_RETURN_IF_ERROR(blobs_.DeleteDurably(orphans));
  return static_cast<int>(orphans.size());
}

}  // namespace hangar::s3
