#include "s3/cors_api.h"

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

Result<HttpResponse> HandleCorsConfiguration(S3Service& service, const auth::RequestContext& ctx,
                                             std::string_view method, const std::string& bucket,
                                             const std::string& body) {
  if (method == "PUT") {
    HANGAR_ASSIGN_OR_RETURN(auto rules, ParseCorsConfiguration(body));
    HANGAR_RETURN_IF_ERROR(service.PutBucketCors(ctx, bucket, std::move(rules)));
    return Respond(200);
  }
  if (method == "DELETE") {
    HANGAR_RETURN_IF_ERROR(service.DeleteBucketCors(ctx, bucket));
    return Respond(204);
  }
  HANGAR_ASSIGN_OR_RETURN(auto rules, service.GetBucketCors(ctx, bucket));
  HttpResponse r = Respond(200);
  r.headers.Add("Content-Type", "application/xml");
  r.body = CorsConfigurationXml(rules);
  return r;
}

// 1. Origin is required, then a CORS method to ask about (the second message follows S3-compatible
//    servers; the reference records only the first). 2. The bucket must exist and have rules.
// 3. The first rule allowing origin, method and every requested header answers.
Result<HttpResponse> HandleCorsPreflight(S3Service& service, const HttpRequest& request,
                                         std::string_view bucket, bool object) {
  auto cors = CorsRequestFrom(request.headers, "");
  if (!cors) {
    return Error(ErrorCode::kCorsBadRequest,
                 "Insufficient information. Origin request header needed.");
  }
  const std::string& m = cors->method;
  if (m != "GET" && m != "PUT" && m != "POST" && m != "DELETE" && m != "HEAD") {
    return Error(ErrorCode::kCorsBadRequest,
                 "Invalid Access-Control-Request-Method: " + (m.empty() ? std::string("null") : m));
  }
  auto rules = service.CorsRulesOf(bucket);
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
  HttpResponse r = Respond(200);
  AddCorsHeaders(*rule, *cors, /*preflight=*/true, r.headers);
  return r;
}

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

}  // namespace hangar::s3
