// IdentityStore: inline and managed policies, attachments, and PoliciesFor (on the hot path of
// every authorised request, hence its caches).
#include <algorithm>
#include <cctype>
#include <mutex>

#include "iam/identity_store.h"
#include "iam/identity_store_impl.h"
#include "iam/identity_validation.h"

namespace hangar::iam {
namespace internal {

Status CheckPolicyDocument(std::string_view document, PolicyKind kind, size_t max_size,
                           std::string_view what) {
  // The API's own bound on the raw text comes first (IAM API reference, PolicyDocument: 131072):
  // the quotas below do not count whitespace, so without it a megabyte of spaces would pass.
  if (document.size() > kMaxPolicyDocumentChars) {
    return Error(ErrorCode::kValidation,
                 "1 validation error detected: Value at 'policyDocument' failed to satisfy "
                 "constraint: Member must have length less than or equal to 131072");
  }
  size_t size = std::count_if(document.begin(), document.end(),
                              [](char c) { return !std::isspace(static_cast<unsigned char>(c)); });
  if (size > max_size) {
    return Error(ErrorCode::kIamLimitExceeded, "Cannot exceed quota for " + std::string(what) +
                                                   " policy size: " + std::to_string(max_size));
  }
  auto parsed = ParsePolicy(document, kind);
  if (!parsed.ok()) {
    return Error(ErrorCode::kIamMalformedPolicyDocument, parsed.status().message());
  }
  return Status::Ok();
}

}  // namespace internal

using namespace internal;  // NOLINT(build/namespaces)

namespace {

// AWS's quotas on the aggregate size of a principal's inline policies.
size_t InlineQuota(std::string_view kind) {
  if (kind == "user") return 2048;
  if (kind == "group") return 5120;
  return 10240;
}

std::string PolicyArn(std::string_view account, std::string_view path, std::string_view name) {
  return "arn:aws:iam::" + std::string(account) + ":policy" + std::string(path) +
         std::string(name);
}

// arn:aws:iam::<account>:policy/<path>/<name> → (account, name).
Result<std::pair<std::string, std::string>> SplitPolicyArn(std::string_view arn) {
  constexpr std::string_view kPrefix = "arn:aws:iam::";
  const Status invalid = Error(ErrorCode::kIamInvalidInput, "ARN " + std::string(arn) + " is not valid.");
  if (!arn.starts_with(kPrefix)) return invalid;
  std::string_view rest = arn.substr(kPrefix.size());
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return invalid;
  std::string_view account = rest.substr(0, colon);
  std::string_view resource = rest.substr(colon + 1);
  if (!resource.starts_with("policy/")) return invalid;
  std::string_view name = resource.substr(resource.rfind('/') + 1);
  if (name.empty()) return invalid;
  return std::make_pair(std::string(account), std::string(name));
}

// Runs `f(tag)` with a value of the record type `kind` names.
template <typename F>
auto ForKind(std::string_view kind, F&& f) -> decltype(f(UserRecord{})) {
  if (kind == "user") return f(UserRecord{});
  if (kind == "group") return f(GroupRecord{});
  if (kind == "role") return f(RoleRecord{});
  return Error(ErrorCode::kValidation, "unknown entity kind " + std::string(kind));
}

Status NotAttachable(std::string_view arn) {
  return Error(ErrorCode::kIamNoSuchEntity,
               "Policy " + std::string(arn) + " does not exist or is not attachable.");
}

}  // namespace

Result<std::shared_ptr<const Policy>> IdentityStore::Impl::Parse(const std::string& document) {
  {
    std::shared_lock lock(mu);
    auto it = parsed.find(document);
    if (it != parsed.end()) return it->second;
  }
  auto policy = ParsePolicy(document, PolicyKind::kIdentity);
  if (!policy.ok()) return InternalError("a stored policy no longer parses: " + policy.status().message());
  std::unique_lock lock(mu);
  if (parsed.size() > 4096) parsed.clear();  // bounded: documents are few in practice
  parsed.emplace(document, *policy);
  return *policy;
}

// --- Inline policies --------------------------------------------------------------------------

Status IdentityStore::PutInlinePolicy(std::string_view account, std::string_view kind,
                                      std::string_view entity, std::string_view policy_name,
                                      std::string_view document) {
  HANGAR_RETURN_IF_ERROR(ValidatePolicyName("policyName", policy_name));
  HANGAR_RETURN_IF_ERROR(CheckPolicyDocument(document, PolicyKind::kIdentity, InlineQuota(kind),
                                             std::string(kind) + " inline"));
  return ForKind(kind, [&](auto tag) -> Status {
    using R = decltype(tag);
    return impl_->Modify<R>(account, entity, [&](R& r, std::vector<store::Mutation>&) -> Status {
      r.inline_policies[std::string(policy_name)] = std::string(document);
      size_t total = 0;
      for (const auto& [n, d] : r.inline_policies) {
        total += std::count_if(d.begin(), d.end(),
                               [](char c) { return !std::isspace(static_cast<unsigned char>(c)); });
      }
      if (total > InlineQuota(kind)) {
        return Error(ErrorCode::kIamLimitExceeded,
                     "Maximum policy size of " + std::to_string(InlineQuota(kind)) +
                         " bytes exceeded for " + std::string(kind) + " " + std::string(entity));
      }
      return Status::Ok();
    });
  });
}

Result<std::string> IdentityStore::GetInlinePolicy(std::string_view account, std::string_view kind,
                                                   std::string_view entity,
                                                   std::string_view policy_name) {
  return ForKind(kind, [&](auto tag) -> Result<std::string> {
    using R = decltype(tag);
    HANGAR_ASSIGN_OR_RETURN(auto loaded, impl_->Load<R>(account, entity));
    auto it = loaded.record.inline_policies.find(std::string(policy_name));
    if (it == loaded.record.inline_policies.end()) {
      return Error(ErrorCode::kIamNoSuchEntity, "The " + std::string(kind) +
                                                    " policy with name " +
                                                    std::string(policy_name) + " cannot be found.");
    }
    return it->second;
  });
}

Result<std::vector<std::string>> IdentityStore::ListInlinePolicies(std::string_view account,
                                                                   std::string_view kind,
                                                                   std::string_view entity) {
  return ForKind(kind, [&](auto tag) -> Result<std::vector<std::string>> {
    using R = decltype(tag);
    HANGAR_ASSIGN_OR_RETURN(auto loaded, impl_->Load<R>(account, entity));
    std::vector<std::string> names;
    for (const auto& [n, d] : loaded.record.inline_policies) names.push_back(n);
    return names;
  });
}

Status IdentityStore::DeleteInlinePolicy(std::string_view account, std::string_view kind,
                                         std::string_view entity, std::string_view policy_name) {
  return ForKind(kind, [&](auto tag) -> Status {
    using R = decltype(tag);
    return impl_->Modify<R>(account, entity, [&](R& r, std::vector<store::Mutation>&) -> Status {
      if (r.inline_policies.erase(std::string(policy_name)) == 0) {
        return Error(ErrorCode::kIamNoSuchEntity, "The " + std::string(kind) +
                                                      " policy with name " +
                                                      std::string(policy_name) +
                                                      " cannot be found.");
      }
      return Status::Ok();
    });
  });
}

// --- Managed policies -------------------------------------------------------------------------

Result<ManagedPolicyRecord> IdentityStore::CreatePolicy(std::string_view account,
                                                        std::string_view name,
                                                        std::string_view path,
                                                        std::string_view document,
                                                        std::string_view description) {
  HANGAR_RETURN_IF_ERROR(ValidatePolicyName("policyName", name));
  HANGAR_RETURN_IF_ERROR(ValidatePath(path));
  HANGAR_RETURN_IF_ERROR(CheckPolicyDocument(document, PolicyKind::kIdentity, 6144, "managed"));
  if (description.size() > 1000) {
    return Error(ErrorCode::kValidation,
                 "1 validation error detected: Value at 'description' failed to satisfy "
                 "constraint: Member must have length less than or equal to 1000");
  }
  ManagedPolicyRecord r;
  r.account_id = std::string(account);
  r.name = std::string(name);
  r.path = std::string(path);
  r.policy_id = NewUniqueId("ANPA");
  r.arn = PolicyArn(account, path, name);
  r.description = std::string(description);
  r.created_ms = r.updated_ms = impl_->NowMs();
  r.default_version = "v1";
  r.next_version = 2;
  r.versions["v1"] = {std::string(document), r.created_ms};
  HANGAR_RETURN_IF_ERROR(impl_->Create(
      account, name, r,
      "A policy called " + std::string(name) + " already exists. Duplicate names are not allowed."));
  return r;
}

Result<ManagedPolicyRecord> IdentityStore::GetPolicy(std::string_view policy_arn) {
  HANGAR_ASSIGN_OR_RETURN(auto parts, SplitPolicyArn(policy_arn));
  auto loaded = impl_->Load<ManagedPolicyRecord>(parts.first, parts.second);
  if (!loaded.ok() && loaded.status().code() == ErrorCode::kIamNoSuchEntity) {
    return NoSuchEntity("policy", policy_arn);
  }
  HANGAR_RETURN_IF_ERROR(loaded.ok() ? Status::Ok() : loaded.status());
  if (loaded->record.arn != policy_arn) return NoSuchEntity("policy", policy_arn);
  return std::move(loaded->record);
}

Result<Listing<ManagedPolicyRecord>> IdentityStore::ListPolicies(std::string_view account,
                                                                 std::string_view path_prefix,
                                                                 bool only_attached,
                                                                 std::string_view marker,
                                                                 int max_items) {
  return impl_->List<ManagedPolicyRecord>(
      account, path_prefix, marker, max_items,
      [&](const ManagedPolicyRecord& r) { return !only_attached || r.attachment_count > 0; });
}

namespace {

// Loads the policy `arn` of `account` for a change: callers may only change their own policies.
Result<std::string> OwnPolicyName(std::string_view account, std::string_view arn) {
  HANGAR_ASSIGN_OR_RETURN(auto parts, SplitPolicyArn(arn));
  if (parts.first != account) return NoSuchEntity("policy", arn);
  return parts.second;
}

}  // namespace

Status IdentityStore::DeletePolicy(std::string_view account, std::string_view policy_arn) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, OwnPolicyName(account, policy_arn));
  HANGAR_ASSIGN_OR_RETURN(ManagedPolicyRecord record, GetPolicy(policy_arn));
  if (record.attachment_count > 0) {
    return Error(ErrorCode::kIamDeleteConflict, "Cannot delete a policy attached to entities.");
  }
  if (record.versions.size() > 1) {
    return Error(ErrorCode::kIamDeleteConflict,
                 "This policy has more than one version. Before you delete a policy, you must "
                 "delete the policy's versions. The default version is deleted with the policy.");
  }
  HANGAR_ASSIGN_OR_RETURN(auto loaded, impl_->Load<ManagedPolicyRecord>(account, name));
  // An attachment made since the read bumps the revision, and this delete then fails.
  auto committed = impl_->store.Commit({store::Mutation::DeleteIfRevision(
      std::string(kPolicies), std::string(account), name, loaded.revision)});
  impl_->Invalidate();
  if (!committed.ok() && committed.status().code() == ErrorCode::kConflict) {
    return Error(ErrorCode::kIamDeleteConflict, "Cannot delete a policy attached to entities.");
  }
  return committed.ok() ? Status::Ok() : std::move(committed).TakeStatus();
}

Result<std::string> IdentityStore::CreatePolicyVersion(std::string_view account,
                                                       std::string_view policy_arn,
                                                       std::string_view document,
                                                       bool set_as_default) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, OwnPolicyName(account, policy_arn));
  HANGAR_RETURN_IF_ERROR(CheckPolicyDocument(document, PolicyKind::kIdentity, 6144, "managed"));
  std::string version;
  HANGAR_RETURN_IF_ERROR(impl_->Modify<ManagedPolicyRecord>(
      account, name, [&](ManagedPolicyRecord& r, std::vector<store::Mutation>&) -> Status {
        if (r.arn != policy_arn) return NoSuchEntity("policy", policy_arn);
        if (r.versions.size() >= 5) {
          return Error(ErrorCode::kIamLimitExceeded,
                       "A managed policy can have up to 5 versions. Before you create a new "
                       "version, you must delete an existing version.");
        }
        version = "v" + std::to_string(r.next_version++);
        r.updated_ms = impl_->NowMs();
        r.versions[version] = {std::string(document), r.updated_ms};
        if (set_as_default) r.default_version = version;
        return Status::Ok();
      }));
  return version;
}

Status IdentityStore::DeletePolicyVersion(std::string_view account, std::string_view policy_arn,
                                          std::string_view version_id) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, OwnPolicyName(account, policy_arn));
  return impl_->Modify<ManagedPolicyRecord>(
      account, name, [&](ManagedPolicyRecord& r, std::vector<store::Mutation>&) -> Status {
        if (r.arn != policy_arn) return NoSuchEntity("policy", policy_arn);
        if (r.default_version == version_id) {
          return Error(ErrorCode::kIamDeleteConflict,
                       "Cannot delete the default version of a policy.");
        }
        if (r.versions.erase(std::string(version_id)) == 0) {
          return Error(ErrorCode::kIamNoSuchEntity,
                       "Policy " + std::string(policy_arn) + " version " +
                           std::string(version_id) + " does not exist or is not attachable.");
        }
        return Status::Ok();
      });
}

Status IdentityStore::SetDefaultPolicyVersion(std::string_view account,
                                              std::string_view policy_arn,
                                              std::string_view version_id) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, OwnPolicyName(account, policy_arn));
  return impl_->Modify<ManagedPolicyRecord>(
      account, name, [&](ManagedPolicyRecord& r, std::vector<store::Mutation>&) -> Status {
        if (r.arn != policy_arn) return NoSuchEntity("policy", policy_arn);
        if (!r.versions.contains(std::string(version_id))) {
          return Error(ErrorCode::kIamNoSuchEntity,
                       "Policy " + std::string(policy_arn) + " version " +
                           std::string(version_id) + " does not exist or is not attachable.");
        }
        r.default_version = std::string(version_id);
        r.updated_ms = impl_->NowMs();
        return Status::Ok();
      });
}

Status IdentityStore::AttachPolicy(std::string_view account, std::string_view kind,
                                   std::string_view entity, std::string_view policy_arn) {
  auto parts = SplitPolicyArn(policy_arn);
  if (!parts.ok() || parts->first != account) return NotAttachable(policy_arn);
  return ForKind(kind, [&](auto tag) -> Status {
    using R = decltype(tag);
    return impl_->Modify<R>(account, entity, [&](R& r, std::vector<store::Mutation>& extra) -> Status {
      auto policy = impl_->Load<ManagedPolicyRecord>(account, parts->second);
      if (!policy.ok() && policy.status().code() == ErrorCode::kIamNoSuchEntity) {
        return NotAttachable(policy_arn);
      }
      HANGAR_RETURN_IF_ERROR(policy.ok() ? Status::Ok() : policy.status());
      if (policy->record.arn != policy_arn) return NotAttachable(policy_arn);
      if (std::find(r.attached.begin(), r.attached.end(), policy_arn) != r.attached.end()) {
        return Status::Ok();  // attaching twice is not an error in AWS
      }
      if (r.attached.size() >= 10) {
        return Error(ErrorCode::kIamLimitExceeded,
                     "Cannot exceed quota for PoliciesPer" +
                         std::string(kind == "user" ? "User" : kind == "group" ? "Group" : "Role") +
                         ": 10");
      }
      r.attached.emplace_back(policy_arn);
      policy->record.attachment_count++;
      extra.push_back(store::Mutation::Update(
          {std::string(kPolicies), std::string(account), parts->second,
           EncodeManagedPolicy(policy->record), 0, 0},
          policy->revision));
      return Status::Ok();
    });
  });
}

Status IdentityStore::DetachPolicy(std::string_view account, std::string_view kind,
                                   std::string_view entity, std::string_view policy_arn) {
  return ForKind(kind, [&](auto tag) -> Status {
    using R = decltype(tag);
    return impl_->Modify<R>(account, entity, [&](R& r, std::vector<store::Mutation>& extra) -> Status {
      auto it = std::find(r.attached.begin(), r.attached.end(), policy_arn);
      if (it == r.attached.end()) {
        return Error(ErrorCode::kIamNoSuchEntity,
                     "Policy " + std::string(policy_arn) + " was not found.");
      }
      r.attached.erase(it);
      auto parts = SplitPolicyArn(policy_arn);
      if (!parts.ok()) return Status::Ok();
      auto policy = impl_->Load<ManagedPolicyRecord>(account, parts->second);
      if (!policy.ok()) return Status::Ok();  // the policy is gone; nothing to count
      policy->record.attachment_count = std::max(0, policy->record.attachment_count - 1);
      extra.push_back(store::Mutation::Update(
          {std::string(kPolicies), std::string(account), parts->second,
           EncodeManagedPolicy(policy->record), 0, 0},
          policy->revision));
      return Status::Ok();
    });
  });
}

Result<std::vector<std::string>> IdentityStore::ListAttachedPolicies(std::string_view account,
                                                                     std::string_view kind,
                                                                     std::string_view entity) {
  return ForKind(kind, [&](auto tag) -> Result<std::vector<std::string>> {
    using R = decltype(tag);
    HANGAR_ASSIGN_OR_RETURN(auto loaded, impl_->Load<R>(account, entity));
    return loaded.record.attached;
  });
}

// --- PoliciesFor ------------------------------------------------------------------------------

Result<IdentityPolicies> IdentityStore::Impl::Compute(const auth::Principal& principal) {
  IdentityPolicies out;
  const std::string& account = principal.account_id;
  auto add_document = [&](const std::string& document) -> Status {
    HANGAR_ASSIGN_OR_RETURN(auto policy, Parse(document));
    out.policies.push_back(std::move(policy));
    return Status::Ok();
  };
  // Attached managed policies count with their default version; a deleted one counts no more.
  auto add_entity = [&](const InlinePolicies& inline_policies,
                        const std::vector<std::string>& attached) -> Status {
    for (const auto& [name, document] : inline_policies) HANGAR_RETURN_IF_ERROR(add_document(document));
    for (const auto& arn : attached) {
      auto parts = SplitPolicyArn(arn);
      if (!parts.ok()) continue;
      auto policy = Load<ManagedPolicyRecord>(parts->first, parts->second);
      if (!policy.ok()) {
        if (policy.status().code() == ErrorCode::kIamNoSuchEntity) continue;
        return policy.status();
      }
      auto version = policy->record.versions.find(policy->record.default_version);
      if (version != policy->record.versions.end()) {
        HANGAR_RETURN_IF_ERROR(add_document(version->second.first));
      }
    }
    return Status::Ok();
  };
  auto absent = [](const Status& s) { return s.code() == ErrorCode::kIamNoSuchEntity; };

  if (principal.type == auth::PrincipalType::kUser) {
    auto user = Load<UserRecord>(account, principal.name);
    if (!user.ok()) return absent(user.status()) ? Result<IdentityPolicies>(out) : user.status();
    HANGAR_RETURN_IF_ERROR(add_entity(user->record.inline_policies, user->record.attached));
    out.principal_tags = user->record.tags;
    for (const auto& group_name : user->record.groups) {
      auto group = Load<GroupRecord>(account, group_name);
      if (!group.ok()) {
        if (absent(group.status())) continue;
        return group.status();
      }
      HANGAR_RETURN_IF_ERROR(add_entity(group->record.inline_policies, group->record.attached));
    }
  } else if (principal.type == auth::PrincipalType::kAssumedRole) {
    auto role = Load<RoleRecord>(account, principal.role_name);
    if (!role.ok()) return absent(role.status()) ? Result<IdentityPolicies>(out) : role.status();
    HANGAR_RETURN_IF_ERROR(add_entity(role->record.inline_policies, role->record.attached));
    out.principal_tags = role->record.tags;
    // The session policy travels with the session's key. Without the key nothing is allowed:
    // failing open here would lift the session policy's limits.
    HANGAR_ASSIGN_OR_RETURN(auto doc, store.Get(kAccessKeys, "", principal.access_key_id));
    if (!doc) return IdentityPolicies{};
    HANGAR_ASSIGN_OR_RETURN(AccessKeyRecord key, DecodeAccessKey(doc->body));
    if (!key.session_policy.empty()) {
      HANGAR_ASSIGN_OR_RETURN(out.session, Parse(key.session_policy));
    }
  }
  return out;
}

Result<IdentityPolicies> IdentityStore::PoliciesFor(const auth::Principal& principal) const {
  if (principal.type != auth::PrincipalType::kUser &&
      principal.type != auth::PrincipalType::kAssumedRole) {
    return IdentityPolicies{};
  }
  Impl& s = *impl_;
  // An access key belongs to one principal for life, so its id names the entry (no allocation on
  // this per-request path); principals without one (tests, internal callers) use their ARN.
  const std::string& cache_key =
      principal.access_key_id.empty() ? principal.arn : principal.access_key_id;
  uint64_t generation;
  {
    std::shared_lock lock(s.mu);
    auto it = s.policies.find(cache_key);
    if (it != s.policies.end()) return it->second;
    generation = s.generation;
  }
  HANGAR_ASSIGN_OR_RETURN(IdentityPolicies computed, s.Compute(principal));
  std::unique_lock lock(s.mu);
  if (s.generation == generation) s.policies[cache_key] = computed;
  return computed;
}

}  // namespace hangar::iam
