#pragma once
// FsBlobStore: blobs as files under one directory of the data directory.
//
//   <root>/staging/<id>         written, fsynced, not yet referenced by committed metadata
//   <root>/objects/<id[0:2]>/<id> published
//
// A writer creates its file in staging (O_EXCL, 0600), and Commit() fsyncs the file and the
// staging directory, so the bytes survive a crash before the metadata that names them is committed.
// Publish() is a rename; if a crash loses the rename, recovery publishes the staged file again.
// Thread-safety: as BlobStore.

#include <memory>
#include <string>

#include "store/blob_store.h"

namespace hangar::store {

class FsBlobStore final : public BlobStore {
 public:
  // Creates the directories if needed.
  static Result<std::unique_ptr<FsBlobStore>> OpenAt(const std::string& root);

  Result<std::unique_ptr<BlobWriter>> Create() override;
  Result<std::unique_ptr<BlobWriter>> CreateWithId(std::string_view id) override;
  Result<std::unique_ptr<BlobReader>> Open(std::string_view id) override;
  Status Publish(std::string_view id) override;
  Status Delete(std::string_view id) override;
  Status DeleteDurably(const std::vector<std::string>& ids) override;
  Result<std::vector<std::string>> ListStaged() override;
  Status ForEachPublished(
      const std::function<void(std::string_view id, TimePoint written)>& visit) override;

 private:
  explicit FsBlobStore(std::string root);
  std::string StagedPath(std::string_view id) const;
  std::string PublishedPath(std::string_view id) const;
  static bool IsBlobId(std::string_view id);

  const std::string root_;
  const std::string staging_dir_;
  const std::string objects_dir_;
};

}  // namespace hangar::store
