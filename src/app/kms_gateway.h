#pragma once
// KeyServiceGateway: S3's KmsGateway over Hangar's own KMS service. S3's use of a key therefore
// goes through the same code, authorisation and call counters as a direct KMS request.

#include "kms/key_service.h"
#include "s3/sse.h"

namespace hangar::app {

class KeyServiceGateway final : public s3::KmsGateway {
 public:
  explicit KeyServiceGateway(kms::KeyService& keys) : keys_(keys) {}

  Result<DataKey> GenerateDataKey(const auth::RequestContext& ctx, std::string_view key_id,
                                  const s3::KmsContext& context) override;
  Result<SecretBytes> Decrypt(const auth::RequestContext& ctx, std::string_view ciphertext,
                              const s3::KmsContext& context) override;
  Result<std::string> DefaultKeyArn(const auth::RequestContext& ctx) override;
  Result<std::string> CheckKeyUsable(const auth::RequestContext& ctx, std::string_view key_id,
                                     std::string_view action,
                                     const s3::KmsContext& context) override;

 private:
  kms::KeyService& keys_;
};

}  // namespace hangar::app
