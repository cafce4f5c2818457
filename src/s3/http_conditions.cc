#include "s3/http_conditions.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "common/strings.h"

namespace hangar::s3 {
namespace {

constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();

// A run of ASCII digits, saturating at 2^64-1 rather than failing: a first-pos beyond any object
// is then unsatisfiable, a last-pos or suffix-length beyond it covers the whole object, which is
// what the arbitrary-precision reading of RFC 9110 gives. nullopt if empty or not all digits.
std::optional<uint64_t> ParseDecimal(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    value = value > (kMaxU64 - digit) / 10 ? kMaxU64 : value * 10 + digit;
  }
  return value;
}

// The header value with surrounding OWS removed, or nullopt when absent or empty (an empty
// conditional header is treated as absent, as S3 treats an empty value).
std::optional<std::string_view> Present(const std::optional<std::string>& value) {
  if (!value) return std::nullopt;
  std::string_view v = Trim(*value);
  if (v.empty()) return std::nullopt;
  return v;
}

// Removes a weak-validator prefix and the surrounding quotes of one entity tag.
std::string_view Opaque(std::string_view tag) {
  tag = Trim(tag);
  if (tag.starts_with("W/")) tag.remove_prefix(2);
  if (tag.size() >= 2 && tag.front() == '"' && tag.back() == '"') {
    tag = tag.substr(1, tag.size() - 2);
  }
  return tag;
}

using Seconds = std::chrono::seconds;

std::chrono::sys_seconds FloorSeconds(TimePoint t) { return std::chrono::floor<Seconds>(t); }

// Which precondition failed, in evaluation order.
enum class Failed { kNone, kIfMatch, kIfUnmodifiedSince, kIfNoneMatch, kIfModifiedSince };

// RFC 9110 §13.2.2 steps 1–4 (S3 follows it: GetObject and CopyObject API references).
Failed Evaluate(const ConditionHeaders& headers, std::string_view etag, TimePoint last_modified,
                TimePoint now) {
  // Last-Modified goes to clients in whole seconds and they echo it back, so the stored
  // sub-second part must not make an object look modified after its own Last-Modified.
  const std::chrono::sys_seconds modified = FloorSeconds(last_modified);

  // Step 1 and 2: If-Match, or when absent, If-Unmodified-Since. A true If-Match makes a false
  // If-Unmodified-Since irrelevant (AWS: "S3 returns 200 OK and the data requested").
  if (std::optional<std::string_view> v = Present(headers.if_match)) {
    if (!EtagListMatches(*v, etag)) return Failed::kIfMatch;
  } else if (std::optional<std::string_view> v = Present(headers.if_unmodified_since)) {
    // An unparsable date is ignored, as RFC 9110 §13.1.4 requires and AWS does.
    std::optional<TimePoint> date = ParseHttpDate(*v);
    if (date && modified > FloorSeconds(*date)) return Failed::kIfUnmodifiedSince;
  }

  // Steps 3 and 4: If-None-Match, or when absent, If-Modified-Since.
  if (std::optional<std::string_view> v = Present(headers.if_none_match)) {
    if (EtagListMatches(*v, etag)) return Failed::kIfNoneMatch;
  } else if (std::optional<std::string_view> v = Present(headers.if_modified_since)) {
    std::optional<TimePoint> date = ParseHttpDate(*v);
    // A date in the future is ignored: AWS does so (recorded for GetObject, HeadObject and
    // CopyObject), as RFC 2616 §14.25 allowed, since such a date cannot come from a
    // Last-Modified the client saw.
    if (date && *date <= now && modified <= FloorSeconds(*date)) return Failed::kIfModifiedSince;
  }
  return Failed::kNone;
}

}  // namespace

Status PreconditionFailed(std::string condition) {
  Status status(ErrorCode::kPreconditionFailed,
                "At least one of the pre-conditions you specified did not hold");
  status.WithField("Condition", std::move(condition));
  return status;
}

bool SameEtag(std::string_view a, std::string_view b) { return Opaque(a) == Opaque(b); }

RangeResult ParseRange(std::string_view header, uint64_t object_size) {
  const RangeResult ignored;  // kNone: S3 answers as if no Range had been sent
  std::string_view value = Trim(header);
  size_t eq = value.find('=');
  if (eq == std::string_view::npos) return ignored;
  // Range units are case-insensitive (RFC 9110 §14.1); other units are ignored (§14.2).
  if (ToLower(Trim(value.substr(0, eq))) != "bytes") return ignored;
  std::string_view spec = Trim(value.substr(eq + 1));
  // "Amazon S3 doesn't support retrieving multiple ranges of data per GET request" (GetObject API
  // reference); such a header is ignored and the whole object sent.
  if (spec.find(',') != std::string_view::npos) return ignored;
  size_t dash = spec.find('-');
  if (dash == std::string_view::npos || spec.find('-', dash + 1) != std::string_view::npos) {
    return ignored;
  }
  std::string_view first_text = Trim(spec.substr(0, dash));
  std::string_view last_text = Trim(spec.substr(dash + 1));

  if (first_text.empty()) {
    // Suffix range "-n": the last n bytes.
    std::optional<uint64_t> suffix = ParseDecimal(last_text);
    if (!suffix) return ignored;
    if (*suffix == 0) return {RangeKind::kUnsatisfiable, {}};
    // Of an empty object a suffix selects nothing; 206 cannot express that, so the whole (empty)
    // object is sent.
    if (object_size == 0) return ignored;
    return {RangeKind::kSatisfiable,
            {object_size - std::min(*suffix, object_size), object_size - 1}};
  }

  std::optional<uint64_t> first = ParseDecimal(first_text);
  if (!first) return ignored;
  std::optional<uint64_t> last;
  if (!last_text.empty()) {
    last = ParseDecimal(last_text);
    if (!last) return ignored;
  }
  // A start at or past the end is unsatisfiable (so is every such range of an empty object: AWS
  // answers InvalidRange for "bytes=0-" on an empty object). This is checked before the reversed
  // range below, the order LocalStack's AWS-parity implementation uses.
  if (*first >= object_size) return {RangeKind::kUnsatisfiable, {}};
  // "bytes=10-5" is not a valid range-spec; S3 ignores it.
  if (last && *last < *first) return ignored;
  uint64_t end = last ? std::min(*last, object_size - 1) : object_size - 1;
  return {RangeKind::kSatisfiable, {*first, end}};
}

Status InvalidRangeError(std::string_view range_header, uint64_t object_size) {
  Status status(ErrorCode::kInvalidRange, "The requested range is not satisfiable");
  status.WithField("RangeRequested", std::string(range_header))
      .WithField("ActualObjectSize", std::to_string(object_size));
  return status;
}

std::string ContentRangeValue(const ByteRange& range, uint64_t object_size) {
  return "bytes " + std::to_string(range.first) + "-" + std::to_string(range.last) + "/" +
         std::to_string(object_size);
}

bool EtagListMatches(std::string_view header_value, std::string_view etag) {
  std::string_view value = Trim(header_value);
  if (value == "*") return true;
  const std::string_view target = Opaque(etag);
  // A list of entity tags (RFC 9110 §8.8.3): W/"..." or "...", separated by commas and OWS. An
  // entity tag may itself contain a comma, so quoted tags are read to their closing quote; bare
  // tokens (clients that drop the quotes) end at the next comma.
  size_t i = 0;
  while (i < value.size()) {
    while (i < value.size() && (value[i] == ',' || value[i] == ' ' || value[i] == '\t')) ++i;
    if (i >= value.size()) break;
    size_t start = i;
    if (value.substr(i).starts_with("W/")) i += 2;
    size_t end;
    if (i < value.size() && value[i] == '"') {
      size_t close = value.find('"', i + 1);
      end = close == std::string_view::npos ? value.size() : close + 1;
    } else {
      end = std::min(value.find(',', i), value.size());
    }
    std::string_view tag = Opaque(value.substr(start, end - start));
    if (!tag.empty() && (tag == "*" || tag == target)) return true;
    i = end;
  }
  return false;
}

Status EvaluateConditions(const ConditionHeaders& headers, std::string_view etag,
                          TimePoint last_modified, TimePoint now) {
  switch (Evaluate(headers, etag, last_modified, now)) {
    case Failed::kNone:
      return Status::Ok();
    case Failed::kIfMatch:
      return PreconditionFailed("If-Match");
    case Failed::kIfUnmodifiedSince:
      return PreconditionFailed("If-Unmodified-Since");
    case Failed::kIfNoneMatch:
    case Failed::kIfModifiedSince:
      // GET/HEAD: 304 with no body (RFC 9110 §13.2.2 step 3 and 4; s3.md §2).
      return Status(ErrorCode::kNotModified, "Not Modified");
  }
  return Status::Ok();
}

Status EvaluateCopySourceConditions(const ConditionHeaders& headers, std::string_view etag,
                                    TimePoint last_modified, TimePoint now) {
  // A copy is not a GET of the source, so a failed If-None-Match / If-Modified-Since is a 412
  // too (CopyObject API reference: "Amazon S3 returns 412 Precondition Failed").
  switch (Evaluate(headers, etag, last_modified, now)) {
    case Failed::kNone:
      return Status::Ok();
    case Failed::kIfMatch:
      return PreconditionFailed("x-amz-copy-source-If-Match");
    case Failed::kIfUnmodifiedSince:
      return PreconditionFailed("x-amz-copy-source-If-Unmodified-Since");
    case Failed::kIfNoneMatch:
      return PreconditionFailed("x-amz-copy-source-If-None-Match");
    case Failed::kIfModifiedSince:
      return PreconditionFailed("x-amz-copy-source-If-Modified-Since");
  }
  return Status::Ok();
}

}  // namespace hangar::s3
