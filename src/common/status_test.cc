#include "common/status.h"

#include <gtest/gtest.h>

#include <set>

#include "common/result.h"

namespace hangar {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), ErrorCode::kOk);
}

TEST(StatusTest, KmsCodesRenderAsAwsJsonTypesWithStatus400) {
  EXPECT_EQ(WireOf(ErrorCode::kKmsNotFound).json_type, "NotFoundException");
  EXPECT_EQ(WireOf(ErrorCode::kKmsInvalidState).json_type, "KMSInvalidStateException");
  EXPECT_EQ(WireOf(ErrorCode::kKmsDisabled).json_status, 400);
  EXPECT_EQ(WireOf(ErrorCode::kAccessDenied).json_status, 400);
}

TEST(StatusTest, KmsErrorsSurfaceInS3WithKmsPrefix) {
  EXPECT_EQ(WireOf(ErrorCode::kKmsDisabled).xml_code, "KMS.DisabledException");
  EXPECT_EQ(WireOf(ErrorCode::kKmsInvalidState).xml_code, "KMS.KMSInvalidStateException");
  EXPECT_EQ(WireOf(ErrorCode::kAccessDenied).xml_status, 403);
}

TEST(StatusTest, EveryErrorCodeHasAJsonTypeAndANonSuccessStatus) {
  for (int i = 1; i < static_cast<int>(ErrorCode::kCount_); ++i) {
    const ErrorWire& w = WireOf(static_cast<ErrorCode>(i));
    EXPECT_FALSE(w.json_type.empty()) << i;
    EXPECT_GE(w.json_status, 300) << i;
    EXPECT_GE(w.xml_status, 300) << i;
    EXPECT_GE(w.query_status, 300) << i;
  }
}

Result<int> Half(int v) {
  if (v % 2) return Error(ErrorCode::kValidation, "odd");
  return v / 2;
}

Result<int> Quarter(int v) {
  HANGAR_ASSIGN_OR_RETURN(int h, Half(v));
  return Half(h);
}

TEST(ResultTest, AssignOrReturnPropagatesTheFirstError) {
  EXPECT_EQ(*Quarter(8), 2);
  Result<int> r = Quarter(6);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kValidation);
  EXPECT_EQ(r.status().message(), "odd");
}

TEST(ResultTest, WithFieldKeepsExtraMembersInOrder) {
  Status s = Error(ErrorCode::kAccessDenied, "no");
  s.WithField("Resource", "/b").WithField("BucketName", "b");
  ASSERT_EQ(s.fields().size(), 2u);
  EXPECT_EQ(s.fields()[1].first, "BucketName");
}

}  // namespace
}  // namespace hangar
