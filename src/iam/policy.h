#pragma once
// The policy engine: IAM's policy grammar and AWS's evaluation logic, one implementation for
// identity policies, KMS key policies, S3 bucket policies, role trust policies and KMS grants
// (docs/reference/iam.md §1–§3).
//
// Use: parse each document once (ParsePolicy), describe the request (RequestFacts), and ask
// Authorize() with the policies that apply. Everything here is pure: no I/O, no clocks (the request
// time arrives as the aws:CurrentTime / aws:EpochTime context keys). Parsed policies are immutable
// and safe to share between threads.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hangar::iam {

// --- Documents ---------------------------------------------------------------------------------

enum class PolicyKind {
  kIdentity,  // attached to a user, group or role: no Principal / NotPrincipal allowed
  kResource,  // key policy, bucket policy, trust policy: every statement names a principal
};

class Policy;  // a parsed document (policy_model.h has its parts)

// Parses and validates a policy document. Errors: kKmsMalformedPolicyDocument (the caller renders
// the right wire code per service: IAM MalformedPolicyDocument, KMS
// MalformedPolicyDocumentException, S3 MalformedPolicy) with an AWS-like message, e.g.
// "This policy contains invalid Json", "Policy document must contain a Statement", "Invalid
// effect: allow", "Unknown condition operator: StringEqualz", "Principal not allowed in identity
// policies".
Result<std::shared_ptr<const Policy>> ParsePolicy(std::string_view json, PolicyKind kind);

// --- Requests ----------------------------------------------------------------------------------

// Condition keys of a request: lower-case key name → values (several for multi-valued keys such
// as kms:EncryptionContextKeys). A key that is not present is simply absent from the map.
using ContextKeys = std::map<std::string, std::vector<std::string>>;

struct RequestFacts {
  // The caller. Empty principal_arn = anonymous.
  std::string principal_arn;      // arn:aws:iam::111122223333:user/alice, ...:root,
                                  // arn:aws:sts::111122223333:assumed-role/Role/session
  std::string principal_account;  // 111122223333
  // For assumed-role sessions, the role's ARN (arn:aws:iam::<acct>:role/Role): policies name
  // roles by it, and aws:PrincipalArn carries it.
  std::string role_arn;
  std::string action;    // "kms:Decrypt", "s3:GetObject"
  std::string resource;  // full ARN of the resource
  ContextKeys context;   // aws:*, kms:*, s3:* keys (lower-case names)
};

// --- Evaluation --------------------------------------------------------------------------------

enum class Decision { kAllowed, kExplicitDeny, kImplicitDeny };

// Which policies apply to one request. Pointers may be null / empty.
struct PolicySet {
  // The caller's identity-based policies (inline, attached managed, group policies, and for an
  // assumed role its role's policies). Root and anonymous callers have none.
  std::vector<const Policy*> identity;
  // A session policy (AssumeRole's Policy parameter): when present it further limits `identity`.
  const Policy* session = nullptr;
  // The resource's own policy (key policy, bucket policy, trust policy), if any.
  const Policy* resource = nullptr;
  std::string resource_account;  // the account that owns the resource
  // KMS keys and role trust: the resource policy must allow (IAM policies count only where it
  // delegates to the account). Elsewhere (S3): identity OR resource policy suffices in-account.
  bool resource_policy_required = false;
  // KMS grants: the request is allowed by a grant (already matched by the caller).
  bool allowed_by_grant = false;
};

struct AuthorizationResult {
  Decision decision = Decision::kImplicitDeny;
  // Which side decided, for AWS's AccessDenied texts: "explicit deny in an identity-based policy",
  // "explicit deny in a resource-based policy", "no identity-based policy allows",
  // "no resource-based policy allows".
  enum class Reason {
    kAllowed,
    kIdentityDeny,
    kResourceDeny,
    kSessionDeny,
    kNoIdentityAllow,
    kNoResourceAllow,
    kNoSessionAllow,
  };
  Reason reason = Reason::kNoIdentityAllow;
  std::string matched_sid;  // the statement that decided, if any (debugging, audit)
};

// AWS's evaluation logic (iam.md §2):
//   1. an explicit Deny in any applicable policy denies;
//   2. KMS keys / trust policies (resource_policy_required): the resource policy must allow —
//      naming the principal (or "*") allows on its own, naming the principal's account delegates
//      to identity policies, which must then allow too; a grant also allows;
//   3. same account otherwise: an identity-policy Allow, or a resource-policy Allow naming the
//      principal, suffices (the account root's identity allows everything in its account);
//   4. cross-account: both the caller's identity policy and the resource policy must allow (an
//      account's root user counts as allowed on its own side);
//   5. a session policy, when present, must also allow — except for a same-account resource
//      policy that names the session's own ARN (its grant is added after the session policy);
//   6. anything else is an implicit deny.
AuthorizationResult Authorize(const RequestFacts& request, const PolicySet& policies);

// The text AWS puts after "... is not authorized to perform: <action> on resource: <arn>".
// e.g. " because no identity-based policy allows the kms:Decrypt action".
std::string DenialSuffix(const AuthorizationResult& result, std::string_view action);

// Whether `policy` grants access to anyone: an Allow whose Principal is "*" (or which uses
// NotPrincipal) with no condition pinning the callers to known accounts, principals or networks
// (what S3 Block Public Access and Hangar's public-key-policy guardrail call a public policy).
bool GrantsPublicAccess(const Policy& policy);

// Whether any Allow statement could apply to an anonymous caller (Principal "*" or NotPrincipal),
// whatever its conditions: without one, an anonymous request is denied whatever it carries.
bool MayAllowAnonymous(const Policy& policy);

// --- Building blocks (exposed for tests and for callers with special needs) ----------------------

// Case-insensitive glob match with * and ? (actions).
bool ActionMatches(std::string_view pattern, std::string_view action);
// ARN glob match: * and ? match within and across segments, case-sensitive.
bool ArnMatches(std::string_view pattern, std::string_view arn);

}  // namespace hangar::iam
