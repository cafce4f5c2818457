#pragma once
// Decoders of stored object records with simdjson's On-Demand reader, without building a JSON DOM:
// nlohmann's DOM costs about 10 µs a record — a tenth of a 4 KiB GET, and most of a 1,000-entry
// ListObjectVersions page — simdjson well under 1 µs. ListedRecordDecoder reads the fields a
// listing shows; DecodeObject (declared in records.h, defined beside it here) reads them all.
// Encoding stays with nlohmann (records.cc): the two must agree, and listed_record_test.cc
// round-trips every field.

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
