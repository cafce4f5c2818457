#include "iam/sts_api.h"

#include "iam/request_facts.h"

namespace hangar::iam {
namespace {

constexpr std::string_view kStsXmlns = "https://sts.amazonaws.com/doc/2011-06-15/";

std::string CredentialsXml(const TemporaryCredentials& c) {
  return "    <Credentials>\n      " + XmlElement("AccessKeyId", c.access_key_id) + "\n      " +
         XmlElement("SecretAccessKey", c.secret_access_key) + "\n      " +
         XmlElement("SessionToken", c.session_token) + "\n      " +
         XmlElement("Expiration", IsoTime(c.expires_ms)) + "\n    </Credentials>\n";
}

}  // namespace

Result<std::string> StsApi::Call(const auth::RequestContext& ctx, std::string_view form) {
  HANGAR_ASSIGN_OR_RETURN(QueryParams params, QueryParams::Parse(form));
  const std::string& action = params.action();
  const auth::Principal& caller = ctx.principal;
  if (action == "GetCallerIdentity") {
    // Always allowed: it needs no permission in AWS either.
    std::string result = "    " + XmlElement("Arn", caller.arn) + "\n    " +
                         XmlElement("UserId", caller.user_id) + "\n    " +
                         XmlElement("Account", caller.account_id) + "\n";
    return QueryResponseXml(kStsXmlns, action, result, ctx.request_id);
  }
  if (action == "AssumeRole") {
    HANGAR_ASSIGN_OR_RETURN(std::string role_arn, params.Required("RoleArn"));
    HANGAR_ASSIGN_OR_RETURN(std::string session, params.Required("RoleSessionName"));
    HANGAR_ASSIGN_OR_RETURN(int duration, params.Int("DurationSeconds", 0, 1 << 30, 0));
    const std::string policy = params.GetOr("Policy", "");
    RequestFacts facts = FactsFor(ctx, "sts:AssumeRole", role_arn);
    HANGAR_ASSIGN_OR_RETURN(TemporaryCredentials creds,
                            identities_.AssumeRole(caller, facts.context, role_arn, session,
                                                   duration, policy));
    std::string result = CredentialsXml(creds) + "    <AssumedRoleUser>\n      " +
                         XmlElement("AssumedRoleId", creds.assumed_role_id) + "\n      " +
                         XmlElement("Arn", creds.assumed_role_arn) +
                         "\n    </AssumedRoleUser>\n";
    if (!policy.empty()) {
      // AWS reports the packed session policy's share of its limit, in percent.
      result += "    " + XmlElement("PackedPolicySize", std::to_string(policy.size() * 100 / 2048)) +
                "\n";
    }
    return QueryResponseXml(kStsXmlns, action, result, ctx.request_id);
  }
  if (action == "GetSessionToken") {
    HANGAR_ASSIGN_OR_RETURN(int duration, params.Int("DurationSeconds", 0, 1 << 30, 0));
    HANGAR_ASSIGN_OR_RETURN(TemporaryCredentials creds,
                            identities_.GetSessionToken(caller, duration));
    return QueryResponseXml(kStsXmlns, action, CredentialsXml(creds), ctx.request_id);
  }
  if (action.empty()) {
    return Error(ErrorCode::kUnknownOperation, "Could not find operation for the request.");
  }
  return Error(ErrorCode::kUnknownOperation,
               "The action " + action + " is not valid for this web service.");
}

}  // namespace hangar::iam
