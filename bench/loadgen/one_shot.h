#pragma once
// One blocking request on a fresh connection, for a workload's set-up steps before the measured
// loop (KMS: an Encrypt whose ciphertext the Decrypt run sends, a Sign for Verify, a preflight).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hangar::bench {

struct OneShotResponse {
  int status = 0;
  std::string body;  // whole for a 2xx answer; the first ResponseParser::kKeptErrorBody bytes else
};

// Sends `request` (a complete HTTP/1.1 request, head and body) to host:port and reads the
// response. nullopt, with `error` set, when connecting, writing or reading failed or the answer
// was not well-formed HTTP/1.1.
std::optional<OneShotResponse> RoundTrip(const std::string& host, uint16_t port,
                                         std::string_view request, std::string& error);

}  // namespace hangar::bench
