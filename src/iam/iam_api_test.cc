#include "iam/iam_api.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "common/strings.h"
#include "crypto/random.h"
#include "iam/request_facts.h"
#include "iam/sts_api.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace hangar::iam {
namespace {

class IamApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-iamapi-" + std::to_string(::getpid()) + "-" + crypto::RandomString(8, "abcdef"));
    std::filesystem::create_directories(dir_);
    root_key_ = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
    store_ = std::move(*store::SqliteMetadataStore::Open((dir_ / "meta.db").string()));
    ids_ = std::make_unique<IdentityStore>(*store_, *root_key_, clock_);
    api_ = std::make_unique<IamApi>(*ids_);
    root_.principal.type = auth::PrincipalType::kRoot;
    root_.principal.account_id = "111122223333";
    root_.principal.arn = "arn:aws:iam::111122223333:root";
    root_.request_id = "req-1";
  }
  void TearDown() override {
    api_.reset();
    ids_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::filesystem::path dir_;
  SystemClock clock_;
  std::unique_ptr<crypto::RootKey> root_key_;
  std::unique_ptr<store::SqliteMetadataStore> store_;
  std::unique_ptr<IdentityStore> ids_;
  std::unique_ptr<IamApi> api_;
  auth::RequestContext root_;
};

TEST_F(IamApiTest, CreateUserAnswersInTheIamNamespace) {
  auto xml = api_->Call(root_, "Action=CreateUser&Version=2010-05-08&UserName=alice&Path=%2Fa%2F");
  ASSERT_TRUE(xml.ok()) << xml.status().ToString();
  EXPECT_NE(xml->find("<CreateUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"),
            std::string::npos);
  EXPECT_NE(xml->find("<Arn>arn:aws:iam::111122223333:user/a/alice</Arn>"), std::string::npos);
  EXPECT_NE(xml->find("<RequestId>req-1</RequestId>"), std::string::npos);
}

// Found by the iam_query fuzz target: a tag value that is not UTF-8 failed where the user record
// was encoded (500); it is a validation error.
TEST_F(IamApiTest, ParametersMustBeUtf8) {
  auto created = api_->Call(root_, "Action=CreateUser&UserName=u&Tags.member.1.Key=k&"
                                   "Tags.member.1.Value=%FD");
  EXPECT_EQ(created.status().code(), ErrorCode::kValidation);
  EXPECT_EQ(ids_->GetUser("111122223333", "u").status().code(), ErrorCode::kIamNoSuchEntity);
  EXPECT_TRUE(api_->Call(root_, "Action=CreateUser&UserName=u&Tags.member.1.Key=k&"
                                "Tags.member.1.Value=%C3%A9")
                  .ok());
}

TEST_F(IamApiTest, PolicyDocumentsComeBackUrlEncoded) {
  ASSERT_TRUE(api_->Call(root_, "Action=CreateUser&UserName=u").ok());
  const std::string doc =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]})";
  ASSERT_TRUE(api_->Call(root_, "Action=PutUserPolicy&UserName=u&PolicyName=p&PolicyDocument=" +
                                    UriEncode(doc, false))
                  .ok());
  auto xml = api_->Call(root_, "Action=GetUserPolicy&UserName=u&PolicyName=p");
  ASSERT_TRUE(xml.ok());
  EXPECT_NE(xml->find("<PolicyDocument>" + UriEncode(doc, false) + "</PolicyDocument>"),
            std::string::npos);
}

TEST_F(IamApiTest, MissingParametersUnknownActionsAndDenials) {
  auto missing = api_->Call(root_, "Action=CreateUser");
  EXPECT_EQ(missing.status().code(), ErrorCode::kValidation);
  EXPECT_EQ(missing.status().message(),
            "1 validation error detected: Value null at 'userName' failed to satisfy constraint: "
            "Member must not be null");
  EXPECT_EQ(api_->Call(root_, "Action=Frobnicate").status().code(), ErrorCode::kUnknownOperation);

  ASSERT_TRUE(ids_->CreateUser("111122223333", "bob", "/", {}).ok());
  auto key = ids_->CreateAccessKey("111122223333", "bob");
  auth::RequestContext bob = root_;
  bob.principal = ids_->FindAccessKey(key->record.access_key_id)->principal;
  auto denied = api_->Call(bob, "Action=DeleteUser&UserName=bob");
  EXPECT_EQ(denied.status().code(), ErrorCode::kAccessDenied);
  EXPECT_EQ(denied.status().message(),
            "User: arn:aws:iam::111122223333:user/bob is not authorized to perform: "
            "iam:DeleteUser on resource: user bob because no "
            "identity-based policy allows the iam:DeleteUser action");
  // aws:username works as a policy variable: each user may manage only their own keys.
  ASSERT_TRUE(ids_->PutInlinePolicy(
                      "111122223333", "user", "bob", "own-keys",
                      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::111122223333:user/${aws:username}"}]})")
                  .ok());
  EXPECT_TRUE(api_->Call(bob, "Action=ListAccessKeys").ok());
  EXPECT_EQ(api_->Call(bob, "Action=ListAccessKeys&UserName=root2").status().code(),
            ErrorCode::kAccessDenied);
}

// Policies see an entity's ARN with its path, as in AWS.
TEST_F(IamApiTest, AuthorisationUsesTheEntityArnWithItsPath) {
  ASSERT_TRUE(api_->Call(root_, "Action=CreateUser&UserName=lab-user&Path=%2Flab%2F").ok());
  ASSERT_TRUE(api_->Call(root_, "Action=CreateUser&UserName=other").ok());
  ASSERT_TRUE(ids_->CreateUser("111122223333", "admin", "/", {}).ok());
  ASSERT_TRUE(ids_->PutInlinePolicy(
                      "111122223333", "user", "admin", "lab",
                      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:GetUser","Resource":"arn:aws:iam::111122223333:user/lab/*"}]})")
                  .ok());
  auto key = ids_->CreateAccessKey("111122223333", "admin");
  auth::RequestContext admin = root_;
  admin.principal = ids_->FindAccessKey(key->record.access_key_id)->principal;
  EXPECT_TRUE(api_->Call(admin, "Action=GetUser&UserName=lab-user").ok());
  auto denied = api_->Call(admin, "Action=GetUser&UserName=other");
  EXPECT_EQ(denied.status().code(), ErrorCode::kAccessDenied);
  EXPECT_NE(denied.status().message().find("on resource: user other "), std::string::npos);
  EXPECT_EQ(api_->Call(admin, "Action=GetUser&UserName=ghost").status().code(),
            ErrorCode::kAccessDenied)
      << "a denied caller cannot probe for names";
}

// Item 9: a caller with no permission learns neither an entity's path nor whether it exists: the
// denial names "user <name>" either way, as AWS does.
TEST_F(IamApiTest, Item09DenialsRevealNeitherPathNorExistence) {
  ASSERT_TRUE(api_->Call(root_, "Action=CreateUser&UserName=hidden&Path=%2Fsecret%2Fdivision%2F").ok());
  ASSERT_TRUE(ids_->CreateUser("111122223333", "nobody", "/", {}).ok());
  auto key = ids_->CreateAccessKey("111122223333", "nobody");
  auth::RequestContext nobody = root_;
  nobody.principal = ids_->FindAccessKey(key->record.access_key_id)->principal;
  auto existing = api_->Call(nobody, "Action=GetUser&UserName=hidden");
  auto missing = api_->Call(nobody, "Action=GetUser&UserName=ghost");
  EXPECT_EQ(existing.status().message(),
            "User: arn:aws:iam::111122223333:user/nobody is not authorized to perform: "
            "iam:GetUser on resource: user hidden because no identity-based policy allows the "
            "iam:GetUser action");
  EXPECT_EQ(missing.status().message(),
            "User: arn:aws:iam::111122223333:user/nobody is not authorized to perform: "
            "iam:GetUser on resource: user ghost because no identity-based policy allows the "
            "iam:GetUser action");
  EXPECT_EQ(existing.status().message().find("secret"), std::string::npos);
}

TEST_F(IamApiTest, NoUserCanReachTheRootsAccessKeys) {
  ASSERT_TRUE(ids_->CreateUser("111122223333", "keybot", "/", {}).ok());
  ASSERT_TRUE(ids_->PutInlinePolicy("111122223333", "user", "keybot", "keys",
                                    R"({"Version":"2012-10-17","Statement":{"Effect":"Allow",)"
                                    R"("Action":"iam:*AccessKey*","Resource":"*"}})")
                  .ok());
  auto key = ids_->CreateAccessKey("111122223333", "keybot");
  auth::RequestContext keybot = root_;
  keybot.principal = ids_->FindAccessKey(key->record.access_key_id)->principal;
  // An empty UserName must not mean "the root" (AWS: a validation error).
  for (const char* action : {"CreateAccessKey", "ListAccessKeys"}) {
    auto r = api_->Call(keybot, std::string("Action=") + action + "&UserName=");
    EXPECT_EQ(r.status().code(), ErrorCode::kValidation) << action;
  }
  auto roots_keys = ids_->ListAccessKeys("111122223333", "");
  ASSERT_TRUE(roots_keys.ok());
  EXPECT_TRUE(roots_keys->empty());
  // Without UserName a user manages its own keys.
  auto own = api_->Call(keybot, "Action=CreateAccessKey");
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_NE(own->find("<UserName>keybot</UserName>"), std::string::npos);
}

TEST(RequestFactsTest, FillsTheGlobalConditionKeys) {
  auth::RequestContext ctx;
  ctx.principal.type = auth::PrincipalType::kAssumedRole;
  ctx.principal.account_id = "111122223333";
  ctx.principal.arn = "arn:aws:sts::111122223333:assumed-role/R/s";
  ctx.principal.user_id = "AROAEXAMPLE:s";
  ctx.principal.role_arn = "arn:aws:iam::111122223333:role/R";
  ctx.source_ip = "10.1.2.3";
  ctx.secure_transport = true;
  ctx.region = "eu-west-1";
  ctx.now = FromUnixMillis(1700000000000);
  RequestFacts f = FactsFor(ctx, "kms:Decrypt", "arn:aws:kms:eu-west-1:111122223333:key/k");
  EXPECT_EQ(f.principal_arn, ctx.principal.arn);
  EXPECT_EQ(f.role_arn, ctx.principal.role_arn);
  EXPECT_EQ(f.action, "kms:Decrypt");
  EXPECT_EQ(f.context.at("aws:principalarn"), std::vector<std::string>{ctx.principal.role_arn});
  EXPECT_EQ(f.context.at("aws:principalaccount")[0], "111122223333");
  EXPECT_EQ(f.context.at("aws:principaltype")[0], "AssumedRole");
  EXPECT_EQ(f.context.at("aws:userid")[0], "AROAEXAMPLE:s");
  EXPECT_FALSE(f.context.contains("aws:username"));
  EXPECT_EQ(f.context.at("aws:sourceip")[0], "10.1.2.3");
  EXPECT_EQ(f.context.at("aws:securetransport")[0], "true");
  EXPECT_EQ(f.context.at("aws:currenttime")[0], "2023-11-14T22:13:20Z");
  EXPECT_EQ(f.context.at("aws:epochtime")[0], "1700000000");
  EXPECT_EQ(f.context.at("aws:requestedregion")[0], "eu-west-1");

  auth::RequestContext anonymous;
  RequestFacts a = FactsFor(anonymous, "s3:GetObject", "arn:aws:s3:::b/k");
  EXPECT_TRUE(a.principal_arn.empty());
  EXPECT_FALSE(a.context.contains("aws:principalarn"));
}

}  // namespace
}  // namespace hangar::iam
