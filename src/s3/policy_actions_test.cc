#include "s3/policy_actions.h"

#include <gtest/gtest.h>

namespace hangar::s3 {
namespace {

TEST(NamesS3ActionsTest, AcceptsS3ActionsAndPatternsThatMatchOne) {
  for (const char* action :
       {"*", "s3:*", "s3:GetObject", "S3:getobject", "s3:Get*", "s3:*Object", "s3:Get?bject",
        "s3:ListBucket", "s3:BypassGovernanceRetention", "s3:PutBucketCORS",
        "s3:GetObjectVersionAttributes", "s3:ListTagsForResource"}) {
    EXPECT_TRUE(NamesS3Actions(action)) << action;
  }
}

TEST(NamesS3ActionsTest, RefusesUnknownNamesOtherServicesAndEmptyPatterns) {
  for (const char* action :
       {"", "s3", "s3:", "GetObject", "s3:GetObjekt", "s3:GetObjects", "s3:Get", "kms:Decrypt",
        "iam:*", "s3-object-lambda:GetObject", "s3:Nothing*", "invalid_action", "s3:GetObject "}) {
    EXPECT_FALSE(NamesS3Actions(action)) << '"' << action << '"';
  }
}

}  // namespace
}  // namespace hangar::s3
