#include "s3/checksum.h"

#include <isa-l/crc.h>

#include <algorithm>
#include <array>
#include <climits>

#include "common/check.h"
#include "common/strings.h"
#include "crypto/base64.h"

namespace hangar::s3 {
namespace {

struct AlgorithmInfo {
  ChecksumAlgorithm algorithm;
  std::string_view name;         // canonical, upper case
  std::string_view header_name;  // lower case
  size_t digest_size;
};

constexpr std::array<AlgorithmInfo, 5> kAlgorithms = {{
    {ChecksumAlgorithm::kCrc32, "CRC32", "x-amz-checksum-crc32", 4},
    {ChecksumAlgorithm::kCrc32c, "CRC32C", "x-amz-checksum-crc32c", 4},
    {ChecksumAlgorithm::kCrc64Nvme, "CRC64NVME", "x-amz-checksum-crc64nvme", 8},
    {ChecksumAlgorithm::kSha1, "SHA1", "x-amz-checksum-sha1", 20},
    {ChecksumAlgorithm::kSha256, "SHA256", "x-amz-checksum-sha256", 32},
}};

const AlgorithmInfo& InfoOf(ChecksumAlgorithm algorithm) {
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (info.algorithm == algorithm) return info;
  }
  HANGAR_CHECK(false && "unknown ChecksumAlgorithm");
  return kAlgorithms[0];
}

// CRC-64/NVME (NVM Express NVM Command Set Specification §5.2.1.3.4; catalogued as "CRC-64/NVME"
// in Greg Cook's CRC catalogue): polynomial 0xAD93D23594C93659, reflected input and output,
// init and xorout all ones; check value for "123456789" is 0xAE8B14860A799888.
// Debian ships no library for it (ISA-L 2.30 has the ECMA, ISO and Jones CRC-64s but not this
// one; crc64_rocksoft arrived later), so it is table-driven here. Slice-by-8: eight 256-entry
// tables, built at compile time, fold eight input bytes per step.
constexpr uint64_t kCrc64NvmeReflectedPoly = 0x9A6C9329AC4BC9B5;  // bit-reverse of 0xAD93D235...

using Crc64Tables = std::array<std::array<uint64_t, 256>, 8>;

constexpr Crc64Tables MakeCrc64NvmeTables() {
  Crc64Tables t{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t crc = i;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? kCrc64NvmeReflectedPoly : 0);
    t[0][i] = crc;
  }
  // t[k][i]: the register contribution of byte value i followed by k zero bytes.
  for (size_t k = 1; k < 8; ++k) {
    for (size_t i = 0; i < 256; ++i) t[k][i] = (t[k - 1][i] >> 8) ^ t[0][t[k - 1][i] & 0xff];
  }
  return t;
}

constexpr Crc64Tables kCrc64Nvme = MakeCrc64NvmeTables();

// `reg` is the pre-inverted register.
uint64_t Crc64NvmeUpdate(uint64_t reg, const uint8_t* p, size_t n) {
  while (n >= 8) {
    // Little-endian load written byte by byte: portable, and compiles to one load on x86/arm64.
    uint64_t v = 0;
    for (int b = 7; b >= 0; --b) v = (v << 8) | p[b];
    v ^= reg;
    reg = kCrc64Nvme[7][v & 0xff] ^ kCrc64Nvme[6][(v >> 8) & 0xff] ^
          kCrc64Nvme[5][(v >> 16) & 0xff] ^ kCrc64Nvme[4][(v >> 24) & 0xff] ^
          kCrc64Nvme[3][(v >> 32) & 0xff] ^ kCrc64Nvme[2][(v >> 40) & 0xff] ^
          kCrc64Nvme[1][(v >> 48) & 0xff] ^ kCrc64Nvme[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n-- > 0) reg = kCrc64Nvme[0][(reg ^ *p++) & 0xff] ^ (reg >> 8);
  return reg;
}

// CRC combination (for FULL_OBJECT multipart checksums): crc(A‖B) from crc(A), crc(B) and |B|,
// zlib's crc32_combine method generalised to the three reflected CRCs S3 uses. All three have
// init = xorout = all ones, so crc(A‖B) = crc(A)·x^(8|B|) mod P  ⊕  crc(B) in GF(2)[x], with
// polynomials in reflected bit order (the top bit is x^0).
struct CrcShape {
  uint64_t reflected_poly;
  int width;
};

CrcShape ShapeOf(ChecksumAlgorithm algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
      return {0xEDB88320, 32};
    case ChecksumAlgorithm::kCrc32c:
      return {0x82F63B78, 32};
    default:
      return {kCrc64NvmeReflectedPoly, 64};
  }
}

// a·b mod P.
uint64_t MultiplyModP(const CrcShape& shape, uint64_t a, uint64_t b) {
  uint64_t m = uint64_t{1} << (shape.width - 1);
  uint64_t product = 0;
  while (m != 0) {
    if (a & m) product ^= b;
    m >>= 1;
    b = (b & 1) ? (b >> 1) ^ shape.reflected_poly : b >> 1;
  }
  return product;
}

// x^(8·bytes) mod P, by squaring.
uint64_t ShiftOperator(const CrcShape& shape, uint64_t bytes) {
  uint64_t result = uint64_t{1} << (shape.width - 1);  // x^0
  uint64_t power = uint64_t{1} << (shape.width - 1 - 8);  // x^8: one byte; squared per bit of `bytes`
  while (bytes != 0) {
    if (bytes & 1) result = MultiplyModP(shape, power, result);
    power = MultiplyModP(shape, power, power);
    bytes >>= 1;
  }
  return result;
}

uint64_t FromBigEndian(std::string_view raw) {
  uint64_t v = 0;
  for (char c : raw) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

std::string BigEndian(uint64_t value, size_t bytes) {
  std::string out(bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) {
    out[bytes - 1 - i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return out;
}

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::optional<ChecksumAlgorithm> ParseChecksumAlgorithm(std::string_view name) {
  std::string lower = ToLower(name);
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (lower == ToLower(info.name)) return info.algorithm;
  }
  return std::nullopt;
}

std::optional<ChecksumAlgorithm> ChecksumAlgorithmFromHeader(std::string_view header_name) {
  std::string lower = ToLower(header_name);
  for (const AlgorithmInfo& info : kAlgorithms) {
    if (lower == info.header_name) return info.algorithm;
  }
  return std::nullopt;
}

std::string_view ChecksumAlgorithmName(ChecksumAlgorithm algorithm) {
  return InfoOf(algorithm).name;
}

std::string_view ChecksumHeaderName(ChecksumAlgorithm algorithm) {
  return InfoOf(algorithm).header_name;
}

size_t ChecksumDigestSize(ChecksumAlgorithm algorithm) { return InfoOf(algorithm).digest_size; }

bool SupportsCompositeChecksum(ChecksumAlgorithm algorithm) {
  return algorithm != ChecksumAlgorithm::kCrc64Nvme;
}

bool SupportsFullObjectChecksum(ChecksumAlgorithm algorithm) {
  return algorithm == ChecksumAlgorithm::kCrc32 || algorithm == ChecksumAlgorithm::kCrc32c ||
         algorithm == ChecksumAlgorithm::kCrc64Nvme;
}

Checksummer::Checksummer(ChecksumAlgorithm algorithm) : algorithm_(algorithm) {
  switch (algorithm) {
    case ChecksumAlgorithm::kCrc32:
      // crc32_gzip_refl inverts on entry and exit itself, so it is seeded with the finished CRC
      // of the empty string (0) and each call's result seeds the next, like zlib's crc32().
      crc_ = 0;
      break;
    case ChecksumAlgorithm::kCrc32c:
      // crc32_iscsi does no inversion: it takes and returns the raw register, so the standard
      // CRC-32C needs init 0xFFFFFFFF here and the final XOR in Finish().
      crc_ = 0xFFFFFFFFu;
      break;
    case ChecksumAlgorithm::kCrc64Nvme:
      crc_ = ~uint64_t{0};
      break;
    case ChecksumAlgorithm::kSha1:
      digest_.emplace(crypto::DigestAlgorithm::kSha1);
      break;
    case ChecksumAlgorithm::kSha256:
      digest_.emplace(crypto::DigestAlgorithm::kSha256);
      break;
  }
}

void Checksummer::Update(std::span<const uint8_t> data) {
  HANGAR_CHECK(!finished_);
  switch (algorithm_) {
    case ChecksumAlgorithm::kCrc32:
      crc_ = crc32_gzip_refl(static_cast<uint32_t>(crc_), data.data(), data.size());
      break;
    case ChecksumAlgorithm::kCrc32c: {
      // crc32_iscsi takes an int length and a non-const pointer (it does not write through it).
      auto* p = const_cast<unsigned char*>(data.data());
      size_t left = data.size();
      while (left > 0) {
        size_t n = std::min<size_t>(left, size_t{1} << 30);
        crc_ = crc32_iscsi(p, static_cast<int>(n), static_cast<unsigned int>(crc_));
        p += n;
        left -= n;
      }
      break;
    }
    case ChecksumAlgorithm::kCrc64Nvme:
      crc_ = Crc64NvmeUpdate(crc_, data.data(), data.size());
      break;
    case ChecksumAlgorithm::kSha1:
    case ChecksumAlgorithm::kSha256:
      digest_->Update(data);
      break;
  }
}

void Checksummer::Update(std::string_view data) { Update(AsBytes(data)); }

std::string Checksummer::Finish() {
  HANGAR_CHECK(!finished_);
  finished_ = true;
  switch (algorithm_) {
    case ChecksumAlgorithm::kCrc32:
      return BigEndian(crc_ & 0xFFFFFFFFu, 4);
    case ChecksumAlgorithm::kCrc32c:
      return BigEndian(~crc_ & 0xFFFFFFFFu, 4);
    case ChecksumAlgorithm::kCrc64Nvme:
      return BigEndian(~crc_, 8);
    case ChecksumAlgorithm::kSha1:
    case ChecksumAlgorithm::kSha256:
      return digest_->Finish();
  }
  HANGAR_CHECK(false && "unknown ChecksumAlgorithm");
  return {};
}

std::string Checksummer::FinishBase64() { return crypto::Base64Encode(Finish()); }

std::string ComputeChecksum(ChecksumAlgorithm algorithm, std::string_view data) {
  Checksummer c(algorithm);
  c.Update(data);
  return c.Finish();
}

std::string ComputeChecksumBase64(ChecksumAlgorithm algorithm, std::string_view data) {
  return crypto::Base64Encode(ComputeChecksum(algorithm, data));
}

std::string CompositeChecksum(ChecksumAlgorithm algorithm,
                              std::span<const std::string> part_digests) {
  Checksummer c(algorithm);
  for (const std::string& part : part_digests) {
    HANGAR_CHECK(part.size() == ChecksumDigestSize(algorithm));
    c.Update(part);
  }
  return c.FinishBase64() + "-" + std::to_string(part_digests.size());
}

std::optional<std::string> CombineFullObjectChecksum(ChecksumAlgorithm algorithm,
                                                     std::span<const ChecksumPiece> pieces) {
  if (!SupportsFullObjectChecksum(algorithm) || pieces.empty()) return std::nullopt;
  const CrcShape shape = ShapeOf(algorithm);
  const size_t size = ChecksumDigestSize(algorithm);
  uint64_t crc = 0;
  bool first = true;
  for (const ChecksumPiece& piece : pieces) {
    HANGAR_CHECK(piece.digest.size() == size);
    const uint64_t next = FromBigEndian(piece.digest);
    crc = first ? next : MultiplyModP(shape, ShiftOperator(shape, piece.length), crc) ^ next;
    first = false;
  }
  return BigEndian(crc, size);
}

std::optional<std::string> DecodeChecksumValue(ChecksumAlgorithm algorithm,
                                               std::string_view value) {
  std::optional<std::string> raw = crypto::Base64Decode(Trim(value));
  if (!raw || raw->size() != ChecksumDigestSize(algorithm)) return std::nullopt;
  return raw;
}

Result<std::string> ParseChecksumHeaderValue(ChecksumAlgorithm algorithm, std::string_view value) {
  std::optional<std::string> raw = DecodeChecksumValue(algorithm, value);
  if (!raw) return InvalidChecksumValueError(algorithm);
  return std::move(*raw);
}

Status InvalidChecksumValueError(ChecksumAlgorithm algorithm) {
  return Status(ErrorCode::kInvalidRequest,
                "Value for " + std::string(ChecksumHeaderName(algorithm)) + " header is invalid.");
}

Status ChecksumMismatchError(ChecksumAlgorithm algorithm) {
  return Status(ErrorCode::kBadDigest, "The " + std::string(ChecksumAlgorithmName(algorithm)) +
                                           " you specified did not match the calculated checksum.");
}

Status MultipleChecksumHeadersError() {
  return Status(ErrorCode::kInvalidRequest,
                "Expecting a single x-amz-checksum- header. Multiple checksum Types are not "
                "allowed.");
}

Status VerifyChecksum(ChecksumAlgorithm algorithm, std::string_view expected_raw,
                      std::string_view calculated_raw) {
  if (expected_raw == calculated_raw) return Status::Ok();
  return ChecksumMismatchError(algorithm);
}

Result<std::string> ParseContentMd5(std::string_view header_value) {
  std::optional<std::string> raw = crypto::Base64Decode(Trim(header_value));
  if (!raw || raw->size() != 16) {
    Status status(ErrorCode::kInvalidDigest, "The Content-MD5 you specified was invalid.");
    status.WithField("Content-MD5", std::string(header_value));
    return status;
  }
  return std::move(*raw);
}

Status CheckContentMd5(std::string_view expected_raw, std::string_view calculated_raw) {
  if (expected_raw == calculated_raw) return Status::Ok();
  Status status(ErrorCode::kBadDigest,
                "The Content-MD5 you specified did not match what we received.");
  status.WithField("ExpectedDigest", HexEncode(expected_raw))
      .WithField("CalculatedDigest", crypto::Base64Encode(calculated_raw));
  return status;
}

}  // namespace hangar::s3
