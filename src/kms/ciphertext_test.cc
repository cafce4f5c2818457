#include "kms/ciphertext.h"

#include <gtest/gtest.h>

#include "crypto/random.h"

namespace hangar::kms {
namespace {

const std::string kKeyId = "1234abcd-12ab-34cd-56ef-1234567890ab";

class CiphertextTest : public ::testing::Test {
 protected:
  SecretBytes material_ = crypto::RandomSecret(32);
};

TEST_F(CiphertextTest, RoundTripsAndNamesItsKeyAndVersion) {
  EncryptionContext ctx = {{"purpose", "test"}, {"a", "b"}};
  std::string blob = SealCiphertext(kKeyId, 7, material_.span(), AsBytes("hello"), ctx);
  auto header = PeekCiphertext(blob);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->key_id, kKeyId);
  EXPECT_EQ(header->version, 7u);
  auto plain = OpenCiphertext(blob, material_.span(), ctx);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(AsStringView(plain->span()), "hello");
}

TEST_F(CiphertextTest, SamePlaintextGivesDifferentBlobs) {
  std::string a = SealCiphertext(kKeyId, 1, material_.span(), AsBytes("x"), {});
  std::string b = SealCiphertext(kKeyId, 1, material_.span(), AsBytes("x"), {});
  EXPECT_NE(a, b);
}

TEST_F(CiphertextTest, EveryFlippedBitIsDetected) {
  std::string blob = SealCiphertext(kKeyId, 1, material_.span(), AsBytes("secret data"), {});
  for (size_t i = 0; i < blob.size(); ++i) {
    for (int bit = 0; bit < 8; bit += 3) {
      std::string tampered = blob;
      tampered[i] = static_cast<char>(tampered[i] ^ (1 << bit));
      auto r = OpenCiphertext(tampered, material_.span(), {});
      ASSERT_FALSE(r.ok()) << "byte " << i << " bit " << bit;
      EXPECT_EQ(r.status().code(), ErrorCode::kKmsInvalidCiphertext);
      EXPECT_EQ(r.status().message(), "");
    }
  }
}

TEST_F(CiphertextTest, TruncationAndGarbageAreInvalidCiphertext) {
  std::string blob = SealCiphertext(kKeyId, 1, material_.span(), AsBytes("secret"), {});
  for (size_t len = 0; len < blob.size(); ++len) {
    EXPECT_FALSE(OpenCiphertext(blob.substr(0, len), material_.span(), {}).ok()) << len;
  }
  EXPECT_EQ(PeekCiphertext("").status().code(), ErrorCode::kKmsInvalidCiphertext);
  EXPECT_EQ(PeekCiphertext("not a blob at all").status().code(), ErrorCode::kKmsInvalidCiphertext);
  EXPECT_EQ(PeekCiphertext(std::string("\x01\x00", 2)).status().code(),
            ErrorCode::kKmsInvalidCiphertext);
}

TEST_F(CiphertextTest, ContextMustMatchExactlyButOrderDoesNotMatter) {
  EncryptionContext ctx = {{"b", "2"}, {"a", "1"}};
  std::string blob = SealCiphertext(kKeyId, 1, material_.span(), AsBytes("p"), ctx);
  EXPECT_TRUE(OpenCiphertext(blob, material_.span(), {{"a", "1"}, {"b", "2"}}).ok());
  EXPECT_FALSE(OpenCiphertext(blob, material_.span(), {{"a", "1"}}).ok());
  EXPECT_FALSE(OpenCiphertext(blob, material_.span(), {}).ok());
  EXPECT_FALSE(OpenCiphertext(blob, material_.span(), {{"a", "1"}, {"b", "3"}}).ok());
  EXPECT_FALSE(OpenCiphertext(blob, material_.span(), {{"A", "1"}, {"b", "2"}}).ok());
}

TEST_F(CiphertextTest, CanonicalContextIsInjective) {
  EXPECT_NE(CanonicalEncryptionContext({{"a", "bc"}}), CanonicalEncryptionContext({{"ab", "c"}}));
  EXPECT_NE(CanonicalEncryptionContext({}), CanonicalEncryptionContext({{"", ""}}));
}

TEST_F(CiphertextTest, WrongMaterialFails) {
  std::string blob = SealCiphertext(kKeyId, 1, material_.span(), AsBytes("p"), {});
  SecretBytes other = crypto::RandomSecret(32);
  EXPECT_FALSE(OpenCiphertext(blob, other.span(), {}).ok());
}

TEST_F(CiphertextTest, MaximumPlaintextFitsAwsBlobLimit) {
  std::string plaintext(4096, 'x');
  std::string blob = SealCiphertext(kKeyId, 1, material_.span(), AsBytes(plaintext), {});
  EXPECT_LE(blob.size(), 6144u);
  EXPECT_EQ(blob.find(plaintext.substr(0, 64)), std::string::npos);
}

}  // namespace
}  // namespace hangar::kms
