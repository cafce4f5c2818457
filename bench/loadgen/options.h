#pragma once
// LoadOptions: the command-line options every load generator shares (the server, the credentials,
// the closed loop's shape and length, the server process to watch) and their parsing, so that a
// tool declares only its workload's options and every driver sees one spelling for each.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>

namespace hangar::bench {

struct LoadOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string access_key_id;      // default: $AWS_ACCESS_KEY_ID
  std::string secret_access_key;  // default: $AWS_SECRET_ACCESS_KEY
  std::string region = "us-east-1";
  std::string label;  // echoed in the JSON line ("hangar", "moto", ...)
  int connections = 32;
  int threads = 1;
  double duration_s = 10;
  double warmup_s = 1;
  uint64_t requests = 0;  // > 0: a fixed number of measured requests instead of a duration
  double timeout_s = 60;
  int server_pid = 0;  // > 0: report this process's memory (VmRSS, VmHWM) after the run

  // "host:port", as the Host header and the signature carry it.
  std::string HostHeader() const { return host + ":" + std::to_string(port); }
};

// A tool's own option: gets the name and the value (empty for a name in `flags`); returns false for
// a name it does not know. May throw std::invalid_argument / std::out_of_range (std::stoi ...).
using ToolOptionFn = std::function<bool(std::string_view name, const std::string& value)>;

// Parses argv[1..]: the shared options into `load` (whose values on entry are the tool's
// defaults; the credentials default to $AWS_ACCESS_KEY_ID / $AWS_SECRET_ACCESS_KEY), every other
// option through `tool_option`. Returns false, having said why on stderr prefixed by `tool`, for
// -h/--help, an unknown option, a missing value or a bad number.
bool ParseCommandLine(int argc, char** argv, std::string_view tool,
                      std::initializer_list<std::string_view> flags, LoadOptions& load,
                      const ToolOptionFn& tool_option);

// The usage lines of the shared options, naming the defaults in `defaults`.
std::string LoadOptionsUsage(const LoadOptions& defaults);

// Whether the options describe a load that can run: a port, credentials, positive counts, no more
// threads than connections, and a duration or a request count.
bool LoadOptionsValid(const LoadOptions& o);

}  // namespace hangar::bench
