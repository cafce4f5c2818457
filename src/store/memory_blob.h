#pragma once
// Blobs kept in memory, for bytes that live inside a metadata record rather than in the blob
// store: a small object's encrypted bytes travel with its record, so storing it costs the record's
// commit alone (one shared WAL sync) instead of a file, its sync and its directory's sync.
//
// MemoryBlobWriter collects what is appended into a caller's string; Commit returns an empty id
// (there is no blob: the bytes become durable with the record that carries them).
// MemoryBlobReader reads from its own copy of such bytes.

#include <algorithm>
#include <memory>
#include <string>

#include "store/blob_store.h"

namespace hangar::store {

class MemoryBlobWriter final : public BlobWriter {
 public:
  explicit MemoryBlobWriter(std::string* into) : into_(into) { into_->clear(); }
  Status Append(std::span<const char> data) override {
    into_->append(data.data(), data.size());
    return Status::Ok();
  }
  Result<std::string> Commit() override { return std::string(); }
  uint64_t size() const override { return into_->size(); }

 private:
  std::string* const into_;
};

class MemoryBlobReader final : public BlobReader {
 public:
  explicit MemoryBlobReader(std::string bytes) : bytes_(std::move(bytes)) {}
  uint64_t size() const override { return bytes_.size(); }
  Result<size_t> ReadAt(uint64_t offset, std::span<char> into) override {
    if (offset >= bytes_.size()) return size_t{0};
    const size_t n = std::min<uint64_t>(into.size(), bytes_.size() - offset);
    bytes_.copy(into.data(), n, static_cast<size_t>(offset));
    return n;
  }

 private:
  const std::string bytes_;
};

}  // namespace hangar::store
