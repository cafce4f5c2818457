// Statement matching and AWS's evaluation logic (iam.md §2; IAM User Guide,
// reference_policies_evaluation-logic and -logic-cross-account; KMS Developer Guide, key-policies).

#include <arpa/inet.h>

#include <algorithm>
#include <vector>

#include "iam/policy_model.h"

namespace hangar::iam {
namespace {

// kExact: the caller's own ARN (for a session, the session ARN); kDirect: its role or "*";
// kAccount: only its account.
enum class PrincipalMatch { kNo, kExact, kDirect, kAccount };

// name == "arn:aws:iam::<account>:root", without building the string (this runs per statement).
bool IsRootOf(std::string_view name, std::string_view account) {
  constexpr std::string_view kPrefix = "arn:aws:iam::", kSuffix = ":root";
  return name.size() == kPrefix.size() + account.size() + kSuffix.size() &&
         name.starts_with(kPrefix) && name.ends_with(kSuffix) &&
         name.substr(kPrefix.size(), account.size()) == account;
}

// Whether a Principal element names the caller: directly (its ARN, its role, or "*"), or through
// its account ("arn:aws:iam::<acct>:root"), which for an Allow delegates to identity policies.
PrincipalMatch MatchPrincipal(const PrincipalSpec& spec, const RequestFacts& r) {
  if (r.principal_arn.empty()) {
    return spec.anyone ? PrincipalMatch::kDirect : PrincipalMatch::kNo;  // anonymous: only "*"
  }
  PrincipalMatch best = spec.anyone ? PrincipalMatch::kDirect : PrincipalMatch::kNo;
  for (const auto& name : spec.aws) {
    if (name == r.principal_arn) return PrincipalMatch::kExact;
    if (!r.role_arn.empty() && name == r.role_arn) best = PrincipalMatch::kDirect;
    if (best == PrincipalMatch::kNo && IsRootOf(name, r.principal_account)) {
      best = PrincipalMatch::kAccount;
    }
  }
  return best;
}

struct PolicyVerdict {
  bool deny = false;
  bool allow_direct = false;   // an Allow that names the caller (identity policies: any Allow)
  bool allow_account = false;  // an Allow that names only the caller's account
  bool allow_exact = false;    // an Allow that names the caller's own (session) ARN
  std::string deny_sid;
  std::string allow_sid;
};

bool StatementApplies(const Statement& st, const RequestFacts& r, bool variables) {
  if (!st.has_action) return false;  // accepted but without effect (kms.md §12)
  bool action_listed = false;
  for (const auto& a : st.actions) {
    if (ActionMatches(a, r.action)) {
      action_listed = true;
      break;
    }
  }
  if (action_listed == st.not_action) return false;
  if (st.has_resource) {
    bool resource_listed = false;
    for (const auto& pattern : st.resources) {
      bool matched;
      if (variables && pattern.find("${") != std::string::npos) {
        std::optional<std::string> p = SubstituteVariables(pattern, r.context);
        matched = p && ArnMatches(*p, r.resource);
      } else {
        matched = ArnMatches(pattern, r.resource);
      }
      if (matched) {
        resource_listed = true;
        break;
      }
    }
    if (resource_listed == st.not_resource) return false;
  }
  for (const auto& clause : st.conditions) {
    const bool holds = !r.context.contains(clause.key) && !IsKnownConditionKey(clause.key)
                           ? st.effect == Effect::kDeny
                           : EvaluateCondition(clause, r.context, variables);
    if (!holds) return false;
  }
  return true;
}

PolicyVerdict EvaluatePolicy(const Policy& policy, const RequestFacts& r) {
  PolicyVerdict v;
  for (const auto& st : policy.statements) {
    PrincipalMatch who = PrincipalMatch::kDirect;
    if (st.principal) {
      who = MatchPrincipal(*st.principal, r);
    } else if (st.not_principal) {
      // Everyone except those named directly.
      const PrincipalMatch named = MatchPrincipal(*st.not_principal, r);
      who = named == PrincipalMatch::kExact || named == PrincipalMatch::kDirect
                ? PrincipalMatch::kNo
                : PrincipalMatch::kDirect;
    }
    if (who == PrincipalMatch::kNo) continue;
    if (!StatementApplies(st, r, policy.variables_enabled())) continue;
    if (st.effect == Effect::kDeny) {
      // A Deny naming an account applies to every principal in it.
      if (!v.deny) v.deny_sid = st.sid;
      v.deny = true;
    } else if (who == PrincipalMatch::kExact || who == PrincipalMatch::kDirect) {
      if (!v.allow_direct) v.allow_sid = st.sid;
      v.allow_direct = true;
      v.allow_exact = v.allow_exact || who == PrincipalMatch::kExact;
    } else {
      if (!v.allow_direct && !v.allow_account) v.allow_sid = st.sid;
      v.allow_account = true;
    }
  }
  return v;
}

bool IsAccountRoot(const RequestFacts& r) {
  return !r.principal_arn.empty() &&
         r.principal_arn == "arn:aws:iam::" + r.principal_account + ":root";
}

// A range of addresses of one family as [first, last].
using Address = unsigned __int128;
struct AddressRange {
  Address first;
  Address last;
};

// Parses "a.b.c.d/n" or "x::y/n" (a bare address is one host). Returns false for anything else.
bool ParseNetwork(const std::string& text, bool& v6, AddressRange& range) {
  const size_t slash = text.find('/');
  const std::string address = text.substr(0, slash);
  unsigned char bytes[16] = {};
  int width;
  if (inet_pton(AF_INET, address.c_str(), bytes) == 1) {
    v6 = false;
    width = 32;
  } else if (inet_pton(AF_INET6, address.c_str(), bytes) == 1) {
    v6 = true;
    width = 128;
  } else {
    return false;
  }
  int bits = width;
  if (slash != std::string::npos) {
    const std::string digits = text.substr(slash + 1);
    if (digits.empty() || digits.size() > 3 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      return false;
    }
    bits = std::stoi(digits);
    if (bits > width) return false;
  }
  Address value = 0;
  for (int i = 0; i < width / 8; ++i) value = (value << 8) | bytes[i];
  const Address size = width - bits >= 128 ? 0 : Address{1} << (width - bits);
  range.first = bits == 0 ? 0 : value & ~(size - 1);
  range.last = bits == 0 ? (width == 128 ? ~Address{0} : (Address{1} << 32) - 1)
                         : range.first + (size - 1);
  return true;
}

// How many addresses the union of `ranges` covers (overlaps counted once), minus those inside
// `excluded`. Callers keep every range below 2^127 addresses, so nothing overflows.
Address UnionSize(std::vector<AddressRange> ranges, const std::vector<AddressRange>& excluded) {
  std::sort(ranges.begin(), ranges.end(),
            [](const AddressRange& a, const AddressRange& b) { return a.first < b.first; });
  std::vector<AddressRange> merged;
  for (const auto& r : ranges) {
    if (!merged.empty() && r.first <= merged.back().last + 1) {
      merged.back().last = std::max(merged.back().last, r.last);
    } else {
      merged.push_back(r);
    }
  }
  Address total = 0;
  for (const auto& m : merged) {
    total += m.last - m.first + 1;
    for (const auto& x : excluded) {
      const Address lo = std::max(m.first, x.first), hi = std::min(m.last, x.last);
      if (lo <= hi) total -= hi - lo + 1;
    }
  }
  return total;
}

// Whether an aws:SourceIp condition limits callers to an organisation's networks rather than the
// internet: S3 calls a policy public when its networks are broader than a /8 (IPv4) or a /32
// (IPv6), RFC 1918 ranges excepted (S3 User Guide, "The meaning of public"). The networks are
// judged together: 256 /8s are the whole internet however they are written
// (docs/hardening.md item 5).
bool NarrowNetworks(const std::vector<std::string>& values) {
  static const std::vector<AddressRange> kPrivate4 = {
      {Address{10} << 24, (Address{10} << 24) + (Address{1} << 24) - 1},
      {(Address{172} << 24) | (Address{16} << 16),
       ((Address{172} << 24) | (Address{16} << 16)) + (Address{1} << 20) - 1},
      {(Address{192} << 24) | (Address{168} << 16),
       ((Address{192} << 24) | (Address{168} << 16)) + (Address{1} << 16) - 1}};
  const Address v6_limit = Address{1} << 96;
  std::vector<AddressRange> v4, v6;
  for (const auto& text : values) {
    bool is_v6 = false;
    AddressRange range{};
    if (!ParseNetwork(text, is_v6, range)) return false;
    if (is_v6 && range.last - range.first >= v6_limit) return false;  // broader than a /32 alone
    (is_v6 ? v6 : v4).push_back(range);
  }
  return UnionSize(v4, kPrivate4) <= (Address{1} << 24) && UnionSize(v6, {}) <= v6_limit;
}

// Condition keys that pin a statement to known callers, making Principal "*" non-public.
bool LimitsCallers(const iam::ConditionClause& clause) {
  static const char* const kLimiting[] = {
      "kms:calleraccount", "aws:principalaccount", "aws:principalarn", "aws:principalorgid",
      "aws:sourceaccount", "aws:sourcearn",        "aws:userid",       "aws:sourcevpce",
      "aws:sourcevpc",     "aws:principalorgpaths", "aws:sourceip"};
  bool limiting_key = false;
  for (const char* k : kLimiting) limiting_key = limiting_key || clause.key == k;
  if (!limiting_key || clause.if_exists || clause.op.find("Not") != std::string::npos) return false;
  if (clause.op != "StringEquals" && clause.op != "StringLike" && clause.op != "ArnEquals" &&
      clause.op != "ArnLike" && clause.op != "StringEqualsIgnoreCase" && clause.op != "IpAddress") {
    return false;
  }
  // ForAllValues is true when the key is absent (an anonymous caller has no account).
  if (clause.qualifier != SetQualifier::kNone) return false;
  for (const auto& v : clause.values) {
    if (v.find_first_of("*?") != std::string::npos) return false;
  }
  if (clause.op == "IpAddress" && !NarrowNetworks(clause.values)) return false;
  return !clause.values.empty();
}

}  // namespace

AuthorizationResult Authorize(const RequestFacts& request, const PolicySet& policies) {
  using Reason = AuthorizationResult::Reason;
  AuthorizationResult result;
  const bool anonymous = request.principal_arn.empty();
  const bool same_account =
      !anonymous && !policies.resource_account.empty() &&
      request.principal_account == policies.resource_account;

  // 1. Identity side: the caller's own policies; an account's root may do anything in its account.
  bool identity_allow = false, identity_deny = false;
  std::string identity_sid;
  for (const Policy* p : policies.identity) {
    if (p == nullptr) continue;
    PolicyVerdict v = EvaluatePolicy(*p, request);
    if (v.deny) {
      identity_deny = true;
      identity_sid = v.deny_sid;
      break;
    }
    if (v.allow_direct && !identity_allow) {
      identity_allow = true;
      identity_sid = v.allow_sid;
    }
  }
  // The root user's identity side is its whole account, also when it calls into another account
  // (the resource side must then still let its account in).
  if (IsAccountRoot(request)) identity_allow = true;

  // 2. Resource side.
  PolicyVerdict resource;
  if (policies.resource != nullptr) resource = EvaluatePolicy(*policies.resource, request);

  // 3. Session policy (AssumeRole's Policy): a further limit on the session.
  PolicyVerdict session;
  if (policies.session != nullptr) session = EvaluatePolicy(*policies.session, request);

  // Explicit denies decide first, wherever they are.
  if (identity_deny) return {Decision::kExplicitDeny, Reason::kIdentityDeny, identity_sid};
  if (resource.deny) return {Decision::kExplicitDeny, Reason::kResourceDeny, resource.deny_sid};
  if (session.deny) return {Decision::kExplicitDeny, Reason::kSessionDeny, session.deny_sid};

  bool allowed = false;
  Reason missing = Reason::kNoIdentityAllow;
  std::string sid;
  if (policies.resource_policy_required) {
    // KMS keys and trust policies: the resource policy must allow; naming the account delegates
    // to identity policies; a grant allows the operations it lists.
    const bool resource_side = resource.allow_direct || resource.allow_account ||
                               policies.allowed_by_grant;
    if (!resource_side) {
      missing = Reason::kNoResourceAllow;
    } else if (same_account) {
      allowed = resource.allow_direct || policies.allowed_by_grant || identity_allow;
      missing = Reason::kNoIdentityAllow;
      sid = resource.allow_direct ? resource.allow_sid : identity_sid;
    } else {
      // Another account's key: its policy lets us in, our own identity policy must too.
      allowed = !anonymous && identity_allow;
      missing = Reason::kNoIdentityAllow;
      sid = identity_sid;
    }
  } else if (anonymous) {
    allowed = resource.allow_direct;
    missing = Reason::kNoResourceAllow;
    sid = resource.allow_sid;
  } else if (same_account || policies.resource_account.empty()) {
    allowed = identity_allow || resource.allow_direct;
    missing = Reason::kNoIdentityAllow;
    sid = identity_allow ? identity_sid : resource.allow_sid;
  } else {
    const bool resource_side = resource.allow_direct || resource.allow_account;
    allowed = identity_allow && resource_side;
    missing = identity_allow ? Reason::kNoResourceAllow : Reason::kNoIdentityAllow;
    sid = resource.allow_sid;
  }
  // A resource policy naming the session's own ARN adds its permissions after the session policy
  // (IAM User Guide, access_policies "Session policies"; STS GetFederationToken "Policy"), so
  // in the resource's account it is not limited by it. Role ARN, account and "*" grants are.
  const bool past_session = same_account && resource.allow_exact;
  if (allowed && policies.session != nullptr && !session.allow_direct && !past_session) {
    return {Decision::kImplicitDeny, Reason::kNoSessionAllow, ""};
  }
  if (!allowed) return {Decision::kImplicitDeny, missing, ""};
  return {Decision::kAllowed, Reason::kAllowed, sid};
}

bool GrantsPublicAccess(const Policy& policy) {
  for (const auto& st : policy.statements) {
    if (st.effect != Effect::kAllow) continue;
    const bool anyone = (st.principal && st.principal->anyone) || st.not_principal.has_value();
    if (!anyone) continue;
    bool limited = false;
    for (const auto& clause : st.conditions) limited = limited || LimitsCallers(clause);
    if (!limited) return true;
  }
  return false;
}

bool MayAllowAnonymous(const Policy& policy) {
  for (const auto& st : policy.statements) {
    if (st.effect != Effect::kAllow) continue;
    if ((st.principal && st.principal->anyone) || st.not_principal.has_value()) return true;
  }
  return false;
}

std::string DenialSuffix(const AuthorizationResult& result, std::string_view action) {
  using Reason = AuthorizationResult::Reason;
  std::string a(action);
  switch (result.reason) {
    case Reason::kIdentityDeny:
      return " with an explicit deny in an identity-based policy";
    case Reason::kResourceDeny:
      return " with an explicit deny in a resource-based policy";
    case Reason::kSessionDeny:
      return " with an explicit deny in a session policy";
    case Reason::kNoIdentityAllow:
      return " because no identity-based policy allows the " + a + " action";
    case Reason::kNoResourceAllow:
      return " because no resource-based policy allows the " + a + " action";
    case Reason::kNoSessionAllow:
      return " because no session policy allows the " + a + " action";
    case Reason::kAllowed:
      break;
  }
  return "";
}

}  // namespace hangar::iam
