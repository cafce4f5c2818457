#include "s3/object_io.h"

#include <algorithm>

#include "crypto/digest.h"

namespace hangar::s3 {

Result<WrittenBlob> WriteBlob(const BlobWriterFactory& create, BodyReader& body,
                              std::optional<ChecksumAlgorithm> algorithm, uint64_t max_size,
                              std::optional<uint64_t> expected_size) {
  crypto::Digest md5(crypto::DigestAlgorithm::kMd5);
  std::optional<Checksummer> checksummer;
  if (algorithm) checksummer.emplace(*algorithm);
  std::unique_ptr<store::BlobWriter> writer;
  // Sized to the body when its length is known, and not zero-filled: a 4 KiB PUT must not clear
  // (and fault in) a 256 KiB buffer — that was a tenth of a small PUT's CPU.
  const size_t buffer_size =
      expected_size ? static_cast<size_t>(std::clamp<uint64_t>(*expected_size, 1, kIoChunk))
                    : kIoChunk;
  auto storage = std::make_unique_for_overwrite<char[]>(buffer_size);
  const std::span<char> buffer(storage.get(), buffer_size);
  uint64_t total = 0;
  bool ended = false;
  while (!ended) {
    // Fill the whole chunk before writing it on: reads may return a few KiB at a time, and every
    // Append is a write() (and, encrypted, a seal) of its own.
    size_t n = 0;
    while (n < buffer.size()) {
      HANGAR_ASSIGN_OR_RETURN(size_t got,
                              body.Read(std::span<char>(buffer.data() + n, buffer.size() - n)));
      if (got == 0) {
        ended = true;
        break;
      }
      n += got;
    }
    if (n == 0) break;
    total += n;
    if (total > max_size) {
      return Error(ErrorCode::kEntityTooLarge,
                   "Your proposed upload exceeds the maximum allowed size");
    }
    std::span<const char> chunk(buffer.data(), n);
    md5.Update(std::string_view(chunk.data(), chunk.size()));
    if (checksummer) {
      checksummer->Update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(chunk.data()),
                                                   chunk.size()));
    }
    if (!writer) {
      HANGAR_ASSIGN_OR_RETURN(writer, create());
    }
    HANGAR_RETURN_IF_ERROR(writer->Append(chunk));
  }
  if (expected_size && total != *expected_size) {
    return Error(ErrorCode::kIncompleteBody,
                 "You did not provide the number of bytes specified by the Content-Length HTTP "
                 "header.");
  }
  WrittenBlob out;
  out.size = total;
  out.md5 = md5.Finish();
  if (checksummer) out.checksum = checksummer->Finish();
  if (writer) {
    HANGAR_ASSIGN_OR_RETURN(out.blob_id, writer->Commit());
  }
  return out;
}

ObjectRangeReader::ObjectRangeReader(SegmentOpener open, std::vector<Segment> segments,
                                     uint64_t first, uint64_t length)
    : open_(std::move(open)), segments_(std::move(segments)), position_(first), remaining_(length) {
  // Skip to the segment holding `first`.
  while (segment_ < segments_.size() && segment_start_ + segments_[segment_].size <= position_) {
    segment_start_ += segments_[segment_].size;
    ++segment_;
  }
}

Result<size_t> ObjectRangeReader::Read(std::span<char> into) {
  size_t filled = 0;
  while (filled < into.size() && remaining_ > 0) {
    if (segment_ >= segments_.size()) {
      return InternalError("object data ends before its recorded size");
    }
    const Segment& seg = segments_[segment_];
    if (!reader_) {
      HANGAR_ASSIGN_OR_RETURN(reader_, open_(seg));
    }
    uint64_t offset_in_segment = position_ - segment_start_;
    uint64_t left_in_segment = seg.size - offset_in_segment;
    size_t want = static_cast<size_t>(
        std::min<uint64_t>({into.size() - filled, remaining_, left_in_segment}));
    HANGAR_ASSIGN_OR_RETURN(size_t n,
                            reader_->ReadAt(offset_in_segment, into.subspan(filled, want)));
    if (n == 0) return InternalError("object data ends before its recorded size");
    filled += n;
    position_ += n;
    remaining_ -= n;
    if (position_ - segment_start_ == seg.size) {
      segment_start_ += seg.size;
      ++segment_;
      reader_.reset();
    }
  }
  return filled;
}

Result<std::string> ReadRange(const SegmentOpener& open, const std::vector<Segment>& segments,
                              uint64_t first, uint64_t length) {
  ObjectRangeReader reader(open, segments, first, length);
  std::string out(length, '\0');
  size_t done = 0;
  while (done < length) {
    HANGAR_ASSIGN_OR_RETURN(size_t n, reader.Read(std::span<char>(out.data() + done, length - done)));
    if (n == 0) return InternalError("object data ends before its recorded size");
    done += n;
  }
  return out;
}

}  // namespace hangar::s3
