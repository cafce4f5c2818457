#include "crypto/random.h"

#include <openssl/rand.h>

#include <array>

#include "common/check.h"
#include "common/strings.h"

namespace hangar::crypto {

void RandomBytes(std::span<uint8_t> out) {
  if (out.empty()) return;
  HANGAR_CHECK(RAND_bytes(out.data(), static_cast<int>(out.size())) == 1);
}

SecretBytes RandomSecret(size_t size) {
  SecretBytes secret(size);
  RandomBytes(secret.mutable_span());
  return secret;
}

std::string RandomUuid() {
  std::array<uint8_t, 16> b{};
  RandomBytes(b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  std::string hex = HexEncode(std::span<const uint8_t>(b));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

std::string RandomString(size_t length, std::string_view alphabet) {
  HANGAR_CHECK(!alphabet.empty() && alphabet.size() <= 256);
  // Rejection sampling keeps the distribution uniform for any alphabet size.
  const unsigned limit = 256 - (256 % alphabet.size());
  std::string out;
  out.reserve(length);
  std::array<uint8_t, 64> pool{};
  size_t used = pool.size();
  while (out.size() < length) {
    if (used == pool.size()) {
      RandomBytes(pool);
      used = 0;
    }
    uint8_t v = pool[used++];
    if (v < limit) out.push_back(alphabet[v % alphabet.size()]);
  }
  return out;
}

}  // namespace hangar::crypto
