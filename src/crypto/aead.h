#pragma once
// AES-256-GCM (OpenSSL EVP): the one AEAD Hangar uses for key material, KMS ciphertexts and, later,
// object data. Nonces are 12 bytes, tags 16 bytes; callers own nonce uniqueness.

#include <cstdint>
#include <span>
#include <string>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace hangar::crypto {

inline constexpr size_t kAes256KeySize = 32;
inline constexpr size_t kGcmNonceSize = 12;
inline constexpr size_t kGcmTagSize = 16;

// Encrypts `plaintext`, appending ciphertext then tag to `out`. `key` must be 32 bytes.
void AesGcmSeal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                std::span<const uint8_t> aad, std::span<const uint8_t> plaintext, std::string& out);

// Verifies and decrypts `sealed` (ciphertext || tag) into `plaintext_out` (resized to fit).
// Returns false, leaving `plaintext_out` wiped, if the tag does not verify.
bool AesGcmOpen(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                std::span<const uint8_t> aad, std::span<const uint8_t> sealed,
                SecretBytes& plaintext_out);

}  // namespace hangar::crypto
