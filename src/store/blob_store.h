#pragma once
// BlobStore: where object bytes live. Blobs are immutable: written once through a BlobWriter,
// read at any offset, deleted when nothing refers to them. The metadata store is the single source
// of truth about which blobs are in use; the blob store only keeps bytes durable.
//
// The life of a blob, and why:
//   1. Create() → BlobWriter::Append()... → Commit(): the bytes are durable but *staged* — a crash
//      now leaves a staged blob that recovery deletes unless metadata refers to it.
//   2. The caller commits metadata that refers to the blob id.
//   3. Publish(id): the blob joins the published set. A crash between 2 and 3 is repaired by
//      recovery, which publishes staged blobs that metadata refers to.
// Readers find a blob whether it is staged or published.
//
// Implementations: FsBlobStore (files under the data directory), RadosBlobStore (a Ceph pool).
// Thread-safety: all methods may be called concurrently; a BlobWriter or BlobReader is used by one
// thread at a time.

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace hangar::store {

class BlobWriter {
 public:
  virtual ~BlobWriter() = default;  // an uncommitted writer removes what it wrote
  virtual Status Append(std::span<const char> data) = 0;
  // Makes the bytes durable and returns the blob id. The writer is spent afterwards.
  virtual Result<std::string> Commit() = 0;
  virtual uint64_t size() const = 0;
};

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual uint64_t size() const = 0;
  // Reads up to into.size() bytes at `offset`; 0 only at the end. Errors: kInternal.
  virtual Result<size_t> ReadAt(uint64_t offset, std::span<char> into) = 0;
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual Result<std::unique_ptr<BlobWriter>> Create() = 0;
  // Like Create, for a blob named `id` (an id as this store makes them, of no blob it holds):
  // copying another store's blobs under their own ids (hangar admin migrate), as the metadata
  // that names them is copied unchanged.
  virtual Result<std::unique_ptr<BlobWriter>> CreateWithId(std::string_view id) = 0;
  // Errors: kNotFound-like kInternal with message "blob missing" when no such blob exists.
  virtual Result<std::unique_ptr<BlobReader>> Open(std::string_view id) = 0;
  virtual Status Publish(std::string_view id) = 0;
  // Removes the blob; removing a missing blob is not an error.
  virtual Status Delete(std::string_view id) = 0;
  // Removes blobs for good: once it returns, a crash cannot bring them back. The garbage
  // collector forgets a blob only after this, or a lost unlink would leave an orphan behind.
  virtual Status DeleteDurably(const std::vector<std::string>& ids) = 0;
  // Staged blobs left by a crash, for recovery.
  virtual Result<std::vector<std::string>> ListStaged() = 0;
  // Visits every published blob with the time it was last written (the orphan sweep). The visitor
  // may be called from the calling thread only.
  virtual Status ForEachPublished(
      const std::function<void(std::string_view id, TimePoint written)>& visit) = 0;
};

}  // namespace hangar::store
