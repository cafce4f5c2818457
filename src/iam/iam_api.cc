#include "iam/iam_api.h"

#include "iam/iam_api_internal.h"
#include "iam/request_facts.h"

namespace hangar::iam {

constexpr std::string_view kIamXmlns = "https://iam.amazonaws.com/doc/2010-05-08/";

namespace api {

Status Request::Allow(const std::string& resource, std::string_view shown,
                      const ContextKeys& extra) const {
  const std::string iam_action = "iam:" + action;
  RequestFacts facts = FactsFor(ctx, iam_action, resource);
  for (const auto& [k, v] : extra) facts.context[k] = v;
  HANGAR_ASSIGN_OR_RETURN(IdentityPolicies identity, store.PoliciesFor(ctx.principal));
  AddPrincipalTags(facts.context, identity.principal_tags);
  PolicySet set;
  for (const auto& policy : identity.policies) set.identity.push_back(policy.get());
  set.session = identity.session.get();
  set.resource_account = account;
  AuthorizationResult result = Authorize(facts, set);
  if (result.decision == Decision::kAllowed) return Status::Ok();
  return Error(ErrorCode::kAccessDenied,
               "User: " + ctx.principal.arn + " is not authorized to perform: " + iam_action +
                   " on resource: " + std::string(shown.empty() ? resource : shown) +
                   DenialSuffix(result, iam_action));
}

Status Request::AllowEntity(std::string_view kind, std::string_view name,
                            const ContextKeys& extra) const {
  std::string arn = Arn(std::string(kind) + "/", "", name);
  ContextKeys keys = extra;
  if (kind == "user") {
    auto u = store.GetUser(account, name);
    if (u.ok()) {
      arn = u->arn;
      AddResourceTags(keys, u->tags);
    }
  } else if (kind == "group") {
    auto g = store.GetGroup(account, name);
    if (g.ok()) arn = g->arn;
  } else if (kind == "role") {
    auto role = store.GetRole(account, name);
    if (role.ok()) {
      arn = role->arn;
      AddResourceTags(keys, role->tags);
    }
  }
  return Allow(arn, std::string(kind) + " " + std::string(name), keys);
}

Result<Paging> PagingOf(const Request& r) {
  Paging out;
  out.path_prefix = r.p.GetOr("PathPrefix", "/");
  out.marker = r.p.GetOr("Marker", "");
  HANGAR_ASSIGN_OR_RETURN(out.max_items, r.p.Int("MaxItems", 1, 1000, 100));
  return out;
}

namespace {

ContextKeys RequestTagKeys(const Tags& tags) {
  ContextKeys keys;
  AddRequestTags(keys, tags);
  return keys;
}

std::string TagsXml(const Tags& tags) {
  if (tags.empty()) return "";
  std::string out = "<Tags>";
  for (const auto& [k, v] : tags) out += Member(XmlElement("Key", k) + XmlElement("Value", v));
  return out + "</Tags>";
}

std::string UserXml(const UserRecord& u) {
  return XmlElement("Path", u.path) + XmlElement("UserName", u.name) +
         XmlElement("UserId", u.user_id) + XmlElement("Arn", u.arn) +
         XmlElement("CreateDate", IsoTime(u.created_ms)) + TagsXml(u.tags);
}

std::string GroupXml(const GroupRecord& g) {
  return XmlElement("Path", g.path) + XmlElement("GroupName", g.name) +
         XmlElement("GroupId", g.group_id) + XmlElement("Arn", g.arn) +
         XmlElement("CreateDate", IsoTime(g.created_ms));
}

std::string RoleXml(const RoleRecord& r) {
  std::string out = XmlElement("Path", r.path) + XmlElement("RoleName", r.name) +
                    XmlElement("RoleId", r.role_id) + XmlElement("Arn", r.arn) +
                    XmlElement("CreateDate", IsoTime(r.created_ms)) +
                    XmlElement("AssumeRolePolicyDocument", Encoded(r.trust_policy));
  if (!r.description.empty()) out += XmlElement("Description", r.description);
  return out + XmlElement("MaxSessionDuration", std::to_string(r.max_session_seconds)) +
         TagsXml(r.tags);
}

std::string AccessKeyXml(const AccessKeyRecord& k) {
  std::string out;
  if (!k.user_name.empty()) out += XmlElement("UserName", k.user_name);
  return out + XmlElement("AccessKeyId", k.access_key_id) + XmlElement("Status", k.status) +
         XmlElement("CreateDate", IsoTime(k.created_ms));
}

// The user a key action is about: UserName, or else the caller itself ("" = the account root).
// Only the root manages the root's keys: no policy can hand them to a user.
Result<std::string> KeyOwner(const Request& r) {
  if (auto user = r.p.Get("UserName")) {
    if (user->empty()) {
      return Error(ErrorCode::kValidation,
                   "1 validation error detected: Value '' at 'userName' failed to satisfy "
                   "constraint: Member must have length greater than or equal to 1");
    }
    return *user;
  }
  switch (r.ctx.principal.type) {
    case auth::PrincipalType::kUser:
      return r.ctx.principal.name;
    case auth::PrincipalType::kRoot:
      return std::string();
    default:
      return Error(ErrorCode::kValidation,
                   "Must specify userName when calling with non-User credentials");
  }
}

// The owner of access keys: a user, or (no user name, root caller) the account root.
Status AllowOwner(const Request& r, const std::string& user) {
  if (user.empty()) return r.Allow("arn:aws:iam::" + r.account + ":root");
  return r.AllowEntity("user", user);
}

// --- Users and keys ---------------------------------------------------------------------------

Result<std::string> CreateUser(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("UserName"));
  const std::string path = r.p.GetOr("Path", "/");
  const Tags tags = r.p.Pairs("Tags", "Key", "Value");
  HANGAR_RETURN_IF_ERROR(r.Allow(r.Arn("user", path, name), {}, RequestTagKeys(tags)));
  HANGAR_ASSIGN_OR_RETURN(UserRecord u, r.store.CreateUser(r.account, name, path, tags));
  return "<User>" + UserXml(u) + "</User>";
}

Result<std::string> GetUser(Request& r) {
  std::string name = r.p.GetOr("UserName", "");
  const auth::Principal& caller = r.ctx.principal;
  if (name.empty()) {
    if (caller.type == auth::PrincipalType::kRoot) {
      HANGAR_RETURN_IF_ERROR(r.Allow(caller.arn));
      return "<User>" + XmlElement("UserId", caller.account_id) + XmlElement("Arn", caller.arn) +
             XmlElement("CreateDate", IsoTime(ToUnixMillis(r.ctx.now))) + "</User>";
    }
    if (caller.type != auth::PrincipalType::kUser) {
      return Error(ErrorCode::kValidation,
                   "Must specify userName when calling with non-User credentials");
    }
    name = caller.name;
  }
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("user", name));
  HANGAR_ASSIGN_OR_RETURN(UserRecord u, r.store.GetUser(r.account, name));
  return "<User>" + UserXml(u) + "</User>";
}

Result<std::string> ListUsers(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(Paging page, PagingOf(r));
  HANGAR_RETURN_IF_ERROR(r.Allow(r.Arn("user", page.path_prefix, "*")));
  HANGAR_ASSIGN_OR_RETURN(auto users,
                          r.store.ListUsers(r.account, page.path_prefix, page.marker, page.max_items));
  return ListXml("Users", users, UserXml);
}

Result<std::string> DeleteUser(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("UserName"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("user", name));
  HANGAR_RETURN_IF_ERROR(r.store.DeleteUser(r.account, name));
  return std::string();
}

Result<std::string> TagUser(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("UserName"));
  const Tags tags = r.p.Pairs("Tags", "Key", "Value");
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("user", name, RequestTagKeys(tags)));
  HANGAR_RETURN_IF_ERROR(r.store.TagUser(r.account, name, tags));
  return std::string();
}

Result<std::string> UntagUser(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("UserName"));
  std::vector<std::string> keys;
  for (int i = 1; auto key = r.p.Get("TagKeys.member." + std::to_string(i)); ++i) {
    keys.push_back(*key);
  }
  ContextKeys tag_keys;
  AddTagKeys(tag_keys, keys);
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("user", name, tag_keys));
  HANGAR_RETURN_IF_ERROR(r.store.UntagUser(r.account, name, keys));
  return std::string();
}

Result<std::string> ListUserTags(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("UserName"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("user", name));
  HANGAR_ASSIGN_OR_RETURN(UserRecord u, r.store.GetUser(r.account, name));
  std::string out = "<Tags>";
  for (const auto& [k, v] : u.tags) out += Member(XmlElement("Key", k) + XmlElement("Value", v));
  return out + "</Tags>" + XmlElement("IsTruncated", "false");
}

Result<std::string> CreateAccessKey(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string user, KeyOwner(r));
  HANGAR_RETURN_IF_ERROR(AllowOwner(r, user));
  HANGAR_ASSIGN_OR_RETURN(NewAccessKey key, r.store.CreateAccessKey(r.account, user));
  std::string out;
  if (!user.empty()) out += XmlElement("UserName", user);
  return "<AccessKey>" + out + XmlElement("AccessKeyId", key.record.access_key_id) +
         XmlElement("Status", key.record.status) +
         XmlElement("SecretAccessKey", key.secret_access_key) +
         XmlElement("CreateDate", IsoTime(key.record.created_ms)) + "</AccessKey>";
}

Result<std::string> ListAccessKeys(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string user, KeyOwner(r));
  HANGAR_RETURN_IF_ERROR(AllowOwner(r, user));
  HANGAR_ASSIGN_OR_RETURN(auto keys, r.store.ListAccessKeys(r.account, user));
  std::string out = "<AccessKeyMetadata>";
  for (const auto& k : keys) out += Member(AccessKeyXml(k));
  return out + "</AccessKeyMetadata>" + XmlElement("IsTruncated", "false");
}

Result<std::string> UpdateAccessKey(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string user, KeyOwner(r));
  HANGAR_ASSIGN_OR_RETURN(std::string id, r.p.Required("AccessKeyId"));
  HANGAR_ASSIGN_OR_RETURN(std::string status, r.p.Required("Status"));
  HANGAR_RETURN_IF_ERROR(AllowOwner(r, user));
  HANGAR_RETURN_IF_ERROR(r.store.UpdateAccessKey(r.account, user, id, status));
  return std::string();
}

Result<std::string> DeleteAccessKey(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string user, KeyOwner(r));
  HANGAR_ASSIGN_OR_RETURN(std::string id, r.p.Required("AccessKeyId"));
  HANGAR_RETURN_IF_ERROR(AllowOwner(r, user));
  HANGAR_RETURN_IF_ERROR(r.store.DeleteAccessKey(r.account, user, id));
  return std::string();
}

// --- Groups -----------------------------------------------------------------------------------

Result<std::string> CreateGroup(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("GroupName"));
  const std::string path = r.p.GetOr("Path", "/");
  HANGAR_RETURN_IF_ERROR(r.Allow(r.Arn("group", path, name)));
  HANGAR_ASSIGN_OR_RETURN(GroupRecord g, r.store.CreateGroup(r.account, name, path));
  return "<Group>" + GroupXml(g) + "</Group>";
}

Result<std::string> GetGroup(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("GroupName"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("group", name));
  HANGAR_ASSIGN_OR_RETURN(GroupRecord g, r.store.GetGroup(r.account, name));
  HANGAR_ASSIGN_OR_RETURN(auto members, r.store.GroupMembers(r.account, name));
  std::string out = "<Group>" + GroupXml(g) + "</Group><Users>";
  for (const auto& u : members) out += Member(UserXml(u));
  return out + "</Users>" + XmlElement("IsTruncated", "false");
}

Result<std::string> ListGroups(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(Paging page, PagingOf(r));
  HANGAR_RETURN_IF_ERROR(r.Allow(r.Arn("group", page.path_prefix, "*")));
  HANGAR_ASSIGN_OR_RETURN(auto groups, r.store.ListGroups(r.account, page.path_prefix,
                                                          page.marker, page.max_items));
  return ListXml("Groups", groups, GroupXml);
}

Result<std::string> DeleteGroup(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("GroupName"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("group", name));
  HANGAR_RETURN_IF_ERROR(r.store.DeleteGroup(r.account, name));
  return std::string();
}

Result<std::string> Membership(Request& r, bool add) {
  HANGAR_ASSIGN_OR_RETURN(std::string group, r.p.Required("GroupName"));
  HANGAR_ASSIGN_OR_RETURN(std::string user, r.p.Required("UserName"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("group", group));
  HANGAR_RETURN_IF_ERROR(add ? r.store.AddUserToGroup(r.account, group, user)
                             : r.store.RemoveUserFromGroup(r.account, group, user));
  return std::string();
}

Result<std::string> ListGroupsForUser(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string user, r.p.Required("UserName"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("user", user));
  HANGAR_ASSIGN_OR_RETURN(UserRecord u, r.store.GetUser(r.account, user));
  std::string out = "<Groups>";
  for (const auto& name : u.groups) {
    auto g = r.store.GetGroup(r.account, name);
    if (g.ok()) out += Member(GroupXml(*g));
  }
  return out + "</Groups>" + XmlElement("IsTruncated", "false");
}

// --- Roles ------------------------------------------------------------------------------------

Result<std::string> CreateRole(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("RoleName"));
  HANGAR_ASSIGN_OR_RETURN(std::string trust, r.p.Required("AssumeRolePolicyDocument"));
  const std::string path = r.p.GetOr("Path", "/");
  HANGAR_ASSIGN_OR_RETURN(int max_session, r.p.Int("MaxSessionDuration", 3600, 43200, 3600));
  const Tags tags = r.p.Pairs("Tags", "Key", "Value");
  HANGAR_RETURN_IF_ERROR(r.Allow(r.Arn("role", path, name), {}, RequestTagKeys(tags)));
  HANGAR_ASSIGN_OR_RETURN(
      RoleRecord role, r.store.CreateRole(r.account, name, path, trust, r.p.GetOr("Description", ""),
                                          max_session, tags));
  return "<Role>" + RoleXml(role) + "</Role>";
}

Result<std::string> GetRole(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("RoleName"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("role", name));
  HANGAR_ASSIGN_OR_RETURN(RoleRecord role, r.store.GetRole(r.account, name));
  return "<Role>" + RoleXml(role) + "</Role>";
}

Result<std::string> ListRoles(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(Paging page, PagingOf(r));
  HANGAR_RETURN_IF_ERROR(r.Allow(r.Arn("role", page.path_prefix, "*")));
  HANGAR_ASSIGN_OR_RETURN(auto roles, r.store.ListRoles(r.account, page.path_prefix, page.marker,
                                                        page.max_items));
  return ListXml("Roles", roles, RoleXml);
}

Result<std::string> DeleteRole(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("RoleName"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("role", name));
  HANGAR_RETURN_IF_ERROR(r.store.DeleteRole(r.account, name));
  return std::string();
}

Result<std::string> UpdateAssumeRolePolicy(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("RoleName"));
  HANGAR_ASSIGN_OR_RETURN(std::string document, r.p.Required("PolicyDocument"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity("role", name));
  HANGAR_RETURN_IF_ERROR(r.store.UpdateAssumeRolePolicy(r.account, name, document));
  return std::string();
}

const HandlerMap& Handlers() {
  static const auto* handlers = [] {
    auto* h = new HandlerMap{
        {"CreateUser", CreateUser},
        {"GetUser", GetUser},
        {"ListUsers", ListUsers},
        {"DeleteUser", DeleteUser},
        {"TagUser", TagUser},
        {"UntagUser", UntagUser},
        {"ListUserTags", ListUserTags},
        {"CreateAccessKey", CreateAccessKey},
        {"ListAccessKeys", ListAccessKeys},
        {"UpdateAccessKey", UpdateAccessKey},
        {"DeleteAccessKey", DeleteAccessKey},
        {"CreateGroup", CreateGroup},
        {"GetGroup", GetGroup},
        {"ListGroups", ListGroups},
        {"DeleteGroup", DeleteGroup},
        {"AddUserToGroup", [](Request& r) { return Membership(r, true); }},
        {"RemoveUserFromGroup", [](Request& r) { return Membership(r, false); }},
        {"ListGroupsForUser", ListGroupsForUser},
        {"CreateRole", CreateRole},
        {"GetRole", GetRole},
        {"ListRoles", ListRoles},
        {"DeleteRole", DeleteRole},
        {"UpdateAssumeRolePolicy", UpdateAssumeRolePolicy},
    };
    AddPolicyHandlers(*h);
    return h;
  }();
  return *handlers;
}

}  // namespace
}  // namespace api

Result<std::string> IamApi::Call(const auth::RequestContext& ctx, std::string_view form) {
  HANGAR_ASSIGN_OR_RETURN(QueryParams params, QueryParams::Parse(form));
  const std::string& action = params.action();
  auto it = api::Handlers().find(action);
  if (it == api::Handlers().end()) {
    if (action.empty()) {
      return Error(ErrorCode::kUnknownOperation, "Could not find operation for the request.");
    }
    return Error(ErrorCode::kUnknownOperation,
                 "The action " + action + " is not valid for this web service.");
  }
  if (ctx.principal.anonymous()) {
    return Error(ErrorCode::kMissingAuthentication, "Missing Authentication Token");
  }
  api::Request request{identities_, ctx, params, action, ctx.principal.account_id};
  HANGAR_ASSIGN_OR_RETURN(std::string result, it->second(request));
  return QueryResponseXml(kIamXmlns, action, result, ctx.request_id);
}

}  // namespace hangar::iam
