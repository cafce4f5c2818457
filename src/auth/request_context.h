#pragma once
// RequestContext: everything a service operation needs to know about the request it serves, beyond
// its typed input: who is calling, from where, in which region, and the time its lifecycle logic
// should use.

#include <cstdint>
#include <string>

#include "auth/principal.h"
#include "common/clock.h"

namespace hangar::auth {

struct RequestContext {
  Principal principal;
  std::string region;  // from the SigV4 credential scope
  std::string request_id;
  std::string source_ip;
  bool secure_transport = false;
  TimePoint now;  // the lifecycle clock's time at arrival (dev clock aware)
  // Set when one service calls another on the caller's behalf (kms:ViaService), e.g.
  // "s3.us-east-1.amazonaws.com".
  std::string via_service;
  // How the request was signed (S3's s3:authType and s3:signatureAge condition keys).
  std::string auth_type;  // "REST-HEADER" or "REST-QUERY-STRING"; empty when anonymous
  int64_t signature_age_ms = 0;
};

}  // namespace hangar::auth
