// Focused tests of the policy engine's building blocks; the large decision table is in
// policy_cases_test.cc.

#include "iam/policy.h"
#include "iam/policy_cache.h"

#include <gtest/gtest.h>

#include "iam/policy_model.h"

namespace hangar::iam {
namespace {

std::shared_ptr<const Policy> Parse(std::string_view json, PolicyKind kind) {
  auto p = ParsePolicy(json, kind);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? *p : nullptr;
}

RequestFacts User(std::string action, std::string resource, std::string account = "111122223333") {
  RequestFacts r;
  r.principal_arn = "arn:aws:iam::" + account + ":user/alice";
  r.principal_account = account;
  r.action = std::move(action);
  r.resource = std::move(resource);
  r.context["aws:username"] = {"alice"};
  return r;
}

TEST(PolicyGlobTest, ActionsMatchCaseInsensitivelyWithWildcards) {
  EXPECT_TRUE(ActionMatches("kms:ReEncrypt*", "kms:ReEncryptFrom"));
  EXPECT_TRUE(ActionMatches("KMS:decrypt", "kms:Decrypt"));
  EXPECT_TRUE(ActionMatches("s3:Get?bject", "s3:GetObject"));
  EXPECT_FALSE(ActionMatches("s3:Get*", "s3:PutObject"));
  EXPECT_TRUE(ActionMatches("*", "iam:CreateUser"));
}

TEST(PolicyGlobTest, ArnsMatchPerSegmentAndAcrossSlashesInTheResource) {
  EXPECT_TRUE(ArnMatches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c"));
  EXPECT_FALSE(ArnMatches("arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket"));
  EXPECT_TRUE(ArnMatches("arn:aws:kms:*:111122223333:key/*",
                         "arn:aws:kms:eu-west-1:111122223333:key/abc"));
  EXPECT_FALSE(ArnMatches("arn:aws:kms:*:111122223333:key/*",
                          "arn:aws:kms:eu-west-1:999988887777:key/abc"));
  EXPECT_FALSE(ArnMatches("arn:aws:s3:::Bucket/*", "arn:aws:s3:::bucket/x"));
}

TEST(PolicyParseTest, RejectsMalformedDocuments) {
  EXPECT_EQ(ParsePolicy("{", PolicyKind::kIdentity).status().message(),
            "This policy contains invalid Json");
  EXPECT_FALSE(ParsePolicy(R"({"Version":"2012-10-17"})", PolicyKind::kIdentity).ok());
  EXPECT_FALSE(ParsePolicy(R"({"Statement":{"Effect":"allow","Action":"*","Resource":"*"}})",
                           PolicyKind::kIdentity)
                   .ok());
  EXPECT_FALSE(ParsePolicy(R"({"Statement":{"Effect":"Allow","Principal":"*","Action":"*",
                              "Resource":"*"}})",
                           PolicyKind::kIdentity)
                   .ok());
  EXPECT_FALSE(ParsePolicy(R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}})",
                           PolicyKind::kResource)
                   .ok());
  auto bad_op = ParsePolicy(R"({"Statement":{"Effect":"Allow","Action":"*","Resource":"*",
      "Condition":{"StringEqualz":{"a":"b"}}}})",
                            PolicyKind::kIdentity);
  EXPECT_EQ(bad_op.status().message(), "Invalid Condition type : StringEqualz");
}

TEST(PolicyAuthorizeTest, SameAccountIdentityAllowAndExplicitDeny) {
  auto allow = Parse(R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow",
      "Action":"s3:*","Resource":"arn:aws:s3:::b/${aws:username}/*"}]})",
                     PolicyKind::kIdentity);
  auto deny = Parse(R"({"Statement":{"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}})",
                    PolicyKind::kIdentity);
  PolicySet set;
  set.identity = {allow.get()};
  set.resource_account = "111122223333";
  EXPECT_EQ(Authorize(User("s3:GetObject", "arn:aws:s3:::b/alice/x"), set).decision,
            Decision::kAllowed);
  EXPECT_EQ(Authorize(User("s3:GetObject", "arn:aws:s3:::b/bob/x"), set).decision,
            Decision::kImplicitDeny);
  set.identity.push_back(deny.get());
  auto r = Authorize(User("s3:DeleteObject", "arn:aws:s3:::b/alice/x"), set);
  EXPECT_EQ(r.decision, Decision::kExplicitDeny);
  EXPECT_EQ(DenialSuffix(r, "s3:DeleteObject"),
            " with an explicit deny in an identity-based policy");
}

TEST(PolicyAuthorizeTest, KeyPoliciesMustAllowAndAccountPrincipalsDelegate) {
  auto key_policy = Parse(R"({"Statement":[{"Effect":"Allow",
      "Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]})",
                          PolicyKind::kResource);
  auto iam_allow = Parse(R"({"Statement":{"Effect":"Allow","Action":"kms:Decrypt","Resource":"*"}})",
                         PolicyKind::kIdentity);
  PolicySet set;
  set.resource = key_policy.get();
  set.resource_account = "111122223333";
  set.resource_policy_required = true;
  const std::string key = "arn:aws:kms:us-east-1:111122223333:key/k";
  auto denied = Authorize(User("kms:Decrypt", key), set);
  EXPECT_EQ(denied.decision, Decision::kImplicitDeny);
  EXPECT_EQ(DenialSuffix(denied, "kms:Decrypt"),
            " because no identity-based policy allows the kms:Decrypt action");
  set.identity = {iam_allow.get()};
  EXPECT_EQ(Authorize(User("kms:Decrypt", key), set).decision, Decision::kAllowed);
  // Without the root statement, IAM alone cannot open the key.
  auto closed = Parse(R"({"Statement":[{"Effect":"Allow","Principal":{"AWS":
      "arn:aws:iam::111122223333:user/bob"},"Action":"kms:*","Resource":"*"}]})",
                      PolicyKind::kResource);
  set.resource = closed.get();
  auto no_resource = Authorize(User("kms:Decrypt", key), set);
  EXPECT_EQ(no_resource.reason, AuthorizationResult::Reason::kNoResourceAllow);
}

TEST(PolicyConditionTest, NegatedOperatorsAreTrueWhenTheKeyIsAbsent) {
  ConditionClause c{"StringNotEquals", false, SetQualifier::kNone,
                    "s3:x-amz-server-side-encryption", {"aws:kms"}};
  EXPECT_TRUE(EvaluateCondition(c, {}, true));
  EXPECT_FALSE(EvaluateCondition(c, {{"s3:x-amz-server-side-encryption", {"aws:kms"}}}, true));
  ConditionClause null{"Null", false, SetQualifier::kNone, "s3:x-amz-server-side-encryption",
                       {"true"}};
  EXPECT_TRUE(EvaluateCondition(null, {}, true));
  ConditionClause all{"StringEquals", false, SetQualifier::kForAllValues,
                      "kms:encryptioncontextkeys", {"a", "b"}};
  EXPECT_TRUE(EvaluateCondition(all, {}, true));
  EXPECT_TRUE(EvaluateCondition(all, {{"kms:encryptioncontextkeys", {"a"}}}, true));
  EXPECT_FALSE(EvaluateCondition(all, {{"kms:encryptioncontextkeys", {"a", "c"}}}, true));
  ConditionClause ip{"IpAddress", false, SetQualifier::kNone, "aws:sourceip", {"10.0.0.0/8"}};
  EXPECT_TRUE(EvaluateCondition(ip, {{"aws:sourceip", {"10.1.2.3"}}}, true));
  EXPECT_FALSE(EvaluateCondition(ip, {{"aws:sourceip", {"192.168.0.1"}}}, true));
}

}  // namespace
}  // namespace hangar::iam

namespace hangar::iam {
namespace {

TEST(PolicyCacheTest, ParsesOnceAndAgainOnlyWhenTheTextChanges) {
  PolicyCache cache(PolicyKind::kResource);
  const std::string a =
      R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"}})";
  const std::string b =
      R"({"Version":"2012-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"*"}})";
  auto first = cache.Get("bucket", a);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(cache.Get("bucket", a)->get(), first->get());
  auto changed = cache.Get("bucket", b);
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(changed->get(), first->get());
  EXPECT_EQ(cache.Get("bucket", "{nope").status().code(), ErrorCode::kKmsMalformedPolicyDocument);
}

}  // namespace
}  // namespace hangar::iam

namespace hangar::iam {
namespace {

bool Public(const std::string& condition) {
  auto policy = ParsePolicy(
      R"({"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*")" +
          (condition.empty() ? std::string() : ",\"Condition\":" + condition) + "}}",
      PolicyKind::kResource);
  EXPECT_TRUE(policy.ok()) << condition;
  return GrantsPublicAccess(**policy);
}

TEST(GrantsPublicAccessTest, OnlyConditionsThatReallyPinTheCallersMakeStarPrivate) {
  EXPECT_TRUE(Public(""));
  EXPECT_FALSE(Public(R"({"StringEquals":{"aws:PrincipalAccount":"111122223333"}})"));
  EXPECT_FALSE(Public(R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}})"));
  EXPECT_FALSE(Public(R"({"IpAddress":{"aws:SourceIp":"2001:db8::/32"}})"));
  // Conditions that look limiting but admit everyone.
  EXPECT_TRUE(Public(R"({"ForAllValues:StringEquals":{"aws:PrincipalAccount":"111122223333"}})"));
  EXPECT_TRUE(Public(R"({"StringLike":{"aws:PrincipalAccount":"?*"}})"));
  EXPECT_TRUE(Public(R"({"IpAddress":{"aws:SourceIp":"10.0.0.0/0"}})"));
  EXPECT_TRUE(Public(R"({"IpAddress":{"aws:SourceIp":["0.0.0.0/1","128.0.0.0/1"]}})"));
  EXPECT_TRUE(Public(R"({"StringNotEquals":{"aws:PrincipalAccount":"999999999999"}})"));
  EXPECT_TRUE(Public(R"({"StringEqualsIfExists":{"aws:PrincipalAccount":"111122223333"}})"));
  EXPECT_TRUE(Public(R"({"StringEquals":{"s3:prefix":"public/"}})"));
}

}  // namespace
}  // namespace hangar::iam
