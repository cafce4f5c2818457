#include "kms/policy_authorizer.h"

#include <gtest/gtest.h>

#include <map>

namespace hangar::kms {
namespace {

constexpr char kAccount[] = "111122223333";
constexpr char kOther[] = "444455556666";
constexpr char kKeyArn[] = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

// Identity policies by principal ARN.
class FakeIdentities final : public iam::IdentityPolicySource {
 public:
  void Give(const std::string& arn, const std::string& policy) {
    auto parsed = iam::ParsePolicy(policy, iam::PolicyKind::kIdentity);
    ASSERT_TRUE(parsed.ok()) << parsed.status().message();
    policies_[arn].policies.push_back(*parsed);
  }
  Result<iam::IdentityPolicies> PoliciesFor(const auth::Principal& p) const override {
    auto it = policies_.find(p.arn);
    return it == policies_.end() ? iam::IdentityPolicies{} : it->second;
  }

 private:
  std::map<std::string, iam::IdentityPolicies> policies_;
};

auth::RequestContext Caller(std::string account, std::string user) {
  auth::RequestContext ctx;
  ctx.region = "us-east-1";
  ctx.principal.account_id = account;
  if (user.empty()) {
    ctx.principal.type = auth::PrincipalType::kRoot;
    ctx.principal.arn = "arn:aws:iam::" + account + ":root";
  } else {
    ctx.principal.type = auth::PrincipalType::kUser;
    ctx.principal.name = user;
    ctx.principal.arn = "arn:aws:iam::" + account + ":user/" + user;
  }
  return ctx;
}

KeyRecord Key(std::string policy) {
  KeyRecord key;
  key.key_id = "1234abcd-12ab-34cd-56ef-1234567890ab";
  key.account_id = kAccount;
  key.region = "us-east-1";
  key.arn = kKeyArn;
  key.policy = std::move(policy);
  return key;
}

std::string RootStatement(const std::string& account) {
  return R"({"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::)" +
         account + R"(:root"},"Action":"kms:*","Resource":"*"})";
}

// The console's policy with separate key administrators and key users (kms.md §12).
std::string ConsolePolicy() {
  return R"({"Version":"2012-10-17","Statement":[)" + RootStatement(kAccount) + R"(,
    {"Sid":"Allow access for Key Administrators","Effect":"Allow",
     "Principal":{"AWS":"arn:aws:iam::111122223333:user/Kzax01"},
     "Action":["kms:Create*","kms:Describe*","kms:Enable*","kms:List*","kms:Put*","kms:Update*",
               "kms:Revoke*","kms:Disable*","kms:Get*","kms:Delete*","kms:TagResource",
               "kms:UntagResource","kms:ScheduleKeyDeletion","kms:CancelKeyDeletion"],
     "Resource":"*"},
    {"Sid":"Allow use of the key","Effect":"Allow",
     "Principal":{"AWS":"arn:aws:iam::111122223333:user/keyuser"},
     "Action":["kms:Encrypt","kms:Decrypt","kms:ReEncrypt*","kms:GenerateDataKey*","kms:DescribeKey"],
     "Resource":"*"}]})";
}

class PolicyAuthorizerTest : public ::testing::Test {
 protected:
  FakeIdentities identities_;
  PolicyKeyAuthorizer authorizer_{identities_, KeyPolicyGuardrails{}};
};

TEST_F(PolicyAuthorizerTest, TheDefaultPolicyLetsTheRootAndIamPoliciesDecide) {
  KeyRecord key = Key(R"({"Version":"2012-10-17","Statement":[)" + RootStatement(kAccount) + "]}");
  EXPECT_TRUE(authorizer_.Authorize(Caller(kAccount, ""), "Decrypt", &key).ok());
  Status denied = authorizer_.Authorize(Caller(kAccount, "bob"), "Decrypt", &key);
  EXPECT_EQ(denied.code(), ErrorCode::kAccessDenied);
  EXPECT_EQ(denied.message(),
            "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: kms:Decrypt on "
            "resource: " + std::string(kKeyArn) +
                " because no identity-based policy allows the kms:Decrypt action");
  identities_.Give("arn:aws:iam::111122223333:user/bob",
                   R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}})");
  EXPECT_TRUE(authorizer_.Authorize(Caller(kAccount, "bob"), "Decrypt", &key).ok());
  EXPECT_FALSE(authorizer_.Authorize(Caller(kAccount, "bob"), "Encrypt", &key).ok());
}

TEST_F(PolicyAuthorizerTest, KeyAdministratorsManageButCannotUseTheKey) {
  KeyRecord key = Key(ConsolePolicy());
  auto admin = Caller(kAccount, "Kzax01");
  for (const char* action : {"DescribeKey", "DisableKey", "EnableKey", "ScheduleKeyDeletion",
                             "CancelKeyDeletion", "PutKeyPolicy", "GetKeyPolicy"}) {
    EXPECT_TRUE(authorizer_.Authorize(admin, action, &key).ok()) << action;
  }
  Status s = authorizer_.Authorize(admin, "Encrypt", &key);
  EXPECT_EQ(s.code(), ErrorCode::kAccessDenied);
  // The key policy names the account root: IAM policies could allow, and none does.
  EXPECT_NE(s.message().find("because no identity-based policy allows the kms:Encrypt action"),
            std::string::npos)
      << s.message();
  auto user = Caller(kAccount, "keyuser");
  for (const char* action : {"Encrypt", "Decrypt", "GenerateDataKey", "DescribeKey"}) {
    EXPECT_TRUE(authorizer_.Authorize(user, action, &key).ok()) << action;
  }
  EXPECT_EQ(authorizer_.Authorize(user, "ScheduleKeyDeletion", &key).code(),
            ErrorCode::kAccessDenied);
}

TEST_F(PolicyAuthorizerTest, WithoutTheRootStatementIamPoliciesAndTheRootCountForNothing) {
  KeyRecord key = Key(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::111122223333:user/keyuser"},"Action":"kms:*","Resource":"*"}]})");
  identities_.Give("arn:aws:iam::111122223333:user/bob",
                   R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:*","Resource":"*"}})");
  Status bob = authorizer_.Authorize(Caller(kAccount, "bob"), "Decrypt", &key);
  EXPECT_NE(bob.message().find("because no resource-based policy allows the kms:Decrypt action"),
            std::string::npos);
  EXPECT_EQ(authorizer_.Authorize(Caller(kAccount, ""), "Decrypt", &key).code(),
            ErrorCode::kAccessDenied);
  EXPECT_TRUE(authorizer_.Authorize(Caller(kAccount, "keyuser"), "Decrypt", &key).ok());
}

TEST_F(PolicyAuthorizerTest, EncryptionContextAndViaServiceConditionsSeeTheRequest) {
  KeyRecord key = Key(R"({"Version":"2012-10-17","Statement":[)" + RootStatement(kAccount) + R"(,
    {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
     "Condition":{"StringNotEquals":{"kms:EncryptionContext:Project":"apollo"}}},
    {"Effect":"Deny","Principal":"*","Action":"kms:GenerateDataKey","Resource":"*",
     "Condition":{"StringNotEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}]})");
  auto root = Caller(kAccount, "");
  EncryptionContext apollo{{"Project", "apollo"}}, gemini{{"Project", "gemini"}};
  EXPECT_TRUE(authorizer_.Authorize(root, "Decrypt", &key, {.encryption_context = &apollo}).ok());
  Status s = authorizer_.Authorize(root, "Decrypt", &key, {.encryption_context = &gemini});
  EXPECT_NE(s.message().find("with an explicit deny in a resource-based policy"), std::string::npos);
  EXPECT_FALSE(authorizer_.Authorize(root, "GenerateDataKey", &key).ok());
  root.via_service = "s3.us-east-1.amazonaws.com";
  EXPECT_TRUE(authorizer_.Authorize(root, "GenerateDataKey", &key).ok());
}

TEST_F(PolicyAuthorizerTest, KeyTagsAreResourceTagConditionKeys) {
  KeyRecord key = Key(R"({"Version":"2012-10-17","Statement":[)" + RootStatement(kAccount) + R"(,
    {"Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*",
     "Condition":{"StringEquals":{"aws:ResourceTag/Classification":"secret"}}}]})");
  auto root = Caller(kAccount, "");
  EXPECT_TRUE(authorizer_.Authorize(root, "Decrypt", &key).ok());
  key.tags.push_back(Tag{"Classification", "secret"});
  EXPECT_EQ(authorizer_.Authorize(root, "Decrypt", &key).code(), ErrorCode::kAccessDenied);
}

TEST_F(PolicyAuthorizerTest, CrossAccountUseNeedsBothTheKeyPolicyAndTheCallersIamPolicy) {
  KeyRecord key = Key(R"({"Version":"2012-10-17","Statement":[)" + RootStatement(kAccount) + "," +
                      RootStatement(kOther) + "]}");
  auto carol = Caller(kOther, "carol");
  EXPECT_EQ(authorizer_.Authorize(carol, "Decrypt", &key).code(), ErrorCode::kAccessDenied);
  identities_.Give("arn:aws:iam::444455556666:user/carol",
                   R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":")" +
                       std::string(kKeyArn) + R"("}})");
  EXPECT_TRUE(authorizer_.Authorize(carol, "Decrypt", &key).ok());
  KeyRecord private_key = Key(R"({"Version":"2012-10-17","Statement":[)" + RootStatement(kAccount) + "]}");
  EXPECT_EQ(authorizer_.Authorize(carol, "Decrypt", &private_key).code(), ErrorCode::kAccessDenied);
}

TEST_F(PolicyAuthorizerTest, TheLockoutCheckRefusesAPolicyThatLocksTheCallerOut) {
  KeyRecord key = Key(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::111122223333:user/keyuser"},"Action":"kms:Decrypt","Resource":"*"}]})");
  Status s = authorizer_.CheckNewKeyPolicy(Caller(kAccount, ""), key, /*bypass_lockout=*/false);
  EXPECT_EQ(s.code(), ErrorCode::kKmsMalformedPolicyDocument);
  EXPECT_EQ(s.message(), "The new key policy will not allow you to update the key policy in the future.");
  EXPECT_TRUE(authorizer_.CheckNewKeyPolicy(Caller(kAccount, ""), key, /*bypass_lockout=*/true).ok());
  KeyRecord fine = Key(ConsolePolicy());
  EXPECT_TRUE(authorizer_.CheckNewKeyPolicy(Caller(kAccount, "Kzax01"), fine, false).ok());
  EXPECT_FALSE(authorizer_.CheckNewKeyPolicy(Caller(kAccount, "keyuser"), fine, false).ok());
}

TEST_F(PolicyAuthorizerTest, MalformedAndOversizedPoliciesAreRefused) {
  auto root = Caller(kAccount, "");
  EXPECT_EQ(authorizer_.CheckNewKeyPolicy(root, Key("{not json"), true).code(),
            ErrorCode::kKmsMalformedPolicyDocument);
  EXPECT_EQ(authorizer_.CheckNewKeyPolicy(root, Key(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"}]})"), true).code(),
            ErrorCode::kKmsMalformedPolicyDocument);  // no Principal in a key policy
  EXPECT_EQ(authorizer_.CheckNewKeyPolicy(root, Key(std::string(40000, ' ')), true).code(),
            ErrorCode::kKmsLimitExceeded);
}

TEST(PublicKeyPolicyGuardrail, RefusesAnyoneWithoutALimitingCondition) {
  FakeIdentities identities;
  PolicyKeyAuthorizer strict(identities, KeyPolicyGuardrails{.forbid_public = true});
  PolicyKeyAuthorizer lenient(identities, KeyPolicyGuardrails{});
  auto root = Caller(kAccount, "");
  KeyRecord open = Key(R"({"Version":"2012-10-17","Statement":[)" + RootStatement(kAccount) + R"(,
    {"Effect":"Allow","Principal":"*","Action":"kms:Decrypt","Resource":"*"}]})");
  EXPECT_TRUE(lenient.CheckNewKeyPolicy(root, open, false).ok());
  Status s = strict.CheckNewKeyPolicy(root, open, false);
  EXPECT_EQ(s.code(), ErrorCode::kKmsMalformedPolicyDocument);
  EXPECT_NE(s.message().find("forbid-public-key-policies"), std::string::npos);
  KeyRecord limited = Key(R"({"Version":"2012-10-17","Statement":[)" + RootStatement(kAccount) + R"(,
    {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*",
     "Condition":{"StringEquals":{"kms:CallerAccount":"111122223333"}}}]})");
  EXPECT_TRUE(strict.CheckNewKeyPolicy(root, limited, false).ok());
  KeyRecord negated = Key(R"({"Version":"2012-10-17","Statement":[)" + RootStatement(kAccount) + R"(,
    {"Effect":"Allow","Principal":{"AWS":"*"},"Action":"kms:Decrypt","Resource":"*",
     "Condition":{"StringNotEquals":{"kms:CallerAccount":"999999999999"}}}]})");
  EXPECT_FALSE(strict.CheckNewKeyPolicy(root, negated, false).ok());
}

}  // namespace
}  // namespace hangar::kms
