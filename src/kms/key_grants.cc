// KeyService's grant operations: CreateGrant, ListGrants, ListRetirableGrants, RetireGrant and
// RevokeGrant (docs/reference/kms.md §13; AWS KMS Developer Guide grants.html,
// grant-manage.html, grant-authorization.html), and the grant check every key operation makes.

#include <algorithm>
#include <array>
#include <cctype>
#include <set>

#include "common/strings.h"
#include "crypto/random.h"
#include "kms/key_service.h"
#include "kms/crypto_checks.h"
#include "kms/validation.h"

namespace hangar::kms {
namespace {

constexpr size_t kMaxGrantsPerKey = 50'000;  // AWS's documented quota (resource-limits)
constexpr size_t kMaxConstraintPairs = 8;
constexpr size_t kMaxConstraintValue = 384;

// botocore model: PrincipalIdType ^[\w+=,.@:/-]+$ and GrantNameType ^[a-zA-Z0-9:/_-]+$.
bool PrincipalChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("_+=,.@:/-").find(c) != std::string_view::npos;
}
bool NameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view(":/_-").find(c) != std::string_view::npos;
}

void CheckPattern(ValidationErrors& v, std::string_view value, std::string_view member,
                  bool (*allowed)(char), std::string_view pattern) {
  if (!std::all_of(value.begin(), value.end(), allowed)) {
    v.Add(value, member, "Member must satisfy regular expression pattern: " + std::string(pattern));
  }
}

void CheckPrincipal(ValidationErrors& v, std::string_view value, std::string_view member) {
  v.CheckLength(value, member, 1, 256);
  if (!value.empty()) CheckPattern(v, value, member, PrincipalChar, "^[\\w+=,.@:/-]+$");
}

// Grant ids are 64 lower-case hex characters (AWS's format); anything else cannot name a grant.
bool IsGrantId(std::string_view id) {
  return id.size() == 64 && std::all_of(id.begin(), id.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

Status CheckGrantId(std::string_view id) {
  if (!IsGrantId(id))
    return Error(ErrorCode::kKmsInvalidGrantId, "Invalid grant ID " + std::string(id));
  return Status::Ok();
}

Status GrantNotFound(std::string_view grant_id) {
  return Error(ErrorCode::kKmsNotFound, "Grant ID " + std::string(grant_id) + " not found");
}

std::string RandomGrantId() {
  std::array<uint8_t, 32> raw{};
  crypto::RandomBytes(raw);
  return HexEncode(std::span<const uint8_t>(raw));
}

std::string AccountRootArn(std::string_view account) {
  return "arn:aws:iam::" + std::string(account) + ":root";
}

std::vector<std::string> SortedUnique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

// Operations a grant may allow on a key: those its key spec and usage support, plus the grant and
// metadata operations every key has (AWS KMS Developer Guide, grants.html "Grant operations").
bool GrantOperationSuitsKey(std::string_view op, const KeyRecord& key) {
  static const std::set<std::string_view> kAnyKey = {"CreateGrant", "RetireGrant", "DescribeKey"};
  static const std::set<std::string_view> kSymmetric = {
      "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom",
      "ReEncryptTo", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"};
  static const std::set<std::string_view> kRsaEncryption = {"Decrypt", "Encrypt", "ReEncryptFrom",
                                                            "ReEncryptTo", "GetPublicKey"};
  static const std::set<std::string_view> kSigning = {"Sign", "Verify", "GetPublicKey"};
  static const std::set<std::string_view> kMac = {"GenerateMac", "VerifyMac"};
  static const std::set<std::string_view> kAgreement = {"DeriveSharedSecret", "GetPublicKey"};
  if (kAnyKey.contains(op)) return true;
  if (key.key_usage == "ENCRYPT_DECRYPT") {
    return (key.symmetric() ? kSymmetric : kRsaEncryption).contains(op);
  }
  if (key.key_usage == "SIGN_VERIFY") return kSigning.contains(op);
  if (key.key_usage == "GENERATE_VERIFY_MAC") return kMac.contains(op);
  if (key.key_usage == "KEY_AGREEMENT") return kAgreement.contains(op);
  return false;
}

Status ValidateConstraints(const GrantConstraints& c) {
  ValidationErrors v;
  if (c.context_equals && c.context_subset) {
    // [?] AWS's text is not recorded; the model allows one kind per grant.
    return Error(ErrorCode::kValidation,
                 "A grant constraint can specify only one of EncryptionContextEquals and "
                 "EncryptionContextSubset.");
  }
  const EncryptionContext* context = c.context_equals   ? &*c.context_equals
                                     : c.context_subset ? &*c.context_subset
                                                        : nullptr;
  if (context == nullptr) return Status::Ok();
  if (context->size() > kMaxConstraintPairs) {
    return Error(ErrorCode::kValidation,
                 "A grant constraint can include up to 8 encryption context pairs.");
  }
  for (const auto& [k, value] : *context) {
    if (k.empty() || value.size() > kMaxConstraintValue) {
      return Error(ErrorCode::kValidation,
                   "Each encryption context pair in a grant constraint needs a key and a value of "
                   "at most 384 characters.");
    }
  }
  return Status::Ok();
}

Status ValidateCreateGrant(const CreateGrantInput& in) {
  ValidationErrors v;
  v.CheckLength(in.key_id, "keyId", 1, 2048);
  CheckPrincipal(v, in.grantee_principal, "granteePrincipal");
  if (in.retiring_principal) CheckPrincipal(v, *in.retiring_principal, "retiringPrincipal");
  const auto& names = GrantOperationNames();
  bool bad_operation = false;
  for (const auto& op : in.operations) {
    if (std::find(names.begin(), names.end(), op) == names.end()) bad_operation = true;
  }
  if (bad_operation || in.operations.empty()) {
    std::string shown = "[";
    for (size_t i = 0; i < in.operations.size(); ++i) shown += (i ? ", " : "") + in.operations[i];
    shown += "]";
    if (in.operations.empty()) {
      v.Add(shown, "operations", "Member must have length greater than or equal to 1");
    } else {
      std::string set = "[";
      for (size_t i = 0; i < names.size(); ++i) set += (i ? ", " : "") + std::string(names[i]);
      v.Add(shown, "operations",
            "Member must satisfy constraint: [Member must satisfy enum value set: " + set + "]]");
    }
  }
  if (in.name) {
    v.CheckLength(*in.name, "name", 1, 256);
    if (!in.name->empty()) CheckPattern(v, *in.name, "name", NameChar, "^[a-zA-Z0-9:/_-]+$");
  }
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  return ValidateConstraints(in.constraints);
}

GrantConstraints Normalised(GrantConstraints c) {
  // AWS: an empty constraint map is treated as not specified.
  if (c.context_equals && c.context_equals->empty()) c.context_equals.reset();
  if (c.context_subset && c.context_subset->empty()) c.context_subset.reset();
  return c;
}


// Pages a key's grants (ascending id) after `marker`, which is the last id of the previous page.
Page<GrantRecord> PageOf(const std::vector<const GrantRecord*>& grants, std::string_view marker,
                         size_t limit) {
  Page<GrantRecord> page;
  for (const GrantRecord* g : grants) {
    if (!marker.empty() && g->grant_id <= marker) continue;
    if (page.items.size() == limit) {
      page.truncated = true;
      page.next_marker = page.items.back().grant_id;
      break;
    }
    page.items.push_back(*g);
  }
  return page;
}

}  // namespace

// --- The grant check ----------------------------------------------------------------------------

Result<bool> KeyService::GrantCovers(const auth::RequestContext& ctx, std::string_view action,
                                     const KeyRecord& key, const EncryptionContext* context) {
  // CreateGrant and RetireGrant weigh grants with their own, narrower rules.
  if (action == "CreateGrant" || action == "RetireGrant" || ctx.principal.anonymous()) {
    return false;
  }
  HANGAR_ASSIGN_OR_RETURN(auto grants, repository_.grants().ForKey(key.stored_as()));
  for (const auto& g : *grants) {
    if (GrantAllows(g, ctx.principal, action, context)) return true;
  }
  return false;
}

// --- Operations ---------------------------------------------------------------------------------

Result<CreateGrantOutput> KeyService::CreateGrant(const auth::RequestContext& ctx,
                                                  const CreateGrantInput& raw) {
  Count(Op::kCreateGrant);
  CreateGrantInput input = raw;
  input.constraints = Normalised(raw.constraints);
  HANGAR_RETURN_IF_ERROR(ValidateCreateGrant(input));
  const std::vector<std::string> operations = SortedUnique(input.operations);

  // 1. The key (no aliases: KeyId is a key id or key ARN).
  HANGAR_ASSIGN_OR_RETURN(auto key, Lookup(ctx, input.key_id, /*allow_alias=*/false));
  const KeyRecord& k = key->record;

  // 2. Authorisation: the key policy (with the grant condition keys), or a grant that lists
  // CreateGrant — which may only hand on its own operations under an equally strict constraint.
  KmsRequestDetails details;
  details.grantee_principal = input.grantee_principal;
  details.retiring_principal = input.retiring_principal;
  details.grant_operations = operations;
  if (input.constraints.context_equals) details.grant_constraint_type = "EncryptionContextEquals";
  if (input.constraints.context_subset) details.grant_constraint_type = "EncryptionContextSubset";
  HANGAR_ASSIGN_OR_RETURN(auto grants, repository_.grants().ForKey(k.stored_as()));
  for (const auto& g : *grants) {
    if (!GrantAllows(g, ctx.principal, "CreateGrant", nullptr)) continue;
    bool within = std::all_of(operations.begin(), operations.end(),
                              [&](const std::string& op) { return g.HasOperation(op); });
    if (within && ConstraintsAtLeastAsStrict(input.constraints, g.constraints)) {
      details.allowed_by_grant = true;
      break;
    }
  }
  HANGAR_RETURN_IF_ERROR(authorizer_.Authorize(ctx, "CreateGrant", &k, details));

  // 3. Key state (kms.md §5): Disabled [1], PendingDeletion [3].
  if (k.state == KeyState::kDisabled)
    return Error(ErrorCode::kKmsDisabled, k.arn + " is disabled.");
  if (k.pending_deletion()) return PendingDeletionError(k);
  // 4. The operations must suit the key (model: "KMS returns a ValidationError exception").
  for (const auto& op : operations) {
    if (!GrantOperationSuitsKey(op, k)) {
      return Error(
          ErrorCode::kValidation,
          "Grant operation " + op + " is not valid for a KMS key with KeySpec " + k.key_spec + ".");
    }
  }
  // Encryption context binds only symmetric ciphertext: a constraint on another key would
  // constrain nothing (kms.md §13).
  if (!input.constraints.empty() && !k.symmetric()) {
    return Error(ErrorCode::kValidation,
                 "Grant constraints are supported only for symmetric encryption KMS keys; " +
                     k.arn + " has KeySpec " + k.key_spec + ".");
  }
  if (input.dry_run) return DryRunSucceeded();

  std::lock_guard lock(mutate_mu_);
  HANGAR_ASSIGN_OR_RETURN(grants, repository_.grants().ForKey(k.stored_as()));
  // 5. Idempotence: a retry with the same Name and parameters returns the original grant.
  if (input.name) {
    for (const auto& g : *grants) {
      if (g.name == *input.name && g.grantee_principal == input.grantee_principal &&
          g.retiring_principal == input.retiring_principal.value_or("") &&
          g.operations == operations && g.constraints == input.constraints) {
        return CreateGrantOutput{MintGrantToken(g), g.grant_id};
      }
    }
  }
  if (grants->size() >= kMaxGrantsPerKey) {
    return Error(ErrorCode::kKmsLimitExceeded,
                 "The request was rejected because the key has reached the maximum number of "
                 "grants (50000).");
  }
  GrantRecord g;
  g.grant_id = RandomGrantId();
  g.key_id = k.key_id;
  g.key_arn = k.arn;
  g.key_storage_id = k.stored_as() == k.key_id ? "" : k.stored_as();
  g.name = input.name.value_or("");
  g.grantee_principal = input.grantee_principal;
  g.retiring_principal = input.retiring_principal.value_or("");
  g.issuing_account = AccountRootArn(ctx.principal.account_id);
  g.operations = operations;
  g.constraints = input.constraints;
  g.creation_ms = ToUnixMillis(ctx.now);
  HANGAR_RETURN_IF_ERROR(repository_.grants().Create(g));
  return CreateGrantOutput{MintGrantToken(g), g.grant_id};
}

Result<Page<GrantRecord>> KeyService::ListGrants(const auth::RequestContext& ctx,
                                                 const ListGrantsInput& input) {
  Count(Op::kListGrants);
  ValidationErrors v;
  v.CheckLength(input.key_id, "keyId", 1, 2048);
  v.CheckRange(input.limit, "limit", 1, 100);
  if (input.grant_id) v.CheckLength(*input.grant_id, "grantId", 1, 128);
  if (input.grantee_principal) CheckPrincipal(v, *input.grantee_principal, "granteePrincipal");
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  if (!input.marker.empty() && !IsGrantId(input.marker)) {
    return Error(ErrorCode::kKmsInvalidMarker, "Invalid marker: " + input.marker);
  }
  if (input.grant_id) HANGAR_RETURN_IF_ERROR(CheckGrantId(*input.grant_id));
  HANGAR_ASSIGN_OR_RETURN(auto key,
                          Resolve(ctx, input.key_id, /*allow_alias=*/false, "ListGrants"));
  HANGAR_ASSIGN_OR_RETURN(auto grants, repository_.grants().ForKey(key->record.stored_as()));
  std::vector<const GrantRecord*> matching;
  for (const auto& g : *grants) {
    if (input.grant_id && g.grant_id != *input.grant_id) continue;
    if (input.grantee_principal && g.grantee_principal != *input.grantee_principal) continue;
    matching.push_back(&g);
  }
  return PageOf(matching, input.marker, static_cast<size_t>(input.limit));
}

Result<Page<GrantRecord>> KeyService::ListRetirableGrants(const auth::RequestContext& ctx,
                                                          std::string_view retiring_principal,
                                                          int limit, std::string_view marker) {
  Count(Op::kListRetirableGrants);
  ValidationErrors v;
  CheckPrincipal(v, retiring_principal, "retiringPrincipal");
  v.CheckRange(limit, "limit", 1, 100);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  // Markers are "<key id>/<grant id>", the last entry of the previous page.
  auto slash = marker.rfind('/');
  if (!marker.empty() &&
      (slash == std::string_view::npos || !IsGrantId(marker.substr(slash + 1)))) {
    return Error(ErrorCode::kKmsInvalidMarker, "Invalid marker: " + std::string(marker));
  }
  // AWS: authorised by the caller's IAM policy on kms:ListRetirableGrants, not by any key.
  HANGAR_RETURN_IF_ERROR(authorizer_.Authorize(ctx, "ListRetirableGrants", nullptr));
  // The retiring principal must be of the caller's account: other accounts' grants stay private.
  const std::string& account = ctx.principal.account_id;
  const bool own = retiring_principal == account ||
                   retiring_principal.starts_with("arn:aws:iam::" + account + ":") ||
                   retiring_principal.starts_with("arn:aws:sts::" + account + ":");
  if (!own) {
    return KmsAccessDenied(ctx, "ListRetirableGrants", std::string(retiring_principal));
  }
  HANGAR_ASSIGN_OR_RETURN(auto grants,
                          repository_.grants().ListRetirable(retiring_principal, marker,
                                                             static_cast<size_t>(limit) + 1));
  Page<GrantRecord> page;
  page.truncated = grants.size() > static_cast<size_t>(limit);
  if (page.truncated) grants.resize(static_cast<size_t>(limit));
  page.items = std::move(grants);
  if (page.truncated) page.next_marker = GrantRepository::RetirableId(page.items.back());
  return page;
}

Status KeyService::RetireGrant(const auth::RequestContext& ctx, const RetireGrantInput& input) {
  Count(Op::kRetireGrant);
  ValidationErrors v;
  if (input.grant_token) v.CheckLength(*input.grant_token, "grantToken", 1, 8192, /*secret=*/true);
  if (input.key_id) v.CheckLength(*input.key_id, "keyId", 1, 2048);
  if (input.grant_id) v.CheckLength(*input.grant_id, "grantId", 1, 128);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());

  // 1. Which grant: the token names key and grant; otherwise KeyId and GrantId must both be set.
  std::string key_ref;
  std::string grant_id;
  if (input.grant_token) {
    HANGAR_ASSIGN_OR_RETURN(GrantTokenContents token, ParseGrantToken(*input.grant_token));
    if ((input.grant_id && *input.grant_id != token.grant_id)) {
      return Error(ErrorCode::kKmsInvalidGrantToken,
                   "The grant token does not identify the grant named by GrantId.");
    }
    key_ref = input.key_id.value_or(token.key_arn);
    grant_id = token.grant_id;
  } else if (input.key_id && input.grant_id) {
    key_ref = *input.key_id;
    grant_id = *input.grant_id;
  } else {
    // [?] AWS's text is not recorded.
    return Error(ErrorCode::kValidation,
                 "Either GrantToken, or both KeyId and GrantId, must be specified.");
  }
  HANGAR_RETURN_IF_ERROR(CheckGrantId(grant_id));

  std::lock_guard lock(mutate_mu_);
  HANGAR_ASSIGN_OR_RETURN(auto key, Lookup(ctx, key_ref, /*allow_alias=*/false));
  HANGAR_ASSIGN_OR_RETURN(auto grants, repository_.grants().ForKey(key->record.stored_as()));
  auto it = std::find_if(grants->begin(), grants->end(),
                         [&](const GrantRecord& g) { return g.grant_id == grant_id; });
  if (it == grants->end()) return GrantNotFound(grant_id);
  const GrantRecord grant = *it;

  // 2. Who may retire (grant-manage.html): the retiring principal, the grantee when the grant
  // lists RetireGrant, the account that issued the grant, or anyone the key's policies allow
  // kms:RetireGrant.
  const auth::Principal& p = ctx.principal;
  const bool by_grant =
      GrantNamesPrincipal(grant.retiring_principal, p) ||
      (grant.HasOperation("RetireGrant") && GrantNamesPrincipal(grant.grantee_principal, p)) ||
      (p.type == auth::PrincipalType::kRoot && grant.issuing_account == p.arn);
  KmsRequestDetails details;
  details.allowed_by_grant = by_grant;
  HANGAR_RETURN_IF_ERROR(authorizer_.Authorize(ctx, "RetireGrant", &key->record, details));
  if (input.dry_run) return DryRunSucceeded();
  return repository_.grants().Delete(grant);
}

Status KeyService::RevokeGrant(const auth::RequestContext& ctx, std::string_view key_id,
                               std::string_view grant_id, bool dry_run) {
  Count(Op::kRevokeGrant);
  ValidationErrors v;
  v.CheckLength(key_id, "keyId", 1, 2048);
  v.CheckLength(grant_id, "grantId", 1, 128);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  HANGAR_RETURN_IF_ERROR(CheckGrantId(grant_id));
  std::lock_guard lock(mutate_mu_);
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/false, "RevokeGrant"));
  HANGAR_ASSIGN_OR_RETURN(auto grants, repository_.grants().ForKey(key->record.stored_as()));
  auto it = std::find_if(grants->begin(), grants->end(),
                         [&](const GrantRecord& g) { return g.grant_id == grant_id; });
  if (it == grants->end()) return GrantNotFound(grant_id);
  if (dry_run) return DryRunSucceeded();
  return repository_.grants().Delete(*it);
}

}  // namespace hangar::kms
