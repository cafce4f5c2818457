#pragma once
// Router: the RequestHandler behind the server. For every request it
//   1. finds the service (SigV4 credential scope; X-Amz-Target or the body's shape when anonymous),
//   2. authenticates it (SigV4) and builds the RequestContext,
//   3. dispatches to that service's wire codec,
//   4. renders errors in the service's own dialect (JSON 1.1, S3 XML, query XML) and stamps the
//      request id on every response.
// Every request it answers (refused ones included) is counted in the metrics and recorded in the
// audit trail, when there is one: the response leaves only once its record is durable, and while
// the trail cannot be written nothing is served (fail closed; docs/audit.md).
// It also serves, only when enabled, POST /_hangar/dev/clock, signed by an account root (SigV4,
// service "hangar"); the web console's static files at /console/ (console_assets.h: unsigned
// path-style GET and HEAD only, neither authenticated nor audited); and the CORS preflight
// `OPTIONS /` of browsers calling the JSON and query APIs from another origin. Operator endpoints (metrics, health) live on their own listener
// (operator_endpoints.h), never on this one.
// Thread-safe: it holds no per-request state.

#include <functional>
#include <string>

#include "audit/cloudtrail_api.h"
#include "audit/securityhub_api.h"
#include "audit/sink.h"
#include "auth/sigv4.h"
#include "common/clock.h"
#include "http/console_assets.h"
#include "http/server.h"
#include "iam/iam_api.h"
#include "iam/sts_api.h"
#include "kms/kms_api.h"
#include "s3/s3_api.h"

namespace hangar::http {

class RequestObserver;

struct RouterOptions {
  std::string default_region = "us-east-1";
  // Metrics and the request log (request_observer.h); null: neither.
  RequestObserver* observer = nullptr;
  // HANGAR_DEV_CLOCK=1: POST /_hangar/dev/clock?advance=SECONDS exists.
  bool dev_clock = false;
  uint64_t max_api_body = 1 << 20;  // JSON and query bodies
  // Cluster mode: runs before every API request is admitted (app::ClusterCoherence::Sync); an
  // error refuses the request with it. It may block on the network, so with it set no API request
  // runs inline on an I/O thread. Empty: nothing runs.
  std::function<Status()> before_request;
  // The web console's files, served at /console/; null: no console (those paths are S3's).
  const ConsoleAssets* console = nullptr;
};

// The audit layer as the router sees it: where records go, and the APIs that read them back.
// All null: nothing is recorded and CloudTrail/Security Hub are not offered.
struct AuditServices {
  audit::AuditSink* sink = nullptr;
  const audit::CloudTrailApi* cloudtrail = nullptr;
  const audit::SecurityHubApi* securityhub = nullptr;
};

// What the dev clock endpoint calls: move the lifecycle clock and run due lifecycle work now.
using AdvanceClockFn = std::function<Status(std::chrono::seconds)>;

class Router final : public RequestHandler {
 public:
  Router(RouterOptions options, const auth::SigV4Verifier& verifier, kms::KmsApi& kms,
         iam::StsApi& sts, iam::IamApi& iam, s3::S3Api& s3, const Clock& lifecycle_clock,
         AdvanceClockFn advance_clock, AuditServices audit = {});

  RoutePlan Plan(const HttpRequest& request) override;
  Admission Admit(HttpRequest& request) override;
  HttpResponse Handle(HttpRequest& request) override;
  HttpResponse RenderError(const HttpRequest& request, const Status& status) override;
  void Completed(const HttpRequest& request, const CompletedExchange& exchange) override;

 private:
  enum class Service {
    kKms,
    kS3,
    kSts,
    kIam,
    kCloudTrail,
    kSecurityHub,
    kInternal,
    kConsole,    // the web console's static files
    kPreflight,  // a CORS preflight for the JSON and query APIs
    kUnknown,
  };
  // The service's name in eventSource, metrics and logs: "kms", "s3", ...
  static std::string_view SourceName(Service service);
  Service Detect(const HttpRequest& request) const;
  // Whether an unsigned request is for the console or an API preflight rather than S3: only when
  // it names no bucket in its Host (virtual-hosted S3 requests are always S3's).
  bool IsConsoleRequest(const HttpRequest& request) const;
  bool IsApiPreflight(const HttpRequest& request) const;
  // The CORS headers of `service`'s answer to `request` (S3: the bucket's rules).
  void AddCorsHeaders(Service service, const HttpRequest& request, HttpResponse& response);
  HttpResponse RenderErrorFor(Service service, const HttpRequest& request, const Status& status,
                              const std::string& request_id) const;
  // Authenticates `request` for `service`, filling `ctx`; `verified` receives the signature
  // details header-signed requests carry (aws-chunked bodies chain from them).
  Status Authenticate(Service service, const HttpRequest& request, auth::RequestContext& ctx,
                      std::optional<auth::VerifiedRequest>& verified) const;
  auth::RequestContext NewContext(const HttpRequest& request) const;
  HttpResponse HandleInternal(HttpRequest& request, const std::string& request_id);
  // The service's answer to an authenticated (or anonymous S3) request; `outcome` its error.
  HttpResponse Serve(Service service, HttpRequest& request, auth::RequestContext& ctx,
                     std::optional<auth::VerifiedRequest>& verified, Status& outcome);
  // Labels `response` for metrics and the request log; queues the request's audit record and
  // holds `response` until it is durable.
  HttpResponse Recorded(Service service, const HttpRequest& request,
                        const auth::RequestContext& ctx, const Status& outcome,
                        HttpResponse response) const;
  std::string EventName(Service service, const HttpRequest& request) const;
  // The dev clock is for tests, but it moves key deletion forward: only an account root may.
  Status AuthorizeDevClock(const HttpRequest& request) const;

  const RouterOptions options_;
  const auth::SigV4Verifier& verifier_;
  kms::KmsApi& kms_;
  iam::StsApi& sts_;
  iam::IamApi& iam_;
  s3::S3Api& s3_;
  const Clock& lifecycle_clock_;
  AdvanceClockFn advance_clock_;
  audit::AuditSink* const audit_;
  const audit::CloudTrailApi* const cloudtrail_;
  const audit::SecurityHubApi* const securityhub_;
};

}  // namespace hangar::http
