#include "kms/authorizer.h"

namespace hangar::kms {

Status KmsAccessDenied(const auth::RequestContext& ctx, std::string_view action,
                       std::string_view resource_arn) {
  std::string a = "kms:" + std::string(action);
  return Error(ErrorCode::kAccessDenied,
               "User: " + ctx.principal.arn + " is not authorized to perform: " + a +
                   " on resource: " + std::string(resource_arn) +
                   " because no resource-based policy allows the " + a + " action");
}

}  // namespace hangar::kms
