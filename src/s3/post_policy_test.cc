#include "s3/post_policy.h"

#include <gtest/gtest.h>

#include "common/strings.h"
#include "crypto/base64.h"

namespace hangar::s3 {
namespace {

const TimePoint kNow = *ParseIso8601("2026-03-01T12:00:00Z");

std::string Encoded(std::string_view json) { return crypto::Base64Encode(json); }

PostPolicy Parse(std::string_view conditions,
                 std::string_view expiration = "2026-03-01T13:00:00.000Z") {
  auto policy = ParsePostPolicy(Encoded(R"({"expiration": ")" + std::string(expiration) +
                                        R"(", "conditions": )" + std::string(conditions) + "}"));
  EXPECT_TRUE(policy.ok()) << policy.status().ToString();
  return policy.ok() ? *policy : PostPolicy{};
}

HeaderList Fields(std::vector<std::pair<std::string, std::string>> fields) {
  HeaderList h;
  for (const auto& [name, value] : fields) h.Add(name, value);
  return h;
}

// The botocore generate_presigned_post shape: the signature fields are conditions too.
constexpr std::string_view kBotoConditions =
    R"([{"bucket": "b"}, ["starts-with", "$key", "user/"], {"x-amz-algorithm": "AWS4-HMAC-SHA256"},
        {"x-amz-credential": "AKID/20260301/us-east-1/s3/aws4_request"},
        {"x-amz-date": "20260301T120000Z"}, ["content-length-range", 1, "1024"]])";

HeaderList BotoFields() {
  return Fields({{"key", "user/a.txt"},
                 {"x-amz-algorithm", "AWS4-HMAC-SHA256"},
                 {"x-amz-credential", "AKID/20260301/us-east-1/s3/aws4_request"},
                 {"x-amz-date", "20260301T120000Z"},
                 {"policy", "..."},
                 {"x-amz-signature", "..."}});
}

TEST(PostPolicyTest, BotocoreShapedFormPassesWithItsLengthRange) {
  auto range = CheckPostPolicy(Parse(kBotoConditions), BotoFields(), "b", kNow);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->min, 1u);
  EXPECT_EQ(range->max, 1024u);
}

TEST(PostPolicyTest, ExpiredPolicyIsDeniedFirst) {
  auto range = CheckPostPolicy(Parse(kBotoConditions, "2026-03-01T12:00:00Z"),
                               Fields({{"extra", "x"}}), "other", kNow);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().code(), ErrorCode::kAccessDenied);
  EXPECT_EQ(range.status().message(), "Invalid according to Policy: Policy expired.");
}

TEST(PostPolicyTest, FailedConditionIsQuotedAsS3Does) {
  HeaderList fields = BotoFields();
  fields.Set("key", "admin/a.txt");
  auto range = CheckPostPolicy(Parse(kBotoConditions), fields, "b", kNow);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().code(), ErrorCode::kAccessDenied);
  EXPECT_EQ(
      range.status().message(),
      R"(Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "user/"])");

  auto wrong_bucket = CheckPostPolicy(Parse(kBotoConditions), BotoFields(), "c", kNow);
  ASSERT_FALSE(wrong_bucket.ok());
  EXPECT_EQ(wrong_bucket.status().message(),
            R"(Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "b"])");
}

TEST(PostPolicyTest, FieldNamesMatchCaseInsensitivelyValuesExactly) {
  PostPolicy policy = Parse(
      R"([["eq", "$Success_Action_STATUS", "201"], ["starts-with", "$Content-Type", "image/"]])");
  EXPECT_TRUE(CheckPostPolicy(
                  policy, Fields({{"success_action_status", "201"}, {"Content-Type", "image/png"}}),
                  "b", kNow)
                  .ok());
  EXPECT_FALSE(
      CheckPostPolicy(policy,
                      Fields({{"success_action_status", "201"}, {"content-type", "IMAGE/png"}}),
                      "b", kNow)
          .ok());
}

TEST(PostPolicyTest, EveryFieldNeedsAConditionButTheExemptOnes) {
  HeaderList fields = BotoFields();
  fields.Add("x-ignore-anything", "1");
  fields.Add("file", "");
  EXPECT_TRUE(CheckPostPolicy(Parse(kBotoConditions), fields, "b", kNow).ok());
  fields.Add("x-amz-meta-note", "hello");
  auto range = CheckPostPolicy(Parse(kBotoConditions), fields, "b", kNow);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(range.status().message(),
            "Invalid according to Policy: Extra input fields: x-amz-meta-note");
}

TEST(PostPolicyTest, StartsWithEmptyAllowsAnyValue) {
  EXPECT_TRUE(CheckPostPolicy(Parse(R"([["starts-with", "$key", ""]])"),
                              Fields({{"key", "anything"}}), "b", kNow)
                  .ok());
}

TEST(PostPolicyTest, ContentLengthRangeBoundsMustBeNumbers) {
  auto range = CheckPostPolicy(Parse(R"([["content-length-range", "test", "10"]])"), {}, "b", kNow);
  ASSERT_FALSE(range.ok());
  EXPECT_EQ(
      range.status().message(),
      R"(Invalid according to Policy: Policy Condition failed: ["content-length-range", "test", "10"])");
  EXPECT_FALSE(CheckPostPolicy(Parse(R"([["content-length-range", 10, 1]])"), {}, "b", kNow).ok());
  EXPECT_FALSE(CheckPostPolicy(Parse(R"([["content-length-range", -1, 1]])"), {}, "b", kNow).ok());
}

TEST(PostPolicyTest, MalformedDocumentsAreInvalidPolicyDocument) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "Invalid Policy: Expecting '{' but found End-of-Input"},
      {"!!!", "Invalid Policy: invalid Base64 encoding."},
      {Encoded("{not json"), "Invalid Policy: Invalid JSON."},
      {Encoded(R"({"conditions": []})"), "Invalid Policy: Policy missing expiration."},
      {Encoded(R"({"expiration": "tomorrow", "conditions": []})"),
       "Invalid Policy: Invalid 'expiration' value: 'tomorrow'"},
      {Encoded(R"({"expiration": "2026-03-01T13:00:00Z"})"),
       "Invalid Policy: Policy missing conditions."},
      {Encoded(R"({"expiration": "2026-03-01T13:00:00Z", "conditions": {}})"),
       "Invalid Policy: Invalid 'conditions' value: must be a List."},
      {Encoded(R"({"expiration": "2026-03-01T13:00:00Z", "conditions": [1]})"),
       "Invalid Policy: Invalid condition test: must be a List or Object."},
      {Encoded(R"({"expiration": "2026-03-01T13:00:00Z", "conditions": [{"a": "1", "b": "2"}]})"),
       "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one "
       "property specified."},
      {Encoded(R"({"expiration": "2026-03-01T13:00:00Z", "conditions": [["between", "$a", "1"]]})"),
       "Invalid Policy: Invalid Condition: unknown operation 'between'."},
      {Encoded(R"({"expiration": "2026-03-01T13:00:00Z", "conditions": [["eq", "$a"]]})"),
       "Invalid Policy: Invalid eq: wrong number of arguments."},
  };
  for (const auto& [policy, message] : cases) {
    auto parsed = ParsePostPolicy(policy);
    ASSERT_FALSE(parsed.ok()) << policy;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidPolicyDocument);
    EXPECT_EQ(parsed.status().message(), message);
  }
}

// The S3 API Reference's sigv4-post-example: its policy and form, as the page gives them.
constexpr std::string_view kAwsExamplePolicy =
    "eyAiZXhwaXJhdGlvbiI6ICIyMDE1LTEyLTMwVDEyOjAwOjAwLjAwMFoiLA0KICAiY29uZGl0aW9ucyI6IFsNCiAgIC"
    "B7ImJ1Y2tldCI6ICJzaWd2NGV4YW1wbGVidWNrZXQifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRrZXkiLCAidXNl"
    "ci91c2VyMS8iXSwNCiAgICB7ImFjbCI6ICJwdWJsaWMtcmVhZCJ9LA0KICAgIHsic3VjY2Vzc19hY3Rpb25fcmVkaX"
    "JlY3QiOiAiaHR0cDovL3NpZ3Y0ZXhhbXBsZWJ1Y2tldC5zMy5hbWF6b25hd3MuY29tL3N1Y2Nlc3NmdWxfdXBsb2Fk"
    "Lmh0bWwifSwNCiAgICBbInN0YXJ0cy13aXRoIiwgIiRDb250ZW50LVR5cGUiLCAiaW1hZ2UvIl0sDQogICAgeyJ4LW"
    "Ftei1tZXRhLXV1aWQiOiAiMTQzNjUxMjM2NTEyNzQifSwNCiAgICB7IngtYW16LXNlcnZlci1zaWRlLWVuY3J5cHRp"
    "b24iOiAiQUVTMjU2In0sDQogICAgWyJzdGFydHMtd2l0aCIsICIkeC1hbXotbWV0YS10YWciLCAiIl0sDQoNCiAgIC"
    "B7IngtYW16LWNyZWRlbnRpYWwiOiAiQUtJQUlPU0ZPRE5ON0VYQU1QTEUvMjAxNTEyMjkvdXMtZWFzdC0xL3MzL2F3"
    "czRfcmVxdWVzdCJ9LA0KICAgIHsieC1hbXotYWxnb3JpdGhtIjogIkFXUzQtSE1BQy1TSEEyNTYifSwNCiAgICB7In"
    "gtYW16LWRhdGUiOiAiMjAxNTEyMjlUMDAwMDAwWiIgfQ0KICBdDQp9";

TEST(PostPolicyTest, AwsExampleFormSatisfiesItsPolicyUntilItExpires) {
  auto policy = ParsePostPolicy(kAwsExamplePolicy);
  ASSERT_TRUE(policy.ok()) << policy.status().ToString();
  EXPECT_EQ(policy->conditions.size(), 11u);
  const HeaderList form = Fields(
      {{"key", "user/user1/photo.jpg"},  // user/user1/${filename}, replaced
       {"acl", "public-read"},
       {"success_action_redirect",
        "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},
       {"Content-Type", "image/jpeg"},
       {"x-amz-meta-uuid", "14365123651274"},
       {"x-amz-server-side-encryption", "AES256"},
       {"X-Amz-Credential", "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},
       {"X-Amz-Algorithm", "AWS4-HMAC-SHA256"},
       {"X-Amz-Date", "20151229T000000Z"},
       {"x-amz-meta-tag", ""},
       {"Policy", std::string(kAwsExamplePolicy)},
       {"X-Amz-Signature", "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"}});
  const TimePoint signed_at = *ParseIso8601("2015-12-29T00:00:00Z");
  EXPECT_TRUE(CheckPostPolicy(*policy, form, "sigv4examplebucket", signed_at).ok());
  EXPECT_EQ(
      CheckPostPolicy(*policy, form, "sigv4examplebucket", *ParseIso8601("2015-12-30T12:00:00Z"))
          .status()
          .message(),
      "Invalid according to Policy: Policy expired.");
}

}  // namespace
}  // namespace hangar::s3
