#pragma once
// Cross-origin resource sharing for S3 buckets: the CORSConfiguration codec (PutBucketCors /
// GetBucketCors bodies) and rule matching for preflight OPTIONS and actual requests, as
// docs/reference/s3-data-protection.md §7 records S3's behaviour. Pure functions over CorsRule
// (records.h); no I/O, so they are safe from any thread.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/http_message.h"
#include "common/result.h"
#include "s3/records.h"

namespace hangar::s3 {

inline constexpr size_t kMaxCorsRules = 100;

// The rules of a CORSConfiguration document, in order. Errors: kMalformedXml (not the document,
// no rule, more than kMaxCorsRules, a rule without AllowedOrigin or AllowedMethod, a MaxAgeSeconds
// that is not a number), kInvalidRequest (a method other than GET PUT POST DELETE HEAD; an origin
// or header pattern with more than one '*').
Result<std::vector<CorsRule>> ParseCorsConfiguration(std::string_view body);
// The GetBucketCors document for `rules`.
std::string CorsConfigurationXml(const std::vector<CorsRule>& rules);

// What a request asks of CORS: its Origin, the method it will use (Access-Control-Request-Method
// when present, else its own), the header names it will send (lower-cased).
struct CorsRequest {
  std::string origin;
  std::string method;
  std::vector<std::string> headers;
};
// From a request's headers; none when it has no Origin.
std::optional<CorsRequest> CorsRequestFrom(const HeaderList& headers, std::string_view method);
// Access-Control-Request-Headers: comma-separated, spaces optional, lower-cased.
std::vector<std::string> SplitRequestHeaders(std::string_view value);

// `pattern` with at most one '*' (matching any run of characters, even empty) against `value`.
// Origins compare exactly; header names without regard to case.
bool OriginMatches(std::string_view pattern, std::string_view origin);
bool HeaderMatches(std::string_view pattern, std::string_view header);

// The first rule allowing the origin, the method and every requested header; null if none.
const CorsRule* MatchCorsRule(const std::vector<CorsRule>& rules, const CorsRequest& request);

// The Access-Control-* and Vary headers of a match. `preflight` adds Allow-Headers (the requested
// names) and Max-Age.
void AddCorsHeaders(const CorsRule& rule, const CorsRequest& request, bool preflight,
                    HeaderList& out);

}  // namespace hangar::s3
