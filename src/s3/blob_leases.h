#pragma once
// BlobLeases: which blobs a response is still streaming. An object overwritten or deleted while a
// long GET reads it releases its blobs to the garbage collector after a grace time; a lease makes
// the collector wait until the reader is done instead of cutting the response mid-stream.
// Thread-safe.

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace hangar::s3 {

class BlobLeases {
 public:
  // Holds the blobs until destroyed.
  class Lease {
   public:
    Lease(BlobLeases& leases, std::vector<std::string> blob_ids);
    ~Lease();
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;

   private:
    BlobLeases& leases_;
    const std::vector<std::string> blob_ids_;
  };

  std::unique_ptr<Lease> Take(std::vector<std::string> blob_ids) {
    return std::make_unique<Lease>(*this, std::move(blob_ids));
  }
  bool InUse(const std::string& blob_id) const;

 private:
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> readers_;  // protected by mu_
};

}  // namespace hangar::s3
