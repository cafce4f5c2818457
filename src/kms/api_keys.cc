// KMS operations on keys themselves: creation and lifecycle, multi-Region copies, rotation and
// imported key material. Each reads its members in the order AWS reports validation errors.

#include "kms/api_codec.h"

namespace hangar::kms::api {
namespace {

// ---------------------------------------------------------------------------------------------
// Creation and lifecycle

Result<json> CreateKey(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  CreateKeyInput input;
  input.policy = in.String("Policy");
  input.description = in.String("Description").value_or("");
  input.key_usage = in.String("KeyUsage");
  input.key_spec = in.String("KeySpec");
  // CustomerMasterKeySpec is KeySpec's deprecated name; KeySpec wins when both are sent.
  if (!input.key_spec) input.key_spec = in.String("CustomerMasterKeySpec");
  input.origin = in.String("Origin");
  input.custom_key_store_id = in.String("CustomKeyStoreId");
  input.bypass_policy_lockout_safety_check = in.Boolean("BypassPolicyLockoutSafetyCheck");
  input.tags = in.Tags("Tags");
  input.multi_region = in.Boolean("MultiRegion");
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_ASSIGN_OR_RETURN(KeyRecord key, s.CreateKey(ctx, input));
  return json{{"KeyMetadata", KeyMetadataJson(key)}};
}

Result<json> DescribeKey(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  HANGAR_ASSIGN_OR_RETURN(KeyRecord key, s.DescribeKey(ctx, key_id));
  return json{{"KeyMetadata", KeyMetadataJson(key)}};
}

Result<json> ListKeys(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  PageRequest request = ReadPageRequest(in);
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_ASSIGN_OR_RETURN(auto page, s.ListKeys(ctx, request.LimitOr(100), request.Marker()));
  return PageJson("Keys", page, [](const KeyListEntry& k) {
    return json{{"KeyId", k.key_id}, {"KeyArn", k.key_arn}};
  });
}

Result<json> UpdateKeyDescription(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  std::string description = in.RequiredString("Description");
  HANGAR_RETURN_IF_ERROR(in.status());
  return EmptyResponse(s.UpdateKeyDescription(ctx, key_id, description));
}

Result<json> EnableKey(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  HANGAR_ASSIGN_OR_RETURN(std::string key_id, ReadKeyIdOnly(in));
  return EmptyResponse(s.EnableKey(ctx, key_id));
}

Result<json> DisableKey(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  HANGAR_ASSIGN_OR_RETURN(std::string key_id, ReadKeyIdOnly(in));
  return EmptyResponse(s.DisableKey(ctx, key_id));
}

Result<json> ScheduleKeyDeletion(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  auto window = in.Integer("PendingWindowInDays");
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_ASSIGN_OR_RETURN(auto out, s.ScheduleKeyDeletion(ctx, key_id, window));
  json response = {{"KeyId", out.key_arn},
                   {"KeyState", KeyStateName(out.state)},
                   {"PendingWindowInDays", out.pending_window_days}};
  // A primary waiting for its replicas has no deletion date yet.
  if (out.deletion_ms > 0) response["DeletionDate"] = EpochSeconds(out.deletion_ms);
  return response;
}

Result<json> CancelKeyDeletion(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  HANGAR_ASSIGN_OR_RETURN(std::string key_id, ReadKeyIdOnly(in));
  HANGAR_ASSIGN_OR_RETURN(std::string arn, s.CancelKeyDeletion(ctx, key_id));
  return json{{"KeyId", arn}};
}

// ---------------------------------------------------------------------------------------------
// Multi-Region keys

Result<json> ReplicateKey(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  ReplicateKeyInput input;
  input.key_id = in.RequiredString("KeyId");
  input.replica_region = in.RequiredString("ReplicaRegion");
  input.policy = in.String("Policy");
  input.bypass_policy_lockout_safety_check = in.Boolean("BypassPolicyLockoutSafetyCheck");
  input.description = in.String("Description");
  input.tags = in.Tags("Tags");
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_ASSIGN_OR_RETURN(auto out, s.ReplicateKey(ctx, input));
  return json{{"ReplicaKeyMetadata", KeyMetadataJson(out.replica)},
              {"ReplicaPolicy", out.replica.policy},
              {"ReplicaTags", TagsJson(out.replica.tags)}};
}

Result<json> UpdatePrimaryRegion(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  std::string region = in.RequiredString("PrimaryRegion");
  HANGAR_RETURN_IF_ERROR(in.status());
  return EmptyResponse(s.UpdatePrimaryRegion(ctx, key_id, region));
}

// ---------------------------------------------------------------------------------------------
// Rotation

Result<json> EnableKeyRotation(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  auto period = in.Integer("RotationPeriodInDays");
  HANGAR_RETURN_IF_ERROR(in.status());
  return EmptyResponse(s.EnableKeyRotation(ctx, key_id, period));
}

Result<json> DisableKeyRotation(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  HANGAR_ASSIGN_OR_RETURN(std::string key_id, ReadKeyIdOnly(in));
  return EmptyResponse(s.DisableKeyRotation(ctx, key_id));
}

Result<json> GetKeyRotationStatus(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  HANGAR_ASSIGN_OR_RETURN(std::string key_id, ReadKeyIdOnly(in));
  HANGAR_ASSIGN_OR_RETURN(auto st, s.GetKeyRotationStatus(ctx, key_id));
  json out = {{"KeyRotationEnabled", st.enabled}, {"KeyId", st.key_arn}};
  if (st.period_days) out["RotationPeriodInDays"] = *st.period_days;
  if (st.next_rotation_ms) out["NextRotationDate"] = EpochSeconds(*st.next_rotation_ms);
  return out;
}

Result<json> RotateKeyOnDemand(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  HANGAR_ASSIGN_OR_RETURN(std::string key_id, ReadKeyIdOnly(in));
  HANGAR_ASSIGN_OR_RETURN(std::string arn, s.RotateKeyOnDemand(ctx, key_id));
  return json{{"KeyId", arn}};
}

json RotationJson(const RotationEntry& r) {
  json entry = {{"KeyId", r.key_arn},
                {"KeyMaterialId", r.material_id},
                {"KeyMaterialState", r.material_state},
                {"RotationDate", EpochSeconds(r.rotation_ms)}};
  if (!r.rotation_type.empty()) entry["RotationType"] = r.rotation_type;
  return entry;
}

Result<json> ListKeyRotations(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  auto include = in.String("IncludeKeyMaterial");
  PageRequest request = ReadPageRequest(in);
  HANGAR_RETURN_IF_ERROR(in.status());
  if (include) {
    ValidationErrors v;
    v.CheckEnum(*include, "includeKeyMaterial", {"ALL_KEY_MATERIAL", "ROTATIONS_ONLY"});
    HANGAR_RETURN_IF_ERROR(v.ToStatus());
  }
  HANGAR_ASSIGN_OR_RETURN(auto page, s.ListKeyRotations(ctx, key_id, include == "ALL_KEY_MATERIAL",
                                                        request.LimitOr(100), request.Marker()));
  return PageJson("Rotations", page, RotationJson);
}

// ---------------------------------------------------------------------------------------------
// Imported key material

Result<json> GetParametersForImport(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  std::string algorithm = in.RequiredString("WrappingAlgorithm");
  std::string spec = in.RequiredString("WrappingKeySpec");
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_ASSIGN_OR_RETURN(ImportParameters out,
                          s.GetParametersForImport(ctx, key_id, algorithm, spec));
  return json{{"KeyId", out.key_arn},
              {"ImportToken", B64(out.import_token)},
              {"PublicKey", B64(out.public_key)},
              {"ParametersValidTo", EpochSeconds(out.valid_to_ms)}};
}

Result<json> ImportKeyMaterial(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  ImportKeyMaterialInput input;
  input.key_id = in.RequiredString("KeyId");
  input.import_token = in.Blob("ImportToken", true).value_or("");
  input.encrypted_key_material = in.Blob("EncryptedKeyMaterial", true).value_or("");
  input.expiration_model = in.String("ExpirationModel");
  input.valid_to_ms = in.Timestamp("ValidTo");
  input.import_type = in.String("ImportType");
  // Accepted and type-checked, but Hangar keeps no description and names material itself.
  in.String("KeyMaterialDescription");
  in.String("KeyMaterialId");
  HANGAR_RETURN_IF_ERROR(in.status());
  auto out = s.ImportKeyMaterial(ctx, input);
  Wipe(input.encrypted_key_material);
  if (!out.ok()) return out.status();
  return json{{"KeyId", out->key_arn}, {"KeyMaterialId", out->material_id}};
}

Result<json> DeleteImportedKeyMaterial(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  auto material_id = in.String("KeyMaterialId");
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_ASSIGN_OR_RETURN(ImportedMaterial out,
                          s.DeleteImportedKeyMaterial(ctx, key_id, material_id));
  json response = {{"KeyId", out.key_arn}};
  if (!out.material_id.empty()) response["KeyMaterialId"] = out.material_id;
  return response;
}

}  // namespace

std::span<const Operation> KeyOperations() {
  static constexpr Operation kOperations[] = {
      {"CreateKey", CreateKey, Mode::kWrite},
      {"DescribeKey", DescribeKey, Mode::kRead},
      {"ListKeys", ListKeys, Mode::kRead},
      {"UpdateKeyDescription", UpdateKeyDescription, Mode::kWrite},
      {"EnableKey", EnableKey, Mode::kWrite},
      {"DisableKey", DisableKey, Mode::kWrite},
      {"ScheduleKeyDeletion", ScheduleKeyDeletion, Mode::kWrite},
      {"CancelKeyDeletion", CancelKeyDeletion, Mode::kWrite},
      {"ReplicateKey", ReplicateKey, Mode::kWrite},
      {"UpdatePrimaryRegion", UpdatePrimaryRegion, Mode::kWrite},
      {"EnableKeyRotation", EnableKeyRotation, Mode::kWrite},
      {"DisableKeyRotation", DisableKeyRotation, Mode::kWrite},
      {"GetKeyRotationStatus", GetKeyRotationStatus, Mode::kRead},
      {"RotateKeyOnDemand", RotateKeyOnDemand, Mode::kWrite},
      {"ListKeyRotations", ListKeyRotations, Mode::kRead},
      {"GetParametersForImport", GetParametersForImport, Mode::kRead},
      {"ImportKeyMaterial", ImportKeyMaterial, Mode::kWrite},
      {"DeleteImportedKeyMaterial", DeleteImportedKeyMaterial, Mode::kWrite},
  };
  return kOperations;
}

}  // namespace hangar::kms::api
