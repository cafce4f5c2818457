#include "loadgen/options.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <stdexcept>

namespace hangar::bench {
namespace {

// Applies a shared option; false when `name` is not one.
bool ApplyLoadOption(std::string_view name, const std::string& value, LoadOptions& o) {
  if (name == "--host")
    o.host = value;
  else if (name == "--port")
    o.port = static_cast<uint16_t>(std::stoi(value));
  else if (name == "--access-key-id")
    o.access_key_id = value;
  else if (name == "--secret-access-key")
    o.secret_access_key = value;
  else if (name == "--region")
    o.region = value;
  else if (name == "--label")
    o.label = value;
  else if (name == "--connections")
    o.connections = std::stoi(value);
  else if (name == "--threads")
    o.threads = std::stoi(value);
  else if (name == "--duration")
    o.duration_s = std::stod(value);
  else if (name == "--warmup")
    o.warmup_s = std::stod(value);
  else if (name == "--requests")
    o.requests = std::stoull(value);
  else if (name == "--timeout")
    o.timeout_s = std::stod(value);
  else if (name == "--server-pid")
    o.server_pid = std::stoi(value);
  else
    return false;
  return true;
}

std::string Number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

}  // namespace

bool ParseCommandLine(int argc, char** argv, std::string_view tool,
                      std::initializer_list<std::string_view> flags, LoadOptions& load,
                      const ToolOptionFn& tool_option) {
  if (const char* v = std::getenv("AWS_ACCESS_KEY_ID")) load.access_key_id = v;
  if (const char* v = std::getenv("AWS_SECRET_ACCESS_KEY")) load.secret_access_key = v;
  try {
    for (int i = 1; i < argc; ++i) {
      std::string_view arg = argv[i];
      if (arg == "-h" || arg == "--help") return false;
      if (std::find(flags.begin(), flags.end(), arg) != flags.end()) {
        if (!tool_option(arg, std::string())) {
          std::cerr << tool << ": unknown option " << arg << "\n";
          return false;
        }
        continue;
      }
      if (i + 1 >= argc) {
        std::cerr << tool << ": " << arg << " needs a value\n";
        return false;
      }
      const std::string value = argv[++i];
      if (ApplyLoadOption(arg, value, load) || tool_option(arg, value)) continue;
      std::cerr << tool << ": unknown option " << arg << "\n";
      return false;
    }
  } catch (const std::exception&) {  // std::stoi and friends
    std::cerr << tool << ": bad numeric value\n";
    return false;
  }
  return true;
}

std::string LoadOptionsUsage(const LoadOptions& d) {
  return "  --host HOST            server address (default " + d.host +
         ")\n"
         "  --port PORT            server port (required)\n"
         "  --access-key-id ID     default: $AWS_ACCESS_KEY_ID\n"
         "  --secret-access-key S  default: $AWS_SECRET_ACCESS_KEY\n"
         "  --region REGION        credential scope region (default " +
         d.region +
         ")\n"
         "  --connections N        concurrent keep-alive connections (default " +
         std::to_string(d.connections) +
         ")\n"
         "  --threads T            event-loop threads sharing the connections (default " +
         std::to_string(d.threads) +
         ")\n"
         "  --duration SECONDS     measured time (default " +
         Number(d.duration_s) +
         ")\n"
         "  --warmup SECONDS       unmeasured lead-in (default " +
         Number(d.warmup_s) +
         ")\n"
         "  --requests N           measure N requests instead of a duration (no warm-up)\n"
         "  --timeout SECONDS      per-request timeout, counted as an error (default " +
         Number(d.timeout_s) +
         ")\n"
         "  --server-pid PID       report the server's VmRSS / VmHWM after the run\n"
         "  --label NAME           copied into the JSON result\n";
}

bool LoadOptionsValid(const LoadOptions& o) {
  return o.port != 0 && !o.access_key_id.empty() && !o.secret_access_key.empty() &&
         o.connections >= 1 && o.threads >= 1 && o.threads <= o.connections &&
         (o.requests > 0 || o.duration_s > 0) && o.server_pid >= 0;
}

}  // namespace hangar::bench
