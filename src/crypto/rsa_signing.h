#pragma once
// RSA signatures (SHA256withRSA, PKCS#1 v1.5) over OpenSSL EVP: what the audit trail's digest files
// are signed with, as CloudTrail signs its digests. Keys travel as DER: the private key (PKCS#8) in
// SecretBytes, to be sealed under the root key before it touches a disk; the public key as
// SubjectPublicKeyInfo, which is not secret.

#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace hangar::crypto {

struct RsaKeyPair {
  SecretBytes private_der;  // PKCS#8 PrivateKeyInfo
  std::string public_der;   // SubjectPublicKeyInfo
};

// A fresh key pair of `bits` (2048 or more). Errors: kInternal.
Result<RsaKeyPair> GenerateRsaKeyPair(int bits);
// The public half of a PKCS#8 private key. Errors: kInternal if it is not an RSA private key.
Result<std::string> RsaPublicKeyOf(const SecretBytes& private_der);
// SHA256withRSA signature of `message`. Errors: kInternal.
Result<std::string> RsaSha256Sign(const SecretBytes& private_der, std::string_view message);
// Whether `signature` is a valid SHA256withRSA signature of `message` under `public_der`.
bool RsaSha256Verify(std::string_view public_der, std::string_view message,
                     std::string_view signature);

}  // namespace hangar::crypto
