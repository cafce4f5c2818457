#include "common/status.h"

#include <array>
#include <cstdio>
#include <cstdlib>

#include "common/check.h"

namespace hangar {
namespace {

struct Row {
  ErrorCode code;
  ErrorWire wire;
};

// One row per code: JSON (KMS) type and status, S3 XML code and status, query (IAM/STS) code and
// status. Sources: docs/reference/{kms,s3,iam}.md. Codes a protocol never emits reuse the
// closest generic error of that protocol.
constexpr Row kRows[] = {
    {ErrorCode::kOk, {"", 200, "", 200, "", 200}},
    {ErrorCode::kInternal,
     {"KMSInternalException", 500, "InternalError", 500, "ServiceFailure", 500}},
    {ErrorCode::kValidation,
     {"ValidationException", 400, "InvalidArgument", 400, "ValidationError", 400}},
    {ErrorCode::kSerialization,
     {"SerializationException", 400, "MalformedXML", 400, "MalformedInput", 400}},
    {ErrorCode::kUnknownOperation,
     {"UnknownOperationException", 400, "NotImplemented", 501, "InvalidAction", 400}},
    {ErrorCode::kRequestTooLarge,
     {"RequestEntityTooLargeException", 413, "MaxMessageLengthExceeded", 400,
      "RequestEntityTooLarge", 413}},
    {ErrorCode::kNotImplemented,
     {"UnsupportedOperationException", 400, "NotImplemented", 501, "InvalidAction", 400}},
    {ErrorCode::kInvalidRequest,
     {"ValidationException", 400, "InvalidRequest", 400, "InvalidInput", 400}},
    {ErrorCode::kMalformedQueryString,
     {"SerializationException", 400, "InvalidArgument", 400, "MalformedQueryString", 404}},
    {ErrorCode::kMissingAuthentication,
     {"MissingAuthenticationTokenException", 400, "AccessDenied", 403, "MissingAuthenticationToken",
      403}},
    {ErrorCode::kIncompleteSignature,
     {"IncompleteSignatureException", 400, "AuthorizationHeaderMalformed", 400,
      "IncompleteSignature", 400}},
    {ErrorCode::kUnknownAccessKey,
     {"UnrecognizedClientException", 400, "InvalidAccessKeyId", 403, "InvalidClientTokenId", 403}},
    {ErrorCode::kSignatureMismatch,
     {"InvalidSignatureException", 400, "SignatureDoesNotMatch", 403, "SignatureDoesNotMatch",
      403}},
    {ErrorCode::kRequestTimeTooSkewed,
     {"InvalidSignatureException", 400, "RequestTimeTooSkewed", 403, "SignatureDoesNotMatch", 403}},
    {ErrorCode::kAccessDenied,
     {"AccessDeniedException", 400, "AccessDenied", 403, "AccessDenied", 403}},
    {ErrorCode::kExpiredToken,
     {"ExpiredTokenException", 400, "ExpiredToken", 400, "ExpiredToken", 403}},
    {ErrorCode::kKmsNotFound,
     {"NotFoundException", 400, "KMS.NotFoundException", 400, "NoSuchEntity", 404}},
    {ErrorCode::kKmsDisabled,
     {"DisabledException", 400, "KMS.DisabledException", 400, "InvalidInput", 400}},
    {ErrorCode::kKmsInvalidState,
     {"KMSInvalidStateException", 400, "KMS.KMSInvalidStateException", 400, "InvalidInput", 400}},
    {ErrorCode::kKmsInvalidCiphertext,
     {"InvalidCiphertextException", 400, "KMS.InvalidCiphertextException", 400, "InvalidInput",
      400}},
    {ErrorCode::kKmsIncorrectKey,
     {"IncorrectKeyException", 400, "KMS.IncorrectKeyException", 400, "InvalidInput", 400}},
    {ErrorCode::kKmsInvalidKeyUsage,
     {"InvalidKeyUsageException", 400, "KMS.InvalidKeyUsageException", 400, "InvalidInput", 400}},
    {ErrorCode::kKmsAlreadyExists,
     {"AlreadyExistsException", 400, "KMS.AlreadyExistsException", 400, "EntityAlreadyExists",
      409}},
    {ErrorCode::kKmsInvalidAliasName,
     {"InvalidAliasNameException", 400, "KMS.InvalidAliasNameException", 400, "InvalidInput", 400}},
    {ErrorCode::kKmsTag, {"TagException", 400, "InvalidTag", 400, "InvalidInput", 400}},
    {ErrorCode::kKmsUnsupportedOperation,
     {"UnsupportedOperationException", 400, "KMS.UnsupportedOperationException", 400,
      "InvalidInput", 400}},
    {ErrorCode::kKmsDryRun,
     {"DryRunOperationException", 400, "KMS.DryRunOperationException", 400, "InvalidInput", 400}},
    {ErrorCode::kKmsLimitExceeded,
     {"LimitExceededException", 400, "KMS.LimitExceededException", 400, "LimitExceeded", 409}},
    {ErrorCode::kKmsMalformedPolicyDocument,
     {"MalformedPolicyDocumentException", 400, "MalformedPolicy", 400, "MalformedPolicyDocument",
      400}},
    {ErrorCode::kKmsInvalidMarker,
     {"InvalidMarkerException", 400, "InvalidArgument", 400, "InvalidInput", 400}},
    {ErrorCode::kKmsInvalidArn,
     {"InvalidArnException", 400, "KMS.InvalidArnException", 400, "InvalidInput", 400}},
    {ErrorCode::kKmsInvalidGrantToken,
     {"InvalidGrantTokenException", 400, "KMS.InvalidGrantTokenException", 400, "InvalidInput",
      400}},
    {ErrorCode::kKmsInvalidGrantId,
     {"InvalidGrantIdException", 400, "KMS.InvalidGrantIdException", 400, "InvalidInput", 400}},
    {ErrorCode::kKmsInvalidSignature,
     {"KMSInvalidSignatureException", 400, "KMS.KMSInvalidSignatureException", 400,
      "InvalidInput", 400}},
    {ErrorCode::kKmsInvalidMac,
     {"KMSInvalidMacException", 400, "KMS.KMSInvalidMacException", 400, "InvalidInput", 400}},
    {ErrorCode::kKmsCustomKeyStoreNotFound,
     {"CustomKeyStoreNotFoundException", 400, "KMS.CustomKeyStoreNotFoundException", 400,
      "InvalidInput", 400}},
    {ErrorCode::kKmsInvalidImportToken,
     {"InvalidImportTokenException", 400, "KMS.InvalidImportTokenException", 400, "InvalidInput",
      400}},
    {ErrorCode::kKmsExpiredImportToken,
     {"ExpiredImportTokenException", 400, "KMS.ExpiredImportTokenException", 400, "InvalidInput",
      400}},
    {ErrorCode::kKmsIncorrectKeyMaterial,
     {"IncorrectKeyMaterialException", 400, "KMS.IncorrectKeyMaterialException", 400,
      "InvalidInput", 400}},
    {ErrorCode::kKmsKeyUnavailable,
     {"KeyUnavailableException", 500, "KMS.KeyUnavailableException", 500, "ServiceFailure", 500}},
    // S3 codes; the JSON and query columns never reach a client for these.
    {ErrorCode::kNoSuchBucket, {"NotFoundException", 404, "NoSuchBucket", 404, "NoSuchEntity", 404}},
    {ErrorCode::kNoSuchKey, {"NotFoundException", 404, "NoSuchKey", 404, "NoSuchEntity", 404}},
    {ErrorCode::kNoSuchUpload, {"NotFoundException", 404, "NoSuchUpload", 404, "NoSuchEntity", 404}},
    {ErrorCode::kNoSuchTagSet, {"NotFoundException", 404, "NoSuchTagSet", 404, "NoSuchEntity", 404}},
    {ErrorCode::kBucketAlreadyExists,
     {"AlreadyExistsException", 409, "BucketAlreadyExists", 409, "EntityAlreadyExists", 409}},
    {ErrorCode::kBucketAlreadyOwnedByYou,
     {"AlreadyExistsException", 409, "BucketAlreadyOwnedByYou", 409, "EntityAlreadyExists", 409}},
    {ErrorCode::kBucketNotEmpty,
     {"ValidationException", 409, "BucketNotEmpty", 409, "DeleteConflict", 409}},
    {ErrorCode::kInvalidBucketName,
     {"ValidationException", 400, "InvalidBucketName", 400, "InvalidInput", 400}},
    {ErrorCode::kIllegalLocationConstraint,
     {"ValidationException", 400, "IllegalLocationConstraintException", 400, "InvalidInput", 400}},
    {ErrorCode::kInvalidLocationConstraint,
     {"ValidationException", 400, "InvalidLocationConstraint", 400, "InvalidInput", 400}},
    {ErrorCode::kInvalidRange, {"ValidationException", 416, "InvalidRange", 416, "InvalidInput", 400}},
    {ErrorCode::kPreconditionFailed,
     {"ValidationException", 412, "PreconditionFailed", 412, "InvalidInput", 400}},
    {ErrorCode::kConditionalRequestConflict,
     {"ValidationException", 409, "ConditionalRequestConflict", 409, "InvalidInput", 400}},
    {ErrorCode::kNotModified, {"ValidationException", 304, "NotModified", 304, "InvalidInput", 400}},
    {ErrorCode::kEntityTooSmall,
     {"ValidationException", 400, "EntityTooSmall", 400, "InvalidInput", 400}},
    {ErrorCode::kEntityTooLarge,
     {"ValidationException", 400, "EntityTooLarge", 400, "InvalidInput", 400}},
    {ErrorCode::kInvalidPart, {"ValidationException", 400, "InvalidPart", 400, "InvalidInput", 400}},
    {ErrorCode::kInvalidPartOrder,
     {"ValidationException", 400, "InvalidPartOrder", 400, "InvalidInput", 400}},
    {ErrorCode::kInvalidPartNumber,
     {"ValidationException", 416, "InvalidPartNumber", 416, "InvalidInput", 400}},
    {ErrorCode::kBadDigest, {"ValidationException", 400, "BadDigest", 400, "InvalidInput", 400}},
    {ErrorCode::kInvalidDigest,
     {"ValidationException", 400, "InvalidDigest", 400, "InvalidInput", 400}},
    {ErrorCode::kMalformedXml,
     {"SerializationException", 400, "MalformedXML", 400, "MalformedInput", 400}},
    {ErrorCode::kMethodNotAllowed,
     {"ValidationException", 405, "MethodNotAllowed", 405, "InvalidAction", 400}},
    {ErrorCode::kKeyTooLong, {"ValidationException", 400, "KeyTooLongError", 400, "InvalidInput", 400}},
    {ErrorCode::kMetadataTooLarge,
     {"ValidationException", 400, "MetadataTooLarge", 400, "InvalidInput", 400}},
    {ErrorCode::kMissingContentLength,
     {"ValidationException", 411, "MissingContentLength", 411, "InvalidInput", 400}},
    {ErrorCode::kIncompleteBody,
     {"ValidationException", 400, "IncompleteBody", 400, "InvalidInput", 400}},
    {ErrorCode::kContentSha256Mismatch,
     {"ValidationException", 400, "XAmzContentSHA256Mismatch", 400, "InvalidInput", 400}},
    {ErrorCode::kInvalidTag, {"TagException", 400, "InvalidTag", 400, "InvalidInput", 400}},
    {ErrorCode::kInvalidStorageClass,
     {"ValidationException", 400, "InvalidStorageClass", 400, "InvalidInput", 400}},
    {ErrorCode::kAuthorizationQueryParametersError,
     {"IncompleteSignatureException", 400, "AuthorizationQueryParametersError", 400,
      "IncompleteSignature", 400}},
    {ErrorCode::kNoSuchBucketPolicy,
     {"NotFoundException", 404, "NoSuchBucketPolicy", 404, "NoSuchEntity", 404}},
    {ErrorCode::kNoSuchPublicAccessBlockConfiguration,
     {"NotFoundException", 404, "NoSuchPublicAccessBlockConfiguration", 404, "NoSuchEntity", 404}},
    {ErrorCode::kOwnershipControlsNotFound,
     {"NotFoundException", 404, "OwnershipControlsNotFoundError", 404, "NoSuchEntity", 404}},
    {ErrorCode::kNoSuchLifecycleConfiguration,
     {"NotFoundException", 404, "NoSuchLifecycleConfiguration", 404, "NoSuchEntity", 404}},
    {ErrorCode::kNoSuchCorsConfiguration,
     {"NotFoundException", 404, "NoSuchCORSConfiguration", 404, "NoSuchEntity", 404}},
    {ErrorCode::kCorsForbidden,
     {"AccessDeniedException", 400, "AccessForbidden", 403, "AccessDenied", 403}},
    {ErrorCode::kCorsBadRequest,
     {"ValidationException", 400, "BadRequest", 400, "InvalidInput", 400}},
    {ErrorCode::kServerSideEncryptionConfigurationNotFound,
     {"NotFoundException", 404, "ServerSideEncryptionConfigurationNotFoundError", 404,
      "NoSuchEntity", 404}},
    {ErrorCode::kNoSuchVersion,
     {"NotFoundException", 404, "NoSuchVersion", 404, "NoSuchEntity", 404}},
    {ErrorCode::kInvalidBucketState,
     {"ValidationException", 409, "InvalidBucketState", 409, "InvalidInput", 400}},
    {ErrorCode::kIllegalVersioningConfiguration,
     {"ValidationException", 400, "IllegalVersioningConfigurationException", 400, "InvalidInput",
      400}},
    {ErrorCode::kObjectLockConfigurationNotFound,
     {"NotFoundException", 404, "ObjectLockConfigurationNotFoundError", 404, "NoSuchEntity", 404}},
    {ErrorCode::kNoSuchObjectLockConfiguration,
     {"NotFoundException", 404, "NoSuchObjectLockConfiguration", 404, "NoSuchEntity", 404}},
    {ErrorCode::kSlowDown, {"ThrottlingException", 503, "SlowDown", 503, "Throttling", 400}},
    {ErrorCode::kRequestTimeout,
     {"RequestTimeoutException", 408, "RequestTimeout", 400, "RequestTimeout", 408}},
    {ErrorCode::kInvalidEncryptionAlgorithm,
     {"ValidationException", 400, "InvalidEncryptionAlgorithmError", 400, "InvalidInput", 400}},
    {ErrorCode::kMalformedPostRequest,
     {"ValidationException", 400, "MalformedPOSTRequest", 400, "InvalidInput", 400}},
    {ErrorCode::kMaxPostPreDataLengthExceeded,
     {"ValidationException", 400, "MaxPostPreDataLengthExceededError", 400, "InvalidInput", 400}},
    {ErrorCode::kInvalidPolicyDocument,
     {"ValidationException", 400, "InvalidPolicyDocument", 400, "InvalidInput", 400}},
    {ErrorCode::kIamNoSuchEntity,
     {"NotFoundException", 400, "NoSuchEntity", 404, "NoSuchEntity", 404}},
    {ErrorCode::kIamEntityAlreadyExists,
     {"AlreadyExistsException", 400, "EntityAlreadyExists", 409, "EntityAlreadyExists", 409}},
    {ErrorCode::kIamDeleteConflict,
     {"ValidationException", 400, "DeleteConflict", 409, "DeleteConflict", 409}},
    {ErrorCode::kIamLimitExceeded,
     {"LimitExceededException", 400, "LimitExceeded", 409, "LimitExceeded", 409}},
    {ErrorCode::kIamInvalidInput,
     {"ValidationException", 400, "InvalidInput", 400, "InvalidInput", 400}},
    {ErrorCode::kIamMalformedPolicyDocument,
     {"MalformedPolicyDocumentException", 400, "MalformedPolicy", 400, "MalformedPolicyDocument",
      400}},
    {ErrorCode::kMalformedPolicy,
     {"MalformedPolicyDocumentException", 400, "MalformedPolicy", 400, "MalformedPolicyDocument",
      400}},
    {ErrorCode::kAccessControlListNotSupported,
     {"ValidationException", 400, "AccessControlListNotSupported", 400, "InvalidInput", 400}},
    {ErrorCode::kInvalidBucketAclWithObjectOwnership,
     {"ValidationException", 400, "InvalidBucketAclWithObjectOwnership", 400, "InvalidInput", 400}},
    {ErrorCode::kUnresolvableGrantByEmailAddress,
     {"ValidationException", 400, "UnresolvableGrantByEmailAddress", 400, "InvalidInput", 400}},
    {ErrorCode::kMalformedAcl,
     {"ValidationException", 400, "MalformedACLError", 400, "InvalidInput", 400}},
    {ErrorCode::kMissingSecurityHeader,
     {"ValidationException", 400, "MissingSecurityHeader", 400, "InvalidInput", 400}},
    {ErrorCode::kUnexpectedContent,
     {"ValidationException", 400, "UnexpectedContent", 400, "InvalidInput", 400}},
    {ErrorCode::kAuditUnavailable,
     {"KMSInternalException", 500, "ServiceUnavailable", 503, "ServiceUnavailable", 503}},
    {ErrorCode::kCloudTrailInvalidLookupAttributes,
     {"InvalidLookupAttributesException", 400, "InvalidArgument", 400, "ValidationError", 400}},
    {ErrorCode::kCloudTrailInvalidTimeRange,
     {"InvalidTimeRangeException", 400, "InvalidArgument", 400, "ValidationError", 400}},
    {ErrorCode::kCloudTrailInvalidMaxResults,
     {"InvalidMaxResultsException", 400, "InvalidArgument", 400, "ValidationError", 400}},
    {ErrorCode::kCloudTrailInvalidNextToken,
     {"InvalidNextTokenException", 400, "InvalidArgument", 400, "ValidationError", 400}},
    {ErrorCode::kCloudTrailInvalidEventCategory,
     {"InvalidEventCategoryException", 400, "InvalidArgument", 400, "ValidationError", 400}},
    {ErrorCode::kSecurityHubInvalidInput,
     {"InvalidInputException", 400, "InvalidArgument", 400, "ValidationError", 400}},
    {ErrorCode::kConflict, {"KMSInternalException", 500, "InternalError", 500, "ServiceFailure", 500}},
};
static_assert(std::size(kRows) == static_cast<size_t>(ErrorCode::kCount_),
              "every ErrorCode needs exactly one row");

constexpr bool RowsInOrder() {
  for (size_t i = 0; i < std::size(kRows); ++i) {
    if (static_cast<size_t>(kRows[i].code) != i) return false;
  }
  return true;
}
static_assert(RowsInOrder(), "rows must follow the enum order");

}  // namespace

const ErrorWire& WireOf(ErrorCode code) {
  auto index = static_cast<size_t>(code);
  HANGAR_CHECK(index < std::size(kRows));
  return kRows[index].wire;
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string out(WireOf(code_).json_type);
  out += ": ";
  out += message_;
  return out;
}

namespace internal {
void CheckFailed(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "HANGAR_CHECK failed: %s at %s:%d\n", expr, file, line);
  std::abort();
}
}  // namespace internal

}  // namespace hangar
