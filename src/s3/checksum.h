#pragma once
// S3 request-integrity checksums: the x-amz-checksum-* algorithms (CRC32, CRC32C, CRC64NVME, SHA-1,
// SHA-256), their wire names and values, the multipart COMPOSITE form, and Content-MD5.
//
// Wire value of every x-amz-checksum-* header: base64 of the big-endian digest
// (docs/reference/s3.md §6; AWS User Guide "checking-object-integrity").

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/status.h"
#include "crypto/digest.h"

namespace hangar::s3 {

enum class ChecksumAlgorithm { kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256 };

// "CRC32", "crc32c", "CRC64NVME", "SHA1", "sha256" ... as sent in x-amz-checksum-algorithm and
// x-amz-sdk-checksum-algorithm; case-insensitive. nullopt for anything else (including the
// algorithms the botocore model lists but S3 does not accept on PUT: SHA512, MD5, XXHASH*).
std::optional<ChecksumAlgorithm> ParseChecksumAlgorithm(std::string_view name);

// The algorithm a header such as "x-amz-checksum-crc32" carries (header name case-insensitive);
// nullopt for any other header, including x-amz-checksum-type / -mode / -algorithm.
std::optional<ChecksumAlgorithm> ChecksumAlgorithmFromHeader(std::string_view header_name);

// Canonical upper-case name: "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256".
std::string_view ChecksumAlgorithmName(ChecksumAlgorithm algorithm);
// Lower-case header name: "x-amz-checksum-crc32", ...
std::string_view ChecksumHeaderName(ChecksumAlgorithm algorithm);
// Raw digest size in bytes: 4, 4, 8, 20, 32.
size_t ChecksumDigestSize(ChecksumAlgorithm algorithm);

// S3 rejects COMPOSITE with CRC64NVME, and FULL_OBJECT with SHA-1/SHA-256 (s3.md §6, recorded).
bool SupportsCompositeChecksum(ChecksumAlgorithm algorithm);
bool SupportsFullObjectChecksum(ChecksumAlgorithm algorithm);

// Incremental checksum over a byte stream. Not thread-safe; move-only; cheap to create.
// Update() any number of times, then exactly one Finish() or FinishBase64(); the object is spent
// afterwards (using it again is a bug and aborts).
class Checksummer {
 public:
  explicit Checksummer(ChecksumAlgorithm algorithm);
  Checksummer(Checksummer&&) noexcept = default;
  Checksummer& operator=(Checksummer&&) noexcept = default;
  Checksummer(const Checksummer&) = delete;
  Checksummer& operator=(const Checksummer&) = delete;

  ChecksumAlgorithm algorithm() const { return algorithm_; }

  void Update(std::span<const uint8_t> data);
  void Update(std::string_view data);
  // The raw big-endian digest (ChecksumDigestSize(algorithm()) bytes).
  std::string Finish();
  // base64(Finish()): the x-amz-checksum-* header value.
  std::string FinishBase64();

 private:
  ChecksumAlgorithm algorithm_;
  // CRC algorithms: the running register. CRC32 keeps zlib's convention (the finished value, which
  // ISA-L's crc32_gzip_refl takes back as its seed); CRC32C and CRC64NVME keep the pre-inverted
  // register, inverted once in Finish().
  uint64_t crc_ = 0;
  std::optional<crypto::Digest> digest_;  // SHA-1 / SHA-256 only
  bool finished_ = false;
};

// One-shot helpers: the raw digest and its base64 wire value.
std::string ComputeChecksum(ChecksumAlgorithm algorithm, std::string_view data);
std::string ComputeChecksumBase64(ChecksumAlgorithm algorithm, std::string_view data);

// The multipart COMPOSITE checksum ("checksum of checksums"): base64 of the checksum of the
// concatenated raw part digests, then "-" and the part count, e.g. "1Fu2mQ==-2".
// `part_digests` are the raw per-part digests in part order; each must be
// ChecksumDigestSize(algorithm) bytes (they are the server's own stored values, so a wrong size is
// a bug and aborts).
std::string CompositeChecksum(ChecksumAlgorithm algorithm,
                              std::span<const std::string> part_digests);

// The FULL_OBJECT checksum of data made of consecutive pieces (a multipart upload's parts), from
// each piece's raw CRC digest and length, without reading the data again. CRC32, CRC32C and
// CRC64NVME only (nullopt for SHA-1/SHA-256, which cannot be combined, and for no pieces).
struct ChecksumPiece {
  std::string digest;  // raw, ChecksumDigestSize bytes (the server's own: a wrong size aborts)
  uint64_t length = 0;
};
std::optional<std::string> CombineFullObjectChecksum(ChecksumAlgorithm algorithm,
                                                     std::span<const ChecksumPiece> pieces);

// Decodes a client-supplied x-amz-checksum-* value: the raw digest if `value` is strict base64 of
// exactly ChecksumDigestSize(algorithm) bytes, otherwise nullopt.
std::optional<std::string> DecodeChecksumValue(ChecksumAlgorithm algorithm, std::string_view value);
// DecodeChecksumValue, or the InvalidChecksumValueError status.
Result<std::string> ParseChecksumHeaderValue(ChecksumAlgorithm algorithm, std::string_view value);

// 400 InvalidRequest `Value for x-amz-checksum-crc32 header is invalid.` (malformed value).
Status InvalidChecksumValueError(ChecksumAlgorithm algorithm);
// 400 BadDigest `The CRC32 you specified did not match the calculated checksum.` (PutObject and
// UploadPart wording; CompleteMultipartUpload words it differently, see s3.md §6).
Status ChecksumMismatchError(ChecksumAlgorithm algorithm);
// 400 InvalidRequest `Expecting a single x-amz-checksum- header. Multiple checksum Types are not
// allowed.`
Status MultipleChecksumHeadersError();
// OK if `calculated_raw` equals `expected_raw` (both raw digests), else ChecksumMismatchError.
Status VerifyChecksum(ChecksumAlgorithm algorithm, std::string_view expected_raw,
                      std::string_view calculated_raw);

// Content-MD5 (RFC 1864: base64 of the 16-byte MD5 of the body).
// Returns the raw 16-byte digest the header carries.
// Errors: kInvalidDigest `The Content-MD5 you specified was invalid.` (field Content-MD5) when the
// value is not strict base64 of exactly 16 bytes.
Result<std::string> ParseContentMd5(std::string_view header_value);
// OK if the body's MD5 `calculated_raw` equals `expected_raw` (from ParseContentMd5).
// Errors: kBadDigest `The Content-MD5 you specified did not match what we received.` with fields
// ExpectedDigest (hex of the client's digest) and CalculatedDigest (base64 of ours), as recorded
// against AWS (s3.md §2, test_s3_invalid_content_md5).
Status CheckContentMd5(std::string_view expected_raw, std::string_view calculated_raw);

}  // namespace hangar::s3
