#include "s3/acl.h"

#include <gtest/gtest.h>

#include "s3/access_api.h"

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

TEST(AclTest, AListOfMoreThanAHundredGrantsIsRefused) {
  AclRequest many;
  for (int i = 0; i < 101; ++i) {
    many.grants.push_back({GranteeRef::Kind::kCanonicalUser, CanonicalUserId(kOther), "READ"});
  }
  EXPECT_EQ(ResolveAcl(many, {kOwner, kOwner, true}, Accounts()).status().code(),
            ErrorCode::kMalformedAcl);
  many.grants.pop_back();
  EXPECT_TRUE(ResolveAcl(many, {kOwner, kOwner, true}, Accounts()).ok());
}

TEST(AclTest, GrantHeadersParseQuotedOrBareAndRefuseEmptyItems) {
  HeaderList headers;
  headers.Add("x-amz-grant-read", "id=\"" + CanonicalUserId(kOther) + "\", uri=" +
                                      GroupUri("AllUsers"));
  auto parsed = AclRequestFrom(headers);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  ASSERT_TRUE(parsed->has_value());
  ASSERT_EQ((*parsed)->grants.size(), 2u);
  EXPECT_EQ((*parsed)->grants[1].kind, GranteeRef::Kind::kGroup);
  // The header as sent is what a policy condition sees.
  auto keys = AclConditionKeys(*parsed);
  ASSERT_EQ(keys.count("s3:x-amz-grant-read"), 1u);
  EXPECT_EQ(keys["s3:x-amz-grant-read"][0], headers.Get("x-amz-grant-read"));
  for (const char* bad : {"", "id=\"a\",", "id", "colour=\"red\"", "id=\"a\"b\""}) {
    HeaderList h;
    h.Add("x-amz-grant-write", bad);
    EXPECT_EQ(AclRequestFrom(h).status().code(), ErrorCode::kValidation) << bad;
  }
  HeaderList both;
  both.Add("x-amz-acl", "private");
  both.Add("x-amz-grant-read", "id=x");
  EXPECT_EQ(AclRequestFrom(both).status().code(), ErrorCode::kInvalidRequest);
  EXPECT_FALSE(AclRequestFrom(HeaderList{})->has_value());
}

}  // namespace
}  // namespace hangar::s3
