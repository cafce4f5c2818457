#include "common/json_writer.h"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "common/strings.h"

namespace hangar {

void AppendJsonString(std::string& out, std::string_view value) {
  static constexpr char kHex[] = "0123456789abcdef";
  if (!IsValidUtf8(value)) {
    // Client bytes that are not UTF-8 (a user agent, an object key): rare, so left to the JSON
    // library's replacement (U+FFFD per maximal invalid subsequence).
    out += nlohmann::json(std::string(value))
               .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return;
  }
  out += '"';
  for (size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += "\\u00";
          out += kHex[(c >> 4) & 0xf];
          out += kHex[c & 0xf];
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

void JsonObjectWriter::Double(std::string_view name, double value) {
  Key(name);
  char buffer[32];
  int n = std::snprintf(buffer, sizeof buffer, "%.6g", value);
  out_.append(buffer, n > 0 ? static_cast<size_t>(n) : 0);
}

}  // namespace hangar
