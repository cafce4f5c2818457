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
// status. Sources: ../shared/reference/{kms,s3,iam}.md. Codes a protocol never emits reuse the
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
     {"RequestEntityTooLargeException", 413, "EntityTooLarge", 400, "RequestEntityTooLarge", 413}},
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
    {ErrorCode::kKmsKeyUnavailable,
     {"KeyUnavailableException", 500, "KMS.KeyUnavailableException", 500, "ServiceFailure", 500}},
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
