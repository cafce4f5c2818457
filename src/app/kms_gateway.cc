#include "app/kms_gateway.h"

namespace hangar::app {

Result<s3::KmsGateway::DataKey> KeyServiceGateway::GenerateDataKey(
    const auth::RequestContext& ctx, std::string_view key_id, const s3::KmsContext& context) {
  kms::GenerateDataKeyInput input;
  input.key_id = std::string(key_id);
  input.context = context;
  input.key_spec = "AES_256";
  HANGAR_ASSIGN_OR_RETURN(kms::GenerateDataKeyOutput out,
                          keys_.GenerateDataKey(ctx, input, /*with_plaintext=*/true));
  return DataKey{std::move(out.plaintext), std::move(out.ciphertext), std::move(out.key_arn)};
}

Result<SecretBytes> KeyServiceGateway::Decrypt(const auth::RequestContext& ctx,
                                               std::string_view ciphertext,
                                               const s3::KmsContext& context) {
  kms::DecryptInput input;
  input.ciphertext = std::string(ciphertext);
  input.context = context;
  HANGAR_ASSIGN_OR_RETURN(kms::DecryptOutput out, keys_.Decrypt(ctx, input));
  return std::move(out.plaintext);
}

Result<std::string> KeyServiceGateway::DefaultKeyArn(const auth::RequestContext& ctx) {
  // Created only for a caller its policy lets use it through S3.
  HANGAR_ASSIGN_OR_RETURN(kms::KeyRecord key,
                          keys_.GetOrCreateAwsManagedKey(ctx, "s3", "GenerateDataKey"));
  return key.arn;
}

Result<std::string> KeyServiceGateway::CheckKeyUsable(const auth::RequestContext& ctx,
                                                      std::string_view key_id,
                                                      std::string_view action,
                                                      const s3::KmsContext& context) {
  return keys_.CheckKeyUsable(ctx, key_id, action, context);
}

}  // namespace hangar::app
