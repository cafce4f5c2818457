#include "crypto/digest.h"

#include <openssl/evp.h>

#include "common/check.h"
#include "common/strings.h"

namespace hangar::crypto {
namespace {

// Explicitly fetched once: OpenSSL 3's implicit fetch per call is measurably slow on hot paths.
const EVP_MD* Md(DigestAlgorithm algorithm) {
  static EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  static EVP_MD* sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
  static EVP_MD* md5 = EVP_MD_fetch(nullptr, "MD5", nullptr);
  const EVP_MD* md = algorithm == DigestAlgorithm::kSha256 ? sha256
                     : algorithm == DigestAlgorithm::kSha1 ? sha1
                                                           : md5;
  HANGAR_CHECK(md != nullptr);
  return md;
}

}  // namespace

struct Digest::Ctx {
  EVP_MD_CTX* ctx = nullptr;
  ~Ctx() { EVP_MD_CTX_free(ctx); }
};

Digest::Digest(DigestAlgorithm algorithm) : ctx_(std::make_unique<Ctx>()) {
  ctx_->ctx = EVP_MD_CTX_new();
  HANGAR_CHECK(ctx_->ctx != nullptr);
  HANGAR_CHECK(EVP_DigestInit_ex2(ctx_->ctx, Md(algorithm), nullptr) == 1);
}
Digest::~Digest() = default;
Digest::Digest(Digest&&) noexcept = default;
Digest& Digest::operator=(Digest&&) noexcept = default;

void Digest::Update(std::span<const uint8_t> data) {
  HANGAR_CHECK(EVP_DigestUpdate(ctx_->ctx, data.data(), data.size()) == 1);
}
void Digest::Update(std::string_view data) {
  HANGAR_CHECK(EVP_DigestUpdate(ctx_->ctx, data.data(), data.size()) == 1);
}

std::string Digest::Finish() {
  std::string out(EVP_MAX_MD_SIZE, '\0');
  unsigned int len = 0;
  HANGAR_CHECK(EVP_DigestFinal_ex(ctx_->ctx, reinterpret_cast<unsigned char*>(out.data()), &len) ==
               1);
  out.resize(len);
  return out;
}

size_t Digest::size() const { return static_cast<size_t>(EVP_MD_CTX_get_size(ctx_->ctx)); }

Sha256Bytes Sha256(std::span<const uint8_t> data) {
  Sha256Bytes out{};
  unsigned int len = 0;
  HANGAR_CHECK(EVP_Digest(data.data(), data.size(), out.data(), &len,
                          Md(DigestAlgorithm::kSha256), nullptr) == 1);
  return out;
}

Sha256Bytes Sha256(std::string_view data) {
  return Sha256(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
}

std::string Sha256Hex(std::string_view data) {
  Sha256Bytes d = Sha256(data);
  return HexEncode(std::span<const uint8_t>(d));
}

std::string Md5(std::string_view data) {
  Digest d(DigestAlgorithm::kMd5);
  d.Update(data);
  return d.Finish();
}

}  // namespace hangar::crypto
