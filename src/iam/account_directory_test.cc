#include "iam/account_directory.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "crypto/random.h"
#include "store/sqlite/sqlite_metadata_store.h"

namespace hangar::iam {
namespace {

class AccountDirectoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("hangar-iam-" + std::to_string(::getpid()) + "-" + crypto::RandomString(8, "abcdef"));
    std::filesystem::create_directories(dir_);
    root_key_ = crypto::RootKey::FromBytes(crypto::RandomSecret(32));
    Reopen();
  }
  void TearDown() override {
    accounts_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    accounts_.reset();
    store_.reset();
    store_ = std::move(*store::SqliteMetadataStore::Open((dir_ / "meta.db").string()));
    accounts_ = std::make_unique<AccountDirectory>(*store_, *root_key_, clock_);
  }
  std::filesystem::path dir_;
  SystemClock clock_;
  std::unique_ptr<crypto::RootKey> root_key_;
  std::unique_ptr<store::SqliteMetadataStore> store_;
  std::unique_ptr<AccountDirectory> accounts_;
};

TEST_F(AccountDirectoryTest, FirstStartCreatesAnAccountAndRootKeyThatLaterStartsReuse) {
  auto first = accounts_->EnsureDefaultAccount(std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_TRUE(AccountDirectory::IsAccountId(first->account_id));
  EXPECT_TRUE(first->access_key_id.starts_with("AKIA"));
  EXPECT_EQ(first->access_key_id.size(), 20u);
  EXPECT_EQ(first->secret_access_key.size(), 40u);
  Reopen();
  auto second = accounts_->EnsureDefaultAccount(std::nullopt, std::nullopt, std::nullopt);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->created);
  EXPECT_EQ(second->account_id, first->account_id);
  EXPECT_EQ(second->secret_access_key, first->secret_access_key);
  auto key = accounts_->FindAccessKey(first->access_key_id);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->principal.arn, "arn:aws:iam::" + first->account_id + ":root");
  EXPECT_EQ(key->principal.user_id, first->account_id);
}

TEST_F(AccountDirectoryTest, GivenCredentialsReplaceTheOldRootKey) {
  auto first = accounts_->EnsureDefaultAccount("111122223333", std::nullopt, std::nullopt);
  ASSERT_TRUE(first.ok());
  auto second = accounts_->EnsureDefaultAccount("111122223333", "AKIAREPLACEMENT00001",
                                                "replacementsecret000000000000000000000000");
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(accounts_->FindAccessKey(first->access_key_id).status().code(),
            ErrorCode::kUnknownAccessKey);
  EXPECT_TRUE(accounts_->FindAccessKey("AKIAREPLACEMENT00001").ok());
  EXPECT_FALSE(accounts_->EnsureDefaultAccount("999988887777", std::nullopt, std::nullopt).ok());
}

TEST_F(AccountDirectoryTest, RejectsMalformedGivenValues) {
  EXPECT_FALSE(accounts_->EnsureDefaultAccount("123", std::nullopt, std::nullopt).ok());
  EXPECT_FALSE(accounts_->EnsureDefaultAccount(std::nullopt, "AKIAONLYID0000000000", std::nullopt).ok());
  EXPECT_FALSE(accounts_->EnsureDefaultAccount(std::nullopt, "short", "secret00000000000000").ok());
}

TEST_F(AccountDirectoryTest, SecretsAreNotStoredInPlaintext) {
  const std::string secret = "plaintextsecretmarker0000000000000000000";
  ASSERT_TRUE(accounts_->EnsureDefaultAccount("111122223333", "AKIAMARKER0000000001", secret).ok());
  accounts_.reset();
  store_.reset();
  for (auto& entry : std::filesystem::directory_iterator(dir_)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(content.find(secret), std::string::npos) << entry.path();
  }
  Reopen();
  auto key = accounts_->FindAccessKey("AKIAMARKER0000000001");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(AsStringView(key->secret_access_key.span()), secret);
}

TEST_F(AccountDirectoryTest, UnknownKeysAreUnknown) {
  EXPECT_EQ(accounts_->FindAccessKey("AKIANOSUCHKEY0000000").status().code(),
            ErrorCode::kUnknownAccessKey);
}

}  // namespace
}  // namespace hangar::iam
