#pragma once
// RadosBlobStore: blobs as RADOS objects in one Ceph pool, for cluster mode (`--blobs rados://…`).
// The bytes arriving here are already encrypted (encrypted_blob.h); RADOS only keeps them.
//
//   <id>.0, <id>.1 …  the blob's bytes, striped over objects of the stripe size (the last one
//                     shorter). <id>.0 always exists and is the head: once the blob is committed
//                     it carries the xattr "hangar.layout" = "v1 <size> <stripe size>".
//   hangar.staged     an omap index, key <id> → creation time: the blobs not yet published.
//
// States: a writer adds <id> to hangar.staged before it writes a byte, so a crashed upload is
// always listed by ListStaged() and recovery deletes it. Commit() makes the head's layout durable:
// from then on the blob is readable. Publish() removes the index entry; a published blob is a
// committed head that hangar.staged does not list. Deletion removes the stripes from the last to
// the head, and the index entry last, so an interrupted deletion is found and finished again.
//
// Why the published set has no index: an omap of every blob in one object would be written by
// every Publish and Delete and grow without bound (Ceph warns past 200,000 keys), while only the
// orphan sweep needs the set. So ForEachPublished() lists the pool, which costs one pass over all
// objects, and hangar.staged stays as small as the number of uploads in progress.
//
// Every write is acknowledged by the OSDs only once it is durable on them, so DeleteDurably() is
// Delete() of each blob. Errors are kInternal naming the pool, the object and librados' error text.
// Thread-safety: as BlobStore. Writers and readers share the cluster connection with the store and
// may outlive it.

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "store/blob_store.h"
#include "store/rados/rados_config.h"

namespace hangar::store {

struct RadosConnection;  // the librados cluster and pool handles (rados_blob_store.cc)

class RadosBlobStore final : public BlobStore {
 public:
  // Connects as client.<client_id>, creating the pool (and tagging it with the application
  // "hangar") if it does not exist. Errors: kValidation for a bad stripe size or writer depth,
  // kInternal when the config cannot be read, the cluster cannot be reached or the pool created.
  static Result<std::unique_ptr<RadosBlobStore>> Open(const RadosConfig& config);
  ~RadosBlobStore() override;

  Result<std::unique_ptr<BlobWriter>> Create() override;
  Result<std::unique_ptr<BlobWriter>> CreateWithId(std::string_view id) override;
  Result<std::unique_ptr<BlobReader>> Open(std::string_view id) override;
  Status Publish(std::string_view id) override;
  Status Delete(std::string_view id) override;
  Status DeleteDurably(const std::vector<std::string>& ids) override;
  // Only blobs staged at least RadosConfig::staged_grace_seconds ago (other nodes' uploads in
  // flight are younger).
  Result<std::vector<std::string>> ListStaged() override;
  Status ForEachPublished(
      const std::function<void(std::string_view id, TimePoint written)>& visit) override;

  // The object names of a blob's stripe `index` and of the staged index (for tests and tools).
  static std::string StripeObject(std::string_view id, uint64_t index);
  static constexpr std::string_view kStagedIndexObject = "hangar.staged";

 private:
  RadosBlobStore(std::shared_ptr<RadosConnection> connection, const RadosConfig& config);

  const std::shared_ptr<RadosConnection> connection_;
  const size_t stripe_size_;
  const size_t max_in_flight_;
  const int staged_grace_seconds_;
};

}  // namespace hangar::store
