#pragma once
// Input rules of IAM and STS names, paths and policy documents, with AWS's ValidationError texts
// (docs/reference/iam.md §5 "Names"). Used by IdentityStore (domain rules) and the codecs.

#include <string_view>

#include "common/status.h"

namespace hangar::iam {

// User, group and role names: 1-`max` characters of [\w+=,.@-]. `field` is AWS's member name
// ("userName", "roleName", ...) for the message.
Status ValidateName(std::string_view field, std::string_view value, size_t max = 64);
// "/" or "/a/b/": starts and ends with '/', at most 512 printable ASCII characters.
Status ValidatePath(std::string_view value);
// Policy names: 1-128 of [\w+=,.@-].
Status ValidatePolicyName(std::string_view field, std::string_view value);
// STS role session names: 2-64 of [\w+=,.@-].
Status ValidateSessionName(std::string_view value);

}  // namespace hangar::iam
