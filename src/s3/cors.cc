#include "s3/cors.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "common/strings.h"
#include "s3/xml.h"

namespace hangar::s3 {
namespace {

bool IsCorsMethod(std::string_view m) {
  return m == "GET" || m == "PUT" || m == "POST" || m == "DELETE" || m == "HEAD";
}

// AWS allows one wildcard per AllowedOrigin (PutBucketCors documentation); the same limit is
// applied to AllowedHeader, where the documentation is silent.
Status CheckOneWildcard(std::string_view element, std::string_view pattern) {
  if (std::count(pattern.begin(), pattern.end(), '*') <= 1) return Status::Ok();
  return Error(ErrorCode::kInvalidRequest, std::string(element) + " \"" + std::string(pattern) +
                                               "\" can not have more than one wildcard.");
}

// One <CORSRule>'s children, in document order (repeated elements are flattened).
Result<CorsRule> ParseRule(const XmlDocument::Fields& fields) {
  CorsRule rule;
  for (const auto& [name, text] : fields) {
    if (name == "ID") {
      rule.id = text;
    } else if (name == "AllowedMethod") {
      if (!IsCorsMethod(text)) {
        return Error(ErrorCode::kInvalidRequest,
                     "Found unsupported HTTP method in CORS config. Unsupported method is " + text);
      }
      rule.allowed_methods.push_back(text);
    } else if (name == "AllowedOrigin") {
      HANGAR_RETURN_IF_ERROR(CheckOneWildcard("AllowedOrigin", text));
      rule.allowed_origins.push_back(text);
    } else if (name == "AllowedHeader") {
      HANGAR_RETURN_IF_ERROR(CheckOneWildcard("AllowedHeader", text));
      rule.allowed_headers.push_back(text);
    } else if (name == "ExposeHeader") {
      rule.expose_headers.push_back(text);
    } else if (name == "MaxAgeSeconds") {
      int64_t seconds = 0;
      auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
      if (ec != std::errc() || end != text.data() + text.size()) return MalformedXmlError();
      rule.max_age_seconds = seconds;
    } else {
      return MalformedXmlError();
    }
  }
  if (rule.allowed_methods.empty() || rule.allowed_origins.empty()) return MalformedXmlError();
  return rule;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

// `value` matches `pattern` with at most one '*'. `fold` compares without regard to ASCII case.
bool WildcardMatches(std::string_view pattern, std::string_view value, bool fold) {
  auto equal = [fold](std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    if (!fold) return a == b;
    return std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
      return std::tolower(static_cast<unsigned char>(x)) ==
             std::tolower(static_cast<unsigned char>(y));
    });
  };
  size_t star = pattern.find('*');
  if (star == std::string_view::npos) return equal(pattern, value);
  std::string_view prefix = pattern.substr(0, star);
  std::string_view suffix = pattern.substr(star + 1);
  if (value.size() < prefix.size() + suffix.size()) return false;
  return equal(prefix, value.substr(0, prefix.size())) &&
         equal(suffix, value.substr(value.size() - suffix.size()));
}

bool RuleAllows(const CorsRule& rule, const CorsRequest& request) {
  const bool origin = std::any_of(
      rule.allowed_origins.begin(), rule.allowed_origins.end(),
      [&](const std::string& pattern) { return OriginMatches(pattern, request.origin); });
  if (!origin) return false;
  if (std::find(rule.allowed_methods.begin(), rule.allowed_methods.end(), request.method) ==
      rule.allowed_methods.end()) {
    return false;
  }
  // Every requested header must be allowed; a rule without AllowedHeader allows none.
  return std::all_of(request.headers.begin(), request.headers.end(), [&](const std::string& h) {
    return std::any_of(rule.allowed_headers.begin(), rule.allowed_headers.end(),
                       [&](const std::string& pattern) { return HeaderMatches(pattern, h); });
  });
}

// Whether the rule allows `origin` only through an AllowedOrigin of "*".
bool AnswersStar(const CorsRule& rule, std::string_view origin) {
  bool star = false;
  for (const std::string& pattern : rule.allowed_origins) {
    if (pattern == "*") {
      star = true;
    } else if (OriginMatches(pattern, origin)) {
      return false;
    }
  }
  return star;
}

}  // namespace

Result<std::vector<CorsRule>> ParseCorsConfiguration(std::string_view body) {
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "CORSConfiguration"));
  auto rule_fields = doc.Children("CORSRule");
  if (rule_fields.empty() || rule_fields.size() > kMaxCorsRules) return MalformedXmlError();
  std::vector<CorsRule> rules;
  rules.reserve(rule_fields.size());
  for (const auto& fields : rule_fields) {
    HANGAR_ASSIGN_OR_RETURN(CorsRule rule, ParseRule(fields));
    rules.push_back(std::move(rule));
  }
  return rules;
}

std::string CorsConfigurationXml(const std::vector<CorsRule>& rules) {
  XmlWriter x("CORSConfiguration");
  for (const CorsRule& rule : rules) {
    x.Open("CORSRule");
    if (!rule.id.empty()) x.Element("ID", rule.id);
    for (const auto& h : rule.allowed_headers) x.Element("AllowedHeader", h);
    for (const auto& m : rule.allowed_methods) x.Element("AllowedMethod", m);
    for (const auto& o : rule.allowed_origins) x.Element("AllowedOrigin", o);
    for (const auto& e : rule.expose_headers) x.Element("ExposeHeader", e);
    if (rule.max_age_seconds) {
      x.Element("MaxAgeSeconds", std::to_string(*rule.max_age_seconds));
    }
    x.Close("CORSRule");
  }
  return x.Finish();
}

std::vector<std::string> SplitRequestHeaders(std::string_view value) {
  std::vector<std::string> names;
  while (!value.empty()) {
    size_t comma = value.find(',');
    std::string_view name = Trim(value.substr(0, comma));
    if (!name.empty()) names.push_back(ToLower(name));
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
  }
  return names;
}

std::optional<CorsRequest> CorsRequestFrom(const HeaderList& headers, std::string_view method) {
  const std::string* origin = headers.Find("origin");
  if (origin == nullptr) return std::nullopt;
  CorsRequest request;
  request.origin = *origin;
  const std::string* requested = headers.Find("access-control-request-method");
  request.method = requested != nullptr ? *requested : std::string(method);
  request.headers = SplitRequestHeaders(headers.Get("access-control-request-headers"));
  return request;
}

bool OriginMatches(std::string_view pattern, std::string_view origin) {
  return WildcardMatches(pattern, origin, /*fold=*/false);
}

bool HeaderMatches(std::string_view pattern, std::string_view header) {
  return WildcardMatches(pattern, header, /*fold=*/true);
}

const CorsRule* MatchCorsRule(const std::vector<CorsRule>& rules, const CorsRequest& request) {
  for (const CorsRule& rule : rules) {
    if (RuleAllows(rule, request)) return &rule;
  }
  return nullptr;
}

void AddCorsHeaders(const CorsRule& rule, const CorsRequest& request, bool preflight,
                    HeaderList& out) {
  // A rule answers "*" only when the origin it matched through is "*" itself.
  const bool any_origin = AnswersStar(rule, request.origin);
  out.Set("Access-Control-Allow-Origin", any_origin ? std::string("*") : request.origin);
  if (!any_origin) out.Set("Access-Control-Allow-Credentials", "true");
  out.Set("Access-Control-Allow-Methods", Join(rule.allowed_methods));
  if (preflight && !request.headers.empty()) {
    out.Set("Access-Control-Allow-Headers", Join(request.headers));
  }
  if (!rule.expose_headers.empty()) {
    out.Set("Access-Control-Expose-Headers", Join(rule.expose_headers));
  }
  if (rule.max_age_seconds) {
    out.Set("Access-Control-Max-Age", std::to_string(*rule.max_age_seconds));
  }
  out.Set("Vary", "Origin, Access-Control-Request-Headers, Access-Control-Request-Method");
}

}  // namespace hangar::s3
