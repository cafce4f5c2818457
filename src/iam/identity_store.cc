// IdentityStore: accounts, users, groups and roles. Keys and sessions live in
// identity_store_keys.cc, policies in identity_store_policies.cc.
#include "iam/identity_store.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "crypto/base64.h"
#include "crypto/random.h"
#include "iam/identity_store_impl.h"
#include "iam/identity_validation.h"

namespace hangar::iam {
namespace internal {

std::string NewUniqueId(std::string_view prefix) {
  return std::string(prefix) + crypto::RandomString(17, kIdAlphabet);
}

std::string KeyIndexPartition(std::string_view account, std::string_view user) {
  return std::string(account) + "/" + std::string(user);
}

std::string SecretContext(std::string_view access_key_id) {
  return "iam-access-key/" + std::string(access_key_id);
}

Status NoSuchEntity(std::string_view noun, std::string_view name) {
  if (noun == "policy") {
    return Error(ErrorCode::kIamNoSuchEntity, "Policy " + std::string(name) + " was not found.");
  }
  return Error(ErrorCode::kIamNoSuchEntity, "The " + std::string(noun) + " with name " +
                                                std::string(name) + " cannot be found.");
}

}  // namespace internal

using namespace internal;  // NOLINT(build/namespaces): this file implements them

namespace {

bool IsAccessKeyId(std::string_view id) {
  if (id.size() < 16 || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)); });
}

Status ValidateTags(const Tags& tags) {
  if (tags.size() > 50) {
    return Error(ErrorCode::kIamLimitExceeded, "Cannot exceed quota for TagsPerUser: 50");
  }
  for (const auto& [k, v] : tags) {
    if (k.empty() || k.size() > 128 || v.size() > 256) {
      return Error(ErrorCode::kValidation,
                   "1 validation error detected: Value at 'tags' failed to satisfy constraint: "
                   "tag keys are 1-128 characters, values at most 256");
    }
  }
  return Status::Ok();
}

std::string EntityArn(std::string_view account, std::string_view type, std::string_view path,
                      std::string_view name) {
  return "arn:aws:iam::" + std::string(account) + ":" + std::string(type) + std::string(path) +
         std::string(name);
}

}  // namespace

void IdentityStore::Impl::Invalidate() {
  std::unique_lock lock(mu);
  ++generation;
  keys.clear();
  policies.clear();
}

void IdentityStore::InvalidateCaches() { impl_->Invalidate(); }

IdentityStore::IdentityStore(store::MetadataStore& store, const crypto::RootKey& root_key,
                             const Clock& clock)
    : impl_(std::make_unique<Impl>(store, root_key, clock)) {}

IdentityStore::~IdentityStore() = default;

bool IdentityStore::IsAccountId(std::string_view id) {
  return id.size() == 12 &&
         std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// --- Accounts ---------------------------------------------------------------------------------

Result<RootCredentials> IdentityStore::Impl::StoreRootKey(const std::string& account_id,
                                                          const std::string& access_key_id,
                                                          const std::string& secret,
                                                          bool create_account) {
  AccessKeyRecord key;
  key.access_key_id = access_key_id;
  key.account_id = account_id;
  key.kind = "root";
  key.created_ms = NowMs();
  HANGAR_ASSIGN_OR_RETURN(std::string sealed,
                          root_key.Wrap(AsBytes(secret), SecretContext(access_key_id)));
  key.secret = crypto::Base64Encode(sealed);
  std::vector<store::Mutation> mutations;
  if (create_account) {
    // Same document AccountDirectory wrote, so old data directories read the same.
    nlohmann::json account = {{"account_id", account_id}, {"created_ms", key.created_ms}};
    mutations.push_back(store::Mutation::Create(
        {std::string(kAccounts), "", account_id, account.dump(), 0, 0}));
  }
  mutations.push_back(store::Mutation::Upsert(
      {std::string(kAccessKeys), "", access_key_id, EncodeAccessKey(key), 0, 0}));
  mutations.push_back(store::Mutation::Upsert(
      {std::string(kKeyIndex), KeyIndexPartition(account_id, ""), access_key_id, "", 0, 0}));
  auto committed = store.Commit(mutations);
  Invalidate();
  if (!committed.ok()) {
    if (committed.status().code() == ErrorCode::kConflict) {
      return Error(ErrorCode::kIamEntityAlreadyExists,
                   "Account " + account_id + " already exists.");
    }
    return std::move(committed).TakeStatus();
  }
  return RootCredentials{account_id, access_key_id, secret, create_account};
}

Result<RootCredentials> IdentityStore::EnsureDefaultAccount(
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
  Impl& s = *impl_;
  RootCredentials creds;
  HANGAR_ASSIGN_OR_RETURN(auto settings, s.store.Get(kSettings, "", kDefaultAccount));
  if (settings) {
    auto stored = nlohmann::json::parse(settings->body, nullptr, false);
    if (stored.is_discarded()) return InternalError("stored default account is corrupt");
    creds.account_id = stored.value("account_id", "");
    creds.access_key_id = stored.value("access_key_id", "");
    if (account_id && *account_id != creds.account_id) {
      return Error(ErrorCode::kValidation, "this data directory belongs to account " +
                                               creds.account_id + ", not " + *account_id);
    }
    if (access_key_id && *access_key_id != creds.access_key_id) {
      // A new root key replaces the old one: the old one stops working at once.
      HANGAR_ASSIGN_OR_RETURN(
          auto r, s.store.Commit({store::Mutation::Delete(std::string(kAccessKeys), "",
                                                          creds.access_key_id),
                                  store::Mutation::Delete(std::string(kKeyIndex),
                                                          KeyIndexPartition(creds.account_id, ""),
                                                          creds.access_key_id)}));
      s.Invalidate();
    }
    if (access_key_id) {
      HANGAR_ASSIGN_OR_RETURN(creds, s.StoreRootKey(creds.account_id, *access_key_id,
                                                    *secret_access_key, false));
    } else {
      HANGAR_ASSIGN_OR_RETURN(auth::AccessKey key, FindAccessKey(creds.access_key_id));
      creds.secret_access_key = std::string(AsStringView(key.secret_access_key.span()));
    }
  } else {
    std::string id = account_id.value_or(
        crypto::RandomString(1, "123456789") + crypto::RandomString(11, "0123456789"));
    HANGAR_ASSIGN_OR_RETURN(
        creds, s.StoreRootKey(id, access_key_id.value_or("AKIA" + crypto::RandomString(16, kIdAlphabet)),
                              secret_access_key.value_or(crypto::RandomString(40, kSecretAlphabet)),
                              true));
    creds.secret_generated = !secret_access_key.has_value();
  }
  // Keep the default account's pointer in step with an installed key.
  nlohmann::json setting = {{"account_id", creds.account_id},
                            {"access_key_id", creds.access_key_id}};
  HANGAR_ASSIGN_OR_RETURN(auto r, s.store.Commit({store::Mutation::Upsert(
                                      {std::string(kSettings), "", std::string(kDefaultAccount),
                                       setting.dump(), 0, 0})}));
  return creds;
}

Result<RootCredentials> IdentityStore::CreateAccount(std::optional<std::string> account_id) {
  if (account_id && !IsAccountId(*account_id)) {
    return Error(ErrorCode::kValidation, "account id must be 12 digits");
  }
  // A random id that happens to exist already conflicts: try another.
  for (int attempt = 0; attempt < 8; ++attempt) {
    std::string id = account_id.value_or(crypto::RandomString(1, "123456789") +
                                         crypto::RandomString(11, "0123456789"));
    auto created = impl_->StoreRootKey(id, "AKIA" + crypto::RandomString(16, kIdAlphabet),
                                       crypto::RandomString(40, kSecretAlphabet), true);
    if (created.ok() || account_id ||
        created.status().code() != ErrorCode::kIamEntityAlreadyExists) {
      return created;
    }
  }
  return InternalError("could not find a free account id");
}

Result<std::vector<std::string>> IdentityStore::ListAccounts() {
  std::vector<std::string> out;
  store::ListOptions options;
  while (true) {
    HANGAR_ASSIGN_OR_RETURN(auto docs, impl_->store.List(kAccounts, "", options));
    for (const auto& d : docs) out.push_back(d.id);
    if (docs.size() < options.limit) return out;
    options.start_after = docs.back().id;
  }
}

Result<bool> IdentityStore::AccountExists(std::string_view account_id) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, impl_->store.Get(kAccounts, "", account_id));
  return doc.has_value();
}

// --- Users ------------------------------------------------------------------------------------

Result<UserRecord> IdentityStore::CreateUser(std::string_view account, std::string_view name,
                                             std::string_view path, const Tags& tags) {
  HANGAR_RETURN_IF_ERROR(ValidateName("userName", name));
  HANGAR_RETURN_IF_ERROR(ValidatePath(path));
  HANGAR_RETURN_IF_ERROR(ValidateTags(tags));
  UserRecord r;
  r.account_id = std::string(account);
  r.name = std::string(name);
  r.path = std::string(path);
  r.user_id = NewUniqueId("AIDA");
  r.arn = EntityArn(account, "user", path, name);
  r.created_ms = impl_->NowMs();
  r.tags = tags;
  HANGAR_RETURN_IF_ERROR(
      impl_->Create(account, name, r, "User with name " + std::string(name) + " already exists."));
  return r;
}

Result<UserRecord> IdentityStore::GetUser(std::string_view account, std::string_view name) {
  HANGAR_ASSIGN_OR_RETURN(auto loaded, impl_->Load<UserRecord>(account, name));
  return std::move(loaded.record);
}

Result<Listing<UserRecord>> IdentityStore::ListUsers(std::string_view account,
                                                     std::string_view path_prefix,
                                                     std::string_view marker, int max_items) {
  return impl_->List<UserRecord>(account, path_prefix, marker, max_items);
}

Status IdentityStore::DeleteUser(std::string_view account, std::string_view name) {
  Impl& s = *impl_;
  HANGAR_ASSIGN_OR_RETURN(auto loaded, s.Load<UserRecord>(account, name));
  const UserRecord& u = loaded.record;
  store::ListOptions one;
  one.limit = 1;
  HANGAR_ASSIGN_OR_RETURN(auto keys, s.store.List(kKeyIndex, KeyIndexPartition(account, name), one));
  if (!keys.empty() || !u.inline_policies.empty() || !u.attached.empty() || !u.groups.empty()) {
    return Error(ErrorCode::kIamDeleteConflict,
                 "Cannot delete entity, must remove referenced objects first.");
  }
  // The revision guards against a key, policy or group added since the read.
  auto committed = s.store.Commit({store::Mutation::DeleteIfRevision(
      std::string(kUsers), std::string(account), std::string(name), loaded.revision),
      Impl::ReleaseName<UserRecord>(account, name)});
  s.Invalidate();
  if (!committed.ok() && committed.status().code() == ErrorCode::kConflict) {
    return Error(ErrorCode::kIamDeleteConflict,
                 "Cannot delete entity, must remove referenced objects first.");
  }
  return committed.ok() ? Status::Ok() : std::move(committed).TakeStatus();
}

Status IdentityStore::TagUser(std::string_view account, std::string_view name, const Tags& tags) {
  return impl_->Modify<UserRecord>(account, name,
                                   [&](UserRecord& u, std::vector<store::Mutation>&) -> Status {
                                     for (const auto& [k, v] : tags) {
                                       // A plain reference to the key: clang < 16 cannot capture a
                                       // structured binding in a lambda.
                                       const auto& key = k;
                                       auto it = std::find_if(u.tags.begin(), u.tags.end(),
                                                              [&](const auto& t) { return t.first == key; });
                                       if (it != u.tags.end()) {
                                         it->second = v;
                                       } else {
                                         u.tags.emplace_back(k, v);
                                       }
                                     }
                                     return ValidateTags(u.tags);
                                   });
}

Status IdentityStore::UntagUser(std::string_view account, std::string_view name,
                                const std::vector<std::string>& keys) {
  return impl_->Modify<UserRecord>(account, name,
                                   [&](UserRecord& u, std::vector<store::Mutation>&) -> Status {
                                     std::erase_if(u.tags, [&](const auto& t) {
                                       return std::find(keys.begin(), keys.end(), t.first) !=
                                              keys.end();
                                     });
                                     return Status::Ok();
                                   });
}

// --- Groups -----------------------------------------------------------------------------------

Result<GroupRecord> IdentityStore::CreateGroup(std::string_view account, std::string_view name,
                                               std::string_view path) {
  HANGAR_RETURN_IF_ERROR(ValidateName("groupName", name, 128));
  HANGAR_RETURN_IF_ERROR(ValidatePath(path));
  GroupRecord r;
  r.account_id = std::string(account);
  r.name = std::string(name);
  r.path = std::string(path);
  r.group_id = NewUniqueId("AGPA");
  r.arn = EntityArn(account, "group", path, name);
  r.created_ms = impl_->NowMs();
  HANGAR_RETURN_IF_ERROR(impl_->Create(account, name, r,
                                       "Group with name " + std::string(name) + " already exists."));
  return r;
}

Result<GroupRecord> IdentityStore::GetGroup(std::string_view account, std::string_view name) {
  HANGAR_ASSIGN_OR_RETURN(auto loaded, impl_->Load<GroupRecord>(account, name));
  return std::move(loaded.record);
}

Result<std::vector<UserRecord>> IdentityStore::GroupMembers(std::string_view account,
                                                            std::string_view name) {
  HANGAR_ASSIGN_OR_RETURN(auto group, GetGroup(account, name));
  HANGAR_ASSIGN_OR_RETURN(
      auto users, impl_->List<UserRecord>(account, "/", "", 1 << 30, [&](const UserRecord& u) {
        return std::find(u.groups.begin(), u.groups.end(), name) != u.groups.end();
      }));
  return std::move(users.items);
}

Result<Listing<GroupRecord>> IdentityStore::ListGroups(std::string_view account,
                                                       std::string_view path_prefix,
                                                       std::string_view marker, int max_items) {
  return impl_->List<GroupRecord>(account, path_prefix, marker, max_items);
}

Status IdentityStore::DeleteGroup(std::string_view account, std::string_view name) {
  Impl& s = *impl_;
  HANGAR_ASSIGN_OR_RETURN(auto loaded, s.Load<GroupRecord>(account, name));
  HANGAR_ASSIGN_OR_RETURN(auto members, GroupMembers(account, name));
  if (!members.empty() || !loaded.record.inline_policies.empty() ||
      !loaded.record.attached.empty()) {
    return Error(ErrorCode::kIamDeleteConflict,
                 "Cannot delete entity, must remove users from group first.");
  }
  // AddUserToGroup bumps the group's revision, so a member added meanwhile fails this delete.
  auto committed = s.store.Commit({store::Mutation::DeleteIfRevision(
      std::string(kGroups), std::string(account), std::string(name), loaded.revision),
      Impl::ReleaseName<GroupRecord>(account, name)});
  s.Invalidate();
  if (!committed.ok() && committed.status().code() == ErrorCode::kConflict) {
    return Error(ErrorCode::kIamDeleteConflict,
                 "Cannot delete entity, must remove users from group first.");
  }
  return committed.ok() ? Status::Ok() : std::move(committed).TakeStatus();
}

Status IdentityStore::AddUserToGroup(std::string_view account, std::string_view group,
                                     std::string_view user) {
  Impl& s = *impl_;
  return s.Modify<UserRecord>(
      account, user, [&](UserRecord& u, std::vector<store::Mutation>& extra) -> Status {
        HANGAR_ASSIGN_OR_RETURN(auto g, s.Load<GroupRecord>(account, group));
        if (std::find(u.groups.begin(), u.groups.end(), group) == u.groups.end()) {
          if (u.groups.size() >= 10) {
            return Error(ErrorCode::kIamLimitExceeded, "Cannot exceed quota for GroupsPerUser: 10");
          }
          u.groups.emplace_back(group);
        }
        extra.push_back(store::Mutation::Update({std::string(kGroups), std::string(account),
                                                 std::string(group), EncodeGroup(g.record), 0, 0},
                                                g.revision));
        return Status::Ok();
      });
}

Status IdentityStore::RemoveUserFromGroup(std::string_view account, std::string_view group,
                                          std::string_view user) {
  Impl& s = *impl_;
  HANGAR_ASSIGN_OR_RETURN(auto g, s.Load<GroupRecord>(account, group));
  return s.Modify<UserRecord>(account, user,
                              [&](UserRecord& u, std::vector<store::Mutation>&) -> Status {
                                auto it = std::find(u.groups.begin(), u.groups.end(), group);
                                if (it == u.groups.end()) return NoSuchEntity("user", user);
                                u.groups.erase(it);
                                return Status::Ok();
                              });
}

// --- Roles ------------------------------------------------------------------------------------

Result<RoleRecord> IdentityStore::CreateRole(std::string_view account, std::string_view name,
                                             std::string_view path, std::string_view trust_policy,
                                             std::string_view description,
                                             int max_session_seconds, const Tags& tags) {
  HANGAR_RETURN_IF_ERROR(ValidateName("roleName", name));
  HANGAR_RETURN_IF_ERROR(ValidatePath(path));
  HANGAR_RETURN_IF_ERROR(ValidateTags(tags));
  if (max_session_seconds < 3600 || max_session_seconds > 43200) {
    return Error(ErrorCode::kValidation,
                 "1 validation error detected: Value '" + std::to_string(max_session_seconds) +
                     "' at 'maxSessionDuration' failed to satisfy constraint: Member must have "
                     "value less than or equal to 43200 and greater than or equal to 3600");
  }
  if (description.size() > 1000) {
    return Error(ErrorCode::kValidation,
                 "1 validation error detected: Value at 'description' failed to satisfy "
                 "constraint: Member must have length less than or equal to 1000");
  }
  HANGAR_RETURN_IF_ERROR(CheckPolicyDocument(trust_policy, PolicyKind::kResource, 2048, "trust"));
  RoleRecord r;
  r.account_id = std::string(account);
  r.name = std::string(name);
  r.path = std::string(path);
  r.role_id = NewUniqueId("AROA");
  r.arn = EntityArn(account, "role", path, name);
  r.created_ms = impl_->NowMs();
  r.description = std::string(description);
  r.trust_policy = std::string(trust_policy);
  r.max_session_seconds = max_session_seconds;
  r.tags = tags;
  HANGAR_RETURN_IF_ERROR(impl_->Create(account, name, r,
                                       "Role with name " + std::string(name) + " already exists."));
  return r;
}

Result<RoleRecord> IdentityStore::GetRole(std::string_view account, std::string_view name) {
  HANGAR_ASSIGN_OR_RETURN(auto loaded, impl_->Load<RoleRecord>(account, name));
  return std::move(loaded.record);
}

Result<Listing<RoleRecord>> IdentityStore::ListRoles(std::string_view account,
                                                     std::string_view path_prefix,
                                                     std::string_view marker, int max_items) {
  return impl_->List<RoleRecord>(account, path_prefix, marker, max_items);
}

Status IdentityStore::DeleteRole(std::string_view account, std::string_view name) {
  Impl& s = *impl_;
  HANGAR_ASSIGN_OR_RETURN(auto loaded, s.Load<RoleRecord>(account, name));
  if (!loaded.record.inline_policies.empty() || !loaded.record.attached.empty()) {
    return Error(ErrorCode::kIamDeleteConflict,
                 "Cannot delete entity, must detach all policies first.");
  }
  auto committed = s.store.Commit({store::Mutation::DeleteIfRevision(
      std::string(kRoles), std::string(account), std::string(name), loaded.revision),
      Impl::ReleaseName<RoleRecord>(account, name)});
  s.Invalidate();
  if (!committed.ok() && committed.status().code() == ErrorCode::kConflict) {
    return Error(ErrorCode::kIamDeleteConflict,
                 "Cannot delete entity, must detach all policies first.");
  }
  return committed.ok() ? Status::Ok() : std::move(committed).TakeStatus();
}

Status IdentityStore::UpdateAssumeRolePolicy(std::string_view account, std::string_view name,
                                             std::string_view trust_policy) {
  HANGAR_RETURN_IF_ERROR(CheckPolicyDocument(trust_policy, PolicyKind::kResource, 2048, "trust"));
  return impl_->Modify<RoleRecord>(account, name,
                                   [&](RoleRecord& r, std::vector<store::Mutation>&) {
                                     r.trust_policy = std::string(trust_policy);
                                     return Status::Ok();
                                   });
}

}  // namespace hangar::iam
