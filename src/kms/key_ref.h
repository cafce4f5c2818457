#pragma once
// Parsing of the four ways a KMS request names a key: key id, key ARN, alias name, alias ARN.
// docs/reference/kms.md §3.

#include <string>
#include <string_view>

#include "common/result.h"

namespace hangar::kms {

struct KeyRef {
  enum class Kind { kKeyId, kKeyArn, kAliasName, kAliasArn };
  Kind kind = Kind::kKeyId;
  std::string key_id;      // kKeyId, kKeyArn
  std::string alias_name;  // "alias/...", for the alias kinds
  std::string account_id;  // from an ARN; empty means the caller's account
  std::string region;      // from an ARN; empty means the request's region

  bool is_alias() const { return kind == Kind::kAliasName || kind == Kind::kAliasArn; }
};

// True for a UUID key id (lower-case hex) or a multi-Region id (mrk- + 32 hex).
bool IsKeyId(std::string_view s);

// Parses `input`. `allow_alias` false for parameters that take only a key id or key ARN.
// Errors (kKmsNotFound, AWS's texts): "Invalid keyId '<input>'" for a malformed id or an alias
// where none is allowed; "Invalid arn <region>" for an ARN of another region.
Result<KeyRef> ParseKeyRef(std::string_view input, std::string_view request_region,
                           bool allow_alias);

// Alias names: alias/ + [a-zA-Z0-9:/_-]+, 1-256 characters.
// Errors: kValidation (AWS's texts) for a missing prefix or bad characters.
Status ValidateAliasName(std::string_view name, std::string_view member);
bool IsReservedAlias(std::string_view name);  // alias/aws/...

}  // namespace hangar::kms
