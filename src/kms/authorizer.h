#pragma once
// KeyAuthorizer: decides whether a caller may perform a KMS action on a key. KeyService asks it
// after finding the key and before looking at the key's state; PolicyKeyAuthorizer
// (policy_authorizer.h) is the implementation, with AWS's rules.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/request_context.h"
#include "common/status.h"
#include "kms/ciphertext.h"
#include "kms/key.h"

namespace hangar::kms {

// What a request adds to the kms:* condition keys beyond the key itself (iam.md §3).
struct KmsRequestDetails {
  const EncryptionContext* encryption_context = nullptr;  // crypto operations
  std::string request_alias;                              // kms:RequestAlias, when an alias named the key
  std::optional<int64_t> pending_window_days;             // ScheduleKeyDeletion
  std::optional<int64_t> rotation_period_days;            // EnableKeyRotation
  std::optional<std::string> encryption_algorithm;
  std::optional<bool> bypass_lockout;                     // CreateKey, PutKeyPolicy
  // CreateGrant: kms:GranteePrincipal, kms:RetiringPrincipal, kms:GrantOperations and
  // kms:GrantConstraintType (EncryptionContextEquals / EncryptionContextSubset).
  std::optional<std::string> grantee_principal;
  std::optional<std::string> retiring_principal;
  std::vector<std::string> grant_operations;
  std::optional<std::string> grant_constraint_type;
  bool allowed_by_grant = false;                          // a grant already covers the request
  // CreateKey / TagResource: the tags set (aws:RequestTag/<key>, aws:TagKeys); UntagResource: the
  // keys removed (aws:TagKeys).
  std::optional<std::vector<std::pair<std::string, std::string>>> request_tags;
  std::optional<std::vector<std::string>> tag_keys;
  // Further single-valued kms:* keys of the request, names lower-cased ("kms:signingalgorithm",
  // "kms:messagetype", "kms:macalgorithm", "kms:datakeypairspec", CreateKey's "kms:keyspec" ...).
  std::vector<std::pair<std::string_view, std::string>> conditions;
};

class KeyAuthorizer {
 public:
  virtual ~KeyAuthorizer() = default;
  // `action` is the IAM action name without prefix ("Encrypt"). `key` is null for account-level
  // actions (CreateKey, ListKeys, ListAliases, GenerateRandom).
  // Errors: kAccessDenied with AWS's message.
  virtual Status Authorize(const auth::RequestContext& ctx, std::string_view action,
                           const KeyRecord* key, const KmsRequestDetails& details = {}) const = 0;
  // Checks a key policy about to be stored on `key` (which already carries it): grammar
  // (kKmsMalformedPolicyDocument), size (kKmsLimitExceeded), server guardrails, and — unless
  // `bypass_lockout` — that the caller could still call kms:PutKeyPolicy afterwards (AWS's lockout
  // safety check: "The new key policy will not allow you to update the key policy in the future.").
  virtual Status CheckNewKeyPolicy(const auth::RequestContext& ctx, const KeyRecord& key,
                                   bool bypass_lockout) const = 0;
};


// AWS's AccessDeniedException text for a denied KMS action.
Status KmsAccessDenied(const auth::RequestContext& ctx, std::string_view action,
                       std::string_view resource_arn);

}  // namespace hangar::kms
