#pragma once
// S3Api: the S3 REST/XML codec. Finds the bucket and key (path-style or virtual-hosted), decides
// the operation from method, path and sub-resource, turns headers and XML bodies into S3Service
// inputs, and renders results as AWS does (docs/reference/s3.md). Errors are returned as
// Status; the router renders them as S3 error XML. The operations are a table (s3/api_ops.h).

#include <optional>
#include <string>
#include <vector>

#include "auth/request_context.h"
#include "auth/sigv4.h"
#include "common/http_message.h"
#include "common/result.h"
#include "s3/s3_service.h"

namespace hangar::s3 {

struct S3ApiOptions {
  // Virtual-hosted style: "<bucket>.<domain>" for each of these domains.
  std::vector<std::string> virtual_host_domains = {"s3.localhost"};
  uint64_t max_xml_body = 8 << 20;
  uint64_t small_put = 64 * 1024;  // PUT bodies up to this size are read before dispatch
  // The router's verifier, for the signed policies of POST Object forms (api_post_object.cc),
  // which arrive without request authentication. Null: POST Object answers NotImplemented.
  const auth::SigV4Verifier* post_signatures = nullptr;
};

class S3Api {
 public:
  S3Api(S3Service& service, S3ApiOptions options);

  struct BodyPlan {
    bool stream = false;     // the handler reads the body itself (object and part uploads)
    uint64_t max_buffered = 0;
    std::optional<Status> too_large;  // the answer to a body over max_buffered
    bool cheap_read = false;          // a GET/HEAD that needs no policy evaluation
  };
  BodyPlan Plan(const HttpRequest& request) const;

  // Whether the request names its bucket in the Host header ("<bucket>.<domain>" for one of
  // options.virtual_host_domains) rather than in the path.
  bool VirtualHosted(const HttpRequest& request) const;

  // Checks that need no body, before any of it is read (docs/hardening.md item 11): the bucket
  // exists, anonymous callers face a policy that could allow them, and operations with one
  // required action are authorised. Requests without a body pass (Handle checks them).
  Status Admit(const auth::RequestContext& ctx, const HttpRequest& request);
  // What the request's audit record says of it: the operation's name (PutObject, ...), whether it
  // is a data event (object level), the bucket and object it names, its request parameters.
  void NoteForAudit(const HttpRequest& request, auth::AuditNotes& notes) const;

  // The Access-Control-* headers of the bucket's first matching CORS rule, for a response (success
  // or error) to a non-OPTIONS request with an Origin header. Preflights answer in Handle.
  void AddCorsHeaders(const HttpRequest& request, HttpResponse& response);

  // `verified` is null for presigned and anonymous requests.
  Result<HttpResponse> Handle(const auth::RequestContext& ctx, HttpRequest& request,
                              const auth::VerifiedRequest* verified);

 private:
  S3Service& service_;
  const S3ApiOptions options_;
};

}  // namespace hangar::s3
