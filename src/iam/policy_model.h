#pragma once
// The parts of a parsed policy document (policy.h's Policy). Only the engine's own files use these.

#include <optional>
#include <string>
#include <vector>

#include "iam/policy.h"

namespace hangar::iam {

enum class Effect { kAllow, kDeny };

struct PrincipalSpec {
  bool anyone = false;            // "*" or {"AWS": "*"}
  std::vector<std::string> aws;   // ARNs; bare account ids become arn:aws:iam::<id>:root
  std::vector<std::string> other;  // Service / Federated / CanonicalUser: never IAM callers
};

enum class SetQualifier { kNone, kForAnyValue, kForAllValues };

struct ConditionClause {
  std::string op;  // base operator, e.g. "StringEquals" (without IfExists / qualifier)
  bool if_exists = false;
  SetQualifier qualifier = SetQualifier::kNone;
  std::string key;  // lower-case
  std::vector<std::string> values;
};

struct Statement {
  std::string sid;
  Effect effect = Effect::kAllow;
  std::optional<PrincipalSpec> principal;
  std::optional<PrincipalSpec> not_principal;
  std::vector<std::string> actions;
  bool not_action = false;
  bool has_action = false;
  std::vector<std::string> resources;
  bool not_resource = false;
  bool has_resource = false;
  std::vector<ConditionClause> conditions;
};

class Policy {
 public:
  std::string version;  // "2012-10-17" enables ${...} policy variables
  std::vector<Statement> statements;
  bool variables_enabled() const { return version == "2012-10-17"; }
};

// Evaluates one condition clause against the request context. Exposed for tests.
bool EvaluateCondition(const ConditionClause& clause, const ContextKeys& context,
                       bool variables_enabled);

// Whether Hangar knows the condition key (lower-case): the global aws:* keys it fills or that are
// legitimately absent here (no VPCs, MFA or organizations), the tag keys, and service keys of
// kms:, s3:, iam: and sts:. A clause on an unknown key that is absent from the request fails
// closed: it never lets an Allow apply and always lets a Deny apply (docs/hardening.md item 4).
bool IsKnownConditionKey(std::string_view key);

// Replaces ${...} policy variables in `text` from the context. Returns nullopt if a variable's key
// is absent and has no ${key, 'default'} (the value can then match nothing). The result is a glob
// pattern: the `*` and `?` that ${*}, ${?} and substituted values produce are marked literal ('\0'
// before them), so they match only themselves in Resource and the *Like / Arn* operators.
std::optional<std::string> SubstituteVariables(const std::string& text, const ContextKeys& context);

}  // namespace hangar::iam
