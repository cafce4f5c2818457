#pragma once
// The KMS grant model (docs/reference/kms.md §13; AWS KMS Developer Guide, grants.html): a
// grant lets one principal (the grantee) perform listed operations with one key, optionally only
// when the request's encryption context meets a constraint. Pure values and functions: storage is
// grant_repository.h, the API operations are KeyService's.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/principal.h"
#include "common/result.h"
#include "kms/ciphertext.h"

namespace hangar::kms {

// At most one of the two is set (AWS's GrantConstraints). Keys compare case-insensitively, values
// case-sensitively (botocore model, GrantConstraints).
struct GrantConstraints {
  std::optional<EncryptionContext> context_equals;
  std::optional<EncryptionContext> context_subset;

  bool empty() const { return !context_equals && !context_subset; }
  bool operator==(const GrantConstraints&) const = default;
};

struct GrantRecord {
  std::string grant_id;  // 64 lower-case hex, like AWS's
  std::string key_id;
  std::string key_arn;
  // The key record's storage id (KeyRecord::stored_as): a multi-Region replica's grants are its
  // own. Empty means the key id.
  std::string key_storage_id;
  std::string name;  // optional; empty when not given
  std::string grantee_principal;
  std::string retiring_principal;  // optional
  std::string issuing_account;     // arn:aws:iam::<acct>:root of the caller that created it
  std::vector<std::string> operations;
  GrantConstraints constraints;
  int64_t creation_ms = 0;

  bool HasOperation(std::string_view operation) const;
  const std::string& key_stored_as() const { return key_storage_id.empty() ? key_id : key_storage_id; }
};

// Every operation a grant may list (botocore model, GrantOperation).
const std::vector<std::string_view>& GrantOperationNames();

// Whether `grantee` (a grant's GranteePrincipal or RetiringPrincipal) names the caller: its own
// ARN, or — for an assumed-role session — the role's ARN, which covers all its sessions.
bool GrantNamesPrincipal(std::string_view grantee, const auth::Principal& principal);

// Whether the request's encryption context satisfies the constraints. Constraints apply only to
// operations that take an encryption context; callers pass nullptr for the others (DescribeKey,
// RetireGrant), which the constraints then do not limit.
bool ConstraintsAllow(const GrantConstraints& constraints, const EncryptionContext* context);

// Whether `child` is at least as strict as `parent` (AWS: a grant created through a grant's
// CreateGrant permission must carry an equally strict or stricter constraint).
bool ConstraintsAtLeastAsStrict(const GrantConstraints& child, const GrantConstraints& parent);

// Whether `grant` lets `principal` perform `operation` ("Encrypt", "ReEncryptFrom", ...) with
// `context` (nullptr for operations without an encryption context).
bool GrantAllows(const GrantRecord& grant, const auth::Principal& principal,
                 std::string_view operation, const EncryptionContext* context);

// Grant tokens: opaque base64 that identify one grant. Each CreateGrant call mints a fresh one
// (AWS: "the returned grant token is unique with every CreateGrant request").
struct GrantTokenContents {
  std::string key_arn;
  std::string grant_id;
};
std::string MintGrantToken(const GrantRecord& grant);
// Errors: kKmsInvalidGrantToken when `token` is not one this server minted.
Result<GrantTokenContents> ParseGrantToken(std::string_view token);
// GrantTokens request members: 0–10 tokens of 1–8192 chars (kValidation), each well-formed
// (kKmsInvalidGrantToken). Grants take effect at once here, so tokens add nothing beyond that.
Status CheckGrantTokens(const std::vector<std::string>& tokens);

// Storage encoding (JSON). Decoding errors are kInternal: the store holds only what we wrote.
std::string EncodeGrantRecord(const GrantRecord& grant);
Result<GrantRecord> DecodeGrantRecord(std::string_view text);

}  // namespace hangar::kms
