#pragma once
// Checks shared by the operations that write objects and parts.

#include <optional>
#include <string>
#include <string_view>

#include "auth/payload_reader.h"
#include "common/status.h"
#include "s3/object_io.h"
#include "s3/records.h"
#include "s3/s3_service.h"

namespace hangar::s3 {

// 1–1024 bytes of UTF-8. Errors: kKeyTooLong, kValidation.
Status ValidateObjectKey(std::string_view key);
// x-amz-meta-* names and values together at most 2 KB. Errors: kMetadataTooLarge.
Status ValidateUserMetadata(const KeyValues& metadata);
// Content-MD5 and the x-amz-checksum-* value (from a header, or the aws-chunked trailer) against
// what was written. Errors: kBadDigest, kInvalidRequest.
Status VerifyUpload(const WrittenBlob& written, const std::optional<std::string>& md5_expected,
                    const std::optional<ChecksumRequest>& checksum,
                    const std::optional<std::string>& checksum_expected,
                    const auth::PayloadReader& body);

}  // namespace hangar::s3
