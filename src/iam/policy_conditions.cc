// Condition operators (iam.md §1; IAM User Guide, reference_policies_elements_condition_operators
// and reference_policies_condition-single-vs-multi-valued-context-keys), policy variables and the
// glob matching shared by Action, Resource and the *Like operators.

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <ctime>
#include <set>

#include "common/strings.h"
#include "iam/policy_model.h"

namespace hangar::iam {
namespace {

// Marks the next pattern character as literal: policy variables produce it for ${*} and ${?} and
// for wildcard characters inside substituted values, so that they match only themselves.
constexpr char kLiteral = '\0';

// --- Globs ---------------------------------------------------------------------------------
// `*` (any run) and `?` (one character), case-sensitive or not. Matching is linear: the pattern is
// cut at its stars into segments; the first must match at the start, the last at the end, and
// each one between is found leftmost after the previous one (for globs whose only variable-length
// wildcard is `*`, the leftmost choice never loses a match). A segment without `?` is found with
// Knuth-Morris-Pratt, one with `?` with a bit-parallel Shift-And scan, so a pattern costs
// O(text x ceil(segment / 64)) however it is built: no backtracking (docs/hardening.md item 13).

struct GlobSegment {
  std::string chars;      // folded when matching ignores case
  std::vector<bool> any;  // `?` at this position
  bool has_any = false;
};

char Fold(char c, bool ignore_case) {
  return ignore_case ? static_cast<char>(std::tolower(static_cast<unsigned char>(c))) : c;
}

// Splits a pattern at its unescaped stars. Returns false if it has no star at all.
bool SplitGlob(std::string_view pattern, bool ignore_case, std::vector<GlobSegment>& segments) {
  segments.assign(1, GlobSegment{});
  bool star = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    bool literal = false;
    if (c == kLiteral && i + 1 < pattern.size()) {
      c = pattern[++i];
      literal = true;
    }
    if (!literal && c == '*') {
      star = true;
      segments.emplace_back();
      continue;
    }
    GlobSegment& seg = segments.back();
    const bool any = !literal && c == '?';
    seg.chars.push_back(any ? '\0' : Fold(c, ignore_case));
    seg.any.push_back(any);
    seg.has_any = seg.has_any || any;
  }
  return star;
}

bool SegmentMatchesAt(const GlobSegment& seg, std::string_view text, size_t at, bool ignore_case) {
  if (at + seg.chars.size() > text.size()) return false;
  for (size_t j = 0; j < seg.chars.size(); ++j) {
    if (!seg.any[j] && seg.chars[j] != Fold(text[at + j], ignore_case)) return false;
  }
  return true;
}

// Leftmost start of `seg` within text[from, limit), or npos. Knuth-Morris-Pratt.
size_t FindLiteralSegment(const GlobSegment& seg, std::string_view text, size_t from, size_t limit,
                          bool ignore_case) {
  const std::string& p = seg.chars;
  const size_t m = p.size();
  std::vector<size_t> fail(m, 0);
  for (size_t i = 1, k = 0; i < m; ++i) {
    while (k > 0 && p[i] != p[k]) k = fail[k - 1];
    if (p[i] == p[k]) ++k;
    fail[i] = k;
  }
  for (size_t i = from, k = 0; i < limit; ++i) {
    const char c = Fold(text[i], ignore_case);
    while (k > 0 && c != p[k]) k = fail[k - 1];
    if (c == p[k]) ++k;
    if (k == m) return i + 1 - m;
  }
  return std::string_view::npos;
}

// The same for a segment with `?`: Shift-And over as many 64-bit words as the segment needs.
size_t FindWildSegment(const GlobSegment& seg, std::string_view text, size_t from, size_t limit,
                       bool ignore_case) {
  const size_t m = seg.chars.size();
  const size_t words = (m + 63) / 64;
  // masks[c]: positions where byte c may stand; `?` positions are set for every byte.
  std::vector<uint64_t> masks(256 * words, 0);
  for (size_t j = 0; j < m; ++j) {
    const uint64_t bit = uint64_t{1} << (j % 64);
    if (seg.any[j]) {
      for (size_t c = 0; c < 256; ++c) masks[c * words + j / 64] |= bit;
    } else {
      masks[static_cast<unsigned char>(seg.chars[j]) * words + j / 64] |= bit;
    }
  }
  std::vector<uint64_t> state(words, 0);
  const size_t last_word = (m - 1) / 64;
  const uint64_t last_bit = uint64_t{1} << ((m - 1) % 64);
  for (size_t i = from; i < limit; ++i) {
    const uint64_t* mask = &masks[static_cast<unsigned char>(Fold(text[i], ignore_case)) * words];
    uint64_t carry = 1;  // a match may start at every position
    for (size_t w = 0; w < words; ++w) {
      const uint64_t next_carry = state[w] >> 63;
      state[w] = ((state[w] << 1) | carry) & mask[w];
      carry = next_carry;
    }
    if (state[last_word] & last_bit) return i + 1 - m;
  }
  return std::string_view::npos;
}

bool EqualFolded(std::string_view a, std::string_view b, bool ignore_case) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (Fold(a[i], ignore_case) != Fold(b[i], ignore_case)) return false;
  }
  return true;
}

bool Glob(std::string_view pattern, std::string_view text, bool ignore_case) {
  // The shapes nearly every policy uses ("kms:Decrypt", "kms:*", "*", an ARN) without building
  // segments.
  const size_t special = pattern.find_first_of(std::string_view("*?\0", 3));
  if (special == std::string_view::npos) return EqualFolded(pattern, text, ignore_case);
  if (special == pattern.size() - 1 && pattern.back() == '*') {
    return text.size() >= special && EqualFolded(pattern.substr(0, special),
                                                 text.substr(0, special), ignore_case);
  }
  std::vector<GlobSegment> segments;
  if (!SplitGlob(pattern, ignore_case, segments)) {
    return segments[0].chars.size() == text.size() &&
           SegmentMatchesAt(segments[0], text, 0, ignore_case);
  }
  const GlobSegment& head = segments.front();
  const GlobSegment& tail = segments.back();
  if (head.chars.size() + tail.chars.size() > text.size()) return false;
  if (!SegmentMatchesAt(head, text, 0, ignore_case)) return false;
  const size_t tail_at = text.size() - tail.chars.size();
  if (!SegmentMatchesAt(tail, text, tail_at, ignore_case)) return false;
  size_t at = head.chars.size();
  for (size_t i = 1; i + 1 < segments.size(); ++i) {
    const GlobSegment& seg = segments[i];
    if (seg.chars.empty()) continue;
    const size_t found = seg.has_any ? FindWildSegment(seg, text, at, tail_at, ignore_case)
                                     : FindLiteralSegment(seg, text, at, tail_at, ignore_case);
    if (found == std::string_view::npos) return false;
    at = found + seg.chars.size();
  }
  return true;
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

bool IsKnownConditionKey(std::string_view key) {
  // IAM User Guide, reference_policies_condition-keys (global keys), December 2026.
  static const std::set<std::string, std::less<>> kGlobal = {
      "aws:calledvia", "aws:calledviafirst", "aws:calledvialast", "aws:currenttime",
      "aws:epochtime", "aws:federatedprovider", "aws:multifactorauthage",
      "aws:multifactorauthpresent", "aws:principalaccount", "aws:principalarn",
      "aws:principalisawsservice", "aws:principalorgid", "aws:principalorgpaths",
      "aws:principalservicename", "aws:principalservicenameslist", "aws:principaltype",
      "aws:referer", "aws:requestedregion", "aws:resourceaccount", "aws:resourceorgid",
      "aws:resourceorgpaths", "aws:securetransport", "aws:sourceaccount", "aws:sourcearn",
      "aws:sourceip", "aws:sourceorgid", "aws:sourceorgpaths", "aws:sourcevpc",
      "aws:sourcevpce", "aws:tagkeys", "aws:tokenissuetime", "aws:useragent", "aws:userid",
      "aws:username", "aws:viaawsservice", "aws:vpcsourceip", "aws:sourceidentity",
      "aws:ec2instancesourcevpc", "aws:ec2instancesourceprivateipv4"};
  if (kGlobal.contains(key)) return true;
  for (std::string_view prefix : {"aws:requesttag/", "aws:principaltag/", "aws:resourcetag/",
                                  "kms:", "s3:", "iam:", "sts:"}) {
    if (key.starts_with(prefix) && key.size() > prefix.size()) return true;
  }
  return false;
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
