#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "common/strings.h"
#include "crypto/aead.h"
#include "crypto/base64.h"
#include "crypto/digest.h"
#include "crypto/hkdf.h"
#include "crypto/hmac.h"
#include "crypto/random.h"
#include "crypto/root_key.h"
#include "crypto/rsa_signing.h"

namespace hangar::crypto {
namespace {

std::string Unhex(std::string_view h) { return *HexDecode(h); }

// NIST GCM test vector (gcmEncryptExtIV256.rsp, Count = 0 with 128-bit plaintext and AAD).
TEST(AeadTest, AesGcmMatchesNistVector) {
  std::string key = Unhex("92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b");
  std::string iv = Unhex("ac93a1a6145299bde902f21a");
  std::string pt = Unhex("2d71bcfa914e4ac045b2aa60955fad24");
  std::string aad = Unhex("1e0889016f67601c8ebea4943bc23ad6");
  std::string out;
  AesGcmSeal(AsBytes(key), AsBytes(iv), AsBytes(aad), AsBytes(pt), out);
  EXPECT_EQ(HexEncode(out),
            "8995ae2e6df3dbf96fac7b7137bae67f"
            "eca5aa77d51d4a0a14d9c51e1da474ab");
  SecretBytes plain;
  ASSERT_TRUE(AesGcmOpen(AsBytes(key), AsBytes(iv), AsBytes(aad), AsBytes(out), plain));
  EXPECT_EQ(AsStringView(plain.span()), pt);
}

TEST(AeadTest, AesGcmRejectsAnyFlippedBitOrWrongAad) {
  SecretBytes key = RandomSecret(32);
  std::string iv(12, '\x07');
  std::string sealed;
  AesGcmSeal(key.span(), AsBytes(iv), AsBytes("ctx"), AsBytes("secret message"), sealed);
  SecretBytes plain;
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string tampered = sealed;
    tampered[i] ^= 0x01;
    EXPECT_FALSE(AesGcmOpen(key.span(), AsBytes(iv), AsBytes("ctx"), AsBytes(tampered), plain))
        << "byte " << i;
  }
  EXPECT_FALSE(AesGcmOpen(key.span(), AsBytes(iv), AsBytes("other"), AsBytes(sealed), plain));
  EXPECT_FALSE(AesGcmOpen(key.span(), AsBytes(iv), AsBytes("ctx"),
                          AsBytes(std::string_view(sealed).substr(0, 10)), plain));
  EXPECT_TRUE(AesGcmOpen(key.span(), AsBytes(iv), AsBytes("ctx"), AsBytes(sealed), plain));
}

// RFC 4231 test case 2.
TEST(HmacTest, HmacSha256MatchesRfc4231) {
  auto mac = HmacSha256(AsBytes("Jefe"), "what do ya want for nothing?");
  EXPECT_EQ(HexEncode(std::span<const uint8_t>(mac)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(HmacTest, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

// RFC 5869 test case 1.
TEST(HkdfTest, MatchesRfc5869) {
  std::string ikm(22, '\x0b');
  std::string salt = Unhex("000102030405060708090a0b0c");
  std::string info = Unhex("f0f1f2f3f4f5f6f7f8f9");
  SecretBytes okm = HkdfSha256(AsBytes(ikm), AsBytes(salt), info, 42);
  EXPECT_EQ(HexEncode(okm.span()),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// RFC 5869 test case 2: long inputs, three output blocks (82 bytes).
TEST(HkdfTest, MatchesRfc5869LongInputsAndSeveralBlocks) {
  std::string ikm, salt, info;
  for (int i = 0x00; i <= 0x4f; ++i) ikm.push_back(static_cast<char>(i));
  for (int i = 0x60; i <= 0xaf; ++i) salt.push_back(static_cast<char>(i));
  for (int i = 0xb0; i <= 0xff; ++i) info.push_back(static_cast<char>(i));
  SecretBytes okm = HkdfSha256(AsBytes(ikm), AsBytes(salt), info, 82);
  EXPECT_EQ(HexEncode(okm.span()),
            "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb41c65e"
            "590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

// RFC 5869 test case 3: no salt, no info.
TEST(HkdfTest, MatchesRfc5869WithoutSaltOrInfo) {
  std::string ikm(22, '\x0b');
  SecretBytes okm = HkdfSha256(AsBytes(ikm), {}, "", 42);
  EXPECT_EQ(HexEncode(okm.span()),
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

TEST(DigestTest, KnownDigests) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(HexEncode(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  Digest d(DigestAlgorithm::kSha1);
  d.Update("abc");
  EXPECT_EQ(HexEncode(d.Finish()), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(DigestTest, IncrementalEqualsOneShot) {
  Digest d(DigestAlgorithm::kSha256);
  d.Update("hello ");
  d.Update("world");
  auto one = Sha256("hello world");
  EXPECT_EQ(d.Finish(), std::string(reinterpret_cast<const char*>(one.data()), one.size()));
}

TEST(Base64Test, RoundTripsAllLengths) {
  for (size_t n = 0; n < 40; ++n) {
    std::string data(n, '\0');
    for (size_t i = 0; i < n; ++i) data[i] = static_cast<char>(i * 37 + 11);
    auto back = Base64Decode(Base64Encode(data));
    ASSERT_TRUE(back) << n;
    EXPECT_EQ(*back, data) << n;
  }
  EXPECT_EQ(Base64Encode(std::string_view("foob")), "Zm9vYg==");
}

TEST(Base64Test, RejectsInvalidText) {
  EXPECT_FALSE(Base64Decode("Zm9vYg="));   // length not a multiple of 4
  EXPECT_FALSE(Base64Decode("Zm9v!g=="));  // bad character
  EXPECT_FALSE(Base64Decode("Zm=vYg=="));  // padding in the middle
  EXPECT_FALSE(Base64Decode("Z==="));      // too much padding
  EXPECT_EQ(*Base64Decode(""), "");
}

TEST(RandomTest, UuidsAndStringsHaveTheRightShape) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string u = RandomUuid();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[8], '-');
    EXPECT_EQ(u[14], '4');
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 100u);
  std::string s = RandomString(40, "AB");
  EXPECT_EQ(s.size(), 40u);
  EXPECT_EQ(s.find_first_not_of("AB"), std::string::npos);
}

class RootKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-rootkey-" + RandomString(8, "abcdefgh"));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(RootKeyTest, CreatesA32ByteOwnerOnlyFileOnceAndReloadsIt) {
  std::string path = (dir_ / "root.key").string();
  EXPECT_FALSE(RootKey::FromFile(path, false).ok());
  auto first = RootKey::FromFile(path, true);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(std::filesystem::file_size(path), 32u);
  auto perms = std::filesystem::status(path).permissions();
  EXPECT_EQ(perms & std::filesystem::perms::all, std::filesystem::perms::owner_read |
                                                     std::filesystem::perms::owner_write);
  std::string wrapped = *(*first)->Wrap(AsBytes("material"), "ctx");
  auto second = RootKey::FromFile(path, true);
  ASSERT_TRUE(second.ok());
  auto opened = (*second)->Unwrap(wrapped, "ctx");
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(AsStringView(opened->span()), "material");
}

TEST_F(RootKeyTest, UnwrapFailsUnderAnotherKeyOrContext) {
  auto a = RootKey::FromBytes(RandomSecret(32));
  auto b = RootKey::FromBytes(RandomSecret(32));
  std::string wrapped = *a->Wrap(AsBytes("material"), "ctx");
  EXPECT_FALSE(b->Unwrap(wrapped, "ctx").ok());
  EXPECT_FALSE(a->Unwrap(wrapped, "other").ok());
  EXPECT_FALSE(a->Unwrap("short", "ctx").ok());
  EXPECT_EQ(wrapped.find("material"), std::string::npos);
}

TEST_F(RootKeyTest, RejectsAKeyFileOfTheWrongSize) {
  std::string path = (dir_ / "bad.key").string();
  FILE* f = fopen(path.c_str(), "w");
  fputs("too short", f);
  fclose(f);
  EXPECT_FALSE(RootKey::FromFile(path, true).ok());
  EXPECT_FALSE(RootKey::FromBase64("AAAA").ok());
  EXPECT_TRUE(RootKey::FromBase64(Base64Encode(std::string(32, 'k'))).ok());
}

}  // namespace
TEST(RsaSigningTest, SignaturesVerifyOnlyForTheirMessageAndKey) {
  auto pair = GenerateRsaKeyPair(2048);
  ASSERT_TRUE(pair.ok());
  auto other = GenerateRsaKeyPair(2048);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(*RsaPublicKeyOf(pair->private_der), pair->public_der);
  auto signature = RsaSha256Sign(pair->private_der, "digest end\npath\nhash\n");
  ASSERT_TRUE(signature.ok());
  EXPECT_EQ(signature->size(), 256u);
  EXPECT_TRUE(RsaSha256Verify(pair->public_der, "digest end\npath\nhash\n", *signature));
  EXPECT_FALSE(RsaSha256Verify(pair->public_der, "digest end\npath\nhasH\n", *signature));
  EXPECT_FALSE(RsaSha256Verify(other->public_der, "digest end\npath\nhash\n", *signature));
  std::string flipped = *signature;
  flipped[10] ^= 1;
  EXPECT_FALSE(RsaSha256Verify(pair->public_der, "digest end\npath\nhash\n", flipped));
  EXPECT_FALSE(RsaSha256Verify("not a key", "m", *signature));
  EXPECT_FALSE(GenerateRsaKeyPair(1024).ok());
}

}  // namespace hangar::crypto
