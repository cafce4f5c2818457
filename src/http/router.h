#pragma once
// Router: the RequestHandler behind the server. For every request it
//   1. finds the service (SigV4 credential scope; X-Amz-Target or the body's shape when anonymous),
//   2. authenticates it (SigV4) and builds the RequestContext,
//   3. dispatches to that service's wire codec,
//   4. renders errors in the service's own dialect (JSON 1.1, S3 XML, query XML) and stamps the
//      request id on every response.
// It also serves, only when enabled, POST /_hangar/dev/clock, signed by an account root (SigV4,
// service "hangar"). Operator endpoints (metrics, health) live on their own listener
// (operator_endpoints.h), never on this one.
// Thread-safe: it holds no per-request state.

#include <functional>
#include <string>

#include "auth/sigv4.h"
#include "common/clock.h"
#include "http/server.h"
#include "iam/iam_api.h"
#include "iam/sts_api.h"
#include "kms/kms_api.h"
#include "s3/s3_api.h"

namespace hangar::http {

struct RouterOptions {
  std::string default_region = "us-east-1";
  // HANGAR_DEV_CLOCK=1: POST /_hangar/dev/clock?advance=SECONDS exists.
  bool dev_clock = false;
  uint64_t max_api_body = 1 << 20;  // JSON and query bodies
};

// What the dev clock endpoint calls: move the lifecycle clock and run due lifecycle work now.
using AdvanceClockFn = std::function<Status(std::chrono::seconds)>;

class Router final : public RequestHandler {
 public:
  Router(RouterOptions options, const auth::SigV4Verifier& verifier, kms::KmsApi& kms,
         iam::StsApi& sts, iam::IamApi& iam, s3::S3Api& s3, const Clock& lifecycle_clock,
         AdvanceClockFn advance_clock);

  RoutePlan Plan(const HttpRequest& request) override;
  Admission Admit(HttpRequest& request) override;
  HttpResponse Handle(HttpRequest& request) override;
  HttpResponse RenderError(const HttpRequest& request, const Status& status) override;

 private:
  enum class Service { kKms, kS3, kSts, kIam, kInternal, kUnknown };
  Service Detect(const HttpRequest& request) const;
  HttpResponse RenderErrorFor(Service service, const HttpRequest& request, const Status& status,
                              const std::string& request_id) const;
  // Authenticates `request` for `service`, filling `ctx`; `verified` receives the signature
  // details header-signed requests carry (aws-chunked bodies chain from them).
  Status Authenticate(Service service, const HttpRequest& request, auth::RequestContext& ctx,
                      std::optional<auth::VerifiedRequest>& verified) const;
  auth::RequestContext NewContext(const HttpRequest& request) const;
  HttpResponse HandleInternal(HttpRequest& request, const std::string& request_id);
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
};

}  // namespace hangar::http
