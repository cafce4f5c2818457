// ParsePolicy: the policy grammar (iam.md §1), with AWS-like messages for malformed documents.

#include <nlohmann/json.hpp>

#include <set>

#include "common/strings.h"
#include "iam/policy_model.h"

namespace hangar::iam {
namespace {

using nlohmann::json;

Status Malformed(std::string message) {
  return Error(ErrorCode::kKmsMalformedPolicyDocument, std::move(message));
}

const std::set<std::string, std::less<>>& KnownOperators() {
  static const auto* ops = new std::set<std::string, std::less<>>{
      "StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
      "StringLike", "StringNotLike", "NumericEquals", "NumericNotEquals", "NumericLessThan",
      "NumericLessThanEquals", "NumericGreaterThan", "NumericGreaterThanEquals", "DateEquals",
      "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
      "DateGreaterThanEquals", "Bool", "BinaryEquals", "IpAddress", "NotIpAddress", "ArnEquals",
      "ArnLike", "ArnNotEquals", "ArnNotLike", "Null"};
  return *ops;
}

// A string or an array of strings (policy elements are one or the other).
Result<std::vector<std::string>> Strings(const json& value, std::string_view element) {
  std::vector<std::string> out;
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
  } else if (value.is_array()) {
    for (const auto& v : value) {
      if (!v.is_string()) return Malformed(std::string(element) + " values must be strings");
      out.push_back(v.get<std::string>());
    }
  } else {
    return Malformed(std::string(element) + " must be a string or an array of strings");
  }
  return out;
}

// Condition values may also be numbers and booleans; they compare as text.
Result<std::vector<std::string>> ConditionValues(const json& value) {
  std::vector<std::string> out;
  auto add = [&](const json& v) -> Status {
    if (v.is_string()) {
      out.push_back(v.get<std::string>());
    } else if (v.is_boolean()) {
      out.push_back(v.get<bool>() ? "true" : "false");
    } else if (v.is_number_integer()) {
      out.push_back(std::to_string(v.get<int64_t>()));
    } else if (v.is_number()) {
      out.push_back(v.dump());
    } else {
      return Malformed("Condition values must be strings, numbers or booleans");
    }
    return Status::Ok();
  };
  if (value.is_array()) {
    for (const auto& v : value) HANGAR_RETURN_IF_ERROR(add(v));
  } else {
    HANGAR_RETURN_IF_ERROR(add(value));
  }
  return out;
}

bool IsAccountId(std::string_view s) {
  if (s.size() != 12) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

Result<PrincipalSpec> ParsePrincipal(const json& value, std::string_view element) {
  PrincipalSpec p;
  if (value.is_string()) {
    if (value.get<std::string>() != "*") {
      return Malformed("Invalid principal in policy: " + value.get<std::string>());
    }
    p.anyone = true;
    return p;
  }
  if (!value.is_object() || value.empty()) {
    return Malformed("Invalid " + std::string(element) + " in policy");
  }
  for (const auto& [type, v] : value.items()) {
    HANGAR_ASSIGN_OR_RETURN(auto names, Strings(v, element));
    if (type == "AWS") {
      for (auto& name : names) {
        if (name == "*") {
          p.anyone = true;
        } else if (IsAccountId(name)) {
          p.aws.push_back("arn:aws:iam::" + name + ":root");
        } else if (name.starts_with("arn:")) {
          p.aws.push_back(name);
        } else {
          return Malformed("Invalid principal in policy: \"AWS\":\"" + name + "\"");
        }
      }
    } else if (type == "Service" || type == "Federated" || type == "CanonicalUser") {
      for (auto& name : names) p.other.push_back(type + ":" + name);
    } else {
      return Malformed("Invalid principal type in policy: " + type);
    }
  }
  return p;
}

Result<std::vector<ConditionClause>> ParseConditions(const json& value) {
  if (!value.is_object()) return Malformed("Condition must be an object");
  std::vector<ConditionClause> out;
  for (const auto& [raw_op, keys] : value.items()) {
    ConditionClause base;
    std::string_view op = raw_op;
    if (op.starts_with("ForAnyValue:")) {
      base.qualifier = SetQualifier::kForAnyValue;
      op.remove_prefix(std::string_view("ForAnyValue:").size());
    } else if (op.starts_with("ForAllValues:")) {
      base.qualifier = SetQualifier::kForAllValues;
      op.remove_prefix(std::string_view("ForAllValues:").size());
    }
    if (op.ends_with("IfExists") && op != "IfExists") {
      base.if_exists = true;
      op.remove_suffix(std::string_view("IfExists").size());
    }
    if (!KnownOperators().count(op) || (op == "Null" && base.if_exists)) {
      return Malformed("Invalid Condition type : " + raw_op);
    }
    base.op = std::string(op);
    if (!keys.is_object() || keys.empty()) {
      return Malformed("Condition " + raw_op + " must map condition keys to values");
    }
    for (const auto& [key, values] : keys.items()) {
      ConditionClause clause = base;
      clause.key = ToLower(key);
      HANGAR_ASSIGN_OR_RETURN(clause.values, ConditionValues(values));
      out.push_back(std::move(clause));
    }
  }
  return out;
}

Result<Statement> ParseStatement(const json& s, PolicyKind kind) {
  if (!s.is_object()) return Malformed("Policy statement must be an object");
  Statement st;
  if (auto sid = s.find("Sid"); sid != s.end()) {
    if (!sid->is_string()) return Malformed("Sid must be a string");
    st.sid = sid->get<std::string>();
  }
  auto effect = s.find("Effect");
  if (effect == s.end()) return Malformed("Missing required field Effect");
  if (!effect->is_string() || (*effect != "Allow" && *effect != "Deny")) {
    return Malformed("Invalid effect: " + (effect->is_string() ? effect->get<std::string>()
                                                               : effect->dump()));
  }
  st.effect = *effect == "Allow" ? Effect::kAllow : Effect::kDeny;

  auto principal = s.find("Principal");
  auto not_principal = s.find("NotPrincipal");
  if (kind == PolicyKind::kIdentity && (principal != s.end() || not_principal != s.end())) {
    return Malformed("Policy document should not specify a principal.");
  }
  if (kind == PolicyKind::kResource) {
    if (principal == s.end() && not_principal == s.end()) {
      return Malformed("Missing required field Principal");
    }
    if (principal != s.end() && not_principal != s.end()) {
      return Malformed("Statement cannot contain both Principal and NotPrincipal");
    }
    if (principal != s.end()) {
      HANGAR_ASSIGN_OR_RETURN(st.principal, ParsePrincipal(*principal, "Principal"));
    } else {
      HANGAR_ASSIGN_OR_RETURN(st.not_principal, ParsePrincipal(*not_principal, "NotPrincipal"));
    }
  }

  auto action = s.find("Action");
  auto not_action = s.find("NotAction");
  if (action != s.end() && not_action != s.end()) {
    return Malformed("Statement cannot contain both Action and NotAction");
  }
  if (action != s.end() || not_action != s.end()) {
    st.has_action = true;
    st.not_action = not_action != s.end();
    HANGAR_ASSIGN_OR_RETURN(st.actions, Strings(st.not_action ? *not_action : *action, "Action"));
  } else if (kind == PolicyKind::kIdentity) {
    return Malformed("Policy statement must contain actions.");
  }

  auto resource = s.find("Resource");
  auto not_resource = s.find("NotResource");
  if (resource != s.end() && not_resource != s.end()) {
    return Malformed("Statement cannot contain both Resource and NotResource");
  }
  if (resource != s.end() || not_resource != s.end()) {
    st.has_resource = true;
    st.not_resource = not_resource != s.end();
    HANGAR_ASSIGN_OR_RETURN(st.resources,
                            Strings(st.not_resource ? *not_resource : *resource, "Resource"));
  } else if (kind == PolicyKind::kIdentity) {
    return Malformed("Policy statement must contain resources.");
  }

  if (auto condition = s.find("Condition"); condition != s.end()) {
    HANGAR_ASSIGN_OR_RETURN(st.conditions, ParseConditions(*condition));
  }
  for (const auto& [name, v] : s.items()) {
    static const std::set<std::string, std::less<>> kKnown = {
        "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource",
        "NotResource", "Condition"};
    if (!kKnown.count(name)) return Malformed("Policy statement has an unknown field: " + name);
  }
  return st;
}

}  // namespace

Result<std::shared_ptr<const Policy>> ParsePolicy(std::string_view text, PolicyKind kind) {
  // Nesting is bounded before a tree is built (no valid policy nests deeper than a few levels).
  json doc = JsonNestingWithin(text, kMaxJsonDepth)
                 ? json::parse(text, nullptr, /*allow_exceptions=*/false)
                 : json(json::value_t::discarded);
  if (doc.is_discarded() || !doc.is_object()) return Malformed("This policy contains invalid Json");
  auto policy = std::make_shared<Policy>();
  if (auto version = doc.find("Version"); version != doc.end()) {
    if (!version->is_string() ||
        (*version != "2012-10-17" && *version != "2008-10-17")) {
      return Malformed("The policy failed legacy parsing: invalid Version");
    }
    policy->version = version->get<std::string>();
  } else {
    policy->version = "2008-10-17";
  }
  auto statements = doc.find("Statement");
  if (statements == doc.end()) return Malformed("Missing required field Statement");
  if (statements->is_object()) {
    HANGAR_ASSIGN_OR_RETURN(Statement st, ParseStatement(*statements, kind));
    policy->statements.push_back(std::move(st));
  } else if (statements->is_array()) {
    for (const auto& s : *statements) {
      HANGAR_ASSIGN_OR_RETURN(Statement st, ParseStatement(s, kind));
      policy->statements.push_back(std::move(st));
    }
  } else {
    return Malformed("Statement must be an object or an array of objects");
  }
  for (const auto& [name, v] : doc.items()) {
    if (name != "Version" && name != "Id" && name != "Statement") {
      return Malformed("Policy document has an unknown field: " + name);
    }
  }
  return std::shared_ptr<const Policy>(std::move(policy));
}

}  // namespace hangar::iam
