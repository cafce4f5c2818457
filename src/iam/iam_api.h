#pragma once
// IamApi: the IAM query protocol (form-encoded `Action=...&Version=2010-05-08`, XML answers;
// docs/reference/iam.md §5). Every action is authorised with the policy engine first: the
// caller's identity policies must allow iam:<Action> on the entity's ARN (an account's root may do
// everything in its account). Wire format only; IdentityStore does the work.
// Thread-safe (holds no per-request state).

#include <string>
#include <string_view>

#include "auth/request_context.h"
#include "common/result.h"
#include "iam/identity_store.h"

namespace hangar::iam {

class IamApi {
 public:
  explicit IamApi(IdentityStore& identities) : identities_(identities) {}

  // Runs the action named in `form`. Returns the XML response body.
  // Errors: kUnknownOperation, kMalformedQueryString, kValidation, kAccessDenied and the IAM
  // codes IdentityStore returns.
  Result<std::string> Call(const auth::RequestContext& ctx, std::string_view form);

 private:
  IdentityStore& identities_;
};

}  // namespace hangar::iam
