#include "iam/request_facts.h"

#include "common/strings.h"

namespace hangar::iam {
namespace {

std::string_view PrincipalTypeName(auth::PrincipalType type) {
  switch (type) {
    case auth::PrincipalType::kRoot:
      return "Account";
    case auth::PrincipalType::kUser:
      return "User";
    case auth::PrincipalType::kAssumedRole:
      return "AssumedRole";
    case auth::PrincipalType::kAnonymous:
      break;
  }
  return "Anonymous";
}

}  // namespace

RequestFacts FactsFor(const auth::RequestContext& ctx, std::string action, std::string resource) {
  const auth::Principal& p = ctx.principal;
  RequestFacts facts;
  facts.action = std::move(action);
  facts.resource = std::move(resource);
  ContextKeys& keys = facts.context;
  if (!p.anonymous()) {
    facts.principal_arn = p.arn;
    facts.principal_account = p.account_id;
    facts.role_arn = p.role_arn;
    // Policies name an assumed role by the role, not by the session (iam.md §3).
    keys["aws:principalarn"] = {p.type == auth::PrincipalType::kAssumedRole ? p.role_arn : p.arn};
    keys["aws:principalaccount"] = {p.account_id};
    keys["aws:userid"] = {p.user_id};
    if (p.type == auth::PrincipalType::kUser) keys["aws:username"] = {p.name};
  }
  keys["aws:principaltype"] = {std::string(PrincipalTypeName(p.type))};
  if (!ctx.source_ip.empty()) keys["aws:sourceip"] = {ctx.source_ip};
  keys["aws:securetransport"] = {ctx.secure_transport ? "true" : "false"};
  keys["aws:currenttime"] = {FormatIso8601(ctx.now, false)};
  keys["aws:epochtime"] = {
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(ctx.now.time_since_epoch())
                         .count())};
  if (!ctx.region.empty()) keys["aws:requestedregion"] = {ctx.region};
  keys["aws:viaawsservice"] = {ctx.via_service.empty() ? "false" : "true"};
  return facts;
}

void AddPrincipalTags(ContextKeys& keys, const TagList& tags) {
  // Condition key names are case-insensitive; the context holds them lower-case.
  for (const auto& [k, v] : tags) keys["aws:principaltag/" + ToLower(k)] = {v};
}

void AddRequestTags(ContextKeys& keys, const TagList& tags) {
  std::vector<std::string> names;
  for (const auto& [k, v] : tags) {
    keys["aws:requesttag/" + ToLower(k)] = {v};
    names.push_back(k);
  }
  AddTagKeys(keys, names);
}

void AddTagKeys(ContextKeys& keys, const std::vector<std::string>& tag_keys) {
  // Present even when empty: a request that sets no tags has an empty, not a missing, key set.
  keys["aws:tagkeys"] = tag_keys;
}

void AddResourceTags(ContextKeys& keys, const TagList& tags) {
  for (const auto& [k, v] : tags) keys["aws:resourcetag/" + ToLower(k)] = {v};
}

}  // namespace hangar::iam
