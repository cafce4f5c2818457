#include "kms/authorizer.h"

#include <nlohmann/json.hpp>

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
                                        const KeyRecord* key, const KmsRequestDetails&) const {
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

Status SameAccountAuthorizer::CheckNewKeyPolicy(const auth::RequestContext&, const KeyRecord& key,
                                                bool) const {
  if (key.policy.size() > 32 * 1024) {
    return Error(ErrorCode::kKmsLimitExceeded,
                 "Key policy exceeds the maximum size of 32768 bytes");
  }
  nlohmann::json doc = nlohmann::json::parse(key.policy, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("Statement")) {
    return Error(ErrorCode::kKmsMalformedPolicyDocument, "Policy contains invalid JSON");
  }
  return Status::Ok();
}

}  // namespace hangar::kms
