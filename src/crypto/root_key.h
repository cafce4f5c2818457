#pragma once
// RootKey: the key that wraps every other secret Hangar stores (KMS key material, access-key
// secrets). It never enters the metadata store. Providers: a 32-byte file (default, created 0600 on
// first start) or a base64 value from the environment. Immutable after load; thread-safe.

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "common/secret_bytes.h"

namespace hangar::crypto {

class RootKey {
 public:
  // Loads a 32-byte key file. With `create_if_missing`, a missing file is created with a fresh key.
  static Result<std::unique_ptr<RootKey>> FromFile(const std::string& path, bool create_if_missing);
  // Parses a base64 encoding of exactly 32 bytes.
  static Result<std::unique_ptr<RootKey>> FromBase64(std::string_view text);
  static std::unique_ptr<RootKey> FromBytes(SecretBytes key);

  // Seals `plaintext` for storage. `context` names what is wrapped (e.g. "kms-material/<id>/<v>"),
  // so a wrapped blob moved to another record does not unwrap.
  std::string Wrap(std::span<const uint8_t> plaintext, std::string_view context) const;
  // Errors: kInternal if the blob is malformed or was not sealed under this key and context.
  Result<SecretBytes> Unwrap(std::string_view wrapped, std::string_view context) const;

 private:
  explicit RootKey(SecretBytes key) : key_(std::move(key)) {}
  SecretBytes key_;
};

}  // namespace hangar::crypto
