#pragma once
// What went wrong with a request, as the key of the JSON line's errors_by_code: the AWS error
// code a failed answer names, else its HTTP status, else one of the fixed kinds below. Also the
// tiny JSON reader both the error codes and the KMS set-up need.

#include <optional>
#include <string>
#include <string_view>

namespace hangar::bench {

class ResponseParser;

// errors_by_code keys for failures that have no HTTP answer of their own (bench/README.md).
inline constexpr std::string_view kErrorConnection = "connection";  // connect/read/write failed
inline constexpr std::string_view kErrorTimeout = "timeout";        // no answer within --timeout
inline constexpr std::string_view kErrorMalformed = "malformed";    // not a usable HTTP answer
inline constexpr std::string_view kErrorCheck = "check";  // a 200 the workload's check rejected

// The errors_by_code key of a complete, non-200 response: the AWS error code it names (header
// x-amzn-ErrorType, JSON "__type" or XML <Code>), else its HTTP status as decimal text.
std::string ErrorCodeOf(const ResponseParser& response);

// The string value of "name" in a flat JSON object whose strings have no escapes (base64, ARNs,
// error codes); nullopt when absent.
std::optional<std::string> JsonStringField(std::string_view json, std::string_view name);

}  // namespace hangar::bench
