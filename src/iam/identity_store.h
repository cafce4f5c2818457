#pragma once
// IdentityStore: IAM's entities — accounts, users, groups, roles, managed policies, access keys,
// STS sessions — kept in the metadata store, and the CredentialProvider SigV4 verifies against.
// Secrets (access-key secrets) are stored only wrapped under the root key; session tokens only as
// hashes. A deleted or deactivated key stops working at once (the cache is invalidated by every
// change made through this object).
//
// Documents (collection / partition / id):
//   iam.account     ""        / <account id>
//   iam.user        <account> / <user name>
//   iam.group       <account> / <group name>
//   iam.role        <account> / <role name>
//   iam.policy      <account> / <policy name>
//   iam.access-key  ""        / <access key id>   (root, user and session keys)
// Errors use the IAM codes through the shared table: kIamNoSuchEntity (404), kIamEntityAlreadyExists
// (409), kIamDeleteConflict (409), kIamLimitExceeded (409), kValidation (ValidationError 400),
// kIamInvalidInput (400), kKmsMalformedPolicyDocument (MalformedPolicyDocument 400).
// Thread-safety: every method may be called concurrently.

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/credentials.h"
#include "auth/principal.h"
#include "common/clock.h"
#include "crypto/root_key.h"
#include "iam/identity_records.h"
#include "iam/policy.h"
#include "iam/policy_source.h"
#include "store/metadata_store.h"

namespace hangar::iam {

struct RootCredentials {
  std::string account_id;
  std::string access_key_id;
  std::string secret_access_key;
  bool created = false;  // true when this call created them (first start)
  // true when Hangar generated the secret itself (nobody else has seen it yet)
  bool secret_generated = false;
};

struct NewAccessKey {
  AccessKeyRecord record;         // secret field holds nothing usable
  std::string secret_access_key;  // returned once, never stored in plaintext
};

struct TemporaryCredentials {
  std::string access_key_id;  // ASIA...
  std::string secret_access_key;
  std::string session_token;
  int64_t expires_ms = 0;
  std::string assumed_role_id;   // AssumeRole: <role id>:<session name>
  std::string assumed_role_arn;  // AssumeRole: arn:aws:sts::<acct>:assumed-role/<role>/<session>
};

template <typename T>
struct Listing {
  std::vector<T> items;
  bool truncated = false;
  std::string marker;  // pass back to continue
};

// How long an expired session's record is kept to answer ExpiredToken before it is purged.
inline constexpr std::chrono::hours kExpiredSessionRetention{1};

class IdentityStore final : public auth::CredentialProvider, public IdentityPolicySource {
 public:
  // `clock` is the lifecycle clock: session expiry follows it (and so the dev clock).
  IdentityStore(store::MetadataStore& store, const crypto::RootKey& root_key, const Clock& clock);
  ~IdentityStore() override;

  // Drops the cached access keys and policies (cluster mode: another node changed some). A lookup
  // that raced with it does not cache what it read.
  void InvalidateCaches();

  // --- Accounts ---
  // The default account and its root key (see main.cc): created on first start, then reused.
  Result<RootCredentials> EnsureDefaultAccount(std::optional<std::string> account_id,
                                               std::optional<std::string> access_key_id,
                                               std::optional<std::string> secret_access_key);
  // Another account with its own root access key (`hangar admin create-account`).
  Result<RootCredentials> CreateAccount(std::optional<std::string> account_id);
  Result<std::vector<std::string>> ListAccounts();
  Result<bool> AccountExists(std::string_view account_id);

  // --- Users ---
  Result<UserRecord> CreateUser(std::string_view account, std::string_view name,
                                std::string_view path, const Tags& tags);
  Result<UserRecord> GetUser(std::string_view account, std::string_view name);
  Result<Listing<UserRecord>> ListUsers(std::string_view account, std::string_view path_prefix,
                                        std::string_view marker, int max_items);
  // Errors: kIamDeleteConflict while the user has keys, policies or groups.
  Status DeleteUser(std::string_view account, std::string_view name);
  // Adds tags (a key given again takes the new value). Errors: kIamLimitExceeded above 50.
  Status TagUser(std::string_view account, std::string_view name, const Tags& tags);
  Status UntagUser(std::string_view account, std::string_view name,
                   const std::vector<std::string>& keys);

  // --- Access keys (long-term) ---
  // `user` empty = the account root. At most two per user (kIamLimitExceeded).
  Result<NewAccessKey> CreateAccessKey(std::string_view account, std::string_view user);
  Result<std::vector<AccessKeyRecord>> ListAccessKeys(std::string_view account,
                                                      std::string_view user);
  Status UpdateAccessKey(std::string_view account, std::string_view user,
                         std::string_view access_key_id, std::string_view status);
  Status DeleteAccessKey(std::string_view account, std::string_view user,
                         std::string_view access_key_id);

  // --- Groups ---
  Result<GroupRecord> CreateGroup(std::string_view account, std::string_view name,
                                  std::string_view path);
  Result<GroupRecord> GetGroup(std::string_view account, std::string_view name);
  Result<std::vector<UserRecord>> GroupMembers(std::string_view account, std::string_view name);
  Result<Listing<GroupRecord>> ListGroups(std::string_view account, std::string_view path_prefix,
                                          std::string_view marker, int max_items);
  Status DeleteGroup(std::string_view account, std::string_view name);
  Status AddUserToGroup(std::string_view account, std::string_view group, std::string_view user);
  Status RemoveUserFromGroup(std::string_view account, std::string_view group,
                             std::string_view user);

  // --- Roles ---
  Result<RoleRecord> CreateRole(std::string_view account, std::string_view name,
                                std::string_view path, std::string_view trust_policy,
                                std::string_view description, int max_session_seconds,
                                const Tags& tags);
  Result<RoleRecord> GetRole(std::string_view account, std::string_view name);
  Result<Listing<RoleRecord>> ListRoles(std::string_view account, std::string_view path_prefix,
                                        std::string_view marker, int max_items);
  Status DeleteRole(std::string_view account, std::string_view name);
  Status UpdateAssumeRolePolicy(std::string_view account, std::string_view name,
                                std::string_view trust_policy);

  // --- Inline policies (kind: "user", "group" or "role") ---
  Status PutInlinePolicy(std::string_view account, std::string_view kind, std::string_view entity,
                         std::string_view policy_name, std::string_view document);
  Result<std::string> GetInlinePolicy(std::string_view account, std::string_view kind,
                                      std::string_view entity, std::string_view policy_name);
  Result<std::vector<std::string>> ListInlinePolicies(std::string_view account,
                                                      std::string_view kind,
                                                      std::string_view entity);
  Status DeleteInlinePolicy(std::string_view account, std::string_view kind,
                            std::string_view entity, std::string_view policy_name);

  // --- Managed policies ---
  Result<ManagedPolicyRecord> CreatePolicy(std::string_view account, std::string_view name,
                                           std::string_view path, std::string_view document,
                                           std::string_view description);
  Result<ManagedPolicyRecord> GetPolicy(std::string_view policy_arn);
  Result<Listing<ManagedPolicyRecord>> ListPolicies(std::string_view account,
                                                    std::string_view path_prefix,
                                                    bool only_attached, std::string_view marker,
                                                    int max_items);
  Status DeletePolicy(std::string_view account, std::string_view policy_arn);
  Result<std::string> CreatePolicyVersion(std::string_view account, std::string_view policy_arn,
                                          std::string_view document, bool set_as_default);
  Status DeletePolicyVersion(std::string_view account, std::string_view policy_arn,
                             std::string_view version_id);
  Status SetDefaultPolicyVersion(std::string_view account, std::string_view policy_arn,
                                 std::string_view version_id);
  // kind: "user", "group" or "role".
  Status AttachPolicy(std::string_view account, std::string_view kind, std::string_view entity,
                      std::string_view policy_arn);
  Status DetachPolicy(std::string_view account, std::string_view kind, std::string_view entity,
                      std::string_view policy_arn);
  Result<std::vector<std::string>> ListAttachedPolicies(std::string_view account,
                                                        std::string_view kind,
                                                        std::string_view entity);

  // --- STS ---
  // AssumeRole: the caller must be allowed by the role's trust policy (evaluated here) and by its
  // own identity policies (sts:AssumeRole on the role). Errors: kAccessDenied, kIamNoSuchEntity.
  Result<TemporaryCredentials> AssumeRole(const auth::Principal& caller, const ContextKeys& context,
                                          std::string_view role_arn,
                                          std::string_view session_name, int duration_seconds,
                                          std::string_view session_policy);
  // Deletes session and GetSessionToken records expired for longer than
  // kExpiredSessionRetention (lifecycle clock), so that issuing sessions cannot grow the store
  // for ever; until then they answer ExpiredToken. Returns how many went.
  Result<int> PurgeExpiredSessions();
  Result<TemporaryCredentials> GetSessionToken(const auth::Principal& caller,
                                               int duration_seconds);

  // --- Authorisation support ---
  // The identity-based policies of a principal (empty for root and anonymous).
  Result<IdentityPolicies> PoliciesFor(const auth::Principal& principal) const override;

  // CredentialProvider.
  Result<auth::AccessKey> FindAccessKey(std::string_view access_key_id) const override;

  static bool IsAccountId(std::string_view id);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hangar::iam
