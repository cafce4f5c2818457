#pragma once
// The REST/XML face of S3 CORS (docs/reference/s3-data-protection.md §7, docs/s3-cors.md). Its
// operations (api_ops.h, defined in cors_api.cc): ?cors (PutBucketCors, GetBucketCors,
// DeleteBucketCors) and the unauthenticated preflight OPTIONS. Declared here: the Access-Control-*
// headers an actual request with an Origin header gets.

#include <string_view>

#include "common/http_message.h"
#include "s3/s3_service.h"

namespace hangar::s3 {

// An actual (non-OPTIONS) request with an Origin header: adds the first matching rule's headers to
// `response`, success or error. Without Origin it costs one header lookup.
void AddCorsResponseHeaders(S3Service& service, const HttpRequest& request, std::string_view bucket,
                            HttpResponse& response);

}  // namespace hangar::s3
