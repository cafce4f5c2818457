#include "iam/query_protocol.h"

#include <charconv>

#include "common/clock.h"
#include "common/strings.h"

namespace hangar::iam {
namespace {

std::string MemberName(std::string_view param) {
  std::string out(param);
  if (!out.empty()) out[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(out[0])));
  return out;
}

}  // namespace

Result<QueryParams> QueryParams::Parse(std::string_view form) {
  auto pairs = ParseQuery(form, /*plus_is_space=*/true);
  if (!pairs) return Error(ErrorCode::kMalformedQueryString, "The query string is malformed.");
  QueryParams out;
  for (auto& [name, value] : *pairs) {
    // Values end up in stored records (tags, names, documents): bytes that are not UTF-8 are
    // refused here rather than failing where a record is encoded (found by the iam_query fuzz
    // target).
    if (!IsValidUtf8(name) || !IsValidUtf8(value)) {
      return Error(ErrorCode::kValidation,
                   "1 validation error detected: Value at '" +
                       (IsValidUtf8(name) ? MemberName(name) : std::string("?")) +
                       "' failed to satisfy constraint: Member must be valid UTF-8");
    }
    if (name == "Action") out.action_ = value;
    out.values_[name] = std::move(value);
  }
  return out;
}

std::optional<std::string> QueryParams::Get(std::string_view name) const {
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

std::string QueryParams::GetOr(std::string_view name, std::string fallback) const {
  auto v = Get(name);
  return v ? *v : std::move(fallback);
}

Result<std::string> QueryParams::Required(std::string_view name) const {
  auto v = Get(name);
  if (!v) {
    return Error(ErrorCode::kValidation, "1 validation error detected: Value null at '" +
                                             MemberName(name) +
                                             "' failed to satisfy constraint: Member must not be "
                                             "null");
  }
  return *v;
}

Result<int> QueryParams::Int(std::string_view name, int min, int max, int fallback) const {
  auto v = Get(name);
  if (!v) return fallback;
  int n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < min || n > max) {
    return Error(ErrorCode::kValidation,
                 "1 validation error detected: Value '" + *v + "' at '" + MemberName(name) +
                     "' failed to satisfy constraint: Member must have value between " +
                     std::to_string(min) + " and " + std::to_string(max));
  }
  return n;
}

std::vector<std::pair<std::string, std::string>> QueryParams::Pairs(std::string_view list,
                                                                    std::string_view key,
                                                                    std::string_view value) const {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 1;; ++i) {
    const std::string base = std::string(list) + ".member." + std::to_string(i) + ".";
    auto k = Get(base + std::string(key));
    if (!k) return out;
    out.emplace_back(*k, GetOr(base + std::string(value), ""));
  }
}

std::string QueryResponseXml(std::string_view xmlns, std::string_view action,
                             std::string_view result, std::string_view request_id) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<";
  out.append(action).append("Response xmlns=\"").append(xmlns).append("\">\n");
  if (!result.empty()) {
    out.append("  <").append(action).append("Result>\n").append(result);
    out.append("  </").append(action).append("Result>\n");
  }
  out.append("  <ResponseMetadata>\n    <RequestId>").append(request_id);
  out.append("</RequestId>\n  </ResponseMetadata>\n</").append(action).append("Response>\n");
  return out;
}

std::string QueryErrorXml(std::string_view xmlns, std::string_view code, std::string_view message,
                          std::string_view request_id, bool sender_fault) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse xmlns=\"";
  out.append(xmlns).append("\">\n  <Error>\n    <Type>").append(sender_fault ? "Sender" : "Receiver");
  out.append("</Type>\n    <Code>").append(XmlEscape(code)).append("</Code>\n    <Message>");
  out.append(XmlEscape(message)).append("</Message>\n  </Error>\n  <RequestId>");
  out.append(request_id).append("</RequestId>\n</ErrorResponse>\n");
  return out;
}

std::string XmlElement(std::string_view name, std::string_view value) {
  std::string out = "<";
  out.append(name).append(">").append(XmlEscape(value)).append("</").append(name).append(">");
  return out;
}

std::string IsoTime(int64_t unix_ms) { return FormatIso8601(FromUnixMillis(unix_ms), false); }

}  // namespace hangar::iam
