#include "s3/bucket_name.h"

#include <gtest/gtest.h>

#include <string>

namespace hangar::s3 {
namespace {

TEST(BucketNameTest, AcceptsValidNames) {
  const std::string valid[] = {
      "abc",                 // minimum length
      std::string(63, 'a'),  // maximum length
      "my-bucket",
      "my.bucket.name",
      "docexamplebucket1",
      "log-delivery-march-2020",
      "my-hosted-content",
      "123",  // digits only
      "1-2",
      "a.b.c",
      "my--bucket",  // adjacent hyphens are fine
      "a" + std::string(61, '-') + "z",
      "xn-bucket",  // only "xn--" is reserved
      "xnbucket",
      "sthree",  // only "sthree-" is reserved
      "sthreebucket",
      "amzn-s3-demo",  // only "amzn-s3-demo-" is reserved
      "amzn-s3-bucket",
      "bucket-s3alias-x",  // reserved suffixes only at the end
      "bucket-s3alia",
      "bucket-ol-s3",  // single hyphen before "ol-s3"
      "bucket-x-s3",   // single hyphen before "x-s3"
      "bucketmrap",
      "bucket.mrap1",
      "mrap.bucket",
      "192.168.5",      // three groups: not an address
      "192.168.5.4.5",  // five groups
      "192.168.5.4a",
      "a192.168.5.4",
      "1.2.3.4444",  // a group of four digits is no IPv4 group
      // The User Guide no longer lists the legacy rule against a period next to a hyphen, and
      // s3.md §3 does not either.
      "a.-b",
      "a-.b",
  };
  for (const std::string& name : valid) {
    Status status = ValidateBucketName(name);
    EXPECT_TRUE(status.ok()) << "'" << name << "': " << status.ToString();
  }
}

TEST(BucketNameTest, RejectsInvalidNames) {
  struct Case {
    std::string name;
    std::string_view why;
  };
  const Case invalid[] = {
      {"", "empty"},
      {"ab", "too short"},
      {std::string(64, 'a'), "too long"},
      {std::string(1000, 'a'), "far too long"},
      {"MyBucket", "upper case"},
      {"BUCKET", "upper case"},
      {"my_bucket", "underscore"},
      {"my bucket", "space"},
      {"bucket/key", "slash"},
      {"bucket:1", "colon"},
      {std::string("b") + "\xc3\xbc" + "cket", "non-ASCII"},
      {std::string("buc\0ket", 7), "NUL byte"},
      {"-bucket", "starts with hyphen"},
      {"bucket-", "ends with hyphen"},
      {".bucket", "starts with period"},
      {"bucket.", "ends with period"},
      {"my..bucket", "adjacent periods"},
      {"a...b", "adjacent periods"},
      {"192.168.5.4", "IPv4 address"},
      {"10.0.0.1", "IPv4 address"},
      {"0.0.0.0", "IPv4 address"},
      {"255.255.255.255", "IPv4 address"},
      {"999.999.999.999", "formatted as an IPv4 address"},
      {"xn--bucket", "reserved prefix xn--"},
      {"xn--", "reserved prefix xn--, and ends with hyphen"},
      {"sthree-bucket", "reserved prefix sthree-"},
      {"sthree-configurator", "reserved prefix sthree-configurator"},
      {"amzn-s3-demo-bucket", "reserved prefix amzn-s3-demo-"},
      {"bucket-s3alias", "reserved suffix -s3alias"},
      {"bucket--ol-s3", "reserved suffix --ol-s3"},
      {"bucket.mrap", "reserved suffix .mrap"},
      {"bucket--x-s3", "reserved suffix --x-s3"},
      {"bucket--usw2-az1--x-s3", "directory bucket name"},
  };
  for (const Case& c : invalid) {
    Status status = ValidateBucketName(c.name);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidBucketName) << c.why << ": '" << c.name << "'";
  }
}

TEST(BucketNameTest, ErrorCarriesMessageAndBucketName) {
  Status status = ValidateBucketName("Invalid_Name");
  ASSERT_EQ(status.code(), ErrorCode::kInvalidBucketName);
  EXPECT_EQ(status.message(), "The specified bucket is not valid.");
  ASSERT_EQ(status.fields().size(), 1u);
  EXPECT_EQ(status.fields()[0].first, "BucketName");
  EXPECT_EQ(status.fields()[0].second, "Invalid_Name");
  EXPECT_EQ(WireOf(status.code()).xml_status, 400);
  EXPECT_EQ(WireOf(status.code()).xml_code, "InvalidBucketName");
}

TEST(BucketNameTest, EveryAllowedCharacterIsAcceptedInsideAName) {
  for (char c = 'a'; c <= 'z'; ++c)
    EXPECT_TRUE(ValidateBucketName(std::string("a") + c + "a").ok());
  for (char c = '0'; c <= '9'; ++c)
    EXPECT_TRUE(ValidateBucketName(std::string("a") + c + "a").ok());
  EXPECT_TRUE(ValidateBucketName("a.a").ok());
  EXPECT_TRUE(ValidateBucketName("a-a").ok());
}

TEST(BucketNameTest, EveryOtherByteIsRejectedInsideAName) {
  for (int b = 0; b < 256; ++b) {
    char c = static_cast<char>(b);
    bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (allowed) continue;
    EXPECT_EQ(ValidateBucketName(std::string("a") + c + "a").code(), ErrorCode::kInvalidBucketName)
        << "byte " << b;
  }
}

}  // namespace
}  // namespace hangar::s3
