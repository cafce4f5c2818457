#include "http/router.h"

#include <algorithm>
#include <any>
#include <charconv>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/strings.h"
#include "http/request_audit.h"
#include "http/request_observer.h"
#include "crypto/base64.h"
#include "crypto/digest.h"

namespace hangar::http {
namespace {

constexpr std::string_view kKmsTargetPrefix = "TrentService.";
constexpr std::string_view kJsonContentType = "application/x-amz-json-1.1";
constexpr std::string_view kStsXmlns = "https://sts.amazonaws.com/doc/2011-06-15/";
constexpr std::string_view kIamXmlns = "https://iam.amazonaws.com/doc/2010-05-08/";

std::string_view KmsOperation(const HttpRequest& request) {
  std::string_view target = request.headers.Get("x-amz-target");
  if (!target.starts_with(kKmsTargetPrefix)) return {};
  return target.substr(kKmsTargetPrefix.size());
}

std::string_view CloudTrailOperation(const HttpRequest& request) {
  std::string_view target = request.headers.Get("x-amz-target");
  for (std::string_view prefix :
       {audit::kCloudTrailTargetPrefix, audit::kCloudTrailShortTargetPrefix}) {
    if (target.starts_with(prefix)) return target.substr(prefix.size());
  }
  return {};
}

// The form of an IAM or STS request: the body of a POST, else the query string.
std::string_view QueryForm(const HttpRequest& request) {
  return request.method == "POST" ? std::string_view(request.body)
                                  : std::string_view(request.query);
}

std::string QueryAction(const HttpRequest& request) {
  auto params = ParseQuery(QueryForm(request), true);
  if (!params) return {};
  for (const auto& [name, value] : *params) {
    if (name == "Action") return value;
  }
  return {};
}

bool IsFormPost(const HttpRequest& request) {
  return request.method == "POST" &&
         ToLower(request.headers.Get("content-type")).starts_with("application/x-www-form-urlencoded");
}

// S3's x-amz-id-2 ("host id"): an opaque token for support cases; ours names the request.
std::string HostId(const std::string& request_id) {
  return crypto::Base64Encode(crypto::Sha256("hangar-host/" + request_id));
}

std::string SafeDump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Whether the request carries, or may carry, a SigV4 signature: an Authorization header, or the
// presigned-URL query parameters (a query that cannot be parsed counts as signed).
bool MaySign(const HttpRequest& request) {
  if (request.headers.Has("authorization")) return true;
  if (request.query.empty()) return false;
  auto params = ParseQuery(request.query, false);
  if (!params) return true;
  for (const auto& [name, value] : *params) {
    const std::string lower = ToLower(name);
    if (lower == "x-amz-signature" || lower == "x-amz-credential") return true;
  }
  return false;
}

// AWS lets any origin read these services' answers (errors too): they authenticate by signature,
// never by cookie, so a page learns nothing its own signed request did not already hold. Browsers
// may read only the response headers named here beyond the simple ones.
void AddApiCorsHeaders(const HttpRequest& request, HttpResponse& response) {
  if (!request.headers.Has("origin")) return;
  response.headers.Set("Access-Control-Allow-Origin", "*");
  response.headers.Set("Access-Control-Expose-Headers",
                       "x-amzn-RequestId, x-amzn-ErrorType, x-amz-request-id, Date");
}

// The answer to a browser's preflight before a cross-origin call to KMS, STS, IAM, CloudTrail or
// Security Hub, as permissive as AWS's: any origin, the methods these APIs use, whatever headers
// the SDK asks to send (Authorization, X-Amz-Date, X-Amz-Target, ...), cached for a day.
HttpResponse ApiPreflight(const HttpRequest& request, const std::string& request_id) {
  HttpResponse r;
  r.headers.Add("Access-Control-Allow-Origin", request.headers.Get("origin"));
  r.headers.Add("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, HEAD");
  if (std::string_view asked = request.headers.Get("access-control-request-headers");
      !asked.empty()) {
    r.headers.Add("Access-Control-Allow-Headers", asked);
  }
  r.headers.Add("Access-Control-Max-Age", "86400");
  r.headers.Add("Vary", "Origin");
  r.headers.Add("x-amzn-RequestId", request_id);
  return r;
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.headers.Add("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

}  // namespace

Router::Router(RouterOptions options, const auth::SigV4Verifier& verifier, kms::KmsApi& kms,
               iam::StsApi& sts, iam::IamApi& iam, s3::S3Api& s3, const Clock& lifecycle_clock,
               AdvanceClockFn advance_clock, AuditServices audit)
    : options_(std::move(options)),
      verifier_(verifier),
      kms_(kms),
      sts_(sts),
      iam_(iam),
      s3_(s3),
      lifecycle_clock_(lifecycle_clock),
      advance_clock_(std::move(advance_clock)),
      audit_(audit.sink),
      cloudtrail_(audit.cloudtrail),
      securityhub_(audit.securityhub) {}

bool Router::IsConsoleRequest(const HttpRequest& request) const {
  return options_.console != nullptr && (request.method == "GET" || request.method == "HEAD") &&
         ConsoleAssets::IsConsolePath(request.path) && !MaySign(request) &&
         !s3_.VirtualHosted(request);
}

// `OPTIONS /` path-style names no bucket, so S3 has no preflight to answer there (it answers 405).
// Security Hub's REST paths (/findings, /findings/batchupdate) are also a bucket "findings" and
// its objects, whose own CORS rules answer their preflights: those stay S3's.
bool Router::IsApiPreflight(const HttpRequest& request) const {
  return request.method == "OPTIONS" && request.path == "/" && request.headers.Has("origin") &&
         request.headers.Has("access-control-request-method") && !MaySign(request) &&
         !s3_.VirtualHosted(request);
}

Router::Service Router::Detect(const HttpRequest& request) const {
  // "_hangar" is not a valid bucket name, so these paths never shadow S3.
  if (options_.dev_clock && request.path.starts_with("/_hangar/")) return Service::kInternal;
  // "console" is a valid bucket name: a signed request to it still reaches S3, and so does any
  // virtual-hosted one, but an anonymous path-style read of a bucket named "console" is shadowed
  // by the console (docs/hardening.md).
  if (IsConsoleRequest(request)) return Service::kConsole;
  if (IsApiPreflight(request)) return Service::kPreflight;
  if (auto service = auth::PeekSigV4Service(request)) {
    if (*service == "kms") return Service::kKms;
    if (*service == "s3") return Service::kS3;
    if (*service == "sts") return Service::kSts;
    if (*service == "iam") return Service::kIam;
    if (*service == "cloudtrail" && cloudtrail_ != nullptr) return Service::kCloudTrail;
    if (*service == "securityhub" && securityhub_ != nullptr) return Service::kSecurityHub;
    return Service::kUnknown;
  }
  // Anonymous: guess from the request's shape so the error speaks the caller's protocol.
  if (!CloudTrailOperation(request).empty() && cloudtrail_ != nullptr) return Service::kCloudTrail;
  if (request.headers.Has("x-amz-target")) return Service::kKms;
  if (IsFormPost(request) && request.path == "/") {
    return request.body.find("Version=2010-05-08") != std::string::npos ? Service::kIam
                                                                         : Service::kSts;
  }
  return Service::kS3;
}

RoutePlan Router::Plan(const HttpRequest& request) {
  RoutePlan plan;
  plan.max_buffered_body = options_.max_api_body;
  Service service = Detect(request);
  if (service == Service::kConsole || service == Service::kPreflight) {
    plan.max_buffered_body = 0;  // GET, HEAD and OPTIONS carry no body here
    plan.run_inline = true;      // answered from memory
    return plan;
  }
  if (service == Service::kKms) plan.run_inline = kms::KmsApi::RunsInline(KmsOperation(request));
  if (service == Service::kS3) {
    s3::S3Api::BodyPlan body = s3_.Plan(request);
    plan.buffer_body = !body.stream;
    plan.max_buffered_body = body.max_buffered;
    plan.too_large = body.too_large;
    // Reads of buckets without a policy run where the request was parsed, as nginx serves files:
    // metadata and small bodies come from the page cache in microseconds, and a hop to the worker
    // pool would cost more than the work. A bucket policy means policy evaluation, which belongs
    // on a worker; writes (fsync) always go there.
    plan.run_inline = body.cheap_read;
  }
  if (options_.before_request) plan.run_inline = false;  // it may wait on the network
  return plan;
}

namespace {

// What Admit learnt, for Handle: the request's context (caller, region, time) and, for
// header-signed S3 requests, the verified signature that aws-chunked bodies chain from.
struct Admitted {
  auth::RequestContext ctx;
  std::optional<auth::VerifiedRequest> verified;
};

}  // namespace

auth::RequestContext Router::NewContext(const HttpRequest& request) const {
  auth::RequestContext ctx;
  ctx.request_id = NewRequestId();
  ctx.source_ip = request.remote_address;
  ctx.secure_transport = request.secure_transport;
  ctx.now = lifecycle_clock_.Now();
  ctx.user_agent = std::string(request.headers.Get("user-agent"));
  if (audit_ != nullptr) ctx.audit = std::make_shared<auth::AuditNotes>();
  return ctx;
}

// Before any body byte: S3 requests are authenticated in full (their signature covers a header
// claim about the body) and checked by S3Api::Admit (bucket exists, anonymous callers need a
// bucket policy that could allow them, single-action operations authorised); other services are
// checked as far as the header allows, and their bodies stay "unauthenticated" until Handle.
Admission Router::Admit(HttpRequest& request) {
  Admission admission;
  const Service service = Detect(request);
  if (service == Service::kInternal || service == Service::kUnknown ||
      service == Service::kConsole || service == Service::kPreflight) {
    return admission;
  }
  auth::RequestContext ctx = NewContext(request);
  auto refuse = [&](const Status& status) {
    HttpResponse rendered = RenderErrorFor(service, request, status, ctx.request_id);
    AddCorsHeaders(service, request, rendered);
    admission.refusal = Recorded(service, request, ctx, status, std::move(rendered));
    return std::move(admission);
  };
  if (audit_ != nullptr) {
    if (Status healthy = audit_->Healthy(); !healthy.ok()) return refuse(healthy);
  }
  // Before any cache is consulted (credentials at authentication, keys, buckets).
  if (options_.before_request) {
    if (Status in_step = options_.before_request(); !in_step.ok()) return refuse(in_step);
  }
  if (service == Service::kS3) {
    std::optional<auth::VerifiedRequest> verified;
    if (Status s = Authenticate(service, request, ctx, verified); !s.ok()) return refuse(s);
    if (Status s = s3_.Admit(ctx, request); !s.ok()) return refuse(s);
    admission.authenticated = !ctx.principal.anonymous();
    request.admitted = Admitted{std::move(ctx), std::move(verified)};
    return admission;
  }
  auto sig = auth::ParseSigV4(request);
  if (!sig.ok()) return refuse(sig.status());
  if (!*sig) return refuse(Error(ErrorCode::kMissingAuthentication, "Missing Authentication Token"));
  if (Status s = verifier_.CheckBeforeBody(request, **sig); !s.ok()) return refuse(s);
  return admission;
}

Status Router::Authenticate(Service service, const HttpRequest& request,
                            auth::RequestContext& ctx,
                            std::optional<auth::VerifiedRequest>& verified_out) const {
  HANGAR_ASSIGN_OR_RETURN(auto sig, auth::ParseSigV4(request));
  // S3 serves anonymous requests as far as bucket policies allow (S3Access decides).
  if (!sig && service == Service::kS3) return Status::Ok();
  if (!sig) {
    return Error(ErrorCode::kMissingAuthentication,
                 service == Service::kS3 ? "Access Denied" : "Missing Authentication Token");
  }
  std::string payload_hash;
  if (service == Service::kS3) {
    // S3 signs a claim about the body (x-amz-content-sha256); the payload reader holds the body to
    // it while it streams. Presigned URLs never sign the body.
    payload_hash = std::string(request.headers.Get("x-amz-content-sha256"));
    if (sig->kind == auth::SigV4Request::Kind::kQuery) {
      if (payload_hash.empty()) payload_hash = std::string(auth::kUnsignedPayload);
    } else if (payload_hash.empty()) {
      return Error(ErrorCode::kInvalidRequest,
                   "Missing required header for this request: x-amz-content-sha256");
    }
  } else {
    payload_hash = crypto::Sha256Hex(request.body);
  }
  HANGAR_ASSIGN_OR_RETURN(auth::VerifiedRequest verified,
                          verifier_.Verify(request, *sig, payload_hash));
  ctx.principal = verified.principal;
  ctx.auth_type = sig->kind == auth::SigV4Request::Kind::kQuery ? "REST-QUERY-STRING" : "REST-HEADER";
  if (auto signed_at = ParseAmzDate(verified.amz_date)) {
    // Signatures are judged on the wall clock, whatever the lifecycle clock says.
    ctx.signature_age_ms = std::max<int64_t>(
        0, ToUnixMillis(std::chrono::system_clock::now()) - ToUnixMillis(*signed_at));
  }
  ctx.region = verified.scope.region.empty() ? options_.default_region : verified.scope.region;
  verified_out = std::move(verified);
  return Status::Ok();
}

HttpResponse Router::Handle(HttpRequest& request) {
  const Service service = Detect(request);
  auth::RequestContext ctx;
  std::optional<auth::VerifiedRequest> verified;
  if (auto* admitted = std::any_cast<Admitted>(&request.admitted)) {
    ctx = std::move(admitted->ctx);
    verified = std::move(admitted->verified);
  } else {
    ctx = NewContext(request);
  }
  if (service == Service::kInternal) return HandleInternal(request, ctx.request_id);
  if (service == Service::kConsole) {
    return Recorded(service, request, ctx, Status::Ok(), options_.console->Serve(request));
  }
  if (service == Service::kPreflight) {
    return Recorded(service, request, ctx, Status::Ok(), ApiPreflight(request, ctx.request_id));
  }
  Status outcome;
  HttpResponse response = Serve(service, request, ctx, verified, outcome);
  if (ctx.audit && ctx.audit->caller) {
    // Authenticated by the service from the body (POST Object): the record names that caller.
    ctx.principal = *ctx.audit->caller;
    ctx.auth_type = ctx.audit->caller_auth_type;
  }
  AddCorsHeaders(service, request, response);  // errors too, as AWS does
  return Recorded(service, request, ctx, outcome, std::move(response));
}

void Router::AddCorsHeaders(Service service, const HttpRequest& request, HttpResponse& response) {
  switch (service) {
    case Service::kS3:
      s3_.AddCorsHeaders(request, response);
      break;
    case Service::kKms:
    case Service::kSts:
    case Service::kIam:
    case Service::kCloudTrail:
    case Service::kSecurityHub:
    case Service::kUnknown:  // answered in KMS's dialect
      AddApiCorsHeaders(request, response);
      break;
    case Service::kInternal:
    case Service::kConsole:    // same-origin only
    case Service::kPreflight:  // carries its own
      break;
  }
}

HttpResponse Router::Serve(Service service, HttpRequest& request, auth::RequestContext& ctx,
                           std::optional<auth::VerifiedRequest>& verified, Status& outcome) {
  const std::string& request_id = ctx.request_id;
  auto fail = [&](Status status) {
    outcome = std::move(status);
    return RenderErrorFor(service == Service::kUnknown ? Service::kKms : service, request, outcome,
                          request_id);
  };
  if (service == Service::kUnknown) {
    return fail(Error(ErrorCode::kUnknownOperation,
                      "The credential scope names a service this server does not offer."));
  }
  // Fail closed: nothing is served while its record could not be kept.
  if (audit_ != nullptr) {
    if (Status healthy = audit_->Healthy(); !healthy.ok()) return fail(healthy);
  }
  if (!request.admitted.has_value()) {
    // Not authenticated at admission (the signature covers the body), or called directly.
    Status auth = Authenticate(service, request, ctx, verified);
    if (!auth.ok()) return fail(auth);
  }

  HttpResponse response;
  switch (service) {
    case Service::kKms: {
      auto result = kms_.Call(ctx, KmsOperation(request), request.body);
      if (!result.ok()) return fail(result.status());
      response.headers.Add("Content-Type", kJsonContentType);
      response.body = std::move(result).value();
      break;
    }
    case Service::kCloudTrail: {
      auto result = cloudtrail_->Call(ctx, CloudTrailOperation(request), request.body);
      if (!result.ok()) return fail(result.status());
      response.headers.Add("Content-Type", kJsonContentType);
      response.body = std::move(result).value();
      break;
    }
    case Service::kSecurityHub: {
      auto result = securityhub_->Call(ctx, request.method, request.path, request.body);
      if (!result.ok()) return fail(result.status());
      response.headers.Add("Content-Type", "application/json");
      response.body = std::move(result).value();
      break;
    }
    case Service::kSts: {
      auto result = sts_.Call(ctx, QueryForm(request));
      if (!result.ok()) return fail(result.status());
      response.headers.Add("Content-Type", "text/xml");
      response.body = std::move(result).value();
      break;
    }
    case Service::kIam: {
      auto result = iam_.Call(ctx, QueryForm(request));
      if (!result.ok()) return fail(result.status());
      response.headers.Add("Content-Type", "text/xml");
      response.body = std::move(result).value();
      break;
    }
    case Service::kS3: {
      auto result = s3_.Handle(ctx, request, verified ? &*verified : nullptr);
      if (!result.ok()) return fail(result.status());
      response = std::move(result).value();
      break;
    }
    default:
      break;
  }
  const bool json_service = service == Service::kKms || service == Service::kCloudTrail ||
                            service == Service::kSecurityHub;
  response.headers.Add(json_service ? "x-amzn-RequestId" : "x-amz-request-id", request_id);
  if (service == Service::kS3) response.headers.Add("x-amz-id-2", HostId(request_id));
  return response;
}

std::string Router::EventName(Service service, const HttpRequest& request) const {
  switch (service) {
    case Service::kKms:
      return std::string(KmsOperation(request));
    case Service::kCloudTrail:
      return std::string(CloudTrailOperation(request));
    case Service::kSecurityHub:
      return audit::SecurityHubApi::OperationName(request.method, request.path);
    case Service::kSts:
    case Service::kIam:
      return QueryAction(request);
    case Service::kS3: {
      auth::AuditNotes notes;
      s3_.NoteForAudit(request, notes);
      return notes.event_name;
    }
    case Service::kConsole:
      return "GetConsoleAsset";
    case Service::kPreflight:
      return "PreflightRequest";
    default:
      return {};
  }
}

std::string_view Router::SourceName(Service service) {
  switch (service) {
    case Service::kKms: return "kms";
    case Service::kS3: return "s3";
    case Service::kSts: return "sts";
    case Service::kIam: return "iam";
    case Service::kCloudTrail: return "cloudtrail";
    case Service::kSecurityHub: return "securityhub";
    case Service::kInternal: return "hangar";
    case Service::kConsole: return "console";
    case Service::kPreflight: return "cors";
    case Service::kUnknown: break;
  }
  return "unknown";
}

HttpResponse Router::Recorded(Service service, const HttpRequest& request,
                              const auth::RequestContext& ctx, const Status& outcome,
                              HttpResponse response) const {
  // The dev clock, the console's static files and preflights are not API calls: AWS records
  // neither its console's page loads nor preflights in CloudTrail.
  const bool audited = audit_ != nullptr && service != Service::kInternal &&
                       service != Service::kConsole && service != Service::kPreflight;
  if (options_.observer == nullptr && !audited) return response;
  const std::string_view source = SourceName(service);
  if (service == Service::kS3 && ctx.audit) s3_.NoteForAudit(request, *ctx.audit);
  std::string event_name =
      service == Service::kS3 && ctx.audit ? ctx.audit->event_name : EventName(service, request);
  if (options_.observer != nullptr) {
    ExchangeLabels& labels = response.labels;
    labels.service = source;
    labels.operation = event_name;
    if (options_.observer->logging()) {
      labels.request_id = ctx.request_id;
      labels.principal_arn = ctx.principal.arn;
      if (!outcome.ok()) labels.error_code = std::string(WireErrorCode(source, outcome));
    }
  }
  if (!audited) return response;
  // A refusal because the trail cannot be written is not itself recorded: it could not be.
  if (outcome.code() == ErrorCode::kAuditUnavailable) return response;
  bool read_only = false;
  switch (service) {
    case Service::kKms:
      read_only = kms::KmsApi::IsReadOnly(event_name);
      break;
    case Service::kCloudTrail:
      read_only = audit::CloudTrailApi::IsReadOnly(event_name);
      break;
    case Service::kSecurityHub:
      read_only = event_name.starts_with("Get");
      break;
    case Service::kSts:
      read_only = true;  // as CloudTrail marks AssumeRole, GetSessionToken, GetCallerIdentity
      break;
    case Service::kIam:
      read_only = event_name.starts_with("Get") || event_name.starts_with("List");
      if (ctx.audit && ctx.audit->request_parameters.empty()) {
        ctx.audit->request_parameters = QueryRequestParameters(QueryForm(request));
      }
      break;
    case Service::kS3:
      read_only = request.method == "GET" || request.method == "HEAD";
      break;
    default:
      break;
  }
  if (service == Service::kSts && ctx.audit && ctx.audit->request_parameters.empty()) {
    ctx.audit->request_parameters = QueryRequestParameters(QueryForm(request));
  }
  audit::AuditEvent event = RequestEvent(
      RequestEventInput{source, event_name, read_only, request, response, ctx, outcome});
  event.event_time = lifecycle_clock_.Now();  // CloudTrail's eventTime: when the request completed
  HoldUntilRecorded(*audit_, event, ctx.audit, response);
  return response;
}

Status Router::AuthorizeDevClock(const HttpRequest& request) const {
  HANGAR_ASSIGN_OR_RETURN(auto sig, auth::ParseSigV4(request));
  if (!sig || sig->scope.service != "hangar") {
    return Error(ErrorCode::kAccessDenied,
                 "The dev clock takes requests signed by an account root for service 'hangar'.");
  }
  HANGAR_ASSIGN_OR_RETURN(auth::VerifiedRequest verified,
                          verifier_.Verify(request, *sig, crypto::Sha256Hex(request.body)));
  if (verified.principal.type != auth::PrincipalType::kRoot) {
    return Error(ErrorCode::kAccessDenied, "User: " + verified.principal.arn +
                                               " is not authorized to move the dev clock.");
  }
  return Status::Ok();
}

HttpResponse Router::HandleInternal(HttpRequest& request, const std::string& request_id) {
  if (request.path == "/_hangar/dev/clock") {
    // In cluster mode the clock is shared: catch up with the other nodes' moves (and their
    // credential changes) first.
    if (options_.before_request) {
      if (Status in_step = options_.before_request(); !in_step.ok()) {
        return JsonResponse(503, SafeDump(nlohmann::json{{"error", in_step.message()}}));
      }
    }
    if (Status allowed = AuthorizeDevClock(request); !allowed.ok()) {
      return JsonResponse(403, SafeDump(nlohmann::json{{"__type", WireOf(allowed.code()).json_type},
                                                       {"error", allowed.message()}}));
    }
    if (request.method == "POST") {
      // At most a century at a time: far beyond any deletion window, far below overflow.
      constexpr int64_t kMaxAdvanceSeconds = 100LL * 36525 * 864;
      auto params = ParseQuery(request.query, false);
      std::string advance;
      if (params) {
        for (const auto& [k, v] : *params) {
          if (k == "advance") advance = v;
        }
      }
      int64_t seconds = 0;
      auto [end, ec] = std::from_chars(advance.data(), advance.data() + advance.size(), seconds);
      if (advance.empty() || ec != std::errc() || end != advance.data() + advance.size() ||
          seconds < 0 || seconds > kMaxAdvanceSeconds) {
        return JsonResponse(400, R"({"error":"advance must be a whole number of seconds from 0 to )" +
                                     std::to_string(kMaxAdvanceSeconds) + R"("})");
      }
      Status s = advance_clock_(std::chrono::seconds(seconds));
      if (!s.ok()) {
        // A move past the clock's cap is the caller's error (400), a store failure ours (5xx).
        return JsonResponse(WireOf(s.code()).json_status,
                            SafeDump(nlohmann::json{{"__type", WireOf(s.code()).json_type},
                                                    {"error", s.message()}}));
      }
    } else if (request.method != "GET") {
      return JsonResponse(405, R"({"error":"use GET or POST"})");
    }
    TimePoint now = lifecycle_clock_.Now();
    return JsonResponse(200, nlohmann::json{{"now", FormatIso8601(now, true)},
                                            {"epoch_ms", ToUnixMillis(now)},
                                            {"request_id", request_id}}
                                 .dump());
  }
  return JsonResponse(404, R"({"error":"no such endpoint"})");
}

HttpResponse Router::RenderError(const HttpRequest& request, const Status& status) {
  const Service service = Detect(request);
  auth::RequestContext ctx = NewContext(request);
  HttpResponse rendered = RenderErrorFor(service, request, status, ctx.request_id);
  // S3's bucket rules are not read here (this may run on an I/O thread); S3 answers without them.
  if (service != Service::kS3) AddCorsHeaders(service, request, rendered);
  return Recorded(service, request, ctx, status, std::move(rendered));
}

void Router::Completed(const HttpRequest& request, const CompletedExchange& exchange) {
  if (options_.observer != nullptr) options_.observer->Observe(request, exchange);
}

HttpResponse Router::RenderErrorFor(Service service, const HttpRequest& request,
                                    const Status& status, const std::string& request_id) const {
  const ErrorWire& wire = WireOf(status.code());
  if (status.code() == ErrorCode::kInternal || status.code() == ErrorCode::kConflict) {
    spdlog::error("request {} failed: {}", request_id, status.ToString());
  }
  HttpResponse r;
  switch (service) {
    case Service::kConsole:
      return ConsoleAssets::ErrorPage(wire.json_status, status.message());
    case Service::kKms:
    case Service::kCloudTrail:
    case Service::kSecurityHub:
    case Service::kUnknown:
    case Service::kInternal:
    case Service::kPreflight: {
      r.status = wire.json_status;
      // Security Hub speaks REST-JSON, where a refusal is 403 (KMS answers 400).
      if (service == Service::kSecurityHub && status.code() == ErrorCode::kAccessDenied) {
        r.status = 403;
      }
      // AWS sends a capital "Message" for AccessDeniedException, lower-case elsewhere.
      const char* message_key = status.code() == ErrorCode::kAccessDenied ? "Message" : "message";
      // Messages may quote client bytes (a mangled Authorization header): never let invalid UTF-8
      // turn an error answer into a crash of the handler.
      r.body = SafeDump(nlohmann::json{{"__type", wire.json_type}, {message_key, status.message()}});
      r.headers.Add("Content-Type", kJsonContentType);
      r.headers.Add("X-Amzn-ErrorType", wire.json_type);
      r.headers.Add("x-amzn-RequestId", request_id);
      break;
    }
    case Service::kSts:
    case Service::kIam: {
      r.status = wire.query_status;
      r.body = iam::QueryErrorXml(service == Service::kSts ? kStsXmlns : kIamXmlns,
                                  wire.query_code, status.message(), request_id,
                                  wire.query_status < 500);
      r.headers.Add("Content-Type", "text/xml");
      r.headers.Add("x-amzn-RequestId", request_id);
      break;
    }
    case Service::kS3: {
      r.status = wire.xml_status;
      r.headers.Add("x-amz-request-id", request_id);
      r.headers.Add("x-amz-id-2", HostId(request_id));
      for (const auto& [name, value] : status.headers()) r.headers.Add(name, value);
      if (status.code() == ErrorCode::kNotModified) break;  // 304 carries no body
      std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>";
      body += XmlEscape(wire.xml_code);
      body += "</Code><Message>";
      body += XmlEscape(status.message());
      body += "</Message>";
      for (const auto& [name, value] : status.fields()) {
        body += "<" + name + ">" + XmlEscape(value) + "</" + name + ">";
      }
      body += "<Resource>" + XmlEscape(request.path) + "</Resource>";
      body += "<RequestId>" + request_id + "</RequestId><HostId>" + HostId(request_id) +
              "</HostId></Error>";
      r.body = std::move(body);
      r.headers.Add("Content-Type", "application/xml");
      break;
    }
  }
  return r;
}

}  // namespace hangar::http
