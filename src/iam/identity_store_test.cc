#include "iam/identity_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "crypto/base64.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace hangar::iam {
namespace {

constexpr std::string_view kAcct = "111122223333";

std::string Doc(std::string_view statement) {
  return R"({"Version":"2012-10-17","Statement":[)" + std::string(statement) + "]}";
}
const std::string kAllowAll = Doc(R"({"Effect":"Allow","Action":"*","Resource":"*"})");

class IdentityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-iam-" + std::to_string(::getpid()) + "-" + crypto::RandomString(8, "abcdef"));
    std::filesystem::create_directories(dir_);
    root_key_ = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
    Reopen();
  }
  void TearDown() override {
    ids_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    ids_.reset();
    store_.reset();
    store_ = std::move(*store::SqliteMetadataStore::Open((dir_ / "meta.db").string()));
    ids_ = std::make_unique<IdentityStore>(*store_, *root_key_, clock_);
  }
  // A user with an access key; returns the key.
  NewAccessKey UserWithKey(std::string_view name) {
    EXPECT_TRUE(ids_->CreateUser(kAcct, name, "/", {}).ok());
    auto key = ids_->CreateAccessKey(kAcct, name);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return *key;
  }
  std::vector<std::string> FileContents() {
    std::vector<std::string> out;
    for (auto& entry : std::filesystem::directory_iterator(dir_)) {
      std::ifstream in(entry.path(), std::ios::binary);
      out.emplace_back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    }
    return out;
  }

  std::filesystem::path dir_;
  OffsetClock clock_;
  std::unique_ptr<crypto::RootKey> root_key_;
  std::unique_ptr<store::SqliteMetadataStore> store_;
  std::unique_ptr<IdentityStore> ids_;
};

// --- Accounts ---

TEST_F(IdentityStoreTest, FirstStartCreatesAnAccountAndRootKeyThatLaterStartsReuse) {
  auto first = ids_->EnsureDefaultAccount(std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_TRUE(IdentityStore::IsAccountId(first->account_id));
  EXPECT_TRUE(first->access_key_id.starts_with("AKIA"));
  EXPECT_EQ(first->access_key_id.size(), 20u);
  EXPECT_EQ(first->secret_access_key.size(), 40u);
  Reopen();
  auto second = ids_->EnsureDefaultAccount(std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->account_id, first->account_id);
  EXPECT_EQ(second->secret_access_key, first->secret_access_key);
  auto key = ids_->FindAccessKey(first->access_key_id);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->principal.type, auth::PrincipalType::kRoot);
  EXPECT_EQ(key->principal.arn, "arn:aws:iam::" + first->account_id + ":root");
  EXPECT_EQ(key->principal.user_id, first->account_id);
  EXPECT_EQ(key->principal.access_key_id, first->access_key_id);
}

// Data directories written by AccountDirectory (before IdentityStore) keep working.
TEST_F(IdentityStoreTest, ReadsTheDefaultAccountAsAccountDirectoryStoredIt) {
  const std::string id = "AKIAOLDFORMAT0000001", secret = "oldformatsecret0000000000000000000000000";
  std::string wrapped =
      crypto::Base64Encode(*root_key_->Wrap(AsBytes(secret), "iam-access-key/" + id));
  std::string key_doc = R"({"account_id":"111122223333","type":"root","user_name":"",)"
                        R"("status":"Active","created_ms":1,"secret":")" + wrapped + "\"}";
  ASSERT_TRUE(store_->Commit({store::Mutation::Create({"iam.account", "", "111122223333",
                                                       R"({"account_id":"111122223333","created_ms":1})", 0, 0}),
                              store::Mutation::Create({"hangar.settings", "", "default-account",
                                                       R"({"account_id":"111122223333","access_key_id":")" + id + "\"}", 0, 0}),
                              store::Mutation::Create({"iam.access-key", "", id, key_doc, 0, 0})})
                  .ok());
  auto creds = ids_->EnsureDefaultAccount(std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  EXPECT_FALSE(creds->created);
  EXPECT_EQ(creds->access_key_id, id);
  EXPECT_EQ(creds->secret_access_key, secret);
  EXPECT_EQ(*ids_->ListAccounts(), std::vector<std::string>{"111122223333"});
}

TEST_F(IdentityStoreTest, GivenCredentialsReplaceTheOldRootKey) {
  auto first = ids_->EnsureDefaultAccount("111122223333", std::nullopt, std::nullopt);
  ASSERT_TRUE(first.ok());
  auto second = ids_->EnsureDefaultAccount("111122223333", "AKIAREPLACEMENT00001",
                                           "replacementsecret000000000000000000000000");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(ids_->FindAccessKey(first->access_key_id).status().code(),
            ErrorCode::kUnknownAccessKey);
  EXPECT_TRUE(ids_->FindAccessKey("AKIAREPLACEMENT00001").ok());
  EXPECT_FALSE(ids_->EnsureDefaultAccount("999988887777", std::nullopt, std::nullopt).ok());
}

TEST_F(IdentityStoreTest, RejectsMalformedGivenValues) {
  EXPECT_FALSE(ids_->EnsureDefaultAccount("123", std::nullopt, std::nullopt).ok());
  EXPECT_FALSE(ids_->EnsureDefaultAccount(std::nullopt, "AKIAONLYID0000000000", std::nullopt).ok());
  EXPECT_FALSE(ids_->EnsureDefaultAccount(std::nullopt, "short", "secret00000000000000").ok());
  EXPECT_EQ(ids_->CreateAccount("12345").status().code(), ErrorCode::kValidation);
}

// The admin CLI writes through its own IdentityStore: the server's must see the new key at once,
// so an unknown key is never remembered as unknown.
TEST_F(IdentityStoreTest, KeysCreatedByAnotherProcessWorkAtOnce) {
  IdentityStore other(*store_, *root_key_, clock_);
  EXPECT_EQ(ids_->FindAccessKey("AKIANOSUCHKEY0000000").status().code(),
            ErrorCode::kUnknownAccessKey);
  auto created = other.CreateAccount("444455556666");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto key = ids_->FindAccessKey(created->access_key_id);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->principal.arn, "arn:aws:iam::444455556666:root");
  EXPECT_EQ(AsStringView(key->secret_access_key.span()), created->secret_access_key);
  EXPECT_EQ(other.CreateAccount("444455556666").status().code(),
            ErrorCode::kIamEntityAlreadyExists);
  EXPECT_TRUE(*ids_->AccountExists("444455556666"));
  EXPECT_FALSE(*ids_->AccountExists("999999999999"));
}

// --- Users and keys ---

TEST_F(IdentityStoreTest, UserKeyNamesTheUserAndStopsWorkingWhenInactiveOrDeleted) {
  auto user = ids_->CreateUser(kAcct, "alice", "/lab/", {{"team", "blue"}});
  ASSERT_TRUE(user.ok());
  EXPECT_EQ(user->arn, "arn:aws:iam::111122223333:user/lab/alice");
  EXPECT_TRUE(user->user_id.starts_with("AIDA"));
  auto key = ids_->CreateAccessKey(kAcct, "alice");
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(key->record.secret.empty()) << "the wrapped secret stays inside";
  const std::string id = key->record.access_key_id;

  auto found = ids_->FindAccessKey(id);
  ASSERT_TRUE(found.ok());
  EXPECT_EQ(found->principal.type, auth::PrincipalType::kUser);
  EXPECT_EQ(found->principal.arn, user->arn);
  EXPECT_EQ(found->principal.user_id, user->user_id);
  EXPECT_EQ(found->principal.name, "alice");
  EXPECT_EQ(found->principal.access_key_id, id);
  EXPECT_EQ(AsStringView(found->secret_access_key.span()), key->secret_access_key);
  EXPECT_FALSE(found->expires_at.has_value());

  ASSERT_TRUE(ids_->UpdateAccessKey(kAcct, "alice", id, "Inactive").ok());
  EXPECT_EQ(ids_->FindAccessKey(id).status().code(), ErrorCode::kUnknownAccessKey);
  EXPECT_EQ((*ids_->ListAccessKeys(kAcct, "alice"))[0].status, "Inactive");
  ASSERT_TRUE(ids_->UpdateAccessKey(kAcct, "alice", id, "Active").ok());
  EXPECT_TRUE(ids_->FindAccessKey(id).ok());
  EXPECT_EQ(ids_->UpdateAccessKey(kAcct, "alice", id, "Paused").code(), ErrorCode::kValidation);
  EXPECT_EQ(ids_->UpdateAccessKey(kAcct, "bob", id, "Active").code(), ErrorCode::kIamNoSuchEntity);

  EXPECT_EQ(ids_->DeleteUser(kAcct, "alice").code(), ErrorCode::kIamDeleteConflict);
  ASSERT_TRUE(ids_->DeleteAccessKey(kAcct, "alice", id).ok());
  EXPECT_EQ(ids_->FindAccessKey(id).status().code(), ErrorCode::kUnknownAccessKey);
  EXPECT_EQ(ids_->DeleteAccessKey(kAcct, "alice", id).code(), ErrorCode::kIamNoSuchEntity);
  EXPECT_TRUE(ids_->DeleteUser(kAcct, "alice").ok());
  EXPECT_EQ(ids_->GetUser(kAcct, "alice").status().code(), ErrorCode::kIamNoSuchEntity);
  EXPECT_EQ(ids_->GetUser(kAcct, "alice").status().message(),
            "The user with name alice cannot be found.");
}

TEST_F(IdentityStoreTest, TagsAreAddedReplacedAndRemoved) {
  ASSERT_TRUE(ids_->CreateUser(kAcct, "u", "/", {{"a", "1"}}).ok());
  ASSERT_TRUE(ids_->TagUser(kAcct, "u", {{"a", "2"}, {"b", "3"}}).ok());
  ASSERT_TRUE(ids_->UntagUser(kAcct, "u", {"b", "absent"}).ok());
  EXPECT_EQ(ids_->GetUser(kAcct, "u")->tags, (Tags{{"a", "2"}}));
  Tags many;
  for (int i = 0; i < 50; ++i) many.emplace_back("k" + std::to_string(i), "v");
  EXPECT_EQ(ids_->TagUser(kAcct, "u", many).code(), ErrorCode::kIamLimitExceeded);
  EXPECT_EQ(ids_->GetUser(kAcct, "u")->tags.size(), 1u) << "a refused change changes nothing";
  EXPECT_EQ(ids_->TagUser(kAcct, "nobody", {{"a", "1"}}).code(), ErrorCode::kIamNoSuchEntity);
}

TEST_F(IdentityStoreTest, AtMostTwoKeysPerUserEvenWhenCreatedConcurrently) {
  ASSERT_TRUE(ids_->CreateUser(kAcct, "alice", "/", {}).ok());
  std::atomic<int> ok{0}, limited{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&] {
      auto r = ids_->CreateAccessKey(kAcct, "alice");
      if (r.ok()) ok++;
      if (!r.ok() && r.status().code() == ErrorCode::kIamLimitExceeded) limited++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2);
  EXPECT_EQ(limited.load(), 4);
  EXPECT_EQ(ids_->ListAccessKeys(kAcct, "alice")->size(), 2u);
}

TEST_F(IdentityStoreTest, ConcurrentCreatesOfOneNameGiveOneWinnerAndEntityAlreadyExists) {
  std::atomic<int> ok{0}, exists{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = ids_->CreateRole(kAcct, "shared", "/", Doc(R"({"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"})"), "", 3600, {});
      if (r.ok()) ok++;
      if (!r.ok() && r.status().code() == ErrorCode::kIamEntityAlreadyExists) exists++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(exists.load(), 7);
}

TEST_F(IdentityStoreTest, ValidatesNamesPathsAndDocuments) {
  EXPECT_EQ(ids_->CreateUser(kAcct, "", "/", {}).status().code(), ErrorCode::kValidation);
  EXPECT_EQ(ids_->CreateUser(kAcct, "a/b", "/", {}).status().code(), ErrorCode::kValidation);
  EXPECT_EQ(ids_->CreateUser(kAcct, std::string(65, 'a'), "/", {}).status().code(),
            ErrorCode::kValidation);
  EXPECT_EQ(ids_->CreateUser(kAcct, "a", "nopath", {}).status().code(), ErrorCode::kValidation);
  EXPECT_EQ(ids_->CreateRole(kAcct, "r", "/", "{", "", 3600, {}).status().code(),
            ErrorCode::kIamMalformedPolicyDocument);
  EXPECT_EQ(ids_->CreateRole(kAcct, "r", "/", kAllowAll, "", 3600, {}).status().code(),
            ErrorCode::kIamMalformedPolicyDocument)
      << "a trust policy names a principal";
  ASSERT_TRUE(ids_->CreateUser(kAcct, "u", "/", {}).ok());
  EXPECT_EQ(ids_->PutInlinePolicy(kAcct, "user", "u", "p", R"({"Version":"2012-10-17"})").code(),
            ErrorCode::kIamMalformedPolicyDocument);
  EXPECT_EQ(ids_->PutInlinePolicy(kAcct, "user", "u", "p", "{\"Version\":\"2012-10-17\"," + std::string(3000, ' ') + "\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"" + std::string(2100, 'x') + "\",\"Resource\":\"*\"}]}").code(),
            ErrorCode::kIamLimitExceeded);
}

// --- Groups and policies ---

TEST_F(IdentityStoreTest, PoliciesForAUserGatherInlineAttachedAndGroupPoliciesAndFollowChanges) {
  NewAccessKey key = UserWithKey("alice");
  auto principal = ids_->FindAccessKey(key.record.access_key_id)->principal;
  EXPECT_TRUE(ids_->PoliciesFor(principal)->policies.empty());

  ASSERT_TRUE(ids_->PutInlinePolicy(kAcct, "user", "alice", "inline", kAllowAll).ok());
  EXPECT_EQ(ids_->PoliciesFor(principal)->policies.size(), 1u);
  auto managed = ids_->CreatePolicy(kAcct, "m", "/", kAllowAll, "");
  ASSERT_TRUE(managed.ok());
  ASSERT_TRUE(ids_->AttachPolicy(kAcct, "user", "alice", managed->arn).ok());
  ASSERT_TRUE(ids_->CreateGroup(kAcct, "ops", "/").ok());
  ASSERT_TRUE(ids_->PutInlinePolicy(kAcct, "group", "ops", "g", kAllowAll).ok());
  ASSERT_TRUE(ids_->AttachPolicy(kAcct, "group", "ops", managed->arn).ok());
  ASSERT_TRUE(ids_->AddUserToGroup(kAcct, "ops", "alice").ok());
  EXPECT_EQ(ids_->PoliciesFor(principal)->policies.size(), 4u);
  EXPECT_EQ(ids_->GetPolicy(managed->arn)->attachment_count, 2);
  EXPECT_EQ(ids_->GroupMembers(kAcct, "ops")->size(), 1u);

  EXPECT_EQ(ids_->DeleteGroup(kAcct, "ops").code(), ErrorCode::kIamDeleteConflict);
  EXPECT_EQ(ids_->DeletePolicy(kAcct, managed->arn).code(), ErrorCode::kIamDeleteConflict);
  ASSERT_TRUE(ids_->RemoveUserFromGroup(kAcct, "ops", "alice").ok());
  ASSERT_TRUE(ids_->DetachPolicy(kAcct, "user", "alice", managed->arn).ok());
  EXPECT_EQ(ids_->PoliciesFor(principal)->policies.size(), 1u);
  EXPECT_EQ(ids_->DetachPolicy(kAcct, "user", "alice", managed->arn).code(),
            ErrorCode::kIamNoSuchEntity);

  auth::Principal root;
  root.type = auth::PrincipalType::kRoot;
  root.account_id = std::string(kAcct);
  root.arn = "arn:aws:iam::111122223333:root";
  EXPECT_TRUE(ids_->PoliciesFor(root)->policies.empty());
  EXPECT_TRUE(ids_->PoliciesFor(auth::Principal{})->policies.empty());
}

TEST_F(IdentityStoreTest, ManagedPolicyVersionsFollowAwsRules) {
  auto p = ids_->CreatePolicy(kAcct, "m", "/team/", kAllowAll, "d");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->arn, "arn:aws:iam::111122223333:policy/team/m");
  EXPECT_EQ(ids_->CreatePolicy(kAcct, "m", "/", kAllowAll, "").status().code(),
            ErrorCode::kIamEntityAlreadyExists);
  for (int i = 2; i <= 5; ++i) {
    EXPECT_EQ(*ids_->CreatePolicyVersion(kAcct, p->arn, kAllowAll, false), "v" + std::to_string(i));
  }
  EXPECT_EQ(ids_->CreatePolicyVersion(kAcct, p->arn, kAllowAll, false).status().code(),
            ErrorCode::kIamLimitExceeded);
  EXPECT_EQ(ids_->DeletePolicyVersion(kAcct, p->arn, "v1").code(), ErrorCode::kIamDeleteConflict);
  ASSERT_TRUE(ids_->SetDefaultPolicyVersion(kAcct, p->arn, "v3").ok());
  EXPECT_EQ(ids_->GetPolicy(p->arn)->default_version, "v3");
  EXPECT_EQ(ids_->SetDefaultPolicyVersion(kAcct, p->arn, "v9").code(), ErrorCode::kIamNoSuchEntity);
  EXPECT_EQ(ids_->DeletePolicy(kAcct, p->arn).code(), ErrorCode::kIamDeleteConflict);
  for (std::string v : {"v1", "v2", "v4", "v5"}) {
    ASSERT_TRUE(ids_->DeletePolicyVersion(kAcct, p->arn, v).ok());
  }
  ASSERT_TRUE(ids_->DeletePolicy(kAcct, p->arn).ok());
  EXPECT_EQ(ids_->GetPolicy(p->arn).status().code(), ErrorCode::kIamNoSuchEntity);
  EXPECT_EQ(ids_->GetPolicy("arn:aws:iam::111122223333:policy/team/other").status().code(),
            ErrorCode::kIamNoSuchEntity);
  EXPECT_EQ(ids_->GetPolicy("not-an-arn").status().code(), ErrorCode::kIamInvalidInput);
}

TEST_F(IdentityStoreTest, ListingsPageWithMarkersAndPathPrefixes) {
  for (std::string name : {"a", "b", "c", "d"}) {
    ASSERT_TRUE(ids_->CreateUser(kAcct, name, name == "c" ? "/x/" : "/", {}).ok());
  }
  auto page = ids_->ListUsers(kAcct, "/", "", 2);
  ASSERT_TRUE(page.ok());
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_TRUE(page->truncated);
  auto rest = ids_->ListUsers(kAcct, "/", page->marker, 10);
  ASSERT_EQ(rest->items.size(), 2u);
  EXPECT_EQ(rest->items[0].name, "c");
  EXPECT_FALSE(rest->truncated);
  auto x = ids_->ListUsers(kAcct, "/x/", "", 10);
  ASSERT_EQ(x->items.size(), 1u);
  EXPECT_EQ(x->items[0].name, "c");
}

// --- STS ---

class AssumeRoleTest : public IdentityStoreTest {
 protected:
  void SetUp() override {
    IdentityStoreTest::SetUp();
    alice_ = ids_->FindAccessKey(UserWithKey("alice").record.access_key_id)->principal;
    bob_ = ids_->FindAccessKey(UserWithKey("bob").record.access_key_id)->principal;
    auto role = ids_->CreateRole(
        kAcct, "lab", "/", Doc(R"({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:user/alice"},"Action":"sts:AssumeRole"})"),
        "", 7200, {});
    ASSERT_TRUE(role.ok()) << role.status().ToString();
    role_ = *role;
    ASSERT_TRUE(ids_->PutInlinePolicy(kAcct, "role", "lab", "p", kAllowAll).ok());
  }
  auth::Principal alice_, bob_;
  RoleRecord role_;
};

TEST_F(AssumeRoleTest, TrustedCallerGetsAWorkingSessionThatExpiresOnTheLifecycleClock) {
  auto creds = ids_->AssumeRole(alice_, {}, role_.arn, "s1", 3600, "");
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  EXPECT_TRUE(creds->access_key_id.starts_with("ASIA"));
  EXPECT_EQ(creds->assumed_role_arn, "arn:aws:sts::111122223333:assumed-role/lab/s1");
  EXPECT_EQ(creds->assumed_role_id, role_.role_id + ":s1");

  auto key = ids_->FindAccessKey(creds->access_key_id);
  ASSERT_TRUE(key.ok());
  const auth::Principal& p = key->principal;
  EXPECT_EQ(p.type, auth::PrincipalType::kAssumedRole);
  EXPECT_EQ(p.arn, creds->assumed_role_arn);
  EXPECT_EQ(p.user_id, creds->assumed_role_id);
  EXPECT_EQ(p.name, "s1");
  EXPECT_EQ(p.role_arn, role_.arn);
  EXPECT_EQ(p.role_name, "lab");
  EXPECT_EQ(key->session_token_hash, crypto::Sha256Hex(creds->session_token));
  EXPECT_TRUE(key->session_token.empty());
  ASSERT_TRUE(key->expires_at.has_value());
  EXPECT_EQ(ToUnixMillis(*key->expires_at), creds->expires_ms);
  EXPECT_EQ(ids_->PoliciesFor(p)->policies.size(), 1u);

  for (const std::string& content : FileContents()) {
    EXPECT_EQ(content.find(creds->session_token), std::string::npos);
    EXPECT_EQ(content.find(creds->secret_access_key), std::string::npos);
  }

  clock_.Advance(std::chrono::seconds(3599));
  EXPECT_TRUE(ids_->FindAccessKey(creds->access_key_id).ok());
  clock_.Advance(std::chrono::seconds(2));
  auto expired = ids_->FindAccessKey(creds->access_key_id);
  EXPECT_EQ(expired.status().code(), ErrorCode::kExpiredToken);
  EXPECT_EQ(expired.status().message(), "The security token included in the request is expired");
}

TEST_F(AssumeRoleTest, ARoleCreatedAgainUnderTheSameNameDoesNotInheritOldSessions) {
  auto creds = ids_->AssumeRole(alice_, {}, role_.arn, "s1", 3600, "");
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  ASSERT_TRUE(ids_->FindAccessKey(creds->access_key_id).ok());
  ASSERT_TRUE(ids_->DeleteInlinePolicy(kAcct, "role", "lab", "p").ok());
  ASSERT_TRUE(ids_->DeleteRole(kAcct, "lab").ok());
  ASSERT_TRUE(ids_->CreateRole(kAcct, "lab", "/", role_.trust_policy, "", 7200, {}).ok());
  EXPECT_EQ(ids_->FindAccessKey(creds->access_key_id).status().code(),
            ErrorCode::kUnknownAccessKey);
}

TEST_F(AssumeRoleTest, UntrustedCallersAndBadParametersAreRefused) {
  auto denied = ids_->AssumeRole(bob_, {}, role_.arn, "s1", 3600, "");
  EXPECT_EQ(denied.status().code(), ErrorCode::kAccessDenied);
  EXPECT_EQ(denied.status().message(),
            "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: "
            "sts:AssumeRole on resource: arn:aws:iam::111122223333:role/lab");
  EXPECT_EQ(ids_->AssumeRole(alice_, {}, "arn:aws:iam::111122223333:role/none", "s1", 3600, "")
                .status()
                .code(),
            ErrorCode::kAccessDenied);
  EXPECT_EQ(ids_->AssumeRole(alice_, {}, "role/lab", "s1", 3600, "").status().code(),
            ErrorCode::kValidation);
  EXPECT_EQ(ids_->AssumeRole(alice_, {}, role_.arn, "s:1", 3600, "").status().code(),
            ErrorCode::kValidation);
  EXPECT_EQ(ids_->AssumeRole(alice_, {}, role_.arn, "s1", 600, "").status().code(),
            ErrorCode::kValidation);
  EXPECT_EQ(ids_->AssumeRole(alice_, {}, role_.arn, "s1", 7201, "").status().code(),
            ErrorCode::kValidation);
  EXPECT_EQ(ids_->AssumeRole(alice_, {}, role_.arn, "s1", 3600, "{").status().code(),
            ErrorCode::kIamMalformedPolicyDocument);
  auth::Principal root;
  root.type = auth::PrincipalType::kRoot;
  root.account_id = std::string(kAcct);
  root.arn = "arn:aws:iam::111122223333:root";
  EXPECT_EQ(ids_->AssumeRole(root, {}, role_.arn, "s1", 3600, "").status().code(),
            ErrorCode::kAccessDenied);

  // A trust policy that delegates to the account needs the caller's own Allow too.
  ASSERT_TRUE(ids_->UpdateAssumeRolePolicy(
                      kAcct, "lab",
                      Doc(R"({"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"})"))
                  .ok());
  EXPECT_EQ(ids_->AssumeRole(bob_, {}, role_.arn, "s1", 3600, "").status().code(),
            ErrorCode::kAccessDenied);
  ASSERT_TRUE(ids_->PutInlinePolicy(kAcct, "user", "bob", "assume",
                                    Doc(R"({"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"})"))
                  .ok());
  EXPECT_TRUE(ids_->AssumeRole(bob_, {}, role_.arn, "s1", 3600, "").ok());
}

// Another account's caller needs the trust policy's Allow and its own identity policy's Allow.
TEST_F(AssumeRoleTest, CrossAccountCallersNeedBothSides) {
  ASSERT_TRUE(ids_->CreateAccount("444455556666").ok());
  ASSERT_TRUE(ids_->CreateUser("444455556666", "eve", "/", {}).ok());
  auto key = ids_->CreateAccessKey("444455556666", "eve");
  auth::Principal eve = ids_->FindAccessKey(key->record.access_key_id)->principal;
  ASSERT_TRUE(ids_->UpdateAssumeRolePolicy(
                      kAcct, "lab",
                      Doc(R"({"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:user/eve"},"Action":"sts:AssumeRole"})"))
                  .ok());
  EXPECT_EQ(ids_->AssumeRole(eve, {}, role_.arn, "xs", 900, "").status().code(),
            ErrorCode::kAccessDenied)
      << "the trust policy alone does not let another account in";
  ASSERT_TRUE(ids_->PutInlinePolicy("444455556666", "user", "eve", "assume",
                                    Doc(R"({"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::111122223333:role/lab"})"))
                  .ok());
  auto creds = ids_->AssumeRole(eve, {}, role_.arn, "xs", 900, "");
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  EXPECT_EQ(ids_->FindAccessKey(creds->access_key_id)->principal.account_id, std::string(kAcct))
      << "the session belongs to the role's account";
}

TEST_F(AssumeRoleTest, SessionPolicyTravelsWithTheSession) {
  auto creds = ids_->AssumeRole(alice_, {}, role_.arn, "s1", 900,
                                Doc(R"({"Effect":"Allow","Action":"s3:GetObject","Resource":"*"})"));
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  auto principal = ids_->FindAccessKey(creds->access_key_id)->principal;
  auto policies = ids_->PoliciesFor(principal);
  ASSERT_TRUE(policies.ok());
  EXPECT_EQ(policies->policies.size(), 1u);
  ASSERT_NE(policies->session, nullptr);
  // A session whose role is gone authenticates nobody.
  ASSERT_TRUE(ids_->DeleteInlinePolicy(kAcct, "role", "lab", "p").ok());
  ASSERT_TRUE(ids_->DeleteRole(kAcct, "lab").ok());
  EXPECT_EQ(ids_->FindAccessKey(creds->access_key_id).status().code(),
            ErrorCode::kUnknownAccessKey);
}

TEST_F(AssumeRoleTest, GetSessionTokenActsAsTheUserAndRefusesSessions) {
  auto creds = ids_->GetSessionToken(alice_, 900);
  ASSERT_TRUE(creds.ok()) << creds.status().ToString();
  auto key = ids_->FindAccessKey(creds->access_key_id);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->principal.arn, alice_.arn);
  EXPECT_EQ(key->principal.type, auth::PrincipalType::kUser);
  EXPECT_EQ(ids_->GetSessionToken(alice_, 100).status().code(), ErrorCode::kValidation);
  EXPECT_EQ(ids_->GetSessionToken(key->principal, 900).status().code(), ErrorCode::kAccessDenied);
}

// Item 9: IAM names are unique regardless of case, as on AWS.
TEST_F(IdentityStoreTest, Item09NamesDifferingOnlyByCaseAreTheSameName) {
  ASSERT_TRUE(ids_->CreateUser(kAcct, "alice", "/", {}).ok());
  auto clash = ids_->CreateUser(kAcct, "Alice", "/", {});
  EXPECT_EQ(clash.status().code(), ErrorCode::kIamEntityAlreadyExists);
  EXPECT_EQ(clash.status().message(), "User with name Alice already exists.");
  const std::string trust = Doc(R"({"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"})");
  ASSERT_TRUE(ids_->CreateRole(kAcct, "Deployer", "/", trust, "", 3600, {}).ok());
  EXPECT_EQ(ids_->CreateRole(kAcct, "DEPLOYER", "/", trust, "", 3600, {}).status().code(),
            ErrorCode::kIamEntityAlreadyExists);
  // Once the first is gone, the name (in any case) is free again.
  ASSERT_TRUE(ids_->DeleteUser(kAcct, "alice").ok());
  EXPECT_TRUE(ids_->CreateUser(kAcct, "ALICE", "/", {}).ok());
}

// Item 12: a session policy is limited by its plain text, whitespace included.
TEST_F(AssumeRoleTest, Item12SessionPoliciesAreLimitedByTheirRawText) {
  const std::string padded = std::string(1 << 20, ' ') + kAllowAll;
  auto big = ids_->AssumeRole(alice_, {}, role_.arn, "s1", 3600, padded);
  EXPECT_EQ(big.status().code(), ErrorCode::kValidation);
  EXPECT_EQ(big.status().message(),
            "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member "
            "must have length less than or equal to 2048");
  const std::string exact = kAllowAll + std::string(2048 - kAllowAll.size(), ' ');
  EXPECT_TRUE(ids_->AssumeRole(alice_, {}, role_.arn, "s1", 3600, exact).ok());
}

// Item 12: expired sessions are purged, so issuing them cannot grow the store for ever.
TEST_F(AssumeRoleTest, Item12ExpiredSessionsArePurged) {
  auto count_sessions = [&] {
    int n = 0;
    const auto docs = store_->List("iam.access-key", "", {});
    for (const auto& doc : *docs) {
      n += doc.body.find("\"session\"") != std::string::npos;
    }
    return n;
  };
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(ids_->AssumeRole(alice_, {}, role_.arn, "s" + std::to_string(i), 900, "").ok());
  }
  ASSERT_TRUE(ids_->GetSessionToken(alice_, 900).ok());
  EXPECT_EQ(count_sessions(), 21);
  EXPECT_EQ(*ids_->PurgeExpiredSessions(), 0);
  clock_.Advance(std::chrono::seconds(901));
  EXPECT_EQ(*ids_->PurgeExpiredSessions(), 0) << "just expired: still answers ExpiredToken";
  clock_.Advance(kExpiredSessionRetention);
  EXPECT_EQ(*ids_->PurgeExpiredSessions(), 21);
  EXPECT_EQ(count_sessions(), 0);
  // Long-term keys are untouched.
  EXPECT_TRUE(ids_->FindAccessKey(alice_.access_key_id).ok());
}

}  // namespace
}  // namespace hangar::iam
