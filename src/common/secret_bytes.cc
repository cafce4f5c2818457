#include "common/secret_bytes.h"

#include <openssl/crypto.h>

namespace hangar {

void SecretBytes::Wipe() {
  if (!bytes_.empty()) OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

}  // namespace hangar
