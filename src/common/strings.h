#pragma once
// Small string helpers shared by every protocol: case, trimming, hex, AWS URI encoding, query
// strings and the timestamp formats AWS uses.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace hangar {

std::string ToLower(std::string_view s);
std::string_view Trim(std::string_view s);  // spaces and tabs at both ends

// Whether the JSON text nests objects and arrays at most `max_depth` deep (brackets inside strings
// do not count). A linear scan without allocation, run before a parser builds a tree: deep nesting
// costs memory to build and stack to destroy.
bool JsonNestingWithin(std::string_view json, int max_depth);
inline constexpr int kMaxJsonDepth = 64;

std::string HexEncode(std::span<const uint8_t> bytes);
std::string HexEncode(std::string_view bytes);
std::optional<std::string> HexDecode(std::string_view hex);

// AWS SigV4 URI encoding: every byte except A-Z a-z 0-9 - _ . ~ becomes %XX (upper-case hex);
// '/' is kept when `keep_slash`.
std::string UriEncode(std::string_view s, bool keep_slash);
// Percent-decoding; '+' stays '+' unless `plus_is_space` (form bodies). nullopt on a bad escape.
std::optional<std::string> UriDecode(std::string_view s, bool plus_is_space = false);

// Splits "a=1&b=&c" into decoded (name, value) pairs in order. nullopt on a bad escape.
std::optional<std::vector<std::pair<std::string, std::string>>> ParseQuery(std::string_view query,
                                                                           bool plus_is_space);

bool IsValidUtf8(std::string_view s);

// Escapes &, <, >, " and ' for XML text and attribute values.
std::string XmlEscape(std::string_view s);
// The same, appended to `out` (no string per call: listings write thousands of elements).
void AppendXmlEscaped(std::string& out, std::string_view s);

// 20150830T123600Z (SigV4's X-Amz-Date) <-> time.
std::string FormatAmzDate(TimePoint t);
std::optional<TimePoint> ParseAmzDate(std::string_view s);
// 2015-08-30T12:36:00Z (IAM/STS) and 2015-08-30T12:36:00.000Z (S3).
std::string FormatIso8601(TimePoint t, bool with_millis);
// Either of those forms back (fractional seconds are dropped).
std::optional<TimePoint> ParseIso8601(std::string_view s);
// RFC 1123: "Sun, 30 Aug 2015 12:36:00 GMT" (HTTP Date, Last-Modified).
std::string FormatHttpDate(TimePoint t);
std::optional<TimePoint> ParseHttpDate(std::string_view s);

// A random-looking but unique id for x-amz-request-id / x-amzn-RequestId (UUID v4 text).
std::string NewRequestId();

}  // namespace hangar
