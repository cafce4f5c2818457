#include "iam/account_directory.h"

#include <nlohmann/json.hpp>

#include <mutex>

#include "crypto/base64.h"
#include "crypto/random.h"

namespace hangar::iam {
namespace {

constexpr std::string_view kAccounts = "iam.account";
constexpr std::string_view kAccessKeys = "iam.access-key";
constexpr std::string_view kSettings = "hangar.settings";
constexpr std::string_view kDefaultAccount = "default-account";

constexpr std::string_view kKeyIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string SecretContext(std::string_view access_key_id) {
  return "iam-access-key/" + std::string(access_key_id);
}

bool IsAccessKeyId(std::string_view id) {
  if (id.size() < 16 || id.size() > 128) return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

auth::Principal RootPrincipal(const std::string& account_id, const std::string& access_key_id) {
  auth::Principal p;
  p.type = auth::PrincipalType::kRoot;
  p.account_id = account_id;
  p.arn = "arn:aws:iam::" + account_id + ":root";
  p.user_id = account_id;
  p.access_key_id = access_key_id;
  return p;
}

}  // namespace

AccountDirectory::AccountDirectory(store::MetadataStore& store, const crypto::RootKey& root_key,
                                   const Clock& clock)
    : store_(store), root_key_(root_key), clock_(clock) {}

bool AccountDirectory::IsAccountId(std::string_view id) {
  if (id.size() != 12) return false;
  for (char c : id) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Status AccountDirectory::StoreRootKey(const std::string& account_id,
                                      const std::string& access_key_id,
                                      const std::string& secret) {
  nlohmann::json doc = {
      {"account_id", account_id},
      {"type", "root"},
      {"user_name", ""},
      {"status", "Active"},
      {"created_ms", ToUnixMillis(clock_.Now())},
      {"secret", crypto::Base64Encode(root_key_.Wrap(AsBytes(secret), SecretContext(access_key_id)))}};
  HANGAR_ASSIGN_OR_RETURN(auto revisions,
                          store_.Commit({store::Mutation::Upsert(
                              {std::string(kAccessKeys), "", access_key_id, doc.dump(), 0, 0})}));
  std::unique_lock lock(mu_);
  cache_.erase(access_key_id);
  return Status::Ok();
}

Result<RootCredentials> AccountDirectory::EnsureDefaultAccount(
    std::optional<std::string> account_id, std::optional<std::string> access_key_id,
    std::optional<std::string> secret_access_key) {
  if (account_id && !IsAccountId(*account_id)) {
    return Error(ErrorCode::kValidation, "account id must be 12 digits");
  }
  if (access_key_id.has_value() != secret_access_key.has_value()) {
    return Error(ErrorCode::kValidation,
                 "give both the root access key id and its secret access key, or neither");
  }
  if (access_key_id && !IsAccessKeyId(*access_key_id)) {
    return Error(ErrorCode::kValidation, "access key ids are 16-128 letters and digits");
  }
  if (secret_access_key && (secret_access_key->size() < 16 || secret_access_key->size() > 128)) {
    return Error(ErrorCode::kValidation, "secret access keys are 16-128 characters");
  }

  RootCredentials creds;
  HANGAR_ASSIGN_OR_RETURN(auto settings, store_.Get(kSettings, "", kDefaultAccount));
  if (settings) {
    auto stored = nlohmann::json::parse(settings->body, nullptr, false);
    if (stored.is_discarded()) return InternalError("stored default account is corrupt");
    creds.account_id = stored.value("account_id", "");
    creds.access_key_id = stored.value("access_key_id", "");
    if (account_id && *account_id != creds.account_id) {
      return Error(ErrorCode::kValidation,
                   "this data directory belongs to account " + creds.account_id +
                       ", not " + *account_id);
    }
    if (access_key_id && *access_key_id != creds.access_key_id) {
      // A new root key replaces the old one: the old one stops working at once.
      HANGAR_ASSIGN_OR_RETURN(auto r, store_.Commit({store::Mutation::Delete(
                                          std::string(kAccessKeys), "", creds.access_key_id)}));
      std::unique_lock lock(mu_);
      cache_.erase(creds.access_key_id);
    }
    if (access_key_id) {
      creds.access_key_id = *access_key_id;
      creds.secret_access_key = *secret_access_key;
      HANGAR_RETURN_IF_ERROR(
          StoreRootKey(creds.account_id, creds.access_key_id, creds.secret_access_key));
    } else {
      HANGAR_ASSIGN_OR_RETURN(auth::AccessKey key, FindAccessKey(creds.access_key_id));
      creds.secret_access_key = std::string(AsStringView(key.secret_access_key.span()));
    }
  } else {
    creds.created = true;
    creds.account_id = account_id.value_or("");
    if (creds.account_id.empty()) {
      creds.account_id = crypto::RandomString(1, "123456789") + crypto::RandomString(11, "0123456789");
    }
    creds.access_key_id = access_key_id.value_or("AKIA" + crypto::RandomString(16, kKeyIdAlphabet));
    creds.secret_access_key = secret_access_key.value_or(crypto::RandomString(40, kSecretAlphabet));
    nlohmann::json account = {{"account_id", creds.account_id},
                              {"created_ms", ToUnixMillis(clock_.Now())}};
    nlohmann::json setting = {{"account_id", creds.account_id},
                              {"access_key_id", creds.access_key_id}};
    HANGAR_ASSIGN_OR_RETURN(
        auto r, store_.Commit({store::Mutation::Create({std::string(kAccounts), "",
                                                        creds.account_id, account.dump(), 0, 0}),
                               store::Mutation::Create({std::string(kSettings), "",
                                                        std::string(kDefaultAccount),
                                                        setting.dump(), 0, 0})}));
    HANGAR_RETURN_IF_ERROR(
        StoreRootKey(creds.account_id, creds.access_key_id, creds.secret_access_key));
  }
  // Keep the default account's pointer in step with an installed key.
  nlohmann::json setting = {{"account_id", creds.account_id},
                            {"access_key_id", creds.access_key_id}};
  HANGAR_ASSIGN_OR_RETURN(auto r, store_.Commit({store::Mutation::Upsert(
                                      {std::string(kSettings), "", std::string(kDefaultAccount),
                                       setting.dump(), 0, 0})}));
  return creds;
}

Result<auth::AccessKey> AccountDirectory::FindAccessKey(std::string_view access_key_id) const {
  {
    std::shared_lock lock(mu_);
    auto it = cache_.find(std::string(access_key_id));
    if (it != cache_.end()) {
      if (!it->second.active) {
        return Error(ErrorCode::kUnknownAccessKey, "access key is inactive");
      }
      auth::AccessKey key;
      key.principal = it->second.principal;
      key.secret_access_key = it->second.secret->Clone();
      return key;
    }
  }
  HANGAR_ASSIGN_OR_RETURN(auto doc, store_.Get(kAccessKeys, "", access_key_id));
  if (!doc) return Error(ErrorCode::kUnknownAccessKey, "unknown access key");
  auto j = nlohmann::json::parse(doc->body, nullptr, false);
  if (j.is_discarded()) return InternalError("stored access key is corrupt");
  auto wrapped = crypto::Base64Decode(j.value("secret", ""));
  if (!wrapped) return InternalError("stored access key is corrupt");
  HANGAR_ASSIGN_OR_RETURN(SecretBytes secret,
                          root_key_.Unwrap(*wrapped, SecretContext(access_key_id)));
  CachedKey cached;
  cached.principal = RootPrincipal(j.value("account_id", ""), std::string(access_key_id));
  cached.secret = std::make_shared<const SecretBytes>(std::move(secret));
  cached.active = j.value("status", "Active") == "Active";
  auth::AccessKey key;
  key.principal = cached.principal;
  key.secret_access_key = cached.secret->Clone();
  key.active = cached.active;
  {
    std::unique_lock lock(mu_);
    cache_[std::string(access_key_id)] = std::move(cached);
  }
  if (!key.active) return Error(ErrorCode::kUnknownAccessKey, "access key is inactive");
  return key;
}

}  // namespace hangar::iam
