#pragma once
// Checks shared by the operations that write objects and parts.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "auth/payload_reader.h"
#include "common/status.h"
#include "s3/object_io.h"
#include "s3/records.h"
#include "s3/s3_service.h"

namespace hangar::s3 {

// How many times a read-modify-write of object metadata is tried before the caller is told to
// slow down (SlowDown, as S3 answers a key written too often).
constexpr int kMaxCommitAttempts = 16;

// How long an object write waits for its turn at a key other writers of this process hold
// (key_write_locks.h) before answering SlowDown.
constexpr std::chrono::milliseconds kKeyWritePatience{5000};

// After a commit lost a race (kConflict), waits a short, random, growing time before the next
// attempt: writers that retry at once keep colliding, and 16 quick losses end in SlowDown.
void BackOffAfterConflict(int attempt);

// 1–1024 bytes of UTF-8. Errors: kKeyTooLong, kValidation.
Status ValidateObjectKey(std::string_view key);
// x-amz-meta-* names and values together at most 2 KB. Errors: kMetadataTooLarge.
Status ValidateUserMetadata(const KeyValues& metadata);
// The body a PUT or UploadPart announces: Content-Length given (unless `length_known_at_end`: POST
// Object's file part) and within `max_size`, Content-MD5 (if sent) well-formed. Returns the raw MD5 to expect. Errors: kMissingContentLength,
// kEntityTooLarge, kInvalidDigest.
Result<std::optional<std::string>> CheckDeclaredBody(std::optional<uint64_t> content_length,
                                                     bool length_known_at_end,
                                                     uint64_t max_size,
                                                     const std::optional<std::string>& content_md5);
// The raw digest a checksum header carries, if the request sends it as a header (not a trailer).
// Errors: kInvalidRequest for a malformed value.
Result<std::optional<std::string>> ExpectedChecksum(const std::optional<ChecksumRequest>& request);
// Content-MD5 and the x-amz-checksum-* value (from a header, or the aws-chunked trailer) against
// what was written. Errors: kBadDigest, kInvalidRequest.
Status VerifyUpload(const WrittenBlob& written, const std::optional<std::string>& md5_expected,
                    const std::optional<ChecksumRequest>& checksum,
                    const std::optional<std::string>& checksum_expected,
                    const auth::PayloadReader& body);

// "null" or a well-formed version id. Errors: kValidation (InvalidArgument, AWS's texts).
Status ValidateVersionId(std::string_view version_id);
// How a request that reaches a delete marker is answered: 404 NoSuchKey for the current version,
// 405 MethodNotAllowed when the marker was named by version id; with the marker's headers.
Status DeleteMarkerAnswer(const ObjectRecord& marker, bool named, std::string_view action);

}  // namespace hangar::s3
