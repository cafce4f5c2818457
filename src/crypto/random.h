#pragma once
// Cryptographically secure randomness (OpenSSL's DRBG). Failure to produce randomness is a broken
// invariant of the platform, so these abort rather than return a status.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "common/secret_bytes.h"

namespace hangar::crypto {

void RandomBytes(std::span<uint8_t> out);
SecretBytes RandomSecret(size_t size);
// A random lower-case UUID v4, e.g. for KMS key ids.
std::string RandomUuid();
// `length` characters drawn uniformly from `alphabet` (e.g. access key ids and secrets).
std::string RandomString(size_t length, std::string_view alphabet);

}  // namespace hangar::crypto
