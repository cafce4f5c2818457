#pragma once
// ServiceFacts: what the Security Hub controls look at (audit/controls.h), read from KMS, S3 and
// IAM's own stores. Read-only; safe to call from the findings engine's thread.

#include <string>

#include "audit/findings_engine.h"
#include "iam/identity_store.h"
#include "kms/key_repository.h"
#include "s3/s3_repository.h"

namespace hangar::app {

class ServiceFacts final : public audit::FactsSource {
 public:
  ServiceFacts(kms::KeyRepository& keys, s3::S3Repository& s3, iam::IdentityStore& identities,
               std::string region)
      : keys_(keys), s3_(s3), identities_(identities), region_(std::move(region)) {}

  Result<std::vector<audit::KeyFacts>> AllKeys() override;
  Result<std::optional<audit::KeyFacts>> Key(std::string_view arn) override;
  Result<std::vector<audit::BucketFacts>> AllBuckets() override;
  Result<std::optional<audit::BucketFacts>> Bucket(std::string_view name) override;
  Result<std::vector<audit::AccountFacts>> Accounts() override;
  Result<std::vector<audit::UserFacts>> Users(std::string_view account) override;

 private:
  // The key stored under `storage_id` (a key id, or a multi-Region replica's id@region).
  Result<std::optional<audit::KeyFacts>> KeyByStorageId(std::string_view storage_id);
  Result<std::optional<audit::KeyFacts>> FactsOf(const kms::LoadedKey* loaded);
  Result<audit::BucketFacts> FactsOf(const s3::BucketRecord& bucket);

  kms::KeyRepository& keys_;
  s3::S3Repository& s3_;
  iam::IdentityStore& identities_;
  const std::string region_;
};

}  // namespace hangar::app
