#include "app/identity_authorizer.h"

#include "iam/policy.h"
#include "iam/request_facts.h"

namespace hangar::app {

audit::IdentityAuthorizer IdentityPolicyAuthorizer(const iam::IdentityStore& identities) {
  return [&identities](const auth::RequestContext& ctx, std::string_view action) -> Status {
    iam::RequestFacts facts = iam::FactsFor(ctx, std::string(action), "*");
    HANGAR_ASSIGN_OR_RETURN(iam::IdentityPolicies identity, identities.PoliciesFor(ctx.principal));
    iam::AddPrincipalTags(facts.context, identity.principal_tags);
    iam::PolicySet set;
    for (const auto& policy : identity.policies) set.identity.push_back(policy.get());
    set.session = identity.session.get();
    set.resource_account = ctx.principal.account_id;
    iam::AuthorizationResult result = iam::Authorize(facts, set);
    if (result.decision == iam::Decision::kAllowed) return Status::Ok();
    return Error(ErrorCode::kAccessDenied,
                 "User: " + ctx.principal.arn + " is not authorized to perform: " +
                     std::string(action) + " on resource: *" +
                     iam::DenialSuffix(result, action));
  };
}

}  // namespace hangar::app
