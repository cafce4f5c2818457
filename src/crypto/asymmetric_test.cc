#include "crypto/asymmetric.h"

#include <gtest/gtest.h>

#include "common/strings.h"
#include "crypto/key_wrap.h"

namespace hangar::crypto {
namespace {

struct SignCase {
  SignaturePadding padding;
  HashAlgorithm hash;
};

class AsymmetricKeyTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rsa_ = AsymmetricKey::GenerateRsa(2048).value();
    p256_ = AsymmetricKey::GenerateEc("P-256").value();
  }
  static void TearDownTestSuite() {
    rsa_.reset();
    p256_.reset();
  }
  static std::shared_ptr<const AsymmetricKey> PublicOf(const AsymmetricKey& key) {
    return AsymmetricKey::FromPublicDer(key.public_der()).value();
  }
  static inline std::shared_ptr<const AsymmetricKey> rsa_;
  static inline std::shared_ptr<const AsymmetricKey> p256_;
};

TEST_F(AsymmetricKeyTest, RsaSignaturesVerifyWithThePublicHalfOnlyForTheSignedDigest) {
  for (auto c : {SignCase{SignaturePadding::kPkcs1v15, HashAlgorithm::kSha256},
                 SignCase{SignaturePadding::kPkcs1v15, HashAlgorithm::kSha512},
                 SignCase{SignaturePadding::kPss, HashAlgorithm::kSha256},
                 SignCase{SignaturePadding::kPss, HashAlgorithm::kSha384}}) {
    std::string digest = HashBytes(c.hash, "flight record 17");
    auto signature = rsa_->SignDigest(c.padding, c.hash, digest);
    ASSERT_TRUE(signature.ok()) << signature.status().message();
    EXPECT_EQ(signature->size(), 256u);
    auto pub = PublicOf(*rsa_);
    EXPECT_FALSE(pub->has_private());
    EXPECT_TRUE(pub->VerifyDigest(c.padding, c.hash, digest, *signature));
    std::string other = HashBytes(c.hash, "flight record 18");
    EXPECT_FALSE(pub->VerifyDigest(c.padding, c.hash, other, *signature));
    // The other padding over the same digest is another signature scheme: it must not verify.
    auto other_padding =
        c.padding == SignaturePadding::kPss ? SignaturePadding::kPkcs1v15 : SignaturePadding::kPss;
    EXPECT_FALSE(pub->VerifyDigest(other_padding, c.hash, digest, *signature));
  }
}

TEST_F(AsymmetricKeyTest, PkcsOneSignaturesAreDeterministicAndPssOnesAreNot) {
  std::string digest = HashBytes(HashAlgorithm::kSha256, "m");
  EXPECT_EQ(*rsa_->SignDigest(SignaturePadding::kPkcs1v15, HashAlgorithm::kSha256, digest),
            *rsa_->SignDigest(SignaturePadding::kPkcs1v15, HashAlgorithm::kSha256, digest));
  EXPECT_NE(*rsa_->SignDigest(SignaturePadding::kPss, HashAlgorithm::kSha256, digest),
            *rsa_->SignDigest(SignaturePadding::kPss, HashAlgorithm::kSha256, digest));
}

TEST_F(AsymmetricKeyTest, EcdsaOnEveryCurveGivesDerSignaturesThatVerify) {
  for (auto [curve, group, hash] :
       {std::tuple{"P-256", "prime256v1", HashAlgorithm::kSha256},
        std::tuple{"P-384", "secp384r1", HashAlgorithm::kSha384},
        std::tuple{"P-521", "secp521r1", HashAlgorithm::kSha512},
        std::tuple{"secp256k1", "secp256k1", HashAlgorithm::kSha256}}) {
    auto key = AsymmetricKey::GenerateEc(curve).value();
    EXPECT_EQ(key->curve(), group);
    EXPECT_FALSE(key->is_rsa());
    std::string digest = HashBytes(hash, "telemetry");
    auto signature = key->SignDigest(SignaturePadding::kEcdsa, hash, digest);
    ASSERT_TRUE(signature.ok()) << curve;
    EXPECT_EQ(static_cast<uint8_t>((*signature)[0]), 0x30) << "DER SEQUENCE {r, s}";
    EXPECT_TRUE(PublicOf(*key)->VerifyDigest(SignaturePadding::kEcdsa, hash, digest, *signature));
    std::string flipped = *signature;
    flipped[flipped.size() - 1] ^= 1;
    EXPECT_FALSE(key->VerifyDigest(SignaturePadding::kEcdsa, hash, digest, flipped));
    EXPECT_FALSE(key->VerifyDigest(SignaturePadding::kEcdsa, hash, digest, "not a signature"));
  }
}

TEST_F(AsymmetricKeyTest, AWrongLengthDigestIsRefused) {
  EXPECT_FALSE(p256_->SignDigest(SignaturePadding::kEcdsa, HashAlgorithm::kSha256, "short").ok());
}

TEST_F(AsymmetricKeyTest, PrivateKeysRoundTripThroughPkcs8) {
  for (const auto& key : {rsa_, p256_}) {
    auto der = key->PrivateDer();
    ASSERT_TRUE(der.ok());
    auto again = AsymmetricKey::FromPrivateDer(*der);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ((*again)->public_der(), key->public_der());
    EXPECT_TRUE((*again)->has_private());
  }
  EXPECT_FALSE(PublicOf(*rsa_)->PrivateDer().ok());
}

TEST_F(AsymmetricKeyTest, PublicKeysWithTrailingBytesOrGarbageDoNotParse) {
  EXPECT_EQ(AsymmetricKey::FromPublicDer(rsa_->public_der() + "x").status().code(),
            ErrorCode::kValidation);
  EXPECT_EQ(AsymmetricKey::FromPublicDer("garbage").status().code(), ErrorCode::kValidation);
}

TEST_F(AsymmetricKeyTest, OaepRoundTripsUpToItsLimitAndOnlyWithTheSameHash) {
  EXPECT_EQ(rsa_->OaepMaxPlaintext(HashAlgorithm::kSha256), 190u);
  EXPECT_EQ(rsa_->OaepMaxPlaintext(HashAlgorithm::kSha1), 214u);
  std::string plaintext(190, 'p');
  auto ciphertext = PublicOf(*rsa_)->OaepEncrypt(HashAlgorithm::kSha256, AsBytes(plaintext));
  ASSERT_TRUE(ciphertext.ok());
  EXPECT_EQ(ciphertext->size(), 256u);
  auto decrypted = rsa_->OaepDecrypt(HashAlgorithm::kSha256, *ciphertext);
  ASSERT_TRUE(decrypted.ok());
  EXPECT_EQ(AsStringView(decrypted->span()), plaintext);
  EXPECT_EQ(rsa_->OaepDecrypt(HashAlgorithm::kSha1, *ciphertext).status().code(),
            ErrorCode::kValidation);
  EXPECT_EQ(rsa_->OaepDecrypt(HashAlgorithm::kSha256, ciphertext->substr(1)).status().code(),
            ErrorCode::kValidation);
  EXPECT_FALSE(rsa_->OaepEncrypt(HashAlgorithm::kSha256, AsBytes(plaintext + "x")).ok());
}

TEST_F(AsymmetricKeyTest, EcdhAgreesBothWaysAndRefusesAnotherCurve) {
  for (auto [curve, size] : {std::pair{"P-256", 32u}, std::pair{"P-384", 48u},
                             std::pair{"P-521", 66u}}) {
    auto a = AsymmetricKey::GenerateEc(curve).value();
    auto b = AsymmetricKey::GenerateEc(curve).value();
    auto ab = a->DeriveSharedSecret(*PublicOf(*b));
    auto ba = b->DeriveSharedSecret(*PublicOf(*a));
    ASSERT_TRUE(ab.ok() && ba.ok()) << curve;
    EXPECT_EQ(ab->size(), size);
    EXPECT_EQ(HexEncode(ab->span()), HexEncode(ba->span()));
  }
  auto p384 = AsymmetricKey::GenerateEc("P-384").value();
  EXPECT_EQ(p256_->DeriveSharedSecret(*PublicOf(*p384)).status().code(), ErrorCode::kValidation);
  EXPECT_EQ(p256_->DeriveSharedSecret(*PublicOf(*rsa_)).status().code(), ErrorCode::kValidation);
}

// RFC 4231 test case 2.
TEST(HmacTest, MatchesRfc4231) {
  std::string key = "Jefe";
  std::string data = "what do ya want for nothing?";
  EXPECT_EQ(HexEncode(Hmac(HashAlgorithm::kSha224, AsBytes(key), data)),
            "a30e01098bc6dbbf45690f3a7e9e6d0f8bbea2a39e6148008fd05e44");
  EXPECT_EQ(HexEncode(Hmac(HashAlgorithm::kSha256, AsBytes(key), data)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexEncode(Hmac(HashAlgorithm::kSha384, AsBytes(key), data)),
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e"
            "8e2240ca5e69e2c78b3239ecfab21649");
  EXPECT_EQ(HexEncode(Hmac(HashAlgorithm::kSha512, AsBytes(key), data)),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
}

// RFC 5649 section 6, second example: 7 bytes under a 192-bit KEK.
TEST(KeyWrapTest, MatchesRfc5649AndRefusesAnotherKek) {
  std::string kek = *HexDecode("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
  std::string key = *HexDecode("466f7250617369");
  auto wrapped = AesKeyWrapPad(AsBytes(kek), AsBytes(key));
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(HexEncode(*wrapped), "afbeb0f07dfbf5419200f2ccb50bb24f");
  auto unwrapped = AesKeyUnwrapPad(AsBytes(kek), *wrapped);
  ASSERT_TRUE(unwrapped.ok());
  EXPECT_EQ(AsStringView(unwrapped->span()), key);
  std::string other_kek = kek;
  other_kek[0] ^= 1;
  EXPECT_EQ(AesKeyUnwrapPad(AsBytes(other_kek), *wrapped).status().code(), ErrorCode::kValidation);
  EXPECT_EQ(AesKeyUnwrapPad(AsBytes(kek), "short").status().code(), ErrorCode::kValidation);
}

}  // namespace
}  // namespace hangar::crypto
