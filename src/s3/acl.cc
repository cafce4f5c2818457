#include "s3/acl.h"

#include <algorithm>
#include <array>
#include <map>

#include "crypto/digest.h"
#include "iam/policy_model.h"

namespace hangar::s3 {
namespace {

constexpr std::array<std::pair<std::string_view, std::string_view>, 3> kGroups = {{
    {"AllUsers", "http://acs.amazonaws.com/groups/global/AllUsers"},
    {"AuthenticatedUsers", "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
    {"LogDelivery", "http://acs.amazonaws.com/groups/s3/LogDelivery"},
}};

constexpr size_t kMaxGrants = 100;  // S3's limit per ACL

constexpr std::string_view kPermissions[] = {"READ", "WRITE", "READ_ACP", "WRITE_ACP",
                                             "FULL_CONTROL"};

Status InvalidArgument(std::string message, std::string name, std::string value) {
  return Error(ErrorCode::kValidation, std::move(message))
      .WithField("ArgumentName", std::move(name))
      .WithField("ArgumentValue", std::move(value));
}

// The canned ACLs (S3 User Guide, "Canned ACL"): the owner's full control plus what each adds.
Result<AccessControlList> CannedAcl(std::string_view name, const AclParties& p) {
  AccessControlList acl = PrivateAcl(p.owner);
  auto add = [&](std::string account, std::string group, std::string permission) {
    acl.push_back({std::move(account), std::move(group), std::move(permission)});
  };
  if (name == "private" || name == "aws-exec-read") return acl;
  if (name == "public-read") {
    add("", "AllUsers", "READ");
  } else if (name == "public-read-write") {
    add("", "AllUsers", "READ");
    add("", "AllUsers", "WRITE");
  } else if (name == "authenticated-read") {
    add("", "AuthenticatedUsers", "READ");
  } else if (name == "log-delivery-write" && p.for_bucket) {
    add("", "LogDelivery", "WRITE");
    add("", "LogDelivery", "READ_ACP");
  } else if (name == "bucket-owner-read" || name == "bucket-owner-full-control") {
    // On a bucket (or an object the bucket owner owns) these say no more than private.
    if (!p.for_bucket && p.bucket_owner != p.owner) {
      add(p.bucket_owner, "", name == "bucket-owner-read" ? "READ" : "FULL_CONTROL");
    }
  } else {
    return InvalidArgument("", "x-amz-acl", std::string(name));
  }
  return acl;
}

// Canonical ids to accounts: the request's own parties first, then (listed once per request,
// on the first miss) every account of the server.
class CanonicalIds {
 public:
  CanonicalIds(const AclParties& parties, const AccountLister& accounts)
      : parties_(parties), accounts_(accounts) {}

  Result<std::string> AccountOf(std::string_view id, bool from_document) {
    for (const std::string* known : {&parties_.owner, &parties_.bucket_owner}) {
      if (!known->empty() && CanonicalUserId(*known) == id) return *known;
    }
    if (!listed_ && accounts_) {
      HANGAR_ASSIGN_OR_RETURN(std::vector<std::string> all, accounts_());
      for (std::string& account : all) by_id_.emplace(CanonicalUserId(account), std::move(account));
      listed_ = true;
    }
    auto found = by_id_.find(std::string(id));
    if (found != by_id_.end()) return found->second;
    return InvalidArgument("Invalid id", from_document ? "CanonicalUser/ID" : "id",
                           std::string(id));
  }

 private:
  const AclParties& parties_;
  const AccountLister& accounts_;
  bool listed_ = false;
  std::map<std::string, std::string> by_id_;
};

Result<AclGrant> ResolveGrant(const GranteeRef& ref, CanonicalIds& ids, bool from_document) {
  if (std::find(std::begin(kPermissions), std::end(kPermissions), ref.permission) ==
      std::end(kPermissions)) {
    return Error(ErrorCode::kMalformedAcl,
                 "The XML you provided was not well-formed or did not validate against our "
                 "published schema");
  }
  switch (ref.kind) {
    case GranteeRef::Kind::kEmail:
      return Error(ErrorCode::kUnresolvableGrantByEmailAddress,
                   "The e-mail address you provided does not match any account on record.");
    case GranteeRef::Kind::kGroup: {
      std::string group = GroupOf(ref.value);
      if (group.empty()) {
        return InvalidArgument("Invalid group uri", from_document ? "Group/URI" : "uri", ref.value);
      }
      return AclGrant{"", std::move(group), ref.permission};
    }
    case GranteeRef::Kind::kCanonicalUser:
      break;
  }
  HANGAR_ASSIGN_OR_RETURN(std::string account, ids.AccountOf(ref.value, from_document));
  return AclGrant{std::move(account), "", ref.permission};
}

// What each permission allows (S3 User Guide, "Mapping of ACL permissions and access policy
// permissions").
std::vector<std::string> ActionsOf(std::string_view permission, bool for_bucket,
                                   bool grantee_owns_bucket) {
  if (for_bucket) {
    if (permission == "READ") {
      return {"s3:ListBucket", "s3:ListBucketVersions", "s3:ListBucketMultipartUploads"};
    }
    // WRITE creates, overwrites and deletes objects; only the bucket owner's WRITE also removes
    // versions for good (S3 User Guide, "ACL permissions and access policy permissions").
    if (permission == "WRITE") {
      if (grantee_owns_bucket) return {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"};
      return {"s3:PutObject", "s3:DeleteObject"};
    }
    if (permission == "READ_ACP") return {"s3:GetBucketAcl"};
    if (permission == "WRITE_ACP") return {"s3:PutBucketAcl"};
  } else {
    if (permission == "READ") return {"s3:GetObject", "s3:GetObjectVersion"};
    if (permission == "READ_ACP") return {"s3:GetObjectAcl", "s3:GetObjectVersionAcl"};
    if (permission == "WRITE_ACP") return {"s3:PutObjectAcl", "s3:PutObjectVersionAcl"};
  }
  if (permission != "FULL_CONTROL") return {};
  std::vector<std::string> all;
  for (std::string_view p : {"READ", "WRITE", "READ_ACP", "WRITE_ACP"}) {
    for (auto& a : ActionsOf(p, for_bucket, grantee_owns_bucket)) all.push_back(std::move(a));
  }
  return all;
}

}  // namespace

std::string CanonicalUserId(std::string_view account) {
  // A listing names an owner per entry, nearly always the same account: a thousand SHA-256s
  // per page otherwise. Per thread, so no lock.
  thread_local std::string last_account;
  thread_local std::string last_id;
  if (last_id.empty() || account != last_account) {
    last_id = crypto::Sha256Hex("hangar-canonical-user/" + std::string(account));
    last_account = account;
  }
  return last_id;
}

std::string GroupUri(std::string_view group) {
  for (const auto& [name, uri] : kGroups) {
    if (name == group) return std::string(uri);
  }
  return std::string(kGroupUriPrefix) + std::string(group);
}

std::string GroupOf(std::string_view uri) {
  for (const auto& [name, known] : kGroups) {
    if (known == uri) return std::string(name);
  }
  return "";
}

Result<AccessControlList> ResolveAcl(const AclRequest& request, const AclParties& parties,
                                     const AccountLister& accounts) {
  if (!request.canned.empty()) return CannedAcl(request.canned, parties);
  if (request.grants.size() > kMaxGrants) {
    return Error(ErrorCode::kMalformedAcl, "An access control list can hold at most 100 grants.");
  }
  CanonicalIds ids(parties, accounts);
  AccessControlList acl;
  for (const GranteeRef& ref : request.grants) {
    HANGAR_ASSIGN_OR_RETURN(AclGrant grant, ResolveGrant(ref, ids, request.from_document));
    if (std::find(acl.begin(), acl.end(), grant) == acl.end()) acl.push_back(std::move(grant));
  }
  return acl;
}

AccessControlList PrivateAcl(std::string_view owner) {
  return {AclGrant{std::string(owner), "", "FULL_CONTROL"}};
}

bool IsPublicAcl(const AccessControlList& acl) {
  return std::any_of(acl.begin(), acl.end(), [](const AclGrant& g) {
    return g.group == "AllUsers" || g.group == "AuthenticatedUsers";
  });
}

bool GrantsBeyondOwner(const AccessControlList& acl, std::string_view owner) {
  return std::any_of(acl.begin(), acl.end(), [&](const AclGrant& g) { return g.account != owner; });
}

void AppendAclStatements(const AccessControlList& acl, bool for_bucket, bool ignore_public,
                         std::string_view bucket_owner, iam::Policy& into) {
  for (const AclGrant& g : acl) {
    const bool is_public = g.group == "AllUsers" || g.group == "AuthenticatedUsers";
    if (is_public && ignore_public) continue;
    iam::Statement st;
    st.sid = "ACL " + g.permission;
    st.effect = iam::Effect::kAllow;
    st.actions = ActionsOf(g.permission, for_bucket, g.account == bucket_owner);
    if (st.actions.empty()) continue;
    st.has_action = true;
    // Only ever evaluated with the resource it belongs to.
    st.resources = {"*"};
    st.has_resource = true;
    iam::PrincipalSpec principal;
    if (!g.account.empty()) {
      principal.aws = {"arn:aws:iam::" + g.account + ":root"};
    } else if (is_public) {
      principal.anyone = true;
      if (g.group == "AuthenticatedUsers") {
        // Any signed caller of any account, never an anonymous one.
        st.conditions.push_back(
            {"Null", false, iam::SetQualifier::kNone, "aws:principalaccount", {"false"}});
      }
    } else {
      principal.other = {"logging.s3.amazonaws.com"};  // a service, never an IAM caller
    }
    st.principal = std::move(principal);
    into.statements.push_back(std::move(st));
  }
}

iam::ContextKeys AclConditionKeys(const std::optional<AclRequest>& request) {
  iam::ContextKeys keys;
  if (!request) return keys;
  for (const auto& [name, value] : request->headers) keys["s3:" + name].push_back(value);
  return keys;
}

}  // namespace hangar::s3
