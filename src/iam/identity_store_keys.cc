// IdentityStore: long-term access keys, STS sessions (AssumeRole, GetSessionToken) and the
// CredentialProvider lookup SigV4 makes on every request.
#include <algorithm>
#include <mutex>

#include "crypto/base64.h"
#include "crypto/digest.h"
#include "crypto/random.h"
#include "iam/identity_store.h"
#include "iam/identity_store_impl.h"
#include "iam/identity_validation.h"

namespace hangar::iam {

using namespace internal;  // NOLINT(build/namespaces)

namespace {

constexpr std::string_view kExpiredTokenText = "The security token included in the request is expired";
constexpr std::string_view kTokenAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Status NoSuchKey(std::string_view id) {
  return Error(ErrorCode::kIamNoSuchEntity,
               "The Access Key with id " + std::string(id) + " cannot be found.");
}

auth::Principal RootPrincipal(const std::string& account_id) {
  auth::Principal p;
  p.type = auth::PrincipalType::kRoot;
  p.account_id = account_id;
  p.arn = "arn:aws:iam::" + account_id + ":root";
  p.user_id = account_id;
  return p;
}

auth::Principal UserPrincipal(const UserRecord& u) {
  auth::Principal p;
  p.type = auth::PrincipalType::kUser;
  p.account_id = u.account_id;
  p.arn = u.arn;
  p.user_id = u.user_id;
  p.name = u.name;
  return p;
}

std::string AssumedRoleArn(std::string_view account, std::string_view role,
                           std::string_view session) {
  return "arn:aws:sts::" + std::string(account) + ":assumed-role/" + std::string(role) + "/" +
         std::string(session);
}

Status AssumeRoleDenied(const auth::Principal& caller, std::string_view role_arn) {
  return Error(ErrorCode::kAccessDenied, "User: " + caller.arn +
                                             " is not authorized to perform: sts:AssumeRole on "
                                             "resource: " +
                                             std::string(role_arn));
}

}  // namespace

// --- Long-term keys ---------------------------------------------------------------------------

Result<NewAccessKey> IdentityStore::Impl::NewKey(std::string_view account, std::string_view user,
                                                 std::string_view prefix, std::string_view kind) {
  NewAccessKey out;
  AccessKeyRecord& r = out.record;
  r.access_key_id = std::string(prefix) + crypto::RandomString(16, kIdAlphabet);
  r.account_id = std::string(account);
  r.kind = std::string(kind);
  r.user_name = std::string(user);
  r.created_ms = NowMs();
  out.secret_access_key = crypto::RandomString(40, kSecretAlphabet);
  HANGAR_ASSIGN_OR_RETURN(
      std::string sealed,
      root_key.Wrap(AsBytes(out.secret_access_key), SecretContext(r.access_key_id)));
  r.secret = crypto::Base64Encode(sealed);
  return out;
}

Result<NewAccessKey> IdentityStore::CreateAccessKey(std::string_view account,
                                                    std::string_view user) {
  Impl& s = *impl_;
  const std::string partition = KeyIndexPartition(account, user);
  NewAccessKey created;
  // The key, its index entry and (for users) a bump of the user's revision commit together, so
  // two concurrent creates cannot both see one key and make three.
  auto add_key = [&](std::vector<store::Mutation>& mutations) -> Status {
    store::ListOptions options;
    options.limit = 3;
    HANGAR_ASSIGN_OR_RETURN(auto existing, s.store.List(kKeyIndex, partition, options));
    if (existing.size() >= 2) {
      return Error(ErrorCode::kIamLimitExceeded, "Cannot exceed quota for AccessKeysPerUser: 2");
    }
    HANGAR_ASSIGN_OR_RETURN(created, s.NewKey(account, user, "AKIA", user.empty() ? "root" : "user"));
    mutations.push_back(store::Mutation::Create({std::string(kAccessKeys), "",
                                                 created.record.access_key_id,
                                                 EncodeAccessKey(created.record), 0, 0}));
    mutations.push_back(store::Mutation::Create(
        {std::string(kKeyIndex), partition, created.record.access_key_id, "", 0, 0}));
    return Status::Ok();
  };
  if (user.empty()) {
    std::vector<store::Mutation> mutations;
    HANGAR_RETURN_IF_ERROR(add_key(mutations));
    auto committed = s.store.Commit(mutations);
    s.Invalidate();
    HANGAR_RETURN_IF_ERROR(committed.ok() ? Status::Ok() : committed.status());
  } else {
    HANGAR_RETURN_IF_ERROR(s.Modify<UserRecord>(
        account, user,
        [&](UserRecord&, std::vector<store::Mutation>& extra) { return add_key(extra); }));
  }
  created.record.secret.clear();
  return created;
}

Result<std::vector<AccessKeyRecord>> IdentityStore::ListAccessKeys(std::string_view account,
                                                                   std::string_view user) {
  Impl& s = *impl_;
  if (!user.empty()) HANGAR_RETURN_IF_ERROR(GetUser(account, user).status());
  HANGAR_ASSIGN_OR_RETURN(auto index, s.store.List(kKeyIndex, KeyIndexPartition(account, user), {}));
  std::vector<AccessKeyRecord> out;
  for (const auto& entry : index) {
    HANGAR_ASSIGN_OR_RETURN(auto doc, s.store.Get(kAccessKeys, "", entry.id));
    if (!doc) continue;
    HANGAR_ASSIGN_OR_RETURN(AccessKeyRecord r, DecodeAccessKey(doc->body));
    r.access_key_id = entry.id;
    r.secret.clear();
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// The stored key `id` if it is a long-term key of (account, user).
Result<std::pair<AccessKeyRecord, int64_t>> OwnedKey(store::MetadataStore& store,
                                                     std::string_view account,
                                                     std::string_view user, std::string_view id) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store.Get(kAccessKeys, "", id));
  if (!doc) return NoSuchKey(id);
  HANGAR_ASSIGN_OR_RETURN(AccessKeyRecord r, DecodeAccessKey(doc->body));
  if (r.account_id != account || r.kind == "session" || r.user_name != user) return NoSuchKey(id);
  r.access_key_id = std::string(id);
  return std::make_pair(std::move(r), doc->revision);
}

}  // namespace

Status IdentityStore::UpdateAccessKey(std::string_view account, std::string_view user,
                                      std::string_view access_key_id, std::string_view status) {
  if (status != "Active" && status != "Inactive") {
    return Error(ErrorCode::kValidation,
                 "1 validation error detected: Value '" + std::string(status) +
                     "' at 'status' failed to satisfy constraint: Member must satisfy enum value "
                     "set: [Active, Inactive]");
  }
  Impl& s = *impl_;
  if (!user.empty()) HANGAR_RETURN_IF_ERROR(GetUser(account, user).status());
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(auto owned, OwnedKey(s.store, account, user, access_key_id));
    owned.first.status = std::string(status);
    auto committed = s.store.Commit({store::Mutation::Update(
        {std::string(kAccessKeys), "", std::string(access_key_id), EncodeAccessKey(owned.first), 0,
         0},
        owned.second)});
    s.Invalidate();  // the key stops (or starts) working at once
    if (committed.ok()) return Status::Ok();
    if (committed.status().code() != ErrorCode::kConflict) return committed.status();
  }
  return InternalError("too much concurrent change to access key " + std::string(access_key_id));
}

Status IdentityStore::DeleteAccessKey(std::string_view account, std::string_view user,
                                      std::string_view access_key_id) {
  Impl& s = *impl_;
  if (!user.empty()) HANGAR_RETURN_IF_ERROR(GetUser(account, user).status());
  HANGAR_ASSIGN_OR_RETURN(auto owned, OwnedKey(s.store, account, user, access_key_id));
  auto committed = s.store.Commit(
      {store::Mutation::Delete(std::string(kAccessKeys), "", std::string(access_key_id)),
       store::Mutation::Delete(std::string(kKeyIndex), KeyIndexPartition(account, user),
                               std::string(access_key_id))});
  s.Invalidate();
  return committed.ok() ? Status::Ok() : std::move(committed).TakeStatus();
}

// --- STS --------------------------------------------------------------------------------------

Result<TemporaryCredentials> IdentityStore::Impl::IssueSession(AccessKeyRecord record,
                                                               int duration_seconds,
                                                               std::string_view session_policy) {
  HANGAR_ASSIGN_OR_RETURN(NewAccessKey key,
                          NewKey(record.account_id, record.user_name, "ASIA", "session"));
  // Temporary keys are only ever looked up by id; the token is kept as a hash, so a copy of the
  // database does not hand out working sessions.
  std::string token = "IQoJb3JpZ2luX2hn" + crypto::RandomString(240, kTokenAlphabet);
  record.access_key_id = key.record.access_key_id;
  record.kind = "session";
  record.created_ms = key.record.created_ms;
  record.secret = key.record.secret;
  record.session_token_hash = crypto::Sha256Hex(token);
  record.expires_ms = record.created_ms + int64_t{duration_seconds} * 1000;
  record.session_policy = std::string(session_policy);
  store::Document doc{std::string(kAccessKeys), "", record.access_key_id, EncodeAccessKey(record),
                      0, record.expires_ms};
  auto committed = store.Commit({store::Mutation::Create(std::move(doc))});
  HANGAR_RETURN_IF_ERROR(committed.ok() ? Status::Ok() : committed.status());
  TemporaryCredentials out;
  out.access_key_id = record.access_key_id;
  out.secret_access_key = std::move(key.secret_access_key);
  out.session_token = std::move(token);
  out.expires_ms = record.expires_ms;
  return out;
}

Result<TemporaryCredentials> IdentityStore::AssumeRole(const auth::Principal& caller,
                                                       const ContextKeys& context,
                                                       std::string_view role_arn,
                                                       std::string_view session_name,
                                                       int duration_seconds,
                                                       std::string_view session_policy) {
  HANGAR_RETURN_IF_ERROR(ValidateSessionName(session_name));
  // 1. The role, named by its ARN: arn:aws:iam::<account>:role/<path><name>.
  constexpr std::string_view kPrefix = "arn:aws:iam::";
  const size_t colon = role_arn.find(':', kPrefix.size());
  if (!role_arn.starts_with(kPrefix) || colon != kPrefix.size() + 12 ||
      !IsAccountId(role_arn.substr(kPrefix.size(), 12)) ||
      !role_arn.substr(colon + 1).starts_with("role/")) {
    return Error(ErrorCode::kValidation, std::string(role_arn) + " is invalid");
  }
  const std::string account(role_arn.substr(kPrefix.size(), 12));
  const std::string name(role_arn.substr(role_arn.rfind('/') + 1));
  if (caller.type == auth::PrincipalType::kRoot) {
    return Error(ErrorCode::kAccessDenied, "Roles may not be assumed by root accounts.");
  }
  if (caller.anonymous()) return AssumeRoleDenied(caller, role_arn);
  // A role that does not exist is denied like one that does not trust the caller: no probing.
  auto role = impl_->Load<RoleRecord>(account, name);
  if (!role.ok()) {
    if (role.status().code() == ErrorCode::kIamNoSuchEntity) return AssumeRoleDenied(caller, role_arn);
    return role.status();
  }
  if (role->record.arn != role_arn) return AssumeRoleDenied(caller, role_arn);

  // 2. Parameters.
  if (duration_seconds == 0) duration_seconds = 3600;
  if (duration_seconds < 900) {
    return Error(ErrorCode::kValidation,
                 "1 validation error detected: Value '" + std::to_string(duration_seconds) +
                     "' at 'durationSeconds' failed to satisfy constraint: Member must have value "
                     "greater than or equal to 900");
  }
  if (duration_seconds > role->record.max_session_seconds) {
    return Error(ErrorCode::kValidation,
                 "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
  }
  if (!session_policy.empty()) {
    // The plain text counts, whitespace and all (AWS STS API reference, "Policy"): a session
    // policy travels with every session record and must not be a way to fill the disk.
    if (session_policy.size() > kMaxSessionPolicyChars) {
      return Error(ErrorCode::kValidation,
                   "1 validation error detected: Value at 'policy' failed to satisfy constraint: "
                   "Member must have length less than or equal to 2048");
    }
    HANGAR_RETURN_IF_ERROR(
        CheckPolicyDocument(session_policy, PolicyKind::kIdentity, 2048, "session"));
  }

  // 3. The trust policy must allow (naming the caller, or its account and then its identity
  //    policies too); a caller from another account also needs its own policies' Allow.
  auto trust = ParsePolicy(role->record.trust_policy, PolicyKind::kResource);
  if (!trust.ok()) return InternalError("stored trust policy no longer parses");
  HANGAR_ASSIGN_OR_RETURN(IdentityPolicies identity, PoliciesFor(caller));
  RequestFacts facts;
  facts.principal_arn = caller.arn;
  facts.principal_account = caller.account_id;
  facts.role_arn = caller.role_arn;
  facts.action = "sts:AssumeRole";
  facts.resource = role->record.arn;
  facts.context = context;
  PolicySet set;
  for (const auto& p : identity.policies) set.identity.push_back(p.get());
  set.session = identity.session.get();
  set.resource = trust->get();
  set.resource_account = account;
  set.resource_policy_required = true;
  if (Authorize(facts, set).decision != Decision::kAllowed) {
    return AssumeRoleDenied(caller, role_arn);
  }

  // 4. The session.
  AccessKeyRecord record;
  record.account_id = account;
  record.role_name = role->record.name;
  record.principal_id = role->record.role_id;
  record.session_name = std::string(session_name);
  HANGAR_ASSIGN_OR_RETURN(TemporaryCredentials creds,
                          impl_->IssueSession(std::move(record), duration_seconds, session_policy));
  creds.assumed_role_id = role->record.role_id + ":" + std::string(session_name);
  creds.assumed_role_arn = AssumedRoleArn(account, role->record.name, session_name);
  return creds;
}

Result<int> IdentityStore::PurgeExpiredSessions() {
  Impl& s = *impl_;
  int purged = 0;
  // An expired session still answers ExpiredToken (not "unknown key") for a while, as AWS's
  // self-describing tokens always do; then it goes.
  const int64_t expired_before =
      s.NowMs() - std::chrono::duration_cast<std::chrono::milliseconds>(kExpiredSessionRetention)
                      .count();
  for (;;) {
    // Sessions are stored with their expiry as the due time.
    HANGAR_ASSIGN_OR_RETURN(auto due, s.store.ListDue(kAccessKeys, expired_before, 500));
    std::vector<store::Mutation> gone;
    for (const auto& doc : due) {
      HANGAR_ASSIGN_OR_RETURN(AccessKeyRecord key, DecodeAccessKey(doc.body));
      if (key.kind != "session") continue;
      gone.push_back(store::Mutation::DeleteIfRevision(std::string(kAccessKeys), "", doc.id,
                                                       doc.revision));
    }
    if (!gone.empty()) {
      auto committed = s.store.Commit(gone);
      s.Invalidate();
      if (!committed.ok() && committed.status().code() != ErrorCode::kConflict) {
        return committed.status();
      }
      purged += static_cast<int>(gone.size());
    }
    if (due.size() < 500 || gone.empty()) return purged;
  }
}

Result<TemporaryCredentials> IdentityStore::GetSessionToken(const auth::Principal& caller,
                                                            int duration_seconds) {
  if (caller.type == auth::PrincipalType::kAssumedRole ||
      caller.access_key_id.starts_with("ASIA")) {
    return Error(ErrorCode::kAccessDenied, "Cannot call GetSessionToken with session credentials");
  }
  if (caller.type != auth::PrincipalType::kUser && caller.type != auth::PrincipalType::kRoot) {
    return Error(ErrorCode::kAccessDenied, "Anonymous callers cannot get session tokens");
  }
  const bool root = caller.type == auth::PrincipalType::kRoot;
  if (duration_seconds == 0) duration_seconds = root ? 3600 : 43200;
  const int max = root ? 3600 : 129600;
  if (duration_seconds < 900 || duration_seconds > max) {
    return Error(ErrorCode::kValidation,
                 "1 validation error detected: Value '" + std::to_string(duration_seconds) +
                     "' at 'durationSeconds' failed to satisfy constraint: Member must have value "
                     "between 900 and " +
                     std::to_string(max));
  }
  AccessKeyRecord record;
  record.account_id = caller.account_id;
  record.source_user = root ? "" : caller.name;
  if (!root) record.principal_id = caller.user_id;
  return impl_->IssueSession(std::move(record), duration_seconds, "");
}

// --- FindAccessKey ----------------------------------------------------------------------------

Result<auth::Principal> IdentityStore::Impl::PrincipalOf(const AccessKeyRecord& key) {
  // Credentials of a principal that no longer exists authenticate nobody.
  auto gone = [](const Status& s) {
    return s.code() == ErrorCode::kIamNoSuchEntity
               ? Error(ErrorCode::kUnknownAccessKey, "the key's principal no longer exists")
               : s;
  };
  std::string user = key.kind == "user" ? key.user_name : key.source_user;
  if (key.kind == "session" && !key.role_name.empty()) {
    auto role = Load<RoleRecord>(key.account_id, key.role_name);
    if (!role.ok()) return gone(role.status());
    if (!key.principal_id.empty() && key.principal_id != role->record.role_id) {
      return gone(Error(ErrorCode::kIamNoSuchEntity, "role recreated"));
    }
    auth::Principal p;
    p.type = auth::PrincipalType::kAssumedRole;
    p.account_id = key.account_id;
    p.arn = AssumedRoleArn(key.account_id, key.role_name, key.session_name);
    p.user_id = role->record.role_id + ":" + key.session_name;
    p.name = key.session_name;
    p.role_arn = role->record.arn;
    p.role_name = role->record.name;
    return p;
  }
  if (!user.empty()) {
    auto u = Load<UserRecord>(key.account_id, user);
    if (!u.ok()) return gone(u.status());
    if (key.kind == "session" && !key.principal_id.empty() &&
        key.principal_id != u->record.user_id) {
      return gone(Error(ErrorCode::kIamNoSuchEntity, "user recreated"));
    }
    return UserPrincipal(u->record);
  }
  return RootPrincipal(key.account_id);
}

Result<auth::AccessKey> IdentityStore::FindAccessKey(std::string_view access_key_id) const {
  Impl& s = *impl_;
  const std::string id(access_key_id);
  auto answer = [&](const Impl::CachedKey& cached) -> Result<auth::AccessKey> {
    if (!cached.active) return Error(ErrorCode::kUnknownAccessKey, "access key is inactive");
    // Expiry follows the lifecycle clock (dev clock aware), not the verifier's wall clock.
    if (cached.expires_ms != 0 && cached.expires_ms <= s.NowMs()) {
      return Error(ErrorCode::kExpiredToken, std::string(kExpiredTokenText));
    }
    auth::AccessKey key;
    key.principal = cached.principal;
    key.principal.access_key_id = id;
    key.secret_access_key = cached.secret->Clone();
    key.session_token_hash = cached.session_token_hash;
    if (cached.expires_ms != 0) key.expires_at = FromUnixMillis(cached.expires_ms);
    return key;
  };
  uint64_t generation;
  {
    std::shared_lock lock(s.mu);
    auto it = s.keys.find(id);
    if (it != s.keys.end()) return answer(it->second);
    generation = s.generation;
  }
  // Not cached: read the store. Misses are not cached: another process (the admin CLI) may
  // create the key a moment later.
  HANGAR_ASSIGN_OR_RETURN(auto doc, s.store.Get(kAccessKeys, "", access_key_id));
  if (!doc) return Error(ErrorCode::kUnknownAccessKey, "unknown access key");
  HANGAR_ASSIGN_OR_RETURN(AccessKeyRecord record, DecodeAccessKey(doc->body));
  auto wrapped = crypto::Base64Decode(record.secret);
  if (!wrapped) return InternalError("stored access key is corrupt");
  HANGAR_ASSIGN_OR_RETURN(SecretBytes secret, s.root_key.Unwrap(*wrapped, SecretContext(id)));
  Impl::CachedKey cached;
  HANGAR_ASSIGN_OR_RETURN(cached.principal, s.PrincipalOf(record));
  cached.secret = std::make_shared<const SecretBytes>(std::move(secret));
  cached.active = record.status == "Active";
  cached.session_token_hash = record.session_token_hash;
  cached.expires_ms = record.expires_ms;
  {
    // Only if nothing changed while we read: a stale entry must never outlive an invalidation.
    std::unique_lock lock(s.mu);
    if (s.generation == generation) s.keys[id] = cached;
  }
  return answer(cached);
}

}  // namespace hangar::iam
