#include "auth/aws_chunked.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "common/check.h"
#include "common/strings.h"
#include "crypto/hmac.h"

// Follows the S3 API Reference pages "Signature Calculations for the Authorization Header:
// Transferring Payload in Multiple Chunks (Chunked Upload)" (sigv4-streaming) for the chunk
// format and chunk signatures, and "... Including Trailing Headers (Chunked Upload)"
// (sigv4-streaming-trailers) for trailers. Where the pages leave the trailer canonicalisation
// open, this follows the AWS Common Runtime signer, awslabs/aws-c-auth source/aws_signing.c
// (s_build_canonical_request_trailing_headers -> s_canonicalize_headers: headers sorted by
// lower-case name, "name:value\n" each, values trimmed with inner whitespace squashed, repeated
// names joined by ','), which the AWS SDKs for .NET and Kotlin match and which reproduces the
// documented trailer example (x-amz-checksum-crc32c:sOO8/Q== signed d81f82fc…; see the tests).
// The unsigned framing is botocore's AwsChunkedWrapper (botocore/httpchecksum.py).

namespace hangar::auth {
namespace {

constexpr size_t kBufferSize = 64 * 1024;

constexpr std::string_view kChunkAlgorithm = "AWS4-HMAC-SHA256-PAYLOAD";
constexpr std::string_view kTrailerAlgorithm = "AWS4-HMAC-SHA256-TRAILER";
constexpr std::string_view kChunkSignatureExtension = "chunk-signature";
constexpr std::string_view kTrailerSignatureName = "x-amz-trailer-signature";
// hex SHA-256 of "": the chunk string to sign has it where a header hash would be.
constexpr std::string_view kEmptyHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

constexpr std::string_view kSignatureMismatchText =
    "The request signature we calculated does not match the signature you provided. Check your "
    "key and signing method.";
constexpr std::string_view kDecodedLengthText =
    "You did not send the number of bytes specified by the x-amz-decoded-content-length header.";
constexpr std::string_view kTruncatedText =
    "The request body ended before the final chunk of its aws-chunked encoding.";

Status Malformed(std::string_view message) {
  return Error(ErrorCode::kInvalidRequest, std::string(message));
}

bool IsCanonicalSpace(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<uint64_t> ParseChunkSize(std::string_view text) {
  if (text.empty()) return Malformed("An aws-chunked chunk size is missing.");
  uint64_t size = 0;
  for (char c : text) {
    const int digit = HexDigit(c);
    if (digit < 0) return Malformed("An aws-chunked chunk size is not a hexadecimal number.");
    if (size > (std::numeric_limits<uint64_t>::max() >> 4)) {
      return Malformed("An aws-chunked chunk size is too large.");
    }
    size = size << 4 | static_cast<uint64_t>(digit);
  }
  return size;
}

std::string SignHex(const SecretBytes& key, std::string_view string_to_sign) {
  return HexEncode(crypto::HmacSha256(key.span(), string_to_sign));
}

// sigv4-streaming, "Defining the Chunk Body": the string to sign for one chunk.
std::string ChunkStringToSign(std::string_view amz_date, std::string_view scope,
                              std::string_view previous_signature, std::string_view data_hash) {
  std::string out;
  out.reserve(kChunkAlgorithm.size() + amz_date.size() + scope.size() + 3 * 64 + 5);
  out.append(kChunkAlgorithm).push_back('\n');
  out.append(amz_date).push_back('\n');
  out.append(scope).push_back('\n');
  out.append(previous_signature).push_back('\n');
  out.append(kEmptyHash).push_back('\n');
  out.append(data_hash);
  return out;
}

// sigv4-streaming-trailers: the string to sign for the trailer chunk.
std::string TrailerStringToSign(std::string_view amz_date, std::string_view scope,
                                std::string_view previous_signature,
                                std::string_view trailer_hash) {
  std::string out;
  out.append(kTrailerAlgorithm).push_back('\n');
  out.append(amz_date).push_back('\n');
  out.append(scope).push_back('\n');
  out.append(previous_signature).push_back('\n');
  out.append(trailer_hash);
  return out;
}

// The trailers as aws-c-auth canonicalises them for signing (see the top of this file).
std::string CanonicalTrailers(std::vector<HeaderList::Field> fields) {
  std::stable_sort(
      fields.begin(), fields.end(),
      [](const HeaderList::Field& a, const HeaderList::Field& b) { return a.name < b.name; });
  std::string out;
  const std::string* previous_name = nullptr;
  for (const HeaderList::Field& field : fields) {
    if (previous_name != nullptr && *previous_name == field.name) {
      out.back() = ',';  // replaces the previous line's '\n'
    } else {
      out += field.name;
      out.push_back(':');
    }
    previous_name = &field.name;
    std::string_view value = field.value;
    while (!value.empty() && IsCanonicalSpace(value.front())) value.remove_prefix(1);
    while (!value.empty() && IsCanonicalSpace(value.back())) value.remove_suffix(1);
    bool in_space = false;
    for (char c : value) {
      if (IsCanonicalSpace(c)) {
        in_space = true;
        continue;
      }
      if (in_space) out.push_back(' ');
      in_space = false;
      out.push_back(c);
    }
    out.push_back('\n');
  }
  return out;
}

}  // namespace

AwsChunkedReader::AwsChunkedReader(BodyReader& raw, AwsChunkedMode mode,
                                   const ChunkSigningMaterial& signing,
                                   std::optional<uint64_t> decoded_content_length)
    : raw_(raw),
      mode_(mode),
      signing_key_(std::span<const uint8_t>(signing.signing_key)),
      amz_date_(signing.amz_date),
      scope_(signing.scope),
      decoded_content_length_(decoded_content_length),
      previous_signature_(ToLower(signing.seed_signature)),
      buffer_(kBufferSize) {}

Status AwsChunkedReader::Fail(Status status) {
  failure_ = status;
  return status;
}

Result<bool> AwsChunkedReader::Fill() {
  if (raw_ended_) return false;
  // Only called once everything buffered has been consumed.
  HANGAR_CHECK(begin_ == end_);
  begin_ = end_ = 0;
  Result<size_t> n = raw_.Read(std::span<char>(buffer_.data(), buffer_.size()));
  if (!n.ok()) return std::move(n).TakeStatus();
  HANGAR_CHECK(*n <= buffer_.size());
  if (*n == 0) {
    raw_ended_ = true;
    return false;
  }
  end_ = *n;
  return true;
}

Result<bool> AwsChunkedReader::TakeLine(size_t limit, std::string_view too_long_message) {
  const char* start = buffer_.data() + begin_;
  const size_t available = end_ - begin_;
  const char* newline = static_cast<const char*>(std::memchr(start, '\n', available));
  const size_t take = newline != nullptr ? static_cast<size_t>(newline - start) + 1 : available;
  if (line_.size() + take > limit) return Malformed(too_long_message);
  line_.append(start, take);
  begin_ += take;
  return newline != nullptr;
}

Status AwsChunkedReader::ParseSizeLine(std::string_view line) {
  // 1. The size: hex digits up to the first ';' (blanks allowed before it, as RFC 9112 allows
  //    before a chunk extension).
  size_t semicolon = line.find(';');
  std::string_view size_text = line.substr(0, semicolon);
  while (!size_text.empty() && (size_text.back() == ' ' || size_text.back() == '\t')) {
    size_text.remove_suffix(1);
  }
  HANGAR_ASSIGN_OR_RETURN(const uint64_t size, ParseChunkSize(size_text));

  // 2. Extensions: chunk-signature=<hex> is the one S3 defines; others are ignored, as an HTTP
  //    chunked decoder would.
  std::optional<std::string_view> signature;
  while (semicolon != std::string_view::npos) {
    std::string_view rest = line.substr(semicolon + 1);
    const size_t next = rest.find(';');
    std::string_view extension = rest.substr(0, next);
    const size_t eq = extension.find('=');
    std::string_view name = Trim(extension.substr(0, eq));
    std::string_view value =
        eq == std::string_view::npos ? std::string_view() : Trim(extension.substr(eq + 1));
    if (name == kChunkSignatureExtension) {
      if (signature) return Malformed("An aws-chunked chunk carries two chunk signatures.");
      signature = value;
    }
    semicolon = next == std::string_view::npos ? next : semicolon + 1 + next;
  }
  if (signed_chunks()) {
    if (!signature) return Malformed("An aws-chunked chunk has no chunk-signature.");
    chunk_signature_ = ToLower(*signature);
  }

  // 3. A chunk may not carry the payload past the declared decoded length: fail before reading
  //    its data rather than after.
  if (decoded_content_length_ && size > *decoded_content_length_ - payload_bytes_) {
    return Error(ErrorCode::kIncompleteBody, std::string(kDecodedLengthText));
  }

  chunk_remaining_ = size;
  chunk_digest_ = crypto::Digest(crypto::DigestAlgorithm::kSha256);
  if (size > 0) {
    state_ = State::kData;
    return Status::Ok();
  }

  // 4. The zero-length chunk ends the payload. It is signed like any other chunk, which binds
  //    the end of the stream (a truncated chain does not verify).
  HANGAR_RETURN_IF_ERROR(FinishChunkData());
  if (decoded_content_length_ && payload_bytes_ != *decoded_content_length_) {
    return Error(ErrorCode::kIncompleteBody, std::string(kDecodedLengthText));
  }
  state_ = State::kTrailers;
  return Status::Ok();
}

Status AwsChunkedReader::FinishChunkData() {
  std::string data_hash = HexEncode(chunk_digest_.Finish());
  if (!signed_chunks()) return Status::Ok();
  // Each chunk's signature covers the previous one, so order, omissions and splices all break
  // the chain (sigv4-streaming: "signature of chunk n is F(chunk n, signature(chunk n-1))").
  std::string expected =
      SignHex(signing_key_, ChunkStringToSign(amz_date_, scope_, previous_signature_, data_hash));
  if (!crypto::ConstantTimeEquals(expected, chunk_signature_)) {
    return Error(ErrorCode::kSignatureMismatch, std::string(kSignatureMismatchText));
  }
  previous_signature_ = std::move(expected);
  return Status::Ok();
}

Status AwsChunkedReader::TakeTrailerLine(std::string_view line) {
  if (!trailers_allowed()) {
    return Malformed(
        "The aws-chunked body has trailing headers, but x-amz-content-sha256 is not a "
        "-TRAILER variant.");
  }
  const size_t colon = line.find(':');
  std::string name = ToLower(Trim(line.substr(0, colon)));
  if (colon == std::string_view::npos || name.empty()) {
    return Malformed("A trailing header of the aws-chunked body is malformed.");
  }
  std::string_view value = Trim(line.substr(colon + 1));
  if (name == kTrailerSignatureName) {
    if (trailer_signature_) {
      return Malformed("The aws-chunked body carries two x-amz-trailer-signature trailers.");
    }
    trailer_signature_ = ToLower(value);
    return Status::Ok();
  }
  trailer_fields_.push_back({std::move(name), std::string(value)});
  return Status::Ok();
}

Status AwsChunkedReader::FinishTrailers() {
  if (mode_ == AwsChunkedMode::kSignedWithTrailer) {
    // sigv4-streaming-trailers: the trailer chunk chains from the zero-length chunk's signature.
    if (!trailer_signature_) {
      return Malformed("The aws-chunked body has no x-amz-trailer-signature trailer.");
    }
    const std::string trailer_hash = crypto::Sha256Hex(CanonicalTrailers(trailer_fields_));
    const std::string expected = SignHex(
        signing_key_, TrailerStringToSign(amz_date_, scope_, previous_signature_, trailer_hash));
    if (!crypto::ConstantTimeEquals(expected, *trailer_signature_)) {
      return Error(ErrorCode::kSignatureMismatch, std::string(kSignatureMismatchText));
    }
  }
  // Published only once verified, so that nobody acts on an unauthenticated checksum.
  for (const HeaderList::Field& field : trailer_fields_) trailers_.Add(field.name, field.value);
  return Status::Ok();
}

Status AwsChunkedReader::OnRawEnd() {
  if (state_ == State::kEpilogue) {
    state_ = State::kDone;
    return Status::Ok();
  }
  if (state_ == State::kTrailers && line_.empty()) {
    // The empty line that ends the trailer section is missing. Tolerated (servers such as MinIO
    // never read it either) once everything that carries meaning has arrived: after a signed
    // zero-length chunk, after the trailer signature, or after at least one unsigned trailer.
    // Anything less is a truncated body.
    const bool complete =
        mode_ == AwsChunkedMode::kSigned ||
        (mode_ == AwsChunkedMode::kSignedWithTrailer && trailer_signature_) ||
        (mode_ == AwsChunkedMode::kUnsignedWithTrailer && !trailer_fields_.empty());
    if (complete) {
      HANGAR_RETURN_IF_ERROR(FinishTrailers());
      state_ = State::kDone;
      return Status::Ok();
    }
  }
  return Error(ErrorCode::kIncompleteBody, std::string(kTruncatedText));
}

Result<size_t> AwsChunkedReader::Read(std::span<char> into) {
  // A zero-byte read would be indistinguishable from the end of the body.
  HANGAR_CHECK(!into.empty());
  if (!failure_.ok()) return failure_;
  size_t produced = 0;
  while (true) {
    switch (state_) {
      case State::kDone:
        return produced;

      case State::kData: {
        if (produced == into.size()) return produced;
        const size_t want =
            static_cast<size_t>(std::min<uint64_t>(into.size() - produced, chunk_remaining_));
        char* out = into.data() + produced;
        size_t n = 0;
        if (begin_ < end_) {
          n = std::min(want, end_ - begin_);
          std::memcpy(out, buffer_.data() + begin_, n);
          begin_ += n;
        } else {
          // Nothing buffered: hand out what we have rather than block, else read straight into
          // the caller's buffer (large chunks then cost no extra copy).
          if (produced > 0) return produced;
          if (raw_ended_) {
            return Fail(Error(ErrorCode::kIncompleteBody, std::string(kTruncatedText)));
          }
          Result<size_t> got = raw_.Read(std::span<char>(out, want));
          if (!got.ok()) return Fail(std::move(got).TakeStatus());
          HANGAR_CHECK(*got <= want);
          if (*got == 0) {
            raw_ended_ = true;
            return Fail(Error(ErrorCode::kIncompleteBody, std::string(kTruncatedText)));
          }
          n = *got;
        }
        chunk_digest_.Update(std::string_view(out, n));
        produced += n;
        payload_bytes_ += n;
        chunk_remaining_ -= n;
        if (chunk_remaining_ == 0) {
          // Verified now, while the bytes are still in this call: a bad last piece of a chunk
          // never leaves here as success.
          Status status = FinishChunkData();
          if (!status.ok()) return Fail(std::move(status));
          state_ = State::kDataCrlf;
        }
        continue;
      }

      case State::kDataCrlf: {
        if (begin_ < end_) {
          Result<bool> complete =
              TakeLine(2, "An aws-chunked chunk's data is not followed by CRLF.");
          if (!complete.ok()) return Fail(std::move(complete).TakeStatus());
          if (!*complete) continue;
          if (line_ != "\r\n") {
            return Fail(Malformed("An aws-chunked chunk's data is not followed by CRLF."));
          }
          line_.clear();
          state_ = State::kSizeLine;
          continue;
        }
        break;  // needs input
      }

      case State::kSizeLine: {
        if (begin_ < end_) {
          Result<bool> complete = TakeLine(
              kMaxChunkLineBytes, "An aws-chunked chunk size line is longer than 4096 bytes.");
          if (!complete.ok()) return Fail(std::move(complete).TakeStatus());
          if (!*complete) continue;
          if (line_.size() < 2 || line_[line_.size() - 2] != '\r') {
            return Fail(Malformed("An aws-chunked chunk size line does not end in CRLF."));
          }
          std::string line = std::move(line_);
          line_.clear();
          Status status = ParseSizeLine(std::string_view(line).substr(0, line.size() - 2));
          if (!status.ok()) return Fail(std::move(status));
          continue;
        }
        break;  // needs input
      }

      case State::kTrailers: {
        if (begin_ < end_) {
          Result<bool> complete =
              TakeLine(kMaxTrailerBytes - trailer_bytes_,
                       "The trailing headers of the aws-chunked body exceed 16384 bytes.");
          if (!complete.ok()) return Fail(std::move(complete).TakeStatus());
          if (!*complete) continue;
          if (line_.size() < 2 || line_[line_.size() - 2] != '\r') {
            return Fail(Malformed("A trailing header line does not end in CRLF."));
          }
          trailer_bytes_ += line_.size();
          std::string line = std::move(line_);
          line_.clear();
          Status status = line.size() == 2
                              ? FinishTrailers()
                              : TakeTrailerLine(std::string_view(line).substr(0, line.size() - 2));
          if (!status.ok()) return Fail(std::move(status));
          if (line.size() == 2) state_ = State::kEpilogue;
          continue;
        }
        break;  // needs input
      }

      case State::kEpilogue:
        if (begin_ < end_) {
          return Fail(Malformed("The request body continues after the final aws-chunked chunk."));
        }
        break;  // the raw body must end now: needs input to see that
    }

    // The buffer ran dry in a parsing state. Return what this call produced rather than block;
    // otherwise wait for more of the raw body.
    if (produced > 0) return produced;
    Result<bool> filled = Fill();
    if (!filled.ok()) return Fail(std::move(filled).TakeStatus());
    if (!*filled) {
      Status status = OnRawEnd();
      if (!status.ok()) return Fail(std::move(status));
    }
  }
}

}  // namespace hangar::auth
