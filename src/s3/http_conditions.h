#pragma once
// HTTP Range and conditional requests as S3 applies them to GetObject/HeadObject, and the
// x-amz-copy-source-if-* conditions of CopyObject/UploadPartCopy.
//
// Pure functions of header values, object size, ETag and times: no I/O, thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/status.h"

namespace hangar::s3 {

// ---------------------------------------------------------------------------------------------
// Range

// An inclusive byte range within an object: bytes first..last.
struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;

  uint64_t length() const { return last - first + 1; }
  bool operator==(const ByteRange&) const = default;
};

enum class RangeKind {
  kNone,           // no usable Range: serve the whole object with 200
  kSatisfiable,    // serve `range` with 206 and Content-Range
  kUnsatisfiable,  // answer 416 InvalidRangeError
};

struct RangeResult {
  RangeKind kind = RangeKind::kNone;
  ByteRange range;  // meaningful for kSatisfiable only
};

// Interprets a Range header against an object of `object_size` bytes, as S3 does
// (GetObject API reference: one range per request):
//   - "bytes=a-b" / "bytes=a-": satisfiable if a < size (b clamped to size-1); unsatisfiable if
//     a >= size (so any such range of an empty object is unsatisfiable);
//   - "bytes=-n": the last n bytes (the whole object if n >= size); "bytes=-0" is unsatisfiable;
//     a suffix of an empty object selects nothing and is ignored;
//   - empty header, another unit, several ranges ("bytes=0-1,5-6"), a reversed range
//     ("bytes=10-5"), or anything unparsable: ignored (kNone), and S3 sends the whole object.
// Numbers too large for uint64_t saturate, which gives the arithmetically right answer.
// Spaces and tabs around the value and its parts are tolerated.
RangeResult ParseRange(std::string_view header, uint64_t object_size);

// 416 InvalidRange `The requested range is not satisfiable` with fields RangeRequested (the header
// as sent) and ActualObjectSize.
Status InvalidRangeError(std::string_view range_header, uint64_t object_size);

// Content-Range value of a 206 response: "bytes 0-9/100".
std::string ContentRangeValue(const ByteRange& range, uint64_t object_size);

// ---------------------------------------------------------------------------------------------
// Conditional requests

// Raw header values; nullopt (or an empty value) means the header is absent.
// For EvaluateConditions they are If-Match, If-None-Match, If-Modified-Since and
// If-Unmodified-Since; for EvaluateCopySourceConditions the x-amz-copy-source-if-* headers.
struct ConditionHeaders {
  std::optional<std::string> if_match;
  std::optional<std::string> if_none_match;
  std::optional<std::string> if_modified_since;
  std::optional<std::string> if_unmodified_since;
};

// Whether an If-Match / If-None-Match value matches `etag` (the object's ETag, quoted or not):
// "*" matches any ETag; otherwise a comma-separated list of entity tags, each compared with
// quotes and a weak "W/" prefix removed (S3 never issues weak ETags, and AWS accepts ETags
// without their quotes).
bool EtagListMatches(std::string_view header_value, std::string_view etag);

// Evaluates the GetObject/HeadObject preconditions against the object's ETag and Last-Modified,
// in the order RFC 9110 §13.2.2 gives and AWS documents and was recorded following
// (If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since):
//   1. If-Match present and no match -> 412 (Condition If-Match).
//   2. Else, If-Unmodified-Since present and Last-Modified later -> 412
//      (Condition If-Unmodified-Since). A true If-Match overrides it (AWS: 200 OK).
//   3. If-None-Match present and a match -> 304.
//   4. Else, If-Modified-Since present and Last-Modified not later -> 304. A false If-None-Match
//      decides over a true If-Modified-Since (AWS: 304).
// Dates are HTTP-dates compared at whole seconds (Last-Modified is sent in whole seconds). An
// unparsable date is ignored; so is an If-Modified-Since later than `now` (recorded AWS
// behaviour).
// Errors: kPreconditionFailed `At least one of the pre-conditions you specified did not hold`
// (field Condition), kNotModified (304, no body).
Status EvaluateConditions(const ConditionHeaders& headers, std::string_view etag,
                          TimePoint last_modified, TimePoint now);

// The same evaluation for CopyObject/UploadPartCopy's x-amz-copy-source-if-* headers against the
// source object; every failure, including the two that are 304 on a GET, is 412 PreconditionFailed
// with Condition x-amz-copy-source-If-Match / -If-Unmodified-Since / -If-None-Match /
// -If-Modified-Since (CopyObject API reference; recorded against AWS).
// Errors: kPreconditionFailed.
Status EvaluateCopySourceConditions(const ConditionHeaders& headers, std::string_view etag,
                                    TimePoint last_modified, TimePoint now);

// 412 PreconditionFailed `At least one of the pre-conditions you specified did not hold` with the
// field Condition (e.g. "If-Match").
Status PreconditionFailed(std::string condition);

// Whether two entity tags are the same, each quoted or not (conditional writes compare so).
bool SameEtag(std::string_view a, std::string_view b);

}  // namespace hangar::s3
