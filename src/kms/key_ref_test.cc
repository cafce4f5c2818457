#include "kms/key_ref.h"

#include <gtest/gtest.h>

namespace hangar::kms {
namespace {

TEST(KeyRefTest, ParsesAllFourForms) {
  auto id = ParseKeyRef("1234abcd-12ab-34cd-56ef-1234567890ab", "us-east-1", true);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->kind, KeyRef::Kind::kKeyId);

  auto arn = ParseKeyRef("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                         "us-east-1", true);
  ASSERT_TRUE(arn.ok());
  EXPECT_EQ(arn->kind, KeyRef::Kind::kKeyArn);
  EXPECT_EQ(arn->account_id, "111122223333");
  EXPECT_EQ(arn->key_id, "1234abcd-12ab-34cd-56ef-1234567890ab");

  auto alias = ParseKeyRef("alias/cloud_user", "us-east-1", true);
  ASSERT_TRUE(alias.ok());
  EXPECT_EQ(alias->kind, KeyRef::Kind::kAliasName);
  EXPECT_EQ(alias->alias_name, "alias/cloud_user");

  auto alias_arn = ParseKeyRef("arn:aws:kms:us-east-1:111122223333:alias/cloud_user", "us-east-1", true);
  ASSERT_TRUE(alias_arn.ok());
  EXPECT_EQ(alias_arn->kind, KeyRef::Kind::kAliasArn);
  EXPECT_EQ(alias_arn->alias_name, "alias/cloud_user");

  auto mrk = ParseKeyRef("mrk-1234abcd12ab34cd56ef1234567890ab", "us-east-1", false);
  ASSERT_TRUE(mrk.ok());
}

TEST(KeyRefTest, MalformedIdsAreNotFoundWithAwsText) {
  for (std::string bad : {"fake-key-id", "mrk-fake-key-id", "1234abcd12ab34cd56ef1234567890ab",
                          "1234ABCD-12AB-34CD-56EF-1234567890AB", ""}) {
    auto r = ParseKeyRef(bad, "us-east-1", true);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), ErrorCode::kKmsNotFound);
    EXPECT_EQ(r.status().message(), "Invalid keyId '" + bad + "'");
  }
}

TEST(KeyRefTest, ArnOfAnotherRegionIsInvalidArn) {
  auto r = ParseKeyRef("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                       "us-east-1", true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Invalid arn eu-west-1");
}

TEST(KeyRefTest, AliasesRefusedWhereOnlyKeysAreAllowed) {
  EXPECT_FALSE(ParseKeyRef("alias/x", "us-east-1", false).ok());
  EXPECT_FALSE(ParseKeyRef("arn:aws:kms:us-east-1:111122223333:alias/x", "us-east-1", false).ok());
}

TEST(KeyRefTest, AliasNameValidation) {
  EXPECT_TRUE(ValidateAliasName("alias/ok_name-1:/x", "aliasName").ok());
  auto no_prefix = ValidateAliasName("cloud_user", "aliasName");
  EXPECT_EQ(no_prefix.code(), ErrorCode::kValidation);
  EXPECT_EQ(no_prefix.message(),
            "Alias must start with the prefix \"alias/\". Please see "
            "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
  EXPECT_EQ(ValidateAliasName("alias/bad name", "aliasName").code(), ErrorCode::kValidation);
  EXPECT_EQ(ValidateAliasName(std::string(257, 'a'), "aliasName").code(), ErrorCode::kValidation);
  EXPECT_TRUE(IsReservedAlias("alias/aws/s3"));
  EXPECT_FALSE(IsReservedAlias("alias/awsome"));
}

}  // namespace
}  // namespace hangar::kms
