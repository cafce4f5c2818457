#include "kms/key.h"

#include <nlohmann/json.hpp>

#include "crypto/base64.h"

namespace hangar::kms {
namespace {

using nlohmann::json;

KeyState StateFromName(std::string_view name) {
  if (name == "Disabled") return KeyState::kDisabled;
  if (name == "PendingDeletion") return KeyState::kPendingDeletion;
  if (name == "PendingImport") return KeyState::kPendingImport;
  if (name == "PendingReplicaDeletion") return KeyState::kPendingReplicaDeletion;
  return KeyState::kEnabled;
}

}  // namespace

std::string_view KeyStateName(KeyState state) {
  switch (state) {
    case KeyState::kEnabled:
      return "Enabled";
    case KeyState::kDisabled:
      return "Disabled";
    case KeyState::kPendingDeletion:
      return "PendingDeletion";
    case KeyState::kPendingImport:
      return "PendingImport";
    case KeyState::kPendingReplicaDeletion:
      return "PendingReplicaDeletion";
  }
  return "Enabled";
}

const MaterialVersion* KeyRecord::FindVersion(uint32_t version) const {
  for (const auto& v : versions) {
    if (v.version == version) return &v;
  }
  return nullptr;
}

int64_t KeyRecord::NextDueMs() const {
  if (destroyed) return 0;
  int64_t due = 0;
  auto consider = [&due](int64_t at) {
    if (at > 0 && (due == 0 || at < due)) due = at;
  };
  if (state == KeyState::kPendingDeletion) {
    consider(deletion_ms);
  } else if (state == KeyState::kPendingReplicaDeletion) {
    // Waits for its replicas' deletion, which moves it to PendingDeletion.
  } else if (rotation_enabled && !replica()) {  // the primary rotates for all copies
    consider(next_rotation_ms);
  }
  if (has_imported_material()) consider(valid_to_ms);  // imported material expires
  return due;
}

std::string EncodeKeyRecord(const KeyRecord& k) {
  json versions = json::array();
  for (const auto& v : k.versions) {
    versions.push_back({{"version", v.version},
                        {"material_id", v.material_id},
                        {"created_ms", v.created_ms},
                        {"rotation_type", v.rotation_type}});
  }
  json tags = json::array();
  for (const auto& t : k.tags) tags.push_back({{"key", t.key}, {"value", t.value}});
  json j = {{"key_id", k.key_id},
            {"account_id", k.account_id},
            {"region", k.region},
            {"arn", k.arn},
            {"creation_ms", k.creation_ms},
            {"description", k.description},
            {"key_usage", k.key_usage},
            {"key_spec", k.key_spec},
            {"origin", k.origin},
            {"key_manager", k.key_manager},
            {"state", KeyStateName(k.state)},
            {"deletion_ms", k.deletion_ms},
            {"pending_window_days", k.pending_window_days},
            {"multi_region", k.multi_region},
            {"primary_region", k.primary_region},
            {"replica_regions", k.replica_regions},
            {"policy", k.policy},
            {"tags", tags},
            {"rotation_enabled", k.rotation_enabled},
            {"rotation_period_days", k.rotation_period_days},
            {"next_rotation_ms", k.next_rotation_ms},
            {"on_demand_rotations", k.on_demand_rotations},
            {"versions", versions},
            {"destroyed", k.destroyed}};
  if (!k.public_key.empty()) j["public_key"] = crypto::Base64Encode(k.public_key);
  if (!k.expiration_model.empty()) {
    j["expiration_model"] = k.expiration_model;
    j["valid_to_ms"] = k.valid_to_ms;
  }
  return j.dump();
}

Result<KeyRecord> DecodeKeyRecord(std::string_view text) {
  try {
    json j = json::parse(text);
    KeyRecord k;
    k.key_id = j.at("key_id").get<std::string>();
    k.account_id = j.at("account_id").get<std::string>();
    k.region = j.at("region").get<std::string>();
    k.arn = j.at("arn").get<std::string>();
    k.creation_ms = j.at("creation_ms").get<int64_t>();
    k.description = j.at("description").get<std::string>();
    k.key_usage = j.at("key_usage").get<std::string>();
    k.key_spec = j.at("key_spec").get<std::string>();
    k.origin = j.at("origin").get<std::string>();
    k.key_manager = j.at("key_manager").get<std::string>();
    k.state = StateFromName(j.at("state").get<std::string>());
    k.deletion_ms = j.at("deletion_ms").get<int64_t>();
    k.pending_window_days = j.at("pending_window_days").get<int>();
    k.multi_region = j.at("multi_region").get<bool>();
    // Records from before ReplicateKey: a multi-Region key was its own primary.
    k.primary_region = j.value("primary_region", std::string());
    if (k.multi_region && k.primary_region.empty()) k.primary_region = k.region;
    k.replica_regions = j.value("replica_regions", std::vector<std::string>{});
    k.policy = j.at("policy").get<std::string>();
    for (const auto& t : j.at("tags")) {
      k.tags.push_back({t.at("key").get<std::string>(), t.at("value").get<std::string>()});
    }
    k.rotation_enabled = j.at("rotation_enabled").get<bool>();
    k.rotation_period_days = j.at("rotation_period_days").get<int>();
    k.next_rotation_ms = j.at("next_rotation_ms").get<int64_t>();
    k.on_demand_rotations = j.at("on_demand_rotations").get<int>();
    for (const auto& v : j.at("versions")) {
      k.versions.push_back({v.at("version").get<uint32_t>(), v.at("material_id").get<std::string>(),
                            v.at("created_ms").get<int64_t>(),
                            v.at("rotation_type").get<std::string>()});
    }
    k.destroyed = j.at("destroyed").get<bool>();
    if (j.contains("public_key")) {
      auto der = crypto::Base64Decode(j.at("public_key").get<std::string>());
      if (!der) return InternalError("stored key record is corrupt: public_key");
      k.public_key = std::move(*der);
    }
    k.expiration_model = j.value("expiration_model", "");
    k.valid_to_ms = j.value("valid_to_ms", int64_t{0});
    return k;
  } catch (const json::exception& e) {
    return InternalError(std::string("stored key record is corrupt: ") + e.what());
  }
}

std::string ReplicaStorageId(std::string_view key_id, std::string_view region) {
  std::string id(key_id);
  id += '@';
  id += region;
  return id;
}

std::string KeyArn(std::string_view region, std::string_view account, std::string_view key_id) {
  std::string arn = "arn:aws:kms:";
  arn.append(region).append(":").append(account).append(":key/").append(key_id);
  return arn;
}

std::string AliasArn(std::string_view region, std::string_view account, std::string_view alias) {
  std::string arn = "arn:aws:kms:";
  arn.append(region).append(":").append(account).append(":").append(alias);
  return arn;
}

}  // namespace hangar::kms
