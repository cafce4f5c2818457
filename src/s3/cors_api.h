#pragma once
// The REST/XML face of S3 CORS: ?cors (PutBucketCors, GetBucketCors, DeleteBucketCors), the
// unauthenticated preflight OPTIONS, and the Access-Control-* headers an actual request with an
// Origin header gets (docs/reference/s3-data-protection.md §7, docs/s3-cors.md).

#include <string>
#include <string_view>

#include "auth/request_context.h"
#include "common/http_message.h"
#include "common/result.h"
#include "s3/s3_service.h"

namespace hangar::s3 {

// `body` is the verified request body (empty for GET and DELETE).
// Errors: kMalformedXml, kInvalidRequest, kNoSuchCorsConfiguration, kNoSuchBucket, kAccessDenied.
Result<HttpResponse> HandleCorsConfiguration(S3Service& service, const auth::RequestContext& ctx,
                                             std::string_view method, const std::string& bucket,
                                             const std::string& body);

// A preflight OPTIONS to the bucket or one of its objects: 200 with the first matching rule's
// headers. Errors: kCorsBadRequest (no Origin, no or unknown Access-Control-Request-Method),
// kCorsForbidden (no bucket, no configuration, no matching rule).
Result<HttpResponse> HandleCorsPreflight(S3Service& service, const HttpRequest& request,
                                         std::string_view bucket, bool object);

// An actual (non-OPTIONS) request with an Origin header: adds the first matching rule's headers to
// `response`, success or error. Without Origin it costs one header lookup.
void AddCorsResponseHeaders(S3Service& service, const HttpRequest& request, std::string_view bucket,
                            HttpResponse& response);

}  // namespace hangar::s3
