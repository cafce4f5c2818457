#pragma once
// Decodes the part of a stored object record that a listing shows, without building a JSON DOM.
// A listing page decodes up to 1,000 records; nlohmann's DOM costs about 10 µs a record (most of
// a 1,000-entry ListObjectVersions page), simdjson's On-Demand reader well under 1 µs. The
// authoritative decoder stays DecodeObject (records.h): everything but listings uses it.

#include <memory>
#include <string_view>

#include "common/result.h"
#include "s3/records.h"

namespace hangar::s3 {

// Reuses its parser and buffer across records: keep one per listing. Not thread-safe.
class ListedRecordDecoder {
 public:
  ListedRecordDecoder();
  ~ListedRecordDecoder();
  ListedRecordDecoder(const ListedRecordDecoder&) = delete;
  ListedRecordDecoder& operator=(const ListedRecordDecoder&) = delete;

  // Sets `out`'s listing fields from an EncodeObject text: bucket, key, size, etag,
  // last_modified_ms, storage_class, checksum, version_id, version_stamp, delete_marker,
  // owner_account. The other fields (headers, metadata, tags, segments, encryption, lock, acl)
  // keep their defaults.
  // A field added to what listings render must be added here too.
  // Errors: kInternal (the record is corrupt).
  Status Decode(std::string_view text, ObjectRecord& out);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hangar::s3
