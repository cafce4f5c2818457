#include "app/cluster_coherence.h"

namespace hangar::app {

Status ClusterCoherence::Sync() {
  auto epoch = store_.ChangeEpoch();
  if (!epoch.ok()) {
    return Error(ErrorCode::kNodeOutOfStep,
                 "This node cannot check its caches against the cluster's metadata (" +
                     epoch.status().message() + "); it serves nothing until it can.");
  }
  // Under the lock: a request that reads the same epoch meanwhile waits here until the caches are
  // gone, rather than finding seen_ moved and serving from them.
  std::lock_guard lock(mu_);
  // Epochs only grow: a smaller one was read before a larger one already acted on.
  if (*epoch <= seen_) return Status::Ok();
  // Dropped after the epoch was read: what is loaded from now on is at least that recent.
  for (const auto& invalidate : invalidators_) invalidate();
  seen_ = *epoch;
  ++invalidations_;
  return Status::Ok();
}

uint64_t ClusterCoherence::invalidations() const {
  std::lock_guard lock(mu_);
  return invalidations_;
}

}  // namespace hangar::app
