#include "crypto/root_key.h"

#include <array>

#include <openssl/crypto.h>

#include "common/files.h"
#include "crypto/aead.h"
#include "crypto/base64.h"
#include "crypto/random.h"

namespace hangar::crypto {
namespace {

// Wrapped form: version byte | 12-byte nonce | ciphertext | 16-byte tag.
constexpr uint8_t kWrapVersion = 1;
constexpr std::string_view kAadPrefix = "hangar-root-wrap-v1\n";

std::string Aad(std::string_view context) {
  std::string aad(kAadPrefix);
  aad += context;
  return aad;
}

}  // namespace

Result<std::unique_ptr<RootKey>> RootKey::FromFile(const std::string& path,
                                                   bool create_if_missing) {
  if (!FileExists(path)) {
    if (!create_if_missing) {
      return InternalError("root key file " + path + " does not exist");
    }
    SecretBytes key = RandomSecret(kAes256KeySize);
    HANGAR_RETURN_IF_ERROR(WriteFileAtomically(path, AsStringView(key.span()), 0600));
    return FromBytes(std::move(key));
  }
  HANGAR_ASSIGN_OR_RETURN(std::string raw, ReadSmallFile(path, 1024));
  if (raw.size() != kAes256KeySize) {
    SecretBytes wipe(AsBytes(raw));
    OPENSSL_cleanse(raw.data(), raw.size());
    return InternalError("root key file " + path + " must hold exactly 32 bytes");
  }
  SecretBytes key(AsBytes(raw));
  OPENSSL_cleanse(raw.data(), raw.size());
  return FromBytes(std::move(key));
}

Result<std::unique_ptr<RootKey>> RootKey::FromBase64(std::string_view text) {
  auto raw = Base64Decode(text);
  if (!raw || raw->size() != kAes256KeySize) {
    return InternalError("the root key must be the base64 encoding of exactly 32 bytes");
  }
  SecretBytes key(AsBytes(*raw));
  OPENSSL_cleanse(raw->data(), raw->size());
  return FromBytes(std::move(key));
}

std::unique_ptr<RootKey> RootKey::FromBytes(SecretBytes key) {
  return std::unique_ptr<RootKey>(new RootKey(std::move(key)));
}

std::string RootKey::Wrap(std::span<const uint8_t> plaintext, std::string_view context) const {
  std::array<uint8_t, kGcmNonceSize> nonce{};
  RandomBytes(nonce);
  std::string out;
  out.reserve(1 + nonce.size() + plaintext.size() + kGcmTagSize);
  out.push_back(static_cast<char>(kWrapVersion));
  out.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  AesGcmSeal(key_.span(), nonce, AsBytes(Aad(context)), plaintext, out);
  return out;
}

Result<SecretBytes> RootKey::Unwrap(std::string_view wrapped, std::string_view context) const {
  if (wrapped.size() < 1 + kGcmNonceSize + kGcmTagSize ||
      static_cast<uint8_t>(wrapped[0]) != kWrapVersion) {
    return InternalError("wrapped secret is malformed");
  }
  auto bytes = AsBytes(wrapped);
  SecretBytes plain;
  if (!AesGcmOpen(key_.span(), bytes.subspan(1, kGcmNonceSize), AsBytes(Aad(context)),
                  bytes.subspan(1 + kGcmNonceSize), plain)) {
    return InternalError("wrapped secret does not open under this root key");
  }
  return plain;
}

}  // namespace hangar::crypto
