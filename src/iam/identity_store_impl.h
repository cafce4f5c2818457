#pragma once
// IdentityStore's internals, shared by its implementation files (identity_store.cc: accounts,
// users, groups, roles; identity_store_policies.cc: inline and managed policies, PoliciesFor;
// identity_store_keys.cc: access keys, STS sessions, FindAccessKey). Not part of the interface.

#include <functional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/strings.h"
#include "iam/identity_store.h"

namespace hangar::iam::internal {

inline constexpr std::string_view kAccounts = "iam.account";
inline constexpr std::string_view kUsers = "iam.user";
inline constexpr std::string_view kGroups = "iam.group";
inline constexpr std::string_view kRoles = "iam.role";
inline constexpr std::string_view kPolicies = "iam.policy";
inline constexpr std::string_view kAccessKeys = "iam.access-key";
// Index: the long-term keys of one principal. Partition "<account>/<user>" ("<account>/" = root),
// id = access key id, empty body. Lets CreateAccessKey count keys without scanning every key.
inline constexpr std::string_view kKeyIndex = "iam.key-index";
inline constexpr std::string_view kSettings = "hangar.settings";
inline constexpr std::string_view kDefaultAccount = "default-account";

inline constexpr std::string_view kIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
inline constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// How many times a read-modify-write is retried when another writer got there first.
inline constexpr int kCommitAttempts = 16;

// "AIDA" + 17 random characters: the shape of AWS's unique ids.
std::string NewUniqueId(std::string_view prefix);
std::string KeyIndexPartition(std::string_view account, std::string_view user);
// The associated data a key's wrapped secret is sealed with (as AccountDirectory wrote it).
std::string SecretContext(std::string_view access_key_id);

// Record traits: one table per entity kind so the read-modify-write helpers are written once.
template <typename R>
struct Traits;
template <>
struct Traits<UserRecord> {
  static constexpr std::string_view kCollection = kUsers;
  static constexpr std::string_view kNoun = "user";
  static Result<UserRecord> Decode(std::string_view t) { return DecodeUser(t); }
  static std::string Encode(const UserRecord& r) { return EncodeUser(r); }
};
template <>
struct Traits<GroupRecord> {
  static constexpr std::string_view kCollection = kGroups;
  static constexpr std::string_view kNoun = "group";
  static Result<GroupRecord> Decode(std::string_view t) { return DecodeGroup(t); }
  static std::string Encode(const GroupRecord& r) { return EncodeGroup(r); }
};
template <>
struct Traits<RoleRecord> {
  static constexpr std::string_view kCollection = kRoles;
  static constexpr std::string_view kNoun = "role";
  static Result<RoleRecord> Decode(std::string_view t) { return DecodeRole(t); }
  static std::string Encode(const RoleRecord& r) { return EncodeRole(r); }
};
template <>
struct Traits<ManagedPolicyRecord> {
  static constexpr std::string_view kCollection = kPolicies;
  static constexpr std::string_view kNoun = "policy";
  static Result<ManagedPolicyRecord> Decode(std::string_view t) { return DecodeManagedPolicy(t); }
  static std::string Encode(const ManagedPolicyRecord& r) { return EncodeManagedPolicy(r); }
};

template <typename R>
struct Loaded {
  R record;
  int64_t revision = 0;
};

Status NoSuchEntity(std::string_view noun, std::string_view name);
// Raw-text bounds (AWS STS / IAM API references): a session policy, any policy document.
inline constexpr size_t kMaxSessionPolicyChars = 2048;
inline constexpr size_t kMaxPolicyDocumentChars = 131072;
// Parses `document` as a policy of `kind` to reject malformed ones before they are stored.
// Errors: kValidation above kMaxPolicyDocumentChars, kIamMalformedPolicyDocument,
// kIamLimitExceeded above `max_size` (whitespace excluded, as IAM's quotas count).
Status CheckPolicyDocument(std::string_view document, PolicyKind kind, size_t max_size,
                           std::string_view what);

}  // namespace hangar::iam::internal

namespace hangar::iam {

struct IdentityStore::Impl {
  Impl(store::MetadataStore& s, const crypto::RootKey& k, const Clock& c)
      : store(s), root_key(k), clock(c) {}

  store::MetadataStore& store;
  const crypto::RootKey& root_key;
  const Clock& clock;

  // What FindAccessKey knows about a key, decrypted once.
  struct CachedKey {
    auth::Principal principal;
    std::shared_ptr<const SecretBytes> secret;
    bool active = true;
    std::string session_token_hash;
    int64_t expires_ms = 0;  // lifecycle-clock time; 0 = never
  };
  mutable std::shared_mutex mu;
  // Bumped by every invalidation; a lookup caches its result only if it did not move meanwhile.
  uint64_t generation = 0;  // protected by mu
  std::unordered_map<std::string, CachedKey> keys;  // protected by mu; positive lookups only
  // PoliciesFor results by principal (ARN + access key for sessions). Protected by mu.
  std::unordered_map<std::string, IdentityPolicies> policies;
  // Parsed documents by their text: the same document parses to the same policy. Protected by mu.
  std::unordered_map<std::string, std::shared_ptr<const Policy>> parsed;

  // Every change made through the store drops the derived caches (keys, policies).
  void Invalidate();
  Result<std::shared_ptr<const Policy>> Parse(const std::string& document);

  int64_t NowMs() const { return ToUnixMillis(clock.Now()); }

  template <typename R>
  Result<internal::Loaded<R>> Load(std::string_view account, std::string_view name) {
    using T = internal::Traits<R>;
    HANGAR_ASSIGN_OR_RETURN(auto doc, store.Get(T::kCollection, account, name));
    if (!doc) return internal::NoSuchEntity(T::kNoun, name);
    HANGAR_ASSIGN_OR_RETURN(R record, T::Decode(doc->body));
    return internal::Loaded<R>{std::move(record), doc->revision};
  }

  // Read-modify-write of one record under optimistic concurrency: `change` edits the record and may
  // add mutations of other documents (committed atomically with it); on a lost race the whole
  // step is retried from a fresh read.
  template <typename R>
  Status Modify(std::string_view account, std::string_view name,
                const std::function<Status(R&, std::vector<store::Mutation>&)>& change) {
    using T = internal::Traits<R>;
    for (int attempt = 0; attempt < internal::kCommitAttempts; ++attempt) {
      HANGAR_ASSIGN_OR_RETURN(internal::Loaded<R> loaded, Load<R>(account, name));
      std::vector<store::Mutation> mutations;
      HANGAR_RETURN_IF_ERROR(change(loaded.record, mutations));
      mutations.insert(mutations.begin(),
                       store::Mutation::Update({std::string(T::kCollection), std::string(account),
                                                std::string(name), T::Encode(loaded.record), 0, 0},
                                               loaded.revision));
      auto committed = store.Commit(mutations);
      Invalidate();
      if (committed.ok()) return Status::Ok();
      if (committed.status().code() != ErrorCode::kConflict) return committed.status();
    }
    return InternalError("too much concurrent change to " + std::string(T::kNoun) + " " +
                         std::string(name));
  }

  // IAM names are unique regardless of case ("Alice" and "alice" cannot both exist): each name is
  // also held, lower-cased, in an index created in the same commit as the record.
  template <typename R>
  static std::string NameIndex() {
    return std::string(internal::Traits<R>::kCollection) + "#names";
  }
  template <typename R>
  static store::Mutation ReleaseName(std::string_view account, std::string_view name) {
    return store::Mutation::Delete(NameIndex<R>(), std::string(account), ToLower(name));
  }

  // Creates a record; another create of the same name, in any case, wins →
  // kIamEntityAlreadyExists. Records from before the index are found by a scan.
  template <typename R>
  Status Create(std::string_view account, std::string_view name, const R& record,
                std::string already_exists) {
    using T = internal::Traits<R>;
    HANGAR_ASSIGN_OR_RETURN(bool taken, NameTakenInAnyCase<R>(account, name));
    if (taken) return Error(ErrorCode::kIamEntityAlreadyExists, std::move(already_exists));
    auto committed = store.Commit(
        {store::Mutation::Create({NameIndex<R>(), std::string(account), ToLower(name), "", 0, 0}),
         store::Mutation::Create({std::string(T::kCollection), std::string(account),
                                  std::string(name), T::Encode(record), 0, 0})});
    Invalidate();
    if (committed.ok()) return Status::Ok();
    if (committed.status().code() == ErrorCode::kConflict) {
      return Error(ErrorCode::kIamEntityAlreadyExists, std::move(already_exists));
    }
    return committed.status();
  }

  template <typename R>
  Result<bool> NameTakenInAnyCase(std::string_view account, std::string_view name) {
    using T = internal::Traits<R>;
    store::ListOptions options;
    options.limit = 1000;
    const std::string lower = ToLower(name);
    while (true) {
      HANGAR_ASSIGN_OR_RETURN(auto docs, store.List(T::kCollection, account, options));
      for (const auto& doc : docs) {
        if (ToLower(doc.id) == lower) return true;
      }
      if (docs.size() < options.limit) return false;
      options.start_after = docs.back().id;
    }
  }

  // Every record of one kind in an account, in name order, from `marker` (exclusive).
  template <typename R>
  Result<Listing<R>> List(std::string_view account, std::string_view path_prefix,
                          std::string_view marker, int max_items,
                          const std::function<bool(const R&)>& keep = nullptr) {
    using T = internal::Traits<R>;
    if (max_items <= 0) max_items = 100;
    Listing<R> out;
    store::ListOptions options;
    options.start_after = std::string(marker);
    options.limit = 1000;
    while (true) {
      HANGAR_ASSIGN_OR_RETURN(auto docs, store.List(T::kCollection, account, options));
      for (const auto& doc : docs) {
        HANGAR_ASSIGN_OR_RETURN(R record, T::Decode(doc.body));
        if (!record.path.starts_with(path_prefix)) continue;
        if (keep && !keep(record)) continue;
        if (static_cast<int>(out.items.size()) == max_items) {
          out.truncated = true;
          out.marker = out.items.back().name;
          return out;
        }
        out.items.push_back(std::move(record));
      }
      if (docs.size() < options.limit) return out;
      options.start_after = docs.back().id;
    }
  }

  Result<RootCredentials> StoreRootKey(const std::string& account_id,
                                       const std::string& access_key_id,
                                       const std::string& secret, bool create_account);
  Result<NewAccessKey> NewKey(std::string_view account, std::string_view user,
                              std::string_view prefix, std::string_view kind);
  Result<auth::Principal> PrincipalOf(const AccessKeyRecord& key);
  Result<IdentityPolicies> Compute(const auth::Principal& principal);
  Result<TemporaryCredentials> IssueSession(AccessKeyRecord record, int duration_seconds,
                                            std::string_view session_policy);
};

}  // namespace hangar::iam
