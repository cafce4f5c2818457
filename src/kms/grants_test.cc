// KeyService's grants over a real SQLite store: who a grant lets in, what stops it, the
// operations' own rules. Callers are synthetic principals of one account whose IAM policies are
// empty, so only the key policy (naming the account root) or a grant can let a user in.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "crypto/random.h"
#include "kms/key_service.h"
#include "kms/policy_authorizer.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace hangar::kms {
namespace {

class NoIdentityPolicies final : public iam::IdentityPolicySource {
 public:
  Result<iam::IdentityPolicies> PoliciesFor(const auth::Principal&) const override {
    return iam::IdentityPolicies{};
  }
};

constexpr char kAccount[] = "111122223333";
constexpr char kRegion[] = "us-east-1";
const std::string kAlice = "arn:aws:iam::111122223333:user/alice";
const std::string kBob = "arn:aws:iam::111122223333:user/bob";
const std::string kRoot = "arn:aws:iam::111122223333:root";

class GrantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("hangar-grants-" + std::to_string(::getpid()) +
                                                     "-" + crypto::RandomString(8, "abcdef"));
    std::filesystem::create_directories(dir_);
    root_key_ = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
    Reopen();
    key_ = service_->CreateKey(Root(), {})->key_id;
  }
  void TearDown() override {
    service_.reset();
    repository_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Reopen() {
    service_.reset();
    repository_.reset();
    store_.reset();
    store_ = std::move(*store::SqliteMetadataStore::Open((dir_ / "meta.db").string()));
    repository_ = std::make_unique<KeyRepository>(*store_, *root_key_);
    service_ = std::make_unique<KeyService>(*repository_, authorizer_, clock_, KmsOptions{});
  }

  auth::RequestContext Root() const {
    auth::RequestContext ctx;
    ctx.principal.type = auth::PrincipalType::kRoot;
    ctx.principal.account_id = kAccount;
    ctx.principal.arn = kRoot;
    ctx.region = kRegion;
    ctx.now = clock_.Now();
    return ctx;
  }
  auth::RequestContext User(const std::string& arn) const {
    auth::RequestContext ctx = Root();
    ctx.principal.type = auth::PrincipalType::kUser;
    ctx.principal.arn = arn;
    ctx.principal.name = arn.substr(arn.rfind('/') + 1);
    return ctx;
  }
  auth::RequestContext RoleSession(const std::string& role, const std::string& session) const {
    auth::RequestContext ctx = Root();
    ctx.principal.type = auth::PrincipalType::kAssumedRole;
    ctx.principal.arn = "arn:aws:sts::111122223333:assumed-role/" + role + "/" + session;
    ctx.principal.role_arn = "arn:aws:iam::111122223333:role/" + role;
    ctx.principal.role_name = role;
    return ctx;
  }

  CreateGrantInput GrantTo(const std::string& grantee, std::vector<std::string> operations) {
    CreateGrantInput in;
    in.key_id = key_;
    in.grantee_principal = grantee;
    in.operations = std::move(operations);
    return in;
  }
  CreateGrantOutput MustGrant(const CreateGrantInput& in) {
    auto out = service_->CreateGrant(Root(), in);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : CreateGrantOutput{};
  }

  Result<EncryptOutput> EncryptAs(const auth::RequestContext& ctx, EncryptionContext context = {}) {
    EncryptInput in;
    in.key_id = key_;
    in.plaintext = "secret";
    in.context = std::move(context);
    return service_->Encrypt(ctx, in);
  }
  Result<DecryptOutput> DecryptAs(const auth::RequestContext& ctx, const std::string& blob,
                                  EncryptionContext context = {}) {
    DecryptInput in;
    in.ciphertext = blob;
    in.context = std::move(context);
    return service_->Decrypt(ctx, in);
  }
  std::string Blob(EncryptionContext context = {}) {
    auto out = EncryptAs(Root(), std::move(context));
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? out->ciphertext : "";
  }
  std::vector<GrantRecord> Grants() {
    ListGrantsInput in;
    in.key_id = key_;
    auto page = service_->ListGrants(Root(), in);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? page->items : std::vector<GrantRecord>{};
  }

  std::filesystem::path dir_;
  OffsetClock clock_{FromUnixMillis(1'800'000'000'000)};
  NoIdentityPolicies identities_;
  PolicyKeyAuthorizer authorizer_{identities_, KeyPolicyGuardrails{}};
  std::unique_ptr<crypto::RootKey> root_key_;
  std::unique_ptr<store::SqliteMetadataStore> store_;
  std::unique_ptr<KeyRepository> repository_;
  std::unique_ptr<KeyService> service_;
  std::string key_;
};

TEST_F(GrantsTest, AUserWithoutPolicyAccessDecryptsThroughAGrantAndNothingMore) {
  const std::string blob = Blob();
  EXPECT_EQ(DecryptAs(User(kAlice), blob).status().code(), ErrorCode::kAccessDenied);

  CreateGrantOutput out = MustGrant(GrantTo(kAlice, {"Decrypt"}));
  EXPECT_EQ(out.grant_id.size(), 64u);
  EXPECT_FALSE(out.grant_token.empty());

  auto decrypted = DecryptAs(User(kAlice), blob);
  ASSERT_TRUE(decrypted.ok()) << decrypted.status().ToString();
  EXPECT_EQ(AsStringView(decrypted->plaintext.span()), "secret");
  EXPECT_EQ(EncryptAs(User(kAlice)).status().code(), ErrorCode::kAccessDenied);
  EXPECT_EQ(DecryptAs(User(kBob), blob).status().code(), ErrorCode::kAccessDenied);
  EXPECT_EQ(service_->DescribeKey(User(kAlice), key_).status().code(), ErrorCode::kAccessDenied);
}

TEST_F(GrantsTest, GrantsAllowWhatTheKeyTypeSupports) {
  CreateKeyInput signing;
  signing.key_spec = "ECC_NIST_P256";
  signing.key_usage = "SIGN_VERIFY";
  key_ = service_->CreateKey(Root(), signing)->key_id;
  SignInput sign;
  sign.key_id = key_;
  sign.message = "image";
  sign.algorithm = "ECDSA_SHA_256";
  EXPECT_EQ(service_->Sign(User(kAlice), sign).status().code(), ErrorCode::kAccessDenied);
  MustGrant(GrantTo(kAlice, {"Sign", "GetPublicKey"}));
  EXPECT_TRUE(service_->Sign(User(kAlice), sign).ok());
  EXPECT_TRUE(service_->GetPublicKey(User(kAlice), key_).ok());
  // Operations the key cannot do are refused in the grant itself.
  for (const char* op : {"Encrypt", "GenerateDataKey", "GenerateMac"}) {
    EXPECT_EQ(service_->CreateGrant(Root(), GrantTo(kAlice, {op})).status().code(),
              ErrorCode::kValidation)
        << op;
  }
  // A context constraint would constrain nothing on a signing key: refused.
  CreateGrantInput constrained = GrantTo(kBob, {"Sign"});
  constrained.constraints.context_equals = EncryptionContext{{"purpose", "x"}};
  EXPECT_EQ(service_->CreateGrant(Root(), constrained).status().code(), ErrorCode::kValidation);
  EXPECT_EQ(service_->Sign(User(kBob), sign).status().code(), ErrorCode::kAccessDenied);
  key_ = service_->CreateKey(Root(), {})->key_id;  // symmetric
  EXPECT_EQ(service_->CreateGrant(Root(), GrantTo(kAlice, {"Sign"})).status().code(),
            ErrorCode::kValidation);
}

TEST_F(GrantsTest, AGrantToARoleCoversItsSessions) {
  MustGrant(GrantTo("arn:aws:iam::111122223333:role/app", {"Encrypt", "DescribeKey"}));
  EXPECT_TRUE(EncryptAs(RoleSession("app", "s1")).ok());
  EXPECT_TRUE(service_->DescribeKey(RoleSession("app", "s2"), key_).ok());
  EXPECT_EQ(EncryptAs(RoleSession("other", "s1")).status().code(), ErrorCode::kAccessDenied);
}

TEST_F(GrantsTest, EncryptionContextConstraintsAreHonoured) {
  CreateGrantInput subset = GrantTo(kAlice, {"Encrypt"});
  subset.constraints.context_subset = EncryptionContext{{"Dept", "IT"}};
  MustGrant(subset);
  EXPECT_TRUE(EncryptAs(User(kAlice), {{"Dept", "IT"}, {"job", "7"}}).ok());
  EXPECT_EQ(EncryptAs(User(kAlice), {{"Dept", "HR"}}).status().code(), ErrorCode::kAccessDenied);
  EXPECT_EQ(EncryptAs(User(kAlice)).status().code(), ErrorCode::kAccessDenied);

  CreateGrantInput equals = GrantTo(kBob, {"Decrypt"});
  equals.constraints.context_equals = EncryptionContext{{"Dept", "IT"}};
  MustGrant(equals);
  const std::string exact = Blob({{"Dept", "IT"}});
  const std::string wider = Blob({{"Dept", "IT"}, {"job", "7"}});
  EXPECT_TRUE(DecryptAs(User(kBob), exact, {{"Dept", "IT"}}).ok());
  EXPECT_EQ(DecryptAs(User(kBob), wider, {{"Dept", "IT"}, {"job", "7"}}).status().code(),
            ErrorCode::kAccessDenied);
}

TEST_F(GrantsTest, RetiringOrRevokingStopsTheGrantAtOnce) {
  const std::string blob = Blob();
  CreateGrantInput in = GrantTo(kAlice, {"Decrypt"});
  in.retiring_principal = kBob;
  CreateGrantOutput first = MustGrant(in);
  CreateGrantOutput second = MustGrant(GrantTo(kAlice, {"Decrypt"}));
  ASSERT_TRUE(DecryptAs(User(kAlice), blob).ok());  // cached from here on

  RetireGrantInput retire;
  retire.grant_token = first.grant_token;
  ASSERT_TRUE(service_->RetireGrant(User(kBob), retire).ok());
  ASSERT_TRUE(DecryptAs(User(kAlice), blob).ok());  // the second grant still allows
  ASSERT_TRUE(service_->RevokeGrant(Root(), key_, second.grant_id, false).ok());
  EXPECT_EQ(DecryptAs(User(kAlice), blob).status().code(), ErrorCode::kAccessDenied);
  EXPECT_TRUE(Grants().empty());
  // Gone for good: retiring or revoking again finds nothing.
  EXPECT_EQ(service_->RetireGrant(User(kBob), retire).code(), ErrorCode::kKmsNotFound);
  EXPECT_EQ(service_->RevokeGrant(Root(), key_, second.grant_id, false).code(),
            ErrorCode::kKmsNotFound);
}

TEST_F(GrantsTest, SameNameAndParametersReturnTheSameGrant) {
  CreateGrantInput in = GrantTo(kAlice, {"Decrypt", "Encrypt"});
  in.name = "app-grant";
  CreateGrantOutput a = MustGrant(in);
  in.operations = {"Encrypt", "Decrypt", "Encrypt"};  // same set, other order
  CreateGrantOutput b = MustGrant(in);
  EXPECT_EQ(a.grant_id, b.grant_id);
  EXPECT_NE(a.grant_token, b.grant_token);  // every call mints a fresh token
  in.operations = {"Decrypt"};
  EXPECT_NE(MustGrant(in).grant_id, a.grant_id);
  CreateGrantInput unnamed = GrantTo(kAlice, {"Decrypt"});
  EXPECT_NE(MustGrant(unnamed).grant_id, MustGrant(unnamed).grant_id);
  EXPECT_EQ(Grants().size(), 4u);
}

TEST_F(GrantsTest, CreateGrantFollowsTheKeyStateButListRetireRevokeWorkInAnyState) {
  CreateGrantOutput g1 = MustGrant(GrantTo(kAlice, {"Decrypt"}));
  CreateGrantOutput g2 = MustGrant(GrantTo(kAlice, {"Decrypt", "RetireGrant"}));
  ASSERT_TRUE(service_->DisableKey(Root(), key_).ok());
  EXPECT_EQ(service_->CreateGrant(Root(), GrantTo(kAlice, {"Decrypt"})).status().code(),
            ErrorCode::kKmsDisabled);
  EXPECT_EQ(Grants().size(), 2u);
  ASSERT_TRUE(service_->RevokeGrant(Root(), key_, g1.grant_id, false).ok());

  ASSERT_TRUE(service_->ScheduleKeyDeletion(Root(), key_, 7).ok());
  EXPECT_EQ(service_->CreateGrant(Root(), GrantTo(kAlice, {"Decrypt"})).status().code(),
            ErrorCode::kKmsInvalidState);
  EXPECT_EQ(Grants().size(), 1u);
  RetireGrantInput retire;
  retire.key_id = key_;
  retire.grant_id = g2.grant_id;
  EXPECT_TRUE(service_->RetireGrant(User(kAlice), retire).ok());
}

TEST_F(GrantsTest, RetireGrantNeedsTheRetiringPrincipalTheGranteeWithRetireGrantOrThePolicy) {
  CreateGrantInput in = GrantTo(kAlice, {"Decrypt"});
  in.retiring_principal = kBob;
  CreateGrantOutput plain = MustGrant(in);
  RetireGrantInput by_id;
  by_id.key_id = key_;
  by_id.grant_id = plain.grant_id;
  const std::string carol = "arn:aws:iam::111122223333:user/carol";
  EXPECT_EQ(service_->RetireGrant(User(carol), by_id).code(), ErrorCode::kAccessDenied);
  EXPECT_EQ(service_->RetireGrant(User(kAlice), by_id).code(), ErrorCode::kAccessDenied);
  by_id.dry_run = true;
  EXPECT_EQ(service_->RetireGrant(User(kBob), by_id).code(), ErrorCode::kKmsDryRun);
  by_id.dry_run = false;
  EXPECT_TRUE(service_->RetireGrant(User(kBob), by_id).ok());

  CreateGrantOutput self_retiring = MustGrant(GrantTo(kAlice, {"Decrypt", "RetireGrant"}));
  RetireGrantInput by_token;
  by_token.grant_token = self_retiring.grant_token;
  EXPECT_TRUE(service_->RetireGrant(User(kAlice), by_token).ok());

  CreateGrantOutput other = MustGrant(GrantTo(kAlice, {"Decrypt"}));
  by_token.grant_token = other.grant_token;
  EXPECT_TRUE(service_->RetireGrant(Root(), by_token).ok());  // the key policy allows kms:*
  EXPECT_TRUE(Grants().empty());
}

TEST_F(GrantsTest, RevokeAndListGrantsNeedTheKeyPolicy) {
  CreateGrantOutput g = MustGrant(GrantTo(kAlice, {"Decrypt", "RetireGrant", "CreateGrant"}));
  EXPECT_EQ(service_->RevokeGrant(User(kAlice), key_, g.grant_id, false).code(),
            ErrorCode::kAccessDenied);
  ListGrantsInput list;
  list.key_id = key_;
  EXPECT_EQ(service_->ListGrants(User(kAlice), list).status().code(), ErrorCode::kAccessDenied);
}

TEST_F(GrantsTest, AGranteeWithCreateGrantHandsOnOnlyWhatItHas) {
  CreateGrantInput parent = GrantTo(kAlice, {"CreateGrant", "Decrypt"});
  parent.constraints.context_subset = EncryptionContext{{"Dept", "IT"}};
  MustGrant(parent);
  CreateGrantInput child = GrantTo(kBob, {"Decrypt"});
  EXPECT_EQ(service_->CreateGrant(User(kAlice), child).status().code(), ErrorCode::kAccessDenied);
  child.constraints.context_subset = EncryptionContext{{"Dept", "IT"}, {"team", "x"}};
  EXPECT_TRUE(service_->CreateGrant(User(kAlice), child).ok());
  child.operations = {"Encrypt"};
  EXPECT_EQ(service_->CreateGrant(User(kAlice), child).status().code(), ErrorCode::kAccessDenied);
}

TEST_F(GrantsTest, AnExplicitDenyInTheKeyPolicyBeatsAGrant) {
  const std::string policy = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*",
     "Resource":"*"},
    {"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},
     "Action":"kms:Decrypt","Resource":"*"}]})";
  ASSERT_TRUE(service_->PutKeyPolicy(Root(), key_, "default", policy, false).ok());
  MustGrant(GrantTo(kAlice, {"Decrypt"}));
  auto out = DecryptAs(User(kAlice), Blob());
  EXPECT_EQ(out.status().code(), ErrorCode::kAccessDenied);
  EXPECT_NE(out.status().message().find("explicit deny"), std::string::npos)
      << out.status().message();
}

TEST_F(GrantsTest, InvalidRequestsAreRefusedWithAwsErrors) {
  EXPECT_EQ(service_->CreateGrant(Root(), GrantTo(kAlice, {"Frobnicate"})).status().code(),
            ErrorCode::kValidation);
  EXPECT_EQ(service_->CreateGrant(Root(), GrantTo(kAlice, {})).status().code(),
            ErrorCode::kValidation);
  EXPECT_EQ(service_->CreateGrant(Root(), GrantTo(kAlice, {"Sign"})).status().code(),
            ErrorCode::kValidation);  // valid operation, but not for a symmetric key
  EXPECT_EQ(service_->CreateGrant(Root(), GrantTo("has space", {"Decrypt"})).status().code(),
            ErrorCode::kValidation);
  CreateGrantInput named = GrantTo(kAlice, {"Decrypt"});
  named.name = "bad name!";
  EXPECT_EQ(service_->CreateGrant(Root(), named).status().code(), ErrorCode::kValidation);
  CreateGrantInput both = GrantTo(kAlice, {"Decrypt"});
  both.constraints.context_equals = EncryptionContext{{"a", "1"}};
  both.constraints.context_subset = EncryptionContext{{"a", "1"}};
  EXPECT_EQ(service_->CreateGrant(Root(), both).status().code(), ErrorCode::kValidation);
  CreateGrantInput unknown_key = GrantTo(kAlice, {"Decrypt"});
  unknown_key.key_id = "11111111-2222-3333-4444-555555555555";
  EXPECT_EQ(service_->CreateGrant(Root(), unknown_key).status().code(), ErrorCode::kKmsNotFound);
  CreateGrantInput dry = GrantTo(kAlice, {"Decrypt"});
  dry.dry_run = true;
  EXPECT_EQ(service_->CreateGrant(Root(), dry).status().code(), ErrorCode::kKmsDryRun);
  EXPECT_TRUE(Grants().empty());

  EXPECT_EQ(service_->RevokeGrant(Root(), key_, std::string(64, 'a'), false).code(),
            ErrorCode::kKmsNotFound);
  EXPECT_EQ(service_->RevokeGrant(Root(), key_, "nope", false).code(),
            ErrorCode::kKmsInvalidGrantId);
  RetireGrantInput token;
  token.grant_token = "not-a-token";
  EXPECT_EQ(service_->RetireGrant(Root(), token).code(), ErrorCode::kKmsInvalidGrantToken);
  EXPECT_EQ(service_->RetireGrant(Root(), RetireGrantInput{}).code(), ErrorCode::kValidation);
  ListGrantsInput list;
  list.key_id = key_;
  list.limit = 101;
  EXPECT_EQ(service_->ListGrants(Root(), list).status().code(), ErrorCode::kValidation);
  list.limit = 10;
  list.marker = "garbage";
  EXPECT_EQ(service_->ListGrants(Root(), list).status().code(), ErrorCode::kKmsInvalidMarker);
}

TEST_F(GrantsTest, ListingPagesFiltersAndSurvivesARestart) {
  for (int i = 0; i < 3; ++i) {
    CreateGrantInput in = GrantTo(i == 0 ? kBob : kAlice, {"Decrypt"});
    in.retiring_principal = kBob;
    MustGrant(in);
  }
  Reopen();
  std::vector<std::string> seen;
  ListGrantsInput list;
  list.key_id = key_;
  list.limit = 2;
  for (;;) {
    auto page = service_->ListGrants(Root(), list);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    for (const auto& g : page->items) seen.push_back(g.grant_id);
    if (!page->truncated) break;
    list.marker = page->next_marker;
  }
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));

  ListGrantsInput by_grantee;
  by_grantee.key_id = key_;
  by_grantee.grantee_principal = kAlice;
  EXPECT_EQ(service_->ListGrants(Root(), by_grantee)->items.size(), 2u);
  by_grantee.grant_id = seen[0];
  by_grantee.grantee_principal.reset();
  EXPECT_EQ(service_->ListGrants(Root(), by_grantee)->items.size(), 1u);

  auto first = service_->ListRetirableGrants(Root(), kBob, 2, "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(first->items.size(), 2u);
  ASSERT_TRUE(first->truncated);
  auto rest = service_->ListRetirableGrants(Root(), kBob, 2, first->next_marker);
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(rest->items.size(), 1u);
  EXPECT_FALSE(rest->truncated);
  EXPECT_TRUE(service_->ListRetirableGrants(Root(), kAlice, 50, "")->items.empty());
}

TEST_F(GrantsTest, DestroyingAKeyRemovesItsGrants) {
  CreateGrantInput in = GrantTo(kAlice, {"Decrypt"});
  in.retiring_principal = kBob;
  MustGrant(in);
  ASSERT_TRUE(service_->ScheduleKeyDeletion(Root(), key_, 7).ok());
  clock_.Advance(std::chrono::hours(24 * 7 + 1));
  ASSERT_EQ(*service_->RunDueTasks(), 1);
  EXPECT_TRUE(store_->List("kms.grant", key_, {})->empty());
  EXPECT_TRUE(service_->ListRetirableGrants(Root(), kBob, 50, "")->items.empty());
}

}  // namespace
}  // namespace hangar::kms

namespace hangar::kms {
namespace {

TEST_F(GrantsTest, KeyPolicyConditionsSeeTheGrantsGranteeAndOperations) {
  const std::string policy = R"({"Version":"2012-10-17","Statement":[
    {"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},
     "Action":["kms:CreateGrant"],"Resource":"*",
     "Condition":{"StringEquals":{"kms:GranteePrincipal":"arn:aws:iam::111122223333:user/alice",
                                  "kms:RetiringPrincipal":"arn:aws:iam::111122223333:user/bob",
                                  "kms:GrantConstraintType":"EncryptionContextSubset"},
                  "ForAllValues:StringEquals":{"kms:GrantOperations":["Decrypt","Encrypt"]}}}]})";
  ASSERT_TRUE(
      service_->PutKeyPolicy(Root(), key_, "default", policy, /*bypass_lockout=*/true).ok());
  CreateGrantInput in = GrantTo(kAlice, {"Decrypt"});
  in.retiring_principal = kBob;
  in.constraints.context_subset = EncryptionContext{{"a", "1"}};
  EXPECT_TRUE(service_->CreateGrant(Root(), in).ok());
  CreateGrantInput other_grantee = in;
  other_grantee.grantee_principal = kBob;
  EXPECT_EQ(service_->CreateGrant(Root(), other_grantee).status().code(), ErrorCode::kAccessDenied);
  CreateGrantInput more_ops = in;
  more_ops.operations = {"Decrypt", "GenerateDataKey"};
  EXPECT_EQ(service_->CreateGrant(Root(), more_ops).status().code(), ErrorCode::kAccessDenied);
  CreateGrantInput unconstrained = in;
  unconstrained.constraints = {};
  EXPECT_EQ(service_->CreateGrant(Root(), unconstrained).status().code(), ErrorCode::kAccessDenied);
}

}  // namespace
}  // namespace hangar::kms
