#include "audit/event.h"

#include "common/json_writer.h"
#include "common/strings.h"

namespace hangar::audit {

std::string_view IdentityType(const auth::Principal& principal) {
  switch (principal.type) {
    case auth::PrincipalType::kRoot:
      return "Root";
    case auth::PrincipalType::kUser:
      return "IAMUser";
    case auth::PrincipalType::kAssumedRole:
      return "AssumedRole";
    case auth::PrincipalType::kAnonymous:
      break;
  }
  return "AWSAccount";
}

namespace {

// The record is written by hand rather than through a JSON tree: it is built for every request,
// and a tree (allocations per member, then a dump) cost more than the request itself.

void WriteUserIdentity(std::string& out, const AuditEvent& e) {
  if (!e.principal) {
    out += "{\"accountId\":";
    AppendJsonString(out, e.account_id);
    out += ",\"invokedBy\":\"AWS Internal\"}";
    return;
  }
  const auth::Principal& p = *e.principal;
  if (p.anonymous()) {
    if (!e.claimed_access_key_id.empty()) {
      out += "{\"type\":\"Unknown\",\"accessKeyId\":";
      AppendJsonString(out, e.claimed_access_key_id);
      out += "}";
    } else {
      out += "{\"type\":\"AWSAccount\",\"principalId\":\"\",\"accountId\":\"anonymous\"}";
    }
    return;
  }
  JsonObjectWriter id(out);
  id.String("type", IdentityType(p));
  id.String("principalId", p.user_id);
  id.String("arn", p.arn);
  id.String("accountId", p.account_id);
  id.String("accessKeyId", p.access_key_id);
  if (p.type == auth::PrincipalType::kUser) id.String("userName", p.name);
  if (p.type == auth::PrincipalType::kAssumedRole) {
    std::string session = "{\"sessionIssuer\":";
    JsonObjectWriter issuer(session);
    issuer.String("type", "Role");
    issuer.String("principalId", p.user_id.substr(0, p.user_id.find(':')));
    issuer.String("arn", p.role_arn);
    issuer.String("accountId", p.account_id);
    issuer.String("userName", p.role_name);
    issuer.Finish();
    session += ",\"attributes\":{\"mfaAuthenticated\":\"false\"}}";
    id.Raw("sessionContext", session);
  }
  if (!e.invoked_by.empty()) id.String("invokedBy", e.invoked_by);
  id.Finish();
}

}  // namespace

std::string ToCloudTrailJson(const AuditEvent& e) {
  std::string out;
  out.reserve(1024 + e.request_parameters.size() + e.response_elements.size());
  JsonObjectWriter w(out);
  w.String("eventVersion", "1.11");
  std::string identity;
  WriteUserIdentity(identity, e);
  w.Raw("userIdentity", identity);
  w.String("eventTime", FormatIso8601(e.event_time, /*with_millis=*/false));
  w.String("eventSource", e.event_source);
  w.String("eventName", e.event_name);
  w.String("awsRegion", e.region);
  w.String("sourceIPAddress", e.source_ip);
  w.String("userAgent", e.user_agent);
  if (!e.error_code.empty()) {
    w.String("errorCode", e.error_code);
    w.String("errorMessage", e.error_message);
  }
  w.Embedded("requestParameters", e.request_parameters);
  w.Embedded("responseElements", e.response_elements);
  if (!e.additional_event_data.empty()) {
    w.Embedded("additionalEventData", e.additional_event_data);
  }
  w.String("requestID", e.request_id);
  w.String("eventID", e.event_id);
  w.Bool("readOnly", e.read_only);
  if (!e.resources.empty()) {
    std::string resources = "[";
    for (size_t i = 0; i < e.resources.size(); ++i) {
      if (i > 0) resources += ',';
      JsonObjectWriter r(resources);
      r.String("accountId", e.resources[i].account_id);
      r.String("type", e.resources[i].type);
      r.String("ARN", e.resources[i].arn);
      r.Finish();
    }
    resources += ']';
    w.Raw("resources", resources);
  }
  w.String("eventType", e.event_type);
  w.Bool("managementEvent", e.management_event);
  w.String("recipientAccountId",
           e.recipient_account_id.empty() ? e.account_id : e.recipient_account_id);
  w.String("eventCategory", e.management_event ? "Management" : "Data");
  w.Finish();
  return out;
}

}  // namespace hangar::audit
