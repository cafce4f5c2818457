#pragma once
// What each KMS key spec is and may do (docs/reference/kms-keys-beyond-symmetric.md §1–§6): its
// key family, the key usages it allows and the algorithms each usage offers, and the signing, MAC
// and encryption algorithms with their hashes. One table, read by CreateKey, the cryptographic
// operations, DescribeKey and GetPublicKey.

#include <string>
#include <string_view>
#include <vector>

#include "crypto/asymmetric.h"

namespace hangar::kms {

// kEd25519 exists for data key pairs only; KMS keys of that spec are not offered (yet).
enum class KeyFamily { kSymmetric, kRsa, kEc, kEd25519, kHmac, kUnsupported };

struct KeySpecInfo {
  std::string_view name;
  KeyFamily family = KeyFamily::kUnsupported;
  int rsa_bits = 0;
  std::string_view curve;  // OpenSSL curve name for kEc
  size_t hmac_bytes = 0;   // key length for kHmac
  std::vector<std::string_view> usages;
};

// Every KeySpec AWS names, supported or not; nullptr for a name outside the enum.
const KeySpecInfo* FindKeySpec(std::string_view name);
std::vector<std::string_view> KeySpecNames();

// The algorithms a key of `spec` offers for `usage`, and the KeyMetadata member that lists them
// ("EncryptionAlgorithms", "SigningAlgorithms", "MacAlgorithms", "KeyAgreementAlgorithms").
struct AlgorithmList {
  std::string_view member;
  std::vector<std::string_view> algorithms;
};
AlgorithmList AlgorithmsFor(std::string_view spec, std::string_view usage);
bool Offers(std::string_view spec, std::string_view usage, std::string_view algorithm);

struct SigningAlgorithmInfo {
  std::string_view name;
  crypto::SignaturePadding padding;
  crypto::HashAlgorithm hash;
  bool supported = true;  // in the enum but not offered by any key spec Hangar makes
};
const SigningAlgorithmInfo* FindSigningAlgorithm(std::string_view name);
std::vector<std::string_view> SigningAlgorithmNames();

// HMAC_SHA_256 → SHA-256; nullptr outside the enum.
const crypto::HashAlgorithm* FindMacAlgorithm(std::string_view name);
std::vector<std::string_view> MacAlgorithmNames();

// RSAES_OAEP_SHA_1/256 → their hash; nullptr for SYMMETRIC_DEFAULT, SM2PKE and unknown names.
const crypto::HashAlgorithm* FindOaepAlgorithm(std::string_view name);

// Data key pair specs (GenerateDataKeyPair): the pair's family, RSA bits or curve.
const KeySpecInfo* FindKeyPairSpec(std::string_view name);
std::vector<std::string_view> KeyPairSpecNames();

}  // namespace hangar::kms
