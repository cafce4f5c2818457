#include "kms/key_specs.h"

namespace hangar::kms {
namespace {

using crypto::HashAlgorithm;
using crypto::SignaturePadding;

constexpr std::string_view kEncrypt = "ENCRYPT_DECRYPT";
constexpr std::string_view kSign = "SIGN_VERIFY";
constexpr std::string_view kMac = "GENERATE_VERIFY_MAC";
constexpr std::string_view kAgree = "KEY_AGREEMENT";

const std::vector<KeySpecInfo>& KeySpecs() {
  static const auto* specs = new std::vector<KeySpecInfo>{
      {"SYMMETRIC_DEFAULT", KeyFamily::kSymmetric, 0, "", 0, {kEncrypt}},
      {"RSA_2048", KeyFamily::kRsa, 2048, "", 0, {kEncrypt, kSign}},
      {"RSA_3072", KeyFamily::kRsa, 3072, "", 0, {kEncrypt, kSign}},
      {"RSA_4096", KeyFamily::kRsa, 4096, "", 0, {kEncrypt, kSign}},
      {"ECC_NIST_P256", KeyFamily::kEc, 0, "P-256", 0, {kSign, kAgree}},
      {"ECC_NIST_P384", KeyFamily::kEc, 0, "P-384", 0, {kSign, kAgree}},
      {"ECC_NIST_P521", KeyFamily::kEc, 0, "P-521", 0, {kSign, kAgree}},
      {"ECC_SECG_P256K1", KeyFamily::kEc, 0, "secp256k1", 0, {kSign}},
      {"HMAC_224", KeyFamily::kHmac, 0, "", 28, {kMac}},
      {"HMAC_256", KeyFamily::kHmac, 0, "", 32, {kMac}},
      {"HMAC_384", KeyFamily::kHmac, 0, "", 48, {kMac}},
      {"HMAC_512", KeyFamily::kHmac, 0, "", 64, {kMac}},
      // In AWS's enum, not made here: Ed25519ph and ML-DSA need OpenSSL 3.2+/3.5, SM2 exists only
      // in the China Regions.
      {"ECC_NIST_EDWARDS25519", KeyFamily::kUnsupported, 0, "", 0, {kSign}},
      {"ML_DSA_44", KeyFamily::kUnsupported, 0, "", 0, {kSign}},
      {"ML_DSA_65", KeyFamily::kUnsupported, 0, "", 0, {kSign}},
      {"ML_DSA_87", KeyFamily::kUnsupported, 0, "", 0, {kSign}},
      {"SM2", KeyFamily::kUnsupported, 0, "", 0, {kEncrypt, kSign, kAgree}},
  };
  return *specs;
}

const std::vector<KeySpecInfo>& KeyPairSpecs() {
  static const auto* specs = new std::vector<KeySpecInfo>{
      {"RSA_2048", KeyFamily::kRsa, 2048, "", 0, {}},
      {"RSA_3072", KeyFamily::kRsa, 3072, "", 0, {}},
      {"RSA_4096", KeyFamily::kRsa, 4096, "", 0, {}},
      {"ECC_NIST_P256", KeyFamily::kEc, 0, "P-256", 0, {}},
      {"ECC_NIST_P384", KeyFamily::kEc, 0, "P-384", 0, {}},
      {"ECC_NIST_P521", KeyFamily::kEc, 0, "P-521", 0, {}},
      {"ECC_SECG_P256K1", KeyFamily::kEc, 0, "secp256k1", 0, {}},
      {"ECC_NIST_EDWARDS25519", KeyFamily::kEd25519, 0, "", 0, {}},
      {"SM2", KeyFamily::kUnsupported, 0, "", 0, {}},
  };
  return *specs;
}

const std::vector<SigningAlgorithmInfo>& SigningAlgorithms() {
  static const auto* algorithms = new std::vector<SigningAlgorithmInfo>{
      {"RSASSA_PSS_SHA_256", SignaturePadding::kPss, HashAlgorithm::kSha256},
      {"RSASSA_PSS_SHA_384", SignaturePadding::kPss, HashAlgorithm::kSha384},
      {"RSASSA_PSS_SHA_512", SignaturePadding::kPss, HashAlgorithm::kSha512},
      {"RSASSA_PKCS1_V1_5_SHA_256", SignaturePadding::kPkcs1v15, HashAlgorithm::kSha256},
      {"RSASSA_PKCS1_V1_5_SHA_384", SignaturePadding::kPkcs1v15, HashAlgorithm::kSha384},
      {"RSASSA_PKCS1_V1_5_SHA_512", SignaturePadding::kPkcs1v15, HashAlgorithm::kSha512},
      {"ECDSA_SHA_256", SignaturePadding::kEcdsa, HashAlgorithm::kSha256},
      {"ECDSA_SHA_384", SignaturePadding::kEcdsa, HashAlgorithm::kSha384},
      {"ECDSA_SHA_512", SignaturePadding::kEcdsa, HashAlgorithm::kSha512},
      {"SM2DSA", SignaturePadding::kEcdsa, HashAlgorithm::kSha256, false},
      {"ML_DSA_SHAKE_256", SignaturePadding::kEcdsa, HashAlgorithm::kSha256, false},
      {"ED25519_SHA_512", SignaturePadding::kEcdsa, HashAlgorithm::kSha512, false},
      {"ED25519_PH_SHA_512", SignaturePadding::kEcdsa, HashAlgorithm::kSha512, false},
  };
  return *algorithms;
}

struct NamedHash {
  std::string_view name;
  HashAlgorithm hash;
};

const std::vector<NamedHash>& MacAlgorithms() {
  static const auto* algorithms = new std::vector<NamedHash>{
      {"HMAC_SHA_224", HashAlgorithm::kSha224},
      {"HMAC_SHA_256", HashAlgorithm::kSha256},
      {"HMAC_SHA_384", HashAlgorithm::kSha384},
      {"HMAC_SHA_512", HashAlgorithm::kSha512},
  };
  return *algorithms;
}

template <typename T>
std::vector<std::string_view> Names(const std::vector<T>& table) {
  std::vector<std::string_view> out;
  for (const auto& entry : table) out.push_back(entry.name);
  return out;
}

template <typename T>
const T* Find(const std::vector<T>& table, std::string_view name) {
  for (const auto& entry : table) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

}  // namespace

const KeySpecInfo* FindKeySpec(std::string_view name) { return Find(KeySpecs(), name); }
std::vector<std::string_view> KeySpecNames() { return Names(KeySpecs()); }
const KeySpecInfo* FindKeyPairSpec(std::string_view name) { return Find(KeyPairSpecs(), name); }
std::vector<std::string_view> KeyPairSpecNames() { return Names(KeyPairSpecs()); }

AlgorithmList AlgorithmsFor(std::string_view spec, std::string_view usage) {
  const KeySpecInfo* info = FindKeySpec(spec);
  if (info == nullptr) return {};
  switch (info->family) {
    case KeyFamily::kSymmetric:
      return {"EncryptionAlgorithms", {"SYMMETRIC_DEFAULT"}};
    case KeyFamily::kRsa:
      if (usage == kEncrypt) return {"EncryptionAlgorithms", {"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}};
      return {"SigningAlgorithms",
              {"RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384",
               "RSASSA_PKCS1_V1_5_SHA_512", "RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384",
               "RSASSA_PSS_SHA_512"}};
    case KeyFamily::kEc:
      if (usage == kAgree) return {"KeyAgreementAlgorithms", {"ECDH"}};
      if (spec == "ECC_NIST_P384") return {"SigningAlgorithms", {"ECDSA_SHA_384"}};
      if (spec == "ECC_NIST_P521") return {"SigningAlgorithms", {"ECDSA_SHA_512"}};
      return {"SigningAlgorithms", {"ECDSA_SHA_256"}};
    case KeyFamily::kHmac:
      // HMAC_256 offers HMAC_SHA_256: the spec's size suffix names the algorithm.
      for (const auto& mac : MacAlgorithms()) {
        if (mac.name.ends_with(spec.substr(4))) return {"MacAlgorithms", {mac.name}};
      }
      return {};
    case KeyFamily::kEd25519:
    case KeyFamily::kUnsupported:
      return {};
  }
  return {};
}

bool Offers(std::string_view spec, std::string_view usage, std::string_view algorithm) {
  for (std::string_view offered : AlgorithmsFor(spec, usage).algorithms) {
    if (offered == algorithm) return true;
  }
  return false;
}

const SigningAlgorithmInfo* FindSigningAlgorithm(std::string_view name) {
  return Find(SigningAlgorithms(), name);
}
std::vector<std::string_view> SigningAlgorithmNames() { return Names(SigningAlgorithms()); }

const crypto::HashAlgorithm* FindMacAlgorithm(std::string_view name) {
  const NamedHash* found = Find(MacAlgorithms(), name);
  return found ? &found->hash : nullptr;
}
std::vector<std::string_view> MacAlgorithmNames() { return Names(MacAlgorithms()); }

const crypto::HashAlgorithm* FindOaepAlgorithm(std::string_view name) {
  static const HashAlgorithm kSha1 = HashAlgorithm::kSha1;
  static const HashAlgorithm kSha256 = HashAlgorithm::kSha256;
  if (name == "RSAES_OAEP_SHA_1") return &kSha1;
  if (name == "RSAES_OAEP_SHA_256") return &kSha256;
  return nullptr;
}

}  // namespace hangar::kms
