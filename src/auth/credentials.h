#pragma once
// CredentialProvider: how auth finds the secret behind an access key id, without knowing where IAM
// keeps it.

#include <optional>
#include <string>
#include <string_view>

#include "auth/principal.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/secret_bytes.h"

namespace hangar::auth {

struct AccessKey {
  Principal principal;
  SecretBytes secret_access_key;
  bool active = true;
  // Temporary credentials (STS): the session token the request must carry, and the expiry.
  // The verifier checks expires_at against the wall clock; a provider whose expiry follows
  // another clock (IdentityStore: the lifecycle clock, which the dev clock moves) also answers
  // kExpiredToken itself, and the verifier passes that through.
  std::string session_token;
  // Or, where only a hash is kept (IdentityStore): the lower-case hex SHA-256 of the token.
  std::string session_token_hash;
  std::optional<TimePoint> expires_at;
};

class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  // Errors: kUnknownAccessKey when no such key exists; kExpiredToken for expired temporary
  // credentials (optional: the verifier checks expires_at too); kInternal on storage failure.
  virtual Result<AccessKey> FindAccessKey(std::string_view access_key_id) const = 0;
};

}  // namespace hangar::auth
