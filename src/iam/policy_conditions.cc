// Condition operators (iam.md §1; IAM User Guide, reference_policies_elements_condition_operators
// and reference_policies_condition-single-vs-multi-valued-context-keys), policy variables and the
// glob matching shared by Action, Resource and the *Like operators.

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <ctime>

#include "common/strings.h"
#include "iam/policy_model.h"

namespace hangar::iam {
namespace {

// Marks the next pattern character as literal: policy variables produce it for ${*} and ${?} and
// for wildcard characters inside substituted values, so that they match only themselves.
constexpr char kLiteral = '\0';

// Glob with * (any run) and ? (one character). Iterative with backtracking on the last *.
bool Glob(std::string_view pattern, std::string_view text, bool ignore_case) {
  auto eq = [&](char a, char b) {
    if (!ignore_case) return a == b;
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  };
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p + 1 < pattern.size() && pattern[p] == kLiteral) {
      if (eq(pattern[p + 1], text[t])) {
        p += 2;
        ++t;
        continue;
      }
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
      continue;
    } else if (p < pattern.size() && (pattern[p] == '?' || eq(pattern[p], text[t]))) {
      ++p;
      ++t;
      continue;
    }
    if (star == std::string_view::npos) return false;
    p = star + 1;
    t = ++mark;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

// Removes kLiteral marks (for operators that compare whole values rather than globs).
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == kLiteral && i + 1 < s.size()) ++i;
    out += s[i];
  }
  return out;
}

bool IsGlobOperator(std::string_view op) {
  return op == "StringLike" || op == "StringNotLike" || op.starts_with("Arn");
}

std::optional<double> Number(std::string_view s) {
  std::string text(Trim(s));
  if (text.empty()) return std::nullopt;
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

// ISO 8601 (2026-01-05T10:00:00Z, with optional fraction and offset, or a bare date) or epoch
// seconds, as seconds since the epoch.
std::optional<double> Date(std::string_view s) {
  if (auto n = Number(s)) return *n;
  std::string text(Trim(s));
  std::tm tm{};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) {
    tm = {};
    rest = strptime(text.c_str(), "%Y-%m-%d", &tm);
    if (rest == nullptr || *rest != '\0') return std::nullopt;
    return static_cast<double>(timegm(&tm));
  }
  double seconds = static_cast<double>(timegm(&tm));
  if (*rest == '.') {
    char* end = nullptr;
    double fraction = std::strtod(rest, &end);
    seconds += fraction;
    rest = end;
  }
  if (*rest == 'Z' && rest[1] == '\0') return seconds;
  if ((*rest == '+' || *rest == '-') && std::strlen(rest) == 6 && rest[3] == ':') {
    int hours = std::atoi(std::string(rest + 1, 2).c_str());
    int minutes = std::atoi(rest + 4);
    double offset = hours * 3600.0 + minutes * 60.0;
    return *rest == '+' ? seconds - offset : seconds + offset;
  }
  if (*rest == '\0') return seconds;
  return std::nullopt;
}

struct Cidr {
  int family = 0;
  unsigned char bytes[16] = {};
  int prefix = 0;
};

std::optional<Cidr> ParseCidr(std::string_view text, bool allow_prefix) {
  std::string s(Trim(text));
  Cidr c;
  size_t slash = s.find('/');
  std::string address = s.substr(0, slash);
  if (inet_pton(AF_INET, address.c_str(), c.bytes) == 1) {
    c.family = AF_INET;
    c.prefix = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), c.bytes) == 1) {
    c.family = AF_INET6;
    c.prefix = 128;
  } else {
    return std::nullopt;
  }
  if (slash != std::string::npos) {
    if (!allow_prefix) return std::nullopt;
    auto bits = Number(s.substr(slash + 1));
    if (!bits || *bits < 0 || *bits > c.prefix || std::floor(*bits) != *bits) return std::nullopt;
    c.prefix = static_cast<int>(*bits);
  }
  return c;
}

bool InCidr(const Cidr& address, const Cidr& range) {
  // An IPv4 request address also matches ::ffff:a.b.c.d style ranges and vice versa is not needed.
  if (address.family != range.family) return false;
  int full = range.prefix / 8, rest = range.prefix % 8;
  if (std::memcmp(address.bytes, range.bytes, static_cast<size_t>(full)) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xff << (8 - rest));
  return (address.bytes[full] & mask) == (range.bytes[full] & mask);
}

// One request value against one policy value, for the operator's positive form.
bool Matches(std::string_view op, std::string_view request, std::string_view policy) {
  if (op == "StringEquals" || op == "StringNotEquals") return request == policy;
  if (op == "StringEqualsIgnoreCase" || op == "StringNotEqualsIgnoreCase") {
    return ToLower(request) == ToLower(policy);
  }
  if (op == "StringLike" || op == "StringNotLike") return Glob(policy, request, false);
  if (op.starts_with("Numeric")) {
    auto a = Number(request), b = Number(policy);
    if (!a || !b) return false;
    if (op == "NumericEquals" || op == "NumericNotEquals") return *a == *b;
    if (op == "NumericLessThan") return *a < *b;
    if (op == "NumericLessThanEquals") return *a <= *b;
    if (op == "NumericGreaterThan") return *a > *b;
    if (op == "NumericGreaterThanEquals") return *a >= *b;
  }
  if (op.starts_with("Date")) {
    auto a = Date(request), b = Date(policy);
    if (!a || !b) return false;
    if (op == "DateEquals" || op == "DateNotEquals") return *a == *b;
    if (op == "DateLessThan") return *a < *b;
    if (op == "DateLessThanEquals") return *a <= *b;
    if (op == "DateGreaterThan") return *a > *b;
    if (op == "DateGreaterThanEquals") return *a >= *b;
  }
  if (op == "Bool") return ToLower(request) == ToLower(policy);
  if (op == "BinaryEquals") return request == policy;
  if (op == "IpAddress" || op == "NotIpAddress") {
    auto address = ParseCidr(request, false);
    auto range = ParseCidr(policy, true);
    return address && range && InCidr(*address, *range);
  }
  if (op.starts_with("Arn")) return ArnMatches(policy, request);
  return false;
}

bool IsNegated(std::string_view op) {
  return op == "StringNotEquals" || op == "StringNotEqualsIgnoreCase" || op == "StringNotLike" ||
         op == "NumericNotEquals" || op == "DateNotEquals" || op == "NotIpAddress" ||
         op == "ArnNotEquals" || op == "ArnNotLike";
}

}  // namespace

bool ActionMatches(std::string_view pattern, std::string_view action) {
  return Glob(pattern, action, /*ignore_case=*/true);
}

bool ArnMatches(std::string_view pattern, std::string_view arn) {
  if (pattern == "*") return true;
  // arn:partition:service:region:account:resource — the first five segments match one by one;
  // the resource (which may itself contain ':' and '/') matches as a whole.
  auto split = [](std::string_view s, std::vector<std::string_view>& out) {
    for (int i = 0; i < 5; ++i) {
      size_t colon = s.find(':');
      if (colon == std::string_view::npos) return false;
      out.push_back(s.substr(0, colon));
      s = s.substr(colon + 1);
    }
    out.push_back(s);
    return true;
  };
  std::vector<std::string_view> p, a;
  if (!split(pattern, p) || !split(arn, a)) return Glob(pattern, arn, false);
  for (size_t i = 0; i < p.size(); ++i) {
    if (!Glob(p[i], a[i], false)) return false;
  }
  return true;
}

std::optional<std::string> SubstituteVariables(const std::string& text,
                                               const ContextKeys& context) {
  if (text.find("${") == std::string::npos) return text;
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = text.find("${", i);
    if (start == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    size_t end = text.find('}', start);
    if (end == std::string::npos) {
      out.append(text, i, std::string::npos);
      break;
    }
    out.append(text, i, start - i);
    std::string name = text.substr(start + 2, end - start - 2);
    auto append_literal = [&](std::string_view value) {
      for (char c : value) {
        if (c == '*' || c == '?') out += kLiteral;
        out += c;
      }
    };
    if (name == "*" || name == "?" || name == "$") {
      // Escapes: a literal *, ? or $ inside a pattern (matches only that character).
      append_literal(name);
    } else {
      // ${key, 'default'}: the default stands in for an absent key (IAM User Guide,
      // reference_policies_variables, "Specifying default values").
      std::optional<std::string> fallback;
      if (size_t comma = name.find(','); comma != std::string::npos) {
        std::string_view d = Trim(std::string_view(name).substr(comma + 1));
        if (d.size() >= 2 && d.front() == '\'' && d.back() == '\'') {
          fallback = std::string(d.substr(1, d.size() - 2));
          name = std::string(Trim(std::string_view(name).substr(0, comma)));
        }
      }
      auto it = context.find(ToLower(name));
      if (it != context.end() && !it->second.empty()) {
        append_literal(it->second.front());
      } else if (fallback) {
        append_literal(*fallback);
      } else {
        return std::nullopt;
      }
    }
    i = end + 1;
  }
  return out;
}

bool EvaluateCondition(const ConditionClause& clause, const ContextKeys& context,
                       bool variables_enabled) {
  auto it = context.find(clause.key);
  const bool present = it != context.end() && !it->second.empty();

  if (clause.op == "Null") {
    // "true": the key must be absent; "false": present.
    for (const auto& v : clause.values) {
      if ((ToLower(v) == "true") == !present) return true;
    }
    return false;
  }

  // Values without ${...} are used as written (the common case, and copy-free).
  const bool has_variables =
      variables_enabled && std::any_of(clause.values.begin(), clause.values.end(), [](const auto& v) {
        return v.find("${") != std::string::npos;
      });
  std::vector<std::string> substituted_values;
  if (has_variables) {
    for (const auto& v : clause.values) {
      if (auto substituted = SubstituteVariables(v, context)) {
        // Substituted text is literal: glob operators keep the marks, the others drop them.
        substituted_values.push_back(IsGlobOperator(clause.op) ? std::move(*substituted)
                                                               : Unescape(*substituted));
      }
    }
  }
  const std::vector<std::string>& policy_values = has_variables ? substituted_values : clause.values;
  const bool negated = IsNegated(clause.op);
  auto any_policy_value = [&](const std::string& request_value) {
    for (const auto& p : policy_values) {
      if (Matches(clause.op, request_value, p)) return true;
    }
    return false;
  };

  if (clause.qualifier == SetQualifier::kForAllValues) {
    // True for an absent or empty key; otherwise every request value must satisfy the operator.
    if (!present) return true;
    for (const auto& r : it->second) {
      bool m = any_policy_value(r);
      if (negated ? m : !m) return false;
    }
    return true;
  }
  if (clause.qualifier == SetQualifier::kForAnyValue) {
    if (!present) return clause.if_exists;
    for (const auto& r : it->second) {
      bool m = any_policy_value(r);
      if (negated ? !m : m) return true;
    }
    return false;
  }
  if (!present) return clause.if_exists || negated;
  bool matched = false;
  for (const auto& r : it->second) {
    if (any_policy_value(r)) {
      matched = true;
      break;
    }
  }
  return negated ? !matched : matched;
}

}  // namespace hangar::iam
