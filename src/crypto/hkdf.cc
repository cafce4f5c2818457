#include "crypto/hkdf.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/check.h"
#include "crypto/hmac.h"

namespace hangar::crypto {

// RFC 5869 written out over HMAC-SHA256: OpenSSL's HKDF (EVP_KDF) builds a context and looks up
// its digest by name on every call, which cost more than the two HMACs a 32-byte key needs — and
// this runs for every KMS data key and every object read.
SecretBytes HkdfSha256(std::span<const uint8_t> key, std::span<const uint8_t> salt,
                       std::string_view info, size_t length) {
  constexpr size_t kHashLength = 32;
  HANGAR_CHECK(length <= 255 * kHashLength);
  // Extract. An empty salt is HashLen zero bytes (RFC 5869 2.2): HMAC pads its key with zeros, so
  // the empty key is the same key.
  Sha256Bytes prk = HmacSha256(salt, key);
  // Expand: T(i) = HMAC(PRK, T(i-1) | info | i).
  SecretBytes out(length);
  std::vector<uint8_t> block;
  block.reserve(kHashLength + info.size() + 1);
  Sha256Bytes t{};
  size_t done = 0;
  for (unsigned i = 1; done < length; ++i) {
    block.clear();
    if (i > 1) block.insert(block.end(), t.begin(), t.end());
    block.insert(block.end(), info.begin(), info.end());
    block.push_back(static_cast<uint8_t>(i));
    t = HmacSha256(prk, block);
    const size_t n = std::min(kHashLength, length - done);
    std::memcpy(out.data() + done, t.data(), n);
    done += n;
  }
  OPENSSL_cleanse(prk.data(), prk.size());
  OPENSSL_cleanse(t.data(), t.size());
  OPENSSL_cleanse(block.data(), block.size());
  return out;
}

}  // namespace hangar::crypto
