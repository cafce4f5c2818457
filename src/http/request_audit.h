#pragma once
// The audit record of one API request (audit/event.h): what the router knows (caller, source,
// operation, outcome) merged with what the services noted while serving it (resources,
// parameters, responses; auth::AuditNotes).

#include <string>
#include <string_view>

#include "audit/event.h"
#include "audit/sink.h"
#include "auth/request_context.h"
#include "common/http_message.h"

namespace hangar::http {

struct RequestEventInput {
  std::string_view service;  // "kms", "s3", "sts", "iam", "cloudtrail"
  std::string event_name;
  bool read_only = false;
  const HttpRequest& request;
  const HttpResponse& response;
  const auth::RequestContext& ctx;
  const Status& outcome;
};

audit::AuditEvent RequestEvent(const RequestEventInput& input);

// The error code `service` ("s3", "iam", "kms", ...) puts on the wire for `status`: S3's XML code,
// the query protocol's code, or the JSON protocols' __type.
std::string_view WireErrorCode(std::string_view service, const Status& status);

// Queues `event` now and sets response.release so that the response leaves only once the record
// is durable.
// A record made on the request's behalf that failed (AuditNotes::related_record_failed) fails it
// too: records are written in the order they were queued, so that one's outcome is known by then.
void HoldUntilRecorded(audit::AuditSink& sink, const audit::AuditEvent& event,
                       std::shared_ptr<auth::AuditNotes> notes, HttpResponse& response);

// Form parameters of an IAM or STS request as CloudTrail's requestParameters: camelCase names,
// Action and Version left out, and never a password or secret.
std::string QueryRequestParameters(std::string_view form);

}  // namespace hangar::http
