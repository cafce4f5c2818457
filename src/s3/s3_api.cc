#include "s3/s3_api.h"

#include "common/json_writer.h"
#include "common/strings.h"
#include "s3/api_ops.h"
#include "s3/cors_api.h"

namespace hangar::s3::api {
namespace {

// --- Addressing ----------------------------------------------------------------------------------

struct Address {
  std::string bucket;  // "" for the service (ListBuckets)
  std::string key;     // "" for bucket operations
};

std::string HostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {  // [v6]:port
    size_t end = host.find(']');
    return std::string(host.substr(0, end == std::string_view::npos ? host.size() : end + 1));
  }
  size_t colon = host.rfind(':');
  return ToLower(colon == std::string_view::npos ? host : host.substr(0, colon));
}

// The bucket a virtual-hosted request's Host names ("<bucket>.<domain>"), or nullopt when the
// request is path-style.
std::optional<std::string> VirtualHostBucket(const HttpRequest& request,
                                             const std::vector<std::string>& domains) {
  const std::string host = HostWithoutPort(request.headers.Get("host"));
  for (const auto& domain : domains) {
    if (host.size() > domain.size() + 1 && host.ends_with(domain) &&
        host[host.size() - domain.size() - 1] == '.') {
      return host.substr(0, host.size() - domain.size() - 1);
    }
  }
  return std::nullopt;
}

// No key is longer than S3 allows, on any operation: a read of a 26,000-byte key would only cost
// policy matching and lookups for nothing.
Result<Address> CheckKeyLength(Address a) {
  constexpr size_t kMaxKeyBytes = 1024;
  if (a.key.size() <= kMaxKeyBytes) return a;
  return Error(ErrorCode::kKeyTooLong, "Your key is too long")
      .WithField("MaxSizeAllowed", std::to_string(kMaxKeyBytes))
      .WithField("Size", std::to_string(a.key.size()));
}

Result<Address> ParseAddress(const HttpRequest& request, const std::vector<std::string>& domains) {
  auto decoded = UriDecode(request.path);
  if (!decoded || decoded->empty() || decoded->front() != '/') {
    return Error(ErrorCode::kInvalidRequest, "The request path is not valid.");
  }
  std::string_view path = std::string_view(*decoded).substr(1);
  Address a;
  if (auto bucket = VirtualHostBucket(request, domains)) {
    a.bucket = std::move(*bucket);
    a.key = std::string(path);
    return CheckKeyLength(std::move(a));
  }
  size_t slash = path.find('/');
  a.bucket = std::string(path.substr(0, slash));
  if (slash != std::string_view::npos) a.key = std::string(path.substr(slash + 1));
  return CheckKeyLength(std::move(a));
}

Result<HttpResponse> HandleNotImplemented(S3Service&, const auth::RequestContext&,
                                          const OpRequest&) {
  return Error(ErrorCode::kNotImplemented,
               "A header or query you provided implies functionality that is not implemented");
}

Result<HttpResponse> HandleMethodNotAllowed(S3Service&, const auth::RequestContext&,
                                            const OpRequest& r) {
  return Error(ErrorCode::kMethodNotAllowed,
               "The specified method is not allowed against this resource.")
      .WithField("Method", r.http.method)
      .WithField("ResourceType",
                 r.key.empty() ? (r.bucket.empty() ? "SERVICE" : "BUCKET") : "OBJECT");
}

}  // namespace

// Routing's answers for sub-resources Hangar does not implement (501) and for methods a resource
// does not take (405).
const Operation kNotImplemented{.event = Event::kDataIfObject, .handle = HandleNotImplemented};
const Operation kMethodNotAllowed{.event = Event::kDataIfObject, .handle = HandleMethodNotAllowed};

Result<std::unique_ptr<auth::PayloadReader>> UploadPayload(const OpRequest& r) {
  return auth::MakePayloadReader(r.raw_body, r.http, r.verified,
                                 r.headers().Get("x-amz-content-sha256"));
}

namespace {

// --- Routing -------------------------------------------------------------------------------------

// The resource a request names.
enum class Scope {
  kService,  // no bucket (ListBuckets)
  kControl,  // S3 Control's account-level Block Public Access, path-style as SDKs send it
  kBucket,
  kObject,
  kBucketOrObject,  // in a route: either of the two
};

Scope ScopeOf(const Address& a) {
  if (a.bucket.empty()) return Scope::kService;
  if (a.bucket == "v20180820" && a.key == "configuration/publicAccessBlock") return Scope::kControl;
  return a.key.empty() ? Scope::kBucket : Scope::kObject;
}

// A request matches a route when all of its conditions hold; the first matching route wins, so a
// route with a sub-resource comes before its method's catch-all.
struct Route {
  std::string_view method;  // "" matches any
  Scope scope;
  // A sub-resource the query must name ("a|b": any of them; "name=value": with that value);
  // "" matches any query.
  std::string_view query;
  const Operation* op;
  std::string_view header = {};  // a header the request must carry
};

using enum Scope;

// Sub-resources Hangar does not implement (501), so tools probing them learn so.
constexpr std::string_view kUnsupportedBucketReads =
    "website|logging|notification|replication|requestPayment|accelerate|"
    "intelligent-tiering|analytics|metrics|inventory";

constexpr Route kRoutes[] = {
    {"GET", kService, "", &kListBuckets},
    {"", kService, "", &kMethodNotAllowed},

    {"GET", kControl, "", &kGetAccountPublicAccessBlock},
    {"PUT", kControl, "", &kPutAccountPublicAccessBlock},
    {"DELETE", kControl, "", &kDeleteAccountPublicAccessBlock},
    {"", kControl, "", &kAccountPublicAccessBlockOtherMethod},

    {"OPTIONS", kBucketOrObject, "", &kCorsPreflight},

    {"GET", kBucket, "cors", &kGetBucketCors},
    {"PUT", kBucket, "cors", &kPutBucketCors},
    {"DELETE", kBucket, "cors", &kDeleteBucketCors},

    {"GET", kBucket, "policy", &kGetBucketPolicy},
    {"GET", kBucket, "policyStatus", &kGetBucketPolicyStatus},
    {"GET", kBucket, "publicAccessBlock", &kGetPublicAccessBlock},
    {"GET", kBucket, "ownershipControls", &kGetOwnershipControls},
    {"GET", kBucket, "location", &kGetBucketLocation},
    {"GET", kBucket, "tagging", &kGetBucketTagging},
    {"GET", kBucket, "versioning", &kGetBucketVersioning},
    {"GET", kBucket, "versions", &kListObjectVersions},
    {"GET", kBucket, "object-lock", &kGetObjectLockConfiguration},
    {"GET", kBucket, "acl", &kGetBucketAcl},
    {"GET", kBucket, "uploads", &kListMultipartUploads},
    {"GET", kBucket, "lifecycle", &kGetBucketLifecycle},
    {"GET", kBucket, "encryption", &kGetBucketEncryption},
    {"GET", kBucket, kUnsupportedBucketReads, &kNotImplemented},
    {"GET", kBucket, "list-type=2", &kListObjectsV2},
    {"GET", kBucket, "", &kListObjects},

    {"PUT", kBucket, "tagging", &kPutBucketTagging},
    {"PUT", kBucket, "encryption", &kPutBucketEncryption},
    {"PUT", kBucket, "policy", &kPutBucketPolicy},
    {"PUT", kBucket, "publicAccessBlock", &kPutPublicAccessBlock},
    {"PUT", kBucket, "ownershipControls", &kPutOwnershipControls},
    {"PUT", kBucket, "acl", &kPutBucketAcl},
    {"PUT", kBucket, "versioning", &kPutBucketVersioning},
    {"PUT", kBucket, "object-lock", &kPutObjectLockConfiguration},
    {"PUT", kBucket, "lifecycle", &kPutBucketLifecycle},
    {"PUT", kBucket, "website|logging|notification", &kNotImplemented},
    {"PUT", kBucket, "", &kCreateBucket},

    {"HEAD", kBucket, "", &kHeadBucket},

    {"DELETE", kBucket, "tagging", &kDeleteBucketTagging},
    {"DELETE", kBucket, "encryption", &kDeleteBucketEncryption},
    {"DELETE", kBucket, "policy", &kDeleteBucketPolicy},
    {"DELETE", kBucket, "publicAccessBlock", &kDeletePublicAccessBlock},
    {"DELETE", kBucket, "ownershipControls", &kDeleteOwnershipControls},
    {"DELETE", kBucket, "lifecycle", &kDeleteBucketLifecycle},
    {"DELETE", kBucket, "website", &kNotImplemented},
    {"DELETE", kBucket, "", &kDeleteBucket},

    {"POST", kBucket, "delete", &kDeleteObjects},
    {"POST", kBucket, "", &kPostObject},
    {"", kBucket, "", &kMethodNotAllowed},

    {"PUT", kObject, "tagging", &kPutObjectTagging},
    {"PUT", kObject, "acl", &kPutObjectAcl},
    {"PUT", kObject, "retention", &kPutObjectRetention},
    {"PUT", kObject, "legal-hold", &kPutObjectLegalHold},
    {"PUT", kObject, "uploadId|partNumber", &kUploadPartCopy, "x-amz-copy-source"},
    {"PUT", kObject, "uploadId|partNumber", &kUploadPart},
    {"PUT", kObject, "", &kCopyObject, "x-amz-copy-source"},
    {"PUT", kObject, "", &kPutObject},

    {"GET", kObject, "uploadId", &kListParts},
    {"GET", kObject, "tagging", &kGetObjectTagging},
    {"GET", kObject, "attributes", &kGetObjectAttributes},
    {"GET", kObject, "acl", &kGetObjectAcl},
    {"GET", kObject, "retention", &kGetObjectRetention},
    {"GET", kObject, "legal-hold", &kGetObjectLegalHold},
    {"GET", kObject, "torrent", &kNotImplemented},
    {"GET", kObject, "", &kGetObject},

    {"HEAD", kObject, "", &kHeadObject},

    {"DELETE", kObject, "uploadId", &kAbortMultipartUpload},
    {"DELETE", kObject, "tagging", &kDeleteObjectTagging},
    {"DELETE", kObject, "", &kDeleteObject},

    {"POST", kObject, "uploads", &kCreateMultipartUpload},
    {"POST", kObject, "uploadId", &kCompleteMultipartUpload},
    {"POST", kObject, "restore|select", &kNotImplemented},
    {"", kObject, "", &kMethodNotAllowed},
};

bool QueryMatches(std::string_view pattern, const Query& q) {
  if (pattern.empty()) return true;
  if (size_t eq = pattern.find('='); eq != std::string_view::npos) {
    return q.GetOr(pattern.substr(0, eq), "") == pattern.substr(eq + 1);
  }
  for (std::string_view rest = pattern;;) {
    size_t bar = rest.find('|');
    if (q.Has(rest.substr(0, bar))) return true;
    if (bar == std::string_view::npos) return false;
    rest.remove_prefix(bar + 1);
  }
}

const Operation& FindOperation(std::string_view method, const Address& a, const Query& q,
                               const HeaderList& h) {
  const Scope scope = ScopeOf(a);
  for (const Route& route : kRoutes) {
    const bool scope_matches = route.scope == scope || (route.scope == kBucketOrObject &&
                                                        (scope == kBucket || scope == kObject));
    if (scope_matches && (route.method.empty() || route.method == method) &&
        QueryMatches(route.query, q) && (route.header.empty() || h.Has(route.header))) {
      return *route.op;
    }
  }
  return kMethodNotAllowed;  // unreachable: every scope ends in a catch-all
}

uint64_t MaxBufferedBody(Body body) {
  switch (body) {
    case Body::kLargeXml:
      return kLargeXmlBody;
    case Body::kPolicy:
      return kBucketPolicyBody;
    case Body::kNone:
    case Body::kXml:
    case Body::kObjectBytes:
      return kSmallBody;
  }
  return kSmallBody;
}

}  // namespace

}  // namespace hangar::s3::api

namespace hangar::s3 {

using api::Body;
using api::Event;
using api::Operation;
using api::Query;

S3Api::S3Api(S3Service& service, S3ApiOptions options)
    : service_(service), options_(std::move(options)) {}

bool S3Api::VirtualHosted(const HttpRequest& request) const {
  return api::VirtualHostBucket(request, options_.virtual_host_domains).has_value();
}

S3Api::BodyPlan S3Api::Plan(const HttpRequest& request) const {
  BodyPlan plan;
  plan.max_buffered = api::kSmallBody;
  auto address = api::ParseAddress(request, options_.virtual_host_domains);
  auto query = Query::Parse(request.query);
  if (!address.ok() || !query.ok()) return plan;
  const Operation& op = api::FindOperation(request.method, *address, *query, request.headers);
  plan.max_buffered = api::MaxBufferedBody(op.body);
  if (op.body == Body::kPolicy) {
    plan.too_large =
        Error(ErrorCode::kMalformedPolicy, "Policy exceeds the maximum allowed document size.");
  } else if (op.body != Body::kObjectBytes) {
    plan.too_large = Error(ErrorCode::kRequestTooLarge, "Your request was too big.");
  }
  if (op.cheap_read) plan.cheap_read = service_.ReadsAreCheap(address->bucket);
  if (op.body != Body::kObjectBytes) return plan;
  // Object bytes stream; small ones are cheaper to read in one go before dispatch.
  if (request.content_length && *request.content_length <= options_.small_put) {
    plan.max_buffered = options_.small_put;
    return plan;
  }
  plan.stream = true;
  return plan;
}

void S3Api::NoteForAudit(const HttpRequest& request, auth::AuditNotes& notes) const {
  auto address = api::ParseAddress(request, options_.virtual_host_domains);
  auto query = Query::Parse(request.query);
  // requestParameters, written by hand: this runs for every S3 request.
  std::string params;
  JsonObjectWriter writer(params);
  writer.String("Host", request.headers.Get("host"));
  auto finish = [&] {
    writer.Finish();
    if (notes.request_parameters.empty()) notes.request_parameters = std::move(params);
  };
  if (!address.ok() || !query.ok()) {
    notes.event_name = request.method == "GET" ? "GetObject" : "Unknown";
    finish();
    return;
  }
  const Operation& op = api::FindOperation(request.method, *address, *query, request.headers);
  notes.event_name = op.name.empty()
                         ? std::string(request.method == "GET" ? "Get" : "Put") + "Unsupported"
                         : std::string(op.name);
  notes.data_event =
      op.event == Event::kData || (op.event == Event::kDataIfObject && !address->key.empty());
  if (!address->bucket.empty() && api::ScopeOf(*address) != api::Scope::kControl) {
    writer.String("bucketName", address->bucket);
    // The bucket's owner is the record's recipient; S3Service notes it once it looked it up.
    notes.AddResource("AWS::S3::Bucket", "arn:aws:s3:::" + address->bucket, "");
    if (!address->key.empty()) {
      writer.String("key", address->key);
      notes.AddResource("AWS::S3::Object", "arn:aws:s3:::" + address->bucket + "/" + address->key,
                        "");
    }
  }
  finish();
}

void S3Api::AddCorsHeaders(const HttpRequest& request, HttpResponse& response) {
  if (!request.headers.Has("origin")) return;  // the common case: no parsing at all
  auto address = api::ParseAddress(request, options_.virtual_host_domains);
  if (address.ok()) AddCorsResponseHeaders(service_, request, address->bucket, response);
}

Status S3Api::Admit(const auth::RequestContext& ctx, const HttpRequest& request) {
  const bool has_body =
      request.content_length.value_or(0) > 0 ||
      ToLower(request.headers.Get("transfer-encoding")).find("chunked") != std::string::npos;
  if (!has_body) return Status::Ok();  // the operation runs next and checks everything itself
  HANGAR_ASSIGN_OR_RETURN(api::Address a,
                          api::ParseAddress(request, options_.virtual_host_domains));
  HANGAR_ASSIGN_OR_RETURN(Query q, Query::Parse(request.query));
  const Operation& op = api::FindOperation(request.method, a, q, request.headers);
  S3Request preauthorize{std::string(op.action), ""};
  switch (op.admission) {
    case api::Admission::kNone:
      return Status::Ok();
    case api::Admission::kAccountAction:
      return service_.AuthorizeAccountAction(ctx, op.action, "arn:aws:s3:::" + a.bucket);
    case api::Admission::kBucketExists:
      return service_.AdmitBody(ctx, a.bucket, nullptr, false);
    case api::Admission::kBucketAction:
      return service_.AdmitBody(ctx, a.bucket, &preauthorize, false);
    case api::Admission::kKeyAction:
    case api::Admission::kObjectAction:
      preauthorize.key = a.key;
      return service_.AdmitBody(ctx, a.bucket, &preauthorize,
                                op.admission == api::Admission::kObjectAction);
  }
  return Status::Ok();
}

Result<HttpResponse> S3Api::Handle(const auth::RequestContext& ctx, HttpRequest& request,
                                   const auth::VerifiedRequest* verified) {
  HANGAR_ASSIGN_OR_RETURN(api::Address a,
                          api::ParseAddress(request, options_.virtual_host_domains));
  HANGAR_ASSIGN_OR_RETURN(Query q, Query::Parse(request.query));
  const Operation& op = api::FindOperation(request.method, a, q, request.headers);
  api::StringBodyReader buffered(request.body);
  BodyReader& raw_body = request.body_reader ? *request.body_reader : buffered;
  const api::OpRequest r{.http = request,
                         .verified = verified,
                         .bucket = std::move(a.bucket),
                         .key = std::move(a.key),
                         .query = std::move(q),
                         .raw_body = raw_body,
                         .post_signatures = options_.post_signatures};
  return op.handle(service_, ctx, r);
}

}  // namespace hangar::s3
