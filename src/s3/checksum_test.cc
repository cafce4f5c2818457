#include "s3/checksum.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "common/strings.h"
#include "crypto/base64.h"
#include "crypto/digest.h"

namespace hangar::s3 {
namespace {

constexpr ChecksumAlgorithm kAll[] = {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c,
                                      ChecksumAlgorithm::kCrc64Nvme, ChecksumAlgorithm::kSha1,
                                      ChecksumAlgorithm::kSha256};

std::string FieldOf(const Status& status, std::string_view name) {
  for (const auto& [key, value] : status.fields()) {
    if (key == name) return value;
  }
  return "<missing>";
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

// 0x00..0xff four times, then "xyz": 1027 bytes, so the slice-by-8 loop and its byte tail both run.
std::string Ramp() {
  std::string out;
  for (int r = 0; r < 4; ++r) {
    for (int i = 0; i < 256; ++i) out.push_back(static_cast<char>(i));
  }
  return out + "xyz";
}

// Bit-at-a-time reflected CRCs straight from the definitions, to cross-check the table-driven
// CRC64NVME and ISA-L's CRC32C on arbitrary input.
uint64_t BitwiseReflectedCrc(std::string_view data, uint64_t reflected_poly, uint64_t mask) {
  uint64_t crc = mask;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? reflected_poly : 0);
  }
  return (crc ^ mask) & mask;
}

std::string BigEndianHex(uint64_t value, int bytes) {
  std::string raw(static_cast<size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    raw[static_cast<size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return HexEncode(raw);
}

// --- Known answers -------------------------------------------------------------------------------

// The standard check values ("123456789") from the CRC catalogue and the NVMe specification.
TEST(ChecksumTest, CrcCheckValuesMatchTheStandards) {
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgorithm::kCrc32, "123456789")), "cbf43926");
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgorithm::kCrc32c, "123456789")), "e3069283");
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgorithm::kCrc64Nvme, "123456789")),
            "ae8b14860a799888");
}

struct KnownAnswer {
  std::string input;
  ChecksumAlgorithm algorithm;
  std::string base64;
};

// Expected values computed independently with Python (zlib.crc32, hashlib, and bitwise
// CRC32C/CRC64NVME reference functions); CRC32("data") = "rfPzYw==" is also what AWS returned in
// LocalStack's recorded CopyObject snapshot (test_s3_preconditions.snapshot.json).
std::vector<KnownAnswer> KnownAnswers() {
  using A = ChecksumAlgorithm;
  return {
      {"", A::kCrc32, "AAAAAA=="},
      {"", A::kCrc32c, "AAAAAA=="},
      {"", A::kCrc64Nvme, "AAAAAAAAAAA="},
      {"", A::kSha1, "2jmj7l5rSw0yVb/vlWAYkK/YBwk="},
      {"", A::kSha256, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},
      {"123456789", A::kCrc32, "y/Q5Jg=="},
      {"123456789", A::kCrc32c, "4waSgw=="},
      {"123456789", A::kCrc64Nvme, "rosUhgp5mIg="},
      {"123456789", A::kSha1, "98O8HYCOBHMq32eZZczDTKeuNEE="},
      {"123456789", A::kSha256, "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="},
      {"hello world", A::kCrc32, "DUoRhQ=="},
      {"hello world", A::kCrc32c, "yZRlqg=="},
      {"hello world", A::kCrc64Nvme, "jSnVw/bqjr4="},
      {"hello world", A::kSha1, "Kq5sNclPz7QV2+lfQIuc6R7oRu0="},
      {"hello world", A::kSha256, "uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek="},
      {"data", A::kCrc32, "rfPzYw=="},
      {"data", A::kCrc32c, "rth90Q=="},
      {"data", A::kCrc64Nvme, "7a5hQ478J4A="},
      {"data", A::kSha1, "oXyaqmHoChv3HQ2FCvTluqmAC70="},
      {"data", A::kSha256, "Om6weQ85rIfJTzhWst0sXREOaBFgImGpqSPTuyOtyLc="},
      {"a", A::kCrc32, "6Le+Qw=="},
      {"a", A::kCrc32c, "wdBDMA=="},
      {"a", A::kCrc64Nvme, "jC+ERbTL/Dw="},
      {Ramp(), A::kCrc32, "HFBZAw=="},
      {Ramp(), A::kCrc32c, "GyIvRQ=="},
      {Ramp(), A::kCrc64Nvme, "s4xkOkh28Kc="},
      {Ramp(), A::kSha1, "WXhKaPXMYXJrGVKTLPDyWLC+CuQ="},
      {Ramp(), A::kSha256, "MrN3OQ4HLDfP65uzJ9iCVhaBmnawrTdJ4W/iLlOvvfw="},
  };
}

TEST(ChecksumTest, WireValuesMatchKnownAnswers) {
  for (const KnownAnswer& k : KnownAnswers()) {
    SCOPED_TRACE(std::string(ChecksumAlgorithmName(k.algorithm)) + " of " +
                 std::to_string(k.input.size()) + " bytes");
    EXPECT_EQ(ComputeChecksumBase64(k.algorithm, k.input), k.base64);
    Checksummer c(k.algorithm);
    c.Update(k.input);
    EXPECT_EQ(c.FinishBase64(), k.base64);
  }
}

TEST(ChecksumTest, FinishReturnsRawBigEndianDigestOfTheAlgorithmsSize) {
  for (ChecksumAlgorithm a : kAll) {
    std::string raw = ComputeChecksum(a, "hello world");
    EXPECT_EQ(raw.size(), ChecksumDigestSize(a)) << ChecksumAlgorithmName(a);
    EXPECT_EQ(crypto::Base64Encode(raw), ComputeChecksumBase64(a, "hello world"));
  }
  // Big-endian: the most significant byte of 0x0D4A1185 comes first.
  EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgorithm::kCrc32, "hello world")), "0d4a1185");
}

TEST(ChecksumTest, ShaAlgorithmsAgreeWithCryptoDigest) {
  std::string data = RandomBytes(5000, 7);
  crypto::Digest sha1(crypto::DigestAlgorithm::kSha1);
  sha1.Update(data);
  crypto::Digest sha256(crypto::DigestAlgorithm::kSha256);
  sha256.Update(data);
  EXPECT_EQ(ComputeChecksum(ChecksumAlgorithm::kSha1, data), sha1.Finish());
  EXPECT_EQ(ComputeChecksum(ChecksumAlgorithm::kSha256, data), sha256.Finish());
}

TEST(ChecksumTest, CrcsAgreeWithBitwiseReferenceOnRandomInput) {
  for (size_t n : {0u, 1u, 7u, 8u, 9u, 15u, 16u, 17u, 63u, 64u, 65u, 1000u, 4099u}) {
    std::string data = RandomBytes(n, static_cast<uint32_t>(n) + 1);
    EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgorithm::kCrc64Nvme, data)),
              BigEndianHex(BitwiseReflectedCrc(data, 0x9A6C9329AC4BC9B5ull, ~uint64_t{0}), 8))
        << n;
    EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgorithm::kCrc32c, data)),
              BigEndianHex(BitwiseReflectedCrc(data, 0x82F63B78u, 0xFFFFFFFFu), 4))
        << n;
    EXPECT_EQ(HexEncode(ComputeChecksum(ChecksumAlgorithm::kCrc32, data)),
              BigEndianHex(BitwiseReflectedCrc(data, 0xEDB88320u, 0xFFFFFFFFu), 4))
        << n;
  }
}

// --- Incremental updates -------------------------------------------------------------------------

TEST(ChecksumTest, EverySplitIntoTwoUpdatesEqualsOneShot) {
  std::string data = RandomBytes(70, 42);
  for (ChecksumAlgorithm a : kAll) {
    std::string expected = ComputeChecksum(a, data);
    for (size_t cut = 0; cut <= data.size(); ++cut) {
      Checksummer c(a);
      c.Update(std::string_view(data).substr(0, cut));
      c.Update(std::string_view(data).substr(cut));
      ASSERT_EQ(c.Finish(), expected) << ChecksumAlgorithmName(a) << " cut at " << cut;
    }
  }
}

TEST(ChecksumTest, RandomChunkingEqualsOneShot) {
  std::mt19937 rng(1234);
  std::string data = RandomBytes(100000, 99);
  for (ChecksumAlgorithm a : kAll) {
    std::string expected = ComputeChecksum(a, data);
    for (int trial = 0; trial < 10; ++trial) {
      Checksummer c(a);
      size_t pos = 0;
      while (pos < data.size()) {
        size_t n = std::min<size_t>(data.size() - pos, rng() % 3000);
        c.Update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()) + pos, n));
        pos += n;
      }
      ASSERT_EQ(c.Finish(), expected) << ChecksumAlgorithmName(a) << " trial " << trial;
    }
  }
}

TEST(ChecksumTest, EmptyUpdatesChangeNothing) {
  for (ChecksumAlgorithm a : kAll) {
    Checksummer c(a);
    c.Update("");
    c.Update("hello");
    c.Update(std::span<const uint8_t>());
    c.Update(" world");
    c.Update("");
    EXPECT_EQ(c.Finish(), ComputeChecksum(a, "hello world")) << ChecksumAlgorithmName(a);
  }
}

TEST(ChecksumTest, MovedChecksummerKeepsItsState) {
  for (ChecksumAlgorithm a : kAll) {
    Checksummer c(a);
    c.Update("hello ");
    Checksummer moved = std::move(c);
    moved.Update("world");
    EXPECT_EQ(moved.algorithm(), a);
    EXPECT_EQ(moved.Finish(), ComputeChecksum(a, "hello world")) << ChecksumAlgorithmName(a);
  }
}

TEST(ChecksumDeathTest, UsingAFinishedChecksummerIsABug) {
  EXPECT_DEATH(
      {
        Checksummer c(ChecksumAlgorithm::kCrc32);
        c.Finish();
        c.Update("x");
      },
      "finished_");
}

// --- Names ---------------------------------------------------------------------------------------

TEST(ChecksumTest, ParsesAlgorithmNamesCaseInsensitively) {
  struct Case {
    std::string_view text;
    std::optional<ChecksumAlgorithm> want;
  };
  const Case cases[] = {
      {"CRC32", ChecksumAlgorithm::kCrc32},
      {"crc32", ChecksumAlgorithm::kCrc32},
      {"CRC32C", ChecksumAlgorithm::kCrc32c},
      {"crc32c", ChecksumAlgorithm::kCrc32c},
      {"Crc32C", ChecksumAlgorithm::kCrc32c},
      {"CRC64NVME", ChecksumAlgorithm::kCrc64Nvme},
      {"crc64nvme", ChecksumAlgorithm::kCrc64Nvme},
      {"SHA1", ChecksumAlgorithm::kSha1},
      {"sha1", ChecksumAlgorithm::kSha1},
      {"SHA256", ChecksumAlgorithm::kSha256},
      {"Sha256", ChecksumAlgorithm::kSha256},
      {"", std::nullopt},
      {"CRC", std::nullopt},
      {"CRC64", std::nullopt},
      {"SHA-256", std::nullopt},
      {"SHA512", std::nullopt},
      {"MD5", std::nullopt},
      {"XXHASH64", std::nullopt},
      {"CRC32 ", std::nullopt},
      {"x-amz-checksum-crc32", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(ParseChecksumAlgorithm(c.text), c.want) << c.text;
}

TEST(ChecksumTest, RecognisesOnlyChecksumValueHeaders) {
  struct Case {
    std::string_view header;
    std::optional<ChecksumAlgorithm> want;
  };
  const Case cases[] = {
      {"x-amz-checksum-crc32", ChecksumAlgorithm::kCrc32},
      {"X-Amz-Checksum-CRC32", ChecksumAlgorithm::kCrc32},
      {"x-amz-checksum-crc32c", ChecksumAlgorithm::kCrc32c},
      {"x-amz-checksum-crc64nvme", ChecksumAlgorithm::kCrc64Nvme},
      {"x-amz-checksum-sha1", ChecksumAlgorithm::kSha1},
      {"X-AMZ-CHECKSUM-SHA256", ChecksumAlgorithm::kSha256},
      {"x-amz-checksum-type", std::nullopt},
      {"x-amz-checksum-mode", std::nullopt},
      {"x-amz-checksum-algorithm", std::nullopt},
      {"x-amz-sdk-checksum-algorithm", std::nullopt},
      {"x-amz-checksum-", std::nullopt},
      {"x-amz-checksum-sha512", std::nullopt},
      {"x-amz-checksum-md5", std::nullopt},
      {"checksum-crc32", std::nullopt},
      {"crc32", std::nullopt},
      {"content-md5", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(ChecksumAlgorithmFromHeader(c.header), c.want) << c.header;
}

TEST(ChecksumTest, NamesRoundTripAndHaveTheWireSpelling) {
  EXPECT_EQ(ChecksumAlgorithmName(ChecksumAlgorithm::kCrc32), "CRC32");
  EXPECT_EQ(ChecksumAlgorithmName(ChecksumAlgorithm::kCrc32c), "CRC32C");
  EXPECT_EQ(ChecksumAlgorithmName(ChecksumAlgorithm::kCrc64Nvme), "CRC64NVME");
  EXPECT_EQ(ChecksumAlgorithmName(ChecksumAlgorithm::kSha1), "SHA1");
  EXPECT_EQ(ChecksumAlgorithmName(ChecksumAlgorithm::kSha256), "SHA256");
  EXPECT_EQ(ChecksumHeaderName(ChecksumAlgorithm::kCrc64Nvme), "x-amz-checksum-crc64nvme");
  for (ChecksumAlgorithm a : kAll) {
    EXPECT_EQ(ParseChecksumAlgorithm(ChecksumAlgorithmName(a)), a);
    EXPECT_EQ(ChecksumAlgorithmFromHeader(ChecksumHeaderName(a)), a);
  }
  EXPECT_EQ(ChecksumDigestSize(ChecksumAlgorithm::kCrc32), 4u);
  EXPECT_EQ(ChecksumDigestSize(ChecksumAlgorithm::kCrc32c), 4u);
  EXPECT_EQ(ChecksumDigestSize(ChecksumAlgorithm::kCrc64Nvme), 8u);
  EXPECT_EQ(ChecksumDigestSize(ChecksumAlgorithm::kSha1), 20u);
  EXPECT_EQ(ChecksumDigestSize(ChecksumAlgorithm::kSha256), 32u);
}

TEST(ChecksumTest, ChecksumTypeSupportFollowsS3) {
  EXPECT_TRUE(SupportsCompositeChecksum(ChecksumAlgorithm::kCrc32));
  EXPECT_TRUE(SupportsCompositeChecksum(ChecksumAlgorithm::kCrc32c));
  EXPECT_FALSE(SupportsCompositeChecksum(ChecksumAlgorithm::kCrc64Nvme));
  EXPECT_TRUE(SupportsCompositeChecksum(ChecksumAlgorithm::kSha1));
  EXPECT_TRUE(SupportsCompositeChecksum(ChecksumAlgorithm::kSha256));
  EXPECT_TRUE(SupportsFullObjectChecksum(ChecksumAlgorithm::kCrc32));
  EXPECT_TRUE(SupportsFullObjectChecksum(ChecksumAlgorithm::kCrc32c));
  EXPECT_TRUE(SupportsFullObjectChecksum(ChecksumAlgorithm::kCrc64Nvme));
  EXPECT_FALSE(SupportsFullObjectChecksum(ChecksumAlgorithm::kSha1));
  EXPECT_FALSE(SupportsFullObjectChecksum(ChecksumAlgorithm::kSha256));
}

// --- COMPOSITE -----------------------------------------------------------------------------------

// The combined value must equal the checksum computed over the whole data at once, for every
// split point pattern, including empty and odd-sized pieces.
TEST(ChecksumTest, FullObjectCombinationEqualsTheWholeDataChecksum) {
  std::string data;
  for (int i = 0; i < 70000; ++i) data.push_back(static_cast<char>((i * 131 + i / 7) & 0xff));
  const std::vector<std::vector<size_t>> splits = {
      {70000}, {1, 69999}, {35000, 35000}, {0, 5, 69995}, {4096, 12345, 1, 53558, 0}};
  for (ChecksumAlgorithm algorithm :
       {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme}) {
    const std::string whole = ComputeChecksum(algorithm, data);
    for (const auto& sizes : splits) {
      std::vector<ChecksumPiece> pieces;
      size_t offset = 0;
      for (size_t n : sizes) {
        pieces.push_back({ComputeChecksum(algorithm, std::string_view(data).substr(offset, n)), n});
        offset += n;
      }
      ASSERT_EQ(offset, data.size());
      auto combined = CombineFullObjectChecksum(algorithm, pieces);
      ASSERT_TRUE(combined.has_value());
      EXPECT_EQ(*combined, whole) << ChecksumAlgorithmName(algorithm) << " pieces " << sizes.size();
    }
  }
  std::vector<ChecksumPiece> sha = {{ComputeChecksum(ChecksumAlgorithm::kSha256, "x"), 1}};
  EXPECT_FALSE(CombineFullObjectChecksum(ChecksumAlgorithm::kSha256, sha).has_value());
}

TEST(ChecksumTest, CompositeIsChecksumOfConcatenatedPartDigestsWithPartCount) {
  // Expected values from Python: base64(alg(alg("hello ") || alg("world"))) + "-2".
  const std::vector<std::string> parts = {"hello ", "world"};
  struct Case {
    ChecksumAlgorithm algorithm;
    std::string want;
  };
  const Case cases[] = {
      {ChecksumAlgorithm::kCrc32, "1Fu2mQ==-2"},
      {ChecksumAlgorithm::kCrc32c, "vUZpoA==-2"},
      {ChecksumAlgorithm::kSha256, "Zhie15keHg/OBlOZxcoF/BXCgYZaeimRvdZnwUZqkaQ=-2"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> digests;
    for (const std::string& p : parts) digests.push_back(ComputeChecksum(c.algorithm, p));
    EXPECT_EQ(CompositeChecksum(c.algorithm, digests), c.want)
        << ChecksumAlgorithmName(c.algorithm);
  }
}

TEST(ChecksumTest, CompositeOfOnePartIsNotThePartsOwnChecksum) {
  std::string part = ComputeChecksum(ChecksumAlgorithm::kSha1, "only part");
  std::string composite = CompositeChecksum(ChecksumAlgorithm::kSha1, std::vector{part});
  EXPECT_EQ(composite, ComputeChecksumBase64(ChecksumAlgorithm::kSha1, part) + "-1");
  EXPECT_NE(composite, crypto::Base64Encode(part) + "-1");
}

TEST(ChecksumTest, CompositeCountsEveryPart) {
  std::vector<std::string> digests;
  for (int i = 0; i < 10000; ++i) {
    digests.push_back(ComputeChecksum(ChecksumAlgorithm::kCrc32, std::to_string(i)));
  }
  std::string composite = CompositeChecksum(ChecksumAlgorithm::kCrc32, digests);
  EXPECT_TRUE(composite.ends_with("==-10000")) << composite;
}

// --- Client values and errors --------------------------------------------------------------------

TEST(ChecksumTest, DecodesValidClientValues) {
  for (const KnownAnswer& k : KnownAnswers()) {
    std::optional<std::string> raw = DecodeChecksumValue(k.algorithm, k.base64);
    ASSERT_TRUE(raw.has_value()) << k.base64;
    EXPECT_EQ(*raw, ComputeChecksum(k.algorithm, k.input));
  }
  // Header values may reach us with surrounding optional whitespace.
  EXPECT_TRUE(DecodeChecksumValue(ChecksumAlgorithm::kCrc32, " y/Q5Jg== ").has_value());
}

TEST(ChecksumTest, RejectsMalformedClientValues) {
  struct Case {
    ChecksumAlgorithm algorithm;
    std::string value;
  };
  const Case cases[] = {
      {ChecksumAlgorithm::kCrc32, ""},
      {ChecksumAlgorithm::kCrc32, "y/Q5Jg"},        // padding missing
      {ChecksumAlgorithm::kCrc32, "y/Q5Jg=!"},      // not base64
      {ChecksumAlgorithm::kCrc32, "cbf43926"},      // hex, decodes to 6 bytes
      {ChecksumAlgorithm::kCrc32, "rosUhgp5mIg="},  // a CRC64 (8 bytes)
      {ChecksumAlgorithm::kCrc32, "y/Q5 Jg=="},     // space inside
      {ChecksumAlgorithm::kCrc32c, "AAAA"},         // 3 bytes
      {ChecksumAlgorithm::kCrc64Nvme, "y/Q5Jg=="},  // a CRC32 (4 bytes)
      {ChecksumAlgorithm::kSha1, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="},  // 32 bytes
      {ChecksumAlgorithm::kSha256, "2jmj7l5rSw0yVb/vlWAYkK/YBwk="},                // 20 bytes
  };
  for (const Case& c : cases) {
    EXPECT_FALSE(DecodeChecksumValue(c.algorithm, c.value).has_value()) << c.value;
    Result<std::string> parsed = ParseChecksumHeaderValue(c.algorithm, c.value);
    ASSERT_FALSE(parsed.ok()) << c.value;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidRequest);
    EXPECT_EQ(parsed.status().message(), InvalidChecksumValueError(c.algorithm).message());
  }
}

TEST(ChecksumTest, ParseChecksumHeaderValueReturnsTheRawDigest) {
  Result<std::string> parsed = ParseChecksumHeaderValue(ChecksumAlgorithm::kCrc32c, "4waSgw==");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(HexEncode(*parsed), "e3069283");
}

TEST(ChecksumTest, ErrorStatusesCarryS3sExactWording) {
  Status invalid = InvalidChecksumValueError(ChecksumAlgorithm::kCrc32);
  EXPECT_EQ(invalid.code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(invalid.message(), "Value for x-amz-checksum-crc32 header is invalid.");
  EXPECT_EQ(InvalidChecksumValueError(ChecksumAlgorithm::kCrc64Nvme).message(),
            "Value for x-amz-checksum-crc64nvme header is invalid.");

  Status mismatch = ChecksumMismatchError(ChecksumAlgorithm::kCrc32);
  EXPECT_EQ(mismatch.code(), ErrorCode::kBadDigest);
  EXPECT_EQ(mismatch.message(), "The CRC32 you specified did not match the calculated checksum.");
  EXPECT_EQ(ChecksumMismatchError(ChecksumAlgorithm::kSha256).message(),
            "The SHA256 you specified did not match the calculated checksum.");

  Status multiple = MultipleChecksumHeadersError();
  EXPECT_EQ(multiple.code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(multiple.message(),
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
}

TEST(ChecksumTest, VerifyChecksumAcceptsEqualAndRejectsDifferentDigests) {
  std::string good = ComputeChecksum(ChecksumAlgorithm::kCrc32c, "body");
  std::string bad = ComputeChecksum(ChecksumAlgorithm::kCrc32c, "bodz");
  EXPECT_TRUE(VerifyChecksum(ChecksumAlgorithm::kCrc32c, good, good).ok());
  Status status = VerifyChecksum(ChecksumAlgorithm::kCrc32c, bad, good);
  EXPECT_EQ(status.code(), ErrorCode::kBadDigest);
  EXPECT_EQ(status.message(), "The CRC32C you specified did not match the calculated checksum.");
}

// --- Content-MD5 ---------------------------------------------------------------------------------

TEST(ContentMd5Test, ParsesBase64OfSixteenBytes) {
  Result<std::string> raw = ParseContentMd5("XrY7u+Ae7tCTyyK7j1rNww==");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(*raw, crypto::Md5("hello world"));
}

TEST(ContentMd5Test, RejectsAnythingButBase64OfSixteenBytes) {
  const std::string cases[] = {
      "",
      "abc",
      "XrY7u+Ae7tCTyyK7j1rNww",            // padding missing
      "XrY7u+Ae7tCTyyK7j1rN",              // 15 bytes
      "5eb63bbbe01eeed093cb22bb8f5acdc3",  // hex: valid base64 alphabet, but 24 bytes
      "XrY7u+Ae7tCTyyK7j1rNww==XrY7",      // trailing garbage
      "XrY7u+Ae7tCTyyK7j1rNw*==",          // bad character
  };
  for (const std::string& value : cases) {
    Result<std::string> raw = ParseContentMd5(value);
    ASSERT_FALSE(raw.ok()) << value;
    EXPECT_EQ(raw.status().code(), ErrorCode::kInvalidDigest);
    EXPECT_EQ(raw.status().message(), "The Content-MD5 you specified was invalid.");
    EXPECT_EQ(FieldOf(raw.status(), "Content-MD5"), value);
  }
}

TEST(ContentMd5Test, MismatchReportsExpectedHexAndCalculatedBase64) {
  std::string expected = crypto::Md5("hello world");
  std::string calculated = crypto::Md5("hello worle");
  EXPECT_TRUE(CheckContentMd5(expected, expected).ok());
  Status status = CheckContentMd5(expected, calculated);
  EXPECT_EQ(status.code(), ErrorCode::kBadDigest);
  EXPECT_EQ(status.message(), "The Content-MD5 you specified did not match what we received.");
  EXPECT_EQ(FieldOf(status, "ExpectedDigest"), "5eb63bbbe01eeed093cb22bb8f5acdc3");
  EXPECT_EQ(FieldOf(status, "CalculatedDigest"), crypto::Base64Encode(calculated));
}

}  // namespace
}  // namespace hangar::s3
