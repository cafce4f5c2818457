#include "kms/key_service.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <set>

#include "common/strings.h"
#include "crypto/random.h"
#include "kms/crypto_checks.h"
#include "kms/key_ref.h"
#include "kms/key_specs.h"
#include "kms/validation.h"

namespace hangar::kms {
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;
constexpr size_t kMaxTagsPerKey = 50;

// The AWS managed key aliases ListAliases shows before their keys exist. AWS does not document the
// set; these are the services whose managed keys are commonly seen (kms-keys-beyond-symmetric.md
// §12), in name order.
const std::vector<std::string_view>& PredefinedAwsAliases() {
  static const auto* names = new std::vector<std::string_view>{
      "alias/aws/acm",     "alias/aws/dynamodb", "alias/aws/ebs",
      "alias/aws/elasticfilesystem", "alias/aws/es", "alias/aws/glue",
      "alias/aws/kinesisvideo", "alias/aws/lambda", "alias/aws/rds",
      "alias/aws/redshift", "alias/aws/s3", "alias/aws/secretsmanager",
      "alias/aws/ssm",     "alias/aws/xray"};
  return *names;
}

std::string RandomMaterialId() {
  std::array<uint8_t, 32> id{};
  crypto::RandomBytes(id);
  return HexEncode(std::span<const uint8_t>(id));
}

// A new key's material: random bytes for symmetric and HMAC keys; for asymmetric keys a fresh
// private key as DER PKCS#8, with its public half put in `public_key`.
Result<SecretBytes> NewKeyMaterial(const KeySpecInfo& spec, std::string& public_key) {
  std::shared_ptr<const crypto::AsymmetricKey> pair;
  switch (spec.family) {
    case KeyFamily::kSymmetric:
      return crypto::RandomSecret(32);
    case KeyFamily::kHmac:
      return crypto::RandomSecret(spec.hmac_bytes);
    case KeyFamily::kRsa: {
      HANGAR_ASSIGN_OR_RETURN(pair, crypto::AsymmetricKey::GenerateRsa(spec.rsa_bits));
      break;
    }
    case KeyFamily::kEc: {
      HANGAR_ASSIGN_OR_RETURN(pair, crypto::AsymmetricKey::GenerateEc(spec.curve));
      break;
    }
    case KeyFamily::kEd25519:
    case KeyFamily::kUnsupported:
      return InternalError("no key material for key spec " + std::string(spec.name));
  }
  public_key = pair->public_der();
  return pair->PrivateDer();
}

Status KeyDoesNotExist(std::string_view region, std::string_view account,
                       std::string_view key_id) {
  return Error(ErrorCode::kKmsNotFound,
               "Key '" + KeyArn(region, account, key_id) + "' does not exist");
}

// Rotation calls need an Enabled key, as crypto operations do (kms.md §5, footnotes 1 and 3).
Status RequireEnabled(const KeyRecord& k) { return RequireEnabledForCrypto(k); }

// Rotation belongs to a multi-Region primary; its replicas follow it.
Status RequireNotReplica(const KeyRecord& k) {
  if (!k.replica()) return Status::Ok();
  return Error(ErrorCode::kKmsUnsupportedOperation, k.arn + " is not a multi-region primary key.");
}

Status RequireNotPendingDeletion(const KeyRecord& k) {
  if (k.pending_deletion()) return PendingDeletionError(k);
  return Status::Ok();
}

// Enable/DisableKey: a key without material can be neither until material is imported.
Status RequireNotPendingDeletionOrImport(const KeyRecord& k) {
  HANGAR_RETURN_IF_ERROR(RequireNotPendingDeletion(k));
  if (k.state == KeyState::kPendingImport) {
    return Error(ErrorCode::kKmsInvalidState, k.arn + " is pending import.");
  }
  return Status::Ok();
}

// Decodes a limit/marker pair into a start position. Markers are the last id returned.
Status CheckLimit(int limit, int max) {
  ValidationErrors v;
  v.CheckRange(limit, "limit", 1, max);
  return v.ToStatus();
}

std::string AwsManagedKeyPolicy(std::string_view account, std::string_view region,
                                std::string_view service) {
  nlohmann::json policy = {
      {"Version", "2012-10-17"},
      {"Id", "auto-" + std::string(service) + "-2"},
      {"Statement",
       nlohmann::json::array(
           {{{"Sid", "Allow access through " + std::string(service) +
                         " for all principals in the account that are authorized to use " +
                         std::string(service)},
             {"Effect", "Allow"},
             {"Principal", {{"AWS", "*"}}},
             {"Action",
              {"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
               "kms:DescribeKey"}},
             {"Resource", "*"},
             {"Condition",
              {{"StringEquals",
                {{"kms:CallerAccount", std::string(account)},
                 {"kms:ViaService",
                  std::string(service) + "." + std::string(region) + ".amazonaws.com"}}}}}},
            {{"Sid", "Allow direct access to key metadata to the account"},
             {"Effect", "Allow"},
             {"Principal", {{"AWS", "arn:aws:iam::" + std::string(account) + ":root"}}},
             {"Action", {"kms:Describe*", "kms:Get*", "kms:List*"}},
             {"Resource", "*"}}})}};
  return policy.dump();
}

}  // namespace

std::string DefaultKeyPolicy(std::string_view account_id) {
  nlohmann::ordered_json policy = {
      {"Version", "2012-10-17"},
      {"Id", "key-default-1"},
      {"Statement",
       nlohmann::ordered_json::array(
           {{{"Sid", "Enable IAM User Permissions"},
             {"Effect", "Allow"},
             {"Principal", {{"AWS", "arn:aws:iam::" + std::string(account_id) + ":root"}}},
             {"Action", "kms:*"},
             {"Resource", "*"}}})}};
  return policy.dump();
}

KeyService::KeyService(KeyRepository& repository, const KeyAuthorizer& authorizer,
                       const Clock& clock, KmsOptions options)
    : repository_(repository), authorizer_(authorizer), clock_(clock), options_(options) {}

KmsCallCounts KeyService::CallCounts() const {
  static constexpr const char* kNames[] = {
      "CreateKey", "DescribeKey", "ListKeys", "UpdateKeyDescription", "EnableKey", "DisableKey",
      "ScheduleKeyDeletion", "CancelKeyDeletion", "CreateAlias", "UpdateAlias", "DeleteAlias",
      "ListAliases", "TagResource", "UntagResource", "ListResourceTags", "GetKeyPolicy",
      "PutKeyPolicy", "ListKeyPolicies", "EnableKeyRotation", "DisableKeyRotation",
      "GetKeyRotationStatus", "RotateKeyOnDemand", "ListKeyRotations", "Encrypt", "Decrypt",
      "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "GenerateRandom",
      "CreateGrant", "ListGrants", "ListRetirableGrants", "RetireGrant", "RevokeGrant",
      "GetPublicKey", "Sign", "Verify", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
      "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GetParametersForImport",
      "ImportKeyMaterial", "DeleteImportedKeyMaterial", "ReplicateKey", "UpdatePrimaryRegion"};
  static_assert(std::size(kNames) == static_cast<size_t>(Op::kCount_));
  KmsCallCounts out;
  for (size_t i = 0; i < std::size(kNames); ++i) {
    out[kNames[i]] = calls_[i].load(std::memory_order_relaxed);
  }
  return out;
}

Result<std::shared_ptr<const LoadedKey>> KeyService::Lookup(const auth::RequestContext& ctx,
                                                            std::string_view key_id,
                                                            bool allow_alias,
                                                            std::string* request_alias) {
  HANGAR_ASSIGN_OR_RETURN(KeyRef ref, ParseKeyRef(key_id, ctx.region, allow_alias));
  const std::string account = ref.account_id.empty() ? ctx.principal.account_id : ref.account_id;
  std::string target = ref.key_id;
  if (ref.is_alias()) {
    HANGAR_ASSIGN_OR_RETURN(auto alias, repository_.FindAlias(account, ctx.region, ref.alias_name));
    if (!alias) {
      return Error(ErrorCode::kKmsNotFound,
                   "Alias " + AliasArn(ctx.region, account, ref.alias_name) + " is not found.");
    }
    target = alias->target_key_id;
  }
  HANGAR_ASSIGN_OR_RETURN(auto key, repository_.Find(target, ctx.region));
  // A key of another account or region is invisible under a bare id, as on AWS.
  if (!key || key->record.destroyed || key->record.region != ctx.region ||
      key->record.account_id != account) {
    return KeyDoesNotExist(ctx.region, account, target);
  }
  if (ref.is_alias() && request_alias != nullptr) *request_alias = ref.alias_name;
  NoteKey(ctx, key->record);
  return key;
}

Result<std::shared_ptr<const LoadedKey>> KeyService::Resolve(const auth::RequestContext& ctx,
                                                             std::string_view key_id,
                                                             bool allow_alias,
                                                             std::string_view action,
                                                             KmsRequestDetails details) {
  HANGAR_ASSIGN_OR_RETURN(auto key, Lookup(ctx, key_id, allow_alias, &details.request_alias));
  HANGAR_RETURN_IF_ERROR(AuthorizeKey(ctx, action, key->record, std::move(details)));
  return key;
}

Status KeyService::AuthorizeKey(const auth::RequestContext& ctx, std::string_view action,
                                const KeyRecord& key, KmsRequestDetails details) {
  if (!details.allowed_by_grant) {
    HANGAR_ASSIGN_OR_RETURN(details.allowed_by_grant,
                            GrantCovers(ctx, action, key, details.encryption_context));
  }
  return authorizer_.Authorize(ctx, action, &key, details);
}

Status KeyService::Mutate(const auth::RequestContext& ctx, std::string_view key_id,
                          std::string_view action,
                          const std::function<Status(KeyRecord&)>& change,
                          const KmsRequestDetails& details) {
  std::lock_guard lock(mutate_mu_);
  // mutate_mu_ orders this node's writers; another cluster node's write to the same key shows up
  // as a conflict, after which the key is read again from the store, not from the cache.
  constexpr int kMaxAttempts = 8;
  for (int attempt = 1;; ++attempt) {
    HANGAR_ASSIGN_OR_RETURN(auto key,
                            Resolve(ctx, key_id, /*allow_alias=*/false, action, details));
    KeyRecord updated = key->record;
    HANGAR_RETURN_IF_ERROR(change(updated));
    // A multi-Region key's other copies follow the shared properties (rotation) in the same
    // commit.
    HANGAR_ASSIGN_OR_RETURN(auto writes, WithCopies(updated, key->revision));
    Status s = repository_.Update(writes);
    if (s.code() != ErrorCode::kConflict || attempt == kMaxAttempts) return s;
    repository_.InvalidateAll();
  }
}

// The tags of a request as condition keys see them.
static std::vector<std::pair<std::string, std::string>> TagPairs(const std::vector<Tag>& tags) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& t : tags) out.emplace_back(t.key, t.value);
  return out;
}

// --- Lifecycle and metadata -------------------------------------------------------------------

Result<KeyRecord> KeyService::CreateKey(const auth::RequestContext& ctx,
                                        const CreateKeyInput& input) {
  Count(Op::kCreateKey);
  ValidationErrors v;
  v.CheckLength(input.description, "description", 0, 8192);
  if (input.key_usage) {
    v.CheckEnum(*input.key_usage, "keyUsage",
                {"SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT"});
  }
  if (input.key_spec) v.CheckEnum(*input.key_spec, "keySpec", KeySpecNames());
  if (input.origin) {
    v.CheckEnum(*input.origin, "origin",
                {"AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"});
  }
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  const std::string spec = input.key_spec.value_or("SYMMETRIC_DEFAULT");
  const KeySpecInfo& spec_info = *FindKeySpec(spec);
  if (spec != "SYMMETRIC_DEFAULT" && !input.key_usage) {
    return Error(ErrorCode::kValidation,
                 "You must specify a KeyUsage value for all KMS keys except for symmetric "
                 "encryption keys.");
  }
  const std::string usage = input.key_usage.value_or("ENCRYPT_DECRYPT");
  if (std::find(spec_info.usages.begin(), spec_info.usages.end(), usage) ==
      spec_info.usages.end()) {
    return Error(ErrorCode::kValidation,
                 "KeyUsage " + usage + " is not compatible with KeySpec " + spec);
  }
  if (spec_info.family == KeyFamily::kUnsupported) {
    return Error(ErrorCode::kKmsUnsupportedOperation,
                 "KeySpec " + spec + " is not supported by this server.");
  }
  const std::string origin = input.origin.value_or("AWS_KMS");
  if (origin != "AWS_KMS" && origin != "EXTERNAL") {
    return Error(ErrorCode::kKmsUnsupportedOperation,
                 "Origin " + *input.origin + " is not supported by this server.");
  }
  if (input.custom_key_store_id) {
    return Error(ErrorCode::kKmsUnsupportedOperation,
                 "Custom key stores are not supported by this server.");
  }
  HANGAR_RETURN_IF_ERROR(ValidateTags(input.tags, 0));
  KmsRequestDetails details;
  details.bypass_lockout = input.bypass_policy_lockout_safety_check;
  details.request_tags = TagPairs(input.tags);
  details.conditions = {{"kms:keyspec", spec},
                        {"kms:keyusage", usage},
                        {"kms:keyorigin", origin},
                        {"kms:multiregion", input.multi_region ? "true" : "false"}};
  HANGAR_RETURN_IF_ERROR(authorizer_.Authorize(ctx, "CreateKey", nullptr, details));

  const int64_t now = ToUnixMillis(ctx.now);
  KeyRecord key;
  if (input.multi_region) {
    std::array<uint8_t, 16> raw{};
    crypto::RandomBytes(raw);
    key.key_id = "mrk-" + HexEncode(std::span<const uint8_t>(raw));
  } else {
    key.key_id = crypto::RandomUuid();
  }
  key.account_id = ctx.principal.account_id;
  key.region = ctx.region;
  key.arn = KeyArn(key.region, key.account_id, key.key_id);
  key.creation_ms = now;
  key.description = input.description;
  key.key_spec = spec;
  key.key_usage = usage;
  key.origin = origin;
  key.multi_region = input.multi_region;
  if (key.multi_region) key.primary_region = key.region;
  key.policy = input.policy.value_or(DefaultKeyPolicy(key.account_id));
  key.tags = input.tags;
  // A key of origin EXTERNAL waits for its material (ImportKeyMaterial, key_import.cc).
  if (key.external()) key.state = KeyState::kPendingImport;
  if (!key.external()) key.versions.push_back({1, RandomMaterialId(), now, ""});
  // The lockout check is for a policy the caller writes; the default policy cannot lock anyone
  // out (it delegates to the account's IAM policies).
  if (input.policy) {
    HANGAR_RETURN_IF_ERROR(
        authorizer_.CheckNewKeyPolicy(ctx, key, input.bypass_policy_lockout_safety_check));
  }
  SecretBytes material;
  if (!key.external()) {
    HANGAR_ASSIGN_OR_RETURN(material, NewKeyMaterial(spec_info, key.public_key));
  }
  std::lock_guard lock(mutate_mu_);
  HANGAR_RETURN_IF_ERROR(repository_.Create(key, key.external() ? nullptr : &material));
  NoteKey(ctx, key);
  return key;
}

Result<KeyRecord> KeyService::DescribeKey(const auth::RequestContext& ctx,
                                          std::string_view key_id) {
  Count(Op::kDescribeKey);
  auto key = Resolve(ctx, key_id, /*allow_alias=*/true, "DescribeKey");
  if (!key.ok() && key.status().code() == ErrorCode::kKmsNotFound &&
      key_id.starts_with("alias/aws/")) {
    // Predefined AWS aliases: describing one creates its AWS managed key, as on AWS — but only
    // for a caller the new key's policy would let describe it (docs/hardening.md item 8).
    std::string service(key_id.substr(std::string_view("alias/aws/").size()));
    return GetOrCreateAwsManagedKey(ctx, service, "DescribeKey");
  }
  if (!key.ok()) return key.status();
  return (*key)->record;
}

Result<Page<KeyListEntry>> KeyService::ListKeys(const auth::RequestContext& ctx, int limit,
                                                std::string_view marker) {
  Count(Op::kListKeys);
  HANGAR_RETURN_IF_ERROR(CheckLimit(limit, 1000));
  if (!marker.empty() && !IsKeyId(marker)) {
    return Error(ErrorCode::kKmsInvalidMarker, "Invalid marker: " + std::string(marker));
  }
  HANGAR_RETURN_IF_ERROR(authorizer_.Authorize(ctx, "ListKeys", nullptr));
  HANGAR_ASSIGN_OR_RETURN(
      auto ids, repository_.ListKeyIds(ctx.principal.account_id, ctx.region, marker,
                                       static_cast<size_t>(limit) + 1));
  Page<KeyListEntry> page;
  page.truncated = ids.size() > static_cast<size_t>(limit);
  if (page.truncated) ids.resize(static_cast<size_t>(limit));
  for (auto& id : ids) {
    page.items.push_back({id, KeyArn(ctx.region, ctx.principal.account_id, id)});
  }
  if (page.truncated) page.next_marker = ids.back();
  return page;
}

Status KeyService::UpdateKeyDescription(const auth::RequestContext& ctx, std::string_view key_id,
                                        std::string_view description) {
  Count(Op::kUpdateKeyDescription);
  ValidationErrors v;
  v.CheckLength(description, "description", 0, 8192);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  return Mutate(ctx, key_id, "UpdateKeyDescription", [&](KeyRecord& k) {
    HANGAR_RETURN_IF_ERROR(RequireNotPendingDeletion(k));
    k.description = std::string(description);
    return Status::Ok();
  });
}

Status KeyService::EnableKey(const auth::RequestContext& ctx, std::string_view key_id) {
  Count(Op::kEnableKey);
  return Mutate(ctx, key_id, "EnableKey", [&](KeyRecord& k) {
    HANGAR_RETURN_IF_ERROR(RequireNotPendingDeletionOrImport(k));
    k.state = KeyState::kEnabled;
    return Status::Ok();
  });
}

Status KeyService::DisableKey(const auth::RequestContext& ctx, std::string_view key_id) {
  Count(Op::kDisableKey);
  return Mutate(ctx, key_id, "DisableKey", [&](KeyRecord& k) {
    HANGAR_RETURN_IF_ERROR(RequireNotPendingDeletionOrImport(k));
    k.state = KeyState::kDisabled;
    return Status::Ok();
  });
}

Result<ScheduleKeyDeletionOutput> KeyService::ScheduleKeyDeletion(
    const auth::RequestContext& ctx, std::string_view key_id, std::optional<int64_t> window_days) {
  Count(Op::kScheduleKeyDeletion);
  const int64_t window = window_days.value_or(30);
  if (window < 7 || window > 30) {
    // AWS's exact text is not recorded (kms.md §6); this follows the documented range.
    ValidationErrors v;
    v.Add(std::to_string(window), "pendingWindowInDays",
          window < 7 ? "Member must have value greater than or equal to 7"
                     : "Member must have value less than or equal to 30");
    return v.ToStatus();
  }
  ScheduleKeyDeletionOutput out;
  KmsRequestDetails details;
  details.pending_window_days = window;
  HANGAR_RETURN_IF_ERROR(Mutate(ctx, key_id, "ScheduleKeyDeletion", [&](KeyRecord& k) {
    HANGAR_RETURN_IF_ERROR(RequireNotPendingDeletion(k));
    k.pending_window_days = static_cast<int>(window);
    if (!k.replica() && !k.replica_regions.empty()) {
      // A multi-Region primary outlives its replicas: its waiting period starts after the last
      // of them is deleted (RunDueTask).
      k.state = KeyState::kPendingReplicaDeletion;
      k.deletion_ms = 0;
    } else {
      k.state = KeyState::kPendingDeletion;
      k.deletion_ms = ToUnixMillis(ctx.now) + window * kDayMs;
    }
    out = {k.arn, k.deletion_ms, k.state, k.pending_window_days};
    return Status::Ok();
  }, details));
  return out;
}

Result<std::string> KeyService::CancelKeyDeletion(const auth::RequestContext& ctx,
                                                  std::string_view key_id) {
  Count(Op::kCancelKeyDeletion);
  std::string arn;
  HANGAR_RETURN_IF_ERROR(Mutate(ctx, key_id, "CancelKeyDeletion", [&](KeyRecord& k) {
    if (!k.pending_deletion()) {
      return Error(ErrorCode::kKmsInvalidState, k.arn + " is not pending deletion.");
    }
    // A key of origin EXTERNAL whose material is gone goes back to waiting for it.
    k.state = k.external() && !k.has_imported_material() ? KeyState::kPendingImport
                                                          : KeyState::kDisabled;
    k.deletion_ms = 0;
    k.pending_window_days = 0;
    arn = k.arn;
    return Status::Ok();
  }));
  return arn;
}

// --- Aliases ----------------------------------------------------------------------------------

Status KeyService::CheckCustomerAliasName(std::string_view alias_name) const {
  HANGAR_RETURN_IF_ERROR(ValidateAliasName(alias_name, "aliasName"));
  if (IsReservedAlias(alias_name)) {
    // Not recorded against AWS (kms.md §16); the model's closest error.
    return Error(ErrorCode::kKmsInvalidAliasName,
                 "Alias names beginning with alias/aws/ are reserved for AWS managed keys.");
  }
  return Status::Ok();
}

Result<Alias> KeyService::ExistingAlias(const auth::RequestContext& ctx,
                                        std::string_view alias_name) {
  const std::string& account = ctx.principal.account_id;
  HANGAR_ASSIGN_OR_RETURN(auto existing, repository_.FindAlias(account, ctx.region, alias_name));
  if (!existing) {
    return Error(ErrorCode::kKmsNotFound,
                 "Alias " + AliasArn(ctx.region, account, alias_name) + " is not found.");
  }
  return std::move(*existing);
}

Result<std::string> KeyService::ResolveAliasTarget(const auth::RequestContext& ctx,
                                                   std::string_view target_key_id,
                                                   std::string_view action) {
  ValidationErrors v;
  v.CheckLength(target_key_id, "targetKeyId", 1, 2048);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, target_key_id, /*allow_alias=*/false, action));
  HANGAR_RETURN_IF_ERROR(RequireNotPendingDeletion(key->record));
  if (key->record.aws_managed()) return KmsAccessDenied(ctx, action, key->record.arn);
  return key->record.key_id;
}

Status KeyService::CreateAlias(const auth::RequestContext& ctx, std::string_view alias_name,
                               std::string_view target_key_id) {
  Count(Op::kCreateAlias);
  HANGAR_RETURN_IF_ERROR(CheckCustomerAliasName(alias_name));
  const std::string& account = ctx.principal.account_id;
  std::lock_guard lock(mutate_mu_);
  HANGAR_ASSIGN_OR_RETURN(std::string target,
                          ResolveAliasTarget(ctx, target_key_id, "CreateAlias"));
  HANGAR_ASSIGN_OR_RETURN(auto existing, repository_.FindAlias(account, ctx.region, alias_name));
  if (existing) {
    return Error(ErrorCode::kKmsAlreadyExists, "An alias with the name " +
                                                   AliasArn(ctx.region, account, alias_name) +
                                                   " already exists");
  }
  HANGAR_ASSIGN_OR_RETURN(auto all, repository_.ListAliases(account, ctx.region, "", 100000));
  size_t pointing = std::count_if(all.begin(), all.end(),
                                  [&](const Alias& a) { return a.target_key_id == target; });
  if (pointing >= static_cast<size_t>(options_.max_aliases_per_key)) {
    return Error(ErrorCode::kKmsLimitExceeded,
                 "The number of aliases for the key has reached its limit of " +
                     std::to_string(options_.max_aliases_per_key));
  }
  const int64_t now = ToUnixMillis(ctx.now);
  Status s = repository_.CreateAlias(account, ctx.region,
                                     Alias{std::string(alias_name), target, now, now});
  if (s.code() == ErrorCode::kConflict) {
    return Error(ErrorCode::kKmsAlreadyExists, "An alias with the name " +
                                                   AliasArn(ctx.region, account, alias_name) +
                                                   " already exists");
  }
  return s;
}

Status KeyService::UpdateAlias(const auth::RequestContext& ctx, std::string_view alias_name,
                               std::string_view target_key_id) {
  Count(Op::kUpdateAlias);
  HANGAR_RETURN_IF_ERROR(CheckCustomerAliasName(alias_name));
  std::lock_guard lock(mutate_mu_);
  HANGAR_ASSIGN_OR_RETURN(Alias existing, ExistingAlias(ctx, alias_name));
  const std::string& account = ctx.principal.account_id;
  // AWS authorises kms:UpdateAlias on both the key the alias leaves and the key it moves to.
  HANGAR_ASSIGN_OR_RETURN(auto current, repository_.Find(existing.target_key_id, ctx.region));
  if (current && !current->record.destroyed) {
    HANGAR_RETURN_IF_ERROR(authorizer_.Authorize(ctx, "UpdateAlias", &current->record));
  }
  HANGAR_ASSIGN_OR_RETURN(std::string target,
                          ResolveAliasTarget(ctx, target_key_id, "UpdateAlias"));
  Alias updated = existing;
  updated.target_key_id = target;
  updated.updated_ms = ToUnixMillis(ctx.now);
  return repository_.PutAlias(account, ctx.region, updated);
}

Status KeyService::DeleteAlias(const auth::RequestContext& ctx, std::string_view alias_name) {
  Count(Op::kDeleteAlias);
  HANGAR_RETURN_IF_ERROR(CheckCustomerAliasName(alias_name));
  std::lock_guard lock(mutate_mu_);
  HANGAR_ASSIGN_OR_RETURN(Alias existing, ExistingAlias(ctx, alias_name));
  const std::string& account = ctx.principal.account_id;
  HANGAR_ASSIGN_OR_RETURN(auto key, repository_.Find(existing.target_key_id, ctx.region));
  if (key) HANGAR_RETURN_IF_ERROR(authorizer_.Authorize(ctx, "DeleteAlias", &key->record));
  return repository_.DeleteAlias(account, ctx.region, alias_name);
}

Result<Page<AliasEntry>> KeyService::ListAliases(const auth::RequestContext& ctx,
                                                 std::optional<std::string_view> key_id,
                                                 int limit, std::string_view marker) {
  Count(Op::kListAliases);
  HANGAR_RETURN_IF_ERROR(CheckLimit(limit, 100));
  const std::string& account = ctx.principal.account_id;
  std::string filter;
  if (key_id) {
    HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, *key_id, /*allow_alias=*/false, "ListAliases"));
    filter = key->record.key_id;
  } else {
    HANGAR_RETURN_IF_ERROR(authorizer_.Authorize(ctx, "ListAliases", nullptr));
  }
  if (!marker.empty() && !marker.starts_with("alias/")) {
    return Error(ErrorCode::kKmsInvalidMarker, "Invalid marker: " + std::string(marker));
  }
  Page<AliasEntry> page;
  // Appends one entry; false once the page is full (then it is marked truncated).
  auto add = [&](AliasEntry entry) {
    if (page.items.size() == static_cast<size_t>(limit)) {
      page.truncated = true;
      page.next_marker = page.items.back().alias_name;
      return false;
    }
    page.items.push_back(std::move(entry));
    return true;
  };
  // AWS lists its predefined alias/aws/<service> aliases before their managed keys exist, without
  // a target; merged in name order with the stored aliases (a created one replaces its entry).
  std::vector<std::string_view> predefined;
  if (filter.empty()) {
    for (std::string_view name : PredefinedAwsAliases()) {
      if (name > marker) predefined.push_back(name);
    }
  }
  size_t next_predefined = 0;
  auto add_predefined_before = [&](std::string_view bound) {
    for (; next_predefined < predefined.size() && predefined[next_predefined] < bound;
         ++next_predefined) {
      std::string name(predefined[next_predefined]);
      if (!add({name, AliasArn(ctx.region, account, name), "", 0, 0})) return false;
    }
    return true;
  };
  std::string after(marker);
  // Filtering by key happens after the store's page, so keep reading until the page is full.
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto aliases, repository_.ListAliases(account, ctx.region, after, 1000));
    for (const auto& a : aliases) {
      after = a.name;
      if (!add_predefined_before(a.name)) return page;
      if (next_predefined < predefined.size() && predefined[next_predefined] == a.name) {
        ++next_predefined;
      }
      if (!filter.empty() && a.target_key_id != filter) continue;
      if (!add({a.name, AliasArn(ctx.region, account, a.name), a.target_key_id, a.created_ms,
                a.updated_ms})) {
        return page;
      }
    }
    if (aliases.size() < 1000) break;
  }
  add_predefined_before("~");  // after every alias/ name
  return page;
}

// --- Tags -------------------------------------------------------------------------------------

Status KeyService::ValidateTags(const std::vector<Tag>& tags, size_t existing_count) const {
  ValidationErrors v;
  for (size_t i = 0; i < tags.size(); ++i) {
    std::string base = "tags." + std::to_string(i + 1) + ".member.";
    v.CheckLength(tags[i].key, base + "tagKey", 1, 128);
    v.CheckLength(tags[i].value, base + "tagValue", 0, 256);
  }
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  std::set<std::string> seen;
  for (const auto& t : tags) {
    if (ToLower(t.key).starts_with("aws:")) {
      return Error(ErrorCode::kKmsTag, "Tags beginning with aws: are reserved");
    }
    if (!seen.insert(t.key).second) return Error(ErrorCode::kKmsTag, "Duplicate tag keys");
  }
  if (tags.size() + existing_count > kMaxTagsPerKey) {
    return Error(ErrorCode::kKmsTag, "Too many tags");
  }
  return Status::Ok();
}

Status KeyService::TagResource(const auth::RequestContext& ctx, std::string_view key_id,
                               const std::vector<Tag>& tags) {
  Count(Op::kTagResource);
  HANGAR_RETURN_IF_ERROR(ValidateTags(tags, 0));
  KmsRequestDetails details;
  details.request_tags = TagPairs(tags);
  return Mutate(ctx, key_id, "TagResource", [&](KeyRecord& k) {
    HANGAR_RETURN_IF_ERROR(RequireNotPendingDeletion(k));
    if (k.aws_managed()) return KmsAccessDenied(ctx, "TagResource", k.arn);
    for (const auto& t : tags) {
      auto it = std::find_if(k.tags.begin(), k.tags.end(),
                             [&](const Tag& existing) { return existing.key == t.key; });
      if (it != k.tags.end()) {
        it->value = t.value;  // re-tagging replaces the value
      } else {
        k.tags.push_back(t);
      }
    }
    if (k.tags.size() > kMaxTagsPerKey) return Error(ErrorCode::kKmsTag, "Too many tags");
    return Status::Ok();
  }, details);
}

Status KeyService::UntagResource(const auth::RequestContext& ctx, std::string_view key_id,
                                 const std::vector<std::string>& tag_keys) {
  Count(Op::kUntagResource);
  ValidationErrors v;
  for (size_t i = 0; i < tag_keys.size(); ++i) {
    v.CheckLength(tag_keys[i], "tagKeys." + std::to_string(i + 1) + ".member", 1, 128);
  }
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  KmsRequestDetails details;
  details.tag_keys = tag_keys;
  return Mutate(ctx, key_id, "UntagResource", [&](KeyRecord& k) {
    HANGAR_RETURN_IF_ERROR(RequireNotPendingDeletion(k));
    if (k.aws_managed()) return KmsAccessDenied(ctx, "UntagResource", k.arn);
    for (const auto& key : tag_keys) {
      std::erase_if(k.tags, [&](const Tag& t) { return t.key == key; });
    }
    return Status::Ok();
  }, details);
}

Result<Page<Tag>> KeyService::ListResourceTags(const auth::RequestContext& ctx,
                                               std::string_view key_id, int limit,
                                               std::string_view marker) {
  Count(Op::kListResourceTags);
  HANGAR_RETURN_IF_ERROR(CheckLimit(limit, 50));
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/false,
                                            "ListResourceTags"));
  std::vector<Tag> tags = key->record.tags;
  std::sort(tags.begin(), tags.end(), [](const Tag& a, const Tag& b) { return a.key < b.key; });
  size_t start = 0;
  if (!marker.empty()) {
    auto it = std::find_if(tags.begin(), tags.end(), [&](const Tag& t) { return t.key > marker; });
    start = static_cast<size_t>(it - tags.begin());
  }
  Page<Tag> page;
  for (size_t i = start; i < tags.size(); ++i) {
    if (page.items.size() == static_cast<size_t>(limit)) {
      page.truncated = true;
      page.next_marker = page.items.back().key;
      break;
    }
    page.items.push_back(tags[i]);
  }
  return page;
}

// --- Key policies -----------------------------------------------------------------------------

Result<std::string> KeyService::GetKeyPolicy(const auth::RequestContext& ctx,
                                             std::string_view key_id,
                                             std::string_view policy_name) {
  Count(Op::kGetKeyPolicy);
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/false, "GetKeyPolicy"));
  if (policy_name != "default") {
    return Error(ErrorCode::kKmsNotFound, "No such policy exists");
  }
  return key->record.policy;
}

Status KeyService::PutKeyPolicy(const auth::RequestContext& ctx, std::string_view key_id,
                                std::string_view policy_name, std::string_view policy,
                                bool bypass_lockout) {
  Count(Op::kPutKeyPolicy);
  ValidationErrors v;
  v.CheckLength(policy, "policy", 1, 131072);
  v.CheckLength(policy_name, "policyName", 1, 128);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  KmsRequestDetails details;
  details.bypass_lockout = bypass_lockout;
  return Mutate(ctx, key_id, "PutKeyPolicy", [&](KeyRecord& k) {
    if (policy_name != "default") return Error(ErrorCode::kKmsNotFound, "No such policy exists");
    if (k.aws_managed()) return KmsAccessDenied(ctx, "PutKeyPolicy", k.arn);
    k.policy = std::string(policy);
    return authorizer_.CheckNewKeyPolicy(ctx, k, bypass_lockout);
  }, details);
}

Result<Page<std::string>> KeyService::ListKeyPolicies(const auth::RequestContext& ctx,
                                                      std::string_view key_id, int limit,
                                                      std::string_view marker) {
  Count(Op::kListKeyPolicies);
  HANGAR_RETURN_IF_ERROR(CheckLimit(limit, 1000));
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/false,
                                            "ListKeyPolicies"));
  Page<std::string> page;
  if (marker.empty()) page.items.push_back("default");
  return page;
}

// --- Rotation ---------------------------------------------------------------------------------

Status KeyService::EnableKeyRotation(const auth::RequestContext& ctx, std::string_view key_id,
                                     std::optional<int64_t> period_days) {
  Count(Op::kEnableKeyRotation);
  if (period_days) {
    ValidationErrors v;
    v.CheckRange(*period_days, "rotationPeriodInDays", 90, 2560);
    HANGAR_RETURN_IF_ERROR(v.ToStatus());
  }
  KmsRequestDetails details;
  details.rotation_period_days = period_days.value_or(365);
  return Mutate(ctx, key_id, "EnableKeyRotation", [&](KeyRecord& k) {
    if (!k.symmetric()) return Error(ErrorCode::kKmsUnsupportedOperation, "");
    HANGAR_RETURN_IF_ERROR(RequireNotReplica(k));
    if (k.external()) return OriginNotValid(k);
    HANGAR_RETURN_IF_ERROR(RequireEnabled(k));
    if (k.aws_managed()) return KmsAccessDenied(ctx, "EnableKeyRotation", k.arn);
    k.rotation_period_days = static_cast<int>(period_days.value_or(365));
    k.rotation_enabled = true;
    // The first rotation comes one period after enabling.
    k.next_rotation_ms = ToUnixMillis(ctx.now) + k.rotation_period_days * kDayMs;
    return Status::Ok();
  }, details);
}

Status KeyService::DisableKeyRotation(const auth::RequestContext& ctx, std::string_view key_id) {
  Count(Op::kDisableKeyRotation);
  return Mutate(ctx, key_id, "DisableKeyRotation", [&](KeyRecord& k) {
    HANGAR_RETURN_IF_ERROR(RequireNotReplica(k));
    HANGAR_RETURN_IF_ERROR(RequireEnabled(k));
    if (k.aws_managed()) return KmsAccessDenied(ctx, "DisableKeyRotation", k.arn);
    k.rotation_enabled = false;
    k.next_rotation_ms = 0;
    return Status::Ok();
  });
}

Result<RotationStatus> KeyService::GetKeyRotationStatus(const auth::RequestContext& ctx,
                                                        std::string_view key_id) {
  Count(Op::kGetKeyRotationStatus);
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/false,
                                            "GetKeyRotationStatus"));
  const KeyRecord& k = key->record;
  // The key-state table answers UnsupportedOperationException for asymmetric and HMAC keys.
  if (!k.symmetric()) return Error(ErrorCode::kKmsUnsupportedOperation, "");
  RotationStatus out;
  out.key_arn = k.arn;
  // While a key is pending deletion its rotation reads as off; cancelling restores it.
  out.enabled = k.rotation_enabled && !k.pending_deletion();
  if (out.enabled) {
    out.period_days = k.rotation_period_days;
    out.next_rotation_ms = k.next_rotation_ms;
  }
  return out;
}

Status KeyService::Rotate(const LoadedKey& key, std::string_view rotation_type, int64_t now_ms) {
  KeyRecord updated = key.record;
  uint32_t version = updated.current().version + 1;
  updated.versions.push_back({version, RandomMaterialId(), now_ms, std::string(rotation_type)});
  SecretBytes material = crypto::RandomSecret(32);
  // Every copy of a multi-Region key gets the new material at once.
  HANGAR_ASSIGN_OR_RETURN(auto writes, WithCopies(updated, key.revision));
  return repository_.AddVersion(writes, material);
}

Result<std::string> KeyService::RotateKeyOnDemand(const auth::RequestContext& ctx,
                                                  std::string_view key_id) {
  Count(Op::kRotateKeyOnDemand);
  std::lock_guard lock(mutate_mu_);
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/false,
                                            "RotateKeyOnDemand"));
  if (!key->record.symmetric()) return Error(ErrorCode::kKmsUnsupportedOperation, "");
  HANGAR_RETURN_IF_ERROR(RequireNotReplica(key->record));
  HANGAR_RETURN_IF_ERROR(RequireEnabled(key->record));
  // New imported material for rotation is not offered, so an EXTERNAL key never has any pending.
  if (key->record.external()) {
    return Error(ErrorCode::kKmsInvalidState,
                 "No available key material pending rotation for the key: " + key->record.arn +
                     ".");
  }
  if (key->record.aws_managed()) return KmsAccessDenied(ctx, "RotateKeyOnDemand", key->record.arn);
  if (key->record.on_demand_rotations >= options_.max_on_demand_rotations) {
    return Error(ErrorCode::kKmsLimitExceeded,
                 "The on-demand rotations limit has been reached for the given keyId. No more "
                 "on-demand rotations can be performed for this key: " +
                     key->record.arn);
  }
  LoadedKey counted = *key;
  counted.record.on_demand_rotations += 1;
  HANGAR_RETURN_IF_ERROR(Rotate(counted, "ON_DEMAND", ToUnixMillis(ctx.now)));
  return key->record.arn;
}

Result<Page<RotationEntry>> KeyService::ListKeyRotations(const auth::RequestContext& ctx,
                                                         std::string_view key_id,
                                                         bool include_original, int limit,
                                                         std::string_view marker) {
  Count(Op::kListKeyRotations);
  HANGAR_RETURN_IF_ERROR(CheckLimit(limit, 1000));
  HANGAR_ASSIGN_OR_RETURN(auto key, Resolve(ctx, key_id, /*allow_alias=*/false,
                                            "ListKeyRotations"));
  const KeyRecord& k = key->record;
  if (!k.symmetric()) return Error(ErrorCode::kKmsUnsupportedOperation, "");
  uint32_t after = 0;
  if (!marker.empty()) {
    try {
      after = static_cast<uint32_t>(std::stoul(std::string(marker)));
    } catch (...) {
      return Error(ErrorCode::kKmsInvalidMarker, "Invalid marker: " + std::string(marker));
    }
  }
  Page<RotationEntry> page;
  for (const auto& v : k.versions) {
    if (v.version <= after) continue;
    if (v.rotation_type.empty() && !include_original) continue;
    if (page.items.size() == static_cast<size_t>(limit)) {
      page.truncated = true;
      break;
    }
    page.items.push_back({k.arn, v.material_id,
                          v.version == k.current().version ? "CURRENT" : "NON_CURRENT",
                          v.created_ms, v.rotation_type});
    page.next_marker = std::to_string(v.version);
  }
  if (!page.truncated) page.next_marker.clear();
  return page;
}

// --- Background lifecycle ---------------------------------------------------------------------

void KeyService::NoteKey(const auth::RequestContext& ctx, const KeyRecord& key) {
  if (!ctx.audit) return;
  ctx.audit->AddResource("AWS::KMS::Key", key.arn, key.account_id);
  ctx.audit->recipient_account_id = key.account_id;
}

Status KeyService::RecordServiceEvent(std::string_view event_name, const KeyRecord& key,
                                      const std::string& response_elements) {
  if (audit_ == nullptr) return Status::Ok();
  audit::AuditEvent e;
  e.event_time = clock_.Now();
  e.event_id = NewRequestId();
  e.event_type = "AwsServiceEvent";
  e.event_source = "kms.amazonaws.com";
  e.event_name = std::string(event_name);
  e.region = key.region;
  e.account_id = key.account_id;
  e.source_ip = "AWS Internal";
  e.user_agent = "AWS Internal";
  e.response_elements = response_elements;
  e.request_id = NewRequestId();
  e.resources.push_back({"AWS::KMS::Key", key.arn, key.account_id});
  e.recipient_account_id = key.account_id;
  return audit_->Record(e);
}

Result<int> KeyService::RunDueTasks() {
  const int64_t now = ToUnixMillis(clock_.Now());
  int changed = 0;
  Status first_failure;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto due, repository_.ListDueKeyIds(now, 100));
    if (due.empty()) break;
    int before = changed;
    size_t failures = 0;
    for (const auto& id : due) {
      std::lock_guard lock(mutate_mu_);
      // One key's failure (a commit conflict, the audit trail refusing) must not hold back the
      // deletions and expiries of the others: note it, go on, report the first.
      Status done = RunDueTask(id, now, changed);
      if (!done.ok()) {
        spdlog::warn("KMS key {}: due lifecycle work failed: {}", id, done.message());
        if (first_failure.ok()) first_failure = done;
        ++failures;
      }
    }
    if ((changed == before && due.size() < 100) || failures >= due.size()) break;
  }
  if (!first_failure.ok()) return first_failure;
  return changed;
}

Status KeyService::RunDueTask(const std::string& id, int64_t now, int& changed) {
  HANGAR_ASSIGN_OR_RETURN(auto key, repository_.FindStored(id));
  if (!key) return Status::Ok();
  const KeyRecord& k = key->record;
  if (k.NextDueMs() == 0 || k.NextDueMs() > now) return Status::Ok();
  if (k.has_imported_material() && k.valid_to_ms > 0 && k.valid_to_ms <= now) {
    HANGAR_RETURN_IF_ERROR(ExpireImportedMaterial(*key));
    ++changed;
  } else if (k.state == KeyState::kPendingDeletion) {
    HANGAR_RETURN_IF_ERROR(RecordServiceEvent(
        "DeleteKey", k, nlohmann::json{{"keyId", k.arn}}.dump()));
    HANGAR_ASSIGN_OR_RETURN(auto survivors, CopiesAfterDestroying(k, now));
    HANGAR_RETURN_IF_ERROR(repository_.Destroy(k, key->revision, survivors));
    spdlog::info("KMS key {} deleted at the end of its waiting period", k.arn);
    ++changed;
  } else if (k.rotation_enabled && k.state == KeyState::kEnabled) {
    LoadedKey next = *key;
    next.record.next_rotation_ms = k.next_rotation_ms + k.rotation_period_days * kDayMs;
    // After a long pause (dev clock jumps, downtime) rotate once, not once per missed period.
    if (next.record.next_rotation_ms <= now) {
      next.record.next_rotation_ms = now + k.rotation_period_days * kDayMs;
    }
    HANGAR_RETURN_IF_ERROR(RecordServiceEvent("RotateKey", k, ""));
    HANGAR_RETURN_IF_ERROR(Rotate(next, "AUTOMATIC", now));
    ++changed;
  } else {
    // Due but nothing to do now (e.g. rotation of a disabled key waits for re-enable):
    // push the due time past now so the sweep does not spin on it.
    KeyRecord updated = k;
    updated.next_rotation_ms = now + kDayMs;
    // A multi-Region key's copies share the rotation schedule: keep them alike.
    HANGAR_ASSIGN_OR_RETURN(auto writes, WithCopies(updated, key->revision));
    HANGAR_RETURN_IF_ERROR(repository_.Update(writes));
  }
  return Status::Ok();
}

Result<KeyRecord> KeyService::GetOrCreateAwsManagedKey(const auth::RequestContext& ctx,
                                                       std::string_view service,
                                                       std::string_view action) {
  std::lock_guard lock(mutate_mu_);
  return CreateAwsManagedKeyLocked(ctx, service, action);
}

// 1. An existing managed key is authorised as any key. 2. Otherwise the key it would be is built
//    in memory and the caller authorised against its policy first: a caller who may not use it
//    creates nothing. 3. Key and alias are stored in one commit.
Result<KeyRecord> KeyService::CreateAwsManagedKeyLocked(const auth::RequestContext& ctx,
                                                        std::string_view service,
                                                        std::string_view action) {
  static const std::map<std::string, std::string, std::less<>> kDescriptions = {
      {"s3", "Default key that protects my S3 objects when no other key is defined"},
      {"ebs", "Default key that protects my EBS volumes when no other key is defined"},
      {"lambda", "Default key that protects my Lambda functions when no other key is defined"},
      {"secretsmanager",
       "Default key that protects my Secrets Manager data when no other key is defined"},
  };
  auto description = kDescriptions.find(service);
  const std::string alias_name = "alias/aws/" + std::string(service);
  const std::string& account = ctx.principal.account_id;
  if (description == kDescriptions.end()) {
    return Error(ErrorCode::kKmsNotFound,
                 "Alias " + AliasArn(ctx.region, account, alias_name) + " is not found.");
  }
  HANGAR_ASSIGN_OR_RETURN(auto alias, repository_.FindAlias(account, ctx.region, alias_name));
  if (alias) {
    HANGAR_ASSIGN_OR_RETURN(auto key, repository_.Find(alias->target_key_id, ctx.region));
    if (key && !key->record.destroyed) {
      if (!action.empty()) HANGAR_RETURN_IF_ERROR(authorizer_.Authorize(ctx, action, &key->record));
      return key->record;
    }
  }
  const int64_t now = ToUnixMillis(ctx.now);
  KeyRecord key;
  key.key_id = crypto::RandomUuid();
  key.account_id = account;
  key.region = ctx.region;
  key.arn = KeyArn(key.region, key.account_id, key.key_id);
  key.creation_ms = now;
  key.description = description->second;
  key.key_manager = "AWS";
  key.policy = AwsManagedKeyPolicy(account, ctx.region, service);
  key.rotation_enabled = true;  // AWS rotates its managed keys yearly
  key.rotation_period_days = 365;
  key.next_rotation_ms = now + 365 * kDayMs;
  // A key of origin EXTERNAL waits for its material (ImportKeyMaterial, key_import.cc).
  if (key.external()) key.state = KeyState::kPendingImport;
  if (!key.external()) key.versions.push_back({1, RandomMaterialId(), now, ""});
  if (!action.empty()) HANGAR_RETURN_IF_ERROR(authorizer_.Authorize(ctx, action, &key));
  SecretBytes material = crypto::RandomSecret(32);
  HANGAR_RETURN_IF_ERROR(
      repository_.Create(key, &material, Alias{alias_name, key.key_id, now, now}));
  return key;
}

}  // namespace hangar::kms
