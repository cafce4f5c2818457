// The policy engine: ParsePolicy (both kinds), Authorize, EvaluateCondition, SubstituteVariables,
// ActionMatches / ArnMatches and GrantsPublicAccess, with request facts taken from the input.
//
// Input: byte 0 holds flags (bit 0 resource_policy_required, bit 1 the identity document is also
// the session policy, bit 2 allowed_by_grant); the rest is three parts separated by NUL bytes:
//   identity policy \0 resource policy \0 facts
// Facts are lines "name=value": principal_arn, principal_account, role_arn, action, resource,
// resource_account; any other name is a condition key (lower-cased, as FactsFor writes them), and
// repeating it gives a multi-valued key. Each document is parsed as both kinds.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/strings.h"
#include "iam/policy.h"
#include "iam/policy_model.h"

namespace {

using namespace hangar;

std::vector<std::string_view> SplitParts(std::string_view text, char sep, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = text.find(sep);
    if (at == std::string_view::npos) break;
    parts.push_back(text.substr(0, at));
    text.remove_prefix(at + 1);
  }
  parts.push_back(text);
  parts.resize(max_parts);
  return parts;
}

iam::RequestFacts ParseFacts(std::string_view text, std::string& resource_account) {
  iam::RequestFacts facts;
  for (std::string_view line : SplitParts(text, '\n', 64)) {
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    const std::string_view name = line.substr(0, eq);
    const std::string value(line.substr(eq + 1));
    if (name == "principal_arn") {
      facts.principal_arn = value;
    } else if (name == "principal_account") {
      facts.principal_account = value;
    } else if (name == "role_arn") {
      facts.role_arn = value;
    } else if (name == "action") {
      facts.action = value;
    } else if (name == "resource") {
      facts.resource = value;
    } else if (name == "resource_account") {
      resource_account = value;
    } else {
      facts.context[ToLower(name)].push_back(value);
    }
  }
  return facts;
}

// Everything the engine exposes about one parsed policy.
void Exercise(const iam::Policy& policy, const iam::RequestFacts& facts) {
  (void)iam::GrantsPublicAccess(policy);
  for (const iam::Statement& statement : policy.statements) {
    for (const std::string& action : statement.actions) {
      (void)iam::ActionMatches(action, facts.action);
    }
    for (const std::string& resource : statement.resources) {
      std::optional<std::string> pattern =
          policy.variables_enabled() ? iam::SubstituteVariables(resource, facts.context) : resource;
      if (pattern) (void)iam::ArnMatches(*pattern, facts.resource);
    }
    for (const iam::ConditionClause& clause : statement.conditions) {
      (void)iam::EvaluateCondition(clause, facts.context, policy.variables_enabled());
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::vector<std::string_view> parts =
      SplitParts(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1), '\0', 3);
  std::string resource_account = "111122223333";
  const iam::RequestFacts facts = ParseFacts(parts[2], resource_account);

  std::shared_ptr<const iam::Policy> identity;
  std::shared_ptr<const iam::Policy> resource;
  for (int i = 0; i < 2; ++i) {
    for (iam::PolicyKind kind : {iam::PolicyKind::kIdentity, iam::PolicyKind::kResource}) {
      auto parsed = iam::ParsePolicy(parts[i], kind);
      if (!parsed.ok()) continue;
      Exercise(**parsed, facts);
      if (i == 0 && kind == iam::PolicyKind::kIdentity) identity = *parsed;
      if (i == 1 && kind == iam::PolicyKind::kResource) resource = *parsed;
    }
  }

  iam::PolicySet set;
  if (identity) set.identity.push_back(identity.get());
  if (flags & 2) set.session = identity.get();
  set.resource = resource.get();
  set.resource_account = resource_account;
  set.resource_policy_required = flags & 1;
  set.allowed_by_grant = flags & 4;
  const iam::AuthorizationResult result = iam::Authorize(facts, set);
  (void)iam::DenialSuffix(result, facts.action);
  return 0;
}
