#pragma once
// ClusterCoherence: keeps a cluster node's caches (keys, aliases, grants, identities, buckets) in
// step with what the other nodes commit. Before each request the node reads the shared store's
// change epoch (MetadataStore::ChangeEpoch), which every commit of a cached document moves in its
// own transaction; when it moved since the last look, every cache is dropped. So once a change
// (DisableKey, a policy, an access key deactivated) has returned on one node, the next request on
// any node obeys it. A node that cannot read the epoch serves nothing until it can
// (docs/cluster.md, "Caches across nodes").
// Thread-safe.

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "common/status.h"
#include "store/metadata_store.h"

namespace hangar::app {

class ClusterCoherence {
 public:
  // `invalidators` each drop one cache; they run under this object's lock (never call back into
  // it), possibly concurrently with requests that use the caches.
  ClusterCoherence(store::MetadataStore& store, std::vector<std::function<void()>> invalidators)
      : store_(store), invalidators_(std::move(invalidators)) {}

  // Errors: kNodeOutOfStep when the epoch cannot be read.
  Status Sync();

  // Cache drops so far (tests).
  uint64_t invalidations() const;

 private:
  store::MetadataStore& store_;
  const std::vector<std::function<void()>> invalidators_;
  mutable std::mutex mu_;
  int64_t seen_ = -1;          // the largest epoch acted on; protected by mu_
  uint64_t invalidations_ = 0;  // protected by mu_
};

}  // namespace hangar::app
