#include "iam/request_facts.h"

#include "common/strings.h"

namespace hangar::iam {
namespace {

const char* PrincipalType(auth::PrincipalType type) {
  switch (type) {
    case auth::PrincipalType::kRoot: return "Account";
    case auth::PrincipalType::kUser: return "User";
    case auth::PrincipalType::kAssumedRole: return "AssumedRole";
    case auth::PrincipalType::kAnonymous: break;
  }
  return "Anonymous";
}

}  // namespace

RequestFacts FactsFor(const auth::RequestContext& ctx, std::string action, std::string resource) {
  const auth::Principal& p = ctx.principal;
  RequestFacts facts;
  facts.principal_arn = p.arn;
  facts.principal_account = p.account_id;
  facts.role_arn = p.role_arn;
  facts.action = std::move(action);
  facts.resource = std::move(resource);
  ContextKeys& keys = facts.context;
  if (!p.anonymous()) {
    // Policies name roles by their IAM ARN, so for a session aws:PrincipalArn is the role's.
    keys["aws:principalarn"] = {p.role_arn.empty() ? p.arn : p.role_arn};
    keys["aws:principalaccount"] = {p.account_id};
    keys["aws:userid"] = {p.user_id};
    if (p.type == auth::PrincipalType::kUser) keys["aws:username"] = {p.name};
  }
  keys["aws:principaltype"] = {PrincipalType(p.type)};
  if (!ctx.source_ip.empty()) keys["aws:sourceip"] = {ctx.source_ip};
  keys["aws:securetransport"] = {ctx.secure_transport ? "true" : "false"};
  keys["aws:currenttime"] = {FormatIso8601(ctx.now, /*with_millis=*/false)};
  keys["aws:epochtime"] = {std::to_string(ToUnixMillis(ctx.now) / 1000)};
  if (!ctx.region.empty()) keys["aws:requestedregion"] = {ctx.region};
  keys["aws:viaawsservice"] = {ctx.via_service.empty() ? "false" : "true"};
  return facts;
}

}  // namespace hangar::iam
