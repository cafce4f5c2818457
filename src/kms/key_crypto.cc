// KeyService's encryption operations: Encrypt, Decrypt, ReEncrypt, GenerateDataKey(+Without
// Plaintext) and GenerateRandom (docs/reference/kms.md §7–§8), with symmetric keys (our
// ciphertext blob) and RSA keys (bare RSAES-OAEP, kms-keys-beyond-symmetric.md §5). These run on
// the hot path: they read cached key snapshots and never write.

#include "crypto/random.h"
#include "kms/crypto_checks.h"
#include "kms/key_service.h"
#include "kms/key_specs.h"
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

Status IncorrectKey() {
  return Error(ErrorCode::kKmsIncorrectKey,
               "The key ID in the request does not identify a CMK that can perform this "
               "operation.");
}

Status InvalidCiphertext() { return Error(ErrorCode::kKmsInvalidCiphertext, ""); }

// Encryption context binds only symmetric ciphertext; AWS refuses it with RSA keys.
Status RequireNoContextForAsymmetric(const KeyRecord& key, const EncryptionContext& context) {
  if (key.symmetric() || context.empty()) return Status::Ok();
  return Error(ErrorCode::kValidation,
               "EncryptionContext is not supported when encrypting/decrypting with asymmetric "
               "CMKs.");
}

}  // namespace

Status RequireUsage(const KeyRecord& key, std::string_view usage, std::string_view operation) {
  if (key.key_usage == usage) return Status::Ok();
  return Error(ErrorCode::kKmsInvalidKeyUsage, key.arn + " key usage is " + key.key_usage +
                                                   " which is not valid for " +
                                                   std::string(operation) + ".");
}

Status PendingDeletionError(const KeyRecord& k) {
  return Error(ErrorCode::kKmsInvalidState,
               k.arn + (k.state == KeyState::kPendingReplicaDeletion ? " is pending replica deletion."
                                                                      : " is pending deletion."));
}

Status RequireEnabledForCrypto(const KeyRecord& k) {
  if (k.state == KeyState::kDisabled) {
    return Error(ErrorCode::kKmsDisabled, k.arn + " is disabled.");
  }
  if (k.pending_deletion()) return PendingDeletionError(k);
  if (k.state == KeyState::kPendingImport) {
    return Error(ErrorCode::kKmsInvalidState, k.arn + " is pending import.");
  }
  return Status::Ok();
}

Status RequireAlgorithm(const KeyRecord& key, std::string_view algorithm) {
  if (Offers(key.key_spec, key.key_usage, algorithm)) return Status::Ok();
  return Error(ErrorCode::kKmsInvalidKeyUsage, "Algorithm " + std::string(algorithm) +
                                                   " is incompatible with key spec " +
                                                   key.key_spec + ".");
}

Status OriginNotValid(const KeyRecord& k) {
  return Error(ErrorCode::kKmsUnsupportedOperation,
               k.arn + " origin is " + k.origin + " which is not valid for this operation.");
}

Status DryRunSucceeded() {
  return Error(ErrorCode::kKmsDryRun,
               "The request would have succeeded, but the DryRun option is set.");
}

Status KeyService::CheckCanEncrypt(const LoadedKey& key, std::string_view algorithm,
                                   const EncryptionContext& context, size_t plaintext_size,
                                   std::string_view operation) const {
  const KeyRecord& k = key.record;
  HANGAR_RETURN_IF_ERROR(RequireUsage(k, "ENCRYPT_DECRYPT", operation));
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
  HANGAR_RETURN_IF_ERROR(RequireAlgorithm(k, algorithm));
  HANGAR_RETURN_IF_ERROR(RequireNoContextForAsymmetric(k, context));
  if (const crypto::HashAlgorithm* hash = FindOaepAlgorithm(algorithm)) {
    if (!key.private_key) return InternalError("key material missing for " + k.arn);
    const size_t limit = key.private_key->OaepMaxPlaintext(*hash);
    if (plaintext_size > limit) {
      return Error(ErrorCode::kValidation, "Algorithm " + std::string(algorithm) +
                                               " and key spec " + k.key_spec +
                                               " cannot encrypt data larger than " +
                                               std::to_string(limit) + " bytes.");
    }
  }
  return Status::Ok();
}

Result<KeyService::Sealed> KeyService::Seal(const LoadedKey& key, std::string_view algorithm,
                                            std::span<const uint8_t> plaintext,
                                            const EncryptionContext& context) const {
  const KeyRecord& k = key.record;
  Sealed out;
  if (const crypto::HashAlgorithm* hash = FindOaepAlgorithm(algorithm)) {
    HANGAR_ASSIGN_OR_RETURN(out.ciphertext, key.private_key->OaepEncrypt(*hash, plaintext));
    return out;
  }
  const uint32_t version = k.current().version;
  const SecretBytes* material = key.Material(version);
  if (material == nullptr) return InternalError("key material missing for " + k.arn);
  out.ciphertext = SealCiphertext(k.key_id, version, material->span(), plaintext, context);
  out.material_id = k.current().material_id;
  return out;
}

Result<KeyService::Opened> KeyService::Open(const auth::RequestContext& ctx,
                                            std::string_view ciphertext,
                                            const EncryptionContext& context,
                                            const std::optional<std::string>& key_id,
                                            std::string_view algorithm, std::string_view action) {
  KmsRequestDetails details;
  details.encryption_context = &context;
  details.encryption_algorithm = std::string(algorithm);
  const std::string_view operation = action == "Decrypt" ? "Decrypt" : "ReEncrypt";

  if (const crypto::HashAlgorithm* hash = FindOaepAlgorithm(algorithm)) {
    // RSA ciphertext is bare OAEP output: only the request can name its key.
    if (!key_id) return InvalidCiphertext();
    HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, *key_id, /*allow_alias=*/true, action, details));
    const KeyRecord& k = key->record;
    HANGAR_RETURN_IF_ERROR(RequireUsage(k, "ENCRYPT_DECRYPT", operation));
    HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
    HANGAR_RETURN_IF_ERROR(RequireAlgorithm(k, algorithm));
    HANGAR_RETURN_IF_ERROR(RequireNoContextForAsymmetric(k, context));
    if (!key->private_key) return InternalError("key material missing for " + k.arn);
    auto plaintext = key->private_key->OaepDecrypt(*hash, ciphertext);
    if (!plaintext.ok()) return InvalidCiphertext();
    return Opened{std::move(key), std::move(plaintext).value(), ""};
  }

  // 1. The blob names its key and material version.
  HANGAR_ASSIGN_OR_RETURN(CiphertextHeader header, PeekCiphertext(ciphertext));
  // 2. A KeyId in the request must name that same key.
  if (key_id) {
    HANGAR_ASSIGN_OR_RETURN(auto named, Resolve(ctx, *key_id, /*allow_alias=*/true, action));
    if (named->record.key_id != header.key_id) return IncorrectKey();
  }
  // 3. The key itself: unknown → the blob is not ours; destroyed → gone for good.
  HANGAR_ASSIGN_OR_RETURN(auto key, repository_.Find(header.key_id, ctx.region));
  if (!key || key->record.region != ctx.region) return InvalidCiphertext();
  const KeyRecord& k = key->record;
  NoteKey(ctx, k);
  if (k.destroyed) {
    return Error(ErrorCode::kKmsNotFound, "Key '" + k.arn + "' does not exist");
  }
  HANGAR_RETURN_IF_ERROR(AuthorizeKey(ctx, action, k, details));
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
  HANGAR_RETURN_IF_ERROR(RequireAlgorithm(k, algorithm));
  const SecretBytes* material = key->Material(header.version);
  const MaterialVersion* version = k.FindVersion(header.version);
  if (material == nullptr || version == nullptr) return InvalidCiphertext();
  HANGAR_ASSIGN_OR_RETURN(SecretBytes plaintext,
                          OpenCiphertext(ciphertext, material->span(), context));
  std::string material_id = version->material_id;
  return Opened{std::move(key), std::move(plaintext), std::move(material_id)};
}

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
  HANGAR_RETURN_IF_ERROR(
      CheckCanEncrypt(*key, input.algorithm, input.context, input.plaintext.size(), "Encrypt"));
  if (input.dry_run) return DryRunSucceeded();
  HANGAR_ASSIGN_OR_RETURN(Sealed sealed,
                          Seal(*key, input.algorithm, AsBytes(input.plaintext), input.context));
  EncryptOutput out;
  out.ciphertext = std::move(sealed.ciphertext);
  out.key_arn = key->record.arn;
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
    HANGAR_RETURN_IF_ERROR(RequireUsage(named->record, "ENCRYPT_DECRYPT", "Decrypt"));
    HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(named->record));
    return DryRunSucceeded();
  }
  HANGAR_ASSIGN_OR_RETURN(Opened opened, Open(ctx, input.ciphertext, input.context, input.key_id,
                                              input.algorithm, "Decrypt"));
  // DryRun answers "would have succeeded" only for a call that would: after the ciphertext check.
  if (input.dry_run) return DryRunSucceeded();
  DecryptOutput out;
  out.key_arn = opened.key->record.arn;
  out.plaintext = std::move(opened.plaintext);
  out.algorithm = input.algorithm;
  out.material_id = std::move(opened.material_id);
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
    HANGAR_RETURN_IF_ERROR(RequireUsage(named->record, "ENCRYPT_DECRYPT", "ReEncrypt"));
    HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(named->record));
    HANGAR_ASSIGN_OR_RETURN(auto destination, Resolve(ctx, input.destination_key_id,
                                                      /*allow_alias=*/true, "ReEncryptTo"));
    HANGAR_RETURN_IF_ERROR(RequireUsage(destination->record, "ENCRYPT_DECRYPT", "ReEncrypt"));
    HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(destination->record));
    return DryRunSucceeded();
  }

  HANGAR_ASSIGN_OR_RETURN(Opened source,
                          Open(ctx, input.ciphertext, input.source_context, input.source_key_id,
                               input.source_algorithm, "ReEncryptFrom"));
  KmsRequestDetails destination_details;
  destination_details.encryption_context = &input.destination_context;
  destination_details.encryption_algorithm = input.destination_algorithm;
  HANGAR_ASSIGN_OR_RETURN(auto destination,
                          Resolve(ctx, input.destination_key_id, /*allow_alias=*/true,
                                  "ReEncryptTo", destination_details));
  HANGAR_RETURN_IF_ERROR(CheckCanEncrypt(*destination, input.destination_algorithm,
                                         input.destination_context, source.plaintext.size(),
                                         "ReEncrypt"));
  if (input.dry_run) return DryRunSucceeded();
  HANGAR_ASSIGN_OR_RETURN(Sealed sealed, Seal(*destination, input.destination_algorithm,
                                              source.plaintext.span(),
                                              input.destination_context));
  ReEncryptOutput out;
  out.ciphertext = std::move(sealed.ciphertext);
  out.source_key_arn = source.key->record.arn;
  out.key_arn = destination->record.arn;
  out.source_algorithm = input.source_algorithm;
  out.destination_algorithm = input.destination_algorithm;
  out.source_material_id = std::move(source.material_id);
  out.destination_material_id = std::move(sealed.material_id);
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
  const std::string_view action =
      with_plaintext ? "GenerateDataKey" : "GenerateDataKeyWithoutPlaintext";
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, input.key_id, /*allow_alias=*/true, action,
                                            KmsRequestDetails{&input.context}));
  const KeyRecord& k = key->record;
  HANGAR_RETURN_IF_ERROR(RequireUsage(k, "ENCRYPT_DECRYPT", action));
  if (!k.symmetric()) {
    return Error(ErrorCode::kKmsInvalidKeyUsage,
                 "You cannot generate a data key with an asymmetric CMK");
  }
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
  if (input.dry_run) return DryRunSucceeded();
  SecretBytes data_key = crypto::RandomSecret(size);
  HANGAR_ASSIGN_OR_RETURN(Sealed sealed,
                          Seal(*key, "SYMMETRIC_DEFAULT", data_key.span(), input.context));
  GenerateDataKeyOutput out;
  out.ciphertext = std::move(sealed.ciphertext);
  if (with_plaintext) out.plaintext = std::move(data_key);
  out.key_arn = k.arn;
  out.material_id = std::move(sealed.material_id);
  return out;
}

Result<std::string> KeyService::CheckKeyUsable(const auth::RequestContext& ctx,
                                               std::string_view key_id, std::string_view action,
                                               const EncryptionContext& context) {
  KmsRequestDetails details;
  details.encryption_context = &context;
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/true, action, details));
  HANGAR_RETURN_IF_ERROR(RequireUsage(key->record, "ENCRYPT_DECRYPT", action));
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
