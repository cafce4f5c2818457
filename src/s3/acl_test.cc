#include "s3/acl.h"

#include <gtest/gtest.h>

namespace hangar::s3 {
namespace {

constexpr char kOwner[] = "111122223333";
constexpr char kOther[] = "444455556666";

AccountLister Accounts() {
  return [] { return Result<std::vector<std::string>>(std::vector<std::string>{kOwner, kOther}); };
}

TEST(AclTest, CannedAclsAddTheirGrantsToTheOwnersFullControl) {
  AclParties object{kOther, kOwner, false};
  auto acl = ResolveAcl({"bucket-owner-full-control", {}}, object, Accounts());
  ASSERT_TRUE(acl.ok());
  EXPECT_EQ(*acl, (AccessControlList{{kOther, "", "FULL_CONTROL"}, {kOwner, "", "FULL_CONTROL"}}));
  auto public_read = ResolveAcl({"public-read", {}}, object, Accounts());
  ASSERT_TRUE(public_read.ok());
  EXPECT_TRUE(IsPublicAcl(*public_read));
  EXPECT_FALSE(IsPublicAcl(*acl));
  // On a bucket, bucket-owner-full-control names nobody new.
  auto bucket = ResolveAcl({"bucket-owner-full-control", {}}, {kOwner, kOwner, true}, Accounts());
  EXPECT_EQ(*bucket, PrivateAcl(kOwner));
  EXPECT_EQ(ResolveAcl({"public-everything", {}}, object, Accounts()).status().code(),
            ErrorCode::kValidation);
}

TEST(AclTest, GrantsResolveCanonicalIdsAndGroupsAndRefuseTheRest) {
  AclParties parties{kOwner, kOwner, true};
  using Kind = GranteeRef::Kind;
  auto acl = ResolveAcl(
      {"",
       {{Kind::kCanonicalUser, CanonicalUserId(kOther), "READ"},
        {Kind::kGroup, "http://acs.amazonaws.com/groups/global/AuthenticatedUsers", "READ"}}},
      parties, Accounts());
  ASSERT_TRUE(acl.ok()) << acl.status().ToString();
  EXPECT_EQ(*acl, (AccessControlList{{kOther, "", "READ"}, {"", "AuthenticatedUsers", "READ"}}));
  EXPECT_EQ(ResolveAcl({"", {{Kind::kCanonicalUser, CanonicalUserId("999999999999"), "READ"}}},
                       parties, Accounts())
                .status()
                .code(),
            ErrorCode::kValidation);
  EXPECT_EQ(ResolveAcl({"", {{Kind::kEmail, "x@example.com", "READ"}}}, parties, Accounts())
                .status()
                .code(),
            ErrorCode::kUnresolvableGrantByEmailAddress);
  EXPECT_EQ(
      ResolveAcl({"", {{Kind::kGroup, "http://acs.amazonaws.com/groups/global/Nobody", "READ"}}},
                 parties, Accounts())
          .status()
          .code(),
      ErrorCode::kValidation);
  EXPECT_EQ(ResolveAcl({"", {{Kind::kCanonicalUser, CanonicalUserId(kOther), "ALL"}}}, parties,
                       Accounts())
                .status()
                .code(),
            ErrorCode::kMalformedAcl);
}

TEST(AclTest, GroupUrisRoundTripAndOwnerOnlyListsAreRecognised) {
  EXPECT_EQ(GroupOf(GroupUri("AllUsers")), "AllUsers");
  EXPECT_EQ(GroupOf("http://acs.amazonaws.com/groups/s3/LogDelivery"), "LogDelivery");
  EXPECT_EQ(GroupOf("http://example.com/AllUsers"), "");
  EXPECT_FALSE(GrantsBeyondOwner(PrivateAcl(kOwner), kOwner));
  EXPECT_TRUE(GrantsBeyondOwner({{kOwner, "", "FULL_CONTROL"}, {"", "AllUsers", "READ"}}, kOwner));
  EXPECT_NE(CanonicalUserId(kOwner), CanonicalUserId(kOther));
  EXPECT_EQ(CanonicalUserId(kOwner).size(), 64u);
}

}  // namespace
}  // namespace hangar::s3
