#pragma once
// Principal: who a request was authenticated as. Produced by auth, consumed by every service for
// authorisation, ARNs in error messages and (later) audit records.

#include <string>

namespace hangar::auth {

enum class PrincipalType { kAnonymous, kRoot, kUser, kAssumedRole };

struct Principal {
  PrincipalType type = PrincipalType::kAnonymous;
  std::string account_id;     // 12 digits; empty for anonymous
  std::string arn;            // arn:aws:iam::<acct>:root, ...:user/<name>, arn:aws:sts::...
  std::string user_id;        // GetCallerIdentity UserId (the account id for root)
  std::string name;           // user or role-session name; empty for root
  std::string access_key_id;  // the key that signed the request
  // Assumed-role sessions: the role (policies name roles by their IAM ARN, not the session's).
  std::string role_arn;
  std::string role_name;

  bool anonymous() const { return type == PrincipalType::kAnonymous; }
};

}  // namespace hangar::auth
