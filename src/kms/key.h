#pragma once
// The KMS key model: a key's metadata record, its states and its key-material versions.
// Key material itself never lives in these structs (see key_repository.h).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hangar::kms {

// kPendingImport: a key of origin EXTERNAL without key material (never imported, deleted or
// expired). kPendingReplicaDeletion: a multi-Region primary scheduled for deletion while replicas
// remain; its waiting period starts when the last replica is gone.
enum class KeyState { kEnabled, kDisabled, kPendingDeletion, kPendingImport, kPendingReplicaDeletion };

std::string_view KeyStateName(KeyState state);

struct Tag {
  std::string key;
  std::string value;
};

// One backing-key version. Version 1 is created with the key; each rotation adds one.
struct MaterialVersion {
  uint32_t version = 0;
  std::string material_id;  // 64 lower-case hex, as AWS's KeyMaterialId
  int64_t created_ms = 0;
  std::string rotation_type;  // "" for the original material, else AUTOMATIC or ON_DEMAND
};

struct KeyRecord {
  std::string key_id;
  std::string account_id;
  std::string region;
  std::string arn;
  int64_t creation_ms = 0;
  std::string description;
  std::string key_usage = "ENCRYPT_DECRYPT";
  std::string key_spec = "SYMMETRIC_DEFAULT";
  std::string origin = "AWS_KMS";
  std::string key_manager = "CUSTOMER";  // or AWS for AWS managed keys
  KeyState state = KeyState::kEnabled;
  // Pending deletion: when the key will be destroyed and the window it was scheduled with.
  int64_t deletion_ms = 0;
  int pending_window_days = 0;
  bool multi_region = false;
  // Multi-Region keys (key_multi_region.cc): the primary's region and every replica's region, kept
  // alike on every copy. Shared with all copies: key material, spec, usage, origin, rotation.
  std::string primary_region;
  std::vector<std::string> replica_regions;
  std::string policy;  // stored verbatim
  std::vector<Tag> tags;
  // Automatic rotation.
  bool rotation_enabled = false;
  int rotation_period_days = 365;
  int64_t next_rotation_ms = 0;
  int on_demand_rotations = 0;
  std::vector<MaterialVersion> versions;  // ascending; the last one is current
  // Asymmetric keys: the public half (DER SubjectPublicKeyInfo), not secret. Their material (one
  // version, never rotated) is the private key as DER PKCS#8.
  std::string public_key;
  // Origin EXTERNAL: the imported material's expiry. expiration_model is empty while the key has
  // no material, else KEY_MATERIAL_EXPIRES (valid_to_ms set) or KEY_MATERIAL_DOES_NOT_EXPIRE.
  std::string expiration_model;
  int64_t valid_to_ms = 0;
  // A destroyed key leaves a tombstone (ids only) so its ciphertexts answer NotFound forever.
  bool destroyed = false;
  // Where the record is stored (not serialised): the key id, or for a multi-Region replica created
  // by ReplicateKey "<key id>@<region>". Set by KeyRepository; empty means the key id.
  std::string storage_id;

  const MaterialVersion& current() const { return versions.back(); }
  const MaterialVersion* FindVersion(uint32_t version) const;
  bool aws_managed() const { return key_manager == "AWS"; }
  bool symmetric() const { return key_spec == "SYMMETRIC_DEFAULT"; }
  bool external() const { return origin == "EXTERNAL"; }
  bool has_imported_material() const { return !expiration_model.empty(); }
  bool pending_deletion() const {
    return state == KeyState::kPendingDeletion || state == KeyState::kPendingReplicaDeletion;
  }
  bool replica() const { return multi_region && !primary_region.empty() && primary_region != region; }
  const std::string& stored_as() const { return storage_id.empty() ? key_id : storage_id; }
  // When the lifecycle sweeper must look at this key next (0: never).
  int64_t NextDueMs() const;
};

// Storage encoding (JSON). Decoding errors are kInternal: the store holds only what we wrote.
std::string EncodeKeyRecord(const KeyRecord& key);
Result<KeyRecord> DecodeKeyRecord(std::string_view text);

// Where a ReplicateKey replica of `key_id` in `region` is stored.
std::string ReplicaStorageId(std::string_view key_id, std::string_view region);

std::string KeyArn(std::string_view region, std::string_view account, std::string_view key_id);
std::string AliasArn(std::string_view region, std::string_view account, std::string_view alias);

}  // namespace hangar::kms
