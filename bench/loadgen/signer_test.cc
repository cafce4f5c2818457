#include "loadgen/signer.h"

#include <gtest/gtest.h>

#include <string>

#include "auth/sigv4.h"

namespace hangar::bench {
namespace {

constexpr char kSecret[] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

SigV4Signer Signer(const char* service) {
  return SigV4Signer("AKIDEXAMPLE", kSecret, "us-east-1", service, "127.0.0.1:9000");
}

TEST(SignedHeadersTest, NamesAreSortedAsSigV4Wants) {
  SignedHeaders kms({{"x-amz-target", "TrentService.Encrypt"}, {"content-type", "x"}}, false);
  EXPECT_EQ(kms.names(), "content-type;host;x-amz-date;x-amz-target");
  SignedHeaders s3({{"x-amz-server-side-encryption", "AES256"}}, true);
  EXPECT_EQ(s3.names(), "host;x-amz-content-sha256;x-amz-date;x-amz-server-side-encryption");
}

TEST(SigV4SignerTest, KmsRequestVerifiesWithTheServersSigV4) {
  SigV4Signer signer = Signer("kms");
  SignedHeaders headers({{"content-type", "application/x-amz-json-1.1"},
                         {"x-amz-target", "TrentService.GenerateDataKey"}},
                        false);
  const std::string body = R"({"KeyId":"alias/k","KeySpec":"AES_256"})";
  std::string head;
  signer.BuildHead("POST", "/", HexSha256(body).view(), body.size(), headers, head);
  EXPECT_TRUE(head.starts_with("POST / HTTP/1.1\r\n"));
  EXPECT_NE(head.find("\r\nContent-Length: " + std::to_string(body.size()) + "\r\n"),
            std::string::npos);
  EXPECT_TRUE(head.ends_with("\r\n\r\n"));
  EXPECT_TRUE(MatchesServerSigV4(head, HexSha256(body).view(), kSecret, true));
  // Another body, another signature.
  EXPECT_FALSE(MatchesServerSigV4(head, HexSha256("{}").view(), kSecret, true));
  EXPECT_FALSE(MatchesServerSigV4(head, HexSha256(body).view(), "wrong secret", true));
}

TEST(SigV4SignerTest, S3RequestWithSseHeadersVerifiesWithTheServersSigV4) {
  SigV4Signer signer = Signer("s3");
  SignedHeaders headers({{"x-amz-server-side-encryption", "aws:kms"},
                         {"x-amz-server-side-encryption-aws-kms-key-id", "alias/k"}},
                        true);
  std::string head;
  for (int i = 0; i < 2; ++i) {  // the second reuses the scratch buffers
    signer.BuildHead("GET", "/bench/obj/00000001", auth::kEmptyPayloadHash, std::nullopt, headers,
                     head);
    EXPECT_EQ(head.find("Content-Length"), std::string::npos);
    EXPECT_TRUE(MatchesServerSigV4(head, auth::kEmptyPayloadHash, kSecret, false));
  }
}

TEST(HexSha256Test, MatchesTheEmptyPayloadHash) {
  EXPECT_EQ(HexSha256("").view(), auth::kEmptyPayloadHash);
}

}  // namespace
}  // namespace hangar::bench
