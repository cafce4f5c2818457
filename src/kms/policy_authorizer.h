#pragma once
// PolicyKeyAuthorizer: KMS authorisation by AWS's rules (iam.md §2, kms.md §12) — the key policy
// must allow (naming the caller, or naming its account and so delegating to IAM policies), an
// explicit deny anywhere wins, grants add the operations they list, and cross-account use needs
// the caller's own IAM policy too. Calls that name no key (CreateKey, ListKeys, ListAliases,
// GenerateRandom) are decided by IAM policies alone.
//
// Parsed key policies are cached per key and re-parsed only when a key's policy text changes.
// Thread-safe.

#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "iam/policy.h"
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
  Result<std::shared_ptr<const iam::Policy>> KeyPolicy(const KeyRecord& key) const;
  Status Decide(const auth::RequestContext& ctx, std::string_view action, const KeyRecord* key,
                const iam::Policy* key_policy, const KmsRequestDetails& details) const;

  const iam::IdentityPolicySource& identities_;
  const KeyPolicyGuardrails guardrails_;
  struct CachedPolicy {
    std::string text;
    std::shared_ptr<const iam::Policy> parsed;
  };
  mutable std::shared_mutex mutex_;
  mutable std::unordered_map<std::string, CachedPolicy> policies_;  // by key ARN
};

}  // namespace hangar::kms
