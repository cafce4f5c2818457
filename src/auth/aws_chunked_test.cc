#include "auth/aws_chunked.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <iterator>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "auth/payload_reader.h"
#include "auth/sigv4.h"
#include "common/strings.h"
#include "crypto/digest.h"
#include "crypto/hmac.h"

namespace hangar::auth {
namespace {

// The AWS documentation's example credentials and request time (S3 API Reference,
// sigv4-streaming and sigv4-streaming-trailers, "Example: PUT Object").
constexpr std::string_view kDocSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
constexpr std::string_view kDocAmzDate = "20130524T000000Z";
constexpr std::string_view kDocScope = "20130524/us-east-1/s3/aws4_request";

// ---------------------------------------------------------------------------------------------
// Test doubles and helpers.

// A BodyReader over a string that hands out at most `piece` bytes per Read (or a random size up
// to `piece` when given a generator), and optionally fails at some offset.
class StringReader final : public BodyReader {
 public:
  explicit StringReader(std::string data, size_t piece = SIZE_MAX, std::mt19937* rng = nullptr)
      : data_(std::move(data)), piece_(piece), rng_(rng) {}

  void FailAt(size_t offset, Status status) {
    fail_at_ = offset;
    failure_ = std::move(status);
  }

  Result<size_t> Read(std::span<char> into) override {
    if (offset_ >= fail_at_) return failure_;
    size_t n = std::min({into.size(), data_.size() - offset_, piece_, fail_at_ - offset_});
    if (rng_ != nullptr && n > 1) n = std::uniform_int_distribution<size_t>(1, n)(*rng_);
    std::copy_n(data_.data() + offset_, n, into.data());
    offset_ += n;
    return n;
  }

 private:
  std::string data_;
  size_t offset_ = 0;
  size_t piece_;
  std::mt19937* rng_;
  size_t fail_at_ = SIZE_MAX;
  Status failure_;
};

// Reads `reader` to its end with read buffers of `buffer_size` bytes (or a random size from
// 1 byte to `buffer_size` per call when given a generator). Returns the bytes, or the first error
// (the bytes read before it are then of no interest: the contract says they are invalid).
Result<std::string> ReadAll(BodyReader& reader, size_t buffer_size = 64 * 1024,
                            std::mt19937* rng = nullptr) {
  std::string out;
  std::vector<char> buffer(buffer_size);
  while (true) {
    size_t size = buffer_size;
    if (rng != nullptr) size = std::uniform_int_distribution<size_t>(1, buffer_size)(*rng);
    Result<size_t> n = reader.Read(std::span<char>(buffer.data(), size));
    if (!n.ok()) return std::move(n).TakeStatus();
    if (*n == 0) return out;
    EXPECT_LE(*n, size);
    out.append(buffer.data(), *n);
  }
}

crypto::Sha256Bytes DocSigningKey() {
  SigV4Scope scope{"AKIAIOSFODNN7EXAMPLE", "20130524", "us-east-1", "s3"};
  return DeriveSigningKey(kDocSecret, scope);
}

ChunkSigningMaterial Material(std::string_view seed) {
  ChunkSigningMaterial m;
  m.signing_key = DocSigningKey();
  m.seed_signature = std::string(seed);
  m.amz_date = std::string(kDocAmzDate);
  m.scope = std::string(kDocScope);
  return m;
}

// Signs chunks and trailers exactly as the AWS pages spell it out, written independently of the
// reader under test (only the crypto primitives are shared).
class TestSigner {
 public:
  explicit TestSigner(std::string seed) : previous_(std::move(seed)) {}

  std::string SignChunk(std::string_view data) {
    const std::string string_to_sign = "AWS4-HMAC-SHA256-PAYLOAD\n" + std::string(kDocAmzDate) +
                                       "\n" + std::string(kDocScope) + "\n" + previous_ + "\n" +
                                       crypto::Sha256Hex("") + "\n" + crypto::Sha256Hex(data);
    previous_ = HexEncode(crypto::HmacSha256(DocSigningKey(), string_to_sign));
    return previous_;
  }
  // `canonical` is the trailer lines, each "name:value\n".
  std::string SignTrailer(std::string_view canonical) {
    const std::string string_to_sign = "AWS4-HMAC-SHA256-TRAILER\n" + std::string(kDocAmzDate) +
                                       "\n" + std::string(kDocScope) + "\n" + previous_ + "\n" +
                                       crypto::Sha256Hex(canonical);
    return HexEncode(crypto::HmacSha256(DocSigningKey(), string_to_sign));
  }

 private:
  std::string previous_;
};

constexpr std::string_view kSeed =
    "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9";

std::string Hex(uint64_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  if (n == 0) return "0";
  std::string out;
  while (n > 0) {
    out.insert(out.begin(), kDigits[n & 0xf]);
    n >>= 4;
  }
  return out;
}

using Trailers = std::vector<std::pair<std::string, std::string>>;

// Encodes `payload` as an aws-chunked body with data chunks of `sizes` (the last size repeats
// until the payload is used up), then the zero-length chunk, trailers (trailer modes) and the
// final CRLF.
std::string Encode(std::string_view payload, AwsChunkedMode mode, std::vector<size_t> sizes,
                   const Trailers& trailers = {}, std::string_view seed = kSeed) {
  TestSigner signer{std::string(seed)};
  const bool signed_chunks = mode != AwsChunkedMode::kUnsignedWithTrailer;
  auto chunk = [&](std::string_view data) {
    std::string out = Hex(data.size());
    if (signed_chunks) out += ";chunk-signature=" + signer.SignChunk(data);
    out += "\r\n";
    out += data;
    if (!data.empty()) out += "\r\n";
    return out;
  };
  std::string body;
  size_t offset = 0;
  for (size_t i = 0; offset < payload.size(); ++i) {
    const size_t size = std::min(sizes[std::min(i, sizes.size() - 1)], payload.size() - offset);
    body += chunk(payload.substr(offset, size));
    offset += size;
  }
  body += chunk("");
  std::string canonical;
  for (const auto& [name, value] : trailers) {
    body += name + ":" + value + "\r\n";
    canonical += name + ":" + value + "\n";
  }
  if (mode == AwsChunkedMode::kSignedWithTrailer) {
    body += "x-amz-trailer-signature:" + signer.SignTrailer(canonical) + "\r\n";
  }
  body += "\r\n";
  return body;
}

std::string RandomPayload(std::mt19937& rng, size_t size) {
  std::string out(size, '\0');
  std::uniform_int_distribution<int> byte(0, 255);
  for (char& c : out) c = static_cast<char>(byte(rng));
  return out;
}

const Trailers kCrcTrailer = {{"x-amz-checksum-crc32", "NSRBwg=="}};

Result<std::string> Decode(std::string body, AwsChunkedMode mode,
                           std::optional<uint64_t> decoded_length, std::string_view seed = kSeed,
                           HeaderList* trailers = nullptr) {
  StringReader raw(std::move(body));
  AwsChunkedReader reader(raw, mode, Material(seed), decoded_length);
  Result<std::string> out = ReadAll(reader);
  if (trailers != nullptr) *trailers = reader.trailers();
  return out;
}

std::string ToUpper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

ErrorCode CodeOf(const Result<std::string>& r) {
  return r.ok() ? ErrorCode::kOk : r.status().code();
}

constexpr AwsChunkedMode kAllModes[] = {AwsChunkedMode::kSigned, AwsChunkedMode::kSignedWithTrailer,
                                        AwsChunkedMode::kUnsignedWithTrailer};
constexpr AwsChunkedMode kSignedModes[] = {AwsChunkedMode::kSigned,
                                           AwsChunkedMode::kSignedWithTrailer};

const Trailers& TrailersFor(AwsChunkedMode mode) {
  static const Trailers kNone;
  return mode == AwsChunkedMode::kSigned ? kNone : kCrcTrailer;
}

// ---------------------------------------------------------------------------------------------
// The AWS documentation's worked examples.

// The request of the sigv4-streaming example, whose seed signature the page gives.
HttpRequest DocRequest(bool trailer) {
  HttpRequest request;
  request.method = "PUT";
  request.path = "/examplebucket/chunkObject.txt";
  request.target = request.path;
  request.headers.Add("host", "s3.amazonaws.com");
  request.headers.Add("x-amz-date", kDocAmzDate);
  request.headers.Add("x-amz-storage-class", "REDUCED_REDUNDANCY");
  request.headers.Add("content-encoding", "aws-chunked");
  request.headers.Add("x-amz-decoded-content-length", "66560");
  if (trailer) {
    request.headers.Add("x-amz-content-sha256", kStreamingSignedPayloadTrailer);
    request.headers.Add("x-amz-trailer", "x-amz-checksum-crc32c");
  } else {
    request.headers.Add("x-amz-content-sha256", kStreamingSignedPayload);
    request.headers.Add("content-length", "66824");
  }
  return request;
}

SigV4Request DocSig(bool trailer) {
  SigV4Request sig;
  sig.scope = {"AKIAIOSFODNN7EXAMPLE", "20130524", "us-east-1", "s3"};
  sig.amz_date = std::string(kDocAmzDate);
  sig.signed_headers =
      trailer ? std::vector<std::string>{"content-encoding",
                                         "host",
                                         "x-amz-content-sha256",
                                         "x-amz-date",
                                         "x-amz-decoded-content-length",
                                         "x-amz-storage-class",
                                         "x-amz-trailer"}
              : std::vector<std::string>{
                    "content-encoding",     "content-length", "host",
                    "x-amz-content-sha256", "x-amz-date",     "x-amz-decoded-content-length",
                    "x-amz-storage-class"};
  return sig;
}

std::string SeedSignature(bool trailer) {
  const std::string payload_hash(trailer ? kStreamingSignedPayloadTrailer
                                         : kStreamingSignedPayload);
  const std::string canonical =
      CanonicalRequest(DocRequest(trailer), DocSig(trailer), payload_hash, false);
  return SignatureHex(DocSigningKey(), StringToSign(DocSig(trailer), canonical));
}

// The body of the example, with the chunk signatures the page prints.
std::string DocBody(const std::string (&signatures)[3], std::string_view trailer_section) {
  std::string body = "10000;chunk-signature=" + signatures[0] + "\r\n" + std::string(65536, 'a') +
                     "\r\n" + "400;chunk-signature=" + signatures[1] + "\r\n" +
                     std::string(1024, 'a') + "\r\n" + "0;chunk-signature=" + signatures[2] +
                     "\r\n";
  body += trailer_section;
  body += "\r\n";
  return body;
}

TEST(AwsChunkedReaderTest, AwsDocumentedChunkedUploadExampleVerifies) {
  // S3 API Reference, sigv4-streaming, "Example: PUT Object": 65 KiB of 'a' in 64 KiB chunks.
  const std::string seed = SeedSignature(/*trailer=*/false);
  EXPECT_EQ(seed, "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
  const std::string signatures[3] = {
      "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
      "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
      "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
  };
  // The test signer reproduces the page, so the round trips below sign as AWS does.
  TestSigner signer(seed);
  EXPECT_EQ(signer.SignChunk(std::string(65536, 'a')), signatures[0]);
  EXPECT_EQ(signer.SignChunk(std::string(1024, 'a')), signatures[1]);
  EXPECT_EQ(signer.SignChunk(""), signatures[2]);

  const std::string body = DocBody(signatures, "");
  EXPECT_EQ(body.size(), 66824u);  // the example's Content-Length
  Result<std::string> payload = Decode(body, AwsChunkedMode::kSigned, 66560, seed);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_EQ(*payload, std::string(66560, 'a'));
}

TEST(AwsChunkedReaderTest, AwsDocumentedTrailerExampleVerifies) {
  // S3 API Reference, sigv4-streaming-trailers, "Example: PUT Object" (the same payload with an
  // x-amz-checksum-crc32c trailer). The trailer signature pins the canonical form of the
  // trailer: "x-amz-checksum-crc32c:sOO8/Q==\n".
  const std::string seed = SeedSignature(/*trailer=*/true);
  EXPECT_EQ(seed, "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
  const std::string signatures[3] = {
      "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
      "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
      "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
  };
  const std::string trailer_signature =
      "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435";
  TestSigner signer(seed);
  signer.SignChunk(std::string(65536, 'a'));
  signer.SignChunk(std::string(1024, 'a'));
  EXPECT_EQ(signer.SignChunk(""), signatures[2]);
  EXPECT_EQ(signer.SignTrailer("x-amz-checksum-crc32c:sOO8/Q==\n"), trailer_signature);

  const std::string body = DocBody(signatures,
                                   "x-amz-checksum-crc32c:sOO8/Q==\r\n"
                                   "x-amz-trailer-signature:" +
                                       trailer_signature + "\r\n");
  HeaderList trailers;
  Result<std::string> payload =
      Decode(body, AwsChunkedMode::kSignedWithTrailer, 66560, seed, &trailers);
  ASSERT_TRUE(payload.ok()) << payload.status().ToString();
  EXPECT_EQ(*payload, std::string(66560, 'a'));
  EXPECT_EQ(trailers.Get("x-amz-checksum-crc32c"), "sOO8/Q==");
  EXPECT_FALSE(trailers.Has("x-amz-trailer-signature"));

  // The same trailer with another value no longer verifies.
  std::string tampered = body;
  tampered.replace(tampered.find("sOO8/Q=="), 8, "AAAAAA==");
  EXPECT_EQ(CodeOf(Decode(tampered, AwsChunkedMode::kSignedWithTrailer, 66560, seed)),
            ErrorCode::kSignatureMismatch);
}

// ---------------------------------------------------------------------------------------------
// Round trips.

TEST(AwsChunkedReaderTest, RoundTripsEveryModeWithRandomChunkAndReadSizes) {
  const size_t kReadSizes[] = {1, 2, 7, 100, 4096, 65535, 65536, 65537, 1 << 20};
  for (AwsChunkedMode mode : kAllModes) {
    for (int iteration = 0; iteration < 24; ++iteration) {
      const unsigned seed = 1000 * static_cast<unsigned>(mode) + static_cast<unsigned>(iteration);
      SCOPED_TRACE("mode " + std::to_string(static_cast<int>(mode)) + " seed " +
                   std::to_string(seed));
      std::mt19937 rng(seed);
      const size_t payload_size = iteration == 0 ? 0
                                  : iteration == 1
                                      ? 1
                                      : std::uniform_int_distribution<size_t>(2, 300000)(rng);
      const std::string payload = RandomPayload(rng, payload_size);
      // Chunk sizes from a byte to beyond the reader's 64 KiB input buffer.
      std::vector<size_t> sizes;
      for (int i = 0; i < 40; ++i) {
        const size_t max = (i % 3 == 0) ? 200000 : 9000;
        sizes.push_back(std::uniform_int_distribution<size_t>(1, max)(rng));
      }
      const std::string body = Encode(payload, mode, sizes, TrailersFor(mode));
      // The raw reader splits the body arbitrarily; the consumer reads with random buffers.
      const size_t raw_piece = std::uniform_int_distribution<size_t>(1, 100000)(rng);
      StringReader raw(body, raw_piece, &rng);
      AwsChunkedReader reader(raw, mode, Material(kSeed), payload.size());
      const size_t read_size = kReadSizes[iteration % std::size(kReadSizes)];
      Result<std::string> got = ReadAll(reader, read_size, iteration % 2 == 0 ? &rng : nullptr);
      ASSERT_TRUE(got.ok()) << got.status().ToString();
      EXPECT_EQ(got->size(), payload.size());
      EXPECT_TRUE(*got == payload);
      EXPECT_EQ(reader.payload_bytes(), payload.size());
      if (mode == AwsChunkedMode::kSigned) {
        EXPECT_TRUE(reader.trailers().empty());
      } else {
        EXPECT_EQ(reader.trailers().Get("x-amz-checksum-crc32"), "NSRBwg==");
      }
      // The end is sticky.
      char byte;
      Result<size_t> again = reader.Read(std::span<char>(&byte, 1));
      ASSERT_TRUE(again.ok());
      EXPECT_EQ(*again, 0u);
    }
  }
}

TEST(AwsChunkedReaderTest, OneByteRawPiecesAndOneByteReads) {
  std::mt19937 rng(7);
  const std::string payload = RandomPayload(rng, 5000);
  for (AwsChunkedMode mode : kAllModes) {
    StringReader raw(Encode(payload, mode, {1, 17, 4096}, TrailersFor(mode)), 1);
    AwsChunkedReader reader(raw, mode, Material(kSeed), payload.size());
    Result<std::string> got = ReadAll(reader, 1);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(*got == payload);
  }
}

TEST(AwsChunkedReaderTest, WithoutDecodedLengthAnyPayloadLengthIsAccepted) {
  const std::string payload(1000, 'x');
  Result<std::string> got = Decode(Encode(payload, AwsChunkedMode::kSigned, {300}),
                                   AwsChunkedMode::kSigned, std::nullopt);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, payload);
}

TEST(AwsChunkedReaderTest, SeveralTrailersAreSignedSortedByName) {
  // aws-c-auth canonicalises trailers like request headers: sorted by name, "name:value\n".
  const std::string payload = "hello";
  TestSigner signer{std::string(kSeed)};
  std::string body = "5;chunk-signature=" + signer.SignChunk(payload) + "\r\nhello\r\n";
  body += "0;chunk-signature=" + signer.SignChunk("") + "\r\n";
  body += "x-amz-checksum-sha256:n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=\r\n";
  body += "X-Amz-Checksum-Crc32:  NhCmhg==\r\n";  // name case and blanks are not significant
  body += "x-amz-trailer-signature:" +
          signer.SignTrailer(
              "x-amz-checksum-crc32:NhCmhg==\n"
              "x-amz-checksum-sha256:n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=\n") +
          "\r\n\r\n";
  HeaderList trailers;
  Result<std::string> got =
      Decode(body, AwsChunkedMode::kSignedWithTrailer, payload.size(), kSeed, &trailers);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, payload);
  EXPECT_EQ(trailers.Get("x-amz-checksum-crc32"), "NhCmhg==");
  EXPECT_EQ(trailers.Get("x-amz-checksum-sha256"), "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=");
}

TEST(AwsChunkedReaderTest, BotocoreUnsignedFramingWithAndWithoutChecksumDecodes) {
  // botocore AwsChunkedWrapper: "<hex>\r\n<data>\r\n" ... "0\r\n" + "name:value\r\n\r\n", or
  // "0\r\n\r\n" without a checksum.
  HeaderList trailers;
  Result<std::string> got = Decode("3\r\nabc\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\r\n\r\n",
                                   AwsChunkedMode::kUnsignedWithTrailer, 3, kSeed, &trailers);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "abc");
  EXPECT_EQ(trailers.Get("x-amz-checksum-crc32"), "NSRBwg==");

  got = Decode("3\r\nabc\r\n0\r\n\r\n", AwsChunkedMode::kUnsignedWithTrailer, 3, kSeed, &trailers);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "abc");
  EXPECT_TRUE(trailers.empty());
}

TEST(AwsChunkedReaderTest, ChunkExtensionsAndUpperCaseHexAreTolerated) {
  Result<std::string> got = Decode("A;foo=bar;baz\r\n0123456789\r\n0 ;x=y\r\n\r\n",
                                   AwsChunkedMode::kUnsignedWithTrailer, 10);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "0123456789");

  TestSigner signer{std::string(kSeed)};
  const std::string sig1 = signer.SignChunk("0123456789");
  const std::string sig2 = signer.SignChunk("");
  const std::string signed_body = "A;x-ext=1;chunk-signature=" + sig1 + "\r\n0123456789\r\n" +
                                  "0;chunk-signature=" + sig2 + "\r\n\r\n";
  got = Decode(signed_body, AwsChunkedMode::kSigned, 10);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "0123456789");
}

TEST(AwsChunkedReaderTest, MissingFinalCrlfIsTolerated) {
  for (AwsChunkedMode mode : kAllModes) {
    std::string body = Encode("payload", mode, {4}, TrailersFor(mode));
    ASSERT_EQ(body.substr(body.size() - 2), "\r\n");
    body.resize(body.size() - 2);
    Result<std::string> got = Decode(body, mode, 7);
    ASSERT_TRUE(got.ok()) << static_cast<int>(mode) << ": " << got.status().ToString();
    EXPECT_EQ(*got, "payload");
  }
}

// ---------------------------------------------------------------------------------------------
// Signature failures.

TEST(AwsChunkedReaderTest, FlippedDataByteFailsTheSignature) {
  for (AwsChunkedMode mode : kSignedModes) {
    const std::string payload(3000, 'q');
    const std::string body = Encode(payload, mode, {1000}, TrailersFor(mode));
    // A byte in each of the three chunks.
    size_t data = body.find("\r\n") + 2;
    for (size_t offset : {data, data + 999, body.rfind(std::string(1000, 'q')) + 500}) {
      std::string tampered = body;
      tampered[offset] ^= 0x01;
      Result<std::string> got = Decode(tampered, mode, payload.size());
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.status().code(), ErrorCode::kSignatureMismatch);
      EXPECT_EQ(got.status().message(),
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.");
    }
  }
}

TEST(AwsChunkedReaderTest, FlippedChunkSignatureFails) {
  for (AwsChunkedMode mode : kSignedModes) {
    const std::string body = Encode(std::string(3000, 'q'), mode, {1000}, TrailersFor(mode));
    // Every chunk-signature, the final chunk's included.
    for (size_t at = body.find("chunk-signature="); at != std::string::npos;
         at = body.find("chunk-signature=", at + 1)) {
      std::string tampered = body;
      char& c = tampered[at + 16 + 10];
      c = c == '0' ? '1' : '0';
      EXPECT_EQ(CodeOf(Decode(tampered, mode, 3000)), ErrorCode::kSignatureMismatch);
    }
  }
}

TEST(AwsChunkedReaderTest, WrongSeedFailsTheFirstChunk) {
  const std::string body = Encode("data", AwsChunkedMode::kSigned, {4});
  const std::string other_seed(64, 'a');
  EXPECT_EQ(CodeOf(Decode(body, AwsChunkedMode::kSigned, 4, other_seed)),
            ErrorCode::kSignatureMismatch);
}

TEST(AwsChunkedReaderTest, ReorderedChunksFailTheChain) {
  // Two chunks swapped, each keeping its own (valid-looking) signature.
  const std::string a(100, 'a'), b(100, 'b');
  const std::string body = Encode(a + b, AwsChunkedMode::kSigned, {100});
  const size_t second = body.find("64;", 1);
  const size_t final_chunk = body.find("0;chunk-signature=", second);
  const std::string first_chunk = body.substr(0, second);
  const std::string second_chunk = body.substr(second, final_chunk - second);
  const std::string swapped = second_chunk + first_chunk + body.substr(final_chunk);
  EXPECT_EQ(CodeOf(Decode(swapped, AwsChunkedMode::kSigned, 200)), ErrorCode::kSignatureMismatch);
}

TEST(AwsChunkedReaderTest, DroppedChunkFailsTheChain) {
  const std::string body = Encode(std::string(300, 'z'), AwsChunkedMode::kSigned, {100});
  const size_t second = body.find("64;", 1);
  const size_t third = body.find("64;", second + 1);
  const std::string dropped = body.substr(0, second) + body.substr(third);
  EXPECT_EQ(CodeOf(Decode(dropped, AwsChunkedMode::kSigned, std::nullopt)),
            ErrorCode::kSignatureMismatch);
}

TEST(AwsChunkedReaderTest, TrailerSignatureMismatchFails) {
  const std::string body = Encode("data", AwsChunkedMode::kSignedWithTrailer, {4}, kCrcTrailer);
  // Another checksum value under the original signature.
  std::string tampered = body;
  tampered.replace(tampered.find("NSRBwg=="), 8, "AAAAAA==");
  HeaderList trailers;
  EXPECT_EQ(CodeOf(Decode(tampered, AwsChunkedMode::kSignedWithTrailer, 4, kSeed, &trailers)),
            ErrorCode::kSignatureMismatch);
  EXPECT_TRUE(trailers.empty()) << "an unverified trailer must not be published";
  // A flipped trailer signature.
  tampered = body;
  const size_t sig = tampered.find("x-amz-trailer-signature:") + 24;
  tampered[sig] = tampered[sig] == '0' ? '1' : '0';
  EXPECT_EQ(CodeOf(Decode(tampered, AwsChunkedMode::kSignedWithTrailer, 4)),
            ErrorCode::kSignatureMismatch);
  // An extra, unsigned trailer.
  tampered = body;
  tampered.insert(tampered.find("x-amz-trailer-signature:"), "x-amz-checksum-sha1:AAAA\r\n");
  EXPECT_EQ(CodeOf(Decode(tampered, AwsChunkedMode::kSignedWithTrailer, 4)),
            ErrorCode::kSignatureMismatch);
}

TEST(AwsChunkedReaderTest, MissingTrailerSignatureIsRejected) {
  // Signed chunks and a trailer, but no x-amz-trailer-signature line.
  TestSigner signer{std::string(kSeed)};
  std::string signed_body = "4;chunk-signature=" + signer.SignChunk("data") + "\r\ndata\r\n";
  signed_body += "0;chunk-signature=" + signer.SignChunk("") + "\r\n";
  signed_body += "x-amz-checksum-crc32:NSRBwg==\r\n\r\n";
  Result<std::string> got = Decode(signed_body, AwsChunkedMode::kSignedWithTrailer, 4);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), ErrorCode::kInvalidRequest);
  // Without the final CRLF it is a truncated body.
  signed_body.resize(signed_body.size() - 2);
  EXPECT_EQ(CodeOf(Decode(signed_body, AwsChunkedMode::kSignedWithTrailer, 4)),
            ErrorCode::kIncompleteBody);
}

// ---------------------------------------------------------------------------------------------
// Framing failures.

TEST(AwsChunkedReaderTest, TruncationAtEveryPositionFails) {
  for (AwsChunkedMode mode : kAllModes) {
    const std::string body = Encode("hello world!", mode, {5}, TrailersFor(mode));
    for (size_t length = 0; length < body.size(); ++length) {
      SCOPED_TRACE("mode " + std::to_string(static_cast<int>(mode)) + " length " +
                   std::to_string(length) + " of " + std::to_string(body.size()));
      Result<std::string> got = Decode(body.substr(0, length), mode, 12);
      if (length == body.size() - 2) {
        // Only the final CRLF missing: tolerated (MissingFinalCrlfIsTolerated).
        EXPECT_TRUE(got.ok()) << got.status().ToString();
        continue;
      }
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.status().code(), ErrorCode::kIncompleteBody) << got.status().ToString();
    }
  }
}

TEST(AwsChunkedReaderTest, TruncationWithoutDecodedLengthAlsoFails) {
  // The zero-length chunk, not x-amz-decoded-content-length, is what marks the end.
  const std::string body = Encode("hello world!", AwsChunkedMode::kSigned, {5});
  for (size_t length = 0; length + 2 < body.size(); ++length) {
    EXPECT_EQ(CodeOf(Decode(body.substr(0, length), AwsChunkedMode::kSigned, std::nullopt)),
              ErrorCode::kIncompleteBody)
        << length;
  }
}

TEST(AwsChunkedReaderTest, MissingFinalChunkFails) {
  for (AwsChunkedMode mode : kAllModes) {
    const std::string body = Encode("abcdefgh", mode, {4}, TrailersFor(mode));
    const std::string without_final = body.substr(
        0, body.find(mode == AwsChunkedMode::kUnsignedWithTrailer ? "\r\n0\r\n" : "\r\n0;") + 2);
    Result<std::string> got = Decode(without_final, mode, std::nullopt);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), ErrorCode::kIncompleteBody);
    EXPECT_EQ(got.status().message(),
              "The request body ended before the final chunk of its aws-chunked encoding.");
  }
}

TEST(AwsChunkedReaderTest, OversizedSizeLineFails) {
  const std::string line = "5;" + std::string(5000, 'x') + "\r\nhello\r\n0\r\n\r\n";
  Result<std::string> got = Decode(line, AwsChunkedMode::kUnsignedWithTrailer, 5);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), ErrorCode::kInvalidRequest);
  // A line just under the limit is fine.
  const std::string ok_line =
      "5;" + std::string(kMaxChunkLineBytes - 5, 'x') + "\r\nhello\r\n0\r\n\r\n";
  EXPECT_TRUE(Decode(ok_line, AwsChunkedMode::kUnsignedWithTrailer, 5).ok());
  // An endless size line with no newline at all stops at the limit rather than buffering on.
  StringReader raw(std::string(1 << 20, '1'));
  AwsChunkedReader reader(raw, AwsChunkedMode::kUnsignedWithTrailer, Material(kSeed), std::nullopt);
  EXPECT_EQ(CodeOf(ReadAll(reader)), ErrorCode::kInvalidRequest);
}

TEST(AwsChunkedReaderTest, NonHexOrOverflowingSizeFails) {
  for (std::string_view body :
       {"zz\r\nhello\r\n0\r\n\r\n", "-5\r\nhello\r\n0\r\n\r\n", " 5\r\nhello\r\n0\r\n\r\n",
        "\r\nhello\r\n0\r\n\r\n", ";ext\r\nhello\r\n0\r\n\r\n", "5x\r\nhello\r\n0\r\n\r\n",
        "10000000000000000\r\n", "ffffffffffffffffff\r\n"}) {
    Result<std::string> got =
        Decode(std::string(body), AwsChunkedMode::kUnsignedWithTrailer, std::nullopt);
    ASSERT_FALSE(got.ok()) << body;
    EXPECT_EQ(got.status().code(), ErrorCode::kInvalidRequest) << body;
  }
  // The largest 64-bit size parses, then fails the decoded length before any data is read.
  EXPECT_EQ(CodeOf(Decode("ffffffffffffffff\r\nabc", AwsChunkedMode::kUnsignedWithTrailer, 3)),
            ErrorCode::kIncompleteBody);
}

TEST(AwsChunkedReaderTest, MissingCrlfFails) {
  const std::vector<std::string> bodies = {
      "5\r\nhelloXX0\r\n\r\n",                                   // nothing after the data
      "5\r\nhello\n0\r\n\r\n",                                   // bare LF after the data
      "5\r\nhello\rX0\r\n\r\n",                                  // CR then something else
      "5\nhello\r\n0\r\n\r\n",                                   // bare LF after the size
      "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NSRBwg==\n\r\n",  // trailer line with bare LF
  };
  for (const std::string& body : bodies) {
    EXPECT_EQ(CodeOf(Decode(body, AwsChunkedMode::kUnsignedWithTrailer, 5)),
              ErrorCode::kInvalidRequest)
        << body;
  }
}

TEST(AwsChunkedReaderTest, SignedChunkWithoutSignatureFails) {
  EXPECT_EQ(CodeOf(Decode("5\r\nhello\r\n0\r\n\r\n", AwsChunkedMode::kSigned, 5)),
            ErrorCode::kInvalidRequest);
  TestSigner signer{std::string(kSeed)};
  const std::string twice = "5;chunk-signature=" + signer.SignChunk("hello") +
                            ";chunk-signature=" + std::string(64, '0') + "\r\nhello\r\n";
  EXPECT_EQ(CodeOf(Decode(twice, AwsChunkedMode::kSigned, 5)), ErrorCode::kInvalidRequest);
}

TEST(AwsChunkedReaderTest, WrongDecodedLengthFails) {
  const std::string payload(1000, 'p');
  for (AwsChunkedMode mode : kAllModes) {
    const std::string body = Encode(payload, mode, {300}, TrailersFor(mode));
    for (uint64_t declared :
         {uint64_t{0}, uint64_t{299}, uint64_t{999}, uint64_t{1001}, uint64_t{1} << 40}) {
      Result<std::string> got = Decode(body, mode, declared);
      ASSERT_FALSE(got.ok()) << declared;
      EXPECT_EQ(got.status().code(), ErrorCode::kIncompleteBody);
      EXPECT_EQ(got.status().message(),
                "You did not send the number of bytes specified by the "
                "x-amz-decoded-content-length header.");
    }
  }
  // Too short a declaration stops the reader before the first byte past it.
  StringReader raw(Encode(payload, AwsChunkedMode::kSigned, {300}));
  AwsChunkedReader reader(raw, AwsChunkedMode::kSigned, Material(kSeed), 500);
  EXPECT_EQ(CodeOf(ReadAll(reader, 1)), ErrorCode::kIncompleteBody);
  EXPECT_LE(reader.payload_bytes(), 500u);
}

TEST(AwsChunkedReaderTest, TrailerTooLargeFails) {
  std::string trailer_lines;
  for (int i = 0; trailer_lines.size() <= kMaxTrailerBytes; ++i) {
    trailer_lines += "x-amz-meta-" + std::to_string(i) + ":" + std::string(100, 'v') + "\r\n";
  }
  const std::string body = "5\r\nhello\r\n0\r\n" + trailer_lines + "\r\n";
  Result<std::string> got = Decode(body, AwsChunkedMode::kUnsignedWithTrailer, 5);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), ErrorCode::kInvalidRequest);
  // One enormous trailer line, too.
  const std::string long_line =
      "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:" + std::string(20000, 'A') + "\r\n\r\n";
  EXPECT_EQ(CodeOf(Decode(long_line, AwsChunkedMode::kUnsignedWithTrailer, 5)),
            ErrorCode::kInvalidRequest);
}

TEST(AwsChunkedReaderTest, MalformedTrailerLineFails) {
  for (std::string_view line : {"no-colon-here", ":value", "  :value"}) {
    const std::string body = "5\r\nhello\r\n0\r\n" + std::string(line) + "\r\n\r\n";
    EXPECT_EQ(CodeOf(Decode(body, AwsChunkedMode::kUnsignedWithTrailer, 5)),
              ErrorCode::kInvalidRequest)
        << line;
  }
}

TEST(AwsChunkedReaderTest, TrailersWithoutTrailerModeFail) {
  TestSigner signer{std::string(kSeed)};
  std::string body = "5;chunk-signature=" + signer.SignChunk("hello") + "\r\nhello\r\n";
  body += "0;chunk-signature=" + signer.SignChunk("") + "\r\n";
  body += "x-amz-checksum-crc32:NSRBwg==\r\n\r\n";
  EXPECT_EQ(CodeOf(Decode(body, AwsChunkedMode::kSigned, 5)), ErrorCode::kInvalidRequest);
}

TEST(AwsChunkedReaderTest, DataAfterFinalChunkFails) {
  for (AwsChunkedMode mode : kAllModes) {
    for (std::string_view extra : {"x", "\r\n", "5\r\nhello\r\n"}) {
      const std::string body = Encode("hello", mode, {5}, TrailersFor(mode)) + std::string(extra);
      Result<std::string> got = Decode(body, mode, 5);
      ASSERT_FALSE(got.ok());
      EXPECT_EQ(got.status().code(), ErrorCode::kInvalidRequest);
    }
  }
  // Also when the extra bytes arrive in a later raw read than the end of the body.
  const std::string body = Encode("hello", AwsChunkedMode::kSigned, {5});
  StringReader raw(body + "junk", body.size());
  AwsChunkedReader reader(raw, AwsChunkedMode::kSigned, Material(kSeed), 5);
  EXPECT_EQ(CodeOf(ReadAll(reader)), ErrorCode::kInvalidRequest);
}

TEST(AwsChunkedReaderTest, ErrorsAreSticky) {
  std::string body = Encode(std::string(100, 'q'), AwsChunkedMode::kSigned, {50});
  body[body.find("\r\n") + 2] ^= 1;
  StringReader raw(body);
  AwsChunkedReader reader(raw, AwsChunkedMode::kSigned, Material(kSeed), 100);
  EXPECT_EQ(CodeOf(ReadAll(reader)), ErrorCode::kSignatureMismatch);
  char buffer[16];
  for (int i = 0; i < 3; ++i) {
    Result<size_t> again = reader.Read(buffer);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.status().code(), ErrorCode::kSignatureMismatch);
  }
}

TEST(AwsChunkedReaderTest, RawReaderErrorsPropagate) {
  const std::string body = Encode(std::string(1000, 'q'), AwsChunkedMode::kSigned, {300});
  for (size_t at : {size_t{0}, size_t{10}, size_t{200}, body.size() - 1}) {
    StringReader raw(body);
    raw.FailAt(at, Error(ErrorCode::kRequestTooLarge, "connection broke"));
    AwsChunkedReader reader(raw, AwsChunkedMode::kSigned, Material(kSeed), 1000);
    Result<std::string> got = ReadAll(reader, 64);
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), ErrorCode::kRequestTooLarge);
  }
}

TEST(AwsChunkedReaderTest, BytesMayPrecedeTheirChunkVerdictButTheEndVouchesForAll) {
  // The documented contract: a large chunk streams out before its signature is checked, and the
  // error comes from a later Read().
  std::string body = Encode(std::string(100000, 'q'), AwsChunkedMode::kSigned, {100000});
  body[body.rfind(std::string(10, 'q'))] ^= 1;  // last byte region of the only chunk
  StringReader raw(body);
  AwsChunkedReader reader(raw, AwsChunkedMode::kSigned, Material(kSeed), 100000);
  std::vector<char> buffer(4096);
  Result<size_t> first = reader.Read(buffer);
  ASSERT_TRUE(first.ok());
  EXPECT_GT(*first, 0u);
  EXPECT_EQ(CodeOf(ReadAll(reader)), ErrorCode::kSignatureMismatch);
}

// ---------------------------------------------------------------------------------------------
// Sha256CheckingReader.

TEST(Sha256CheckingReaderTest, MatchingHashReadsToTheEnd) {
  std::mt19937 rng(3);
  for (size_t size : {size_t{0}, size_t{1}, size_t{100000}}) {
    const std::string payload = RandomPayload(rng, size);
    StringReader raw(payload, 777);
    Sha256CheckingReader reader(raw, crypto::Sha256Hex(payload), size);
    Result<std::string> got = ReadAll(reader, 1000, &rng);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_TRUE(*got == payload);
    EXPECT_EQ(reader.decoded_length(), size);
    EXPECT_TRUE(reader.trailers().empty());
  }
}

TEST(Sha256CheckingReaderTest, UpperCaseExpectedHashMatches) {
  StringReader raw("abc");
  Sha256CheckingReader reader(raw, ToUpper(crypto::Sha256Hex("abc")), 3);
  EXPECT_TRUE(ReadAll(reader).ok());
}

TEST(Sha256CheckingReaderTest, MismatchIsReportedWhereTheEndWouldBe) {
  StringReader raw("hello world");
  Sha256CheckingReader reader(raw, crypto::Sha256Hex("hello there"), 11);
  char buffer[64];
  Result<size_t> first = reader.Read(buffer);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 11u);
  Result<size_t> end = reader.Read(buffer);
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.status().code(), ErrorCode::kContentSha256Mismatch);
  EXPECT_EQ(end.status().message(),
            "The provided 'x-amz-content-sha256' header does not match what was computed.");
  bool has_computed = false;
  for (const auto& [name, value] : end.status().fields()) {
    if (name == "S3ComputedContentSHA256") {
      has_computed = true;
      EXPECT_EQ(value, crypto::Sha256Hex("hello world"));
    }
  }
  EXPECT_TRUE(has_computed);
  // Sticky.
  Result<size_t> again = reader.Read(buffer);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), ErrorCode::kContentSha256Mismatch);
}

TEST(Sha256CheckingReaderTest, InnerErrorsPropagate) {
  StringReader raw("hello world");
  raw.FailAt(5, Error(ErrorCode::kRequestTooLarge, "broken"));
  Sha256CheckingReader reader(raw, crypto::Sha256Hex("hello world"), 11);
  EXPECT_EQ(CodeOf(ReadAll(reader)), ErrorCode::kRequestTooLarge);
}

// ---------------------------------------------------------------------------------------------
// MakePayloadReader.

VerifiedRequest HeaderSigned(std::string_view seed = kSeed) {
  VerifiedRequest v;
  v.kind = SigV4Request::Kind::kHeader;
  v.scope = {"AKIAIOSFODNN7EXAMPLE", "20130524", "us-east-1", "s3"};
  v.signing_key = DocSigningKey();
  v.seed_signature = std::string(seed);
  v.amz_date = std::string(kDocAmzDate);
  return v;
}

VerifiedRequest Presigned() {
  VerifiedRequest v = HeaderSigned();
  v.kind = SigV4Request::Kind::kQuery;
  return v;
}

HttpRequest PutRequest(std::optional<std::string> decoded_length = std::nullopt) {
  HttpRequest request;
  request.method = "PUT";
  request.path = "/bucket/key";
  if (decoded_length) request.headers.Add("x-amz-decoded-content-length", *decoded_length);
  return request;
}

TEST(PayloadReaderFactoryTest, HexHashChoosesSha256CheckingReader) {
  StringReader raw("abc");
  HttpRequest request = PutRequest();
  request.content_length = 3;
  const VerifiedRequest verified = HeaderSigned();
  auto reader = MakePayloadReader(raw, request, &verified, crypto::Sha256Hex("abc"));
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_NE(dynamic_cast<Sha256CheckingReader*>(reader->get()), nullptr);
  EXPECT_EQ((*reader)->decoded_length(), 3u);
  Result<std::string> got = ReadAll(**reader);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "abc");

  StringReader wrong("abd");
  auto checking = MakePayloadReader(wrong, request, &verified, crypto::Sha256Hex("abc"));
  ASSERT_TRUE(checking.ok());
  EXPECT_EQ(CodeOf(ReadAll(**checking)), ErrorCode::kContentSha256Mismatch);
}

TEST(PayloadReaderFactoryTest, UnsignedPresignedAndAnonymousPassThrough) {
  const VerifiedRequest header = HeaderSigned();
  const VerifiedRequest presigned = Presigned();
  struct Case {
    const VerifiedRequest* verified;
    std::string_view header;
  };
  for (const Case& c : {Case{&header, kUnsignedPayload}, Case{&presigned, kUnsignedPayload},
                        Case{&presigned, ""}, Case{nullptr, ""}, Case{nullptr, kUnsignedPayload}}) {
    StringReader raw("raw bytes");
    HttpRequest request = PutRequest();
    request.content_length = 9;
    auto reader = MakePayloadReader(raw, request, c.verified, c.header);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_NE(dynamic_cast<PassThroughReader*>(reader->get()), nullptr);
    EXPECT_EQ((*reader)->decoded_length(), 9u);
    Result<std::string> got = ReadAll(**reader);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, "raw bytes");
  }
}

TEST(PayloadReaderFactoryTest, HeaderSignedRequestWithoutContentSha256IsRejected) {
  StringReader raw("");
  const VerifiedRequest verified = HeaderSigned();
  auto reader = MakePayloadReader(raw, PutRequest(), &verified, "");
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), ErrorCode::kInvalidRequest);
  EXPECT_EQ(reader.status().message(),
            "Missing required header for this request: x-amz-content-sha256");
}

TEST(PayloadReaderFactoryTest, StreamingValuesChooseAwsChunkedReaderModes) {
  const VerifiedRequest verified = HeaderSigned();
  struct Case {
    std::string_view header;
    AwsChunkedMode mode;
  };
  for (const Case& c :
       {Case{kStreamingSignedPayload, AwsChunkedMode::kSigned},
        Case{kStreamingSignedPayloadTrailer, AwsChunkedMode::kSignedWithTrailer},
        Case{kStreamingUnsignedPayloadTrailer, AwsChunkedMode::kUnsignedWithTrailer}}) {
    const std::string payload = "streamed payload";
    // No Content-Encoding header at all: accepted (some SDKs leave it out).
    StringReader raw(Encode(payload, c.mode, {5}, TrailersFor(c.mode)));
    auto reader = MakePayloadReader(raw, PutRequest("16"), &verified, c.header);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    auto* chunked = dynamic_cast<AwsChunkedReader*>(reader->get());
    ASSERT_NE(chunked, nullptr);
    EXPECT_EQ(chunked->mode(), c.mode);
    EXPECT_EQ((*reader)->decoded_length(), 16u);
    Result<std::string> got = ReadAll(**reader);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, payload);
    EXPECT_EQ((*reader)->trailers().Has("x-amz-checksum-crc32"), c.mode != AwsChunkedMode::kSigned);
  }
}

TEST(PayloadReaderFactoryTest, SignedChunksChainFromTheVerifiedSeedSignature) {
  // The documented example once more, through the factory and a VerifiedRequest.
  const VerifiedRequest verified = HeaderSigned(SeedSignature(false));
  const std::string signatures[3] = {
      "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
      "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
      "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
  };
  StringReader raw(DocBody(signatures, ""));
  const HttpRequest request = DocRequest(false);
  auto reader = MakePayloadReader(raw, request, &verified, kStreamingSignedPayload);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  Result<std::string> got = ReadAll(**reader);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), 66560u);

  // A different seed (another request's signature) does not verify the same body.
  const VerifiedRequest other = HeaderSigned(std::string(64, 'b'));
  StringReader raw2(DocBody(signatures, ""));
  auto reader2 = MakePayloadReader(raw2, request, &other, kStreamingSignedPayload);
  ASSERT_TRUE(reader2.ok());
  EXPECT_EQ(CodeOf(ReadAll(**reader2)), ErrorCode::kSignatureMismatch);
}

TEST(PayloadReaderFactoryTest, StreamingNeedsDecodedContentLength) {
  const VerifiedRequest verified = HeaderSigned();
  for (std::string_view header : {kStreamingSignedPayload, kStreamingSignedPayloadTrailer,
                                  kStreamingUnsignedPayloadTrailer}) {
    StringReader raw("");
    auto missing = MakePayloadReader(raw, PutRequest(), &verified, header);
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), ErrorCode::kInvalidRequest);
    EXPECT_EQ(missing.status().message(),
              "Missing required header for this request: x-amz-decoded-content-length");
    for (std::string_view bad : {"", "-1", "abc", "1.5", "12 3", "99999999999999999999999"}) {
      auto invalid = MakePayloadReader(raw, PutRequest(std::string(bad)), &verified, header);
      ASSERT_FALSE(invalid.ok()) << bad;
      EXPECT_EQ(invalid.status().code(), ErrorCode::kInvalidRequest) << bad;
    }
  }
}

TEST(PayloadReaderFactoryTest, SignedStreamingNeedsHeaderAuthentication) {
  const VerifiedRequest presigned = Presigned();
  for (std::string_view header : {kStreamingSignedPayload, kStreamingSignedPayloadTrailer}) {
    for (const VerifiedRequest* verified :
         {&presigned, static_cast<const VerifiedRequest*>(nullptr)}) {
      StringReader raw("");
      auto reader = MakePayloadReader(raw, PutRequest("0"), verified, header);
      ASSERT_FALSE(reader.ok());
      EXPECT_EQ(reader.status().code(), ErrorCode::kInvalidRequest);
    }
  }
  // Unsigned streaming needs no signing material: anonymous and presigned uploads may use it.
  for (const VerifiedRequest* verified :
       {&presigned, static_cast<const VerifiedRequest*>(nullptr)}) {
    StringReader raw("3\r\nabc\r\n0\r\n\r\n");
    auto reader =
        MakePayloadReader(raw, PutRequest("3"), verified, kStreamingUnsignedPayloadTrailer);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    Result<std::string> got = ReadAll(**reader);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, "abc");
  }
}

TEST(PayloadReaderFactoryTest, SigV4aStreamingIsNotImplemented) {
  const VerifiedRequest verified = HeaderSigned();
  for (std::string_view header : {"STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
                                  "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER"}) {
    StringReader raw("");
    auto reader = MakePayloadReader(raw, PutRequest("0"), &verified, header);
    ASSERT_FALSE(reader.ok());
    EXPECT_EQ(reader.status().code(), ErrorCode::kNotImplemented);
  }
}

TEST(PayloadReaderFactoryTest, UnknownContentSha256IsRejected) {
  const VerifiedRequest verified = HeaderSigned();
  const std::string_view values[] = {
      "STREAMING-PAYLOAD", "unsigned-payload", "abc", kEmptyPayloadHash.substr(1),
      "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
  for (std::string_view header : values) {
    StringReader raw("");
    for (const VerifiedRequest* v : {&verified, static_cast<const VerifiedRequest*>(nullptr)}) {
      auto reader = MakePayloadReader(raw, PutRequest("0"), v, header);
      ASSERT_FALSE(reader.ok()) << header;
      EXPECT_EQ(reader.status().code(), ErrorCode::kInvalidRequest);
      EXPECT_EQ(
          reader.status().message(),
          "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, "
          "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER, or "
          "a valid sha256 value.");
    }
  }
}

}  // namespace
}  // namespace hangar::auth
