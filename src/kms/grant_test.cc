#include "kms/grant.h"

#include <gtest/gtest.h>

#include "crypto/base64.h"

namespace hangar::kms {
namespace {

auth::Principal User(std::string name) {
  auth::Principal p;
  p.type = auth::PrincipalType::kUser;
  p.account_id = "111122223333";
  p.arn = "arn:aws:iam::111122223333:user/" + name;
  p.name = name;
  return p;
}

auth::Principal Session(std::string role, std::string session) {
  auth::Principal p;
  p.type = auth::PrincipalType::kAssumedRole;
  p.account_id = "111122223333";
  p.arn = "arn:aws:sts::111122223333:assumed-role/" + role + "/" + session;
  p.role_arn = "arn:aws:iam::111122223333:role/" + role;
  p.role_name = role;
  return p;
}

GrantRecord DecryptGrant(std::string grantee) {
  GrantRecord g;
  g.grant_id = std::string(64, 'a');
  g.key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
  g.key_arn = "arn:aws:kms:us-east-1:111122223333:key/" + g.key_id;
  g.grantee_principal = std::move(grantee);
  g.operations = {"Decrypt"};
  return g;
}

TEST(GrantTest, GranteeMatchesExactArnOrTheRoleOfASession) {
  EXPECT_TRUE(GrantNamesPrincipal("arn:aws:iam::111122223333:user/alice", User("alice")));
  EXPECT_FALSE(GrantNamesPrincipal("arn:aws:iam::111122223333:user/alice", User("bob")));
  EXPECT_TRUE(GrantNamesPrincipal("arn:aws:iam::111122223333:role/app", Session("app", "s1")));
  EXPECT_TRUE(
      GrantNamesPrincipal("arn:aws:sts::111122223333:assumed-role/app/s1", Session("app", "s1")));
  EXPECT_FALSE(
      GrantNamesPrincipal("arn:aws:sts::111122223333:assumed-role/app/s1", Session("app", "s2")));
  // A grant to the account covers its root user, not every principal of the account.
  EXPECT_FALSE(GrantNamesPrincipal("arn:aws:iam::111122223333:root", User("alice")));
  EXPECT_FALSE(GrantNamesPrincipal("", auth::Principal{}));
}

TEST(GrantTest, GrantAllowsOnlyTheListedOperations) {
  GrantRecord g = DecryptGrant("arn:aws:iam::111122223333:user/alice");
  EXPECT_TRUE(GrantAllows(g, User("alice"), "Decrypt", nullptr));
  EXPECT_FALSE(GrantAllows(g, User("alice"), "Encrypt", nullptr));
  EXPECT_FALSE(GrantAllows(g, User("bob"), "Decrypt", nullptr));
}

TEST(GrantTest, EqualsConstraintNeedsTheExactContextWithCaseInsensitiveKeys) {
  GrantConstraints c;
  c.context_equals = EncryptionContext{{"Dept", "IT"}};
  EncryptionContext exact{{"Dept", "IT"}};
  EncryptionContext folded_key{{"dept", "IT"}};
  EncryptionContext other_value{{"Dept", "it"}};
  EncryptionContext more{{"Dept", "IT"}, {"x", "y"}};
  EncryptionContext none;
  EXPECT_TRUE(ConstraintsAllow(c, &exact));
  EXPECT_TRUE(ConstraintsAllow(c, &folded_key));
  EXPECT_FALSE(ConstraintsAllow(c, &other_value));
  EXPECT_FALSE(ConstraintsAllow(c, &more));
  EXPECT_FALSE(ConstraintsAllow(c, &none));
  // Operations without an encryption context (DescribeKey) are not limited by it.
  EXPECT_TRUE(ConstraintsAllow(c, nullptr));
}

TEST(GrantTest, SubsetConstraintNeedsItsPairsAmongTheRequests) {
  GrantConstraints c;
  c.context_subset = EncryptionContext{{"Dept", "IT"}};
  EncryptionContext more{{"Dept", "IT"}, {"x", "y"}};
  EncryptionContext missing{{"x", "y"}};
  EXPECT_TRUE(ConstraintsAllow(c, &more));
  EXPECT_FALSE(ConstraintsAllow(c, &missing));
}

TEST(GrantTest, ChildConstraintsMustBeAtLeastAsStrict) {
  GrantConstraints none;
  GrantConstraints subset;
  subset.context_subset = EncryptionContext{{"a", "1"}};
  GrantConstraints wider_subset;
  wider_subset.context_subset = EncryptionContext{{"a", "1"}, {"b", "2"}};
  GrantConstraints equals;
  equals.context_equals = EncryptionContext{{"a", "1"}, {"b", "2"}};
  EXPECT_TRUE(ConstraintsAtLeastAsStrict(none, none));
  EXPECT_TRUE(ConstraintsAtLeastAsStrict(subset, none));
  EXPECT_FALSE(ConstraintsAtLeastAsStrict(none, subset));
  EXPECT_TRUE(ConstraintsAtLeastAsStrict(wider_subset, subset));
  EXPECT_TRUE(ConstraintsAtLeastAsStrict(equals, subset));
  EXPECT_FALSE(ConstraintsAtLeastAsStrict(subset, equals));
  EXPECT_TRUE(ConstraintsAtLeastAsStrict(equals, equals));
}

TEST(GrantTest, TokensRoundTripAndAreUniquePerMint) {
  GrantRecord g = DecryptGrant("arn:aws:iam::111122223333:user/alice");
  std::string t1 = MintGrantToken(g);
  std::string t2 = MintGrantToken(g);
  EXPECT_NE(t1, t2);
  auto parsed = ParseGrantToken(t1);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->grant_id, g.grant_id);
  EXPECT_EQ(parsed->key_arn, g.key_arn);
}

TEST(GrantTest, MalformedTokensAreInvalidGrantTokens) {
  for (std::string bad : {std::string("not base64!"), crypto::Base64Encode(std::string_view("x")),
                          crypto::Base64Encode(std::string_view("hgt1\narn:x\nshort\nnonce"))}) {
    EXPECT_EQ(ParseGrantToken(bad).status().code(), ErrorCode::kKmsInvalidGrantToken) << bad;
  }
  EXPECT_EQ(CheckGrantTokens({"garbage"}).code(), ErrorCode::kKmsInvalidGrantToken);
  EXPECT_EQ(CheckGrantTokens({""}).code(), ErrorCode::kValidation);
  EXPECT_EQ(CheckGrantTokens(std::vector<std::string>(11, "x")).code(), ErrorCode::kValidation);
  EXPECT_TRUE(CheckGrantTokens({}).ok());
}

TEST(GrantTest, RecordsRoundTripThroughStorageEncoding) {
  GrantRecord g = DecryptGrant("arn:aws:iam::111122223333:user/alice");
  g.name = "n";
  g.retiring_principal = "arn:aws:iam::111122223333:root";
  g.issuing_account = "arn:aws:iam::111122223333:root";
  g.constraints.context_subset = EncryptionContext{{"k", "v"}};
  g.creation_ms = 42;
  auto back = DecodeGrantRecord(EncodeGrantRecord(g));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->grant_id, g.grant_id);
  EXPECT_EQ(back->name, "n");
  EXPECT_EQ(back->retiring_principal, g.retiring_principal);
  EXPECT_EQ(back->operations, g.operations);
  EXPECT_EQ(back->constraints, g.constraints);
  EXPECT_EQ(back->creation_ms, 42);
  EXPECT_EQ(DecodeGrantRecord("{").status().code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace hangar::kms
