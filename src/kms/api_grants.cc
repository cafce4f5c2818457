// KMS grant operations: creating, listing, retiring and revoking grants.

#include "kms/api_codec.h"

namespace hangar::kms::api {
namespace {

// GrantListEntry (botocore model); optional members only when set.
json GrantJson(const GrantRecord& g) {
  json entry = {{"KeyId", g.key_arn},
                {"GrantId", g.grant_id},
                {"CreationDate", EpochSeconds(g.creation_ms)},
                {"GranteePrincipal", g.grantee_principal},
                {"IssuingAccount", g.issuing_account},
                {"Operations", g.operations}};
  if (!g.name.empty()) entry["Name"] = g.name;
  if (!g.retiring_principal.empty()) entry["RetiringPrincipal"] = g.retiring_principal;
  if (!g.constraints.empty()) {
    json c = json::object();
    if (g.constraints.context_equals) {
      c["EncryptionContextEquals"] = ContextJson(*g.constraints.context_equals);
    }
    if (g.constraints.context_subset) {
      c["EncryptionContextSubset"] = ContextJson(*g.constraints.context_subset);
    }
    entry["Constraints"] = std::move(c);
  }
  return entry;
}

Result<json> CreateGrant(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  CreateGrantInput input;
  input.key_id = in.RequiredString("KeyId");
  input.grantee_principal = in.RequiredString("GranteePrincipal");
  input.retiring_principal = in.String("RetiringPrincipal");
  input.operations = in.StringList("Operations", true);
  input.constraints = in.Constraints("Constraints");
  input.name = in.String("Name");
  input.dry_run = in.Boolean("DryRun");
  HANGAR_RETURN_IF_ERROR(in.StatusWithGrantTokens());
  HANGAR_ASSIGN_OR_RETURN(CreateGrantOutput out, s.CreateGrant(ctx, input));
  return json{{"GrantToken", out.grant_token}, {"GrantId", out.grant_id}};
}

Result<json> ListGrants(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  ListGrantsInput input;
  input.key_id = in.RequiredString("KeyId");
  input.grant_id = in.String("GrantId");
  input.grantee_principal = in.String("GranteePrincipal");
  PageRequest request = ReadPageRequest(in);
  input.limit = request.LimitOr(50);
  input.marker = request.Marker();
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_ASSIGN_OR_RETURN(auto page, s.ListGrants(ctx, input));
  return PageJson("Grants", page, GrantJson);
}

Result<json> ListRetirableGrants(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string principal = in.RequiredString("RetiringPrincipal");
  PageRequest request = ReadPageRequest(in);
  HANGAR_RETURN_IF_ERROR(in.status());
  HANGAR_ASSIGN_OR_RETURN(
      auto page, s.ListRetirableGrants(ctx, principal, request.LimitOr(50), request.Marker()));
  return PageJson("Grants", page, GrantJson);
}

Result<json> RetireGrant(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  RetireGrantInput input;
  input.grant_token = in.String("GrantToken");
  input.key_id = in.String("KeyId");
  input.grant_id = in.String("GrantId");
  input.dry_run = in.Boolean("DryRun");
  HANGAR_RETURN_IF_ERROR(in.status());
  return EmptyResponse(s.RetireGrant(ctx, input));
}

Result<json> RevokeGrant(KeyService& s, const auth::RequestContext& ctx, Input& in) {
  std::string key_id = in.RequiredString("KeyId");
  std::string grant_id = in.RequiredString("GrantId");
  bool dry_run = in.Boolean("DryRun");
  HANGAR_RETURN_IF_ERROR(in.status());
  return EmptyResponse(s.RevokeGrant(ctx, key_id, grant_id, dry_run));
}

}  // namespace

std::span<const Operation> GrantOperations() {
  static constexpr Operation kOperations[] = {
      {"CreateGrant", CreateGrant, Mode::kWrite},
      {"ListGrants", ListGrants, Mode::kRead},
      {"ListRetirableGrants", ListRetirableGrants, Mode::kRead},
      {"RetireGrant", RetireGrant, Mode::kWrite},
      {"RevokeGrant", RevokeGrant, Mode::kWrite},
  };
  return kOperations;
}

}  // namespace hangar::kms::api
