#pragma once
// Asymmetric keys (RSA and elliptic curves) and keyed MACs over OpenSSL 3 EVP, for KMS keys of
// those specs and for data key pairs. An AsymmetricKey is parsed once and is immutable: it may be
// shared by any number of threads, each operation making its own OpenSSL context.
//
// Private keys cross this interface only as DER PKCS#8 in SecretBytes (to be sealed under the
// root key before they touch a disk); public keys as DER SubjectPublicKeyInfo, which is not secret.
// Errors are kInternal for OpenSSL failures and kValidation for input that cannot be used
// (a peer key that does not parse or sits on another curve); callers phrase the service's error.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret_bytes.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace hangar::crypto {

enum class HashAlgorithm { kSha1, kSha224, kSha256, kSha384, kSha512 };

size_t HashSize(HashAlgorithm hash);
std::string HashBytes(HashAlgorithm hash, std::string_view data);

enum class SignaturePadding {
  kPkcs1v15,  // RSASSA-PKCS1-v1_5 (the DigestInfo is built here)
  kPss,       // RSASSA-PSS, MGF1 with the same hash, salt length = hash length (as AWS KMS)
  kEcdsa,     // ECDSA; the signature is DER SEQUENCE {r, s}
};

class AsymmetricKey {
 public:
  ~AsymmetricKey();
  AsymmetricKey(const AsymmetricKey&) = delete;
  AsymmetricKey& operator=(const AsymmetricKey&) = delete;

  // A fresh RSA key of `bits` (2048 or more).
  static Result<std::shared_ptr<const AsymmetricKey>> GenerateRsa(int bits);
  // A fresh key on a named curve: "P-256", "P-384", "P-521", "secp256k1".
  static Result<std::shared_ptr<const AsymmetricKey>> GenerateEc(std::string_view curve);
  // A fresh Ed25519 key (data key pairs only).
  static Result<std::shared_ptr<const AsymmetricKey>> GenerateEd25519();
  // A private key from DER PKCS#8. Errors: kInternal (the store holds only what we wrote).
  static Result<std::shared_ptr<const AsymmetricKey>> FromPrivateDer(const SecretBytes& pkcs8);
  // A public key from DER SubjectPublicKeyInfo. Errors: kValidation.
  static Result<std::shared_ptr<const AsymmetricKey>> FromPublicDer(std::string_view spki);

  bool has_private() const { return has_private_; }
  bool is_rsa() const;
  // Signature or ciphertext size bound in bytes: the modulus length for RSA.
  size_t max_output_size() const;
  // The curve's OpenSSL group name ("prime256v1", "secp384r1", ...); empty for RSA.
  std::string curve() const;
  const std::string& public_der() const { return public_der_; }
  // Errors: kInternal; kInvalidRequest if this is a public key only.
  Result<SecretBytes> PrivateDer() const;

  // Signs a digest made with `hash` (its length is the caller's to check).
  Result<std::string> SignDigest(SignaturePadding padding, HashAlgorithm hash,
                                 std::string_view digest) const;
  // Whether `signature` is a valid signature of `digest`. Malformed signatures are just invalid.
  bool VerifyDigest(SignaturePadding padding, HashAlgorithm hash, std::string_view digest,
                    std::string_view signature) const;

  // RSAES-OAEP with MGF1 over the same hash and an empty label.
  Result<std::string> OaepEncrypt(HashAlgorithm hash, std::span<const uint8_t> plaintext) const;
  // Errors: kValidation when the ciphertext does not decrypt under this key and hash.
  Result<SecretBytes> OaepDecrypt(HashAlgorithm hash, std::string_view ciphertext) const;
  // Largest OAEP plaintext: modulus bytes − 2·hash bytes − 2.
  size_t OaepMaxPlaintext(HashAlgorithm hash) const;

  // Raw ECDH (the x-coordinate, field size) with a peer's public key on the same curve.
  // Errors: kValidation when the peer key does not suit this key.
  Result<SecretBytes> DeriveSharedSecret(const AsymmetricKey& peer) const;

 private:
  AsymmetricKey(evp_pkey_st* key, bool has_private);
  static Result<std::shared_ptr<const AsymmetricKey>> Adopt(evp_pkey_st* key, bool has_private);

  evp_pkey_st* key_;
  bool has_private_;
  std::string public_der_;
};

// HMAC of `data` under `key` with `hash` (RFC 2104), the full-length tag.
std::string Hmac(HashAlgorithm hash, std::span<const uint8_t> key, std::string_view data);

}  // namespace hangar::crypto
