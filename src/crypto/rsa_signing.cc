#include "crypto/rsa_signing.h"

#include "crypto/asymmetric.h"

namespace hangar::crypto {

Result<RsaKeyPair> GenerateRsaKeyPair(int bits) {
  HANGAR_ASSIGN_OR_RETURN(auto key, AsymmetricKey::GenerateRsa(bits));
  RsaKeyPair pair;
  HANGAR_ASSIGN_OR_RETURN(pair.private_der, key->PrivateDer());
  pair.public_der = key->public_der();
  return pair;
}

Result<std::string> RsaPublicKeyOf(const SecretBytes& private_der) {
  auto key = AsymmetricKey::FromPrivateDer(private_der);
  if (!key.ok() || !(*key)->is_rsa()) return InternalError("not an RSA private key");
  return (*key)->public_der();
}

Result<std::string> RsaSha256Sign(const SecretBytes& private_der, std::string_view message) {
  auto key = AsymmetricKey::FromPrivateDer(private_der);
  if (!key.ok() || !(*key)->is_rsa()) return InternalError("not an RSA private key");
  return (*key)->SignDigest(SignaturePadding::kPkcs1v15, HashAlgorithm::kSha256,
                            HashBytes(HashAlgorithm::kSha256, message));
}

bool RsaSha256Verify(std::string_view public_der, std::string_view message,
                     std::string_view signature) {
  auto key = AsymmetricKey::FromPublicDer(public_der);
  return key.ok() && (*key)->is_rsa() &&
         (*key)->VerifyDigest(SignaturePadding::kPkcs1v15, HashAlgorithm::kSha256,
                              HashBytes(HashAlgorithm::kSha256, message), signature);
}

}  // namespace hangar::crypto
