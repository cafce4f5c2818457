#pragma once
// Decoder for `aws-chunked` request bodies (Content-Encoding: aws-chunked), with per-chunk
// SigV4 signatures and trailing headers.
// Spec: S3 API Reference, "Signature Calculations for the Authorization Header: Transferring
// Payload in Multiple Chunks (Chunked Upload) (AWS Signature Version 4)" (sigv4-streaming) and
// "Signature Calculations for the Authorization Header: Including Trailing Headers (Chunked
// Upload)" (sigv4-streaming-trailers); docs/reference/s3.md §7.2.
//
// Wire format (the HTTP layer has already removed any Transfer-Encoding: chunked framing):
//   signed:    <hex size>;chunk-signature=<64 hex>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n
//              followed by \r\n, or (…-TRAILER) by trailer lines, x-amz-trailer-signature:<64 hex>
//              \r\n and \r\n
//   unsigned:  <hex size>\r\n<data>\r\n ... 0\r\n followed by trailer lines and \r\n
//              (botocore's AwsChunkedWrapper)
//
// SECURITY CONTRACT — read before using: a chunk's signature can only be checked once its last
// byte has arrived, and chunks can be many MiB, so this reader hands out a chunk's bytes *before*
// they are verified (memory stays bounded; nothing is buffered per chunk). A caller therefore
// MUST treat an error from any later Read() as invalidating every byte read so far, and MUST NOT
// commit, publish or act on the payload until Read() has returned 0. S3 PutObject/UploadPart
// honour this: they stage the bytes and discard them when Read() fails. Only the Read() that
// returns 0 vouches for the whole body: every chunk signature, the final zero-length chunk, the
// trailer signature, the decoded length and the absence of bytes after the end.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "auth/payload_reader.h"
#include "common/http_message.h"
#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/digest.h"

namespace hangar::auth {

enum class AwsChunkedMode {
  kSigned,               // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
  kSignedWithTrailer,    // STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER
  kUnsignedWithTrailer,  // STREAMING-UNSIGNED-PAYLOAD-TRAILER
};

// What the chunk signatures chain from: taken from the header-signed request (VerifiedRequest).
// Unused in kUnsignedWithTrailer mode.
struct ChunkSigningMaterial {
  crypto::Sha256Bytes signing_key{};
  std::string seed_signature;  // the Authorization header's Signature, lower-case hex
  std::string amz_date;        // X-Amz-Date as sent, e.g. 20130524T000000Z
  std::string scope;           // <yyyymmdd>/<region>/<service>/aws4_request
};

// Bounds on framing, so that a hostile body cannot make the reader buffer without limit.
inline constexpr size_t kMaxChunkLineBytes = 4 * 1024;  // one size line, extensions and CRLF
inline constexpr size_t kMaxTrailerBytes = 16 * 1024;   // the whole trailer section

// Decodes an aws-chunked body into its payload bytes. Holds a reference to `raw`, which must
// outlive it. Not thread-safe. Memory is bounded (a 64 KiB input buffer plus the limits above)
// whatever the chunk sizes.
//
// Read() errors (sticky: once one is returned, every later Read() returns it again):
//   kSignatureMismatch  a chunk or trailer signature does not verify (chunk order, data and
//                       chain all count)
//   kIncompleteBody     the body ends early, or its payload length differs from
//                       x-amz-decoded-content-length
//   kInvalidRequest     malformed framing: bad hex size, size overflow, size line over
//                       kMaxChunkLineBytes, missing CRLF, missing chunk-signature, malformed or
//                       oversized (> kMaxTrailerBytes) trailers, trailers in a mode without them,
//                       bytes after the final chunk
//   anything `raw` returns
class AwsChunkedReader final : public PayloadReader {
 public:
  // `decoded_content_length` is x-amz-decoded-content-length; when set, the payload must have
  // exactly that many bytes.
  AwsChunkedReader(BodyReader& raw, AwsChunkedMode mode, const ChunkSigningMaterial& signing,
                   std::optional<uint64_t> decoded_content_length);

  // Fills `into` (which must not be empty) with payload bytes; 0 once the whole body has been
  // read and verified. May block on `raw`, but only when it has nothing to return yet.
  Result<size_t> Read(std::span<char> into) override;

  // The trailing headers (lower-case names, x-amz-trailer-signature left out); complete only
  // after Read() returned 0.
  const HeaderList& trailers() const override { return trailers_; }
  std::optional<uint64_t> decoded_length() const override { return decoded_content_length_; }
  AwsChunkedMode mode() const { return mode_; }
  // Payload bytes handed out so far.
  uint64_t payload_bytes() const { return payload_bytes_; }

 private:
  enum class State {
    kSizeLine,  // reading "<hex>[;ext...]\r\n"
    kData,      // inside a chunk's data
    kDataCrlf,  // the CRLF after a chunk's data
    kTrailers,  // after the zero-length chunk: trailer lines up to an empty line
    kEpilogue,  // everything parsed; the raw body must end here
    kDone,
  };

  bool signed_chunks() const { return mode_ != AwsChunkedMode::kUnsignedWithTrailer; }
  bool trailers_allowed() const { return mode_ != AwsChunkedMode::kSigned; }

  // Refills the input buffer from `raw`; false at the end of the raw body.
  Result<bool> Fill();
  // Moves bytes up to and including '\n' into line_. True once a full line is there.
  Result<bool> TakeLine(size_t limit, std::string_view too_long_message);
  Status ParseSizeLine(std::string_view line);
  Status FinishChunkData();
  Status TakeTrailerLine(std::string_view line);
  Status FinishTrailers();
  // Handles the raw body ending in `state_`: an error, or kEpilogue/kDone where allowed.
  Status OnRawEnd();
  Status Fail(Status status);

  BodyReader& raw_;
  const AwsChunkedMode mode_;
  const SecretBytes signing_key_;
  const std::string amz_date_;
  const std::string scope_;
  const std::optional<uint64_t> decoded_content_length_;

  std::string previous_signature_;  // the chain: seed, then each verified chunk's signature
  std::string chunk_signature_;     // as sent for the current chunk
  crypto::Digest chunk_digest_{crypto::DigestAlgorithm::kSha256};
  uint64_t chunk_remaining_ = 0;
  uint64_t payload_bytes_ = 0;

  std::vector<char> buffer_;  // input not yet consumed is buffer_[begin_, end_)
  size_t begin_ = 0;
  size_t end_ = 0;
  bool raw_ended_ = false;

  std::string line_;                               // a partial line: size line or trailer line
  size_t trailer_bytes_ = 0;                       // bytes of the trailer section so far
  std::vector<HeaderList::Field> trailer_fields_;  // as parsed, for the trailer signature
  std::optional<std::string> trailer_signature_;
  HeaderList trailers_;

  State state_ = State::kSizeLine;
  Status failure_;  // sticky once set
};

}  // namespace hangar::auth
