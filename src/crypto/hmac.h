#pragma once
// HMAC-SHA256 (SigV4 signing, key derivation).

#include <span>
#include <string_view>

#include "crypto/digest.h"

namespace hangar::crypto {

Sha256Bytes HmacSha256(std::span<const uint8_t> key, std::span<const uint8_t> data);
Sha256Bytes HmacSha256(std::span<const uint8_t> key, std::string_view data);

// Compares two byte strings in time that depends only on their lengths.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace hangar::crypto
