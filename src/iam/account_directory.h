#pragma once
// AccountDirectory: accounts and their access keys, and the CredentialProvider that SigV4 checks
// signatures against. Secrets are stored only wrapped under the root key; a cache keeps lookups
// off the storage path (every request needs one).
//
// Documents: iam.account "" / <account id>; iam.access-key "" / <access key id>.
// Thread-safety: all methods may be called concurrently.

#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "auth/credentials.h"
#include "common/clock.h"
#include "crypto/root_key.h"
#include "store/metadata_store.h"

namespace hangar::iam {

struct RootCredentials {
  std::string account_id;
  std::string access_key_id;
  std::string secret_access_key;
  bool created = false;  // true when this call created them (first start)
};

class AccountDirectory final : public auth::CredentialProvider {
 public:
  AccountDirectory(store::MetadataStore& store, const crypto::RootKey& root_key,
                   const Clock& clock);

  // The default account and a root access key for it. On first start both are created (randomly
  // unless given); later starts return the stored ones. Given values override: an account id that
  // differs from the stored default is an error (one data directory, one default account); a given
  // access key is installed (its secret replaced) if it differs.
  // Errors: kValidation for malformed ids or secrets, kInternal on storage failure.
  Result<RootCredentials> EnsureDefaultAccount(std::optional<std::string> account_id,
                                               std::optional<std::string> access_key_id,
                                               std::optional<std::string> secret_access_key);

  Result<auth::AccessKey> FindAccessKey(std::string_view access_key_id) const override;

  static bool IsAccountId(std::string_view id);

 private:
  Status StoreRootKey(const std::string& account_id, const std::string& access_key_id,
                      const std::string& secret);

  store::MetadataStore& store_;
  const crypto::RootKey& root_key_;
  const Clock& clock_;
  struct CachedKey {
    auth::Principal principal;
    std::shared_ptr<const SecretBytes> secret;
    bool active = true;
  };
  mutable std::shared_mutex mu_;
  mutable std::unordered_map<std::string, CachedKey> cache_;  // protected by mu_
};

}  // namespace hangar::iam
