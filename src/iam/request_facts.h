#pragma once
// FactsFor: the global condition keys (aws:*) every authorisation sees, built once from the
// request context (iam.md §3). Services add their own keys (kms:*, s3:*) to the result.

#include <string>

#include "auth/request_context.h"
#include "iam/policy.h"

namespace hangar::iam {

// The request as the policy engine sees it: the caller's ARNs and account, `action`
// ("kms:Decrypt") on `resource` (an ARN or "*"), and aws:PrincipalArn, aws:PrincipalAccount,
// aws:PrincipalType, aws:userid, aws:username (users only), aws:SourceIp, aws:SecureTransport,
// aws:CurrentTime, aws:EpochTime, aws:RequestedRegion, aws:ViaAWSService.
RequestFacts FactsFor(const auth::RequestContext& ctx, std::string action, std::string resource);

}  // namespace hangar::iam
