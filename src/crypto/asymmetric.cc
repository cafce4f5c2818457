#include "crypto/asymmetric.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "common/check.h"

namespace hangar::crypto {
namespace {

using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

const EVP_MD* Md(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha1:
      return EVP_sha1();
    case HashAlgorithm::kSha224:
      return EVP_sha224();
    case HashAlgorithm::kSha256:
      return EVP_sha256();
    case HashAlgorithm::kSha384:
      return EVP_sha384();
    case HashAlgorithm::kSha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

const char* MdName(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::kSha1:
      return "SHA1";
    case HashAlgorithm::kSha224:
      return "SHA224";
    case HashAlgorithm::kSha256:
      return "SHA256";
    case HashAlgorithm::kSha384:
      return "SHA384";
    case HashAlgorithm::kSha512:
      return "SHA512";
  }
  return "SHA256";
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

PkeyCtxPtr ContextFor(evp_pkey_st* key) {
  return PkeyCtxPtr(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr), &EVP_PKEY_CTX_free);
}

// Sets RSA padding and hashes for a sign or verify context; ECDSA needs only the hash (which makes
// OpenSSL check the digest's length).
bool ConfigureSignature(EVP_PKEY_CTX* ctx, SignaturePadding padding, HashAlgorithm hash) {
  if (EVP_PKEY_CTX_set_signature_md(ctx, Md(hash)) <= 0) return false;
  switch (padding) {
    case SignaturePadding::kPkcs1v15:
      return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) > 0;
    case SignaturePadding::kPss:
      return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, Md(hash)) > 0;
    case SignaturePadding::kEcdsa:
      return true;
  }
  return false;
}

bool ConfigureOaep(EVP_PKEY_CTX* ctx, HashAlgorithm hash) {
  return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) > 0 &&
         EVP_PKEY_CTX_set_rsa_oaep_md(ctx, Md(hash)) > 0 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, Md(hash)) > 0;
}

}  // namespace

size_t HashSize(HashAlgorithm hash) { return static_cast<size_t>(EVP_MD_get_size(Md(hash))); }

std::string HashBytes(HashAlgorithm hash, std::string_view data) {
  std::string out(HashSize(hash), '\0');
  unsigned int len = 0;
  HANGAR_CHECK(EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(out.data()),
                          &len, Md(hash), nullptr) == 1);
  return out;
}

AsymmetricKey::AsymmetricKey(evp_pkey_st* key, bool has_private)
    : key_(key), has_private_(has_private) {}

AsymmetricKey::~AsymmetricKey() { EVP_PKEY_free(key_); }

Result<std::shared_ptr<const AsymmetricKey>> AsymmetricKey::Adopt(evp_pkey_st* key,
                                                                  bool has_private) {
  if (key == nullptr) return InternalError("cannot create the key");
  std::shared_ptr<AsymmetricKey> out(new AsymmetricKey(key, has_private));
  int len = i2d_PUBKEY(key, nullptr);
  if (len <= 0) return InternalError("cannot encode the public key");
  out->public_der_.resize(static_cast<size_t>(len));
  auto* p = reinterpret_cast<unsigned char*>(out->public_der_.data());
  if (i2d_PUBKEY(key, &p) != len) return InternalError("cannot encode the public key");
  return std::shared_ptr<const AsymmetricKey>(std::move(out));
}

Result<std::shared_ptr<const AsymmetricKey>> AsymmetricKey::GenerateRsa(int bits) {
  if (bits < 2048) return InternalError("RSA keys must have at least 2048 bits");
  return Adopt(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits)), true);
}

Result<std::shared_ptr<const AsymmetricKey>> AsymmetricKey::GenerateEc(std::string_view curve) {
  std::string name(curve);
  return Adopt(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", name.c_str()), true);
}

Result<std::shared_ptr<const AsymmetricKey>> AsymmetricKey::GenerateEd25519() {
  return Adopt(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"), true);
}

Result<std::shared_ptr<const AsymmetricKey>> AsymmetricKey::FromPrivateDer(
    const SecretBytes& pkcs8) {
  const unsigned char* p = pkcs8.data();
  EVP_PKEY* key = d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(pkcs8.size()));
  if (key == nullptr) return InternalError("stored private key does not parse");
  return Adopt(key, true);
}

Result<std::shared_ptr<const AsymmetricKey>> AsymmetricKey::FromPublicDer(std::string_view spki) {
  const unsigned char* p = Bytes(spki);
  EVP_PKEY* key = d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size()));
  if (key == nullptr || p != Bytes(spki) + spki.size()) {
    EVP_PKEY_free(key);
    return Error(ErrorCode::kValidation, "not a DER SubjectPublicKeyInfo");
  }
  return Adopt(key, false);
}

bool AsymmetricKey::is_rsa() const { return EVP_PKEY_get_base_id(key_) == EVP_PKEY_RSA; }

size_t AsymmetricKey::max_output_size() const {
  return static_cast<size_t>(EVP_PKEY_get_size(key_));
}

std::string AsymmetricKey::curve() const {
  char name[80] = {0};
  size_t len = 0;
  if (is_rsa() || EVP_PKEY_get_utf8_string_param(key_, OSSL_PKEY_PARAM_GROUP_NAME, name,
                                                 sizeof(name), &len) != 1) {
    return "";
  }
  return std::string(name, len);
}

Result<SecretBytes> AsymmetricKey::PrivateDer() const {
  if (!has_private_) return Error(ErrorCode::kInvalidRequest, "a public key has no private part");
  PKCS8_PRIV_KEY_INFO* info = EVP_PKEY2PKCS8(key_);
  if (info == nullptr) return InternalError("cannot encode the private key");
  int len = i2d_PKCS8_PRIV_KEY_INFO(info, nullptr);
  SecretBytes out(static_cast<size_t>(len > 0 ? len : 0));
  unsigned char* p = out.data();
  bool ok = len > 0 && i2d_PKCS8_PRIV_KEY_INFO(info, &p) == len;
  PKCS8_PRIV_KEY_INFO_free(info);  // cleanses the key it holds
  if (!ok) return InternalError("cannot encode the private key");
  return out;
}

Result<std::string> AsymmetricKey::SignDigest(SignaturePadding padding, HashAlgorithm hash,
                                              std::string_view digest) const {
  PkeyCtxPtr ctx = ContextFor(key_);
  size_t len = 0;
  if (!ctx || !has_private_ || EVP_PKEY_sign_init(ctx.get()) <= 0 ||
      !ConfigureSignature(ctx.get(), padding, hash) ||
      EVP_PKEY_sign(ctx.get(), nullptr, &len, Bytes(digest), digest.size()) <= 0) {
    return InternalError("cannot sign with the key");
  }
  std::string signature(len, '\0');
  if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                    Bytes(digest), digest.size()) <= 0) {
    return InternalError("cannot sign with the key");
  }
  signature.resize(len);
  return signature;
}

bool AsymmetricKey::VerifyDigest(SignaturePadding padding, HashAlgorithm hash,
                                 std::string_view digest, std::string_view signature) const {
  PkeyCtxPtr ctx = ContextFor(key_);
  return ctx && EVP_PKEY_verify_init(ctx.get()) > 0 &&
         ConfigureSignature(ctx.get(), padding, hash) &&
         EVP_PKEY_verify(ctx.get(), Bytes(signature), signature.size(), Bytes(digest),
                         digest.size()) == 1;
}

Result<std::string> AsymmetricKey::OaepEncrypt(HashAlgorithm hash,
                                               std::span<const uint8_t> plaintext) const {
  PkeyCtxPtr ctx = ContextFor(key_);
  size_t len = 0;
  if (!ctx || EVP_PKEY_encrypt_init(ctx.get()) <= 0 || !ConfigureOaep(ctx.get(), hash) ||
      EVP_PKEY_encrypt(ctx.get(), nullptr, &len, plaintext.data(), plaintext.size()) <= 0) {
    return InternalError("cannot encrypt with the key");
  }
  std::string out(len, '\0');
  if (EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &len,
                       plaintext.data(), plaintext.size()) <= 0) {
    return InternalError("cannot encrypt with the key");
  }
  out.resize(len);
  return out;
}

Result<SecretBytes> AsymmetricKey::OaepDecrypt(HashAlgorithm hash,
                                               std::string_view ciphertext) const {
  PkeyCtxPtr ctx = ContextFor(key_);
  size_t len = 0;
  if (!ctx || !has_private_ || EVP_PKEY_decrypt_init(ctx.get()) <= 0 ||
      !ConfigureOaep(ctx.get(), hash) ||
      EVP_PKEY_decrypt(ctx.get(), nullptr, &len, Bytes(ciphertext), ciphertext.size()) <= 0) {
    return InternalError("cannot decrypt with the key");
  }
  SecretBytes buffer(len);
  if (ciphertext.size() != max_output_size() ||
      EVP_PKEY_decrypt(ctx.get(), buffer.data(), &len, Bytes(ciphertext), ciphertext.size()) <=
          0) {
    return Error(ErrorCode::kValidation, "the ciphertext does not decrypt under this key");
  }
  return SecretBytes(buffer.span().first(len));
}

size_t AsymmetricKey::OaepMaxPlaintext(HashAlgorithm hash) const {
  const size_t overhead = 2 * HashSize(hash) + 2;
  return max_output_size() > overhead ? max_output_size() - overhead : 0;
}

Result<SecretBytes> AsymmetricKey::DeriveSharedSecret(const AsymmetricKey& peer) const {
  if (is_rsa() || peer.is_rsa() || curve() != peer.curve()) {
    return Error(ErrorCode::kValidation, "the peer key is not on this key's curve");
  }
  PkeyCtxPtr ctx = ContextFor(key_);
  size_t len = 0;
  if (!ctx || !has_private_ || EVP_PKEY_derive_init(ctx.get()) <= 0) {
    return InternalError("cannot derive with the key");
  }
  if (EVP_PKEY_derive_set_peer(ctx.get(), peer.key_) <= 0 ||
      EVP_PKEY_derive(ctx.get(), nullptr, &len) <= 0) {
    return Error(ErrorCode::kValidation, "the peer key does not suit this key");
  }
  SecretBytes secret(len);
  if (EVP_PKEY_derive(ctx.get(), secret.data(), &len) <= 0 || len != secret.size()) {
    return InternalError("cannot derive with the key");
  }
  return secret;
}

std::string Hmac(HashAlgorithm hash, std::span<const uint8_t> key, std::string_view data) {
  std::string out(HashSize(hash), '\0');
  size_t len = 0;
  unsigned char* written =
      EVP_Q_mac(nullptr, "HMAC", nullptr, MdName(hash), nullptr, key.data(), key.size(),
                Bytes(data), data.size(), reinterpret_cast<unsigned char*>(out.data()),
                out.size(), &len);
  HANGAR_CHECK(written != nullptr && len == out.size());
  return out;
}

}  // namespace hangar::crypto
