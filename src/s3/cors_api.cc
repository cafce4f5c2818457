#include "s3/cors_api.h"

#include "s3/api_ops.h"
#include "s3/cors.h"

namespace hangar::s3 {
namespace {

HttpResponse Respond(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}

Status Forbidden(std::string message, std::string_view method, bool object) {
  return Error(ErrorCode::kCorsForbidden, "CORSResponse: " + std::move(message))
      .WithField("Method", std::string(method))
      .WithField("ResourceType", object ? "OBJECT" : "BUCKET");
}

}  // namespace

void AddCorsResponseHeaders(S3Service& service, const HttpRequest& request, std::string_view bucket,
                            HttpResponse& response) {
  if (bucket.empty() || !request.headers.Has("origin") || request.method == "OPTIONS") return;
  auto cors = CorsRequestFrom(request.headers, request.method);
  auto rules = service.CorsRulesOf(bucket);
  if (!cors || !rules.ok()) return;
  if (const CorsRule* rule = MatchCorsRule(*rules, *cors)) {
    AddCorsHeaders(*rule, *cors, /*preflight=*/false, response.headers);
  }
}

namespace api {
namespace {

Result<HttpResponse> HandlePutBucketCors(S3Service& s3, const auth::RequestContext& ctx,
                                         const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body,
                          VerifiedBufferedPayload(r.http, r.verified, /*checksum_required=*/true));
  HANGAR_ASSIGN_OR_RETURN(auto rules, ParseCorsConfiguration(body));
  HANGAR_RETURN_IF_ERROR(s3.PutBucketCors(ctx, r.bucket, std::move(rules)));
  return Respond(200);
}

Result<HttpResponse> HandleGetBucketCors(S3Service& s3, const auth::RequestContext& ctx,
                                         const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(auto rules, s3.GetBucketCors(ctx, r.bucket));
  HttpResponse response = Respond(200);
  response.headers.Add("Content-Type", "application/xml");
  response.body = CorsConfigurationXml(rules);
  return response;
}

Result<HttpResponse> HandleDeleteBucketCors(S3Service& s3, const auth::RequestContext& ctx,
                                            const OpRequest& r) {
  HANGAR_RETURN_IF_ERROR(s3.DeleteBucketCors(ctx, r.bucket));
  return Respond(204);
}

// A preflight OPTIONS to the bucket or one of its objects: 200 with the first matching rule's
// headers. Errors: kCorsBadRequest (no Origin, no or unknown Access-Control-Request-Method),
// kCorsForbidden (no bucket, no configuration, no matching rule).
// 1. Origin is required, then a CORS method to ask about (the second message follows S3-compatible
//    servers; the reference records only the first). 2. The bucket must exist and have rules.
// 3. The first rule allowing origin, method and every requested header answers.
Result<HttpResponse> HandleCorsPreflight(S3Service& s3, const auth::RequestContext&,
                                         const OpRequest& r) {
  const bool object = !r.key.empty();
  auto cors = CorsRequestFrom(r.headers(), "");
  if (!cors) {
    return Error(ErrorCode::kCorsBadRequest,
                 "Insufficient information. Origin request header needed.");
  }
  const std::string& m = cors->method;
  if (m != "GET" && m != "PUT" && m != "POST" && m != "DELETE" && m != "HEAD") {
    return Error(ErrorCode::kCorsBadRequest,
                 "Invalid Access-Control-Request-Method: " + (m.empty() ? std::string("null") : m));
  }
  auto rules = s3.CorsRulesOf(r.bucket);
  if (!rules.ok()) return Forbidden("Bucket not found", "OPTIONS", false);
  if (rules->empty()) return Forbidden("CORS is not enabled for this bucket.", m, false);
  const CorsRule* rule = MatchCorsRule(*rules, *cors);
  if (rule == nullptr) {
    return Forbidden(
        "This CORS request is not allowed. This is usually because the evalution of Origin, "
        "request method / Access-Control-Request-Method or Access-Control-Request-Headers are "
        "not whitelisted by the resource's CORS spec.",
        m, object);
  }
  HttpResponse response = Respond(200);
  AddCorsHeaders(*rule, *cors, /*preflight=*/true, response.headers);
  return response;
}

}  // namespace

const Operation kPutBucketCors{.name = "PutBucketCors",
                               .body = Body::kXml,
                               .admission = Admission::kBucketAction,
                               .action = "s3:PutBucketCORS",
                               .handle = HandlePutBucketCors};
const Operation kGetBucketCors{.name = "GetBucketCors", .handle = HandleGetBucketCors};
const Operation kDeleteBucketCors{.name = "DeleteBucketCors", .handle = HandleDeleteBucketCors};
const Operation kCorsPreflight{.name = "PreflightRequest", .handle = HandleCorsPreflight};

}  // namespace api
}  // namespace hangar::s3
