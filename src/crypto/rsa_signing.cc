#include "crypto/rsa_signing.h"

#include <algorithm>
#include <memory>

#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

namespace hangar::crypto {
namespace {

using PkeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

PkeyPtr ParsePrivate(const SecretBytes& der) {
  const unsigned char* p = der.data();
  return PkeyPtr(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())), &EVP_PKEY_free);
}

PkeyPtr ParsePublic(std::string_view der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  return PkeyPtr(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())), &EVP_PKEY_free);
}

Result<std::string> PublicDer(EVP_PKEY* key) {
  int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) return InternalError("cannot encode an RSA public key");
  std::string out(static_cast<size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(out.data());
  i2d_PUBKEY(key, &p);
  return out;
}

}  // namespace

Result<RsaKeyPair> GenerateRsaKeyPair(int bits) {
  if (bits < 2048) return InternalError("RSA keys must have at least 2048 bits");
  PkeyCtxPtr ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_RSA, nullptr), &EVP_PKEY_CTX_free);
  EVP_PKEY* raw = nullptr;
  if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
      EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), bits) <= 0 ||
      EVP_PKEY_keygen(ctx.get(), &raw) <= 0) {
    return InternalError("cannot generate an RSA key pair");
  }
  PkeyPtr key(raw, &EVP_PKEY_free);
  PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(key.get());
  if (info == nullptr) return InternalError("cannot encode an RSA private key");
  int len = i2d_PKCS8_PRIV_KEY_INFO(info, nullptr);
  RsaKeyPair pair;
  pair.private_der = SecretBytes(static_cast<size_t>(std::max(len, 0)));
  unsigned char* p = pair.private_der.data();
  if (len <= 0 || i2d_PKCS8_PRIV_KEY_INFO(info, &p) != len) {
    PKCS8_PRIV_KEY_INFO_free(info);
    return InternalError("cannot encode an RSA private key");
  }
  PKCS8_PRIV_KEY_INFO_free(info);
  HANGAR_ASSIGN_OR_RETURN(pair.public_der, PublicDer(key.get()));
  return pair;
}

Result<std::string> RsaPublicKeyOf(const SecretBytes& private_der) {
  PkeyPtr key = ParsePrivate(private_der);
  if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return InternalError("not an RSA private key");
  }
  return PublicDer(key.get());
}

Result<std::string> RsaSha256Sign(const SecretBytes& private_der, std::string_view message) {
  PkeyPtr key = ParsePrivate(private_der);
  if (!key) return InternalError("not an RSA private key");
  MdCtxPtr md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  size_t len = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) <= 0 ||
      EVP_DigestSign(md.get(), nullptr, &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) <= 0) {
    return InternalError("cannot sign with the RSA key");
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) <= 0) {
    return InternalError("cannot sign with the RSA key");
  }
  signature.resize(len);
  return signature;
}

bool RsaSha256Verify(std::string_view public_der, std::string_view message,
                     std::string_view signature) {
  PkeyPtr key = ParsePublic(public_der);
  if (!key) return false;
  MdCtxPtr md(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  return md && EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) > 0 &&
         EVP_DigestVerify(md.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                          signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                          message.size()) == 1;
}

}  // namespace hangar::crypto
