#pragma once
// KeyServiceGateway: S3's KmsGateway over Hangar's own KMS service. S3's use of a key therefore
// goes through the same code, authorisation and call counters as a direct KMS request, and each
// call S3 makes on a caller's behalf gets its own audit record (KMS event, the caller as
// userIdentity, S3 as the invoking service), as AWS KMS records them.

#include "audit/sink.h"
#include "kms/key_service.h"
#include "metrics/server_metrics.h"
#include "s3/sse.h"

namespace hangar::app {

class KeyServiceGateway final : public s3::KmsGateway {
 public:
  explicit KeyServiceGateway(kms::KeyService& keys, audit::AuditSink* audit = nullptr,
                             metrics::ServerMetrics* metrics = nullptr)
      : keys_(keys), audit_(audit), metrics_(metrics) {}

  Result<DataKey> GenerateDataKey(const auth::RequestContext& ctx, std::string_view key_id,
                                  const s3::KmsContext& context) override;
  Result<SecretBytes> Decrypt(const auth::RequestContext& ctx, std::string_view ciphertext,
                              const s3::KmsContext& context) override;
  Result<std::string> DefaultKeyArn(const auth::RequestContext& ctx) override;
  Result<std::string> CheckKeyUsable(const auth::RequestContext& ctx, std::string_view key_id,
                                     std::string_view action,
                                     const s3::KmsContext& context) override;
  Result<KeyStatus> DescribeKeyState(const auth::RequestContext& ctx,
                                     std::string_view key_arn) override;

 private:
  // Queues the record of one KMS call made for `ctx`'s request; its failure fails that request.
  void Record(const auth::RequestContext& ctx, std::string_view operation,
              const auth::AuditNotes& call, const Status& outcome);

  kms::KeyService& keys_;
  audit::AuditSink* const audit_;
  metrics::ServerMetrics* const metrics_;  // counts calls as made by S3 (KmsCaller::kS3)
};

}  // namespace hangar::app
