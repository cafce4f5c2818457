#pragma once
// Payload readers: how a request body is authenticated while it streams, chosen by the request's
// x-amz-content-sha256 value.
// Spec: "Authenticating Requests: Using the Authorization Header (AWS Signature Version 4)" in the
// S3 API Reference (the table of x-amz-content-sha256 values); docs/reference/s3.md §7.
//
// SigV4 header verification (sigv4.h) covers the headers and, through x-amz-content-sha256, only
// a *claim* about the body. The readers here hold the body to that claim as it is read:
//   hex SHA-256                         -> Sha256CheckingReader (hash compared at the end)
//   UNSIGNED-PAYLOAD, presigned, anon.  -> pass-through (the bytes as they come)
//   STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], STREAMING-UNSIGNED-PAYLOAD-TRAILER
//                                       -> AwsChunkedReader (aws_chunked.h)
//
// Contract shared by every PayloadReader: bytes are handed out before the whole body has been
// checked (an object upload is never buffered whole). A caller MUST treat an error from any later
// Read() as invalidating every byte it has read so far, and must read until Read() returns 0
// before it commits anything: only the Read() that returns 0 vouches for the body.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "auth/sigv4.h"
#include "common/http_message.h"
#include "common/result.h"
#include "crypto/digest.h"

namespace hangar::auth {

// x-amz-content-sha256 values (S3 API Reference, sigv4-auth-using-authorization-header).
inline constexpr std::string_view kStreamingSignedPayload = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD";
inline constexpr std::string_view kStreamingSignedPayloadTrailer =
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
inline constexpr std::string_view kStreamingUnsignedPayloadTrailer =
    "STREAMING-UNSIGNED-PAYLOAD-TRAILER";
// SigV4a (ECDSA) streaming variants share this prefix; Hangar does not implement SigV4a.
inline constexpr std::string_view kStreamingEcdsaPrefix = "STREAMING-AWS4-ECDSA-P256-SHA256-";

// A request body as the service should consume it: payload bytes only, authenticated as the
// request's x-amz-content-sha256 says. Owned by the request handler; not thread-safe. It keeps a
// reference to the raw BodyReader it wraps, which must outlive it.
class PayloadReader : public BodyReader {
 public:
  // Trailing headers sent after an aws-chunked body (names lower-case, e.g.
  // x-amz-checksum-crc32), without x-amz-trailer-signature. Complete only once Read() has
  // returned 0; empty for bodies without trailers.
  virtual const HeaderList& trailers() const;
  // The payload length the request declared: x-amz-decoded-content-length for aws-chunked
  // bodies, Content-Length otherwise; nullopt when the request did not say. For aws-chunked
  // bodies the reader enforces it; otherwise the HTTP layer does.
  virtual std::optional<uint64_t> decoded_length() const { return std::nullopt; }
};

// Hands the inner reader's bytes through unchanged: UNSIGNED-PAYLOAD, presigned and anonymous
// requests, whose payload nobody signed.
class PassThroughReader final : public PayloadReader {
 public:
  PassThroughReader(BodyReader& inner, std::optional<uint64_t> length)
      : inner_(inner), length_(length) {}
  Result<size_t> Read(std::span<char> into) override { return inner_.Read(into); }
  std::optional<uint64_t> decoded_length() const override { return length_; }

 private:
  BodyReader& inner_;
  const std::optional<uint64_t> length_;
};

// A body sent in one piece whose SHA-256 the client signed as x-amz-content-sha256 (S3 API
// Reference, "Signature Calculations for the Authorization Header: Transferring Payload in a
// Single Chunk"). Hashes every byte it hands out; when the inner reader ends, compares the hash
// with the expected value.
// Errors: the inner reader's errors; kContentSha256Mismatch from the Read() that would have
// returned 0, and from every Read() after it.
class Sha256CheckingReader final : public PayloadReader {
 public:
  // `expected_hex` is the header value (64 hex digits, either case).
  Sha256CheckingReader(BodyReader& inner, std::string_view expected_hex,
                       std::optional<uint64_t> length);
  Result<size_t> Read(std::span<char> into) override;
  std::optional<uint64_t> decoded_length() const override { return length_; }

 private:
  BodyReader& inner_;
  const std::string expected_hex_;  // lower-case
  const std::optional<uint64_t> length_;
  crypto::Digest digest_{crypto::DigestAlgorithm::kSha256};
  bool done_ = false;
  Status failure_;  // sticky once set
};

// Chooses the reader for a request body.
// `raw` is the HTTP body after transfer decoding; `verified` is the header- or query-signed
// request, or null for an anonymous one; `content_sha256_header` is the x-amz-content-sha256
// value (empty when absent).
// Rules:
//   1. Header-signed requests must send x-amz-content-sha256 (S3 requires it with SigV4);
//      presigned and anonymous ones may leave it out and get a pass-through reader.
//   2. UNSIGNED-PAYLOAD -> pass-through; 64 hex digits -> Sha256CheckingReader.
//   3. STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] -> signed AwsChunkedReader, chained from the
//      seed signature of a header-signed request; STREAMING-UNSIGNED-PAYLOAD-TRAILER -> unsigned
//      AwsChunkedReader. Both need x-amz-decoded-content-length. Content-Encoding: aws-chunked is
//      not required: botocore sends it, but x-amz-content-sha256 alone already decides the
//      framing and some SDKs leave the header out.
//   4. STREAMING-AWS4-ECDSA-P256-SHA256-* (SigV4a) -> kNotImplemented.
// Errors: kInvalidRequest (missing x-amz-content-sha256 on a header-signed request, an unknown
// value, a signed streaming body without header authentication, a missing or malformed
// x-amz-decoded-content-length); kNotImplemented (SigV4a streaming).
Result<std::unique_ptr<PayloadReader>> MakePayloadReader(BodyReader& raw,
                                                         const HttpRequest& request,
                                                         const VerifiedRequest* verified,
                                                         std::string_view content_sha256_header);

}  // namespace hangar::auth
