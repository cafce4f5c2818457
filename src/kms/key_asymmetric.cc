// KeyService's operations for asymmetric and HMAC keys: GetPublicKey, Sign, Verify, GenerateMac,
// VerifyMac, DeriveSharedSecret, and GenerateDataKeyPair(+WithoutPlaintext), which wraps a fresh
// key pair under a symmetric key (docs/reference/kms-keys-beyond-symmetric.md §3–§8).
//
// Check order (§14): validation → lookup → authorisation → key usage → key state → algorithm
// offered by the key spec → message/digest checks → DryRun.

#include <openssl/crypto.h>

#include "crypto/hmac.h"
#include "kms/crypto_checks.h"
#include "kms/key_service.h"
#include "kms/key_specs.h"
#include "kms/validation.h"

namespace hangar::kms {
namespace {

const std::vector<std::string_view> kMessageTypes = {"RAW", "DIGEST", "EXTERNAL_MU"};

Status InvalidSignature() { return Error(ErrorCode::kKmsInvalidSignature, ""); }

// The key pair GenerateDataKeyPair hands out: random, unrelated to any KMS key.
Result<std::shared_ptr<const crypto::AsymmetricKey>> NewKeyPair(const KeySpecInfo& spec) {
  switch (spec.family) {
    case KeyFamily::kRsa:
      return crypto::AsymmetricKey::GenerateRsa(spec.rsa_bits);
    case KeyFamily::kEc:
      return crypto::AsymmetricKey::GenerateEc(spec.curve);
    case KeyFamily::kEd25519:
      return crypto::AsymmetricKey::GenerateEd25519();
    default:
      return Error(ErrorCode::kKmsUnsupportedOperation,
                   "KeyPairSpec " + std::string(spec.name) + " is not supported in this Region.");
  }
}

}  // namespace

Result<KeyRecord> KeyService::GetPublicKey(const auth::RequestContext& ctx,
                                           std::string_view key_id) {
  Count(Op::kGetPublicKey);
  ValidationErrors v;
  v.CheckLength(key_id, "keyId", 1, 2048);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/true, "GetPublicKey"));
  const KeyRecord& k = key->record;
  // Symmetric and HMAC keys have no public half (AWS sends no message). An EXTERNAL key waiting
  // for its material answers with its state.
  const KeyFamily family = FindKeySpec(k.key_spec)->family;
  if (family != KeyFamily::kRsa && family != KeyFamily::kEc) {
    return Error(ErrorCode::kKmsUnsupportedOperation, "");
  }
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
  return k;
}

Result<std::shared_ptr<const LoadedKey>> KeyService::ResolveForSigning(
    const auth::RequestContext& ctx, const SignInput& input, std::string_view action,
    std::string* digest) {
  ValidationErrors v;
  v.CheckLength(input.key_id, "keyId", 1, 2048);
  v.CheckLength(input.message, "message", 1, 4096, /*secret=*/true);
  v.CheckEnum(input.message_type, "messageType", kMessageTypes);
  v.CheckEnum(input.algorithm, "signingAlgorithm", SigningAlgorithmNames());
  if (action == "Verify") v.CheckLength(input.signature, "signature", 1, 6144, /*secret=*/true);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  KmsRequestDetails details;
  details.conditions = {{"kms:signingalgorithm", input.algorithm},
                        {"kms:messagetype", input.message_type}};
  HANGAR_ASSIGN_OR_RETURN(auto key,
                          Resolve(ctx, input.key_id, /*allow_alias=*/true, action, details));
  const KeyRecord& k = key->record;
  HANGAR_RETURN_IF_ERROR(RequireUsage(k, "SIGN_VERIFY", action));
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
  HANGAR_RETURN_IF_ERROR(RequireAlgorithm(k, input.algorithm));
  const SigningAlgorithmInfo& algorithm = *FindSigningAlgorithm(input.algorithm);
  if (input.message_type == "EXTERNAL_MU") {
    return Error(ErrorCode::kValidation, "Message type EXTERNAL_MU is incompatible with key spec " +
                                             k.key_spec + ".");
  }
  if (input.message_type == "DIGEST") {
    // A digest is signed as it is; its length must be the algorithm's hash length.
    if (input.message.size() != crypto::HashSize(algorithm.hash)) {
      return Error(ErrorCode::kValidation,
                   "Digest is invalid length for algorithm " + input.algorithm + ".");
    }
    *digest = input.message;
  } else {
    *digest = crypto::HashBytes(algorithm.hash, input.message);
  }
  if (input.dry_run) return DryRunSucceeded();
  if (!key->private_key) return InternalError("key material missing for " + k.arn);
  return key;
}

Result<SignOutput> KeyService::Sign(const auth::RequestContext& ctx, const SignInput& input) {
  Count(Op::kSign);
  std::string digest;
  HANGAR_ASSIGN_OR_RETURN(auto key, ResolveForSigning(ctx, input, "Sign", &digest));
  const SigningAlgorithmInfo& algorithm = *FindSigningAlgorithm(input.algorithm);
  SignOutput out;
  HANGAR_ASSIGN_OR_RETURN(out.signature,
                          key->private_key->SignDigest(algorithm.padding, algorithm.hash, digest));
  out.key_arn = key->record.arn;
  out.algorithm = input.algorithm;
  return out;
}

Result<SignOutput> KeyService::Verify(const auth::RequestContext& ctx, const SignInput& input) {
  Count(Op::kVerify);
  std::string digest;
  HANGAR_ASSIGN_OR_RETURN(auto key, ResolveForSigning(ctx, input, "Verify", &digest));
  const SigningAlgorithmInfo& algorithm = *FindSigningAlgorithm(input.algorithm);
  // AWS never answers SignatureValid: false; a signature that does not verify is an error.
  if (!key->private_key->VerifyDigest(algorithm.padding, algorithm.hash, digest,
                                      input.signature)) {
    return InvalidSignature();
  }
  SignOutput out;
  out.key_arn = key->record.arn;
  out.algorithm = input.algorithm;
  return out;
}

Result<std::shared_ptr<const LoadedKey>> KeyService::ResolveForMac(
    const auth::RequestContext& ctx, const MacInput& input, std::string_view action) {
  ValidationErrors v;
  v.CheckLength(input.key_id, "keyId", 1, 2048);
  v.CheckLength(input.message, "message", 1, 4096, /*secret=*/true);
  v.CheckEnum(input.algorithm, "macAlgorithm", MacAlgorithmNames());
  if (action == "VerifyMac") v.CheckLength(input.mac, "mac", 1, 6144, /*secret=*/true);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  KmsRequestDetails details;
  details.conditions = {{"kms:macalgorithm", input.algorithm}};
  HANGAR_ASSIGN_OR_RETURN(auto key,
                          Resolve(ctx, input.key_id, /*allow_alias=*/true, action, details));
  const KeyRecord& k = key->record;
  HANGAR_RETURN_IF_ERROR(RequireUsage(k, "GENERATE_VERIFY_MAC", action));
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
  HANGAR_RETURN_IF_ERROR(RequireAlgorithm(k, input.algorithm));
  if (input.dry_run) return DryRunSucceeded();
  if (key->Material(k.current().version) == nullptr) {
    return InternalError("key material missing for " + k.arn);
  }
  return key;
}

Result<MacOutput> KeyService::GenerateMac(const auth::RequestContext& ctx,
                                          const MacInput& input) {
  Count(Op::kGenerateMac);
  HANGAR_ASSIGN_OR_RETURN(auto key, ResolveForMac(ctx, input, "GenerateMac"));
  MacOutput out;
  out.mac = crypto::Hmac(*FindMacAlgorithm(input.algorithm),
                         key->Material(key->record.current().version)->span(), input.message);
  out.key_arn = key->record.arn;
  out.algorithm = input.algorithm;
  return out;
}

Result<MacOutput> KeyService::VerifyMac(const auth::RequestContext& ctx, const MacInput& input) {
  Count(Op::kVerifyMac);
  HANGAR_ASSIGN_OR_RETURN(auto key, ResolveForMac(ctx, input, "VerifyMac"));
  std::string expected = crypto::Hmac(*FindMacAlgorithm(input.algorithm),
                                      key->Material(key->record.current().version)->span(),
                                      input.message);
  const bool valid = crypto::ConstantTimeEquals(expected, input.mac);
  // A valid MAC of the message is what GenerateMac guards: leave no copy behind.
  OPENSSL_cleanse(expected.data(), expected.size());
  if (!valid) return Error(ErrorCode::kKmsInvalidMac, "");
  MacOutput out;
  out.key_arn = key->record.arn;
  out.algorithm = input.algorithm;
  return out;
}

Result<DeriveSharedSecretOutput> KeyService::DeriveSharedSecret(
    const auth::RequestContext& ctx, const DeriveSharedSecretInput& input) {
  Count(Op::kDeriveSharedSecret);
  ValidationErrors v;
  v.CheckLength(input.key_id, "keyId", 1, 2048);
  v.CheckEnum(input.algorithm, "keyAgreementAlgorithm", {"ECDH"});
  v.CheckLength(input.public_key, "publicKey", 1, 8192, /*secret=*/true);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  KmsRequestDetails details;
  details.conditions = {{"kms:keyagreementalgorithm", input.algorithm}};
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, input.key_id, /*allow_alias=*/true,
                                            "DeriveSharedSecret", details));
  const KeyRecord& k = key->record;
  HANGAR_RETURN_IF_ERROR(RequireUsage(k, "KEY_AGREEMENT", "DeriveSharedSecret"));
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
  HANGAR_RETURN_IF_ERROR(RequireAlgorithm(k, input.algorithm));
  // AWS answers an unusable peer key with an empty ValidationException.
  auto peer = crypto::AsymmetricKey::FromPublicDer(input.public_key);
  if (!peer.ok()) return Error(ErrorCode::kValidation, "");
  if (!key->private_key) return InternalError("key material missing for " + k.arn);
  if (input.dry_run) return DryRunSucceeded();
  auto secret = key->private_key->DeriveSharedSecret(**peer);
  if (!secret.ok()) {
    if (secret.status().code() != ErrorCode::kValidation) return secret.status();
    return Error(ErrorCode::kValidation,
                 "The public key is not on the curve of key spec " + k.key_spec + ".");
  }
  DeriveSharedSecretOutput out;
  out.key_arn = k.arn;
  out.shared_secret = std::move(secret).value();
  out.algorithm = input.algorithm;
  out.origin = k.origin;
  return out;
}

Result<GenerateDataKeyPairOutput> KeyService::GenerateDataKeyPair(
    const auth::RequestContext& ctx, const GenerateDataKeyPairInput& input, bool with_plaintext) {
  Count(with_plaintext ? Op::kGenerateDataKeyPair : Op::kGenerateDataKeyPairWithoutPlaintext);
  ValidationErrors v;
  v.CheckLength(input.key_id, "keyId", 1, 2048);
  v.CheckEnum(input.key_pair_spec, "keyPairSpec", KeyPairSpecNames());
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  const std::string_view action =
      with_plaintext ? "GenerateDataKeyPair" : "GenerateDataKeyPairWithoutPlaintext";
  KmsRequestDetails details;
  details.encryption_context = &input.context;
  details.conditions = {{"kms:datakeypairspec", input.key_pair_spec}};
  HANGAR_ASSIGN_OR_RETURN(auto key,
                          Resolve(ctx, input.key_id, /*allow_alias=*/true, action, details));
  const KeyRecord& k = key->record;
  HANGAR_RETURN_IF_ERROR(RequireUsage(k, "ENCRYPT_DECRYPT", action));
  if (!k.symmetric()) {
    return Error(ErrorCode::kKmsInvalidKeyUsage,
                 "You cannot generate a data key pair with an asymmetric CMK");
  }
  HANGAR_RETURN_IF_ERROR(RequireEnabledForCrypto(k));
  const KeySpecInfo& pair_spec = *FindKeyPairSpec(input.key_pair_spec);
  if (pair_spec.family == KeyFamily::kUnsupported) {
    return Error(ErrorCode::kKmsUnsupportedOperation,
                 "KeyPairSpec " + input.key_pair_spec + " is not supported in this Region.");
  }
  if (input.dry_run) return DryRunSucceeded();
  HANGAR_ASSIGN_OR_RETURN(auto pair, NewKeyPair(pair_spec));
  HANGAR_ASSIGN_OR_RETURN(SecretBytes private_der, pair->PrivateDer());
  // The private key is ordinary symmetric ciphertext: Decrypt with the same context returns it.
  HANGAR_ASSIGN_OR_RETURN(Sealed sealed,
                          Seal(*key, "SYMMETRIC_DEFAULT", private_der.span(), input.context));
  GenerateDataKeyPairOutput out;
  out.private_key_ciphertext = std::move(sealed.ciphertext);
  if (with_plaintext) out.private_key_plaintext = std::move(private_der);
  out.public_key = pair->public_der();
  out.key_arn = k.arn;
  out.key_pair_spec = input.key_pair_spec;
  out.material_id = std::move(sealed.material_id);
  return out;
}

}  // namespace hangar::kms
