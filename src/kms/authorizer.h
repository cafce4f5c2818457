#pragma once
// KeyAuthorizer: decides whether a caller may perform a KMS action on a key. The IAM policy engine
// replaces the default implementation; until then a key's own account may do everything and other
// accounts nothing, and AWS managed keys admit only what their AWS-written policy allows.

#include <string_view>

#include "auth/request_context.h"
#include "common/status.h"
#include "kms/key.h"

namespace hangar::kms {

class KeyAuthorizer {
 public:
  virtual ~KeyAuthorizer() = default;
  // `action` is the IAM action name without prefix ("Encrypt"). `key` is null for account-level
  // actions (CreateKey, ListKeys, ListAliases, GenerateRandom).
  // Errors: kAccessDenied with AWS's message.
  virtual Status Authorize(const auth::RequestContext& ctx, std::string_view action,
                           const KeyRecord* key) const = 0;
};

class SameAccountAuthorizer final : public KeyAuthorizer {
 public:
  Status Authorize(const auth::RequestContext& ctx, std::string_view action,
                   const KeyRecord* key) const override;
};

// AWS's AccessDeniedException text for a denied KMS action.
Status KmsAccessDenied(const auth::RequestContext& ctx, std::string_view action,
                       std::string_view resource_arn);

}  // namespace hangar::kms
