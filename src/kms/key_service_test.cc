#include "kms/key_service.h"
#include "kms/policy_authorizer.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "audit/sink.h"
#include "crypto/asymmetric.h"
#include "crypto/base64.h"
#include "crypto/key_wrap.h"
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

using std::chrono::hours;

constexpr char kAccount[] = "111122223333";
constexpr char kRegion[] = "us-east-1";

// A KeyService over a real SQLite store in a temp dir, with a fixed, movable clock.
class KeyServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-kms-" + std::to_string(::getpid()) + "-" + crypto::RandomString(8, "abcdef"));
    std::filesystem::create_directories(dir_);
    root_key_ = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
    Reopen();
  }
  void TearDown() override {
    service_.reset();
    repository_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Drops every in-memory cache and reads the store afresh, as a restart would.
  void Reopen() {
    service_.reset();
    repository_.reset();
    store_.reset();
    store_ = std::move(*store::SqliteMetadataStore::Open((dir_ / "meta.db").string()));
    repository_ = std::make_unique<KeyRepository>(*store_, *root_key_);
    service_ = std::make_unique<KeyService>(*repository_, authorizer_, clock_, KmsOptions{});
  }

  auth::RequestContext Ctx(std::string account = kAccount) const {
    auth::RequestContext ctx;
    ctx.principal.type = auth::PrincipalType::kRoot;
    ctx.principal.account_id = account;
    ctx.principal.arn = "arn:aws:iam::" + account + ":root";
    ctx.region = kRegion;
    ctx.now = clock_.Now();
    return ctx;
  }

  KeyRecord NewKey(CreateKeyInput input = {}) {
    auto key = service_->CreateKey(Ctx(), input);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    return *key;
  }

  std::string EncryptWith(const std::string& key_id, const std::string& plaintext,
                          EncryptionContext context = {}) {
    EncryptInput in;
    in.key_id = key_id;
    in.plaintext = plaintext;
    in.context = std::move(context);
    auto out = service_->Encrypt(Ctx(), in);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? out->ciphertext : "";
  }

  Result<DecryptOutput> DecryptBlob(const std::string& blob, EncryptionContext context = {},
                                    std::optional<std::string> key_id = std::nullopt) {
    DecryptInput in;
    in.ciphertext = blob;
    in.context = std::move(context);
    in.key_id = std::move(key_id);
    return service_->Decrypt(Ctx(), in);
  }

  size_t StoredMaterialCount(const std::string& key_id) {
    return store_->List("kms.material", key_id, {})->size();
  }

  std::filesystem::path dir_;
  OffsetClock clock_{FromUnixMillis(1'800'000'000'000)};
  NoIdentityPolicies identities_;
  PolicyKeyAuthorizer authorizer_{identities_, KeyPolicyGuardrails{}};
  std::unique_ptr<crypto::RootKey> root_key_;
  std::unique_ptr<store::SqliteMetadataStore> store_;
  std::unique_ptr<KeyRepository> repository_;
  std::unique_ptr<KeyService> service_;
};

TEST_F(KeyServiceTest, CreateKeyDefaultsToAnEnabledSymmetricCustomerKey) {
  KeyRecord k = NewKey();
  EXPECT_EQ(k.state, KeyState::kEnabled);
  EXPECT_EQ(k.key_spec, "SYMMETRIC_DEFAULT");
  EXPECT_EQ(k.key_usage, "ENCRYPT_DECRYPT");
  EXPECT_EQ(k.key_manager, "CUSTOMER");
  EXPECT_EQ(k.arn, "arn:aws:kms:us-east-1:111122223333:key/" + k.key_id);
  EXPECT_EQ(k.policy, DefaultKeyPolicy(kAccount));
  EXPECT_EQ(k.current().material_id.size(), 64u);
}

TEST_F(KeyServiceTest, MultiRegionKeysGetMrkIds) {
  CreateKeyInput in;
  in.multi_region = true;
  KeyRecord k = NewKey(in);
  EXPECT_TRUE(k.key_id.starts_with("mrk-"));
  EXPECT_EQ(k.key_id.size(), 36u);
  EXPECT_TRUE(service_->DescribeKey(Ctx(), k.key_id).ok());
}

// A replica survives a restart under its own storage id, opens the primary's ciphertext, and its
// state stays its own while rotation reaches it from the primary.
TEST_F(KeyServiceTest, ReplicaSharesMaterialAndRotationButNotState) {
  CreateKeyInput in;
  in.multi_region = true;
  KeyRecord k = NewKey(in);
  ReplicateKeyInput replicate;
  replicate.key_id = k.key_id;
  replicate.replica_region = "eu-west-1";
  auto replica = service_->ReplicateKey(Ctx(), replicate);
  ASSERT_TRUE(replica.ok()) << replica.status().message();
  EXPECT_TRUE(replica->replica.replica());
  std::string blob = EncryptWith(k.key_id, "shared");
  Reopen();
  auth::RequestContext eu = Ctx();
  eu.region = "eu-west-1";
  DecryptInput d;
  d.ciphertext = blob;
  auto opened = service_->Decrypt(eu, d);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  EXPECT_EQ(AsStringView(opened->plaintext.span()), "shared");
  ASSERT_TRUE(service_->DisableKey(eu, k.key_id).ok());
  EXPECT_EQ(service_->Decrypt(eu, d).status().code(), ErrorCode::kKmsDisabled);
  EXPECT_TRUE(service_->Decrypt(Ctx(), d).ok());
  ASSERT_TRUE(service_->RotateKeyOnDemand(Ctx(), k.key_id).ok());
  auto primary = service_->DescribeKey(Ctx(), k.key_id);
  auto copy = service_->DescribeKey(eu, k.key_id);
  ASSERT_TRUE(primary.ok() && copy.ok());
  EXPECT_EQ(copy->versions.size(), 2u);
  EXPECT_EQ(copy->current().material_id, primary->current().material_id);
  EXPECT_EQ(copy->state, KeyState::kDisabled);
}

// A disabled primary's due rotation waits; the postponed due time reaches its replicas too, so a
// later change through a replica cannot bring the old one back.
TEST_F(KeyServiceTest, PostponedRotationStaysAlikeOnEveryCopy) {
  CreateKeyInput in;
  in.multi_region = true;
  KeyRecord k = NewKey(in);
  ReplicateKeyInput replicate;
  replicate.key_id = k.key_id;
  replicate.replica_region = "eu-west-1";
  ASSERT_TRUE(service_->ReplicateKey(Ctx(), replicate).ok());
  ASSERT_TRUE(service_->EnableKeyRotation(Ctx(), k.key_id, 90).ok());
  ASSERT_TRUE(service_->DisableKey(Ctx(), k.key_id).ok());
  clock_.Advance(hours(24 * 91));
  ASSERT_TRUE(service_->RunDueTasks().ok());
  auth::RequestContext eu = Ctx();
  eu.region = "eu-west-1";
  auto primary = service_->DescribeKey(Ctx(), k.key_id);
  auto replica = service_->DescribeKey(eu, k.key_id);
  ASSERT_TRUE(primary.ok() && replica.ok());
  EXPECT_EQ(primary->versions.size(), 1u);  // not rotated while disabled
  EXPECT_GT(primary->next_rotation_ms, ToUnixMillis(clock_.Now()));
  EXPECT_EQ(replica->next_rotation_ms, primary->next_rotation_ms);
}

// Key records written before ReplicateKey existed read as primaries of their own region.
TEST(KeyRecordTest, MultiRegionRecordsWithoutRegionsAreTheirOwnPrimary) {
  KeyRecord k;
  k.key_id = "mrk-0123456789abcdef0123456789abcdef";
  k.region = "eu-central-1";
  k.multi_region = true;
  std::string text = EncodeKeyRecord(k);
  auto pos = text.find("\"primary_region\"");
  ASSERT_NE(pos, std::string::npos);
  text.replace(pos, std::string("\"primary_region\":\"\",").size(), "");
  auto decoded = DecodeKeyRecord(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message() << " in " << text;
  EXPECT_EQ(decoded->primary_region, "eu-central-1");
  EXPECT_FALSE(decoded->replica());
}

TEST_F(KeyServiceTest, CreateKeyRejectsUnsupportedSpecsWithAwsErrors) {
  CreateKeyInput rsa;
  rsa.key_spec = "RSA_2048";
  EXPECT_EQ(service_->CreateKey(Ctx(), rsa).status().message(),
            "You must specify a KeyUsage value for all KMS keys except for symmetric encryption "
            "keys.");
  CreateKeyInput bad_usage;
  bad_usage.key_usage = "RANDOM";
  auto r = service_->CreateKey(Ctx(), bad_usage);
  EXPECT_EQ(r.status().code(), ErrorCode::kValidation);
  EXPECT_TRUE(r.status().message().starts_with(
      "1 validation error detected: Value 'RANDOM' at 'keyUsage' failed to satisfy constraint: "
      "Member must satisfy enum value set: ["));
  CreateKeyInput bad_policy;
  bad_policy.policy = "{not json";
  EXPECT_EQ(service_->CreateKey(Ctx(), bad_policy).status().code(),
            ErrorCode::kKmsMalformedPolicyDocument);
}

TEST_F(KeyServiceTest, DescribeKeyAcceptsIdArnAliasAndAliasArn) {
  KeyRecord k = NewKey();
  ASSERT_TRUE(service_->CreateAlias(Ctx(), "alias/cloud_user", k.key_id).ok());
  for (std::string ref : {k.key_id, k.arn, std::string("alias/cloud_user"),
                          std::string("arn:aws:kms:us-east-1:111122223333:alias/cloud_user")}) {
    auto d = service_->DescribeKey(Ctx(), ref);
    ASSERT_TRUE(d.ok()) << ref << ": " << d.status().ToString();
    EXPECT_EQ(d->key_id, k.key_id);
  }
}

TEST_F(KeyServiceTest, UnknownKeysAndAliasesAreNotFoundWithAwsText) {
  std::string id = "1234abcd-12ab-34cd-56ef-1234567890ab";
  EXPECT_EQ(service_->DescribeKey(Ctx(), id).status().message(),
            "Key 'arn:aws:kms:us-east-1:111122223333:key/" + id + "' does not exist");
  EXPECT_EQ(service_->DescribeKey(Ctx(), "alias/nope").status().message(),
            "Alias arn:aws:kms:us-east-1:111122223333:alias/nope is not found.");
}

TEST_F(KeyServiceTest, KeysOfAnotherAccountAreInvisibleByIdAndDeniedByArn) {
  KeyRecord k = NewKey();
  auto by_id = service_->DescribeKey(Ctx("999988887777"), k.key_id);
  EXPECT_EQ(by_id.status().code(), ErrorCode::kKmsNotFound);
  auto by_arn = service_->DescribeKey(Ctx("999988887777"), k.arn);
  EXPECT_EQ(by_arn.status().code(), ErrorCode::kAccessDenied);
  EXPECT_EQ(by_arn.status().message(),
            "User: arn:aws:iam::999988887777:root is not authorized to perform: kms:DescribeKey "
            "on resource: " + k.arn + " because no resource-based policy allows the "
            "kms:DescribeKey action");
}

TEST_F(KeyServiceTest, EncryptDecryptRoundTripBindsTheContext) {
  KeyRecord k = NewKey();
  std::string blob = EncryptWith(k.key_id, "top secret", {{"dept", "ops"}});
  auto plain = DecryptBlob(blob, {{"dept", "ops"}});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(AsStringView(plain->plaintext.span()), "top secret");
  EXPECT_EQ(plain->key_arn, k.arn);
  EXPECT_EQ(plain->material_id, k.current().material_id);
  EXPECT_EQ(DecryptBlob(blob, {}).status().code(), ErrorCode::kKmsInvalidCiphertext);
  EXPECT_EQ(DecryptBlob(blob, {{"dept", "dev"}}).status().code(),
            ErrorCode::kKmsInvalidCiphertext);
}

TEST_F(KeyServiceTest, DecryptWithAnotherKeyIdIsIncorrectKey) {
  KeyRecord a = NewKey(), b = NewKey();
  std::string blob = EncryptWith(a.key_id, "x");
  auto r = DecryptBlob(blob, {}, b.key_id);
  EXPECT_EQ(r.status().code(), ErrorCode::kKmsIncorrectKey);
  EXPECT_EQ(r.status().message(),
            "The key ID in the request does not identify a CMK that can perform this operation.");
  EXPECT_TRUE(DecryptBlob(blob, {}, a.arn).ok());
}

TEST_F(KeyServiceTest, PlaintextLimitsAreValidatedWithoutEchoingThePlaintext) {
  KeyRecord k = NewKey();
  EncryptInput in;
  in.key_id = k.key_id;
  in.plaintext = std::string(4097, 's');
  auto r = service_->Encrypt(Ctx(), in);
  EXPECT_EQ(r.status().message(),
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: "
            "Member must have length less than or equal to 4096");
}

TEST_F(KeyServiceTest, DisabledKeysRefuseCryptoUntilEnabled) {
  KeyRecord k = NewKey();
  std::string blob = EncryptWith(k.key_id, "x");
  ASSERT_TRUE(service_->DisableKey(Ctx(), k.key_id).ok());
  auto r = DecryptBlob(blob);
  EXPECT_EQ(r.status().code(), ErrorCode::kKmsDisabled);
  EXPECT_EQ(r.status().message(), k.arn + " is disabled.");
  ASSERT_TRUE(service_->EnableKey(Ctx(), k.key_id).ok());
  EXPECT_TRUE(DecryptBlob(blob).ok());
}

TEST_F(KeyServiceTest, ScheduleDeletionValidatesTheWindowAndDefaultsTo30Days) {
  KeyRecord k = NewKey();
  EXPECT_EQ(service_->ScheduleKeyDeletion(Ctx(), k.key_id, 6).status().code(),
            ErrorCode::kValidation);
  EXPECT_EQ(service_->ScheduleKeyDeletion(Ctx(), k.key_id, 31).status().code(),
            ErrorCode::kValidation);
  auto out = service_->ScheduleKeyDeletion(Ctx(), k.key_id, std::nullopt);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->pending_window_days, 30);
  EXPECT_EQ(out->deletion_ms, ToUnixMillis(clock_.Now()) + 30LL * 24 * 3600 * 1000);
  EXPECT_EQ(out->key_arn, k.arn);
  auto again = service_->ScheduleKeyDeletion(Ctx(), k.key_id, 7);
  EXPECT_EQ(again.status().code(), ErrorCode::kKmsInvalidState);
  EXPECT_EQ(again.status().message(), k.arn + " is pending deletion.");
}

TEST_F(KeyServiceTest, PendingDeletionBlocksUseAndCancelLeavesTheKeyDisabled) {
  KeyRecord k = NewKey();
  std::string blob = EncryptWith(k.key_id, "x");
  ASSERT_TRUE(service_->ScheduleKeyDeletion(Ctx(), k.key_id, 7).ok());
  auto r = DecryptBlob(blob);
  EXPECT_EQ(r.status().code(), ErrorCode::kKmsInvalidState);
  EXPECT_EQ(r.status().message(), k.arn + " is pending deletion.");
  EXPECT_EQ(service_->EnableKey(Ctx(), k.key_id).code(), ErrorCode::kKmsInvalidState);
  ASSERT_TRUE(service_->CancelKeyDeletion(Ctx(), k.key_id).ok());
  EXPECT_EQ(service_->DescribeKey(Ctx(), k.key_id)->state, KeyState::kDisabled);
  auto not_pending = service_->CancelKeyDeletion(Ctx(), k.key_id);
  EXPECT_EQ(not_pending.status().message(), k.arn + " is not pending deletion.");
  ASSERT_TRUE(service_->EnableKey(Ctx(), k.key_id).ok());
  EXPECT_TRUE(DecryptBlob(blob).ok());
}

TEST_F(KeyServiceTest, AtTheEndOfTheWindowTheKeyAndItsMaterialAreGoneForGood) {
  KeyRecord k = NewKey();
  ASSERT_TRUE(service_->CreateAlias(Ctx(), "alias/doomed", k.key_id).ok());
  std::string blob = EncryptWith(k.key_id, "x");
  ASSERT_TRUE(service_->ScheduleKeyDeletion(Ctx(), k.key_id, 7).ok());

  clock_.Advance(hours(24 * 7) - std::chrono::seconds(1));
  EXPECT_EQ(*service_->RunDueTasks(), 0);
  EXPECT_EQ(service_->DescribeKey(Ctx(), k.key_id)->state, KeyState::kPendingDeletion);

  clock_.Advance(std::chrono::seconds(2));
  EXPECT_EQ(*service_->RunDueTasks(), 1);
  const std::string gone = "Key '" + k.arn + "' does not exist";
  EXPECT_EQ(service_->DescribeKey(Ctx(), k.key_id).status().message(), gone);
  EXPECT_EQ(DecryptBlob(blob).status().message(), gone);
  EXPECT_EQ(service_->DescribeKey(Ctx(), "alias/doomed").status().code(), ErrorCode::kKmsNotFound);
  EXPECT_EQ(StoredMaterialCount(k.key_id), 0u);
  EXPECT_TRUE(service_->ListKeys(Ctx(), 100, "")->items.empty());

  Reopen();
  EXPECT_EQ(DecryptBlob(blob).status().message(), gone);
  EXPECT_EQ(service_->CancelKeyDeletion(Ctx(), k.key_id).status().code(), ErrorCode::kKmsNotFound);
}

TEST_F(KeyServiceTest, OnDemandRotationKeepsOldMaterialForDecryption) {
  KeyRecord k = NewKey();
  std::string before = EncryptWith(k.key_id, "before");
  auto rotated = service_->RotateKeyOnDemand(Ctx(), k.key_id);
  ASSERT_TRUE(rotated.ok());
  EXPECT_EQ(*rotated, k.arn);
  KeyRecord after_rotation = *service_->DescribeKey(Ctx(), k.key_id);
  EXPECT_NE(after_rotation.current().material_id, k.current().material_id);
  std::string after = EncryptWith(k.key_id, "after");
  Reopen();
  EXPECT_EQ(AsStringView(DecryptBlob(before)->plaintext.span()), "before");
  EXPECT_EQ(AsStringView(DecryptBlob(after)->plaintext.span()), "after");
  auto rotations = service_->ListKeyRotations(Ctx(), k.key_id, false, 100, "");
  ASSERT_TRUE(rotations.ok());
  ASSERT_EQ(rotations->items.size(), 1u);
  EXPECT_EQ(rotations->items[0].rotation_type, "ON_DEMAND");
  EXPECT_EQ(rotations->items[0].material_state, "CURRENT");
  EXPECT_EQ(service_->ListKeyRotations(Ctx(), k.key_id, true, 100, "")->items.size(), 2u);
}

TEST_F(KeyServiceTest, OnDemandRotationsAreLimitedPerKey) {
  KeyRecord k = NewKey();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(service_->RotateKeyOnDemand(Ctx(), k.key_id).ok()) << i;
  auto r = service_->RotateKeyOnDemand(Ctx(), k.key_id);
  EXPECT_EQ(r.status().code(), ErrorCode::kKmsLimitExceeded);
}

TEST_F(KeyServiceTest, AutomaticRotationHappensOnTheClock) {
  KeyRecord k = NewKey();
  std::string before = EncryptWith(k.key_id, "before");
  EXPECT_EQ(service_->EnableKeyRotation(Ctx(), k.key_id, 89).code(), ErrorCode::kValidation);
  EXPECT_EQ(service_->EnableKeyRotation(Ctx(), k.key_id, 2561).code(), ErrorCode::kValidation);
  ASSERT_TRUE(service_->EnableKeyRotation(Ctx(), k.key_id, 90).ok());
  auto status = service_->GetKeyRotationStatus(Ctx(), k.key_id);
  ASSERT_TRUE(status.ok());
  EXPECT_TRUE(status->enabled);
  EXPECT_EQ(*status->period_days, 90);
  EXPECT_EQ(*status->next_rotation_ms, ToUnixMillis(clock_.Now()) + 90LL * 24 * 3600 * 1000);

  clock_.Advance(hours(24 * 91));
  EXPECT_EQ(*service_->RunDueTasks(), 1);
  auto rotations = service_->ListKeyRotations(Ctx(), k.key_id, false, 100, "");
  ASSERT_EQ(rotations->items.size(), 1u);
  EXPECT_EQ(rotations->items[0].rotation_type, "AUTOMATIC");
  EXPECT_EQ(AsStringView(DecryptBlob(before)->plaintext.span()), "before");
  EXPECT_EQ(*service_->RunDueTasks(), 0);  // next one is a full period away
}

TEST_F(KeyServiceTest, RotationStatusReadsFalseWhilePendingDeletion) {
  KeyRecord k = NewKey();
  ASSERT_TRUE(service_->EnableKeyRotation(Ctx(), k.key_id, std::nullopt).ok());
  ASSERT_TRUE(service_->ScheduleKeyDeletion(Ctx(), k.key_id, 7).ok());
  EXPECT_FALSE(service_->GetKeyRotationStatus(Ctx(), k.key_id)->enabled);
  ASSERT_TRUE(service_->CancelKeyDeletion(Ctx(), k.key_id).ok());
  EXPECT_TRUE(service_->GetKeyRotationStatus(Ctx(), k.key_id)->enabled);
}

TEST_F(KeyServiceTest, GenerateDataKeyNeedsExactlyOneOfSpecAndBytes) {
  KeyRecord k = NewKey();
  GenerateDataKeyInput in;
  in.key_id = k.key_id;
  EXPECT_EQ(service_->GenerateDataKey(Ctx(), in, true).status().code(), ErrorCode::kValidation);
  in.key_spec = "AES_128";
  in.number_of_bytes = 16;
  EXPECT_EQ(service_->GenerateDataKey(Ctx(), in, true).status().code(), ErrorCode::kValidation);
  in.number_of_bytes.reset();
  auto out = service_->GenerateDataKey(Ctx(), in, true);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->plaintext.size(), 16u);
  auto back = DecryptBlob(out->ciphertext);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(AsStringView(back->plaintext.span()), AsStringView(out->plaintext.span()));
  in.key_spec.reset();
  in.number_of_bytes = 1025;
  EXPECT_EQ(service_->GenerateDataKey(Ctx(), in, true).status().message(),
            "1 validation error detected: Value '1025' at 'numberOfBytes' failed to satisfy "
            "constraint: Member must have value less than or equal to 1024");
  in.number_of_bytes = 64;
  auto without = service_->GenerateDataKey(Ctx(), in, false);
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(without->plaintext.empty());
  EXPECT_EQ(DecryptBlob(without->ciphertext)->plaintext.size(), 64u);
}

TEST_F(KeyServiceTest, GenerateRandomValidatesItsSize) {
  EXPECT_EQ(service_->GenerateRandom(Ctx(), std::nullopt).status().message(),
            "NumberOfBytes is required.");
  EXPECT_EQ(service_->GenerateRandom(Ctx(), 0).status().message(),
            "1 validation error detected: Value '0' at 'numberOfBytes' failed to satisfy "
            "constraint: Member must have value greater than or equal to 1");
  EXPECT_EQ(service_->GenerateRandom(Ctx(), 1024)->size(), 1024u);
}

TEST_F(KeyServiceTest, DryRunReportsWouldSucceed) {
  KeyRecord k = NewKey();
  EncryptInput in;
  in.key_id = k.key_id;
  in.plaintext = "x";
  in.dry_run = true;
  auto r = service_->Encrypt(Ctx(), in);
  EXPECT_EQ(r.status().code(), ErrorCode::kKmsDryRun);
  EXPECT_EQ(r.status().message(), "The request would have succeeded, but the DryRun option is set.");
}

TEST_F(KeyServiceTest, ReEncryptMovesCiphertextBetweenKeys) {
  KeyRecord a = NewKey(), b = NewKey();
  std::string blob = EncryptWith(a.key_id, "moving", {{"c", "1"}});
  ReEncryptInput in;
  in.ciphertext = blob;
  in.source_context = {{"c", "1"}};
  in.destination_key_id = b.key_id;
  in.destination_context = {{"c", "2"}};
  auto out = service_->ReEncrypt(Ctx(), in);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->source_key_arn, a.arn);
  EXPECT_EQ(out->key_arn, b.arn);
  auto plain = DecryptBlob(out->ciphertext, {{"c", "2"}});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(AsStringView(plain->plaintext.span()), "moving");
  in.source_key_id = b.key_id;
  EXPECT_EQ(service_->ReEncrypt(Ctx(), in).status().code(), ErrorCode::kKmsIncorrectKey);
}

TEST_F(KeyServiceTest, AliasRulesFollowAws) {
  KeyRecord k = NewKey(), other = NewKey();
  EXPECT_EQ(service_->CreateAlias(Ctx(), "alias/aws/mine", k.key_id).code(),
            ErrorCode::kKmsInvalidAliasName);
  ASSERT_TRUE(service_->CreateAlias(Ctx(), "alias/a", k.key_id).ok());
  auto dup = service_->CreateAlias(Ctx(), "alias/a", other.key_id);
  EXPECT_EQ(dup.code(), ErrorCode::kKmsAlreadyExists);
  EXPECT_EQ(dup.message(),
            "An alias with the name arn:aws:kms:us-east-1:111122223333:alias/a already exists");
  EXPECT_EQ(service_->CreateAlias(Ctx(), "alias/b", "alias/a").code(), ErrorCode::kKmsNotFound);
  ASSERT_TRUE(service_->UpdateAlias(Ctx(), "alias/a", other.key_id).ok());
  EXPECT_EQ(service_->DescribeKey(Ctx(), "alias/a")->key_id, other.key_id);
  auto filtered = service_->ListAliases(Ctx(), std::string_view(other.key_id), 50, "");
  ASSERT_EQ(filtered->items.size(), 1u);
  EXPECT_EQ(filtered->items[0].alias_arn, "arn:aws:kms:us-east-1:111122223333:alias/a");
  ASSERT_TRUE(service_->DeleteAlias(Ctx(), "alias/a").ok());
  EXPECT_EQ(service_->DeleteAlias(Ctx(), "alias/a").code(), ErrorCode::kKmsNotFound);
}

TEST_F(KeyServiceTest, AliasesCannotPointAtKeysPendingDeletion) {
  KeyRecord k = NewKey();
  ASSERT_TRUE(service_->ScheduleKeyDeletion(Ctx(), k.key_id, 7).ok());
  EXPECT_EQ(service_->CreateAlias(Ctx(), "alias/late", k.key_id).code(),
            ErrorCode::kKmsInvalidState);
}

TEST_F(KeyServiceTest, ListKeysAndListAliasesPage) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    KeyRecord k = NewKey();
    ids.push_back(k.key_id);
    ASSERT_TRUE(service_->CreateAlias(Ctx(), "alias/k" + std::to_string(i), k.key_id).ok());
  }
  std::vector<std::string> seen;
  std::string marker;
  int pages = 0;
  do {
    auto page = service_->ListKeys(Ctx(), 3, marker);
    ASSERT_TRUE(page.ok());
    for (auto& e : page->items) seen.push_back(e.key_id);
    marker = page->next_marker;
    EXPECT_EQ(page->truncated, !marker.empty());
    ++pages;
  } while (!marker.empty());
  EXPECT_EQ(pages, 3);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(seen, ids);
  // The 7 aliases made here and the 14 predefined alias/aws/* ones, in name order, 5 a page.
  std::vector<std::string> names;
  std::string alias_marker;
  do {
    auto aliases = service_->ListAliases(Ctx(), std::nullopt, 5, alias_marker);
    ASSERT_TRUE(aliases.ok());
    EXPECT_LE(aliases->items.size(), 5u);
    for (auto& a : aliases->items) names.push_back(a.alias_name);
    alias_marker = aliases->next_marker;
  } while (!alias_marker.empty());
  EXPECT_EQ(names.size(), 21u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  EXPECT_EQ(service_->ListKeys(Ctx(), 0, "").status().code(), ErrorCode::kValidation);
  EXPECT_EQ(service_->ListKeys(Ctx(), 10, "garbage").status().code(), ErrorCode::kKmsInvalidMarker);
}

TEST_F(KeyServiceTest, PredefinedAwsAliasesAreListedWithoutATargetUntilTheirKeyExists) {
  auto Find = [&](std::string_view name) -> std::optional<AliasEntry> {
    auto page = service_->ListAliases(Ctx(), std::nullopt, 100, "");
    for (auto& a : page->items) {
      if (a.alias_name == name) return a;
    }
    return std::nullopt;
  };
  auto before = Find("alias/aws/s3");
  ASSERT_TRUE(before.has_value());
  EXPECT_TRUE(before->target_key_id.empty());
  EXPECT_EQ(before->alias_arn, "arn:aws:kms:us-east-1:111122223333:alias/aws/s3");
  auto managed = service_->GetOrCreateAwsManagedKey(Ctx(), "s3");
  ASSERT_TRUE(managed.ok());
  auto after = Find("alias/aws/s3");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->target_key_id, managed->key_id);
  auto all = service_->ListAliases(Ctx(), std::nullopt, 100, "");
  EXPECT_EQ(std::count_if(all->items.begin(), all->items.end(),
                          [](const AliasEntry& a) { return a.alias_name == "alias/aws/s3"; }),
            1);
  // Filtered by a key, only that key's aliases: never a predefined one without a target.
  auto filtered = service_->ListAliases(Ctx(), std::string_view(managed->key_id), 100, "");
  ASSERT_EQ(filtered->items.size(), 1u);
  EXPECT_EQ(filtered->items[0].alias_name, "alias/aws/s3");
}

TEST_F(KeyServiceTest, TagRulesFollowAws) {
  KeyRecord k = NewKey();
  EXPECT_EQ(service_->TagResource(Ctx(), k.key_id, {{"AWS:x", "v"}}).message(),
            "Tags beginning with aws: are reserved");
  EXPECT_EQ(service_->TagResource(Ctx(), k.key_id, {{"a", "1"}, {"a", "2"}}).message(),
            "Duplicate tag keys");
  std::vector<Tag> many;
  for (int i = 0; i < 51; ++i) many.push_back({"k" + std::to_string(i), ""});
  EXPECT_EQ(service_->TagResource(Ctx(), k.key_id, many).message(), "Too many tags");
  auto long_key = service_->TagResource(Ctx(), k.key_id, {{std::string(129, 'k'), "v"}});
  EXPECT_TRUE(long_key.message().find("at 'tags.1.member.tagKey' failed to satisfy constraint: "
                                      "Member must have length less than or equal to 128") !=
              std::string::npos);
  ASSERT_TRUE(service_->TagResource(Ctx(), k.key_id, {{"env", "dev"}, {"team", "a"}}).ok());
  ASSERT_TRUE(service_->TagResource(Ctx(), k.key_id, {{"env", "prod"}}).ok());
  auto tags = service_->ListResourceTags(Ctx(), k.key_id, 50, "");
  ASSERT_EQ(tags->items.size(), 2u);
  EXPECT_EQ(tags->items[0].value, "prod");
  ASSERT_TRUE(service_->UntagResource(Ctx(), k.key_id, {"env"}).ok());
  EXPECT_EQ(service_->ListResourceTags(Ctx(), k.key_id, 50, "")->items.size(), 1u);
}

TEST_F(KeyServiceTest, KeyPoliciesAreStoredVerbatim) {
  KeyRecord k = NewKey();
  std::string policy =
      R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},)"
      R"("Action":"kms:*","Resource":"*"}]}  )";
  ASSERT_TRUE(service_->PutKeyPolicy(Ctx(), k.key_id, "default", policy, false).ok());
  EXPECT_EQ(*service_->GetKeyPolicy(Ctx(), k.key_id, "default"), policy);
  EXPECT_EQ(service_->PutKeyPolicy(Ctx(), k.key_id, "default", "nope", false).code(),
            ErrorCode::kKmsMalformedPolicyDocument);
  EXPECT_EQ(service_->PutKeyPolicy(Ctx(), k.key_id, "default",
                                   "{\"Statement\":[]," + std::string(40000, ' ') + "}", false)
                .code(),
            ErrorCode::kKmsLimitExceeded);
  EXPECT_EQ(service_->ListKeyPolicies(Ctx(), k.key_id, 100, "")->items,
            std::vector<std::string>{"default"});
}

TEST_F(KeyServiceTest, AwsManagedKeysAreCreatedOnFirstUseAndNotModifiable) {
  auto key = service_->DescribeKey(Ctx(), "alias/aws/s3");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->key_manager, "AWS");
  EXPECT_EQ(key->description, "Default key that protects my S3 objects when no other key is defined");
  EXPECT_EQ(service_->DescribeKey(Ctx(), "alias/aws/s3")->key_id, key->key_id);
  EXPECT_EQ(service_->DisableKey(Ctx(), key->key_id).code(), ErrorCode::kAccessDenied);
  EncryptInput direct;
  direct.key_id = "alias/aws/s3";
  direct.plaintext = "x";
  EXPECT_EQ(service_->Encrypt(Ctx(), direct).status().code(), ErrorCode::kAccessDenied);
  auth::RequestContext via_s3 = Ctx();
  via_s3.via_service = "s3.us-east-1.amazonaws.com";
  EXPECT_TRUE(service_->Encrypt(via_s3, direct).ok());
}

TEST_F(KeyServiceTest, MaterialIsNeverStoredInPlaintext) {
  KeyRecord k = NewKey();
  auto key = repository_->FindStored(k.key_id);
  ASSERT_TRUE(key.ok() && *key);
  std::string material(AsStringView((*key)->Material(1)->span()));
  ASSERT_EQ(material.size(), 32u);
  service_.reset();
  repository_.reset();
  store_.reset();  // closes and checkpoints the database
  for (auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content.find(material), std::string::npos) << entry.path();
  }
  Reopen();
}

TEST_F(KeyServiceTest, CallsAreCountedPerOperation) {
  KeyRecord k = NewKey();
  EncryptWith(k.key_id, "a");
  EncryptWith(k.key_id, "b");
  auto counts = service_->CallCounts();
  EXPECT_EQ(counts["CreateKey"], 1u);
  EXPECT_EQ(counts["Encrypt"], 2u);
  EXPECT_EQ(counts["Decrypt"], 0u);
}

// --- Asymmetric and HMAC keys ---------------------------------------------------------------

CreateKeyInput KeyOf(std::string spec, std::string usage) {
  CreateKeyInput in;
  in.key_spec = std::move(spec);
  in.key_usage = std::move(usage);
  return in;
}

TEST_F(KeyServiceTest, SigningKeysKeepTheirPrivateKeyAcrossARestart) {
  KeyRecord k = NewKey(KeyOf("ECC_NIST_P256", "SIGN_VERIFY"));
  EXPECT_FALSE(k.public_key.empty());
  SignInput sign;
  sign.key_id = k.key_id;
  sign.message = "firmware image 4.2";
  sign.algorithm = "ECDSA_SHA_256";
  auto signed_out = service_->Sign(Ctx(), sign);
  ASSERT_TRUE(signed_out.ok()) << signed_out.status().ToString();
  Reopen();
  SignInput verify = sign;
  verify.signature = signed_out->signature;
  EXPECT_TRUE(service_->Verify(Ctx(), verify).ok());
  verify.message = "firmware image 4.3";
  EXPECT_EQ(service_->Verify(Ctx(), verify).status().code(), ErrorCode::kKmsInvalidSignature);
  auto described = service_->GetPublicKey(Ctx(), k.key_id);
  ASSERT_TRUE(described.ok());
  EXPECT_EQ(described->public_key, k.public_key);
}

TEST_F(KeyServiceTest, HmacKeysGiveTheSameMacAfterARestart) {
  KeyRecord k = NewKey(KeyOf("HMAC_384", "GENERATE_VERIFY_MAC"));
  MacInput in;
  in.key_id = k.key_id;
  in.message = "telemetry frame";
  in.algorithm = "HMAC_SHA_384";
  auto before = service_->GenerateMac(Ctx(), in);
  ASSERT_TRUE(before.ok()) << before.status().ToString();
  EXPECT_EQ(before->mac.size(), 48u);
  Reopen();
  in.mac = before->mac;
  EXPECT_TRUE(service_->VerifyMac(Ctx(), in).ok());
  in.mac[0] ^= 1;
  EXPECT_EQ(service_->VerifyMac(Ctx(), in).status().code(), ErrorCode::kKmsInvalidMac);
}

TEST_F(KeyServiceTest, KeyUsageIsCheckedBeforeKeyStateAndStateBeforeAlgorithm) {
  KeyRecord mac_key = NewKey(KeyOf("HMAC_256", "GENERATE_VERIFY_MAC"));
  ASSERT_TRUE(service_->DisableKey(Ctx(), mac_key.key_id).ok());
  SignInput sign;
  sign.key_id = mac_key.key_id;
  sign.message = "m";
  sign.algorithm = "ECDSA_SHA_384";
  auto usage = service_->Sign(Ctx(), sign);
  EXPECT_EQ(usage.status().code(), ErrorCode::kKmsInvalidKeyUsage);
  EXPECT_EQ(usage.status().message(),
            mac_key.arn + " key usage is GENERATE_VERIFY_MAC which is not valid for Sign.");

  KeyRecord ec = NewKey(KeyOf("ECC_NIST_P256", "SIGN_VERIFY"));
  ASSERT_TRUE(service_->DisableKey(Ctx(), ec.key_id).ok());
  sign.key_id = ec.key_id;
  EXPECT_EQ(service_->Sign(Ctx(), sign).status().code(), ErrorCode::kKmsDisabled);
  ASSERT_TRUE(service_->EnableKey(Ctx(), ec.key_id).ok());
  auto algorithm = service_->Sign(Ctx(), sign);
  EXPECT_EQ(algorithm.status().code(), ErrorCode::kKmsInvalidKeyUsage);
  EXPECT_EQ(algorithm.status().message(),
            "Algorithm ECDSA_SHA_384 is incompatible with key spec ECC_NIST_P256.");
}

TEST_F(KeyServiceTest, RsaCiphertextDecryptsOnlyWithTheNamedKeyAndAlgorithm) {
  KeyRecord k = NewKey(KeyOf("RSA_2048", "ENCRYPT_DECRYPT"));
  EncryptInput enc;
  enc.key_id = k.key_id;
  enc.plaintext = "launch code";
  enc.algorithm = "RSAES_OAEP_SHA_256";
  auto sealed = service_->Encrypt(Ctx(), enc);
  ASSERT_TRUE(sealed.ok()) << sealed.status().ToString();
  EXPECT_EQ(sealed->ciphertext.size(), 256u);
  DecryptInput dec;
  dec.ciphertext = sealed->ciphertext;
  dec.algorithm = "RSAES_OAEP_SHA_256";
  EXPECT_EQ(service_->Decrypt(Ctx(), dec).status().code(), ErrorCode::kKmsInvalidCiphertext);
  dec.key_id = k.key_id;
  auto opened = service_->Decrypt(Ctx(), dec);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(AsStringView(opened->plaintext.span()), "launch code");
  EXPECT_TRUE(opened->material_id.empty());
  dec.algorithm = "RSAES_OAEP_SHA_1";
  EXPECT_EQ(service_->Decrypt(Ctx(), dec).status().code(), ErrorCode::kKmsInvalidCiphertext);
}

TEST_F(KeyServiceTest, ReEncryptMovesDataBetweenRsaAndSymmetricKeys) {
  KeyRecord rsa = NewKey(KeyOf("RSA_3072", "ENCRYPT_DECRYPT"));
  KeyRecord aes = NewKey();
  std::string blob = EncryptWith(aes.key_id, "payload", {{"k", "v"}});
  ReEncryptInput to_rsa;
  to_rsa.ciphertext = blob;
  to_rsa.source_context = {{"k", "v"}};
  to_rsa.destination_key_id = rsa.key_id;
  to_rsa.destination_algorithm = "RSAES_OAEP_SHA_1";
  auto rsa_blob = service_->ReEncrypt(Ctx(), to_rsa);
  ASSERT_TRUE(rsa_blob.ok()) << rsa_blob.status().ToString();
  EXPECT_EQ(rsa_blob->ciphertext.size(), 384u);
  EXPECT_TRUE(rsa_blob->destination_material_id.empty());
  ReEncryptInput back;
  back.ciphertext = rsa_blob->ciphertext;
  back.source_key_id = rsa.key_id;
  back.source_algorithm = "RSAES_OAEP_SHA_1";
  back.destination_key_id = aes.key_id;
  auto aes_blob = service_->ReEncrypt(Ctx(), back);
  ASSERT_TRUE(aes_blob.ok()) << aes_blob.status().ToString();
  DecryptInput dec;
  dec.ciphertext = aes_blob->ciphertext;
  auto opened = service_->Decrypt(Ctx(), dec);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(AsStringView(opened->plaintext.span()), "payload");
}

TEST_F(KeyServiceTest, DataKeyPairsAreSealedUnderTheSymmetricKeyWithTheirContext) {
  KeyRecord k = NewKey();
  GenerateDataKeyPairInput in;
  in.key_id = k.key_id;
  in.key_pair_spec = "ECC_NIST_P384";
  in.context = {{"purpose", "telemetry"}};
  auto pair = service_->GenerateDataKeyPair(Ctx(), in, /*with_plaintext=*/true);
  ASSERT_TRUE(pair.ok()) << pair.status().ToString();
  auto parsed = crypto::AsymmetricKey::FromPrivateDer(pair->private_key_plaintext);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)->public_der(), pair->public_key);
  EXPECT_EQ((*parsed)->curve(), "secp384r1");
  DecryptInput dec;
  dec.ciphertext = pair->private_key_ciphertext;
  EXPECT_EQ(service_->Decrypt(Ctx(), dec).status().code(), ErrorCode::kKmsInvalidCiphertext);
  dec.context = in.context;
  auto opened = service_->Decrypt(Ctx(), dec);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(AsStringView(opened->plaintext.span()), AsStringView(pair->private_key_plaintext.span()));
  auto without = service_->GenerateDataKeyPair(Ctx(), in, /*with_plaintext=*/false);
  ASSERT_TRUE(without.ok());
  EXPECT_TRUE(without->private_key_plaintext.empty());
  in.key_id = NewKey(KeyOf("RSA_2048", "ENCRYPT_DECRYPT")).key_id;
  EXPECT_EQ(service_->GenerateDataKeyPair(Ctx(), in, true).status().code(),
            ErrorCode::kKmsInvalidKeyUsage);
}

TEST_F(KeyServiceTest, AsymmetricPrivateKeysAreNeverStoredInPlaintext) {
  KeyRecord k = NewKey(KeyOf("RSA_2048", "SIGN_VERIFY"));
  auto key = repository_->FindStored(k.key_id);
  ASSERT_TRUE(key.ok() && *key);
  std::string private_der(AsStringView((*key)->Material(1)->span()));
  ASSERT_GT(private_der.size(), 1000u);
  // The public key is stored (base64, in the record): the scan must find that marker.
  const std::string public_marker = crypto::Base64Encode(k.public_key);
  service_.reset();
  repository_.reset();
  store_.reset();
  bool found_public = false;
  for (auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    found_public = found_public || content.find(public_marker) != std::string::npos;
    // Any 64-byte window of the PKCS#8 (the modulus sits in its middle) would do; take three.
    for (size_t at : {size_t{0}, private_der.size() / 2, private_der.size() - 64}) {
      EXPECT_EQ(content.find(private_der.substr(at, 64)), std::string::npos) << entry.path();
    }
  }
  EXPECT_TRUE(found_public);
  Reopen();
}

TEST_F(KeyServiceTest, RotationIsUnsupportedForAsymmetricAndHmacKeys) {
  for (auto in : {KeyOf("RSA_2048", "SIGN_VERIFY"), KeyOf("HMAC_256", "GENERATE_VERIFY_MAC")}) {
    KeyRecord k = NewKey(in);
    EXPECT_EQ(service_->EnableKeyRotation(Ctx(), k.key_id, std::nullopt).code(),
              ErrorCode::kKmsUnsupportedOperation);
    EXPECT_EQ(service_->RotateKeyOnDemand(Ctx(), k.key_id).status().code(),
              ErrorCode::kKmsUnsupportedOperation);
    EXPECT_TRUE(service_->DisableKeyRotation(Ctx(), k.key_id).ok());
  }
}

// --- Imported key material ------------------------------------------------------------------

class KeyImportTest : public KeyServiceTest {
 protected:
  KeyRecord NewExternalKey(std::string spec = "SYMMETRIC_DEFAULT",
                           std::string usage = "ENCRYPT_DECRYPT") {
    CreateKeyInput in;
    in.origin = "EXTERNAL";
    if (spec != "SYMMETRIC_DEFAULT") {
      in.key_spec = spec;
      in.key_usage = usage;
    }
    return NewKey(in);
  }
  // What a client does with openssl: wrap `material` under the public key of the parameters.
  ImportKeyMaterialInput Wrapped(const KeyRecord& k, const std::string& material,
                                 std::string algorithm = "RSAES_OAEP_SHA_256") {
    auto params = service_->GetParametersForImport(Ctx(), k.key_id, algorithm, "RSA_2048");
    EXPECT_TRUE(params.ok()) << params.status().ToString();
    auto wrapping = crypto::AsymmetricKey::FromPublicDer(params->public_key).value();
    ImportKeyMaterialInput in;
    in.key_id = k.key_id;
    in.import_token = params->import_token;
    if (algorithm == "RSAES_OAEP_SHA_256") {
      in.encrypted_key_material =
          *wrapping->OaepEncrypt(crypto::HashAlgorithm::kSha256, AsBytes(material));
    } else {  // RSA_AES_KEY_WRAP_SHA_256
      SecretBytes aes = crypto::RandomSecret(32);
      in.encrypted_key_material =
          *wrapping->OaepEncrypt(crypto::HashAlgorithm::kSha256, aes.span()) +
          *crypto::AesKeyWrapPad(aes.span(), AsBytes(material));
    }
    in.expiration_model = "KEY_MATERIAL_DOES_NOT_EXPIRE";
    return in;
  }
  KeyState StateOf(const std::string& key_id) {
    return service_->DescribeKey(Ctx(), key_id)->state;
  }
};

TEST_F(KeyImportTest, ImportedMaterialEncryptsExpiresAndComesBackOnlyAsItself) {
  KeyRecord k = NewExternalKey();
  EXPECT_EQ(k.state, KeyState::kPendingImport);
  EncryptInput enc;
  enc.key_id = k.key_id;
  enc.plaintext = "flight plan";
  auto refused = service_->Encrypt(Ctx(), enc);
  EXPECT_EQ(refused.status().code(), ErrorCode::kKmsInvalidState);
  EXPECT_EQ(refused.status().message(), k.arn + " is pending import.");

  const std::string material(AsStringView(crypto::RandomSecret(32).span()));
  ImportKeyMaterialInput in = Wrapped(k, material);
  in.expiration_model = std::nullopt;  // KEY_MATERIAL_EXPIRES is the default
  in.valid_to_ms = ToUnixMillis(clock_.Now()) + 24LL * 3600 * 1000;
  auto imported = service_->ImportKeyMaterial(Ctx(), in);
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(imported->material_id.size(), 64u);
  EXPECT_EQ(StateOf(k.key_id), KeyState::kEnabled);
  std::string blob = EncryptWith(k.key_id, "flight plan");

  clock_.Advance(hours(25));
  EXPECT_EQ(*service_->RunDueTasks(), 1);
  EXPECT_EQ(StateOf(k.key_id), KeyState::kPendingImport);
  DecryptInput dec;
  dec.ciphertext = blob;
  EXPECT_EQ(service_->Decrypt(Ctx(), dec).status().code(), ErrorCode::kKmsInvalidState);

  // Other material is refused; the same material brings the data back.
  auto other = service_->ImportKeyMaterial(
      Ctx(), Wrapped(k, std::string(AsStringView(crypto::RandomSecret(32).span()))));
  EXPECT_EQ(other.status().code(), ErrorCode::kKmsIncorrectKeyMaterial);
  auto again = service_->ImportKeyMaterial(Ctx(), Wrapped(k, material));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->material_id, imported->material_id);
  auto opened = service_->Decrypt(Ctx(), dec);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(AsStringView(opened->plaintext.span()), "flight plan");
}

TEST_F(KeyImportTest, DeletedMaterialLeavesNothingInTheStoreAndSurvivesARestartAsPendingImport) {
  KeyRecord k = NewExternalKey();
  const std::string material(AsStringView(crypto::RandomSecret(32).span()));
  ASSERT_TRUE(service_->ImportKeyMaterial(Ctx(), Wrapped(k, material)).ok());
  std::string blob = EncryptWith(k.key_id, "x");
  Reopen();  // the material was stored (wrapped) and comes back
  DecryptInput dec;
  dec.ciphertext = blob;
  ASSERT_TRUE(service_->Decrypt(Ctx(), dec).ok());
  ASSERT_TRUE(service_->DeleteImportedKeyMaterial(Ctx(), k.key_id, std::nullopt).ok());
  Reopen();
  EXPECT_EQ(StateOf(k.key_id), KeyState::kPendingImport);
  EXPECT_EQ(service_->Decrypt(Ctx(), dec).status().code(), ErrorCode::kKmsInvalidState);
  auto loaded = repository_->FindStored(k.key_id);
  ASSERT_TRUE(loaded.ok() && *loaded);
  EXPECT_TRUE((*loaded)->materials->empty());
  EXPECT_EQ(service_->EnableKey(Ctx(), k.key_id).code(), ErrorCode::kKmsInvalidState);
}

TEST_F(KeyImportTest, TokensWorkOnlyForTheirKeyAndUntilTheirDeadline) {
  KeyRecord k = NewExternalKey();
  KeyRecord other = NewExternalKey();
  const std::string material(AsStringView(crypto::RandomSecret(32).span()));
  ImportKeyMaterialInput in = Wrapped(k, material);
  in.key_id = other.key_id;
  EXPECT_EQ(service_->ImportKeyMaterial(Ctx(), in).status().code(),
            ErrorCode::kKmsInvalidImportToken);
  in = Wrapped(k, material);
  clock_.Advance(hours(25));
  EXPECT_EQ(service_->ImportKeyMaterial(Ctx(), in).status().code(),
            ErrorCode::kKmsExpiredImportToken);
  in = Wrapped(k, material);
  in.encrypted_key_material[10] ^= 1;
  EXPECT_EQ(service_->ImportKeyMaterial(Ctx(), in).status().code(),
            ErrorCode::kKmsInvalidCiphertext);
  KeyRecord aws_origin = NewKey();
  EXPECT_EQ(service_->GetParametersForImport(Ctx(), aws_origin.key_id, "RSAES_OAEP_SHA_256",
                                             "RSA_2048")
                .status()
                .message(),
            aws_origin.arn + " origin is AWS_KMS which is not valid for this operation.");
}

TEST_F(KeyImportTest, AnImportedEcPrivateKeySignsAndItsPublicKeyIsTheOneImported) {
  KeyRecord k = NewExternalKey("ECC_NIST_P256", "SIGN_VERIFY");
  auto mine = crypto::AsymmetricKey::GenerateEc("P-256").value();
  SecretBytes der = mine->PrivateDer().value();
  auto imported = service_->ImportKeyMaterial(
      Ctx(), Wrapped(k, std::string(AsStringView(der.span())), "RSA_AES_KEY_WRAP_SHA_256"));
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_EQ(service_->GetPublicKey(Ctx(), k.key_id)->public_key, mine->public_der());
  SignInput sign;
  sign.key_id = k.key_id;
  sign.message = "telemetry";
  sign.algorithm = "ECDSA_SHA_256";
  auto signature = service_->Sign(Ctx(), sign);
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(mine->VerifyDigest(crypto::SignaturePadding::kEcdsa, crypto::HashAlgorithm::kSha256,
                                 crypto::HashBytes(crypto::HashAlgorithm::kSha256, "telemetry"),
                                 signature->signature));
  // A P-384 key does not fit a P-256 key spec.
  KeyRecord p256 = NewExternalKey("ECC_NIST_P256", "SIGN_VERIFY");
  SecretBytes p384 = crypto::AsymmetricKey::GenerateEc("P-384").value()->PrivateDer().value();
  EXPECT_EQ(service_->ImportKeyMaterial(Ctx(), Wrapped(p256, std::string(AsStringView(p384.span())),
                                                       "RSA_AES_KEY_WRAP_SHA_256"))
                .status()
                .code(),
            ErrorCode::kKmsIncorrectKeyMaterial);
}

// A trail that refuses the records of one key, as a full disk would refuse them all.
class RefusingSink final : public audit::AuditSink {
 public:
  explicit RefusingSink(std::string refused_arn) : refused_arn_(std::move(refused_arn)) {}
  void Append(const audit::AuditEvent& event, std::function<void(const Status&)> done) override {
    const bool refuse = !event.resources.empty() && event.resources[0].arn == refused_arn_;
    done(refuse ? Status(Error(ErrorCode::kAuditUnavailable, "disk full")) : Status::Ok());
  }
  Status Healthy() const override { return Status::Ok(); }

 private:
  std::string refused_arn_;
};

TEST_F(KeyServiceTest, OneKeysFailingLifecycleWorkDoesNotHoldBackTheOthers) {
  KeyRecord stuck = NewKey();
  KeyRecord other = NewKey();
  // The stuck key falls due first, so a sweep that stops at the first failure never reaches the
  // other.
  ASSERT_TRUE(service_->ScheduleKeyDeletion(Ctx(), stuck.key_id, 7).ok());
  clock_.Advance(hours(1));
  ASSERT_TRUE(service_->ScheduleKeyDeletion(Ctx(), other.key_id, 7).ok());
  RefusingSink sink(stuck.arn);
  service_->SetAuditSink(&sink);
  clock_.Advance(hours(24 * 7 + 1));
  EXPECT_EQ(service_->RunDueTasks().status().code(), ErrorCode::kAuditUnavailable);
  // Unrecorded, the stuck key is not deleted; the other one is.
  EXPECT_EQ(service_->DescribeKey(Ctx(), stuck.key_id)->state, KeyState::kPendingDeletion);
  EXPECT_EQ(service_->DescribeKey(Ctx(), other.key_id).status().code(), ErrorCode::kKmsNotFound);
  service_->SetAuditSink(nullptr);
}

TEST_F(KeyImportTest, TheSameKeyInAnotherEncodingIsTheSameMaterial) {
  KeyRecord k = NewExternalKey("ECC_NIST_P256", "SIGN_VERIFY");
  auto mine = crypto::AsymmetricKey::GenerateEc("P-256").value();
  std::string der(AsStringView(mine->PrivateDer().value().span()));
  ASSERT_TRUE(service_->ImportKeyMaterial(Ctx(), Wrapped(k, der, "RSA_AES_KEY_WRAP_SHA_256")).ok());
  ASSERT_TRUE(service_->DeleteImportedKeyMaterial(Ctx(), k.key_id, std::nullopt).ok());
  // Trailing bytes after the DER are not part of the key: the re-import is the same material.
  auto again = service_->ImportKeyMaterial(
      Ctx(), Wrapped(k, der + std::string(8, '\0'), "RSA_AES_KEY_WRAP_SHA_256"));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(service_->GetPublicKey(Ctx(), k.key_id)->public_key, mine->public_der());
}

}  // namespace
}  // namespace hangar::kms
