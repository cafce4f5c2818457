#include "kms/authorizer.h"

namespace hangar::kms {
namespace {

bool IsCryptoAction(std::string_view action) {
  return action == "Encrypt" || action == "Decrypt" || action == "ReEncryptFrom" ||
         action == "ReEncryptTo" || action == "GenerateDataKey" ||
         action == "GenerateDataKeyWithoutPlaintext";
}

bool IsReadAction(std::string_view action) {
  return action.starts_with("Describe") || action.starts_with("Get") ||
         action.starts_with("List");
}

}  // namespace

Status KmsAccessDenied(const auth::RequestContext& ctx, std::string_view action,
                       std::string_view resource_arn) {
  std::string a = "kms:" + std::string(action);
  return Error(ErrorCode::kAccessDenied,
               "User: " + ctx.principal.arn + " is not authorized to perform: " + a +
                   " on resource: " + std::string(resource_arn) +
                   " because no resource-based policy allows the " + a + " action");
}

Status SameAccountAuthorizer::Authorize(const auth::RequestContext& ctx, std::string_view action,
                                        const KeyRecord* key) const {
  if (ctx.principal.anonymous()) return KmsAccessDenied(ctx, action, key ? key->arn : "*");
  if (key == nullptr) return Status::Ok();
  if (key->account_id != ctx.principal.account_id) return KmsAccessDenied(ctx, action, key->arn);
  if (key->aws_managed()) {
    // The policy AWS writes for its managed keys: reads for the account, cryptographic use only
    // through the owning service (kms:ViaService), nothing else.
    bool allowed = IsReadAction(action) || (IsCryptoAction(action) && !ctx.via_service.empty());
    if (!allowed) return KmsAccessDenied(ctx, action, key->arn);
  }
  return Status::Ok();
}

}  // namespace hangar::kms
