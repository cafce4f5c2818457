#include "iam/sts_api.h"

#include "common/strings.h"

namespace hangar::iam {
namespace {

constexpr std::string_view kStsXmlns = "https://sts.amazonaws.com/doc/2011-06-15/";

std::string Wrap(std::string_view action, std::string_view result, std::string_view request_id) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<";
  out.append(action).append("Response xmlns=\"").append(kStsXmlns).append("\">\n  <");
  out.append(action).append("Result>\n").append(result).append("  </").append(action);
  out.append("Result>\n  <ResponseMetadata>\n    <RequestId>").append(request_id);
  out.append("</RequestId>\n  </ResponseMetadata>\n</").append(action).append("Response>\n");
  return out;
}

}  // namespace

std::string QueryErrorXml(std::string_view xmlns, std::string_view code, std::string_view message,
                          std::string_view request_id, bool sender_fault) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"";
  out.append(xmlns).append("\">\n  <Error>\n    <Type>").append(sender_fault ? "Sender" : "Receiver");
  out.append("</Type>\n    <Code>").append(XmlEscape(code)).append("</Code>\n    <Message>");
  out.append(XmlEscape(message)).append("</Message>\n  </Error>\n  <RequestId>");
  out.append(request_id).append("</RequestId>\n</ErrorResponse>\n");
  return out;
}

Result<std::string> StsApi::Call(const auth::RequestContext& ctx, std::string_view form) {
  auto params = ParseQuery(form, /*plus_is_space=*/true);
  if (!params) return Error(ErrorCode::kMalformedQueryString, "The query string is malformed.");
  std::string action;
  for (const auto& [name, value] : *params) {
    if (name == "Action") action = value;
  }
  if (action == "GetCallerIdentity") {
    const auth::Principal& p = ctx.principal;
    std::string result = "    <Arn>" + XmlEscape(p.arn) + "</Arn>\n    <UserId>" +
                         XmlEscape(p.user_id) + "</UserId>\n    <Account>" +
                         XmlEscape(p.account_id) + "</Account>\n";
    return Wrap(action, result, ctx.request_id);
  }
  if (action.empty()) {
    return Error(ErrorCode::kUnknownOperation, "Could not find operation for the request.");
  }
  return Error(ErrorCode::kUnknownOperation,
               "The action " + action + " is not valid for this web service.");
}

}  // namespace hangar::iam
