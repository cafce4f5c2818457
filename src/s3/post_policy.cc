#include "s3/post_policy.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "crypto/base64.h"

// Texts: AWS's, as recorded by LocalStack's snapshots against AWS and as versitygw reproduces them
// (docs/s3-post-object.md, "Errors").

namespace hangar::s3 {
namespace {

using nlohmann::json;

Status InvalidPolicy(std::string_view what) {
  return Error(ErrorCode::kInvalidPolicyDocument, "Invalid Policy: " + std::string(what));
}

Status DeniedByPolicy(std::string_view what) {
  return Error(ErrorCode::kAccessDenied, "Invalid according to Policy: " + std::string(what));
}

// ["eq", "$key", "a"]: JSON elements joined by ", ", as S3 quotes a failed condition.
std::string ConditionText(const std::vector<json>& elements) {
  std::string out = "[";
  for (size_t i = 0; i < elements.size(); ++i) {
    if (i > 0) out += ", ";
    out += elements[i].dump(-1, ' ', false, json::error_handler_t::replace);
  }
  return out + "]";
}

// A condition's field reference: "$key" → "key". Field names match case-insensitively.
std::optional<std::string> FieldOf(const json& j) {
  if (!j.is_string()) return std::nullopt;
  const std::string& s = j.get_ref<const std::string&>();
  if (s.size() < 2 || s.front() != '$') return std::nullopt;
  return ToLower(std::string_view(s).substr(1));
}

// A bound of content-length-range as written: a number, or a string holding one.
std::string BoundText(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number()) return j.dump();
  return "";
}

Result<PostPolicyCondition> ParseListCondition(const json& c) {
  if (c.empty() || !c[0].is_string()) {
    return InvalidPolicy("Invalid Condition: missing operation identifier.");
  }
  const std::string op = ToLower(c[0].get<std::string>());
  PostPolicyCondition out;
  out.text = ConditionText(std::vector<json>(c.begin(), c.end()));
  if (op == "content-length-range") {
    if (c.size() != 3)
      return InvalidPolicy("Invalid content-length-range: wrong number of arguments.");
    out.op = PostPolicyCondition::Op::kContentLengthRange;
    out.min_text = BoundText(c[1]);
    out.max_text = BoundText(c[2]);
    return out;
  }
  if (op != "eq" && op != "starts-with") {
    return InvalidPolicy("Invalid Condition: unknown operation '" + c[0].get<std::string>() + "'.");
  }
  if (c.size() != 3) return InvalidPolicy("Invalid " + op + ": wrong number of arguments.");
  std::optional<std::string> field = FieldOf(c[1]);
  if (!field || !c[2].is_string()) {
    return InvalidPolicy("Invalid Condition: " + out.text);
  }
  out.op = op == "eq" ? PostPolicyCondition::Op::kEq : PostPolicyCondition::Op::kStartsWith;
  out.field = std::move(*field);
  out.value = c[2].get<std::string>();
  return out;
}

// {"bucket": "b"} ≡ ["eq", "$bucket", "b"].
Result<PostPolicyCondition> ParseSimpleCondition(const json& c) {
  if (c.size() != 1) {
    return InvalidPolicy(
        "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.");
  }
  const auto first = c.begin();
  const std::string name = first.key();
  const json& value = first.value();
  if (!value.is_string()) return InvalidPolicy("Invalid Simple-Condition: value must be a string.");
  PostPolicyCondition out;
  out.op = PostPolicyCondition::Op::kEq;
  out.field = ToLower(name);
  out.value = value.get<std::string>();
  out.text = ConditionText({json("eq"), json("$" + name), value});
  return out;
}

std::optional<uint64_t> ParseBound(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

bool Exempt(std::string_view field) {
  return field == "x-amz-signature" || field == "file" || field == "policy" ||
         field.starts_with("x-ignore-");
}

}  // namespace

Result<PostPolicy> ParsePostPolicy(std::string_view policy_base64) {
  if (policy_base64.empty()) return InvalidPolicy("Expecting '{' but found End-of-Input");
  std::optional<std::string> text = crypto::Base64Decode(policy_base64);
  if (!text) return InvalidPolicy("invalid Base64 encoding.");
  if (!JsonNestingWithin(*text, kMaxJsonDepth)) return InvalidPolicy("Invalid JSON.");
  json doc = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return InvalidPolicy("Invalid JSON.");
  PostPolicy policy;
  auto expiration = doc.find("expiration");
  if (expiration == doc.end()) return InvalidPolicy("Policy missing expiration.");
  std::optional<TimePoint> when;
  if (expiration->is_string()) when = ParseIso8601(expiration->get<std::string>());
  if (!when) {
    return InvalidPolicy(
        "Invalid 'expiration' value: '" +
        (expiration->is_string() ? expiration->get<std::string>() : expiration->dump()) + "'");
  }
  policy.expiration = *when;
  auto conditions = doc.find("conditions");
  if (conditions == doc.end()) return InvalidPolicy("Policy missing conditions.");
  if (!conditions->is_array()) return InvalidPolicy("Invalid 'conditions' value: must be a List.");
  for (const json& c : *conditions) {
    if (c.is_array()) {
      HANGAR_ASSIGN_OR_RETURN(auto parsed, ParseListCondition(c));
      policy.conditions.push_back(std::move(parsed));
    } else if (c.is_object()) {
      HANGAR_ASSIGN_OR_RETURN(auto parsed, ParseSimpleCondition(c));
      policy.conditions.push_back(std::move(parsed));
    } else {
      return InvalidPolicy("Invalid condition test: must be a List or Object.");
    }
  }
  return policy;
}

Result<LengthRange> CheckPostPolicy(const PostPolicy& policy, const HeaderList& fields,
                                    std::string_view bucket, TimePoint now) {
  // 1. Expiration.
  if (now >= policy.expiration) return DeniedByPolicy("Policy expired.");

  // 2. Every condition.
  LengthRange range;
  for (const PostPolicyCondition& c : policy.conditions) {
    const auto failed = [&] { return DeniedByPolicy("Policy Condition failed: " + c.text); };
    if (c.op == PostPolicyCondition::Op::kContentLengthRange) {
      std::optional<uint64_t> min = ParseBound(c.min_text);
      std::optional<uint64_t> max = ParseBound(c.max_text);
      if (!min || !max || *min > *max) return failed();
      range.min = std::max(range.min, *min);
      range.max = std::min(range.max, *max);
      continue;
    }
    const std::string_view value = c.field == "bucket" ? bucket : fields.Get(c.field);
    const bool holds =
        c.op == PostPolicyCondition::Op::kEq ? value == c.value : value.starts_with(c.value);
    if (!holds) return failed();
  }

  // 3. No field the policy does not name.
  for (const HeaderList::Field& f : fields.fields()) {
    if (Exempt(f.name)) continue;
    const bool named = std::any_of(policy.conditions.begin(), policy.conditions.end(),
                                   [&](const PostPolicyCondition& c) { return c.field == f.name; });
    if (!named) return DeniedByPolicy("Extra input fields: " + f.name);
  }
  return range;
}

}  // namespace hangar::s3
