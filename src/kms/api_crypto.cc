// KMS operations with symmetric keys: encryption, data keys, MACs and random bytes. All of them
// read only cached key state, so they run inline on the I/O threads.

#include "kms/api_codec.h"

namespace hangar::kms::api {
namespace {

// DryRunModifiers: ["IGNORE_CIPHERTEXT"] lets a DryRun Decrypt/ReEncrypt check authorisation only.
bool IgnoresCiphertext(Input& in) {
  for (const auto& m : in.StringList("DryRunModifiers")) {
    if (m == "IGNORE_CIPHERTEXT") return true;
  }
  return false;
}

// CloudTrail names the key a ciphertext was decrypted under even when the request left KeyId out
// (the ciphertext names it); the service has resolved it into the record's resources by now.
void RecordResolvedKey(json& recorded, const auth::AuditNotes& notes) {
  if (!notes.resources.empty() && !recorded.contains("keyId")) {
    recorded["keyId"] = notes.resources.front().arn;
  }
}

// As AWS records a Decrypt: the resolved key and the algorithm used, defaulted if not sent.
void RecordDecrypt(json& recorded, const auth::AuditNotes& notes) {
  RecordResolvedKey(recorded, notes);
  if (!recorded.contains("encryptionAlgorithm")) {
    recorded["encryptionAlgorithm"] = "SYMMETRIC_DEFAULT";
  }
}

// ---------------------------------------------------------------------------------------------
// Encryption

Result<json> Encrypt(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  EncryptInput input;
  input.key_id = in.RequiredString("KeyId");
  input.plaintext = in.Blob("Plaintext", true).value_or("");
  input.context = in.Context("EncryptionContext");
  input.algorithm = in.String("EncryptionAlgorithm").value_or("SYMMETRIC_DEFAULT");
  input.dry_run = in.Boolean("DryRun");
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  auto out = s.Encrypt(ctx, input);
  Wipe(input.plaintext);
  if (!out.ok()) return out.status();
  return json{{"CiphertextBlob", B64(out->ciphertext)},
              {"KeyId", out->key_arn},
              {"EncryptionAlgorithm", out->algorithm}};
}

Result<json> Decrypt(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  DecryptInput input;
  input.dry_run = in.Boolean("DryRun");
  input.ignore_ciphertext = input.dry_run && IgnoresCiphertext(in);
  // Without a ciphertext nothing names the key, so KeyId becomes required instead.
  input.ciphertext = in.Blob("CiphertextBlob", !input.ignore_ciphertext).value_or("");
  input.context = in.Context("EncryptionContext");
  input.key_id = in.String("KeyId", input.ignore_ciphertext);
  input.algorithm = in.String("EncryptionAlgorithm").value_or("SYMMETRIC_DEFAULT");
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  HANGAR_ASSIGN_OR_RETURN(DecryptOutput out, s.Decrypt(ctx, input));
  json response = {{"KeyId", out.key_arn},
                   {"Plaintext", B64(out.plaintext)},
                   {"EncryptionAlgorithm", out.algorithm}};
  if (!out.material_id.empty()) response["KeyMaterialId"] = out.material_id;
  return response;
}

ReEncryptInput ReadReEncryptInput(Input& in) {
  ReEncryptInput input;
  input.dry_run = in.Boolean("DryRun");
  input.ignore_ciphertext = input.dry_run && IgnoresCiphertext(in);
  // Without a ciphertext nothing names the source key, so SourceKeyId becomes required instead.
  input.ciphertext = in.Blob("CiphertextBlob", !input.ignore_ciphertext).value_or("");
  input.source_context = in.Context("SourceEncryptionContext");
  input.source_key_id = in.String("SourceKeyId", input.ignore_ciphertext);
  input.destination_key_id = in.RequiredString("DestinationKeyId");
  input.destination_context = in.Context("DestinationEncryptionContext");
  input.source_algorithm = in.String("SourceEncryptionAlgorithm").value_or("SYMMETRIC_DEFAULT");
  input.destination_algorithm =
      in.String("DestinationEncryptionAlgorithm").value_or("SYMMETRIC_DEFAULT");
  return input;
}

Result<json> ReEncrypt(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  ReEncryptInput input = ReadReEncryptInput(in);
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  HANGAR_ASSIGN_OR_RETURN(ReEncryptOutput out, s.ReEncrypt(ctx, input));
  json response = {{"CiphertextBlob", B64(out.ciphertext)},
                   {"SourceKeyId", out.source_key_arn},
                   {"KeyId", out.key_arn},
                   {"SourceEncryptionAlgorithm", out.source_algorithm},
                   {"DestinationEncryptionAlgorithm", out.destination_algorithm}};
  if (!out.source_material_id.empty()) response["SourceKeyMaterialId"] = out.source_material_id;
  if (!out.destination_material_id.empty()) {
    response["DestinationKeyMaterialId"] = out.destination_material_id;
  }
  return response;
}

// ---------------------------------------------------------------------------------------------
// Data keys

// GenerateDataKey's answer with or without the plaintext copy, which differ in nothing else.
Result<json> DataKey(KeyService& s, const auth::RequestContext& ctx, Input& in,
                     bool with_plaintext) {
  GenerateDataKeyInput input;
  input.key_id = in.RequiredString("KeyId");
  input.context = in.Context("EncryptionContext");
  input.number_of_bytes = in.Integer("NumberOfBytes");
  input.key_spec = in.String("KeySpec");
  input.dry_run = in.Boolean("DryRun");
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  HANGAR_ASSIGN_OR_RETURN(GenerateDataKeyOutput out, s.GenerateDataKey(ctx, input, with_plaintext));
  json response = {{"CiphertextBlob", B64(out.ciphertext)},
                   {"KeyId", out.key_arn},
                   {"KeyMaterialId", out.material_id}};
  if (with_plaintext) response["Plaintext"] = B64(out.plaintext);
  return response;
}

Result<json> GenerateDataKey(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  return DataKey(s, ctx, in, /*with_plaintext=*/true);
}

Result<json> GenerateDataKeyWithoutPlaintext(KeyService& s, const auth::RequestContext& ctx,
                                             Input& in) {
  return DataKey(s, ctx, in, /*with_plaintext=*/false);
}

// ---------------------------------------------------------------------------------------------
// MACs

MacInput ReadMacInput(Input& in) {
  MacInput input;
  input.key_id = in.RequiredString("KeyId");
  input.message = in.Blob("Message", true).value_or("");
  input.algorithm = in.RequiredString("MacAlgorithm");
  input.dry_run = in.Boolean("DryRun");
  return input;
}

Result<json> GenerateMac(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  MacInput input = ReadMacInput(in);
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  auto out_or = s.GenerateMac(ctx, input);
  Wipe(input.message);
  HANGAR_ASSIGN_OR_RETURN(MacOutput out, std::move(out_or));
  return json{{"Mac", B64(out.mac)}, {"MacAlgorithm", out.algorithm}, {"KeyId", out.key_arn}};
}

Result<json> VerifyMac(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  MacInput input = ReadMacInput(in);
  input.mac = in.Blob("Mac", true).value_or("");
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  auto out_or = s.VerifyMac(ctx, input);
  Wipe(input.message);
  // A MAC that does not match is an error (KMSInvalidMacException), so success means valid.
  HANGAR_ASSIGN_OR_RETURN(MacOutput out, std::move(out_or));
  return json{{"KeyId", out.key_arn}, {"MacValid", true}, {"MacAlgorithm", out.algorithm}};
}

// ---------------------------------------------------------------------------------------------
// Random bytes

Result<json> GenerateRandom(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  auto n = in.Integer("NumberOfBytes");
  auto store = in.String("CustomKeyStoreId");
  HANGAR_RETURN_IF_ERROR(in.status());
  // Hangar has no custom key stores, so no id names one (AWS's answer for an unknown id).
  if (store) {
    ValidationErrors v;
    v.CheckLength(*store, "customKeyStoreId", 1, 64);
    HANGAR_RETURN_IF_ERROR(v.ToStatus());
    return Error(ErrorCode::kKmsCustomKeyStoreNotFound, "");
  }
  HANGAR_ASSIGN_OR_RETURN(SecretBytes bytes, s.GenerateRandom(ctx, n));
  return json{{"Plaintext", B64(bytes)}};
}

}  // namespace

std::span<const Operation> CryptoOperations() {
  static constexpr Operation kOperations[] = {
      {"Encrypt", Encrypt, Mode::kInlineRead},
      {"Decrypt", Decrypt, Mode::kInlineRead, RecordDecrypt},
      {"ReEncrypt", ReEncrypt, Mode::kInlineRead, RecordResolvedKey},
      {"GenerateDataKey", GenerateDataKey, Mode::kInlineRead},
      {"GenerateDataKeyWithoutPlaintext", GenerateDataKeyWithoutPlaintext, Mode::kInlineRead},
      {"GenerateMac", GenerateMac, Mode::kInlineRead},
      {"VerifyMac", VerifyMac, Mode::kInlineRead},
      {"GenerateRandom", GenerateRandom, Mode::kInlineRead},
  };
  return kOperations;
}

}  // namespace hangar::kms::api
