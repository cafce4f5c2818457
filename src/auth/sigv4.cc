#include "auth/sigv4.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include "common/secret_bytes.h"
#include "common/strings.h"
#include "crypto/hmac.h"

// Follows "Create a signed AWS API request" (IAM User Guide, Signature Version 4) for header
// authentication and "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)"
// (S3 API Reference) for presigned URLs. Error texts copy what AWS answers in each protocol
// (see docs/reference/{s3,iam,kms}.md).

namespace hangar::auth {
namespace {

constexpr std::string_view kTerminator = "aws4_request";
constexpr size_t kMaxCachedSigningKeys = 10000;

// Query parameters of a presigned request.
constexpr std::string_view kParamAlgorithm = "X-Amz-Algorithm";
constexpr std::string_view kParamCredential = "X-Amz-Credential";
constexpr std::string_view kParamDate = "X-Amz-Date";
constexpr std::string_view kParamSignedHeaders = "X-Amz-SignedHeaders";
constexpr std::string_view kParamSignature = "X-Amz-Signature";
constexpr std::string_view kParamExpires = "X-Amz-Expires";
constexpr std::string_view kParamSecurityToken = "X-Amz-Security-Token";

constexpr std::string_view kSignatureMismatchText =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";
constexpr std::string_view kS3SignatureMismatchText =
    "The request signature we calculated does not match the signature you provided. Check your "
    "key and signing method.";
constexpr std::string_view kInvalidTokenText =
    "The security token included in the request is invalid.";
constexpr std::string_view kS3UnknownKeyText =
    "The AWS Access Key Id you provided does not exist in our records.";
constexpr std::string_view kExpiredTokenText =
    "The security token included in the request is expired";
constexpr std::string_view kQueryParamsMissingText =
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.";
constexpr std::string_view kHostNotSignedText =
    "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.";

// Which protocol's words an error uses: S3 (REST/XML), the query protocol (IAM, STS) or the JSON
// protocol (KMS and everything else).
enum class Dialect { kS3, kQuery, kJson };

Dialect DialectOf(std::string_view service) {
  if (service == "s3") return Dialect::kS3;
  if (service == "sts" || service == "iam") return Dialect::kQuery;
  return Dialect::kJson;
}

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view TrimAll(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    out.push_back(
        s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return out;
}

// A query parameter, decoded. A pair with a broken %-escape keeps its raw text: the request then
// simply fails to verify instead of being rejected with a different error than AWS would give.
struct QueryParam {
  std::string name;
  std::string value;
};

std::vector<QueryParam> DecodeQuery(std::string_view query) {
  std::vector<QueryParam> out;
  for (std::string_view part : Split(query, '&')) {
    if (part.empty()) continue;
    size_t eq = part.find('=');
    std::string_view raw_name = part.substr(0, eq);
    std::string_view raw_value =
        eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
    std::optional<std::string> name = UriDecode(raw_name);
    std::optional<std::string> value = UriDecode(raw_value);
    out.push_back({name ? std::move(*name) : std::string(raw_name),
                   value ? std::move(*value) : std::string(raw_value)});
  }
  return out;
}

const std::string* FindParam(const std::vector<QueryParam>& params, std::string_view name) {
  for (const QueryParam& p : params) {
    if (p.name == name) return &p.value;
  }
  return nullptr;
}

// Canonical URI (spec step 1.2).
std::string CanonicalUri(std::string_view path, bool normalize_path) {
  if (path.empty()) return "/";
  if (!normalize_path) {
    // S3: the path as sent, each segment URI-encoded exactly once. Segments are decoded and
    // re-encoded one by one so that an escaped '/' (%2F) inside a key stays escaped.
    std::string out;
    bool first = true;
    for (std::string_view segment : Split(path, '/')) {
      if (!first) out.push_back('/');
      first = false;
      std::optional<std::string> decoded = UriDecode(segment);
      out += UriEncode(decoded ? std::string_view(*decoded) : segment, /*keep_slash=*/false);
    }
    return out;
  }
  // Every other service: remove dot segments (RFC 3986 section 5.2.4) and, as the AWS SDKs do,
  // empty segments ("//example//" -> "/example/"); keep a trailing slash unless nothing is left.
  // Then encode the still-encoded path again ("double encoding": "%20" becomes "%2520").
  std::vector<std::string_view> segments;
  for (std::string_view segment : Split(path, '/')) {
    if (segment.empty() || segment == ".") continue;
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
      continue;
    }
    segments.push_back(segment);
  }
  std::string normalized = "/";
  for (size_t i = 0; i < segments.size(); ++i) {
    if (i > 0) normalized.push_back('/');
    normalized.append(segments[i]);
  }
  if (!segments.empty() && path.back() == '/') normalized.push_back('/');
  return UriEncode(normalized, /*keep_slash=*/true);
}

// Canonical query string (spec step 1.3): every parameter decoded and encoded again the AWS way,
// sorted by name, then value. A presigned request leaves out its own signature and, when the
// client appended the session token after signing, the token as well.
std::string CanonicalQuery(std::string_view query, bool exclude_signature, bool exclude_token) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (QueryParam& p : DecodeQuery(query)) {
    if (exclude_signature && p.name == kParamSignature) continue;
    if (exclude_token && p.name == kParamSecurityToken) continue;
    pairs.emplace_back(UriEncode(p.name, false), UriEncode(p.value, false));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [name, value] : pairs) {
    if (!out.empty()) out.push_back('&');
    out += name;
    out.push_back('=');
    out += value;
  }
  return out;
}

// A header value in canonical form: trimmed, runs of whitespace (including folded lines) as one
// space.
void AppendCanonicalValue(std::string_view value, std::string& out) {
  value = TrimAll(value);
  bool in_space = false;
  for (char c : value) {
    if (IsSpace(c)) {
      in_space = true;
      continue;
    }
    if (in_space) out.push_back(' ');
    in_space = false;
    out.push_back(c);
  }
}

std::string BuildCanonicalRequest(const HttpRequest& request, const SigV4Request& sig,
                                  std::string_view payload_hash, bool normalize_path,
                                  bool exclude_token) {
  const bool presigned = sig.kind == SigV4Request::Kind::kQuery;
  std::string out;
  out.reserve(256 + request.path.size() + request.query.size());
  out += request.method;
  out.push_back('\n');
  out += CanonicalUri(request.path, normalize_path);
  out.push_back('\n');
  out += CanonicalQuery(request.query, presigned, presigned && exclude_token);
  out.push_back('\n');
  // Canonical headers (step 1.4): the signed headers in the client's order, every field of a
  // name joined by ','.
  for (const std::string& name : sig.signed_headers) {
    out += name;
    out.push_back(':');
    bool first = true;
    for (const HeaderList::Field& field : request.headers.fields()) {
      if (field.name != name) continue;
      if (!first) out.push_back(',');
      first = false;
      AppendCanonicalValue(field.value, out);
    }
    out.push_back('\n');
  }
  out.push_back('\n');
  for (size_t i = 0; i < sig.signed_headers.size(); ++i) {
    if (i > 0) out.push_back(';');
    out += sig.signed_headers[i];
  }
  out.push_back('\n');
  out += payload_hash;
  return out;
}

// Splits "<AKID>/<date>/<region>/<service>/aws4_request".
Result<SigV4Scope> ParseCredential(std::string_view credential, bool presigned) {
  const std::string_view prefix = presigned ? "Error parsing the X-Amz-Credential parameter; "
                                            : "The authorization header is malformed; ";
  std::vector<std::string_view> parts = Split(credential, '/');
  if (parts.size() != 5 ||
      std::any_of(parts.begin(), parts.end(), [](std::string_view p) { return p.empty(); })) {
    return Error(ErrorCode::kIncompleteSignature,
                 std::string(prefix) +
                     "the Credential is mal-formed; expecting "
                     "\"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request\".");
  }
  SigV4Scope scope{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
                   std::string(parts[3])};
  if (parts[4] != kTerminator) {
    if (DialectOf(scope.service) == Dialect::kS3) {
      return Error(ErrorCode::kIncompleteSignature, std::string(prefix) + "incorrect terminal \"" +
                                                        std::string(parts[4]) +
                                                        "\". This endpoint uses \"aws4_request\".");
    }
    return Error(ErrorCode::kIncompleteSignature,
                 "Credential should be scoped with a valid terminator: 'aws4_request', not '" +
                     std::string(parts[4]) + "'.");
  }
  return scope;
}

std::vector<std::string> ParseSignedHeaders(std::string_view list) {
  std::vector<std::string> out;
  for (std::string_view name : Split(list, ';')) {
    name = TrimAll(name);
    if (!name.empty()) out.push_back(ToLower(name));
  }
  return out;
}

// Checks what ParseSigV4 and Verify both insist on: host is signed, and the scope's date is the
// request's date.
Status CheckScope(const SigV4Request& sig) {
  if (std::find(sig.signed_headers.begin(), sig.signed_headers.end(), "host") ==
      sig.signed_headers.end()) {
    return Error(ErrorCode::kIncompleteSignature, std::string(kHostNotSignedText));
  }
  std::string_view day = std::string_view(sig.amz_date).substr(0, 8);
  if (sig.scope.date == day) return Status::Ok();
  if (DialectOf(sig.scope.service) == Dialect::kS3) {
    return Error(ErrorCode::kIncompleteSignature,
                 std::string(sig.kind == SigV4Request::Kind::kHeader
                                 ? "The authorization header is malformed; "
                                 : "") +
                     "Invalid credential date. Date is not the same as X-Amz-Date.");
  }
  return Error(ErrorCode::kIncompleteSignature,
               "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
               "from HTTP: '" +
                   sig.scope.date + "' != '" + std::string(day) + "', from '" + sig.amz_date +
                   "'.");
}

std::string SecurityToken(const HttpRequest& request, const std::vector<QueryParam>& params,
                          bool presigned) {
  const std::string* header = request.headers.Find("x-amz-security-token");
  const std::string* param = FindParam(params, kParamSecurityToken);
  const std::string* first = presigned ? param : header;
  const std::string* second = presigned ? header : param;
  if (first != nullptr) return *first;
  if (second != nullptr) return *second;
  return "";
}

// Signature Version 2 (header "AWS <key>:<sig>" or query AWSAccessKeyId/Signature): S3 answers
// regions that never supported it with this.
Status SigV2NotSupported() {
  return Error(ErrorCode::kInvalidRequest,
               "The authorization mechanism you have provided is not supported. Please use "
               "AWS4-HMAC-SHA256.");
}

// Header authentication: Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
// Signature=...
Result<SigV4Request> ParseHeaderAuth(const HttpRequest& request, std::string_view authorization,
                                     const std::vector<QueryParam>& params) {
  authorization = TrimAll(authorization);
  size_t space = authorization.find_first_of(" \t");
  std::string_view algorithm = authorization.substr(0, space);
  if (algorithm == "AWS") return SigV2NotSupported();
  if (algorithm != kSigV4Algorithm) {
    return Error(ErrorCode::kIncompleteSignature, "Unsupported Authorization Type");
  }
  std::string_view rest =
      space == std::string_view::npos ? std::string_view() : authorization.substr(space + 1);

  std::optional<std::string_view> credential, signed_headers, signature;
  for (std::string_view part : Split(rest, ',')) {
    part = TrimAll(part);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return Error(ErrorCode::kIncompleteSignature,
                   "'" + std::string(part.substr(0, 64)) +
                       "' not a valid key=value pair (missing equal-sign) in Authorization "
                       "header.");
    }
    std::string_view key = TrimAll(part.substr(0, eq));
    std::string_view value = TrimAll(part.substr(eq + 1));
    if (key == "Credential" && !credential) credential = value;
    if (key == "SignedHeaders" && !signed_headers) signed_headers = value;
    if (key == "Signature" && !signature) signature = value;
  }

  const std::string* amz_date_header = request.headers.Find("x-amz-date");
  const std::string* date_header = request.headers.Find("date");
  std::string missing;
  auto require = [&](bool present, std::string_view text) {
    if (present) return;
    if (!missing.empty()) missing.push_back(' ');
    missing += text;
  };
  require(credential.has_value(), "Authorization header requires 'Credential' parameter.");
  require(signature.has_value(), "Authorization header requires 'Signature' parameter.");
  require(signed_headers.has_value(), "Authorization header requires 'SignedHeaders' parameter.");
  if (!missing.empty()) {
    require(amz_date_header != nullptr || date_header != nullptr,
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
            "header.");
    return Error(ErrorCode::kIncompleteSignature, std::move(missing));
  }

  SigV4Request sig;
  sig.kind = SigV4Request::Kind::kHeader;
  HANGAR_ASSIGN_OR_RETURN(sig.scope, ParseCredential(*credential, /*presigned=*/false));
  sig.signed_headers = ParseSignedHeaders(*signed_headers);
  sig.signature = std::string(*signature);

  // The request time: X-Amz-Date, or the HTTP Date header when there is none.
  const bool s3 = DialectOf(sig.scope.service) == Dialect::kS3;
  std::optional<TimePoint> time;
  if (amz_date_header != nullptr) {
    time = ParseAmzDate(Trim(*amz_date_header));
    if (time) sig.amz_date = std::string(Trim(*amz_date_header));
  } else if (date_header != nullptr) {
    time = ParseHttpDate(Trim(*date_header));
    if (time) sig.amz_date = FormatAmzDate(*time);
  }
  if (!time) {
    if (s3) {
      return Error(ErrorCode::kAccessDenied,
                   "AWS authentication requires a valid Date or x-amz-date header");
    }
    if (amz_date_header == nullptr && date_header == nullptr) {
      return Error(ErrorCode::kIncompleteSignature,
                   "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' "
                   "header.");
    }
    return Error(
        ErrorCode::kIncompleteSignature,
        "Date must be in ISO-8601 'basic format'. See http://en.wikipedia.org/wiki/ISO_8601");
  }
  sig.request_time = *time;
  sig.security_token = SecurityToken(request, params, /*presigned=*/false);
  HANGAR_RETURN_IF_ERROR(CheckScope(sig));
  return sig;
}

// Query authentication (presigned URL).
Result<SigV4Request> ParseQueryAuth(const HttpRequest& request,
                                    const std::vector<QueryParam>& params) {
  const std::string* algorithm = FindParam(params, kParamAlgorithm);
  const std::string* credential = FindParam(params, kParamCredential);
  const std::string* date = FindParam(params, kParamDate);
  const std::string* signed_headers = FindParam(params, kParamSignedHeaders);
  const std::string* signature = FindParam(params, kParamSignature);
  const std::string* expires = FindParam(params, kParamExpires);
  if (!algorithm || !credential || !date || !signed_headers || !signature || !expires) {
    return Error(ErrorCode::kAuthorizationQueryParametersError, std::string(kQueryParamsMissingText));
  }
  if (*algorithm != kSigV4Algorithm) {
    return Error(ErrorCode::kAuthorizationQueryParametersError,
                 "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  SigV4Request sig;
  sig.kind = SigV4Request::Kind::kQuery;
  HANGAR_ASSIGN_OR_RETURN(sig.scope, ParseCredential(*credential, /*presigned=*/true));
  std::optional<TimePoint> time = ParseAmzDate(*date);
  if (!time) {
    return Error(ErrorCode::kAuthorizationQueryParametersError,
                 "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"");
  }
  sig.amz_date = *date;
  sig.request_time = *time;
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(expires->data(), expires->data() + expires->size(), seconds);
  if (ec != std::errc() || end != expires->data() + expires->size()) {
    return Error(ErrorCode::kAuthorizationQueryParametersError, "X-Amz-Expires should be a number");
  }
  if (seconds < 0) {
    return Error(ErrorCode::kAuthorizationQueryParametersError, "X-Amz-Expires must be non-negative");
  }
  sig.expires_seconds = seconds;
  sig.signed_headers = ParseSignedHeaders(*signed_headers);
  sig.signature = *signature;
  sig.security_token = SecurityToken(request, params, /*presigned=*/true);
  HANGAR_RETURN_IF_ERROR(CheckScope(sig));
  return sig;
}

// Parameters that say "this is a presigned request" (X-Amz-Date alone does not).
bool HasQueryAuth(const std::vector<QueryParam>& params) {
  for (std::string_view name :
       {kParamAlgorithm, kParamCredential, kParamSignature, kParamSignedHeaders, kParamExpires}) {
    if (FindParam(params, name) != nullptr) return true;
  }
  return false;
}

// S3's StringToSignBytes: each byte as two hex digits, separated by spaces.
std::string HexBytes(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 3);
  for (unsigned char c : bytes) {
    if (!out.empty()) out.push_back(' ');
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 0xf]);
  }
  return out;
}

std::string MinutesText(std::chrono::seconds skew) {
  return std::to_string(std::chrono::duration_cast<std::chrono::minutes>(skew).count()) + " min.";
}

Status UnknownKeyError(Dialect dialect, std::string_view access_key_id) {
  if (dialect == Dialect::kS3) {
    return Error(ErrorCode::kUnknownAccessKey, std::string(kS3UnknownKeyText))
        .WithField("AWSAccessKeyId", std::string(access_key_id));
  }
  return Error(ErrorCode::kUnknownAccessKey, std::string(kInvalidTokenText));
}

bool IsSigned(const SigV4Request& sig, std::string_view name) {
  return std::find(sig.signed_headers.begin(), sig.signed_headers.end(), name) !=
         sig.signed_headers.end();
}

// A credential scope must name a region this server serves, or anyone could make it keep state
// (AWS managed keys, aliases) for arbitrary region names. Texts are AWS's, trailing spaces
// included (docs/reference/aws-hardening.md §1-2).
Status CheckRegion(const SigV4Request& sig, const SigV4Verifier::Options& options) {
  const std::string& region = sig.scope.region;
  const Dialect dialect = DialectOf(sig.scope.service);
  if (sig.scope.service == "iam") {
    if (region == "us-east-1") return Status::Ok();
    return Error(ErrorCode::kSignatureMismatch,
                 "Credential should be scoped to a valid region, not '" + region + "'. ");
  }
  if (options.regions.empty() ||
      std::find(options.regions.begin(), options.regions.end(), region) != options.regions.end()) {
    return Status::Ok();
  }
  if (dialect == Dialect::kS3) {
    if (sig.kind == SigV4Request::Kind::kQuery) {
      return Error(ErrorCode::kAuthorizationQueryParametersError,
                   "Error parsing the X-Amz-Credential parameter; the region '" + region +
                       "' is wrong; expecting '" + options.default_region + "'")
          .WithField("Region", options.default_region);
    }
    return Error(ErrorCode::kIncompleteSignature,
                 "The authorization header is malformed; the region '" + region +
                     "' is wrong; expecting '" + options.default_region + "'")
        .WithField("Region", options.default_region);
  }
  return Error(ErrorCode::kSignatureMismatch, "Credential should be scoped to a valid region. ");
}

// Headers that choose the operation or how the body is read must be covered by the signature,
// or a captured request could be replayed as another operation (a DescribeKey as a DisableKey).
// S3's such headers are x-amz-* (x-amz-copy-source) and are covered by CheckNoUnsignedAmzHeaders.
Status CheckOperationHeadersSigned(const HttpRequest& request, const SigV4Request& sig) {
  const Dialect dialect = DialectOf(sig.scope.service);
  if (dialect == Dialect::kS3) return Status::Ok();
  // Required only when present: a request without them cannot be routed to an operation anyway,
  // and one that gains them on the way has them unsigned.
  std::vector<std::string_view> required;
  if (dialect == Dialect::kJson) required.push_back("x-amz-target");
  required.push_back("content-type");
  for (std::string_view name : required) {
    if (!request.headers.Has(name) || IsSigned(sig, name)) continue;
    std::string spelt = name == "x-amz-target" ? "X-Amz-Target" : "Content-Type";
    return Error(ErrorCode::kIncompleteSignature,
                 "'" + spelt + "' must be a 'SignedHeader' in the AWS Authorization.");
  }
  return Status::Ok();
}

// S3 wants every x-amz-* header a request carries to be signed, presigned or not: an unsigned one
// (x-amz-copy-source, SSE-C keys, metadata, tagging, checksums) could be added by anyone holding
// the URL or sitting on the way, and would change what the request does. A presigned request's
// x-amz-content-sha256 is exempt, as on AWS: it only states the payload hash, which the
// canonical request then carries.
Status CheckNoUnsignedAmzHeaders(const HttpRequest& request, const SigV4Request& sig) {
  std::string unsigned_headers;
  for (const auto& field : request.headers.fields()) {
    if (!field.name.starts_with("x-amz-") || IsSigned(sig, field.name)) continue;
    if (sig.kind == SigV4Request::Kind::kQuery && field.name == "x-amz-content-sha256") continue;
    const std::string listed = ", " + unsigned_headers + ", ";
    if (listed.find(", " + field.name + ", ") != std::string::npos) continue;
    if (!unsigned_headers.empty()) unsigned_headers += ", ";
    unsigned_headers += field.name;
  }
  if (unsigned_headers.empty()) return Status::Ok();
  return Error(ErrorCode::kAccessDenied,
               "There were headers present in the request which were not signed")
      .WithField("HeadersNotSigned", unsigned_headers);
}

}  // namespace

std::string SigV4Scope::ToString() const {
  return date + "/" + region + "/" + service + "/" + std::string(kTerminator);
}

Result<std::optional<SigV4Request>> ParseSigV4(const HttpRequest& request) {
  std::vector<QueryParam> params = DecodeQuery(request.query);
  const std::string* authorization = request.headers.Find("authorization");
  const bool query_auth = HasQueryAuth(params);
  if (authorization != nullptr) {
    if (query_auth) {
      return Error(ErrorCode::kInvalidRequest,
                   "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
                   "Signature query string parameter or the Authorization header should be "
                   "specified");
    }
    HANGAR_ASSIGN_OR_RETURN(SigV4Request sig, ParseHeaderAuth(request, *authorization, params));
    return std::optional<SigV4Request>(std::move(sig));
  }
  if (query_auth) {
    HANGAR_ASSIGN_OR_RETURN(SigV4Request sig, ParseQueryAuth(request, params));
    return std::optional<SigV4Request>(std::move(sig));
  }
  if (FindParam(params, "AWSAccessKeyId") && FindParam(params, "Signature")) {
    return SigV2NotSupported();
  }
  return std::optional<SigV4Request>();
}

std::optional<std::string> PeekSigV4Service(const HttpRequest& request) {
  std::string credential;
  if (const std::string* authorization = request.headers.Find("authorization")) {
    std::string_view value = *authorization;
    size_t pos = value.find("Credential=");
    if (pos == std::string_view::npos) return std::nullopt;
    value.remove_prefix(pos + std::string_view("Credential=").size());
    credential = std::string(TrimAll(value.substr(0, value.find(','))));
  } else {
    const std::vector<QueryParam> params = DecodeQuery(request.query);
    const std::string* param = FindParam(params, kParamCredential);
    if (param == nullptr) return std::nullopt;
    credential = *param;
  }
  std::vector<std::string_view> parts = Split(credential, '/');
  if (parts.size() != 5 || parts[3].empty()) return std::nullopt;
  return std::string(parts[3]);
}

std::string CanonicalRequest(const HttpRequest& request, const SigV4Request& sig,
                             std::string_view payload_hash, bool normalize_path) {
  return BuildCanonicalRequest(request, sig, payload_hash, normalize_path,
                               /*exclude_token=*/false);
}

std::string StringToSign(const SigV4Request& sig, std::string_view canonical_request) {
  std::string out(kSigV4Algorithm);
  out.push_back('\n');
  out += sig.amz_date;
  out.push_back('\n');
  out += sig.scope.ToString();
  out.push_back('\n');
  out += crypto::Sha256Hex(canonical_request);
  return out;
}

crypto::Sha256Bytes DeriveSigningKey(std::string_view secret_access_key, const SigV4Scope& scope) {
  // "AWS4" + secret is key material: keep it in SecretBytes so it is wiped afterwards.
  SecretBytes secret(4 + secret_access_key.size());
  std::copy_n("AWS4", 4, secret.data());
  std::copy(secret_access_key.begin(), secret_access_key.end(), secret.data() + 4);
  crypto::Sha256Bytes date_key = crypto::HmacSha256(secret.span(), scope.date);
  crypto::Sha256Bytes region_key = crypto::HmacSha256(date_key, scope.region);
  crypto::Sha256Bytes service_key = crypto::HmacSha256(region_key, scope.service);
  return crypto::HmacSha256(service_key, kTerminator);
}

std::string SignatureHex(const crypto::Sha256Bytes& signing_key, std::string_view string_to_sign) {
  return HexEncode(crypto::HmacSha256(signing_key, string_to_sign));
}

SigV4Verifier::SigV4Verifier(const CredentialProvider& credentials, const Clock& clock,
                             Options options)
    : credentials_(credentials), clock_(clock), options_(options) {}

Status SigV4Verifier::CheckBeforeBody(const HttpRequest& request, const SigV4Request& sig) const {
  return Precheck(request, sig).status();
}

Result<AccessKey> SigV4Verifier::Precheck(const HttpRequest& request,
                                          const SigV4Request& sig) const {
  const Dialect dialect = DialectOf(sig.scope.service);
  const bool presigned = sig.kind == SigV4Request::Kind::kQuery;

  // 0. The request's own shape, in case `sig` did not come from ParseSigV4, and everything that
  //    can be refused without knowing who signed: nothing below may depend on an unsigned header.
  HANGAR_RETURN_IF_ERROR(CheckScope(sig));
  HANGAR_RETURN_IF_ERROR(CheckRegion(sig, options_));
  HANGAR_RETURN_IF_ERROR(CheckOperationHeadersSigned(request, sig));
  if (dialect == Dialect::kS3) HANGAR_RETURN_IF_ERROR(CheckNoUnsignedAmzHeaders(request, sig));
  if (presigned &&
      (sig.expires_seconds < 1 || sig.expires_seconds > options_.max_presigned_expiry.count())) {
    const std::string max = std::to_string(options_.max_presigned_expiry.count());
    if (sig.expires_seconds < 1) {
      return Error(ErrorCode::kAuthorizationQueryParametersError,
                   "X-Amz-Expires must be at least 1 second");
    }
    return Error(ErrorCode::kAuthorizationQueryParametersError,
                 "X-Amz-Expires must be less than a week (in seconds) that is, the given "
                 "X-Amz-Expires must be less than " +
                     max + " seconds");
  }

  // 1. The access key: it exists, is active and, for temporary credentials, has not expired.
  const TimePoint now = clock_.Now();
  HANGAR_ASSIGN_OR_RETURN(AccessKey key, FindKey(sig.scope, now));

  // 2. The time window. Header auth: the request time within max_skew of now. Presigned: not
  // past X-Amz-Date + X-Amz-Expires, and not dated in the future beyond the skew.
  if (presigned) {
    const TimePoint expires_at = sig.request_time + std::chrono::seconds(sig.expires_seconds);
    if (now > expires_at) {
      Status status(ErrorCode::kAccessDenied, "Request has expired");
      if (dialect == Dialect::kS3) {
        status.WithField("X-Amz-Expires", std::to_string(sig.expires_seconds))
            .WithField("Expires", FormatIso8601(expires_at, false))
            .WithField("ServerTime", FormatIso8601(now, false));
      }
      return status;
    }
    if (sig.request_time > now + options_.max_skew) {
      return Error(ErrorCode::kAccessDenied, "Request is not valid yet");
    }
  } else if (sig.request_time < now - options_.max_skew ||
             sig.request_time > now + options_.max_skew) {
    if (dialect == Dialect::kS3) {
      return Error(ErrorCode::kRequestTimeTooSkewed,
                   "The difference between the request time and the current time is too large.")
          .WithField("RequestTime", sig.amz_date)
          .WithField("ServerTime", FormatIso8601(now, false))
          .WithField("MaxAllowedSkewMilliseconds",
                     std::to_string(
                         std::chrono::duration_cast<std::chrono::milliseconds>(options_.max_skew)
                             .count()));
    }
    if (sig.request_time < now) {
      return Error(ErrorCode::kRequestTimeTooSkewed,
                   "Signature expired: " + sig.amz_date + " is now earlier than " +
                       FormatAmzDate(now - options_.max_skew) + " (" + FormatAmzDate(now) + " - " +
                       MinutesText(options_.max_skew) + ")");
    }
    return Error(ErrorCode::kRequestTimeTooSkewed,
                 "Signature not yet current: " + sig.amz_date + " is still later than " +
                     FormatAmzDate(now + options_.max_skew) + " (" + FormatAmzDate(now) + " + " +
                     MinutesText(options_.max_skew) + ")");
  }

  // 3. Temporary credentials must come with their session token; permanent ones without one.
  HANGAR_RETURN_IF_ERROR(CheckSessionToken(key, sig.scope, sig.security_token));
  return key;
}

Result<AccessKey> SigV4Verifier::FindKey(const SigV4Scope& scope, TimePoint now) const {
  const Dialect dialect = DialectOf(scope.service);
  Result<AccessKey> found = credentials_.FindAccessKey(scope.access_key_id);
  if (!found.ok()) {
    if (found.status().code() == ErrorCode::kUnknownAccessKey) {
      return UnknownKeyError(dialect, scope.access_key_id);
    }
    return std::move(found).TakeStatus();
  }
  if (!found->active) return UnknownKeyError(dialect, scope.access_key_id);
  if (found->expires_at && *found->expires_at <= now) {
    return Error(ErrorCode::kExpiredToken, std::string(kExpiredTokenText));
  }
  return found;
}

Status SigV4Verifier::CheckSessionToken(const AccessKey& key, const SigV4Scope& scope,
                                        std::string_view security_token) const {
  // Where only the token's hash is known, the hashes are compared (still in constant time).
  bool token_ok;
  if (!key.session_token_hash.empty()) {
    token_ok = !security_token.empty() &&
               crypto::ConstantTimeEquals(crypto::Sha256Hex(security_token),
                                          key.session_token_hash);
  } else {
    token_ok = key.session_token.empty() == security_token.empty() &&
               crypto::ConstantTimeEquals(key.session_token, security_token);
  }
  if (!token_ok) return UnknownKeyError(DialectOf(scope.service), scope.access_key_id);
  return Status::Ok();
}

Result<VerifiedRequest> SigV4Verifier::VerifyPostPolicy(const PostSignatureFields& fields,
                                                        std::string_view policy) const {
  // 0. The fields' shape. S3 answers a malformed POST credential with InvalidArgument and the
  //    header variant's words without its "The authorization header is malformed; " prefix.
  if (fields.algorithm != kSigV4Algorithm) {
    return Error(ErrorCode::kValidation, "Only AWS4-HMAC-SHA256 is supported")
        .WithField("ArgumentName", "x-amz-algorithm")
        .WithField("ArgumentValue", std::string(fields.algorithm));
  }
  Result<SigV4Scope> parsed = ParseCredential(fields.credential, /*presigned=*/false);
  if (!parsed.ok()) {
    std::string text = parsed.status().message();
    constexpr std::string_view kHeaderPrefix = "The authorization header is malformed; ";
    if (std::string_view(text).starts_with(kHeaderPrefix)) text.erase(0, kHeaderPrefix.size());
    return Error(ErrorCode::kValidation, text)
        .WithField("ArgumentName", "x-amz-credential")
        .WithField("ArgumentValue", std::string(fields.credential));
  }
  SigV4Request sig;
  sig.kind = SigV4Request::Kind::kHeader;
  sig.scope = std::move(parsed).value();
  if (sig.scope.service != "s3") {
    return Error(ErrorCode::kValidation, "incorrect service \"" + sig.scope.service +
                                             "\". This endpoint belongs to \"s3\".")
        .WithField("ArgumentName", "x-amz-credential")
        .WithField("ArgumentValue", std::string(fields.credential));
  }
  std::optional<TimePoint> date = ParseAmzDate(fields.date);
  if (!date) {
    return Error(ErrorCode::kValidation,
                 "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
        .WithField("ArgumentName", "x-amz-date")
        .WithField("ArgumentValue", std::string(fields.date));
  }
  if (sig.scope.date != fields.date.substr(0, 8)) {
    return Error(ErrorCode::kValidation,
                 "Invalid credential date. Date is not the same as X-Amz-Date.")
        .WithField("ArgumentName", "x-amz-date")
        .WithField("ArgumentValue", std::string(fields.date));
  }
  if (!options_.regions.empty() && std::find(options_.regions.begin(), options_.regions.end(),
                                             sig.scope.region) == options_.regions.end()) {
    return Error(ErrorCode::kValidation, "the region '" + sig.scope.region +
                                             "' is wrong; expecting '" + options_.default_region +
                                             "'")
        .WithField("ArgumentName", "x-amz-credential")
        .WithField("ArgumentValue", std::string(fields.credential))
        .WithField("Region", options_.default_region);
  }

  // 1. and 3. The key and its session token.
  HANGAR_ASSIGN_OR_RETURN(AccessKey key, FindKey(sig.scope, clock_.Now()));
  HANGAR_RETURN_IF_ERROR(CheckSessionToken(key, sig.scope, fields.security_token));

  // 4. The signature: HMAC-SHA256(signing key, policy), compared in constant time.
  const crypto::Sha256Bytes signing_key = SigningKeyFor(key, sig.scope);
  if (!crypto::ConstantTimeEquals(SignatureHex(signing_key, policy), fields.signature)) {
    return Error(ErrorCode::kSignatureMismatch, std::string(kS3SignatureMismatchText))
        .WithField("AWSAccessKeyId", sig.scope.access_key_id)
        .WithField("StringToSign", std::string(policy))
        .WithField("SignatureProvided", std::string(fields.signature))
        .WithField("StringToSignBytes", HexBytes(policy));
  }
  VerifiedRequest verified;
  verified.principal = key.principal;
  verified.principal.access_key_id = sig.scope.access_key_id;
  verified.scope = sig.scope;
  verified.kind = sig.kind;
  verified.signing_key = signing_key;
  verified.seed_signature = std::string(fields.signature);
  verified.amz_date = std::string(fields.date);
  return verified;
}

Result<VerifiedRequest> SigV4Verifier::Verify(const HttpRequest& request, const SigV4Request& sig,
                                              std::string_view payload_hash) const {
  HANGAR_ASSIGN_OR_RETURN(AccessKey key, Precheck(request, sig));
  const Dialect dialect = DialectOf(sig.scope.service);
  const bool presigned = sig.kind == SigV4Request::Kind::kQuery;

  // 4. The signature over the canonical request, compared in constant time. A header the client
  // says it signed must be there: an absent header would otherwise canonicalise like an empty one.
  const bool headers_present =
      std::all_of(sig.signed_headers.begin(), sig.signed_headers.end(),
                  [&](const std::string& name) { return request.headers.Has(name); });
  const bool normalize_path = dialect != Dialect::kS3;
  const std::string canonical_request =
      BuildCanonicalRequest(request, sig, payload_hash, normalize_path, false);
  const std::string string_to_sign = StringToSign(sig, canonical_request);
  const crypto::Sha256Bytes signing_key = SigningKeyFor(key, sig.scope);
  bool match = crypto::ConstantTimeEquals(SignatureHex(signing_key, string_to_sign), sig.signature);
  if (!match && presigned && !sig.security_token.empty() &&
      FindParam(DecodeQuery(request.query), kParamSecurityToken) != nullptr) {
    // Some signers (AWS IoT style, the aws-c-auth "post-sts-header-after" vector) append
    // X-Amz-Security-Token to a presigned URL after signing. The token is checked against the key
    // in step 3 anyway, so accepting it unsigned binds nothing less.
    const std::string without_token =
        StringToSign(sig, BuildCanonicalRequest(request, sig, payload_hash, normalize_path, true));
    match = crypto::ConstantTimeEquals(SignatureHex(signing_key, without_token), sig.signature);
  }
  if (!match || !headers_present) {
    if (dialect == Dialect::kS3) {
      // S3 shows these so that clients can debug their signer; none of them is secret.
      return Error(ErrorCode::kSignatureMismatch, std::string(kS3SignatureMismatchText))
          .WithField("AWSAccessKeyId", sig.scope.access_key_id)
          .WithField("StringToSign", string_to_sign)
          .WithField("SignatureProvided", sig.signature)
          .WithField("CanonicalRequest", canonical_request);
    }
    return Error(ErrorCode::kSignatureMismatch, std::string(kSignatureMismatchText));
  }

  VerifiedRequest verified;
  verified.principal = key.principal;
  verified.principal.access_key_id = sig.scope.access_key_id;
  verified.scope = sig.scope;
  verified.kind = sig.kind;
  verified.signing_key = signing_key;
  verified.seed_signature = sig.signature;
  verified.amz_date = sig.amz_date;
  return verified;
}

crypto::Sha256Bytes SigV4Verifier::SigningKeyFor(const AccessKey& key,
                                                 const SigV4Scope& scope) const {
  // The signing key depends on the secret, the day, the region and the service: derive it once
  // per scope. The secret's fingerprint notices a rotated secret under the same key id.
  const std::string cache_key = scope.access_key_id + "/" + scope.ToString();
  const crypto::Sha256Bytes fingerprint = crypto::Sha256(key.secret_access_key.span());
  {
    std::lock_guard<std::mutex> lock(cache_mu_);
    auto it = signing_keys_.find(cache_key);
    if (it != signing_keys_.end() && it->second.first == fingerprint) return it->second.second;
  }
  const crypto::Sha256Bytes signing_key =
      DeriveSigningKey(AsStringView(key.secret_access_key.span()), scope);
  std::lock_guard<std::mutex> lock(cache_mu_);
  // Scopes roll over daily; a full cache is simply dropped rather than tracked for recency.
  if (signing_keys_.size() >= kMaxCachedSigningKeys) signing_keys_.clear();
  signing_keys_[cache_key] = {fingerprint, signing_key};
  return signing_key;
}

}  // namespace hangar::auth
