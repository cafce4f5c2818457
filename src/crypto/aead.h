#pragma once
// AES-256-GCM (OpenSSL EVP): the one AEAD Hangar uses for key material, KMS ciphertexts and, later,
// object data. Nonces are 12 bytes, tags 16 bytes; callers own nonce uniqueness.

#include <cstdint>
#include <memory>
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

// AES-256-GCM with one key for many messages (object segments): the key schedule is set up once.
// Writes into caller buffers, so a stream of segments allocates nothing. Not thread-safe.
class AesGcmKey {
 public:
  explicit AesGcmKey(std::span<const uint8_t> key);  // 32 bytes
  ~AesGcmKey();
  AesGcmKey(const AesGcmKey&) = delete;
  AesGcmKey& operator=(const AesGcmKey&) = delete;

  // out must hold plaintext.size() bytes; tag_out 16 bytes.
  void Seal(std::span<const uint8_t> nonce, std::span<const uint8_t> plaintext, uint8_t* out,
            uint8_t* tag_out);
  // out must hold ciphertext.size() bytes. False if the tag does not verify (out is then zeroed).
  bool Open(std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext,
            std::span<const uint8_t> tag, uint8_t* out);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> encrypt_;
  std::unique_ptr<Ctx> decrypt_;
};

}  // namespace hangar::crypto
