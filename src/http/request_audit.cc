#include "http/request_audit.h"

#include <mutex>
#include <optional>

#include <nlohmann/json.hpp>

#include "auth/sigv4.h"
#include "common/json_writer.h"
#include "common/strings.h"

namespace hangar::http {
namespace {

using json = nlohmann::json;

std::string LowerFirst(std::string name) {
  if (!name.empty()) name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
  return name;
}

// Parameters whose values are secrets: left out of every record.
bool IsSecretParameter(std::string_view name) {
  for (std::string_view secret : {"Password", "NewPassword", "OldPassword", "SecretAccessKey",
                                  "TokenCode", "SessionToken", "SAMLAssertion",
                                  "WebIdentityToken", "ProviderId"}) {
    if (name == secret) return true;
  }
  return false;
}

std::string S3RequestParameters(const RequestEventInput& in, const auth::AuditNotes& notes) {
  if (!notes.request_parameters.empty()) return notes.request_parameters;
  std::string params;
  JsonObjectWriter writer(params);
  writer.String("Host", in.request.headers.Get("host"));
  writer.Finish();
  return params;
}

// S3 answers with its SSE outcome in headers; CloudTrail records them as responseElements. The
// SSE-C key and its digest are never among them.
std::string S3ResponseElements(const HttpResponse& response) {
  std::string elements;
  std::optional<JsonObjectWriter> writer;
  for (const auto& field : response.headers.fields()) {
    const std::string name = ToLower(field.name);
    if ((name.starts_with("x-amz-server-side-encryption") && name.find("customer-key") ==
                                                                 std::string::npos) ||
        name == "x-amz-version-id") {
      if (!writer) writer.emplace(elements);
      writer->String(name, field.value);  // header names need no escaping
    }
  }
  if (!writer) return {};
  writer->Finish();
  return elements;
}

// Written by hand on the common path (nothing noted): this runs for every S3 request.
std::string S3AdditionalData(const RequestEventInput& in, const auth::AuditNotes& notes) {
  const bool anonymous = in.ctx.principal.anonymous();
  const std::string_view method =
      in.ctx.auth_type == "REST-QUERY-STRING" ? "QueryString" : "AuthHeader";
  const uint64_t bytes_in = in.request.content_length.value_or(0);
  const uint64_t bytes_out =
      in.response.body_source ? in.response.body_length : in.response.body.size();
  if (notes.additional_event_data.empty()) {
    std::string data;
    JsonObjectWriter writer(data);
    if (!anonymous) writer.String("SignatureVersion", "SigV4");
    writer.String("AuthenticationMethod", method);
    writer.Number("bytesTransferredIn", bytes_in);
    writer.Number("bytesTransferredOut", bytes_out);
    writer.Finish();
    return data;
  }
  json data = json::parse(notes.additional_event_data, nullptr, false);
  if (!data.is_object()) data = json::object();
  data.update(json{{"SignatureVersion", "SigV4"},
                   {"AuthenticationMethod", method},
                   {"bytesTransferredIn", bytes_in},
                   {"bytesTransferredOut", bytes_out}});
  if (anonymous) data.erase("SignatureVersion");
  return data.dump();
}

}  // namespace

std::string QueryRequestParameters(std::string_view form) {
  auto params = ParseQuery(form, /*plus_is_space=*/true);
  if (!params) return {};
  json out = json::object();
  for (const auto& [name, value] : *params) {
    if (name == "Action" || name == "Version" || IsSecretParameter(name)) continue;
    if (!IsValidUtf8(name) || !IsValidUtf8(value)) continue;
    out[LowerFirst(name)] = value;
  }
  return out.empty() ? std::string() : out.dump();
}

std::string_view WireErrorCode(std::string_view service, const Status& status) {
  const ErrorWire& wire = WireOf(status.code());
  if (service == "s3") return wire.xml_code;
  if (service == "iam" || service == "sts") return wire.query_code;
  return wire.json_type;
}

audit::AuditEvent RequestEvent(const RequestEventInput& in) {
  static const auth::AuditNotes kNoNotes;
  const auth::AuditNotes& notes = in.ctx.audit ? *in.ctx.audit : kNoNotes;
  audit::AuditEvent e;
  e.event_time = in.ctx.now;
  e.event_id = NewRequestId();
  e.event_source = std::string(in.service) + ".amazonaws.com";
  e.event_name = notes.event_name.empty() ? in.event_name : notes.event_name;
  e.region = in.ctx.region.empty() ? std::string("us-east-1") : in.ctx.region;
  e.principal = in.ctx.principal;
  e.account_id = in.ctx.principal.account_id;
  if (in.ctx.principal.anonymous()) {
    auto sig = auth::ParseSigV4(in.request);
    if (sig.ok() && *sig) e.claimed_access_key_id = (*sig)->scope.access_key_id;
  }
  e.source_ip = in.ctx.source_ip;
  e.user_agent = in.ctx.user_agent;
  if (!in.outcome.ok()) {
    e.error_code = std::string(WireErrorCode(in.service, in.outcome));
    e.error_message = in.outcome.message();
  }
  e.read_only = notes.read_only.value_or(in.read_only);
  e.management_event = !notes.data_event.value_or(false);
  e.resources = notes.resources;
  e.recipient_account_id = notes.recipient_account_id;
  // Resources noted before their owner was known (S3 buckets and objects) belong to the recipient.
  for (auto& resource : e.resources) {
    if (resource.account_id.empty()) {
      resource.account_id = e.recipient_account_id.empty() ? e.account_id : e.recipient_account_id;
    }
  }
  e.request_id = in.ctx.request_id;
  if (in.service == "s3") {
    e.request_parameters = S3RequestParameters(in, notes);
    if (in.outcome.ok() && !e.read_only) e.response_elements = S3ResponseElements(in.response);
    e.additional_event_data = S3AdditionalData(in, notes);
  } else {
    e.request_parameters = notes.request_parameters;
    if (in.outcome.ok()) e.response_elements = notes.response_elements;
    e.additional_event_data = notes.additional_event_data;
  }
  return e;
}

void HoldUntilRecorded(audit::AuditSink& sink, const audit::AuditEvent& event,
                       std::shared_ptr<auth::AuditNotes> notes, HttpResponse& response) {
  // The record may become durable before or after the server asks: whichever comes second
  // answers the server.
  struct Rendezvous {
    std::mutex mu;
    std::optional<Status> outcome;
    std::function<void(const Status&)> ready;
  };
  auto state = std::make_shared<Rendezvous>();
  sink.Append(event, [state, notes = std::move(notes)](const Status& written) {
    Status s = written;
    if (s.ok() && notes && notes->related_record_failed.load()) {
      s = Error(ErrorCode::kAuditUnavailable,
                "The audit record of a KMS call made for this request could not be written; the "
                "request was not served.");
    }
    std::function<void(const Status&)> ready;
    {
      std::lock_guard lock(state->mu);
      if (!state->ready) {
        state->outcome = s;
        return;
      }
      ready = std::move(state->ready);
    }
    ready(s);
  });
  response.release = [state](std::function<void(const Status&)> ready) {
    std::optional<Status> outcome;
    {
      std::lock_guard lock(state->mu);
      if (!state->outcome) {
        state->ready = std::move(ready);
        return;
      }
      outcome = state->outcome;
    }
    ready(*outcome);
  };
}

}  // namespace hangar::http
