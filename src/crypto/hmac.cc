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

// An HMAC context with its digest set and no key, one per thread: duplicating it skips the
// lookup of "SHA256" by name that every EVP_MAC_init with a digest parameter repeats — that
// lookup was most of an HMAC of a short message (SigV4 runs five per request, HKDF two).
EVP_MAC_CTX* HmacSha256Prototype() {
  thread_local const std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> prototype = [] {
    std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(HmacAlgorithm()));
    HANGAR_CHECK(ctx != nullptr);
    char digest_name[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end(),
    };
    HANGAR_CHECK(EVP_MAC_CTX_set_params(ctx.get(), params) == 1);
    return ctx;
  }();
  return prototype.get();
}

}  // namespace

Sha256Bytes HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data) {
  // A context per call, freed (and cleansed: it holds the keyed inner and outer states) before
  // returning; it starts as a copy of the thread's keyless prototype.
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> owned(EVP_MAC_CTX_dup(HmacSha256Prototype()));
  EVP_MAC_CTX* ctx = owned.get();
  HANGAR_CHECK(ctx != nullptr);
  // A null key would mean "the key set before" (there is none): an empty key needs a pointer.
  static const uint8_t kEmptyKey = 0;
  HANGAR_CHECK(EVP_MAC_init(ctx, key.empty() ? &kEmptyKey : key.data(), key.size(), nullptr) == 1);
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
