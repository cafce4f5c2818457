#include "common/secret_bytes.h"

#include <openssl/crypto.h>

#include <new>

namespace hangar {

SecretMemory InitSecretMemory(size_t bytes) {
  // OpenSSL's secure heap is an mmap'd arena with guard pages, mlock'ed and marked
  // MADV_DONTDUMP; 1 means all of that held, 2 that the pages could not be locked.
  switch (CRYPTO_secure_malloc_init(bytes, 32)) {
    case 1:
      return SecretMemory::kLocked;
    case 2:
      return SecretMemory::kUnlocked;
    default:
      return SecretMemory::kUnavailable;
  }
}

void* AllocateSecret(size_t bytes) {
  if (bytes == 0) bytes = 1;
  // A full secure heap falls back to the normal heap rather than failing the request; the bytes
  // are still cleansed on free.
  void* p = CRYPTO_secure_malloc_initialized() ? OPENSSL_secure_malloc(bytes) : nullptr;
  if (p == nullptr) p = OPENSSL_malloc(bytes);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void FreeSecret(void* p, size_t bytes) {
  if (p == nullptr) return;
  if (bytes == 0) bytes = 1;
  if (CRYPTO_secure_allocated(p)) {
    OPENSSL_secure_clear_free(p, bytes);
  } else {
    OPENSSL_clear_free(p, bytes);
  }
}

void SecretBytes::Wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

}  // namespace hangar
