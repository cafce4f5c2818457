// KeyService's imported key material (BYOK): GetParametersForImport, ImportKeyMaterial,
// DeleteImportedKeyMaterial and the expiry of material at its ValidTo
// (docs/reference/kms-keys-beyond-symmetric.md §9; docs/kms-asymmetric.md).
//
// The import token is stateless: the wrapping key's private half, the KMS key it is for, the
// wrapping algorithm and the deadline, sealed under the root key with the key id as context. So a
// token works only for its key and until its deadline, and nothing is stored per
// GetParametersForImport call.
//
// A key is bound to its first material: the material's id is a SHA-256 fingerprint of it (64
// lower-case hex, AWS's KeyMaterialId form), so re-importing the same material after deletion or
// expiry is recognised, and other material is refused, without keeping the material.

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "common/strings.h"
#include "crypto/asymmetric.h"
#include "crypto/digest.h"
#include "crypto/hmac.h"
#include "crypto/key_wrap.h"
#include "kms/crypto_checks.h"
#include "kms/key_service.h"
#include "kms/key_specs.h"
#include "kms/validation.h"

namespace hangar::kms {
namespace {

constexpr int64_t kTokenLifetimeMs = 24LL * 3600 * 1000;
constexpr int64_t kMaxValidToAheadMs = 365LL * 24 * 3600 * 1000;

const std::vector<std::string_view> kWrappingAlgorithms = {
    "RSAES_PKCS1_V1_5", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1",
    "RSA_AES_KEY_WRAP_SHA_256", "SM2PKE"};

std::string TokenContext(std::string_view key_id) {
  return "kms-import-token/" + std::string(key_id);
}

bool NamesAlias(std::string_view key_id) {
  return key_id.starts_with("alias/") || key_id.find(":alias/") != std::string_view::npos;
}

// Token plaintext: 8 bytes deadline (ms, big-endian), 1 byte wrapping algorithm (its index in
// kWrappingAlgorithms), then the wrapping key as DER PKCS#8.
SecretBytes EncodeToken(int64_t valid_to_ms, size_t algorithm, const SecretBytes& private_der) {
  SecretBytes out(9 + private_der.size());
  for (int i = 0; i < 8; ++i) {
    out.data()[i] = static_cast<uint8_t>(static_cast<uint64_t>(valid_to_ms) >> (56 - 8 * i));
  }
  out.data()[8] = static_cast<uint8_t>(algorithm);
  std::copy(private_der.data(), private_der.data() + private_der.size(), out.data() + 9);
  return out;
}

struct OpenedToken {
  int64_t valid_to_ms = 0;
  std::string_view algorithm;
  std::shared_ptr<const crypto::AsymmetricKey> wrapping_key;
};

Result<OpenedToken> DecodeToken(const SecretBytes& plain) {
  if (plain.size() < 10 || plain.data()[8] >= kWrappingAlgorithms.size()) {
    return Error(ErrorCode::kKmsInvalidImportToken, "");
  }
  OpenedToken out;
  for (int i = 0; i < 8; ++i) {
    out.valid_to_ms = static_cast<int64_t>((static_cast<uint64_t>(out.valid_to_ms) << 8) |
                                           plain.data()[i]);
  }
  out.algorithm = kWrappingAlgorithms[plain.data()[8]];
  SecretBytes der(plain.span().subspan(9));
  auto key = crypto::AsymmetricKey::FromPrivateDer(der);
  if (!key.ok()) return Error(ErrorCode::kKmsInvalidImportToken, "");
  out.wrapping_key = std::move(key).value();
  return out;
}

// Undoes the wrapping of EncryptedKeyMaterial. Errors: kKmsInvalidCiphertext.
Result<SecretBytes> Unwrap(const OpenedToken& token, std::string_view encrypted) {
  const bool sha256 = token.algorithm.ends_with("SHA_256");
  const auto hash = sha256 ? crypto::HashAlgorithm::kSha256 : crypto::HashAlgorithm::kSha1;
  if (token.algorithm.starts_with("RSAES_OAEP")) {
    auto material = token.wrapping_key->OaepDecrypt(hash, encrypted);
    if (!material.ok()) return Error(ErrorCode::kKmsInvalidCiphertext, "");
    return material;
  }
  // RSA_AES_KEY_WRAP_SHA_*: RSA-OAEP of a fresh AES key, then the material under it (RFC 5649).
  const size_t head = token.wrapping_key->max_output_size();
  if (encrypted.size() <= head) return Error(ErrorCode::kKmsInvalidCiphertext, "");
  auto aes_key = token.wrapping_key->OaepDecrypt(hash, encrypted.substr(0, head));
  if (!aes_key.ok()) return Error(ErrorCode::kKmsInvalidCiphertext, "");
  auto material = crypto::AesKeyUnwrapPad(aes_key->span(), encrypted.substr(head));
  if (!material.ok()) return Error(ErrorCode::kKmsInvalidCiphertext, "");
  return material;
}

Status IncorrectMaterial(const KeyRecord& k) {
  return Error(ErrorCode::kKmsIncorrectKeyMaterial,
               "The key material does not match key spec " + k.key_spec + " of " + k.arn + ".");
}

// Checks imported material against the key's spec. For asymmetric keys, returns the public key
// and replaces `material` with the private key's canonical DER PKCS#8, so that the same key
// imported in another encoding (or with trailing bytes) is recognised as the same material.
Result<std::string> CheckMaterialFits(const KeyRecord& k, SecretBytes& material) {
  const KeySpecInfo& spec = *FindKeySpec(k.key_spec);
  switch (spec.family) {
    case KeyFamily::kSymmetric:
      if (material.size() != 32) return IncorrectMaterial(k);
      return std::string();
    case KeyFamily::kHmac:
      if (material.size() != spec.hmac_bytes) return IncorrectMaterial(k);
      return std::string();
    case KeyFamily::kRsa:
    case KeyFamily::kEc: {
      auto key = crypto::AsymmetricKey::FromPrivateDer(material);
      if (!key.ok()) return IncorrectMaterial(k);
      // The spec's own key of the right size and curve: compare with a freshly made one's shape.
      const bool rsa = spec.family == KeyFamily::kRsa;
      if ((*key)->is_rsa() != rsa) return IncorrectMaterial(k);
      if (rsa && (*key)->max_output_size() * 8 != static_cast<size_t>(spec.rsa_bits)) {
        return IncorrectMaterial(k);
      }
      if (!rsa) {
        HANGAR_ASSIGN_OR_RETURN(auto reference, crypto::AsymmetricKey::GenerateEc(spec.curve));
        if ((*key)->curve() != reference->curve()) return IncorrectMaterial(k);
      }
      HANGAR_ASSIGN_OR_RETURN(material, (*key)->PrivateDer());
      return (*key)->public_der();
    }
    default:
      return IncorrectMaterial(k);
  }
}

// The material's id: a fingerprint that recognises the same material again.
std::string MaterialFingerprint(const KeyRecord& k, const SecretBytes& material) {
  crypto::Digest digest(crypto::DigestAlgorithm::kSha256);
  digest.Update("hangar-kms-imported-material/" + k.key_id + "/");
  digest.Update(material.span());
  return HexEncode(digest.Finish());
}

}  // namespace

Result<ImportParameters> KeyService::GetParametersForImport(const auth::RequestContext& ctx,
                                                            std::string_view key_id,
                                                            std::string_view wrapping_algorithm,
                                                            std::string_view wrapping_key_spec) {
  Count(Op::kGetParametersForImport);
  ValidationErrors v;
  v.CheckLength(key_id, "keyId", 1, 2048);
  v.CheckEnum(wrapping_algorithm, "wrappingAlgorithm", kWrappingAlgorithms);
  v.CheckEnum(wrapping_key_spec, "wrappingKeySpec", {"RSA_2048", "RSA_3072", "RSA_4096", "SM2"});
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  if (NamesAlias(key_id)) {
    return Error(ErrorCode::kKmsInvalidArn, "Key Aliases are not supported for this operation.");
  }
  KmsRequestDetails details;
  details.conditions = {{"kms:wrappingalgorithm", std::string(wrapping_algorithm)},
                        {"kms:wrappingkeyspec", std::string(wrapping_key_spec)}};
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/false,
                                            "GetParametersForImport", details));
  const KeyRecord& k = key->record;
  if (!k.external()) return OriginNotValid(k);
  if (k.pending_deletion()) return PendingDeletionError(k);
  if (wrapping_algorithm == "RSAES_PKCS1_V1_5" || wrapping_algorithm == "SM2PKE" ||
      wrapping_key_spec == "SM2") {
    return Error(ErrorCode::kKmsUnsupportedOperation,
                 std::string(wrapping_algorithm) + " with " + std::string(wrapping_key_spec) +
                     " is not supported for importing key material.");
  }
  const int bits = wrapping_key_spec == "RSA_2048" ? 2048
                   : wrapping_key_spec == "RSA_3072" ? 3072
                                                      : 4096;
  HANGAR_ASSIGN_OR_RETURN(auto wrapping_key, crypto::AsymmetricKey::GenerateRsa(bits));
  HANGAR_ASSIGN_OR_RETURN(SecretBytes private_der, wrapping_key->PrivateDer());
  size_t algorithm = 0;
  while (kWrappingAlgorithms[algorithm] != wrapping_algorithm) ++algorithm;
  ImportParameters out;
  out.key_arn = k.arn;
  out.valid_to_ms = ToUnixMillis(ctx.now) + kTokenLifetimeMs;
  HANGAR_ASSIGN_OR_RETURN(
      out.import_token,
      repository_.SealToken(EncodeToken(out.valid_to_ms, algorithm, private_der).span(),
                            TokenContext(k.key_id)));
  out.public_key = wrapping_key->public_der();
  return out;
}

Result<ImportedMaterial> KeyService::ImportKeyMaterial(const auth::RequestContext& ctx,
                                                       const ImportKeyMaterialInput& input) {
  Count(Op::kImportKeyMaterial);
  ValidationErrors v;
  v.CheckLength(input.key_id, "keyId", 1, 2048);
  v.CheckLength(input.import_token, "importToken", 1, 6144, /*secret=*/true);
  v.CheckLength(input.encrypted_key_material, "encryptedKeyMaterial", 1, 6144, /*secret=*/true);
  if (input.expiration_model) {
    v.CheckEnum(*input.expiration_model, "expirationModel",
                {"KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE"});
  }
  if (input.import_type) {
    v.CheckEnum(*input.import_type, "importType", {"NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL"});
  }
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  const std::string model = input.expiration_model.value_or("KEY_MATERIAL_EXPIRES");
  const int64_t now = ToUnixMillis(ctx.now);
  if (model == "KEY_MATERIAL_EXPIRES") {
    if (!input.valid_to_ms) {
      return Error(ErrorCode::kValidation,
                   "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES");
    }
    if (*input.valid_to_ms <= now || *input.valid_to_ms > now + kMaxValidToAheadMs) {
      return Error(ErrorCode::kValidation,
                   "The validTo date must be in the future and at most 365 days from now.");
    }
  } else if (input.valid_to_ms) {
    return Error(ErrorCode::kValidation,
                 "A validTo date must not be set if the ExpirationModel is "
                 "KEY_MATERIAL_DOES_NOT_EXPIRE");
  }
  KmsRequestDetails details;
  details.conditions = {{"kms:expirationmodel", model}};
  if (input.valid_to_ms) {
    details.conditions.emplace_back("kms:validto", std::to_string(*input.valid_to_ms / 1000));
  }
  std::lock_guard lock(mutate_mu_);
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, input.key_id, /*allow_alias=*/false,
                                            "ImportKeyMaterial", details));
  const KeyRecord& k = key->record;
  if (!k.external()) return OriginNotValid(k);
  if (k.pending_deletion() || k.state == KeyState::kDisabled) {
    return RequireEnabledForCrypto(k);
  }
  if (input.import_type == "NEW_KEY_MATERIAL" && !k.versions.empty()) {
    return Error(ErrorCode::kKmsUnsupportedOperation,
                 "Importing new key material for on-demand rotation is not supported by this "
                 "server; re-import the key's existing material instead.");
  }
  auto token_plain = repository_.OpenToken(input.import_token, TokenContext(k.key_id));
  if (!token_plain.ok()) return Error(ErrorCode::kKmsInvalidImportToken, "");
  HANGAR_ASSIGN_OR_RETURN(OpenedToken token, DecodeToken(*token_plain));
  if (now > token.valid_to_ms) return Error(ErrorCode::kKmsExpiredImportToken, "");
  HANGAR_ASSIGN_OR_RETURN(SecretBytes material, Unwrap(token, input.encrypted_key_material));
  HANGAR_ASSIGN_OR_RETURN(std::string public_key, CheckMaterialFits(k, material));

  const std::string fingerprint = MaterialFingerprint(k, material);
  KeyRecord updated = k;
  if (updated.versions.empty()) {
    updated.versions.push_back({1, fingerprint, now, ""});
    updated.public_key = public_key;
  } else if (!crypto::ConstantTimeEquals(updated.current().material_id, fingerprint)) {
    // A key is bound to the material first imported into it.
    return Error(ErrorCode::kKmsIncorrectKeyMaterial,
                 "The key material is not the material bound to " + k.arn + ".");
  }
  updated.expiration_model = model;
  updated.valid_to_ms = model == "KEY_MATERIAL_EXPIRES" ? *input.valid_to_ms : 0;
  if (updated.state == KeyState::kPendingImport) updated.state = KeyState::kEnabled;
  HANGAR_RETURN_IF_ERROR(repository_.PutMaterial(updated, key->revision, material));
  NoteKey(ctx, updated);
  return ImportedMaterial{k.arn, fingerprint};
}

Result<ImportedMaterial> KeyService::DeleteImportedKeyMaterial(
    const auth::RequestContext& ctx, std::string_view key_id,
    std::optional<std::string> material_id) {
  Count(Op::kDeleteImportedKeyMaterial);
  ValidationErrors v;
  v.CheckLength(key_id, "keyId", 1, 2048);
  if (material_id) v.CheckLength(*material_id, "keyMaterialId", 64, 64);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  std::lock_guard lock(mutate_mu_);
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/false,
                                            "DeleteImportedKeyMaterial"));
  const KeyRecord& k = key->record;
  if (!k.external()) return OriginNotValid(k);
  const std::string current = k.versions.empty() ? "" : k.current().material_id;
  if (material_id && *material_id != current) {
    return Error(ErrorCode::kKmsNotFound,
                 "Key material " + *material_id + " is not found for " + k.arn + ".");
  }
  KeyRecord updated = k;
  updated.expiration_model.clear();
  updated.valid_to_ms = 0;
  // The key waits for its material again; a key pending deletion keeps that state.
  if (!updated.pending_deletion()) updated.state = KeyState::kPendingImport;
  HANGAR_RETURN_IF_ERROR(repository_.DeleteMaterials(updated, key->revision));
  NoteKey(ctx, updated);
  return ImportedMaterial{k.arn, current};
}

Status KeyService::ExpireImportedMaterial(const LoadedKey& key) {
  const KeyRecord& k = key.record;
  HANGAR_RETURN_IF_ERROR(RecordServiceEvent(
      "DeleteExpiredKeyMaterial", k,
      nlohmann::json{{"keyId", k.arn}, {"keyMaterialId", k.current().material_id}}.dump()));
  KeyRecord updated = k;
  updated.expiration_model.clear();
  updated.valid_to_ms = 0;
  if (!updated.pending_deletion()) updated.state = KeyState::kPendingImport;
  HANGAR_RETURN_IF_ERROR(repository_.DeleteMaterials(updated, key.revision));
  spdlog::info("KMS key {}: imported key material expired and was deleted", k.arn);
  return Status::Ok();
}

}  // namespace hangar::kms
