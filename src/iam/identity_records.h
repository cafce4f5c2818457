#pragma once
// IAM's entities as stored: users, groups, roles, managed policies, access keys and STS sessions.
// Plain structs and their JSON encoding; IdentityStore (identity_store.h) keeps them.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hangar::iam {

using Tags = std::vector<std::pair<std::string, std::string>>;
// Inline policies by name (documents as the caller sent them).
using InlinePolicies = std::map<std::string, std::string>;

struct UserRecord {
  std::string account_id;
  std::string name;
  std::string path = "/";
  std::string user_id;  // AIDA...
  std::string arn;
  int64_t created_ms = 0;
  Tags tags;
  InlinePolicies inline_policies;
  std::vector<std::string> attached;  // managed policy ARNs
  std::vector<std::string> groups;    // group names
};

struct GroupRecord {
  std::string account_id;
  std::string name;
  std::string path = "/";
  std::string group_id;  // AGPA...
  std::string arn;
  int64_t created_ms = 0;
  InlinePolicies inline_policies;
  std::vector<std::string> attached;
};

struct RoleRecord {
  std::string account_id;
  std::string name;
  std::string path = "/";
  std::string role_id;  // AROA...
  std::string arn;
  int64_t created_ms = 0;
  std::string description;
  std::string trust_policy;
  int max_session_seconds = 3600;
  Tags tags;
  InlinePolicies inline_policies;
  std::vector<std::string> attached;
};

struct ManagedPolicyRecord {
  std::string account_id;
  std::string name;
  std::string path = "/";
  std::string policy_id;  // ANPA...
  std::string arn;
  std::string description;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  std::string default_version;  // "v1"
  int next_version = 2;
  std::map<std::string, std::pair<std::string, int64_t>> versions;  // id -> (document, created)
  int attachment_count = 0;
};

// A long-term access key (root or user) or an STS session's temporary one.
struct AccessKeyRecord {
  std::string access_key_id;
  std::string account_id;
  std::string kind;  // "root", "user" or "session"
  std::string user_name;  // kind user
  std::string status = "Active";
  int64_t created_ms = 0;
  std::string secret;  // base64 of the root-key-wrapped secret
  // Sessions (AssumeRole, GetSessionToken).
  std::string session_token_hash;  // hex SHA-256 of the token
  int64_t expires_ms = 0;
  std::string role_name;         // AssumeRole
  std::string session_name;      // AssumeRole
  std::string session_policy;    // AssumeRole's Policy parameter
  std::string source_user;       // GetSessionToken: the user it was issued to ("" = root)
  // The unique id (AROA.../AIDA...) of the role or user a session belongs to: a role or user
  // deleted and created again under the same name does not inherit old sessions.
  std::string principal_id;
};

std::string EncodeUser(const UserRecord& r);
Result<UserRecord> DecodeUser(std::string_view text);
std::string EncodeGroup(const GroupRecord& r);
Result<GroupRecord> DecodeGroup(std::string_view text);
std::string EncodeRole(const RoleRecord& r);
Result<RoleRecord> DecodeRole(std::string_view text);
std::string EncodeManagedPolicy(const ManagedPolicyRecord& r);
Result<ManagedPolicyRecord> DecodeManagedPolicy(std::string_view text);
std::string EncodeAccessKey(const AccessKeyRecord& r);
Result<AccessKeyRecord> DecodeAccessKey(std::string_view text);

}  // namespace hangar::iam
