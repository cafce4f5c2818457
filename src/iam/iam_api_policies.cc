// IamApi: inline, attached and managed policies (docs/reference/iam.md §5).
#include "iam/iam_api_internal.h"

namespace hangar::iam::api {
namespace {

std::string PolicyXml(const ManagedPolicyRecord& r) {
  std::string out = XmlElement("PolicyName", r.name) + XmlElement("PolicyId", r.policy_id) +
                    XmlElement("Arn", r.arn) + XmlElement("Path", r.path) +
                    XmlElement("DefaultVersionId", r.default_version) +
                    XmlElement("AttachmentCount", std::to_string(r.attachment_count)) +
                    XmlElement("PermissionsBoundaryUsageCount", "0") +
                    XmlElement("IsAttachable", "true");
  if (!r.description.empty()) out += XmlElement("Description", r.description);
  return out + XmlElement("CreateDate", IsoTime(r.created_ms)) +
         XmlElement("UpdateDate", IsoTime(r.updated_ms));
}

// --- Inline and attached policies, per entity kind ---------------------------------------------

struct Kind {
  std::string kind;   // "user"
  std::string param;  // "UserName"
};

Result<std::string> PutInline(Request& r, const Kind& k) {
  HANGAR_ASSIGN_OR_RETURN(std::string entity, r.p.Required(k.param));
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("PolicyName"));
  HANGAR_ASSIGN_OR_RETURN(std::string document, r.p.Required("PolicyDocument"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity(k.kind, entity));
  HANGAR_RETURN_IF_ERROR(r.store.PutInlinePolicy(r.account, k.kind, entity, name, document));
  return std::string();
}

Result<std::string> GetInline(Request& r, const Kind& k) {
  HANGAR_ASSIGN_OR_RETURN(std::string entity, r.p.Required(k.param));
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("PolicyName"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity(k.kind, entity));
  HANGAR_ASSIGN_OR_RETURN(std::string document,
                          r.store.GetInlinePolicy(r.account, k.kind, entity, name));
  return XmlElement(k.param, entity) + XmlElement("PolicyName", name) +
         XmlElement("PolicyDocument", Encoded(document));
}

Result<std::string> DeleteInline(Request& r, const Kind& k) {
  HANGAR_ASSIGN_OR_RETURN(std::string entity, r.p.Required(k.param));
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("PolicyName"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity(k.kind, entity));
  HANGAR_RETURN_IF_ERROR(r.store.DeleteInlinePolicy(r.account, k.kind, entity, name));
  return std::string();
}

Result<std::string> ListInline(Request& r, const Kind& k) {
  HANGAR_ASSIGN_OR_RETURN(std::string entity, r.p.Required(k.param));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity(k.kind, entity));
  HANGAR_ASSIGN_OR_RETURN(auto names, r.store.ListInlinePolicies(r.account, k.kind, entity));
  return NamesXml("PolicyNames", names);
}

Result<std::string> Attachment(Request& r, const Kind& k, bool attach) {
  HANGAR_ASSIGN_OR_RETURN(std::string entity, r.p.Required(k.param));
  HANGAR_ASSIGN_OR_RETURN(std::string arn, r.p.Required("PolicyArn"));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity(k.kind, entity));
  HANGAR_RETURN_IF_ERROR(attach ? r.store.AttachPolicy(r.account, k.kind, entity, arn)
                                : r.store.DetachPolicy(r.account, k.kind, entity, arn));
  return std::string();
}

Result<std::string> ListAttached(Request& r, const Kind& k) {
  HANGAR_ASSIGN_OR_RETURN(std::string entity, r.p.Required(k.param));
  HANGAR_RETURN_IF_ERROR(r.AllowEntity(k.kind, entity));
  HANGAR_ASSIGN_OR_RETURN(auto arns, r.store.ListAttachedPolicies(r.account, k.kind, entity));
  std::string out = "<AttachedPolicies>";
  for (const auto& arn : arns) {
    out += Member(XmlElement("PolicyName", arn.substr(arn.rfind('/') + 1)) +
                  XmlElement("PolicyArn", arn));
  }
  return out + "</AttachedPolicies>" + XmlElement("IsTruncated", "false");
}

// --- Managed policies -------------------------------------------------------------------------

Result<std::string> CreatePolicy(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string name, r.p.Required("PolicyName"));
  HANGAR_ASSIGN_OR_RETURN(std::string document, r.p.Required("PolicyDocument"));
  const std::string path = r.p.GetOr("Path", "/");
  HANGAR_RETURN_IF_ERROR(r.Allow(r.Arn("policy", path, name)));
  HANGAR_ASSIGN_OR_RETURN(auto policy, r.store.CreatePolicy(r.account, name, path, document,
                                                            r.p.GetOr("Description", "")));
  return "<Policy>" + PolicyXml(policy) + "</Policy>";
}

// Customer managed policies of other accounts are invisible (Hangar has no AWS managed ones).
Result<std::string> OwnPolicyArn(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string arn, r.p.Required("PolicyArn"));
  if (!arn.starts_with("arn:aws:iam::" + r.account + ":policy/")) {
    return Error(ErrorCode::kIamNoSuchEntity,
                 "Policy " + arn + " does not exist or is not attachable.");
  }
  return arn;
}

Result<std::string> GetPolicy(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string arn, OwnPolicyArn(r));
  HANGAR_RETURN_IF_ERROR(r.Allow(arn));
  HANGAR_ASSIGN_OR_RETURN(auto policy, r.store.GetPolicy(arn));
  return "<Policy>" + PolicyXml(policy) + "</Policy>";
}

Result<std::string> ListPolicies(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(Paging page, PagingOf(r));
  HANGAR_RETURN_IF_ERROR(r.Allow(r.Arn("policy", page.path_prefix, "*")));
  const std::string scope = r.p.GetOr("Scope", "All");
  if (scope != "All" && scope != "AWS" && scope != "Local") {
    return Error(ErrorCode::kValidation,
                 "1 validation error detected: Value '" + scope +
                     "' at 'scope' failed to satisfy constraint: Member must satisfy enum value "
                     "set: [All, AWS, Local]");
  }
  Listing<ManagedPolicyRecord> policies;
  if (scope != "AWS") {  // Hangar has no AWS managed policies
    HANGAR_ASSIGN_OR_RETURN(policies,
                            r.store.ListPolicies(r.account, page.path_prefix,
                                                 r.p.GetOr("OnlyAttached", "false") == "true",
                                                 page.marker, page.max_items));
  }
  return ListXml("Policies", policies, PolicyXml);
}

Result<std::string> DeletePolicy(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string arn, r.p.Required("PolicyArn"));
  HANGAR_RETURN_IF_ERROR(r.Allow(arn));
  HANGAR_RETURN_IF_ERROR(r.store.DeletePolicy(r.account, arn));
  return std::string();
}

std::string VersionXml(const ManagedPolicyRecord& p, const std::string& id, bool with_document) {
  const auto& [document, created] = p.versions.at(id);
  std::string out;
  if (with_document) out += XmlElement("Document", Encoded(document));
  return out + XmlElement("VersionId", id) +
         XmlElement("IsDefaultVersion", Bool(id == p.default_version)) +
         XmlElement("CreateDate", IsoTime(created));
}

Result<std::string> CreatePolicyVersion(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string arn, r.p.Required("PolicyArn"));
  HANGAR_ASSIGN_OR_RETURN(std::string document, r.p.Required("PolicyDocument"));
  HANGAR_RETURN_IF_ERROR(r.Allow(arn));
  HANGAR_ASSIGN_OR_RETURN(std::string id,
                          r.store.CreatePolicyVersion(r.account, arn, document,
                                                      r.p.GetOr("SetAsDefault", "false") == "true"));
  HANGAR_ASSIGN_OR_RETURN(auto policy, r.store.GetPolicy(arn));
  if (!policy.versions.contains(id)) return InternalError("policy version vanished");
  return "<PolicyVersion>" + VersionXml(policy, id, false) + "</PolicyVersion>";
}

Result<std::string> GetPolicyVersion(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string arn, OwnPolicyArn(r));
  HANGAR_ASSIGN_OR_RETURN(std::string id, r.p.Required("VersionId"));
  HANGAR_RETURN_IF_ERROR(r.Allow(arn));
  HANGAR_ASSIGN_OR_RETURN(auto policy, r.store.GetPolicy(arn));
  if (!policy.versions.contains(id)) {
    return Error(ErrorCode::kIamNoSuchEntity, "Policy " + arn + " version " + id +
                                                  " does not exist or is not attachable.");
  }
  return "<PolicyVersion>" + VersionXml(policy, id, true) + "</PolicyVersion>";
}

Result<std::string> ListPolicyVersions(Request& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string arn, OwnPolicyArn(r));
  HANGAR_RETURN_IF_ERROR(r.Allow(arn));
  HANGAR_ASSIGN_OR_RETURN(auto policy, r.store.GetPolicy(arn));
  std::string out = "<Versions>";
  for (const auto& [id, v] : policy.versions) out += Member(VersionXml(policy, id, false));
  return out + "</Versions>" + XmlElement("IsTruncated", "false");
}

Result<std::string> PolicyVersionChange(Request& r, bool set_default) {
  HANGAR_ASSIGN_OR_RETURN(std::string arn, r.p.Required("PolicyArn"));
  HANGAR_ASSIGN_OR_RETURN(std::string id, r.p.Required("VersionId"));
  HANGAR_RETURN_IF_ERROR(r.Allow(arn));
  HANGAR_RETURN_IF_ERROR(set_default ? r.store.SetDefaultPolicyVersion(r.account, arn, id)
                                     : r.store.DeletePolicyVersion(r.account, arn, id));
  return std::string();
}

}  // namespace

void AddPolicyHandlers(HandlerMap& handlers) {
  handlers["CreatePolicy"] = CreatePolicy;
  handlers["GetPolicy"] = GetPolicy;
  handlers["ListPolicies"] = ListPolicies;
  handlers["DeletePolicy"] = DeletePolicy;
  handlers["CreatePolicyVersion"] = CreatePolicyVersion;
  handlers["GetPolicyVersion"] = GetPolicyVersion;
  handlers["ListPolicyVersions"] = ListPolicyVersions;
  handlers["DeletePolicyVersion"] = [](Request& r) { return PolicyVersionChange(r, false); };
  handlers["SetDefaultPolicyVersion"] = [](Request& r) { return PolicyVersionChange(r, true); };
  for (const Kind& k : {Kind{"user", "UserName"}, Kind{"group", "GroupName"},
                        Kind{"role", "RoleName"}}) {
    std::string noun = k.param.substr(0, k.param.size() - 4);  // "User"
    handlers["Put" + noun + "Policy"] = [k](Request& r) { return PutInline(r, k); };
    handlers["Get" + noun + "Policy"] = [k](Request& r) { return GetInline(r, k); };
    handlers["Delete" + noun + "Policy"] = [k](Request& r) { return DeleteInline(r, k); };
    handlers["List" + noun + "Policies"] = [k](Request& r) { return ListInline(r, k); };
    handlers["Attach" + noun + "Policy"] = [k](Request& r) { return Attachment(r, k, true); };
    handlers["Detach" + noun + "Policy"] = [k](Request& r) { return Attachment(r, k, false); };
    handlers["ListAttached" + noun + "Policies"] = [k](Request& r) { return ListAttached(r, k); };
  }
}

}  // namespace hangar::iam::api
