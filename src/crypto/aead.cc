#include "crypto/aead.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

#include "common/check.h"

namespace hangar::crypto {
namespace {

const EVP_CIPHER* Aes256Gcm() {
  static EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
  HANGAR_CHECK(cipher != nullptr);
  return cipher;
}

struct CtxDeleter {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CtxDeleter>;

// A context per call, freed (and so cleansed: the expanded key schedule is key material) as soon
// as the call returns. A context kept per thread would hold the last key for the thread's life.
CipherCtx NewCtx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  HANGAR_CHECK(ctx != nullptr);
  return ctx;
}

}  // namespace

void AesGcmSeal(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                std::span<const uint8_t> aad, std::span<const uint8_t> plaintext,
                std::string& out) {
  HANGAR_CHECK(key.size() == kAes256KeySize && nonce.size() == kGcmNonceSize);
  CipherCtx owned = NewCtx();
  EVP_CIPHER_CTX* ctx = owned.get();
  HANGAR_CHECK(EVP_EncryptInit_ex2(ctx, Aes256Gcm(), key.data(), nonce.data(), nullptr) == 1);
  int len = 0;
  if (!aad.empty()) {
    HANGAR_CHECK(EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) ==
                 1);
  }
  size_t start = out.size();
  out.resize(start + plaintext.size() + kGcmTagSize);
  auto* dst = reinterpret_cast<unsigned char*>(out.data() + start);
  if (!plaintext.empty()) {
    HANGAR_CHECK(EVP_EncryptUpdate(ctx, dst, &len, plaintext.data(),
                                   static_cast<int>(plaintext.size())) == 1);
  }
  HANGAR_CHECK(EVP_EncryptFinal_ex(ctx, dst + plaintext.size(), &len) == 1);
  HANGAR_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmTagSize,
                                   dst + plaintext.size()) == 1);
}

bool AesGcmOpen(std::span<const uint8_t> key, std::span<const uint8_t> nonce,
                std::span<const uint8_t> aad, std::span<const uint8_t> sealed,
                SecretBytes& plaintext_out) {
  HANGAR_CHECK(key.size() == kAes256KeySize && nonce.size() == kGcmNonceSize);
  if (sealed.size() < kGcmTagSize) return false;
  size_t text_size = sealed.size() - kGcmTagSize;
  CipherCtx owned = NewCtx();
  EVP_CIPHER_CTX* ctx = owned.get();
  HANGAR_CHECK(EVP_DecryptInit_ex2(ctx, Aes256Gcm(), key.data(), nonce.data(), nullptr) == 1);
  int len = 0;
  if (!aad.empty()) {
    HANGAR_CHECK(EVP_DecryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())) ==
                 1);
  }
  SecretBytes plain(text_size);
  if (text_size > 0) {
    HANGAR_CHECK(EVP_DecryptUpdate(ctx, plain.data(), &len, sealed.data(),
                                   static_cast<int>(text_size)) == 1);
  }
  HANGAR_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kGcmTagSize,
                                   const_cast<uint8_t*>(sealed.data() + text_size)) == 1);
  if (EVP_DecryptFinal_ex(ctx, plain.data() + text_size, &len) != 1) {
    plaintext_out = SecretBytes();
    return false;  // `plain` is wiped by its destructor
  }
  plaintext_out = std::move(plain);
  return true;
}

struct AesGcmKey::Ctx {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  ~Ctx() { EVP_CIPHER_CTX_free(ctx); }
};

AesGcmKey::AesGcmKey(std::span<const uint8_t> key)
    : encrypt_(std::make_unique<Ctx>()), decrypt_(std::make_unique<Ctx>()) {
  HANGAR_CHECK(key.size() == kAes256KeySize && encrypt_->ctx && decrypt_->ctx);
  HANGAR_CHECK(EVP_EncryptInit_ex2(encrypt_->ctx, Aes256Gcm(), key.data(), nullptr, nullptr) == 1);
  HANGAR_CHECK(EVP_DecryptInit_ex2(decrypt_->ctx, Aes256Gcm(), key.data(), nullptr, nullptr) == 1);
}

AesGcmKey::~AesGcmKey() = default;

void AesGcmKey::Seal(std::span<const uint8_t> nonce, std::span<const uint8_t> plaintext,
                     uint8_t* out, uint8_t* tag_out) {
  HANGAR_CHECK(nonce.size() == kGcmNonceSize);
  EVP_CIPHER_CTX* ctx = encrypt_->ctx;
  // Only the IV changes: the key schedule set up in the constructor is kept.
  HANGAR_CHECK(EVP_EncryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) == 1);
  int len = 0;
  if (!plaintext.empty()) {
    HANGAR_CHECK(EVP_EncryptUpdate(ctx, out, &len, plaintext.data(),
                                   static_cast<int>(plaintext.size())) == 1);
  }
  HANGAR_CHECK(EVP_EncryptFinal_ex(ctx, out + plaintext.size(), &len) == 1);
  HANGAR_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, tag_out) == 1);
}

bool AesGcmKey::Open(std::span<const uint8_t> nonce, std::span<const uint8_t> ciphertext,
                     std::span<const uint8_t> tag, uint8_t* out) {
  HANGAR_CHECK(nonce.size() == kGcmNonceSize && tag.size() == kGcmTagSize);
  EVP_CIPHER_CTX* ctx = decrypt_->ctx;
  HANGAR_CHECK(EVP_DecryptInit_ex2(ctx, nullptr, nullptr, nonce.data(), nullptr) == 1);
  int len = 0;
  if (!ciphertext.empty()) {
    HANGAR_CHECK(EVP_DecryptUpdate(ctx, out, &len, ciphertext.data(),
                                   static_cast<int>(ciphertext.size())) == 1);
  }
  HANGAR_CHECK(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kGcmTagSize,
                                   const_cast<uint8_t*>(tag.data())) == 1);
  if (EVP_DecryptFinal_ex(ctx, out + ciphertext.size(), &len) != 1) {
    OPENSSL_cleanse(out, ciphertext.size());
    return false;
  }
  return true;
}

}  // namespace hangar::crypto
