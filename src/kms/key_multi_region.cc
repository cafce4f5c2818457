// KeyService's multi-Region keys: ReplicateKey, UpdatePrimaryRegion and the bookkeeping that keeps
// the copies of one key alike (docs/kms-multi-region.md).
//
// A multi-Region key is one record per region, all with the same mrk- key id. They share their key
// material (one set of material documents), spec, usage, origin and rotation; each has its own
// state, description, policy, tags, aliases and grants. The primary and replica regions are written
// on every copy in the same commit that changes them, so DescribeKey in any region shows the whole
// set. Ciphertext names only the key id, so a copy in any region opens what another sealed.

#include <algorithm>

#include "kms/crypto_checks.h"
#include "kms/key_service.h"
#include "kms/validation.h"

namespace hangar::kms {
namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

// The properties every copy of a multi-Region key has alike.
void CopySharedProperties(const KeyRecord& from, KeyRecord& to) {
  to.versions = from.versions;
  to.rotation_enabled = from.rotation_enabled;
  to.rotation_period_days = from.rotation_period_days;
  to.next_rotation_ms = from.next_rotation_ms;
  to.on_demand_rotations = from.on_demand_rotations;
  to.primary_region = from.primary_region;
  to.replica_regions = from.replica_regions;
}

std::vector<std::string> RegionsOf(const KeyRecord& k) {
  std::vector<std::string> regions = {k.primary_region.empty() ? k.region : k.primary_region};
  regions.insert(regions.end(), k.replica_regions.begin(), k.replica_regions.end());
  return regions;
}

// The model's pattern for region names: ^([a-z]+-){2,3}\d+$ (e.g. eu-west-1, us-gov-east-1).
bool IsRegionName(std::string_view name) {
  size_t parts = 0;
  size_t start = 0;
  for (;;) {
    size_t dash = name.find('-', start);
    std::string_view part = name.substr(start, dash == std::string_view::npos ? name.npos
                                                                              : dash - start);
    if (part.empty()) return false;
    const bool last = dash == std::string_view::npos;
    for (char c : part) {
      if (last ? (c < '0' || c > '9') : (c < 'a' || c > 'z')) return false;
    }
    ++parts;
    if (last) break;
    start = dash + 1;
  }
  return parts == 3 || parts == 4;
}

void CheckRegionName(ValidationErrors& v, std::string_view name, std::string_view member) {
  if (!name.empty() && !IsRegionName(name)) {
    v.Add(name, member, R"(Member must satisfy regular expression pattern: ^([a-z]+-){2,3}\d+$)");
  }
}

std::vector<std::pair<std::string, std::string>> TagPairsOf(const std::vector<Tag>& tags) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& t : tags) out.emplace_back(t.key, t.value);
  return out;
}

Status NotPrimary(const KeyRecord& k) {
  return Error(ErrorCode::kKmsUnsupportedOperation, k.arn + " is not a multi-region primary key.");
}

// ReplicateKey and UpdatePrimaryRegion need an Enabled key (kms.md §5: Disabled [1], pending
// deletion [3], pending import [5]).
Status RequireUsableForReplication(const KeyRecord& k) { return RequireEnabledForCrypto(k); }

}  // namespace

Result<std::vector<std::shared_ptr<const LoadedKey>>> KeyService::OtherCopies(
    const KeyRecord& key) {
  std::vector<std::shared_ptr<const LoadedKey>> out;
  if (!key.multi_region) return out;
  for (const auto& region : RegionsOf(key)) {
    if (region == key.region) continue;
    HANGAR_ASSIGN_OR_RETURN(auto copy, repository_.Find(key.key_id, region));
    if (!copy || copy->record.destroyed || copy->record.region != region) {
      return InternalError("multi-Region key " + key.key_id + " has no live copy in " + region);
    }
    out.push_back(std::move(copy));
  }
  return out;
}

Result<std::vector<KeyWrite>> KeyService::WithCopies(const KeyRecord& updated, int64_t revision) {
  std::vector<KeyWrite> writes = {{updated, revision}};
  HANGAR_ASSIGN_OR_RETURN(auto copies, OtherCopies(updated));
  for (const auto& copy : copies) {
    KeyWrite w{copy->record, copy->revision};
    CopySharedProperties(updated, w.record);
    writes.push_back(std::move(w));
  }
  return writes;
}

Result<std::vector<KeyWrite>> KeyService::CopiesAfterDestroying(const KeyRecord& key,
                                                                int64_t now_ms) {
  std::vector<KeyWrite> writes;
  HANGAR_ASSIGN_OR_RETURN(auto copies, OtherCopies(key));
  for (const auto& copy : copies) {
    KeyWrite w{copy->record, copy->revision};
    KeyRecord& r = w.record;
    std::erase(r.replica_regions, key.region);
    if (r.state == KeyState::kPendingReplicaDeletion && r.replica_regions.empty()) {
      r.state = KeyState::kPendingDeletion;
      r.deletion_ms = now_ms + r.pending_window_days * kDayMs;
    }
    writes.push_back(std::move(w));
  }
  return writes;
}

Result<ReplicateKeyOutput> KeyService::ReplicateKey(const auth::RequestContext& ctx,
                                                    const ReplicateKeyInput& input) {
  Count(Op::kReplicateKey);
  ValidationErrors v;
  v.CheckLength(input.key_id, "keyId", 1, 2048);
  v.CheckLength(input.replica_region, "replicaRegion", 1, 32);
  CheckRegionName(v, input.replica_region, "replicaRegion");
  if (input.description) v.CheckLength(*input.description, "description", 0, 8192);
  if (input.policy) v.CheckLength(*input.policy, "policy", 1, 131072);
  HANGAR_RETURN_IF_ERROR(v.ToStatus());
  HANGAR_RETURN_IF_ERROR(ValidateTags(input.tags, 0));

  std::lock_guard lock(mutate_mu_);
  KmsRequestDetails details;
  details.conditions = {{"kms:replicaregion", input.replica_region}};
  HANGAR_ASSIGN_OR_RETURN(auto primary, Resolve(ctx, input.key_id, /*allow_alias=*/false,
                                                "ReplicateKey", details));
  const KeyRecord& p = primary->record;
  if (!p.multi_region || p.replica()) return NotPrimary(p);
  HANGAR_RETURN_IF_ERROR(RequireUsableForReplication(p));
  if (p.external()) {
    return Error(ErrorCode::kKmsUnsupportedOperation,
                 "Replicating keys with imported key material is not supported by this server.");
  }
  const auto& served = options_.regions;
  if (!served.empty() &&
      std::find(served.begin(), served.end(), input.replica_region) == served.end()) {
    return Error(ErrorCode::kKmsUnsupportedOperation,
                 "Region " + input.replica_region + " is not served by this server.");
  }
  const std::vector<std::string> regions = RegionsOf(p);
  if (std::find(regions.begin(), regions.end(), input.replica_region) != regions.end()) {
    return Error(ErrorCode::kKmsAlreadyExists,
                 "Key " + KeyArn(input.replica_region, p.account_id, p.key_id) +
                     " already exists");
  }

  // The replica is created in its own region: the caller needs kms:CreateKey there (IAM).
  auth::RequestContext in_replica_region = ctx;
  in_replica_region.region = input.replica_region;
  KmsRequestDetails create_details;
  create_details.request_tags = TagPairsOf(input.tags);
  create_details.bypass_lockout = input.bypass_policy_lockout_safety_check;
  create_details.conditions = {{"kms:keyspec", p.key_spec},
                               {"kms:keyusage", p.key_usage},
                               {"kms:keyorigin", p.origin},
                               {"kms:multiregion", "true"}};
  HANGAR_RETURN_IF_ERROR(
      authorizer_.Authorize(in_replica_region, "CreateKey", nullptr, create_details));

  KeyRecord replica = p;
  replica.region = input.replica_region;
  replica.arn = KeyArn(replica.region, replica.account_id, replica.key_id);
  replica.storage_id = ReplicaStorageId(replica.key_id, replica.region);
  replica.creation_ms = ToUnixMillis(ctx.now);
  replica.description = input.description.value_or("");
  replica.policy = input.policy.value_or(DefaultKeyPolicy(replica.account_id));
  replica.tags = input.tags;
  replica.state = KeyState::kEnabled;
  replica.deletion_ms = 0;
  replica.pending_window_days = 0;
  replica.primary_region = p.region;
  replica.replica_regions.push_back(input.replica_region);
  std::sort(replica.replica_regions.begin(), replica.replica_regions.end());
  if (input.policy) {
    HANGAR_RETURN_IF_ERROR(authorizer_.CheckNewKeyPolicy(
        in_replica_region, replica, input.bypass_policy_lockout_safety_check));
  }
  // Every existing copy learns of the new replica in the same commit.
  HANGAR_ASSIGN_OR_RETURN(auto writes, WithCopies(p, primary->revision));
  for (auto& w : writes) w.record.replica_regions = replica.replica_regions;
  HANGAR_RETURN_IF_ERROR(repository_.CreateReplica(replica, *primary, writes));
  return ReplicateKeyOutput{std::move(replica)};
}

Status KeyService::UpdatePrimaryRegion(const auth::RequestContext& ctx, std::string_view key_id,
                                       std::string_view primary_region) {
  Count(Op::kUpdatePrimaryRegion);
  ValidationErrors v;
  v.CheckLength(key_id, "keyId", 1, 2048);
  v.CheckLength(primary_region, "primaryRegion", 1, 32);
  CheckRegionName(v, primary_region, "primaryRegion");
  HANGAR_RETURN_IF_ERROR(v.ToStatus());

  std::lock_guard lock(mutate_mu_);
  KmsRequestDetails details;
  details.conditions = {{"kms:primaryregion", std::string(primary_region)}};
  HANGAR_ASSIGN_OR_RETURN(auto primary, Resolve(ctx, key_id, /*allow_alias=*/false,
                                                "UpdatePrimaryRegion", details));
  const KeyRecord& p = primary->record;
  if (!p.multi_region || p.replica()) return NotPrimary(p);
  HANGAR_RETURN_IF_ERROR(RequireUsableForReplication(p));
  if (primary_region == p.region) {
    return Error(ErrorCode::kKmsUnsupportedOperation,
                 p.arn + " is already the primary key in " + p.region + ".");
  }
  if (std::find(p.replica_regions.begin(), p.replica_regions.end(), primary_region) ==
      p.replica_regions.end()) {
    return Error(ErrorCode::kKmsNotFound,
                 "Key '" + KeyArn(primary_region, p.account_id, p.key_id) + "' does not exist");
  }
  // The caller must also be allowed kms:UpdatePrimaryRegion on the replica that becomes primary.
  HANGAR_ASSIGN_OR_RETURN(auto target, repository_.Find(p.key_id, primary_region));
  if (!target || target->record.destroyed || target->record.region != primary_region) {
    return InternalError("multi-Region key " + p.key_id + " lost its replica in " +
                         std::string(primary_region));
  }
  auth::RequestContext in_target_region = ctx;
  in_target_region.region = std::string(primary_region);
  HANGAR_RETURN_IF_ERROR(
      AuthorizeKey(in_target_region, "UpdatePrimaryRegion", target->record, details));
  if (target->record.pending_deletion()) return PendingDeletionError(target->record);

  KeyRecord updated = p;
  updated.primary_region = std::string(primary_region);
  std::erase(updated.replica_regions, primary_region);
  updated.replica_regions.push_back(p.region);
  std::sort(updated.replica_regions.begin(), updated.replica_regions.end());
  HANGAR_ASSIGN_OR_RETURN(auto writes, WithCopies(updated, primary->revision));
  return repository_.Update(writes);
}

}  // namespace hangar::kms
