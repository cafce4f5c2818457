#include "crypto/root_key.h"

#include <openssl/crypto.h>

#include <array>

#include "common/files.h"
#include "crypto/aead.h"
#include "crypto/base64.h"
#include "crypto/random.h"
#include "crypto/root_wrap_format.h"

namespace hangar::crypto {
namespace {

// The root key in memory. Immutable after construction, so thread-safe.
class LocalRootKey final : public RootKey {
 public:
  explicit LocalRootKey(SecretBytes key) : key_(std::move(key)) {}

  Result<std::string> Wrap(std::span<const uint8_t> plaintext,
                           std::string_view context) const override {
    std::array<uint8_t, kGcmNonceSize> nonce{};
    std::string out = root_wrap::Header(plaintext.size(), nonce);
    AesGcmSeal(key_.span(), nonce, AsBytes(root_wrap::Aad(context)), plaintext, out);
    return out;
  }

  Result<SecretBytes> Unwrap(std::string_view wrapped, std::string_view context) const override {
    auto parts = root_wrap::Parse(wrapped);
    if (!parts) return InternalError("wrapped secret is malformed");
    SecretBytes plain;
    if (!AesGcmOpen(key_.span(), parts->nonce, AsBytes(root_wrap::Aad(context)), parts->sealed,
                    plain)) {
      return InternalError("wrapped secret does not open under this root key");
    }
    return plain;
  }

 private:
  SecretBytes key_;
};

}  // namespace

Result<SecretBytes> ReadRootKeyFile(const std::string& path) {
  if (!FileExists(path)) return InternalError("root key file " + path + " does not exist");
  HANGAR_ASSIGN_OR_RETURN(std::string raw, ReadSmallFile(path, 1024));
  SecretBytes key(AsBytes(raw));
  OPENSSL_cleanse(raw.data(), raw.size());
  if (key.size() != kAes256KeySize) {
    return InternalError("root key file " + path + " must hold exactly 32 bytes");
  }
  return key;
}

Result<SecretBytes> DecodeRootKeyBase64(std::string_view text) {
  auto raw = Base64Decode(text);
  if (!raw) return InternalError("the root key must be the base64 encoding of exactly 32 bytes");
  SecretBytes key(AsBytes(*raw));
  OPENSSL_cleanse(raw->data(), raw->size());
  if (key.size() != kAes256KeySize) {
    return InternalError("the root key must be the base64 encoding of exactly 32 bytes");
  }
  return key;
}

Result<std::unique_ptr<RootKey>> RootKey::FromFile(const std::string& path,
                                                   bool create_if_missing) {
  if (create_if_missing && !FileExists(path)) {
    SecretBytes key = RandomSecret(kAes256KeySize);
    HANGAR_RETURN_IF_ERROR(WriteFileAtomically(path, AsStringView(key.span()), 0600));
    return FromBytes(std::move(key));
  }
  HANGAR_ASSIGN_OR_RETURN(SecretBytes key, ReadRootKeyFile(path));
  return FromBytes(std::move(key));
}

Result<std::unique_ptr<RootKey>> RootKey::FromBase64(std::string_view text) {
  HANGAR_ASSIGN_OR_RETURN(SecretBytes key, DecodeRootKeyBase64(text));
  return FromBytes(std::move(key));
}

std::unique_ptr<RootKey> RootKey::FromBytes(SecretBytes key) {
  return std::make_unique<LocalRootKey>(std::move(key));
}

}  // namespace hangar::crypto
