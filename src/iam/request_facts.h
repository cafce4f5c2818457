#pragma once
// FactsFor: the RequestFacts every authoriser (IAM, STS, KMS, S3) starts from — the caller and
// the global aws:* condition keys of docs/reference/iam.md §3. Services add their own keys
// (kms:*, s3:*) to the returned context.

#include <string>
#include <utility>
#include <vector>

#include "auth/request_context.h"
#include "iam/policy.h"

namespace hangar::iam {

// Fills principal_arn / principal_account / role_arn from ctx.principal, `action` and `resource`,
// and the context keys (lower-case): aws:principalarn (the role's ARN for assumed roles),
// aws:principalaccount, aws:principaltype, aws:userid, aws:username (users only),
// aws:sourceip, aws:securetransport, aws:currenttime, aws:epochtime, aws:requestedregion,
// aws:viaawsservice. Anonymous callers get no principal keys.
RequestFacts FactsFor(const auth::RequestContext& ctx, std::string action, std::string resource);

using TagList = std::vector<std::pair<std::string, std::string>>;

// aws:PrincipalTag/<key> for each of the caller's tags.
void AddPrincipalTags(ContextKeys& keys, const TagList& tags);
// A request that sets tags: aws:RequestTag/<key> for each and aws:TagKeys (all keys, as sent).
void AddRequestTags(ContextKeys& keys, const TagList& tags);
// A request that only names tag keys (UntagResource): aws:TagKeys.
void AddTagKeys(ContextKeys& keys, const std::vector<std::string>& tag_keys);
// aws:ResourceTag/<key> for each of the resource's tags.
void AddResourceTags(ContextKeys& keys, const TagList& tags);

}  // namespace hangar::iam
