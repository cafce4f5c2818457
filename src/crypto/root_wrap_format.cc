#include "crypto/root_wrap_format.h"

#include "crypto/aead.h"
#include "crypto/random.h"

namespace hangar::crypto::root_wrap {

std::string Header(size_t plaintext_size, std::span<uint8_t, 12> nonce) {
  static_assert(kGcmNonceSize == 12);
  RandomBytes(nonce);
  std::string out;
  out.reserve(1 + nonce.size() + plaintext_size + kGcmTagSize);
  out.push_back(static_cast<char>(kVersion));
  out.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
  return out;
}

std::optional<Parts> Parse(std::string_view wrapped) {
  if (wrapped.size() < 1 + kGcmNonceSize + kGcmTagSize ||
      static_cast<uint8_t>(wrapped[0]) != kVersion) {
    return std::nullopt;
  }
  auto bytes =
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(wrapped.data()), wrapped.size());
  return Parts{bytes.subspan(1, kGcmNonceSize), bytes.subspan(1 + kGcmNonceSize)};
}

}  // namespace hangar::crypto::root_wrap
