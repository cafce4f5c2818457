#pragma once
// The KMS ciphertext blob. AWS's layout is not public; ours (documented in docs/kms-ciphertext.md):
//
//   offset  size  field
//   0       1     format version (0x01)
//   1       1     key id length L (36)
//   2       L     key id (ASCII)
//   2+L     4     key-material version (big-endian)
//   6+L     16    salt: per-request key and nonce = HKDF-SHA256(material, salt, info, 44 bytes)
//   22+L    n     AES-256-GCM ciphertext of the plaintext
//   ...     16    GCM tag
//
// The AAD is the header (bytes 0 .. 22+L) followed by the canonical encryption context, so the key
// id, version, salt and every context pair are authenticated. A 4096-byte plaintext gives a
// 4170-byte blob (AWS's limit for CiphertextBlob is 6144).

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace hangar::kms {

using EncryptionContext = std::map<std::string, std::string>;

struct CiphertextHeader {
  std::string key_id;
  uint32_t version = 0;
};

// Order-independent, injective serialisation: pairs sorted by key, each string length-prefixed.
std::string CanonicalEncryptionContext(const EncryptionContext& context);

// Seals `plaintext` under `material` (32 bytes) of key `key_id`, version `version`.
std::string SealCiphertext(std::string_view key_id, uint32_t version,
                           std::span<const uint8_t> material, std::span<const uint8_t> plaintext,
                           const EncryptionContext& context);

// Reads the header only (to find the key). Errors: kKmsInvalidCiphertext (empty message, as AWS).
Result<CiphertextHeader> PeekCiphertext(std::string_view blob);

// Verifies and decrypts. Errors: kKmsInvalidCiphertext on any mismatch, tampering or truncation.
Result<SecretBytes> OpenCiphertext(std::string_view blob, std::span<const uint8_t> material,
                                   const EncryptionContext& context);

}  // namespace hangar::kms
