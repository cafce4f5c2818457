#include "auth/payload_reader.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "auth/aws_chunked.h"
#include "common/check.h"
#include "common/strings.h"
#include "crypto/hmac.h"

// x-amz-content-sha256 values and their meaning: S3 API Reference, "Authenticating Requests:
// Using the Authorization Header (AWS Signature Version 4)"; error texts as S3 words them
// (docs/reference/s3.md §2, §7).

namespace hangar::auth {
namespace {

constexpr std::string_view kContentSha256Header = "x-amz-content-sha256";
constexpr std::string_view kDecodedLengthHeader = "x-amz-decoded-content-length";

constexpr std::string_view kSha256MismatchText =
    "The provided 'x-amz-content-sha256' header does not match what was computed.";
constexpr std::string_view kBadContentSha256Text =
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER, or a valid "
    "sha256 value.";
constexpr std::string_view kNotImplementedText =
    "A header you provided implies functionality that is not implemented";

bool IsSha256Hex(std::string_view value) {
  return value.size() == 64 && std::all_of(value.begin(), value.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
         });
}

// A plain decimal: digits only (no sign, no blanks inside), no overflow.
std::optional<uint64_t> ParseDecimal(std::string_view text) {
  if (text.empty() ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  uint64_t value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::unique_ptr<PayloadReader> PassThrough(BodyReader& raw, const HttpRequest& request) {
  return std::make_unique<PassThroughReader>(raw, request.content_length);
}

}  // namespace

const HeaderList& PayloadReader::trailers() const {
  static const HeaderList kNone;
  return kNone;
}

Sha256CheckingReader::Sha256CheckingReader(BodyReader& inner, std::string_view expected_hex,
                                           std::optional<uint64_t> length)
    : inner_(inner), expected_hex_(ToLower(expected_hex)), length_(length) {}

Result<size_t> Sha256CheckingReader::Read(std::span<char> into) {
  // A zero-byte read would be indistinguishable from the end of the body.
  HANGAR_CHECK(!into.empty());
  if (!failure_.ok()) return failure_;
  if (done_) return size_t{0};
  Result<size_t> n = inner_.Read(into);
  if (!n.ok()) {
    failure_ = std::move(n).TakeStatus();
    return failure_;
  }
  if (*n > 0) {
    digest_.Update(std::string_view(into.data(), *n));
    return *n;
  }
  // The end of the body: only now can the claim be checked.
  const std::string computed = HexEncode(digest_.Finish());
  if (!crypto::ConstantTimeEquals(computed, expected_hex_)) {
    // S3 shows both hashes so that a client can see what went wrong; neither is secret.
    failure_ = Error(ErrorCode::kContentSha256Mismatch, std::string(kSha256MismatchText))
                   .WithField("ClientComputedContentSHA256", expected_hex_)
                   .WithField("S3ComputedContentSHA256", computed);
    return failure_;
  }
  done_ = true;
  return size_t{0};
}

Result<std::unique_ptr<PayloadReader>> MakePayloadReader(BodyReader& raw,
                                                         const HttpRequest& request,
                                                         const VerifiedRequest* verified,
                                                         std::string_view content_sha256_header) {
  const bool header_signed = verified != nullptr && verified->kind == SigV4Request::Kind::kHeader;
  const std::string_view value = Trim(content_sha256_header);

  // 1. Header-signed S3 requests must say what they did with the payload; presigned URLs sign
  //    UNSIGNED-PAYLOAD implicitly and anonymous requests sign nothing.
  if (value.empty()) {
    if (header_signed) {
      return Error(ErrorCode::kInvalidRequest, "Missing required header for this request: " +
                                                   std::string(kContentSha256Header));
    }
    return PassThrough(raw, request);
  }

  // 2. Single-chunk bodies. A hash sent with a presigned or anonymous request is checked too:
  //    the client asked for it, and a body that contradicts it is corrupt either way.
  if (value == kUnsignedPayload) return PassThrough(raw, request);
  if (IsSha256Hex(value)) {
    return std::unique_ptr<PayloadReader>(
        std::make_unique<Sha256CheckingReader>(raw, value, request.content_length));
  }

  // 4 (before 3, whose prefix it shares). SigV4a streaming.
  if (value.starts_with(kStreamingEcdsaPrefix)) {
    return Error(ErrorCode::kNotImplemented, std::string(kNotImplementedText))
        .WithField("Header", std::string(kContentSha256Header));
  }

  // 3. aws-chunked bodies.
  AwsChunkedMode mode;
  if (value == kStreamingSignedPayload) {
    mode = AwsChunkedMode::kSigned;
  } else if (value == kStreamingSignedPayloadTrailer) {
    mode = AwsChunkedMode::kSignedWithTrailer;
  } else if (value == kStreamingUnsignedPayloadTrailer) {
    mode = AwsChunkedMode::kUnsignedWithTrailer;
  } else {
    return Error(ErrorCode::kInvalidRequest, std::string(kBadContentSha256Text));
  }
  // Chunk signatures chain from the Authorization header's signature; a presigned or anonymous
  // request has none to chain from.
  if (mode != AwsChunkedMode::kUnsignedWithTrailer && !header_signed) {
    return Error(
        ErrorCode::kInvalidRequest,
        std::string(value) + " is only allowed in requests signed with the Authorization header.");
  }
  const std::string* decoded_header = request.headers.Find(kDecodedLengthHeader);
  if (decoded_header == nullptr) {
    return Error(ErrorCode::kInvalidRequest,
                 "Missing required header for this request: " + std::string(kDecodedLengthHeader));
  }
  const std::optional<uint64_t> decoded_length = ParseDecimal(Trim(*decoded_header));
  if (!decoded_length) {
    return Error(ErrorCode::kInvalidRequest,
                 "The " + std::string(kDecodedLengthHeader) + " header is not a valid length.");
  }

  ChunkSigningMaterial signing;
  if (header_signed) {
    signing.signing_key = verified->signing_key;
    signing.seed_signature = verified->seed_signature;
    signing.amz_date = verified->amz_date;
    signing.scope = verified->scope.ToString();
  }
  return std::unique_ptr<PayloadReader>(
      std::make_unique<AwsChunkedReader>(raw, mode, signing, decoded_length));
}

}  // namespace hangar::auth
