#pragma once
// AWS Signature Version 4: parsing, canonicalisation and verification of header-signed and
// presigned (query) requests.
// Spec: "Create a signed AWS API request" and "Authenticating Requests: Using Query Parameters
// (AWS Signature Version 4)" in the AWS IAM / S3 docs; vectors: tests/data/sigv4.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/credentials.h"
#include "auth/principal.h"
#include "common/clock.h"
#include "common/http_message.h"
#include "common/result.h"
#include "crypto/digest.h"

namespace hangar::auth {

inline constexpr std::string_view kSigV4Algorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// hex SHA-256 of the empty string
inline constexpr std::string_view kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// The credential scope: <access key>/<yyyymmdd>/<region>/<service>/aws4_request.
struct SigV4Scope {
  std::string access_key_id;
  std::string date;  // yyyymmdd
  std::string region;
  std::string service;
  // "<date>/<region>/<service>/aws4_request"
  std::string ToString() const;
};

// The SigV4 parameters a request carries, parsed but not yet verified.
struct SigV4Request {
  enum class Kind { kHeader, kQuery };
  Kind kind = Kind::kHeader;
  SigV4Scope scope;
  std::vector<std::string> signed_headers;  // lower-case, as listed by the client
  std::string signature;                    // 64 lower-case hex digits
  std::string amz_date;                     // as sent, e.g. 20150830T123600Z
  TimePoint request_time;
  int64_t expires_seconds = 0;  // presigned only: X-Amz-Expires
  std::string security_token;   // X-Amz-Security-Token, if any
};

// Finds SigV4 parameters in the Authorization header or the query string.
// Returns nullopt when the request carries no authentication at all (anonymous).
// Errors: kIncompleteSignature for a malformed Authorization header or query parameters (with the
// AWS text naming what is missing, or "Unsupported Authorization Type" for another algorithm);
// kInvalidRequest when a request carries both header and query authentication.
Result<std::optional<SigV4Request>> ParseSigV4(const HttpRequest& request);

// Only the service name of the credential scope, without validating anything else: used to route
// a request (and choose its error dialect) before it is verified.
std::optional<std::string> PeekSigV4Service(const HttpRequest& request);

// Canonical request (step 1 of the spec). `normalize_path` is true for every service except S3:
// dot segments are resolved and each path segment is URI-encoded once more.
// `payload_hash` is the hex SHA-256 of the body or one of the UNSIGNED/STREAMING markers.
std::string CanonicalRequest(const HttpRequest& request, const SigV4Request& sig,
                             std::string_view payload_hash, bool normalize_path);
// String to sign (step 2).
std::string StringToSign(const SigV4Request& sig, std::string_view canonical_request);
// kSecret = "AWS4" + secret; kDate = HMAC(kSecret, date); ... kSigning = HMAC(kService, "aws4_request").
crypto::Sha256Bytes DeriveSigningKey(std::string_view secret_access_key, const SigV4Scope& scope);
// Lower-case hex HMAC-SHA256(signing key, string to sign).
std::string SignatureHex(const crypto::Sha256Bytes& signing_key, std::string_view string_to_sign);

// A request whose signature verified.
struct VerifiedRequest {
  Principal principal;
  SigV4Scope scope;
  SigV4Request::Kind kind = SigV4Request::Kind::kHeader;
  // Kept for aws-chunked streaming uploads, whose chunk signatures chain from the seed signature.
  crypto::Sha256Bytes signing_key{};
  std::string seed_signature;
  std::string amz_date;
};

// The signature fields of a browser-based POST upload's form (S3 API Reference, "Creating a POST
// Policy" and "Example: Browser-Based Upload using HTTP POST (Using AWS Signature Version 4)").
struct PostSignatureFields {
  std::string_view algorithm;   // x-amz-algorithm
  std::string_view credential;  // x-amz-credential
  std::string_view date;        // x-amz-date
  std::string_view signature;   // x-amz-signature
  std::string_view security_token;  // x-amz-security-token, "" when absent
};

// Verifies SigV4 signatures against a CredentialProvider. Thread-safe. Caches derived signing keys
// (they change once a day per key and scope).
class SigV4Verifier {
 public:
  struct Options {
    std::chrono::seconds max_skew{15 * 60};
    std::chrono::seconds max_presigned_expiry{7 * 24 * 3600};
    // Regions this server serves; a credential scope naming another is refused. Empty: any.
    // IAM, a global service, is always scoped to us-east-1, as AWS's global endpoint wants.
    std::vector<std::string> regions;
    std::string default_region = "us-east-1";  // named in S3's "expecting '<region>'"
  };
  // `clock` is the real wall clock: request freshness must not follow the dev clock.
  SigV4Verifier(const CredentialProvider& credentials, const Clock& clock, Options options);

  // Verifies `sig` (from ParseSigV4) for `request`.
  // Steps: 0. the request's shape: a served region (kIncompleteSignature / kAuthorization-
  //    QueryParametersError for S3, kSignatureMismatch elsewhere), every header that selects the
  //    operation signed (host; KMS x-amz-target and content-type; query protocols content-type:
  //    kIncompleteSignature), S3: no unsigned x-amz-* header (kAccessDenied, HeadersNotSigned);
  // 1. look up the access key (kUnknownAccessKey, also for inactive keys; expired
  //    temporary credentials → kExpiredToken);
  // 2. check the time window (kRequestTimeTooSkewed; presigned: expiry → kAccessDenied
  //    "Request has expired"); 3. session token (kUnknownAccessKey on mismatch);
  // 4. rebuild the canonical request and compare signatures in constant time (kSignatureMismatch).
  // Error messages follow the dialect of the scope's service (S3, query or JSON).
  Result<VerifiedRequest> Verify(const HttpRequest& request, const SigV4Request& sig,
                                 std::string_view payload_hash) const;

  // Verifies a POST form's signature: x-amz-signature must be the hex HMAC-SHA256 of `policy` (the
  // form's base64 policy field, exactly as sent) under the credential's signing key.
  // Steps: 0. the fields' shape (kValidation, InvalidArgument, with AWS's texts): algorithm
  //    AWS4-HMAC-SHA256, a credential <key>/<yyyymmdd>/<region>/s3/aws4_request for a served region,
  //    x-amz-date in ISO 8601 basic format on the credential's day;
  // 1. the access key (kUnknownAccessKey; kExpiredToken); 3. the session token (kUnknownAccessKey);
  // 4. the signature, compared in constant time (kSignatureMismatch, with the policy as
  //    StringToSign as S3 shows it).
  // There is no step 2: a form has no request time window, its policy's expiration bounds it
  // (the caller checks that, s3/post_policy.h).
  Result<VerifiedRequest> VerifyPostPolicy(const PostSignatureFields& fields,
                                           std::string_view policy) const;

  // Steps 0-3 of Verify: all that can be checked from the header alone, before a body whose hash
  // the signature covers has arrived. Same errors as Verify.
  Status CheckBeforeBody(const HttpRequest& request, const SigV4Request& sig) const;

 private:
  Result<AccessKey> Precheck(const HttpRequest& request, const SigV4Request& sig) const;
  // Steps 1 and 3 of Verify, shared with VerifyPostPolicy.
  Result<AccessKey> FindKey(const SigV4Scope& scope, TimePoint now) const;
  Status CheckSessionToken(const AccessKey& key, const SigV4Scope& scope,
                           std::string_view security_token) const;
  crypto::Sha256Bytes SigningKeyFor(const AccessKey& key, const SigV4Scope& scope) const;

  const CredentialProvider& credentials_;
  const Clock& clock_;
  const Options options_;
  mutable std::mutex cache_mu_;
  // key: access key id + '/' + scope; value: (secret fingerprint, signing key). Protected by cache_mu_.
  mutable std::unordered_map<std::string, std::pair<crypto::Sha256Bytes, crypto::Sha256Bytes>>
      signing_keys_;
};

}  // namespace hangar::auth
