#pragma once
// Authorisation for services that have only identity policies (CloudTrail's LookupEvents): the
// caller's IAM policies, session policy and permission boundary, as IAM's own actions are judged.

#include "audit/cloudtrail_api.h"
#include "iam/identity_store.h"

namespace hangar::app {

// Allows `action` on "*" when the caller's identity policies do (the account root always).
// Errors: kAccessDenied with AWS's text.
audit::IdentityAuthorizer IdentityPolicyAuthorizer(const iam::IdentityStore& identities);

}  // namespace hangar::app
