#include "iam/identity_records.h"

#include "common/stored_json.h"

namespace hangar::iam {
using nlohmann::json;

std::string EncodeUser(const UserRecord& r) {
  return json{{"account_id", r.account_id}, {"name", r.name},       {"path", r.path},
              {"user_id", r.user_id},       {"arn", r.arn},         {"created_ms", r.created_ms},
              {"tags", PairsJson(r.tags)},   {"inline", r.inline_policies},
              {"attached", r.attached},     {"groups", r.groups}}
      .dump();
}

Result<UserRecord> DecodeUser(std::string_view text) {
  return DecodeStored<UserRecord>(text, "user", [](const json& j) {
    UserRecord r;
    r.account_id = j.at("account_id").get<std::string>();
    r.name = j.at("name").get<std::string>();
    r.path = j.at("path").get<std::string>();
    r.user_id = j.at("user_id").get<std::string>();
    r.arn = j.at("arn").get<std::string>();
    r.created_ms = j.at("created_ms").get<int64_t>();
    r.tags = PairsFrom(j.at("tags"));
    r.inline_policies = j.at("inline").get<InlinePolicies>();
    r.attached = j.at("attached").get<std::vector<std::string>>();
    r.groups = j.at("groups").get<std::vector<std::string>>();
    return r;
  });
}

std::string EncodeGroup(const GroupRecord& r) {
  return json{{"account_id", r.account_id}, {"name", r.name},   {"path", r.path},
              {"group_id", r.group_id},     {"arn", r.arn},     {"created_ms", r.created_ms},
              {"inline", r.inline_policies}, {"attached", r.attached}}
      .dump();
}

Result<GroupRecord> DecodeGroup(std::string_view text) {
  return DecodeStored<GroupRecord>(text, "group", [](const json& j) {
    GroupRecord r;
    r.account_id = j.at("account_id").get<std::string>();
    r.name = j.at("name").get<std::string>();
    r.path = j.at("path").get<std::string>();
    r.group_id = j.at("group_id").get<std::string>();
    r.arn = j.at("arn").get<std::string>();
    r.created_ms = j.at("created_ms").get<int64_t>();
    r.inline_policies = j.at("inline").get<InlinePolicies>();
    r.attached = j.at("attached").get<std::vector<std::string>>();
    return r;
  });
}

std::string EncodeRole(const RoleRecord& r) {
  return json{{"account_id", r.account_id},
              {"name", r.name},
              {"path", r.path},
              {"role_id", r.role_id},
              {"arn", r.arn},
              {"created_ms", r.created_ms},
              {"description", r.description},
              {"trust", r.trust_policy},
              {"max_session", r.max_session_seconds},
              {"tags", PairsJson(r.tags)},
              {"inline", r.inline_policies},
              {"attached", r.attached}}
      .dump();
}

Result<RoleRecord> DecodeRole(std::string_view text) {
  return DecodeStored<RoleRecord>(text, "role", [](const json& j) {
    RoleRecord r;
    r.account_id = j.at("account_id").get<std::string>();
    r.name = j.at("name").get<std::string>();
    r.path = j.at("path").get<std::string>();
    r.role_id = j.at("role_id").get<std::string>();
    r.arn = j.at("arn").get<std::string>();
    r.created_ms = j.at("created_ms").get<int64_t>();
    r.description = j.at("description").get<std::string>();
    r.trust_policy = j.at("trust").get<std::string>();
    r.max_session_seconds = j.at("max_session").get<int>();
    r.tags = PairsFrom(j.at("tags"));
    r.inline_policies = j.at("inline").get<InlinePolicies>();
    r.attached = j.at("attached").get<std::vector<std::string>>();
    return r;
  });
}

std::string EncodeManagedPolicy(const ManagedPolicyRecord& r) {
  json versions = json::object();
  for (const auto& [id, v] : r.versions) versions[id] = {{"document", v.first}, {"created_ms", v.second}};
  return json{{"account_id", r.account_id},
              {"name", r.name},
              {"path", r.path},
              {"policy_id", r.policy_id},
              {"arn", r.arn},
              {"description", r.description},
              {"created_ms", r.created_ms},
              {"updated_ms", r.updated_ms},
              {"default_version", r.default_version},
              {"next_version", r.next_version},
              {"versions", versions},
              {"attachments", r.attachment_count}}
      .dump();
}

Result<ManagedPolicyRecord> DecodeManagedPolicy(std::string_view text) {
  return DecodeStored<ManagedPolicyRecord>(text, "managed policy", [](const json& j) {
    ManagedPolicyRecord r;
    r.account_id = j.at("account_id").get<std::string>();
    r.name = j.at("name").get<std::string>();
    r.path = j.at("path").get<std::string>();
    r.policy_id = j.at("policy_id").get<std::string>();
    r.arn = j.at("arn").get<std::string>();
    r.description = j.at("description").get<std::string>();
    r.created_ms = j.at("created_ms").get<int64_t>();
    r.updated_ms = j.at("updated_ms").get<int64_t>();
    r.default_version = j.at("default_version").get<std::string>();
    r.next_version = j.at("next_version").get<int>();
    for (const auto& [id, v] : j.at("versions").items()) {
      r.versions[id] = {v.at("document").get<std::string>(), v.at("created_ms").get<int64_t>()};
    }
    r.attachment_count = j.at("attachments").get<int>();
    return r;
  });
}

std::string EncodeAccessKey(const AccessKeyRecord& r) {
  return json{{"account_id", r.account_id},
              {"type", r.kind},
              {"user_name", r.user_name},
              {"status", r.status},
              {"created_ms", r.created_ms},
              {"secret", r.secret},
              {"session_token_hash", r.session_token_hash},
              {"expires_ms", r.expires_ms},
              {"role_name", r.role_name},
              {"session_name", r.session_name},
              {"session_policy", r.session_policy},
              {"source_user", r.source_user},
              {"principal_id", r.principal_id}}
      .dump();
}

Result<AccessKeyRecord> DecodeAccessKey(std::string_view text) {
  return DecodeStored<AccessKeyRecord>(text, "access key", [](const json& j) {
    AccessKeyRecord r;
    r.account_id = j.at("account_id").get<std::string>();
    r.kind = j.at("type").get<std::string>();
    r.user_name = j.value("user_name", "");
    r.status = j.value("status", "Active");
    r.created_ms = j.value("created_ms", int64_t{0});
    r.secret = j.at("secret").get<std::string>();
    r.session_token_hash = j.value("session_token_hash", "");
    r.expires_ms = j.value("expires_ms", int64_t{0});
    r.role_name = j.value("role_name", "");
    r.session_name = j.value("session_name", "");
    r.session_policy = j.value("session_policy", "");
    r.source_user = j.value("source_user", "");
    r.principal_id = j.value("principal_id", "");
    return r;
  });
}

}  // namespace hangar::iam
