#pragma once
// The one way Hangar carries errors: a Status whose code is the AWS error we emit, and Result<T>.
// A status message is shown to clients; it never holds key material, plaintext, secrets or signatures.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hangar {

// Every error Hangar can answer with. Wire names and HTTP statuses per protocol live in status.cc
// (one table), so a handler only ever says *what* went wrong.
enum class ErrorCode : uint16_t {
  kOk = 0,
  // Generic and protocol-level.
  kInternal,
  kValidation,
  kSerialization,     // body is not valid JSON / XML of the expected shape
  kUnknownOperation,  // X-Amz-Target or Action not known
  kRequestTooLarge,
  kNotImplemented,
  kInvalidRequest,
  kMalformedQueryString,
  // Authentication (SigV4) and authorisation.
  kMissingAuthentication,
  kIncompleteSignature,
  kUnknownAccessKey,
  kSignatureMismatch,
  kRequestTimeTooSkewed,
  kAccessDenied,
  kExpiredToken,
  // KMS.
  kKmsNotFound,
  kKmsDisabled,
  kKmsInvalidState,
  kKmsInvalidCiphertext,
  kKmsIncorrectKey,
  kKmsInvalidKeyUsage,
  kKmsAlreadyExists,
  kKmsInvalidAliasName,
  kKmsTag,
  kKmsUnsupportedOperation,
  kKmsDryRun,
  kKmsLimitExceeded,
  kKmsMalformedPolicyDocument,
  kKmsInvalidMarker,
  kKmsInvalidArn,
  kKmsInvalidGrantToken,
  kKmsInvalidGrantId,
  kKmsInvalidSignature,
  kKmsInvalidMac,
  kKmsCustomKeyStoreNotFound,
  kKmsInvalidImportToken,
  kKmsExpiredImportToken,
  kKmsIncorrectKeyMaterial,
  kKmsKeyUnavailable,
  // S3.
  kNoSuchBucket,
  kNoSuchKey,
  kNoSuchUpload,
  kNoSuchTagSet,
  kBucketAlreadyExists,
  kBucketAlreadyOwnedByYou,
  kBucketNotEmpty,
  kInvalidBucketName,
  kIllegalLocationConstraint,
  kInvalidLocationConstraint,
  kInvalidRange,
  kPreconditionFailed,
  kConditionalRequestConflict,  // 409: a conditional write lost to a concurrent change
  kNotModified,
  kEntityTooSmall,
  kEntityTooLarge,
  kInvalidPart,
  kInvalidPartOrder,
  kInvalidPartNumber,
  kBadDigest,
  kInvalidDigest,
  kMalformedXml,
  kMethodNotAllowed,
  kKeyTooLong,
  kMetadataTooLarge,
  kMissingContentLength,
  kIncompleteBody,
  kContentSha256Mismatch,
  kInvalidTag,
  kInvalidStorageClass,
  kAuthorizationQueryParametersError,
  kNoSuchBucketPolicy,
  kNoSuchPublicAccessBlockConfiguration,
  kOwnershipControlsNotFound,
  kNoSuchLifecycleConfiguration,
  kNoSuchCorsConfiguration,
  kCorsForbidden,   // 403 AccessForbidden: a CORS request no rule allows
  kCorsBadRequest,  // 400 BadRequest: a preflight without Origin / Access-Control-Request-Method
  kServerSideEncryptionConfigurationNotFound,
  // S3 versioning and Object Lock.
  kNoSuchVersion,
  kInvalidBucketState,  // 409: the bucket's versioning or lock state forbids the change
  kIllegalVersioningConfiguration,
  kObjectLockConfigurationNotFound,
  kNoSuchObjectLockConfiguration,
  kSlowDown,
  kRequestTimeout,  // the client stopped sending (or reading) within the deadline
  kInvalidEncryptionAlgorithm,
  // POST Object (docs/s3-post-object.md).
  kMalformedPostRequest,           // 400 MalformedPOSTRequest: not well-formed multipart/form-data
  kMaxPostPreDataLengthExceeded,   // 400: the fields before the file are too large
  kInvalidPolicyDocument,          // 400: the form's policy document is not valid
  // IAM.
  kIamNoSuchEntity,
  kIamEntityAlreadyExists,
  kIamDeleteConflict,
  kIamLimitExceeded,
  kIamInvalidInput,
  kIamMalformedPolicyDocument,
  // S3 policies.
  kMalformedPolicy,
  kAccessControlListNotSupported,
  kInvalidBucketAclWithObjectOwnership,  // 400: ACLs asked of a BucketOwnerEnforced bucket
  kUnresolvableGrantByEmailAddress,      // 400: grants by e-mail address cannot be resolved
  kMalformedAcl,                         // 400 MalformedACLError: an AccessControlPolicy document
  kMissingSecurityHeader,                // 400: a PUT ?acl with neither headers nor a document
  kUnexpectedContent,                    // 400: a body where the request takes none
  // Audit: the trail cannot be written, so nothing is served (fail closed).
  kAuditUnavailable,
  // Cluster mode: the node cannot tell whether its caches are current, so it serves nothing.
  kNodeOutOfStep,
  // CloudTrail LookupEvents.
  kCloudTrailInvalidLookupAttributes,
  kCloudTrailInvalidTimeRange,
  kCloudTrailInvalidMaxResults,
  kCloudTrailInvalidNextToken,
  kCloudTrailInvalidEventCategory,
  // Security Hub.
  kSecurityHubInvalidInput,
  // Storage: a precondition of an atomic commit did not hold (someone else wrote first). Services
  // retry or translate it; it never reaches a client as such.
  kConflict,
  kCount_,
};

// How one code appears on each wire protocol.
struct ErrorWire {
  std::string_view json_type;  // AWS JSON 1.1 `__type` (KMS)
  uint16_t json_status;
  std::string_view xml_code;  // S3 REST/XML <Code>
  uint16_t xml_status;
  std::string_view query_code;  // IAM/STS query protocol <Code>
  uint16_t query_status;
};
const ErrorWire& WireOf(ErrorCode code);

class Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Extra members some protocols render (S3's <Resource>, <BucketName>, ...). Rarely used.
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  Status& WithField(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
    return *this;
  }

  // HTTP headers an error answer carries (S3: a delete marker's x-amz-delete-marker and
  // x-amz-version-id on 404/405). Rarely used.
  const std::vector<std::pair<std::string, std::string>>& headers() const { return headers_; }
  Status& WithHeader(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
  }

  // For logs: code name and message (never secret by construction).
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
  std::vector<std::pair<std::string, std::string>> fields_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

inline Status Error(ErrorCode code, std::string message) {
  return Status(code, std::move(message));
}
inline Status InternalError(std::string message) {
  return Status(ErrorCode::kInternal, std::move(message));
}

}  // namespace hangar
