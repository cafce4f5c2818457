// KMS operations with asymmetric keys: public keys, signatures, key agreement and data key pairs.
// Private-key work stays off the I/O threads (an RSA_4096 signature costs 4 ms, a key pair a
// second: inline, that would stall every connection the thread serves); public-key work does not.

#include "kms/api_codec.h"

namespace hangar::kms::api {
namespace {

Result<json> GetPublicKey(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  HANGAR_ASSIGN_OR_RETURN(KeyRecord k, s.GetPublicKey(ctx, key_id));
  json out = {{"KeyId", k.arn},
              {"PublicKey", B64(k.public_key)},
              {"CustomerMasterKeySpec", k.key_spec},
              {"KeySpec", k.key_spec},
              {"KeyUsage", k.key_usage}};
  AddAlgorithms(out, k);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Signatures

SignInput ReadSignInput(Input& in) {
  SignInput input;
  input.key_id = in.RequiredString("KeyId");
  input.message = in.Blob("Message", true).value_or("");
  input.message_type = in.String("MessageType").value_or("RAW");
  input.algorithm = in.RequiredString("SigningAlgorithm");
  input.dry_run = in.Boolean("DryRun");
  return input;
}

Result<json> Sign(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  SignInput input = ReadSignInput(in);
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  auto out_or = s.Sign(ctx, input);
  Wipe(input.message);
  HANGAR_ASSIGN_OR_RETURN(SignOutput out, std::move(out_or));
  return json{{"KeyId", out.key_arn},
              {"Signature", B64(out.signature)},
              {"SigningAlgorithm", out.algorithm}};
}

Result<json> Verify(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  SignInput input = ReadSignInput(in);
  input.signature = in.Blob("Signature", true).value_or("");
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  auto out_or = s.Verify(ctx, input);
  Wipe(input.message);
  // A signature that does not verify is an error (KMSInvalidSignatureException): success is valid.
  HANGAR_ASSIGN_OR_RETURN(SignOutput out, std::move(out_or));
  return json{
      {"KeyId", out.key_arn}, {"SignatureValid", true}, {"SigningAlgorithm", out.algorithm}};
}

// ---------------------------------------------------------------------------------------------
// Key agreement and data key pairs

Result<json> DeriveSharedSecret(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  DeriveSharedSecretInput input;
  input.key_id = in.RequiredString("KeyId");
  input.algorithm = in.RequiredString("KeyAgreementAlgorithm");
  input.public_key = in.Blob("PublicKey", true).value_or("");
  input.dry_run = in.Boolean("DryRun");
  if (in.Has("Recipient")) return RecipientUnsupported();
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  HANGAR_ASSIGN_OR_RETURN(DeriveSharedSecretOutput out, s.DeriveSharedSecret(ctx, input));
  return json{{"KeyId", out.key_arn},
              {"SharedSecret", B64(out.shared_secret)},
              {"KeyAgreementAlgorithm", out.algorithm},
              {"KeyOrigin", out.origin}};
}

// GenerateDataKeyPair's answer with or without the private key in plaintext, which differ in
// nothing else (a Recipient only makes sense where a plaintext would be returned).
Result<json> DataKeyPair(KeyService& s, const auth::RequestContext& ctx, Input& in,
                         bool with_plaintext) {
  GenerateDataKeyPairInput input;
  input.key_id = in.RequiredString("KeyId");
  input.context = in.Context("EncryptionContext");
  input.key_pair_spec = in.RequiredString("KeyPairSpec");
  input.dry_run = in.Boolean("DryRun");
  if (with_plaintext && in.Has("Recipient")) return RecipientUnsupported();
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  HANGAR_ASSIGN_OR_RETURN(GenerateDataKeyPairOutput out,
                          s.GenerateDataKeyPair(ctx, input, with_plaintext));
  json response = {{"PrivateKeyCiphertextBlob", B64(out.private_key_ciphertext)},
                   {"PublicKey", B64(out.public_key)},
                   {"KeyId", out.key_arn},
                   {"KeyPairSpec", out.key_pair_spec},
                   {"KeyMaterialId", out.material_id}};
  if (with_plaintext) response["PrivateKeyPlaintext"] = B64(out.private_key_plaintext);
  return response;
}

Result<json> GenerateDataKeyPair(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  return DataKeyPair(s, ctx, in, /*with_plaintext=*/true);
}

Result<json> GenerateDataKeyPairWithoutPlaintext(KeyService& s, const auth::RequestContext& ctx,
                                                 Input& in) {
  return DataKeyPair(s, ctx, in, /*with_plaintext=*/false);
}

}  // namespace

std::span<const Operation> AsymmetricOperations() {
  static constexpr Operation kOperations[] = {
      {"GetPublicKey", GetPublicKey, Mode::kInlineRead},
      {"Sign", Sign, Mode::kRead},
      {"Verify", Verify, Mode::kInlineRead},
      {"DeriveSharedSecret", DeriveSharedSecret, Mode::kRead},
      {"GenerateDataKeyPair", GenerateDataKeyPair, Mode::kRead},
      {"GenerateDataKeyPairWithoutPlaintext", GenerateDataKeyPairWithoutPlaintext, Mode::kRead},
  };
  return kOperations;
}

}  // namespace hangar::kms::api
