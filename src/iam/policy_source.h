#pragma once
// IdentityPolicySource: where the services' authorisers find a caller's identity-based policies,
// without knowing how IAM keeps them (IdentityStore implements it; tests use fakes).

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "auth/principal.h"
#include "common/result.h"
#include "iam/policy.h"

namespace hangar::iam {

// The policies that apply to a principal, parsed.
struct IdentityPolicies {
  std::vector<std::shared_ptr<const Policy>> policies;  // inline, attached, groups', role's
  std::shared_ptr<const Policy> session;                // AssumeRole's Policy parameter
  // The caller's tags (the user's; for an assumed role the role's): aws:PrincipalTag/<key>.
  std::vector<std::pair<std::string, std::string>> principal_tags;
};

class IdentityPolicySource {
 public:
  virtual ~IdentityPolicySource() = default;
  // The identity-based policies of `principal` (empty for root and anonymous callers).
  // Errors: kInternal on storage failure.
  virtual Result<IdentityPolicies> PoliciesFor(const auth::Principal& principal) const = 0;
};

}  // namespace hangar::iam
