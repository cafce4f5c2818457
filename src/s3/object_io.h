#pragma once
// Streaming object bytes in and out of the blob store. Objects never pass through memory whole:
// a write pulls the body in fixed-size chunks, hashing as it goes; a read pulls a byte range
// across the object's segments chunk by chunk. Encryption (SSE) plugs in as BlobWriter/BlobReader
// decorators around the store's own, so nothing here changes when it arrives.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/http_message.h"
#include "s3/checksum.h"
#include "s3/records.h"
#include "store/blob_store.h"

namespace hangar::s3 {

inline constexpr size_t kIoChunk = 256 * 1024;

struct WrittenBlob {
  std::string blob_id;   // empty for a zero-byte body (no blob is stored)
  uint64_t size = 0;
  std::string md5;       // raw 16 bytes
  std::string checksum;  // raw digest of the requested algorithm, if any
};

// Makes the writer a blob's bytes go through: the store's own, wrapped for encryption.
using BlobWriterFactory = std::function<Result<std::unique_ptr<store::BlobWriter>>()>;
// Opens one segment of an object for reading, decrypting as needed.
using SegmentOpener =
    std::function<Result<std::unique_ptr<store::BlobReader>>(const Segment& segment)>;

// Copies `body` into a new committed (staged) blob, computing MD5 and, if asked, `algorithm`, over
// the plaintext. `max_size`: more bytes than this → kEntityTooLarge. `expected_size`: if set, a
// different count → kIncompleteBody. Any error leaves nothing behind.
Result<WrittenBlob> WriteBlob(const BlobWriterFactory& create, BodyReader& body,
                              std::optional<ChecksumAlgorithm> algorithm, uint64_t max_size,
                              std::optional<uint64_t> expected_size);

// A BodyReader over a byte range of an existing object (UploadPartCopy, CopyObject).
class ObjectRangeReader final : public BodyReader {
 public:
  ObjectRangeReader(SegmentOpener open, std::vector<Segment> segments, uint64_t first,
                    uint64_t length);
  Result<size_t> Read(std::span<char> into) override;

 private:
  SegmentOpener open_;
  const std::vector<Segment> segments_;
  uint64_t position_;  // absolute offset in the object
  uint64_t remaining_;
  size_t segment_ = 0;
  uint64_t segment_start_ = 0;  // absolute offset of segments_[segment_]
  std::unique_ptr<store::BlobReader> reader_;
};

// The same as a response body source.
class ObjectBodySource final : public BodySource {
 public:
  ObjectBodySource(SegmentOpener open, std::vector<Segment> segments, uint64_t first,
                   uint64_t length)
      : reader_(std::move(open), std::move(segments), first, length) {}
  Result<size_t> Read(std::span<char> into) override { return reader_.Read(into); }

 private:
  ObjectRangeReader reader_;
};

// Reads a whole small range into memory (small GETs: one response write, no streaming).
Result<std::string> ReadRange(const SegmentOpener& open, const std::vector<Segment>& segments,
                              uint64_t first, uint64_t length);

}  // namespace hangar::s3
