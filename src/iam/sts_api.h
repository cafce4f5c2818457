#pragma once
// StsApi: the STS query protocol — GetCallerIdentity, AssumeRole, GetSessionToken
// (docs/reference/iam.md §5). Wire format only; IdentityStore does the work.

#include <string>
#include <string_view>

#include "auth/request_context.h"
#include "common/result.h"
#include "iam/identity_store.h"
#include "iam/query_protocol.h"

namespace hangar::iam {

class StsApi {
 public:
  explicit StsApi(IdentityStore& identities) : identities_(identities) {}
  // Runs the action named in the form `body` (or query). Returns the XML response body.
  // Errors: kUnknownOperation for actions not offered, kMalformedQueryString for a bad form,
  // kValidation, kAccessDenied and what IdentityStore::AssumeRole returns.
  Result<std::string> Call(const auth::RequestContext& ctx, std::string_view form);

 private:
  IdentityStore& identities_;
};

}  // namespace hangar::iam
