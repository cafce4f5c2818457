// KeyService's cryptographic operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(+Without
// Plaintext) and GenerateRandom (docs/reference/kms.md §7–§8). These run on the hot path:
// they read cached key snapshots and never write.

#include "crypto/random.h"
#include "kms/key_service.h"
#include "kms/validation.h"

namespace hangar::kms {
namespace {

const std::vector<std::string_view> kEncryptionAlgorithms = {
    "SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"};

Status CheckAlgorithm(std::string_view algorithm, std::string_view member) {
  ValidationErrors v;
  v.CheckEnum(algorithm, member, kEncryptionAlgorithms);
  return v.ToStatus();
}

// The algorithm must suit the key (only symmetric keys exist here).
Status CheckAlgorithmForKey(std::string_view algorithm, const KeyRecord& key) {
  if (algorithm != "SYMMETRIC_DEFAULT") {
    return Error(ErrorCode::kKmsInvalidKeyUsage, "Algorithm " + std::string(algorithm) +
                                                     " is incompatible with key spec " +
                                                     key.key_spec + ".");
  }
  return Status::Ok();
}

Status RequireEnabledForCrypto(const KeyRecord& k) {
  if (k.state == KeyState::kDisabled) {
    return Error(ErrorCode::kKmsDisabled, k.arn + " is disabled.");
  }
  if (k.state == KeyState::kPendingDeletion) {
    return Error(ErrorCode::kKmsInvalidState, k.arn + " is pending deletion.");
  }
  return Status::Ok();
}

Status DryRunSucceeded() {
  return Error(ErrorCode::kKmsDryRun,
               "The request would have succeeded, but the DryRun option is set.");
}

Status IncorrectKey() {
  return Error(ErrorCode::kKmsIncorrectKey,
               "The key ID in the request does not identify a CMK that can perform this "
               "operation.");
}

}  // namespace

Result<EncryptOutput> KeyService::Encrypt(const auth::RequestContext& ctx,
                                          const EncryptInput& input) {
  Count(Op::kEncrypt);
  ValidationErrors v;
  v.CheckLength(input.key_id, "keyId", 1, 2048);
  v.CheckLength(input.plaintext, "plaintext", 1, 4096, /*secret=*/true);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  HANGAR_RETURN_IF_ERROR(CheckAlgorithm(input.algorithm, "encryptionAlgorithm"));
  KmsRequestDetails details;
  details.encryption_context = &input.context;
  details.encryption_algorithm = input.algorithm;
  HANGAR_ASSIGN_OR_RETURN(auto key,
                          Resolve(ctx, input.key_id, /*allow_alias=*/true, "Encrypt", details));
  const KeyRecord& k = key->record;
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
  HANGAR_RETURN_IF_ERROR(CheckAlgorithmForKey(input.algorithm, k));
  if (input.dry_run) return DryRunSucceeded();
  const uint32_t version = k.current().version;
  const SecretBytes* material = key->Material(version);
  if (material == nullptr) return InternalError("key material missing for " + k.arn);
  EncryptOutput out;
  out.ciphertext =
      SealCiphertext(k.key_id, version, material->span(), AsBytes(input.plaintext), input.context);
  out.key_arn = k.arn;
  out.algorithm = input.algorithm;
  return out;
}

Result<DecryptOutput> KeyService::Decrypt(const auth::RequestContext& ctx,
                                          const DecryptInput& input) {
  Count(Op::kDecrypt);
  ValidationErrors v;
  if (!input.ignore_ciphertext) {
    v.CheckLength(input.ciphertext, "ciphertextBlob", 1, 6144, /*secret=*/true);
  }
  if (input.key_id) v.CheckLength(*input.key_id, "keyId", 1, 2048);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  HANGAR_RETURN_IF_ERROR(CheckAlgorithm(input.algorithm, "encryptionAlgorithm"));
  if (input.ignore_ciphertext) {
    // DryRun with IGNORE_CIPHERTEXT: would the caller be allowed to decrypt under this key?
    HANGAR_ASSIGN_OR_RETURN(auto named, Resolve(ctx, input.key_id.value_or(""),
                                                /*allow_alias=*/true, "Decrypt"));
    HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(named->record));
    return DryRunSucceeded();
  }

  // 1. The blob names its key and material version.
  HANGAR_ASSIGN_OR_RETURN(CiphertextHeader header, PeekCiphertext(input.ciphertext));
  // 2. A KeyId in the request must name that same key.
  if (input.key_id) {
    HANGAR_ASSIGN_OR_RETURN(auto named, Resolve(ctx, *input.key_id, /*allow_alias=*/true,
                                                "Decrypt"));
    if (named->record.key_id != header.key_id) return IncorrectKey();
  }
  // 3. The key itself: unknown → the blob is not ours; destroyed → gone for good.
  HANGAR_ASSIGN_OR_RETURN(auto key, repository_.Find(header.key_id));
  if (!key || key->record.region != ctx.region) {
    return Error(ErrorCode::kKmsInvalidCiphertext, "");
  }
  const KeyRecord& k = key->record;
  NoteKey(ctx, k);
  if (k.destroyed) {
    return Error(ErrorCode::kKmsNotFound, "Key '" + k.arn + "' does not exist");
  }
  KmsRequestDetails details;
  details.encryption_context = &input.context;
  details.encryption_algorithm = input.algorithm;
  HANGAR_RETURN_IF_ERROR(AuthorizeKey(ctx, "Decrypt", k, details));
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
  HANGAR_RETURN_IF_ERROR(CheckAlgorithmForKey(input.algorithm, k));
  const SecretBytes* material = key->Material(header.version);
  const MaterialVersion* version = k.FindVersion(header.version);
  if (material == nullptr || version == nullptr) {
    return Error(ErrorCode::kKmsInvalidCiphertext, "");
  }
  HANGAR_ASSIGN_OR_RETURN(SecretBytes plaintext,
                          OpenCiphertext(input.ciphertext, material->span(), input.context));
  // DryRun answers "would have succeeded" only for a call that would: after the ciphertext check.
  if (input.dry_run) return DryRunSucceeded();
  DecryptOutput out;
  out.key_arn = k.arn;
  out.plaintext = std::move(plaintext);
  out.algorithm = input.algorithm;
  out.material_id = version->material_id;
  return out;
}

Result<ReEncryptOutput> KeyService::ReEncrypt(const auth::RequestContext& ctx,
                                              const ReEncryptInput& input) {
  Count(Op::kReEncrypt);
  ValidationErrors v;
  if (!input.ignore_ciphertext) {
    v.CheckLength(input.ciphertext, "ciphertextBlob", 1, 6144, /*secret=*/true);
  }
  v.CheckLength(input.destination_key_id, "destinationKeyId", 1, 2048);
  if (input.source_key_id) v.CheckLength(*input.source_key_id, "sourceKeyId", 1, 2048);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  HANGAR_RETURN_IF_ERROR(CheckAlgorithm(input.source_algorithm, "sourceEncryptionAlgorithm"));
  HANGAR_RETURN_IF_ERROR(
      CheckAlgorithm(input.destination_algorithm, "destinationEncryptionAlgorithm"));

  if (input.ignore_ciphertext) {
    HANGAR_ASSIGN_OR_RETURN(auto named, Resolve(ctx, input.source_key_id.value_or(""),
                                                /*allow_alias=*/true, "ReEncryptFrom"));
    HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(named->record));
    HANGAR_ASSIGN_OR_RETURN(auto destination, Resolve(ctx, input.destination_key_id,
                                                      /*allow_alias=*/true, "ReEncryptTo"));
    HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(destination->record));
    return DryRunSucceeded();
  }

  HANGAR_ASSIGN_OR_RETURN(CiphertextHeader header, PeekCiphertext(input.ciphertext));
  if (input.source_key_id) {
    HANGAR_ASSIGN_OR_RETURN(auto named, Resolve(ctx, *input.source_key_id, /*allow_alias=*/true,
                                                "ReEncryptFrom"));
    if (named->record.key_id != header.key_id) return IncorrectKey();
  }
  HANGAR_ASSIGN_OR_RETURN(auto source, repository_.Find(header.key_id));
  if (!source || source->record.region != ctx.region) {
    return Error(ErrorCode::kKmsInvalidCiphertext, "");
  }
  const KeyRecord& sk = source->record;
  NoteKey(ctx, sk);
  if (sk.destroyed) return Error(ErrorCode::kKmsNotFound, "Key '" + sk.arn + "' does not exist");
  KmsRequestDetails source_details;
  source_details.encryption_context = &input.source_context;
  HANGAR_RETURN_IF_ERROR(AuthorizeKey(ctx, "ReEncryptFrom", sk, source_details));
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(sk));
  HANGAR_RETURN_IF_ERROR(CheckAlgorithmForKey(input.source_algorithm, sk));

  HANGAR_ASSIGN_OR_RETURN(auto destination,
                          Resolve(ctx, input.destination_key_id, /*allow_alias=*/true,
                                  "ReEncryptTo", KmsRequestDetails{&input.destination_context}));
  const KeyRecord& dk = destination->record;
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(dk));
  HANGAR_RETURN_IF_ERROR(CheckAlgorithmForKey(input.destination_algorithm, dk));

  const SecretBytes* source_material = source->Material(header.version);
  const MaterialVersion* source_version = sk.FindVersion(header.version);
  if (source_material == nullptr || source_version == nullptr) {
    return Error(ErrorCode::kKmsInvalidCiphertext, "");
  }
  HANGAR_ASSIGN_OR_RETURN(
      SecretBytes plaintext,
      OpenCiphertext(input.ciphertext, source_material->span(), input.source_context));
  if (input.dry_run) return DryRunSucceeded();
  const uint32_t dest_version = dk.current().version;
  const SecretBytes* dest_material = destination->Material(dest_version);
  if (dest_material == nullptr) return InternalError("key material missing for " + dk.arn);

  ReEncryptOutput out;
  out.ciphertext = SealCiphertext(dk.key_id, dest_version, dest_material->span(),
                                  plaintext.span(), input.destination_context);
  out.source_key_arn = sk.arn;
  out.key_arn = dk.arn;
  out.source_algorithm = input.source_algorithm;
  out.destination_algorithm = input.destination_algorithm;
  out.source_material_id = source_version->material_id;
  out.destination_material_id = dk.current().material_id;
  return out;
}

Result<GenerateDataKeyOutput> KeyService::GenerateDataKey(const auth::RequestContext& ctx,
                                                          const GenerateDataKeyInput& input,
                                                          bool with_plaintext) {
  Count(with_plaintext ? Op::kGenerateDataKey : Op::kGenerateDataKeyWithoutPlaintext);
  ValidationErrors v;
  v.CheckLength(input.key_id, "keyId", 1, 2048);
  if (input.number_of_bytes) v.CheckRange(*input.number_of_bytes, "numberOfBytes", 1, 1024);
  if (input.key_spec) v.CheckEnum(*input.key_spec, "keySpec", {"AES_256", "AES_128"});
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  if (input.number_of_bytes.has_value() == input.key_spec.has_value()) {
    return Error(ErrorCode::kValidation, "Please specify either number of bytes or key spec.");
  }
  const size_t size = input.number_of_bytes ? static_cast<size_t>(*input.number_of_bytes)
                      : *input.key_spec == "AES_128" ? 16
                                                     : 32;
  HANGAR_ASSIGN_OR_RETURN(
      auto key, Resolve(ctx, input.key_id, /*allow_alias=*/true,
                        with_plaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext",
                        KmsRequestDetails{&input.context}));
  const KeyRecord& k = key->record;
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
  if (input.dry_run) return DryRunSucceeded();
  const uint32_t version = k.current().version;
  const SecretBytes* material = key->Material(version);
  if (material == nullptr) return InternalError("key material missing for " + k.arn);

  SecretBytes data_key = crypto::RandomSecret(size);
  GenerateDataKeyOutput out;
  out.ciphertext =
      SealCiphertext(k.key_id, version, material->span(), data_key.span(), input.context);
  if (with_plaintext) out.plaintext = std::move(data_key);
  out.key_arn = k.arn;
  out.material_id = k.current().material_id;
  return out;
}

Result<std::string> KeyService::CheckKeyUsable(const auth::RequestContext& ctx,
                                               std::string_view key_id, std::string_view action,
                                               const EncryptionContext& context) {
  KmsRequestDetails details;
  details.encryption_context = &context;
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/true, action, details));
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(key->record));
  return key->record.arn;
}

Result<SecretBytes> KeyService::GenerateRandom(const auth::RequestContext& ctx,
                                               std::optional<int64_t> number_of_bytes) {
  Count(Op::kGenerateRandom);
  if (!number_of_bytes) return Error(ErrorCode::kValidation, "NumberOfBytes is required.");
  ValidationErrors v;
  v.CheckRange(*number_of_bytes, "numberOfBytes", 1, 1024);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  HANGAR_RETURN_IF_ERROR(authorizer_.Authorize(ctx, "GenerateRandom", nullptr));
  return crypto::RandomSecret(static_cast<size_t>(*number_of_bytes));
}

}  // namespace hangar::kms
