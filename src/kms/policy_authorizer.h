#pragma once
// PolicyKeyAuthorizer: KMS authorisation by AWS's rules (iam.md §2, kms.md §12) — the key policy
// must allow (naming the caller, or naming its account and so delegating to IAM policies), an
// explicit deny anywhere wins, grants add the operations they list, and cross-account use needs
// the caller's own IAM policy too. Calls that name no key (CreateKey, ListKeys, ListAliases,
// GenerateRandom) are decided by IAM policies alone.
//
// Thread-safe.

#include <memory>
#include <string>

#include "iam/policy.h"
#include "iam/policy_cache.h"
#include "iam/policy_source.h"
#include "kms/authorizer.h"

namespace hangar::kms {

struct KeyPolicyGuardrails {
  // Refuse key policies that let anyone ("Principal": "*" or NotPrincipal) use the key without a
  // condition limiting the callers to known accounts or principals (`--forbid-public-key-policies`).
  bool forbid_public = false;
};

class PolicyKeyAuthorizer final : public KeyAuthorizer {
 public:
  PolicyKeyAuthorizer(const iam::IdentityPolicySource& identities, KeyPolicyGuardrails guardrails);

  Status Authorize(const auth::RequestContext& ctx, std::string_view action, const KeyRecord* key,
                   const KmsRequestDetails& details = {}) const override;
  Status CheckNewKeyPolicy(const auth::RequestContext& ctx, const KeyRecord& key,
                           bool bypass_lockout) const override;

 private:
  Status Decide(const auth::RequestContext& ctx, std::string_view action, const KeyRecord* key,
                const iam::Policy* key_policy, const KmsRequestDetails& details) const;

  const iam::IdentityPolicySource& identities_;
  const KeyPolicyGuardrails guardrails_;
  iam::PolicyCache key_policies_{iam::PolicyKind::kResource};  // by key ARN
};

}  // namespace hangar::kms
