#pragma once
// HKDF-SHA256 (RFC 5869): derives per-request and per-object keys from a parent key.

#include <span>
#include <string_view>

#include "common/secret_bytes.h"

namespace hangar::crypto {

SecretBytes HkdfSha256(std::span<const uint8_t> key, std::span<const uint8_t> salt,
                       std::string_view info, size_t length);

}  // namespace hangar::crypto
