#include "iam/identity_validation.h"

#include <cctype>
#include <string>

namespace hangar::iam {
namespace {

bool IsNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '+' || c == '=' ||
         c == ',' || c == '.' || c == '@' || c == '-';
}

Status Violation(std::string_view field, std::string_view value, std::string constraint) {
  return Error(ErrorCode::kValidation, "1 validation error detected: Value '" +
                                           std::string(value) + "' at '" + std::string(field) +
                                           "' failed to satisfy constraint: " + constraint);
}

Status CheckName(std::string_view field, std::string_view value, size_t min, size_t max) {
  if (value.size() < min || value.size() > max) {
    return Violation(field, value,
                     "Member must have length between " + std::to_string(min) + " and " +
                         std::to_string(max));
  }
  for (char c : value) {
    if (!IsNameChar(c)) {
      return Violation(field, value,
                       std::string("Member must satisfy regular expression pattern: [\\w+=,.@-]") +
                           (min > 0 ? "+" : "*"));
    }
  }
  return Status::Ok();
}

}  // namespace

Status ValidateName(std::string_view field, std::string_view value, size_t max) {
  return CheckName(field, value, 1, max);
}

Status ValidatePath(std::string_view value) {
  if (value.empty() || value.size() > 512) {
    return Violation("path", value, "Member must have length between 1 and 512");
  }
  bool printable = true;
  for (char c : value) printable = printable && c >= 0x21 && c <= 0x7e;
  if (!printable || value.front() != '/' || value.back() != '/') {
    return Violation("path", value,
                     "Member must satisfy regular expression pattern: "
                     "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)");
  }
  return Status::Ok();
}

Status ValidatePolicyName(std::string_view field, std::string_view value) {
  return CheckName(field, value, 1, 128);
}

Status ValidateSessionName(std::string_view value) {
  if (value.size() < 2 || value.size() > 64) {
    return Violation("roleSessionName", value, "Member must have length between 2 and 64");
  }
  for (char c : value) {
    if (!IsNameChar(c)) {
      return Violation("roleSessionName", value,
                       "Member must satisfy regular expression pattern: [\\w+=,.@-]*");
    }
  }
  return Status::Ok();
}

}  // namespace hangar::iam
