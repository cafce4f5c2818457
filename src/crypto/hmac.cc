#include "crypto/hmac.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>

#include "common/check.h"

namespace hangar::crypto {
namespace {

EVP_MAC* HmacAlgorithm() {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  HANGAR_CHECK(mac != nullptr);
  return mac;
}

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};

}  // namespace

Sha256Bytes HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  // A context per call, freed (and cleansed: it holds the keyed inner and outer states) before
  // returning; the algorithm is fetched once, which is what a one-shot HMAC() would redo.
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> owned(EVP_MAC_CTX_new(HmacAlgorithm()));
  EVP_MAC_CTX* ctx = owned.get();
  HANGAR_CHECK(ctx != nullptr);
  char digest_name[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end(),
  };
  HANGAR_CHECK(EVP_MAC_init(ctx, key.data(), key.size(), params) == 1);
  HANGAR_CHECK(EVP_MAC_update(ctx, data.data(), data.size()) == 1);
  Sha256Bytes out{};
  size_t len = 0;
  HANGAR_CHECK(EVP_MAC_final(ctx, out.data(), &len, out.size()) == 1);
  HANGAR_CHECK(len == out.size());
  return out;
}

Sha256Bytes HmacSha256(std::span<const uint8_t> key, std::string_view data) {
  return HmacSha256(
      key, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace hangar::crypto
