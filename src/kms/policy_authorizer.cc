#include "kms/policy_authorizer.h"

#include "common/strings.h"
#include "iam/request_facts.h"

namespace hangar::kms {
namespace {

constexpr size_t kMaxKeyPolicyBytes = 32 * 1024;

const char* Bool(bool b) { return b ? "true" : "false"; }

// The kms:* condition keys of one request (iam.md §3; KMS Developer Guide, conditions-kms).
// Key properties apply only to operations on a specific key.
void AddKmsKeys(const auth::RequestContext& ctx, std::string_view action, const KeyRecord* key,
                const KmsRequestDetails& details, iam::ContextKeys& keys) {
  keys["kms:calleraccount"] = {ctx.principal.account_id};
  if (!ctx.via_service.empty()) keys["kms:viaservice"] = {ctx.via_service};
  if (key != nullptr) {
    keys["aws:resourceaccount"] = {key->account_id};
    keys["kms:keyspec"] = {key->key_spec};
    keys["kms:keyusage"] = {key->key_usage};
    keys["kms:keyorigin"] = {key->origin};
    keys["kms:keymanager"] = {key->key_manager};
    keys["kms:multiregion"] = {Bool(key->multi_region)};
    if (key->multi_region) {
      keys["kms:multiregionkeytype"] = {key->replica() ? "REPLICA" : "PRIMARY"};
    }
    for (const auto& tag : key->tags) keys["aws:resourcetag/" + ToLower(tag.key)] = {tag.value};
  }
  if (details.encryption_context != nullptr) {
    std::vector<std::string> names;
    for (const auto& [k, v] : *details.encryption_context) {
      // Key names are case-insensitive in conditions; the engine looks them up lower-cased.
      keys["kms:encryptioncontext:" + ToLower(k)] = {v};
      names.push_back(k);
    }
    keys["kms:encryptioncontextkeys"] = std::move(names);
  }
  if (!details.request_alias.empty()) keys["kms:requestalias"] = {details.request_alias};
  if (details.pending_window_days) {
    keys["kms:schedulekeydeletionpendingwindowindays"] = {
        std::to_string(*details.pending_window_days)};
  }
  if (details.rotation_period_days) {
    keys["kms:rotationperiodindays"] = {std::to_string(*details.rotation_period_days)};
  }
  if (details.encryption_algorithm) keys["kms:encryptionalgorithm"] = {*details.encryption_algorithm};
  if (details.bypass_lockout) {
    keys["kms:bypasspolicylockoutsafetycheck"] = {Bool(*details.bypass_lockout)};
  }
  if (details.grantee_principal) keys["kms:granteeprincipal"] = {*details.grantee_principal};
  if (details.retiring_principal) keys["kms:retiringprincipal"] = {*details.retiring_principal};
  if (!details.grant_operations.empty()) keys["kms:grantoperations"] = details.grant_operations;
  if (details.grant_constraint_type) {
    keys["kms:grantconstrainttype"] = {*details.grant_constraint_type};
  }
  for (const auto& [name, value] : details.conditions) keys[std::string(name)] = {value};
  if (details.request_tags) iam::AddRequestTags(keys, *details.request_tags);
  if (details.tag_keys) iam::AddTagKeys(keys, *details.tag_keys);
  if (action == "CreateGrant" || action == "ListGrants" || action == "RevokeGrant") {
    keys["kms:grantisforawsresource"] = {Bool(!ctx.via_service.empty())};
  }
}

Status Malformed(std::string message) {
  return Error(ErrorCode::kKmsMalformedPolicyDocument, std::move(message));
}

}  // namespace

PolicyKeyAuthorizer::PolicyKeyAuthorizer(const iam::IdentityPolicySource& identities,
                                         KeyPolicyGuardrails guardrails)
    : identities_(identities), guardrails_(guardrails) {}

Status PolicyKeyAuthorizer::Authorize(const auth::RequestContext& ctx, std::string_view action,
                                      const KeyRecord* key,
                                      const KmsRequestDetails& details) const {
  if (key == nullptr) return Decide(ctx, action, nullptr, nullptr, details);
  auto policy = key_policies_.Get(key->arn, key->policy);
  // A policy stored before policies were enforced that never parsed allows nothing.
  if (!policy.ok()) return KmsAccessDenied(ctx, action, key->arn);
  return Decide(ctx, action, key, policy->get(), details);
}

Status PolicyKeyAuthorizer::Decide(const auth::RequestContext& ctx, std::string_view action,
                                   const KeyRecord* key, const iam::Policy* key_policy,
                                   const KmsRequestDetails& details) const {
  const std::string resource = key != nullptr ? key->arn : "*";
  if (ctx.principal.anonymous()) return KmsAccessDenied(ctx, action, resource);
  iam::RequestFacts facts = iam::FactsFor(ctx, "kms:" + std::string(action), resource);
  AddKmsKeys(ctx, action, key, details, facts.context);

  HANGAR_ASSIGN_OR_RETURN(iam::IdentityPolicies identity, identities_.PoliciesFor(ctx.principal));
  iam::AddPrincipalTags(facts.context, identity.principal_tags);
  iam::PolicySet set;
  set.identity.reserve(identity.policies.size());
  for (const auto& p : identity.policies) set.identity.push_back(p.get());
  set.session = identity.session.get();
  set.resource = key_policy;
  set.resource_account = key != nullptr ? key->account_id : ctx.principal.account_id;
  set.resource_policy_required = key != nullptr;
  set.allowed_by_grant = details.allowed_by_grant;

  iam::AuthorizationResult result = iam::Authorize(facts, set);
  if (result.decision == iam::Decision::kAllowed) return Status::Ok();
  return Error(ErrorCode::kAccessDenied,
               "User: " + ctx.principal.arn + " is not authorized to perform: " + facts.action +
                   " on resource: " + resource + iam::DenialSuffix(result, facts.action));
}

Status PolicyKeyAuthorizer::CheckNewKeyPolicy(const auth::RequestContext& ctx,
                                              const KeyRecord& key, bool bypass_lockout) const {
  if (key.policy.size() > kMaxKeyPolicyBytes) {
    return Error(ErrorCode::kKmsLimitExceeded,
                 "Key policy exceeds the maximum size of 32768 bytes");
  }
  HANGAR_ASSIGN_OR_RETURN(auto policy, iam::ParsePolicy(key.policy, iam::PolicyKind::kResource));
  if (guardrails_.forbid_public && iam::GrantsPublicAccess(*policy)) {
    return Malformed(
        "The key policy allows any principal (\"Principal\": \"*\") to use the key without a "
        "condition that limits it to known accounts or principals, and this server forbids "
        "public key policies (--forbid-public-key-policies).");
  }
  if (bypass_lockout) return Status::Ok();
  KmsRequestDetails details;
  details.bypass_lockout = false;
  if (!Decide(ctx, "PutKeyPolicy", &key, policy.get(), details).ok()) {
    return Malformed("The new key policy will not allow you to update the key policy in the future.");
  }
  return Status::Ok();
}

}  // namespace hangar::kms
