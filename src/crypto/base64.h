#pragma once
// Standard base64 (RFC 4648 §4, with padding), as AWS uses for blobs in JSON and for Content-MD5.

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hangar::crypto {

std::string Base64Encode(std::string_view bytes);
std::string Base64Encode(std::span<const uint8_t> bytes);
// Strict: rejects characters outside the alphabet, bad padding and lengths not a multiple of 4.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace hangar::crypto
