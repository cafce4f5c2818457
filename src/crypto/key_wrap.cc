#include "crypto/key_wrap.h"

#include <openssl/evp.h>

#include <memory>

namespace hangar::crypto {
namespace {

using CipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

const EVP_CIPHER* WrapCipher(size_t kek_size) {
  switch (kek_size) {
    case 16:
      return EVP_aes_128_wrap_pad();
    case 24:
      return EVP_aes_192_wrap_pad();
    case 32:
      return EVP_aes_256_wrap_pad();
    default:
      return nullptr;
  }
}

// One pass of the wrap cipher in either direction into `out` (sized by the caller); returns the
// bytes written, or -1.
int Run(std::span<const uint8_t> kek, bool encrypt, const uint8_t* in, size_t in_size,
        uint8_t* out) {
  const EVP_CIPHER* cipher = WrapCipher(kek.size());
  CipherCtxPtr ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (cipher == nullptr || !ctx || in_size > INT32_MAX) return -1;
  EVP_CIPHER_CTX_set_flags(ctx.get(), EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
  int len = 0;
  int final_len = 0;
  if (EVP_CipherInit_ex(ctx.get(), cipher, nullptr, kek.data(), nullptr, encrypt ? 1 : 0) != 1 ||
      EVP_CipherUpdate(ctx.get(), out, &len, in, static_cast<int>(in_size)) != 1 ||
      EVP_CipherFinal_ex(ctx.get(), out + len, &final_len) != 1) {
    return -1;
  }
  return len + final_len;
}

}  // namespace

Result<std::string> AesKeyWrapPad(std::span<const uint8_t> kek, std::span<const uint8_t> key) {
  std::string out(key.size() + 16, '\0');  // padded to 8 bytes, plus the 8-byte integrity block
  int len = Run(kek, true, key.data(), key.size(), reinterpret_cast<uint8_t*>(out.data()));
  if (len < 0) return InternalError("AES key wrap failed");
  out.resize(static_cast<size_t>(len));
  return out;
}

Result<SecretBytes> AesKeyUnwrapPad(std::span<const uint8_t> kek, std::string_view wrapped) {
  if (wrapped.size() < 16 || wrapped.size() % 8 != 0) {
    return Error(ErrorCode::kValidation, "not an RFC 5649 wrapped key");
  }
  SecretBytes buffer(wrapped.size());
  int len = Run(kek, false, reinterpret_cast<const uint8_t*>(wrapped.data()), wrapped.size(),
                buffer.data());
  if (len <= 0) return Error(ErrorCode::kValidation, "the wrapped key does not unwrap");
  return SecretBytes(buffer.span().first(static_cast<size_t>(len)));
}

}  // namespace hangar::crypto
