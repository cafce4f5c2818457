#include "store/rados/rados_config.h"

#include <optional>

namespace hangar::store {
namespace {

constexpr std::string_view kScheme = "rados://";

Status Invalid(const std::string& what) {
  return Error(ErrorCode::kValidation, "invalid rados:// URI: " + what);
}

// Pool and client names are kept to characters that need no quoting in a URI, a shell or a log
// line. A leading '.' is reserved for Ceph's own pools (.mgr, .rgw.root …).
bool IsPlainName(std::string_view name) {
  if (name.empty() || name.size() > 100 || name.front() == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::string> PercentDecode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return std::nullopt;
    int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

}  // namespace

Result<RadosConfig> ParseRadosUri(std::string_view uri) {
  if (uri.substr(0, kScheme.size()) != kScheme) return Invalid("it must start with rados://");
  std::string_view rest = uri.substr(kScheme.size());
  size_t question = rest.find('?');
  std::string_view pool = rest.substr(0, question);
  std::string_view query = question == std::string_view::npos ? "" : rest.substr(question + 1);

  RadosConfig config;
  if (pool.empty()) return Invalid("no pool (rados://POOL?conf=PATH&id=CLIENT)");
  if (!IsPlainName(pool)) {
    return Invalid("pool name '" + std::string(pool) +
                   "' must be letters, digits, '-', '_' and '.', not starting with '.'");
  }
  config.pool = std::string(pool);

  bool seen_conf = false, seen_id = false;
  bool more = question != std::string_view::npos;  // "pool?" and "…&" have an empty parameter
  while (more) {
    size_t amp = query.find('&');
    std::string_view param = query.substr(0, amp);
    more = amp != std::string_view::npos;
    query = more ? query.substr(amp + 1) : "";
    if (param.empty()) return Invalid("empty parameter (a stray '?' or '&')");
    size_t eq = param.find('=');
    std::string_view name = param.substr(0, eq);
    if (eq == std::string_view::npos || eq + 1 == param.size()) {
      return Invalid("parameter '" + std::string(name) + "' needs a value");
    }
    std::optional<std::string> value = PercentDecode(param.substr(eq + 1));
    if (!value) return Invalid("bad percent-encoding in parameter '" + std::string(name) + "'");
    if (name == "conf") {
      if (seen_conf) return Invalid("parameter 'conf' given twice");
      seen_conf = true;
      config.conf_path = *value;
    } else if (name == "id") {
      if (seen_id) return Invalid("parameter 'id' given twice");
      seen_id = true;
      if (!IsPlainName(*value)) {
        return Invalid("client id '" + *value + "' must be letters, digits, '-', '_' and '.'");
      }
      if (value->starts_with("client.")) {
        return Invalid("give the client id without 'client.' (id=" + value->substr(7) + ")");
      }
      config.client_id = *value;
    } else {
      return Invalid("unknown parameter '" + std::string(name) + "' (known: conf, id)");
    }
  }
  return config;
}

}  // namespace hangar::store
