#pragma once
// Checks every KMS cryptographic operation makes, in AWS's words (kms.md §5,
// kms-keys-beyond-symmetric.md §14): after authorisation, key usage, then key state, then the
// algorithm. Shared by key_crypto.cc, key_asymmetric.cc and key_grants.cc.

#include <string_view>

#include "common/status.h"
#include "kms/key.h"

namespace hangar::kms {

// InvalidKeyUsageException "<arn> key usage is X which is not valid for <operation>."
Status RequireUsage(const KeyRecord& key, std::string_view usage, std::string_view operation);
// DisabledException / KMSInvalidStateException unless the key is Enabled.
Status RequireEnabledForCrypto(const KeyRecord& key);
// KMSInvalidStateException for a key pending deletion or pending replica deletion.
Status PendingDeletionError(const KeyRecord& key);
// InvalidKeyUsageException unless the key's spec and usage offer `algorithm`.
Status RequireAlgorithm(const KeyRecord& key, std::string_view algorithm);
// UnsupportedOperationException "<arn> origin is X which is not valid for this operation."
Status OriginNotValid(const KeyRecord& key);
// DryRunOperationException, the answer to a DryRun call that would have succeeded.
Status DryRunSucceeded();

}  // namespace hangar::kms
