#include "kms/kms_api.h"
#include "kms/policy_authorizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "crypto/base64.h"
#include "crypto/random.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace hangar::kms {
namespace {

// Account roots only: they have no identity policies; key policies decide.
class NoIdentityPolicies final : public iam::IdentityPolicySource {
 public:
  Result<iam::IdentityPolicies> PoliciesFor(const auth::Principal&) const override {
    return iam::IdentityPolicies{};
  }
};

using nlohmann::json;

class KmsApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-kmsapi-" + std::to_string(::getpid()) + "-" + crypto::RandomString(8, "abcdef"));
    std::filesystem::create_directories(dir_);
    root_key_ = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
    store_ = std::move(*store::SqliteMetadataStore::Open((dir_ / "meta.db").string()));
    repository_ = std::make_unique<KeyRepository>(*store_, *root_key_);
    service_ = std::make_unique<KeyService>(*repository_, authorizer_, clock_, KmsOptions{});
    api_ = std::make_unique<KmsApi>(*service_);
    ctx_.principal.type = auth::PrincipalType::kRoot;
    ctx_.principal.account_id = "111122223333";
    ctx_.principal.arn = "arn:aws:iam::111122223333:root";
    ctx_.region = "us-east-1";
    ctx_.now = clock_.Now();
  }
  void TearDown() override {
    api_.reset();
    service_.reset();
    repository_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  Result<json> Call(std::string_view op, std::string_view body) {
    auto r = api_->Call(ctx_, op, body);
    if (!r.ok()) return r.status();
    return json::parse(*r);
  }

  std::filesystem::path dir_;
  OffsetClock clock_{FromUnixMillis(1'800'000'000'000)};
  NoIdentityPolicies identities_;
  PolicyKeyAuthorizer authorizer_{identities_, KeyPolicyGuardrails{}};
  std::unique_ptr<crypto::RootKey> root_key_;
  std::unique_ptr<store::SqliteMetadataStore> store_;
  std::unique_ptr<KeyRepository> repository_;
  std::unique_ptr<KeyService> service_;
  std::unique_ptr<KmsApi> api_;
  auth::RequestContext ctx_;
};

TEST_F(KmsApiTest, CreateKeyReturnsCompleteKeyMetadata) {
  auto r = Call("CreateKey", R"({"Description":"lab key","Tags":[{"TagKey":"a","TagValue":"b"}]})");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& m = (*r)["KeyMetadata"];
  for (const char* field : {"AWSAccountId", "KeyId", "Arn", "CreationDate", "Enabled",
                            "Description", "KeyUsage", "KeyState", "Origin", "KeyManager",
                            "CustomerMasterKeySpec", "KeySpec", "EncryptionAlgorithms",
                            "MultiRegion", "CurrentKeyMaterialId"}) {
    EXPECT_TRUE(m.contains(field)) << field;
  }
  EXPECT_EQ(m["Description"], "lab key");
  EXPECT_DOUBLE_EQ(m["CreationDate"].get<double>(), 1'800'000'000.0);
  EXPECT_FALSE(m.contains("DeletionDate"));
  EXPECT_FALSE(m.contains("MultiRegionConfiguration"));
}

TEST_F(KmsApiTest, MalformedJsonIsASerializationException) {
  auto r = Call("CreateKey", "{not json");
  EXPECT_EQ(r.status().code(), ErrorCode::kSerialization);
  EXPECT_EQ(Call("CreateKey", "[1,2]").status().code(), ErrorCode::kSerialization);
}

TEST_F(KmsApiTest, WrongMemberTypesAreSerializationExceptions) {
  EXPECT_EQ(Call("DescribeKey", R"({"KeyId":5})").status().code(), ErrorCode::kSerialization);
  EXPECT_EQ(Call("GenerateRandom", R"({"NumberOfBytes":"8"})").status().code(),
            ErrorCode::kSerialization);
  EXPECT_EQ(Call("Encrypt", R"({"KeyId":"k","Plaintext":"eA==","EncryptionContext":[1]})")
                .status()
                .code(),
            ErrorCode::kSerialization);
  EXPECT_EQ(Call("CreateKey", R"({"MultiRegion":"yes"})").status().code(),
            ErrorCode::kSerialization);
}

TEST_F(KmsApiTest, MissingRequiredMembersAreReportedTogether) {
  auto r = Call("CreateAlias", "{}");
  EXPECT_EQ(r.status().code(), ErrorCode::kValidation);
  EXPECT_EQ(r.status().message(),
            "2 validation errors detected: Value null at 'aliasName' failed to satisfy "
            "constraint: Member must not be null; Value null at 'targetKeyId' failed to satisfy "
            "constraint: Member must not be null");
  EXPECT_EQ(Call("DescribeKey", "").status().message(),
            "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: "
            "Member must not be null");
}

TEST_F(KmsApiTest, InvalidBase64IsRejected) {
  auto created = Call("CreateKey", "{}");
  std::string id = (*created)["KeyMetadata"]["KeyId"];
  EXPECT_EQ(Call("Encrypt", R"({"KeyId":")" + id + R"(","Plaintext":"!!notbase64"})").status().code(),
            ErrorCode::kSerialization);
  EXPECT_EQ(Call("Decrypt", R"({"CiphertextBlob":"abc"})").status().code(),
            ErrorCode::kSerialization);
}

TEST_F(KmsApiTest, UnknownAndLaterOperationsAreDistinguished) {
  EXPECT_EQ(Call("MakeCoffee", "{}").status().code(), ErrorCode::kUnknownOperation);
  EXPECT_EQ(Call("CreateCustomKeyStore", "{}").status().code(), ErrorCode::kNotImplemented);
}

TEST_F(KmsApiTest, EncryptDecryptOverJsonUsesBase64AndArns) {
  auto created = Call("CreateKey", "{}");
  std::string arn = (*created)["KeyMetadata"]["Arn"];
  auto enc = Call("Encrypt", R"({"KeyId":")" + arn + R"(","Plaintext":")" +
                                 crypto::Base64Encode(std::string_view("hi there")) +
                                 R"(","EncryptionContext":{"k":"v"}})");
  ASSERT_TRUE(enc.ok()) << enc.status().ToString();
  EXPECT_EQ((*enc)["KeyId"], arn);
  EXPECT_EQ((*enc)["EncryptionAlgorithm"], "SYMMETRIC_DEFAULT");
  auto dec = Call("Decrypt", R"({"CiphertextBlob":")" + (*enc)["CiphertextBlob"].get<std::string>() +
                                 R"(","EncryptionContext":{"k":"v"}})");
  ASSERT_TRUE(dec.ok()) << dec.status().ToString();
  EXPECT_EQ(*crypto::Base64Decode((*dec)["Plaintext"].get<std::string>()), "hi there");
  EXPECT_EQ((*dec)["KeyId"], arn);
  EXPECT_TRUE((*dec).contains("KeyMaterialId"));
}

TEST_F(KmsApiTest, ScheduleKeyDeletionAnswersWithArnDateStateAndWindow) {
  auto created = Call("CreateKey", "{}");
  std::string id = (*created)["KeyMetadata"]["KeyId"];
  auto r = Call("ScheduleKeyDeletion", R"({"KeyId":")" + id + R"(","PendingWindowInDays":7})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["KeyId"], (*created)["KeyMetadata"]["Arn"]);
  EXPECT_EQ((*r)["KeyState"], "PendingDeletion");
  EXPECT_EQ((*r)["PendingWindowInDays"], 7);
  EXPECT_DOUBLE_EQ((*r)["DeletionDate"].get<double>(), 1'800'000'000.0 + 7 * 86400);
  auto d = Call("DescribeKey", R"({"KeyId":")" + id + R"("})");
  EXPECT_EQ((*d)["KeyMetadata"]["Enabled"], false);
  EXPECT_TRUE((*d)["KeyMetadata"].contains("DeletionDate"));
}

TEST_F(KmsApiTest, OnlyCryptoOperationsRunInline) {
  EXPECT_TRUE(KmsApi::RunsInline("GenerateDataKey"));
  EXPECT_TRUE(KmsApi::RunsInline("Decrypt"));
  EXPECT_FALSE(KmsApi::RunsInline("CreateKey"));
  EXPECT_FALSE(KmsApi::RunsInline("ScheduleKeyDeletion"));
  EXPECT_FALSE(KmsApi::RunsInline("Sign"));  // private-key work stays off the I/O threads
  EXPECT_FALSE(KmsApi::RunsInline("MakeCoffee"));
}

TEST_F(KmsApiTest, ReadOnlyFollowsCloudTrailAndCoversUnknownNames) {
  for (const char* op : {"DescribeKey", "ListGrants", "Encrypt", "Sign", "DeriveSharedSecret",
                         "GenerateDataKeyPairWithoutPlaintext", "GetParametersForImport",
                         "DescribeCustomKeyStores", "GetFoo"}) {
    EXPECT_TRUE(KmsApi::IsReadOnly(op)) << op;
  }
  for (const char* op : {"CreateKey", "CreateGrant", "RetireGrant", "ImportKeyMaterial",
                         "ReplicateKey", "CreateCustomKeyStore", "MakeCoffee"}) {
    EXPECT_FALSE(KmsApi::IsReadOnly(op)) << op;
  }
}

TEST_F(KmsApiTest, AuditRecordsTheResponseOfWritesOnly) {
  ctx_.audit = std::make_shared<auth::AuditNotes>();
  auto created = Call("CreateKey", R"({"Description":"audited"})");
  ASSERT_TRUE(created.ok());
  EXPECT_NE(ctx_.audit->response_elements.find("\"keyMetadata\""), std::string::npos);
  std::string id = (*created)["KeyMetadata"]["KeyId"];
  ctx_.audit = std::make_shared<auth::AuditNotes>();
  ASSERT_TRUE(Call("DescribeKey", R"({"KeyId":")" + id + R"("})").ok());
  EXPECT_EQ(ctx_.audit->request_parameters, R"({"keyId":")" + id + R"("})");
  EXPECT_TRUE(ctx_.audit->response_elements.empty());
}

}  // namespace
}  // namespace hangar::kms

namespace hangar::kms {
namespace {

TEST_F(KmsApiTest, GrantsSpeakTheModelsMembers) {
  std::string key = (*Call("CreateKey", "{}"))["KeyMetadata"]["KeyId"];
  auto created = Call("CreateGrant", R"({"KeyId":")" + key + R"(",
      "GranteePrincipal":"arn:aws:iam::111122223333:role/app","Operations":["Decrypt"],
      "Name":"n1","Constraints":{"EncryptionContextEquals":{"Dept":"IT"}}})");
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  std::string grant_id = (*created)["GrantId"];
  EXPECT_EQ(grant_id.size(), 64u);
  EXPECT_TRUE((*created)["GrantToken"].is_string());

  auto listed = Call("ListGrants", R"({"KeyId":")" + key + R"("})");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  const json& g = (*listed)["Grants"][0];
  EXPECT_EQ(g["KeyId"], "arn:aws:kms:us-east-1:111122223333:key/" + key);
  EXPECT_EQ(g["GrantId"], grant_id);
  EXPECT_EQ(g["Name"], "n1");
  EXPECT_EQ(g["GranteePrincipal"], "arn:aws:iam::111122223333:role/app");
  EXPECT_EQ(g["IssuingAccount"], "arn:aws:iam::111122223333:root");
  EXPECT_EQ(g["Operations"], json::array({"Decrypt"}));
  EXPECT_EQ(g["Constraints"], json::parse(R"({"EncryptionContextEquals":{"Dept":"IT"}})"));
  EXPECT_TRUE(g["CreationDate"].is_number());
  EXPECT_FALSE(g.contains("RetiringPrincipal"));
  EXPECT_EQ((*listed)["Truncated"], false);

  EXPECT_EQ(Call("RevokeGrant", R"({"KeyId":")" + key + R"(","GrantId":")" + grant_id + R"("})")
                ->dump(),
            "{}");
  EXPECT_TRUE((*Call("ListGrants", R"({"KeyId":")" + key + R"("})"))["Grants"].empty());
}

TEST_F(KmsApiTest, GrantMembersOfTheWrongTypeAreSerializationErrors) {
  std::string key = (*Call("CreateKey", "{}"))["KeyMetadata"]["KeyId"];
  EXPECT_EQ(Call("CreateGrant", R"({"KeyId":")" + key +
                                    R"(","GranteePrincipal":"x","Operations":"Decrypt"})")
                .status()
                .code(),
            ErrorCode::kSerialization);
  EXPECT_EQ(Call("CreateGrant", R"({"KeyId":")" + key +
                                    R"(","GranteePrincipal":"x","Operations":["Decrypt"],
                                      "Constraints":{"EncryptionContextSubset":"a"}})")
                .status()
                .code(),
            ErrorCode::kSerialization);
  EXPECT_EQ(Call("Encrypt", R"({"KeyId":")" + key + R"(","Plaintext":"aGk=","GrantTokens":["x"]})")
                .status()
                .code(),
            ErrorCode::kKmsInvalidGrantToken);
  EXPECT_EQ(Call("DescribeKey", R"({"KeyId":")" + key + R"(","GrantTokens":[""]})").status().code(),
            ErrorCode::kValidation);
}

}  // namespace
}  // namespace hangar::kms
