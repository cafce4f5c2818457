#include "s3/blob_leases.h"

namespace hangar::s3 {

BlobLeases::Lease::Lease(BlobLeases& leases, std::vector<std::string> blob_ids)
    : leases_(leases), blob_ids_(std::move(blob_ids)) {
  std::lock_guard lock(leases_.mu_);
  for (const auto& id : blob_ids_) ++leases_.readers_[id];
}

BlobLeases::Lease::~Lease() {
  std::lock_guard lock(leases_.mu_);
  for (const auto& id : blob_ids_) {
    auto it = leases_.readers_.find(id);
    if (it != leases_.readers_.end() && --it->second == 0) leases_.readers_.erase(it);
  }
}

bool BlobLeases::InUse(const std::string& blob_id) const {
  std::lock_guard lock(mu_);
  return readers_.contains(blob_id);
}

}  // namespace hangar::s3
