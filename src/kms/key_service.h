#pragma once
// KeyService: the KMS domain — key lifecycle, aliases, tags, key policies, rotation and the
// cryptographic operations — as typed functions. The JSON codec (kms_api.h), S3's use of keys and
// tests all call this; it never sees the wire format. Key states and errors follow
// docs/reference/kms.md §5–§12.
//
// Check order for every operation that names a key (kms.md §7): validation → key lookup
// (NotFound) → authorisation → key state → cryptographic checks.
//
// Thread-safety: every method may be called concurrently. Mutations are serialised by an internal
// mutex; cryptographic operations read immutable cached snapshots and never block on storage once
// a key is cached.

#include <array>
#include <functional>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "audit/sink.h"
#include "auth/request_context.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/secret_bytes.h"
#include "kms/authorizer.h"
#include "kms/ciphertext.h"
#include "kms/grant.h"
#include "kms/key.h"
#include "kms/key_repository.h"

namespace hangar::kms {

struct KmsOptions {
  // Per key. The API reference and a 2025 recording say 10; botocore's model says 25.
  int max_on_demand_rotations = 10;
  int max_aliases_per_key = 50;
  // The regions this server serves (ReplicateKey's targets); empty: any.
  std::vector<std::string> regions;
};

struct CreateKeyInput {
  std::optional<std::string> policy;
  std::string description;
  std::optional<std::string> key_usage;
  std::optional<std::string> key_spec;
  std::optional<std::string> origin;
  std::optional<std::string> custom_key_store_id;
  bool bypass_policy_lockout_safety_check = false;
  std::vector<Tag> tags;
  bool multi_region = false;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_marker;  // empty when not truncated
  bool truncated = false;
};

struct KeyListEntry {
  std::string key_id;
  std::string key_arn;
};

struct AliasEntry {
  std::string alias_name;
  std::string alias_arn;
  std::string target_key_id;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

struct ScheduleKeyDeletionOutput {
  std::string key_arn;
  int64_t deletion_ms = 0;
  KeyState state = KeyState::kPendingDeletion;
  int pending_window_days = 0;
};

struct RotationStatus {
  bool enabled = false;
  std::string key_arn;
  std::optional<int> period_days;
  std::optional<int64_t> next_rotation_ms;
};

struct RotationEntry {
  std::string key_arn;
  std::string material_id;
  std::string material_state;  // CURRENT / NON_CURRENT
  int64_t rotation_ms = 0;
  std::string rotation_type;  // AUTOMATIC / ON_DEMAND; empty for the original material
};

struct EncryptInput {
  std::string key_id;
  std::string plaintext;
  EncryptionContext context;
  std::string algorithm = "SYMMETRIC_DEFAULT";
  bool dry_run = false;
};
struct EncryptOutput {
  std::string ciphertext;
  std::string key_arn;
  std::string algorithm;
};

struct DecryptInput {
  std::string ciphertext;
  EncryptionContext context;
  std::optional<std::string> key_id;
  std::string algorithm = "SYMMETRIC_DEFAULT";
  bool dry_run = false;
  // DryRun with IGNORE_CIPHERTEXT: check the named key and authorisation only (key_id required).
  bool ignore_ciphertext = false;
};
struct DecryptOutput {
  std::string key_arn;
  SecretBytes plaintext;
  std::string algorithm;
  std::string material_id;
};

struct GenerateDataKeyInput {
  std::string key_id;
  EncryptionContext context;
  std::optional<int64_t> number_of_bytes;
  std::optional<std::string> key_spec;
  bool dry_run = false;
};
struct GenerateDataKeyOutput {
  std::string ciphertext;
  SecretBytes plaintext;  // empty for GenerateDataKeyWithoutPlaintext
  std::string key_arn;
  std::string material_id;
};

struct ReEncryptInput {
  std::string ciphertext;
  EncryptionContext source_context;
  std::optional<std::string> source_key_id;
  std::string destination_key_id;
  EncryptionContext destination_context;
  std::string source_algorithm = "SYMMETRIC_DEFAULT";
  std::string destination_algorithm = "SYMMETRIC_DEFAULT";
  bool dry_run = false;
  bool ignore_ciphertext = false;  // as DecryptInput (source_key_id required)
};
struct ReEncryptOutput {
  std::string ciphertext;
  std::string source_key_arn;
  std::string key_arn;
  std::string source_algorithm;
  std::string destination_algorithm;
  std::string source_material_id;
  std::string destination_material_id;
};

// Sign and Verify (asymmetric SIGN_VERIFY keys). `message` is the message or, with MessageType
// DIGEST, its digest.
struct SignInput {
  std::string key_id;
  std::string message;
  std::string message_type = "RAW";
  std::string algorithm;
  bool dry_run = false;
  std::string signature;  // Verify only
};
struct SignOutput {
  std::string key_arn;
  std::string signature;  // Sign only; a Verify that returns at all found the signature valid
  std::string algorithm;
};

// GenerateMac and VerifyMac (HMAC keys).
struct MacInput {
  std::string key_id;
  std::string message;
  std::string algorithm;
  bool dry_run = false;
  std::string mac;  // VerifyMac only
};
struct MacOutput {
  std::string key_arn;
  std::string mac;  // GenerateMac only
  std::string algorithm;
};

struct DeriveSharedSecretInput {
  std::string key_id;
  std::string algorithm;
  std::string public_key;  // the peer's, DER SubjectPublicKeyInfo
  bool dry_run = false;
};
struct DeriveSharedSecretOutput {
  std::string key_arn;
  SecretBytes shared_secret;
  std::string algorithm;
  std::string origin;
};

struct GenerateDataKeyPairInput {
  std::string key_id;
  EncryptionContext context;
  std::string key_pair_spec;
  bool dry_run = false;
};
struct GenerateDataKeyPairOutput {
  std::string private_key_ciphertext;
  SecretBytes private_key_plaintext;  // empty for ...WithoutPlaintext
  std::string public_key;
  std::string key_arn;
  std::string key_pair_spec;
  std::string material_id;
};

// Imported key material (key_import.cc; kms-keys-beyond-symmetric.md §9).
struct ImportParameters {
  std::string key_arn;
  std::string import_token;  // opaque; binds the wrapping key, the KMS key and the deadline
  std::string public_key;    // the wrapping key, DER SubjectPublicKeyInfo
  int64_t valid_to_ms = 0;
};
struct ImportKeyMaterialInput {
  std::string key_id;
  std::string import_token;
  std::string encrypted_key_material;
  std::optional<std::string> expiration_model;
  std::optional<int64_t> valid_to_ms;
  std::optional<std::string> import_type;
};
struct ImportedMaterial {
  std::string key_arn;
  std::string material_id;
};

struct ReplicateKeyInput {
  std::string key_id;
  std::string replica_region;
  std::optional<std::string> policy;
  bool bypass_policy_lockout_safety_check = false;
  std::optional<std::string> description;
  std::vector<Tag> tags;
};
struct ReplicateKeyOutput {
  KeyRecord replica;
};

struct CreateGrantInput {
  std::string key_id;
  std::string grantee_principal;
  std::optional<std::string> retiring_principal;
  std::vector<std::string> operations;
  GrantConstraints constraints;  // an empty map counts as not given
  std::optional<std::string> name;
  bool dry_run = false;
};
struct CreateGrantOutput {
  std::string grant_token;
  std::string grant_id;
};

struct ListGrantsInput {
  std::string key_id;
  std::optional<std::string> grant_id;
  std::optional<std::string> grantee_principal;
  int limit = 50;
  std::string marker;
};

// RetireGrant names the grant by its token, or by KeyId and GrantId.
struct RetireGrantInput {
  std::optional<std::string> grant_token;
  std::optional<std::string> key_id;
  std::optional<std::string> grant_id;
  bool dry_run = false;
};

// Calls per operation since start, for metrics and for proving what Bucket Keys save.
using KmsCallCounts = std::map<std::string, uint64_t>;

class KeyService {
 public:
  KeyService(KeyRepository& repository, const KeyAuthorizer& authorizer, const Clock& clock,
             KmsOptions options);

  // --- Lifecycle and metadata ---
  Result<KeyRecord> CreateKey(const auth::RequestContext& ctx, const CreateKeyInput& input);
  // `key_id` in any of the four forms. Describing alias/aws/<service> creates that AWS managed key.
  Result<KeyRecord> DescribeKey(const auth::RequestContext& ctx, std::string_view key_id);
  Result<Page<KeyListEntry>> ListKeys(const auth::RequestContext& ctx, int limit,
                                      std::string_view marker);
  Status UpdateKeyDescription(const auth::RequestContext& ctx, std::string_view key_id,
                              std::string_view description);
  Status EnableKey(const auth::RequestContext& ctx, std::string_view key_id);
  Status DisableKey(const auth::RequestContext& ctx, std::string_view key_id);
  Result<ScheduleKeyDeletionOutput> ScheduleKeyDeletion(const auth::RequestContext& ctx,
                                                        std::string_view key_id,
                                                        std::optional<int64_t> window_days);
  Result<std::string> CancelKeyDeletion(const auth::RequestContext& ctx, std::string_view key_id);

  // --- Aliases ---
  Status CreateAlias(const auth::RequestContext& ctx, std::string_view alias_name,
                     std::string_view target_key_id);
  Status UpdateAlias(const auth::RequestContext& ctx, std::string_view alias_name,
                     std::string_view target_key_id);
  Status DeleteAlias(const auth::RequestContext& ctx, std::string_view alias_name);
  Result<Page<AliasEntry>> ListAliases(const auth::RequestContext& ctx,
                                       std::optional<std::string_view> key_id, int limit,
                                       std::string_view marker);

  // --- Tags ---
  Status TagResource(const auth::RequestContext& ctx, std::string_view key_id,
                     const std::vector<Tag>& tags);
  Status UntagResource(const auth::RequestContext& ctx, std::string_view key_id,
                       const std::vector<std::string>& tag_keys);
  Result<Page<Tag>> ListResourceTags(const auth::RequestContext& ctx, std::string_view key_id,
                                     int limit, std::string_view marker);

  // --- Key policies (stored verbatim; enforcement arrives with IAM) ---
  Result<std::string> GetKeyPolicy(const auth::RequestContext& ctx, std::string_view key_id,
                                   std::string_view policy_name);
  Status PutKeyPolicy(const auth::RequestContext& ctx, std::string_view key_id,
                      std::string_view policy_name, std::string_view policy, bool bypass_lockout);
  Result<Page<std::string>> ListKeyPolicies(const auth::RequestContext& ctx,
                                            std::string_view key_id, int limit,
                                            std::string_view marker);

  // --- Rotation ---
  Status EnableKeyRotation(const auth::RequestContext& ctx, std::string_view key_id,
                           std::optional<int64_t> period_days);
  Status DisableKeyRotation(const auth::RequestContext& ctx, std::string_view key_id);
  Result<RotationStatus> GetKeyRotationStatus(const auth::RequestContext& ctx,
                                              std::string_view key_id);
  Result<std::string> RotateKeyOnDemand(const auth::RequestContext& ctx, std::string_view key_id);
  Result<Page<RotationEntry>> ListKeyRotations(const auth::RequestContext& ctx,
                                               std::string_view key_id, bool include_original,
                                               int limit, std::string_view marker);

  // --- Cryptographic operations ---
  Result<EncryptOutput> Encrypt(const auth::RequestContext& ctx, const EncryptInput& input);
  Result<DecryptOutput> Decrypt(const auth::RequestContext& ctx, const DecryptInput& input);
  Result<ReEncryptOutput> ReEncrypt(const auth::RequestContext& ctx, const ReEncryptInput& input);
  Result<GenerateDataKeyOutput> GenerateDataKey(const auth::RequestContext& ctx,
                                                const GenerateDataKeyInput& input,
                                                bool with_plaintext);
  Result<SecretBytes> GenerateRandom(const auth::RequestContext& ctx,
                                     std::optional<int64_t> number_of_bytes);

  // --- Asymmetric and HMAC keys (key_asymmetric.cc; kms-keys-beyond-symmetric.md §3–§8) ---
  // The key's record, whose public_key is the DER SubjectPublicKeyInfo.
  Result<KeyRecord> GetPublicKey(const auth::RequestContext& ctx, std::string_view key_id);
  Result<SignOutput> Sign(const auth::RequestContext& ctx, const SignInput& input);
  // Errors beyond Sign's: kKmsInvalidSignature for any signature that does not verify.
  Result<SignOutput> Verify(const auth::RequestContext& ctx, const SignInput& input);
  Result<MacOutput> GenerateMac(const auth::RequestContext& ctx, const MacInput& input);
  // Errors beyond GenerateMac's: kKmsInvalidMac for any MAC that does not match.
  Result<MacOutput> VerifyMac(const auth::RequestContext& ctx, const MacInput& input);
  Result<DeriveSharedSecretOutput> DeriveSharedSecret(const auth::RequestContext& ctx,
                                                      const DeriveSharedSecretInput& input);
  Result<GenerateDataKeyPairOutput> GenerateDataKeyPair(const auth::RequestContext& ctx,
                                                        const GenerateDataKeyPairInput& input,
                                                        bool with_plaintext);

  // --- Imported key material (key_import.cc) ---
  Result<ImportParameters> GetParametersForImport(const auth::RequestContext& ctx,
                                                  std::string_view key_id,
                                                  std::string_view wrapping_algorithm,
                                                  std::string_view wrapping_key_spec);
  Result<ImportedMaterial> ImportKeyMaterial(const auth::RequestContext& ctx,
                                             const ImportKeyMaterialInput& input);
  Result<ImportedMaterial> DeleteImportedKeyMaterial(const auth::RequestContext& ctx,
                                                     std::string_view key_id,
                                                     std::optional<std::string> material_id);

  // --- Multi-Region keys (key_multi_region.cc) ---
  // Errors: kValidation, kKmsNotFound, kAccessDenied, kKmsDisabled, kKmsInvalidState,
  // kKmsAlreadyExists, kKmsUnsupportedOperation, kKmsMalformedPolicy.
  Result<ReplicateKeyOutput> ReplicateKey(const auth::RequestContext& ctx,
                                          const ReplicateKeyInput& input);
  // Errors: kValidation, kKmsNotFound, kAccessDenied, kKmsDisabled, kKmsInvalidState,
  // kKmsUnsupportedOperation.
  Status UpdatePrimaryRegion(const auth::RequestContext& ctx, std::string_view key_id,
                             std::string_view primary_region);

  // --- Grants (key_grants.cc; kms.md §13) ---
  // Errors: kValidation, kKmsNotFound, kAccessDenied, kKmsDisabled, kKmsInvalidState,
  // kKmsLimitExceeded, kKmsDryRun.
  Result<CreateGrantOutput> CreateGrant(const auth::RequestContext& ctx,
                                        const CreateGrantInput& input);
  // Errors: kValidation, kKmsInvalidMarker, kKmsInvalidGrantId, kKmsNotFound, kAccessDenied.
  Result<Page<GrantRecord>> ListGrants(const auth::RequestContext& ctx,
                                       const ListGrantsInput& input);
  // Grants in any account whose retiring principal is `retiring_principal`; authorised by the
  // caller's IAM policy alone. Errors: kValidation, kKmsInvalidMarker, kAccessDenied.
  Result<Page<GrantRecord>> ListRetirableGrants(const auth::RequestContext& ctx,
                                                std::string_view retiring_principal, int limit,
                                                std::string_view marker);
  // Errors: kValidation, kKmsInvalidGrantToken, kKmsInvalidGrantId, kKmsNotFound, kAccessDenied,
  // kKmsDryRun.
  Status RetireGrant(const auth::RequestContext& ctx, const RetireGrantInput& input);
  // Errors: kValidation, kKmsInvalidGrantId, kKmsNotFound, kAccessDenied, kKmsDryRun.
  Status RevokeGrant(const auth::RequestContext& ctx, std::string_view key_id,
                     std::string_view grant_id, bool dry_run);

  // --- Background lifecycle ---
  // Destroys keys whose deletion window has ended and rotates keys whose rotation is due, as of
  // the lifecycle clock's now. Returns how many keys it changed.
  Result<int> RunDueTasks();
  // Where RunDueTasks records what it does by itself (AwsServiceEvent: DeleteKey at the end of a
  // waiting period, RotateKey): before acting, so nothing happens unrecorded.
  void SetAuditSink(audit::AuditSink* sink) { audit_ = sink; }

  // The AWS managed key alias/aws/<service> of the caller's account and region, created on first
  // use (S3's SSE-KMS default). `action` (e.g. "DescribeKey"), when given, is authorised against
  // the key's policy first — before a new key is created. Errors: kKmsNotFound for a service
  // without a managed key, kAccessDenied.
  Result<KeyRecord> GetOrCreateAwsManagedKey(const auth::RequestContext& ctx,
                                             std::string_view service,
                                             std::string_view action = "");

  // Whether the caller may perform kms:<action> with the key and the key is Enabled now. Not a KMS
  // API call and not counted: S3 checks a cached Bucket Key with it on every use.
  // Errors: kKmsNotFound, kAccessDenied, kKmsDisabled, kKmsInvalidState.
  // Returns the key's ARN (an alias is resolved now).
  Result<std::string> CheckKeyUsable(const auth::RequestContext& ctx, std::string_view key_id,
                                     std::string_view action, const EncryptionContext& context);

  KmsCallCounts CallCounts() const;

 private:
  // Records a service event about `key`; with no sink, nothing. Errors: kAuditUnavailable.
  Status RecordServiceEvent(std::string_view event_name, const KeyRecord& key,
                            const std::string& response_elements);
  audit::AuditSink* audit_ = nullptr;
  // The key a request used, for its audit record (resources, and the account it belongs to).
  static void NoteKey(const auth::RequestContext& ctx, const KeyRecord& key);
  enum class Op {
    kCreateKey, kDescribeKey, kListKeys, kUpdateKeyDescription, kEnableKey, kDisableKey,
    kScheduleKeyDeletion, kCancelKeyDeletion, kCreateAlias, kUpdateAlias, kDeleteAlias,
    kListAliases, kTagResource, kUntagResource, kListResourceTags, kGetKeyPolicy, kPutKeyPolicy,
    kListKeyPolicies, kEnableKeyRotation, kDisableKeyRotation, kGetKeyRotationStatus,
    kRotateKeyOnDemand, kListKeyRotations, kEncrypt, kDecrypt, kReEncrypt, kGenerateDataKey,
    kGenerateDataKeyWithoutPlaintext, kGenerateRandom, kCreateGrant, kListGrants,
    kListRetirableGrants, kRetireGrant, kRevokeGrant, kGetPublicKey, kSign, kVerify,
    kGenerateMac, kVerifyMac, kDeriveSharedSecret, kGenerateDataKeyPair,
    kGenerateDataKeyPairWithoutPlaintext, kGetParametersForImport, kImportKeyMaterial,
    kDeleteImportedKeyMaterial, kReplicateKey, kUpdatePrimaryRegion, kCount_,
  };
  void Count(Op op) { calls_[static_cast<size_t>(op)].fetch_add(1, std::memory_order_relaxed); }

  // Resolves a key reference, checks it exists in the caller's region and authorises `action`.
  Result<std::shared_ptr<const LoadedKey>> Resolve(const auth::RequestContext& ctx,
                                                   std::string_view key_id, bool allow_alias,
                                                   std::string_view action,
                                                   KmsRequestDetails details = {});
  // Finds the key a reference names in the caller's region, without authorising anything.
  // Sets `request_alias` when an alias named it. Errors: kKmsNotFound, kValidation.
  Result<std::shared_ptr<const LoadedKey>> Lookup(const auth::RequestContext& ctx,
                                                  std::string_view key_id, bool allow_alias,
                                                  std::string* request_alias = nullptr);
  // Authorises `action` on `key`, counting a grant on the key that covers the request (AWS's
  // grants allow what they list; explicit denies in policies still win).
  Status AuthorizeKey(const auth::RequestContext& ctx, std::string_view action,
                      const KeyRecord& key, KmsRequestDetails details);
  // Whether one of the key's grants lets the caller perform `action` with `context`.
  Result<bool> GrantCovers(const auth::RequestContext& ctx, std::string_view action,
                           const KeyRecord& key, const EncryptionContext* context);
  // Applies `change` to the current record under the mutation lock and stores it.
  Status Mutate(const auth::RequestContext& ctx, std::string_view key_id, std::string_view action,
                const std::function<Status(KeyRecord&)>& change,
                const KmsRequestDetails& details = {});
  Status Rotate(const LoadedKey& key, std::string_view rotation_type, int64_t now_ms);
  // `updated` (at `revision`) followed by every other live copy of a multi-Region key with the
  // shared properties (material versions, rotation, primary and replica regions) of `updated`;
  // just `updated` for other keys.
  Result<std::vector<KeyWrite>> WithCopies(const KeyRecord& updated, int64_t revision);
  // The other live copies of `key`, updated for its destruction: this region leaves their replica
  // lists, and a primary pending replica deletion whose last replica goes starts its waiting period.
  Result<std::vector<KeyWrite>> CopiesAfterDestroying(const KeyRecord& key, int64_t now_ms);
  // The other live copies of a multi-Region key, as stored now.
  Result<std::vector<std::shared_ptr<const LoadedKey>>> OtherCopies(const KeyRecord& key);
  // RunDueTasks' work on one key (under the mutation lock); adds to `changed`.
  Status RunDueTask(const std::string& key_id, int64_t now, int& changed);
  // Deletes imported material whose ValidTo has passed (AwsServiceEvent DeleteExpiredKeyMaterial).
  Status ExpireImportedMaterial(const LoadedKey& key);
  // Decrypt's and ReEncrypt's first half: the key that opens `ciphertext` (named by the blob, or
  // by `key_id` for RSA ciphertext), authorised for `action`, and the plaintext.
  struct Opened {
    std::shared_ptr<const LoadedKey> key;
    SecretBytes plaintext;
    std::string material_id;  // symmetric keys only
  };
  Result<Opened> Open(const auth::RequestContext& ctx, std::string_view ciphertext,
                      const EncryptionContext& context, const std::optional<std::string>& key_id,
                      std::string_view algorithm, std::string_view action);
  // Encrypt's and ReEncrypt's second half, after authorisation: checks `key` can encrypt with
  // `algorithm` (`operation` names the call in errors) and seals. Never sees DryRun.
  struct Sealed {
    std::string ciphertext;
    std::string material_id;  // symmetric keys only
  };
  Status CheckCanEncrypt(const LoadedKey& key, std::string_view algorithm,
                         const EncryptionContext& context, size_t plaintext_size,
                         std::string_view operation) const;
  Result<Sealed> Seal(const LoadedKey& key, std::string_view algorithm,
                      std::span<const uint8_t> plaintext, const EncryptionContext& context) const;
  // Sign and Verify share everything up to the signature itself.
  Result<std::shared_ptr<const LoadedKey>> ResolveForSigning(const auth::RequestContext& ctx,
                                                             const SignInput& input,
                                                             std::string_view action,
                                                             std::string* digest);
  Result<std::shared_ptr<const LoadedKey>> ResolveForMac(const auth::RequestContext& ctx,
                                                         const MacInput& input,
                                                         std::string_view action);
  Result<KeyRecord> CreateAwsManagedKeyLocked(const auth::RequestContext& ctx,
                                              std::string_view service, std::string_view action);
  Result<std::string> ResolveAliasTarget(const auth::RequestContext& ctx,
                                         std::string_view target_key_id, std::string_view action);
  Status ValidateTags(const std::vector<Tag>& tags, size_t existing_count) const;
  // A well-formed alias name outside the reserved alias/aws/ space.
  Status CheckCustomerAliasName(std::string_view alias_name) const;
  // The caller's alias of that name. Errors: kKmsNotFound.
  Result<Alias> ExistingAlias(const auth::RequestContext& ctx, std::string_view alias_name);

  KeyRepository& repository_;
  const KeyAuthorizer& authorizer_;
  const Clock& clock_;
  const KmsOptions options_;
  std::mutex mutate_mu_;  // serialises every read-modify-write of keys, aliases and grants
  std::array<std::atomic<uint64_t>, static_cast<size_t>(Op::kCount_)> calls_{};
};

// Default key policy for API-created keys (kms.md §12).
std::string DefaultKeyPolicy(std::string_view account_id);

}  // namespace hangar::kms
