#pragma once
// RootKey: the key that wraps every other secret Hangar stores (KMS key material, access-key
// secrets, SSE-S3 data keys, the audit digest key). It never enters the metadata store.
//
// An interface with two providers, both producing the same wrapped form (root_wrap_format.h), so
// a blob wrapped by one opens under the other when both hold the same 32 bytes:
//  - the key in memory (LocalRootKey in root_key.cc, made by the factories below): from a 32-byte
//    file (default, created 0600 on first start) or a base64 value from the environment.
//    Immutable after load.
//  - Pkcs11RootKey (pkcs11_root_key.h): the key inside a PKCS#11 token; it never leaves it.
// Every provider is thread-safe.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace hangar::crypto {

class RootKey {
 public:
  virtual ~RootKey() = default;

  // Loads a 32-byte key file. With `create_if_missing`, a missing file is created with a fresh key.
  static Result<std::unique_ptr<RootKey>> FromFile(const std::string& path, bool create_if_missing);
  // Parses a base64 encoding of exactly 32 bytes.
  static Result<std::unique_ptr<RootKey>> FromBase64(std::string_view text);
  static std::unique_ptr<RootKey> FromBytes(SecretBytes key);

  // Seals `plaintext` for storage. `context` names what is wrapped (e.g. "kms-material/<id>/<v>"),
  // so a wrapped blob moved to another record does not unwrap.
  // Errors: kInternal if the provider cannot encrypt (a token that fails; never for LocalRootKey).
  virtual Result<std::string> Wrap(std::span<const uint8_t> plaintext,
                                   std::string_view context) const = 0;
  // Errors: kInternal if the blob is malformed, was not sealed under this key and context, or the
  // provider cannot decrypt.
  virtual Result<SecretBytes> Unwrap(std::string_view wrapped, std::string_view context) const = 0;
};

// The bytes of a 32-byte root key file (e.g. to import them into a token).
// Errors: kInternal if the file is missing, unreadable or not exactly 32 bytes.
Result<SecretBytes> ReadRootKeyFile(const std::string& path);
// The bytes of a base64-encoded root key. Errors: kInternal unless it decodes to exactly 32 bytes.
Result<SecretBytes> DecodeRootKeyBase64(std::string_view text);

}  // namespace hangar::crypto
