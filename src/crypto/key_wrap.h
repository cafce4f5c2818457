#pragma once
// AES key wrap with padding (RFC 5649) over OpenSSL EVP: the second stage of AWS KMS's
// RSA_AES_KEY_WRAP_SHA_* import format (an RSA-OAEP-wrapped AES key, then the key material wrapped
// under that AES key), and what a PKCS#11 token's CKM_AES_KEY_WRAP_PAD produces.

#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace hangar::crypto {

// `kek` is 16, 24 or 32 bytes. Errors: kInternal.
Result<std::string> AesKeyWrapPad(std::span<const uint8_t> kek, std::span<const uint8_t> key);
// Errors: kValidation when `wrapped` was not made under `kek` (the integrity check fails).
Result<SecretBytes> AesKeyUnwrapPad(std::span<const uint8_t> kek, std::string_view wrapped);

}  // namespace hangar::crypto
