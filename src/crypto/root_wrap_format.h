#pragma once
// The wrapped form every RootKey provider writes and reads (version 1):
//   version byte 0x01 | 12-byte random nonce | AES-256-GCM ciphertext | 16-byte tag
// with AAD "hangar-root-wrap-v1\n" + context. Shared so that a blob wrapped by a key file opens in
// a PKCS#11 token holding the same key, and back (docs/root-key.md: migration).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hangar::crypto::root_wrap {

inline constexpr uint8_t kVersion = 1;
inline constexpr std::string_view kAadPrefix = "hangar-root-wrap-v1\n";

inline std::string Aad(std::string_view context) {
  std::string aad(kAadPrefix);
  aad += context;
  return aad;
}

// A fresh wrapped blob's start: the version byte and a random nonce, room reserved for
// `plaintext_size` bytes of ciphertext and the tag. `nonce` receives the nonce.
std::string Header(size_t plaintext_size, std::span<uint8_t, 12> nonce);

// The parts of a wrapped blob; nullopt if it is too short or of another version.
struct Parts {
  std::span<const uint8_t> nonce;   // 12 bytes
  std::span<const uint8_t> sealed;  // ciphertext || tag (at least 16 bytes)
};
std::optional<Parts> Parse(std::string_view wrapped);

}  // namespace hangar::crypto::root_wrap
