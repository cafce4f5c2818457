// Focused tests of the policy engine's building blocks; the large decision table is in
// policy_cases_test.cc.

#include "iam/policy.h"
#include "iam/policy_cache.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

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

// A reference matcher (exponential, fine for short strings) to check the linear one against.
bool NaiveGlob(std::string_view p, std::string_view t) {
  if (p.empty()) return t.empty();
  if (p[0] == '*') return NaiveGlob(p.substr(1), t) || (!t.empty() && NaiveGlob(p, t.substr(1)));
  return !t.empty() && (p[0] == '?' || p[0] == t[0]) && NaiveGlob(p.substr(1), t.substr(1));
}

TEST(PolicyGlobTest, Item13LinearMatcherAgreesWithTheDefinitionOnRandomPatterns) {
  std::mt19937 rng(15);
  const std::string alphabet = "ab*?";
  for (int round = 0; round < 20000; ++round) {
    std::string pattern, text;
    for (int i = rng() % 9; i > 0; --i) pattern.push_back(alphabet[rng() % 4]);
    for (int i = rng() % 10; i > 0; --i) text.push_back("ab"[rng() % 2]);
    // ArnMatches falls back to one whole-string glob when neither side is an ARN.
    EXPECT_EQ(ArnMatches(pattern, text), NaiveGlob(pattern, text))
        << "pattern '" << pattern << "' text '" << text << "'";
  }
}

// Item 13: a pattern built to make a backtracking matcher quadratic (an 18,000-character resource
// of alternating stars, as in the reported attack) costs one pass per segment. A backtracking
// matcher needs billions of steps here; the bound is generous so that it pins the complexity, not
// the machine.
TEST(PolicyGlobTest, Item13PathologicalPatternsMatchInLinearTime) {
  std::string pattern = "arn:aws:s3:::b/";
  for (int i = 0; i < 9000; ++i) pattern += "*a";
  pattern += "*b";
  std::string text = "arn:aws:s3:::b/" + std::string(1024, 'a');
  std::string wild = "arn:aws:s3:::b/*" + std::string(2000, '?') + "b*";
  // Judged against patterns of the same shape whose first wildcard segment cannot match at all
  // ('c' is nowhere in the text), timed the same way in the same build: splitting the pattern
  // costs the same, and a linear matcher then costs a small multiple of it, while a backtracking
  // one (9,000 stars over 1,024 characters) costs orders of magnitude more. A ratio, not a
  // wall-clock bound, so that a sanitizer build or a loaded machine slows both sides alike.
  std::string plain_pattern = "arn:aws:s3:::b/";
  for (int i = 0; i < 9000; ++i) plain_pattern += "*c";
  plain_pattern += "*b";
  const std::string plain_wild = "arn:aws:s3:::b/*" + std::string(2000, '?') + "c*";
  auto time_of = [&](const std::string& p1, const std::string& p2) {
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 200; ++i) {
      EXPECT_FALSE(ArnMatches(p1, text));
      EXPECT_FALSE(ArnMatches(p2, text));
    }
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  const double plain = time_of(plain_pattern, plain_wild);
  const double pathological = time_of(pattern, wild);
  EXPECT_LT(pathological, 20 * plain + 0.05) << pathological << " s vs " << plain << " s";
}

// Alice's s3:GetObject under one identity policy made of `statements`.
Decision AliceGetsObject(const std::string& statements) {
  auto p = ParsePolicy(R"({"Version":"2012-10-17","Statement":[)" + statements + "]}",
                       PolicyKind::kIdentity);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  if (!p.ok()) return Decision::kImplicitDeny;
  RequestFacts r;
  r.principal_arn = "arn:aws:iam::111122223333:user/alice";
  r.principal_account = "111122223333";
  r.action = "s3:GetObject";
  r.resource = "arn:aws:s3:::b/k";
  PolicySet set;
  set.identity = {p->get()};
  set.resource_account = "111122223333";
  return Authorize(r, set).decision;
}

// Item 4: a condition on a key Hangar cannot fill never widens access: an Allow that needs it
// does not apply, a Deny that tests it applies. Keys it knows keep AWS's absent-key rules.
TEST(PolicyConditionTest, Item04UnknownConditionKeysFailClosed) {
  const std::string allow = R"({"Effect":"Allow","Action":"s3:GetObject","Resource":"*")";
  auto deny_when = [&](const std::string& condition) {
    return AliceGetsObject(allow + "}," + R"({"Effect":"Deny","Action":"s3:GetObject",)"
                           R"("Resource":"*","Condition":)" + condition + "}");
  };
  auto allow_when = [&](const std::string& condition) {
    return AliceGetsObject(allow + R"(,"Condition":)" + condition + "}");
  };
  // A Deny on an unknown key applies whatever the operator; on a known absent key, AWS's rules.
  EXPECT_EQ(deny_when(R"({"StringEquals":{"aws:SomeFutureKey":"x"}})"), Decision::kExplicitDeny);
  EXPECT_EQ(deny_when(R"({"Bool":{"ec2:Encrypted":"true"}})"), Decision::kExplicitDeny);
  EXPECT_EQ(deny_when(R"({"StringEquals":{"aws:PrincipalTag/contractor":"true"}})"),
            Decision::kAllowed);
  // An Allow that relies on one never applies, not even through ForAllValues, IfExists or a
  // negated operator.
  EXPECT_EQ(allow_when(R"({"ForAllValues:StringEquals":{"aws:SomeFutureKeys":["a"]}})"),
            Decision::kImplicitDeny);
  EXPECT_EQ(allow_when(R"({"StringEqualsIfExists":{"aws:SomeFutureKey":"a"}})"),
            Decision::kImplicitDeny);
  EXPECT_EQ(allow_when(R"({"StringNotEquals":{"aws:SomeFutureKey":"a"}})"),
            Decision::kImplicitDeny);
  // Known but absent: AWS's rule (ForAllValues of nothing is true).
  EXPECT_EQ(allow_when(R"({"ForAllValues:StringEquals":{"aws:TagKeys":["Project"]}})"),
            Decision::kAllowed);
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

// Item 5: S3 calls networks broader than a /8 (IPv4) or a /32 (IPv6) public, and the networks of a
// condition are judged together, so 256 /8s are the whole internet.
TEST(GrantsPublicAccessTest, Item5SourceIpNetworksAreJudgedAsOneUnion) {
  auto with_networks = [](const std::vector<std::string>& cidrs) {
    std::string list;
    for (const auto& c : cidrs) list += (list.empty() ? "\"" : ",\"") + c + "\"";
    auto p = ParsePolicy(
        R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",)"
        R"("Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*",)"
        R"("Condition":{"IpAddress":{"aws:SourceIp":[)" + list + "]}}}]}",
        PolicyKind::kResource);
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return GrantsPublicAccess(**p);
  };
  std::vector<std::string> all_eights;
  for (int i = 0; i < 256; ++i) all_eights.push_back(std::to_string(i) + ".0.0.0/8");
  EXPECT_TRUE(with_networks(all_eights));
  EXPECT_TRUE(with_networks({"11.0.0.0/8", "12.0.0.0/8"}));
  EXPECT_TRUE(with_networks({"0.0.0.0/1"}));
  EXPECT_TRUE(with_networks({"2001:db8::/31"}));
  EXPECT_TRUE(with_networks({"::/0"}));
  EXPECT_TRUE(with_networks({"not-a-network"}));
  EXPECT_FALSE(with_networks({"11.0.0.0/8"}));
  EXPECT_FALSE(with_networks({"11.0.0.0/9", "11.128.0.0/9"}));  // one /8 written as two halves
  EXPECT_FALSE(with_networks({"11.0.0.0/8", "11.1.0.0/16"}));   // overlaps count once
  EXPECT_FALSE(with_networks({"10.0.0.0/8", "192.168.0.0/16", "172.16.0.0/12", "11.0.0.0/8"}));
  EXPECT_FALSE(with_networks({"2001:db8::/32", "203.0.113.7"}));
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
