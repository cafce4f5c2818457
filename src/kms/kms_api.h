#pragma once
// KmsApi: the KMS wire codec — AWS JSON 1.1 (`X-Amz-Target: TrentService.<Operation>`) decoded
// into KeyService's typed inputs and its outputs encoded back, with AWS's member names, base64
// blobs and epoch-second timestamps (docs/reference/kms.md §1–§2).

#include <string>
#include <string_view>

#include "auth/request_context.h"
#include "common/result.h"
#include "kms/key_service.h"

namespace hangar::kms {

class KmsApi {
 public:
  explicit KmsApi(KeyService& service) : service_(service) {}

  // Runs `operation` (the part after "TrentService.") on the JSON `body`. Returns the JSON
  // response body. Errors: kSerialization for malformed JSON or wrong member types,
  // kUnknownOperation for an unknown operation, kNotImplemented for AWS operations Hangar does
  // not offer yet, and whatever the operation itself returns.
  Result<std::string> Call(const auth::RequestContext& ctx, std::string_view operation,
                           std::string_view body);

  // Both answer from the operation table (kms/api_codec.h), where each operation's facts live.
  // True for operations that only read cached state and never block on storage or disk, so the
  // HTTP layer may run them on its I/O threads.
  static bool RunsInline(std::string_view operation);
  // Whether CloudTrail marks the operation readOnly (it changes nothing).
  static bool IsReadOnly(std::string_view operation);

 private:
  KeyService& service_;
};

}  // namespace hangar::kms
