#include "kms/key_ref.h"

#include <cctype>

namespace hangar::kms {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!IsLowerHex(s[i])) {
      return false;
    }
  }
  return true;
}

bool IsMrkId(std::string_view s) {
  if (s.size() != 36 || s.substr(0, 4) != "mrk-") return false;
  for (char c : s.substr(4)) {
    if (!IsLowerHex(c)) return false;
  }
  return true;
}

bool IsAccountId(std::string_view s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool IsAliasChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == ':' || c == '/' || c == '_' ||
         c == '-';
}

Status InvalidKeyId(std::string_view input) {
  return Error(ErrorCode::kKmsNotFound, "Invalid keyId '" + std::string(input) + "'");
}

}  // namespace

bool IsKeyId(std::string_view s) { return IsUuid(s) || IsMrkId(s); }

Result<KeyRef> ParseKeyRef(std::string_view input, std::string_view request_region,
                           bool allow_alias) {
  KeyRef ref;
  if (input.starts_with("arn:")) {
    // arn:<partition>:kms:<region>:<account>:<resource>
    std::string_view rest = input;
    std::string_view parts[5];
    for (auto& part : parts) {
      size_t colon = rest.find(':');
      if (colon == std::string_view::npos) return InvalidKeyId(input);
      part = rest.substr(0, colon);
      rest = rest.substr(colon + 1);
    }
    std::string_view partition = parts[1], service = parts[2], region = parts[3],
                     account = parts[4], resource = rest;
    if (partition != "aws" || service != "kms" || !IsAccountId(account)) {
      return InvalidKeyId(input);
    }
    if (region != request_region) {
      return Error(ErrorCode::kKmsNotFound, "Invalid arn " + std::string(region));
    }
    ref.account_id = std::string(account);
    ref.region = std::string(region);
    if (resource.starts_with("key/") && IsKeyId(resource.substr(4))) {
      ref.kind = KeyRef::Kind::kKeyArn;
      ref.key_id = std::string(resource.substr(4));
      return ref;
    }
    if (allow_alias && resource.starts_with("alias/") && resource.size() > 6) {
      ref.kind = KeyRef::Kind::kAliasArn;
      ref.alias_name = std::string(resource);
      return ref;
    }
    return InvalidKeyId(input);
  }
  if (input.starts_with("alias/")) {
    if (!allow_alias || input.size() <= 6) return InvalidKeyId(input);
    ref.kind = KeyRef::Kind::kAliasName;
    ref.alias_name = std::string(input);
    return ref;
  }
  if (!IsKeyId(input)) return InvalidKeyId(input);
  ref.kind = KeyRef::Kind::kKeyId;
  ref.key_id = std::string(input);
  return ref;
}

Status ValidateAliasName(std::string_view name, std::string_view member) {
  if (name.empty() || name.size() > 256) {
    return Error(ErrorCode::kValidation,
                 "1 validation error detected: Value '" + std::string(name) + "' at '" +
                     std::string(member) +
                     "' failed to satisfy constraint: Member must have length less than or equal "
                     "to 256");
  }
  for (char c : name) {
    if (!IsAliasChar(c)) {
      return Error(ErrorCode::kValidation,
                   "1 validation error detected: Value '" + std::string(name) + "' at '" +
                       std::string(member) +
                       "' failed to satisfy constraint: Member must satisfy regular expression "
                       "pattern: ^[a-zA-Z0-9:/_-]+$");
    }
  }
  if (!name.starts_with("alias/") || name.size() == 6) {
    return Error(ErrorCode::kValidation,
                 "Alias must start with the prefix \"alias/\". Please see "
                 "https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html");
  }
  return Status::Ok();
}

bool IsReservedAlias(std::string_view name) { return name.starts_with("alias/aws/"); }

}  // namespace hangar::kms
