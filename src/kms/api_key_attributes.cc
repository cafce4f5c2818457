// KMS operations on what is attached to a key: aliases, tags and key policies.

#include "kms/api_codec.h"

namespace hangar::kms::api {
namespace {

// ---------------------------------------------------------------------------------------------
// Aliases

Result<json> CreateAlias(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string alias = in.RequiredString("AliasName");
  std::string target = in.RequiredString("TargetKeyId");
  HANGAR_RETURN_IF_ERROR(in.status());
  return EmptyResponse(s.CreateAlias(ctx, alias, target));
}

Result<json> UpdateAlias(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string alias = in.RequiredString("AliasName");
  std::string target = in.RequiredString("TargetKeyId");
  HANGAR_RETURN_IF_ERROR(in.status());
  return EmptyResponse(s.UpdateAlias(ctx, alias, target));
}

Result<json> DeleteAlias(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string alias = in.RequiredString("AliasName");
  HANGAR_RETURN_IF_ERROR(in.status());
  return EmptyResponse(s.DeleteAlias(ctx, alias));
}

json AliasJson(const AliasEntry& a) {
  json entry = {{"AliasName", a.alias_name}, {"AliasArn", a.alias_arn}};
  // A predefined AWS alias whose managed key does not exist yet has no target.
  if (!a.target_key_id.empty()) {
    entry["TargetKeyId"] = a.target_key_id;
    entry["CreationDate"] = EpochSeconds(a.created_ms);
    entry["LastUpdatedDate"] = EpochSeconds(a.updated_ms);
  }
  return entry;
}

Result<json> ListAliases(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  auto key_id = in.String("KeyId");
  PageRequest request = ReadPageRequest(in);
  HANGAR_RETURN_IF_ERROR(in.status());
  std::optional<std::string_view> filter;
  if (key_id) filter = *key_id;
  HANGAR_ASSIGN_OR_RETURN(auto page,
                          s.ListAliases(ctx, filter, request.LimitOr(50), request.Marker()));
  return PageJson("Aliases", page, AliasJson);
}

// ---------------------------------------------------------------------------------------------
// Tags

Result<json> TagResource(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  auto tags = in.Tags("Tags", true);
  HANGAR_RETURN_IF_ERROR(in.status());
  return EmptyResponse(s.TagResource(ctx, key_id, tags));
}

Result<json> UntagResource(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  auto keys = in.StringList("TagKeys", true);
  HANGAR_RETURN_IF_ERROR(in.status());
  return EmptyResponse(s.UntagResource(ctx, key_id, keys));
}

Result<json> ListResourceTags(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  PageRequest request = ReadPageRequest(in);
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_ASSIGN_OR_RETURN(auto page,
                          s.ListResourceTags(ctx, key_id, request.LimitOr(50), request.Marker()));
  return PageJson("Tags", page, [](const Tag& t) {
    return json{{"TagKey", t.key}, {"TagValue", t.value}};
  });
}

// ---------------------------------------------------------------------------------------------
// Key policies

Result<json> GetKeyPolicy(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  std::string name = in.String("PolicyName").value_or("default");
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_ASSIGN_OR_RETURN(std::string policy, s.GetKeyPolicy(ctx, key_id, name));
  return json{{"Policy", policy}, {"PolicyName", name}};
}

Result<json> PutKeyPolicy(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  std::string policy = in.RequiredString("Policy");
  std::string name = in.String("PolicyName").value_or("default");
  bool bypass = in.Boolean("BypassPolicyLockoutSafetyCheck");
  HANGAR_RETURN_IF_ERROR(in.status());
  return EmptyResponse(s.PutKeyPolicy(ctx, key_id, name, policy, bypass));
}

Result<json> ListKeyPolicies(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  PageRequest request = ReadPageRequest(in);
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_ASSIGN_OR_RETURN(auto page,
                          s.ListKeyPolicies(ctx, key_id, request.LimitOr(100), request.Marker()));
  return PageJson("PolicyNames", page, [](const std::string& name) { return json(name); });
}

}  // namespace

std::span<const Operation> KeyAttributeOperations() {
  static constexpr Operation kOperations[] = {
      {"CreateAlias", CreateAlias, Mode::kWrite},
      {"UpdateAlias", UpdateAlias, Mode::kWrite},
      {"DeleteAlias", DeleteAlias, Mode::kWrite},
      {"ListAliases", ListAliases, Mode::kRead},
      {"TagResource", TagResource, Mode::kWrite},
      {"UntagResource", UntagResource, Mode::kWrite},
      {"ListResourceTags", ListResourceTags, Mode::kRead},
      {"GetKeyPolicy", GetKeyPolicy, Mode::kRead},
      {"PutKeyPolicy", PutKeyPolicy, Mode::kWrite},
      {"ListKeyPolicies", ListKeyPolicies, Mode::kRead},
  };
  return kOperations;
}

}  // namespace hangar::kms::api
