#include "loadgen/aws_error.h"

#include "loadgen/http_response.h"

namespace hangar::bench {
namespace {

// The AWS JSON protocols may qualify the code ("com.amazonaws.kms#NotFoundException") or, in
// x-amzn-ErrorType, append a URL after a colon: keep the bare code.
std::string BareCode(std::string_view code) {
  if (size_t hash = code.rfind('#'); hash != std::string_view::npos) code.remove_prefix(hash + 1);
  if (size_t colon = code.find(':'); colon != std::string_view::npos) code = code.substr(0, colon);
  return std::string(code);
}

}  // namespace

std::string ErrorCodeOf(const ResponseParser& response) {
  std::string code;
  if (auto type = response.Header("x-amzn-errortype")) {
    code = BareCode(*type);
  } else if (auto json_type = JsonStringField(response.error_body(), "__type")) {
    code = BareCode(*json_type);  // JSON 1.1 protocols: KMS, STS via JSON ...
  } else {
    // REST-XML (S3): <Error><Code>NoSuchBucket</Code>...</Error>
    std::string_view body = response.error_body();
    size_t open = body.find("<Code>");
    size_t close = open == std::string_view::npos ? open : body.find("</Code>", open);
    if (close != std::string_view::npos)
      code = std::string(body.substr(open + 6, close - open - 6));
  }
  return code.empty() ? std::to_string(response.status()) : code;
}

std::optional<std::string> JsonStringField(std::string_view json, std::string_view name) {
  std::string key = "\"" + std::string(name) + "\"";
  size_t k = json.find(key);
  if (k == std::string_view::npos) return std::nullopt;
  size_t colon = json.find(':', k + key.size());
  if (colon == std::string_view::npos) return std::nullopt;
  size_t open = json.find('"', colon + 1);
  if (open == std::string_view::npos) return std::nullopt;
  size_t close = json.find('"', open + 1);
  if (close == std::string_view::npos) return std::nullopt;
  return std::string(json.substr(open + 1, close - open - 1));
}

}  // namespace hangar::bench
