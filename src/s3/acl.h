#pragma once
// Access control lists, S3's older grant mechanism (docs/s3-acls.md): canned ACLs, grants named in
// a request, and what a list allows — expressed as policy statements, so that the one policy
// engine decides with ACLs, bucket policies and identity policies together (iam.md §2).
// ACLs count only in buckets whose object ownership is not BucketOwnerEnforced.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "iam/policy.h"
#include "s3/records.h"

namespace hangar::s3 {

inline constexpr std::string_view kGroupUriPrefix = "http://acs.amazonaws.com/groups/";

// The canonical user id S3 shows for an account (Owner ID, grantee ID): 64 hex, stable, opaque.
std::string CanonicalUserId(std::string_view account);
// A group's URI (http://acs.amazonaws.com/groups/global/AllUsers) from its short name, and back
// ("" for a URI that names no group S3 knows).
std::string GroupUri(std::string_view group);
std::string GroupOf(std::string_view uri);

// A grantee as a request names it: x-amz-grant-* headers or an AccessControlPolicy document.
struct GranteeRef {
  enum class Kind { kCanonicalUser, kGroup, kEmail };
  Kind kind = Kind::kCanonicalUser;
  std::string value;  // canonical id, group URI or e-mail address
  std::string permission;
};

// What a request asks for: a canned ACL (x-amz-acl) or explicit grants, never both.
struct AclRequest {
  std::string canned;
  std::vector<GranteeRef> grants;
  bool from_document = false;  // grants from a document, not headers (errors name them so)
  KeyValues headers;           // the ACL headers as sent (lower-case names), for conditions
};

// The accounts whose canonical ids a grant may name.
using AccountLister = std::function<Result<std::vector<std::string>>()>;

// Who an ACL is written for: the owner of the bucket or object, and the bucket's owner (the
// bucket-owner-* canned ACLs name it).
struct AclParties {
  std::string owner;
  std::string bucket_owner;
  bool for_bucket = false;  // bucket canned ACLs differ from object ones
};

// The list a request asks for. Errors: kValidation (an unknown canned ACL, a malformed or unknown
// id, an unknown group), kUnresolvableGrantByEmailAddress.
Result<AccessControlList> ResolveAcl(const AclRequest& request, const AclParties& parties,
                                     const AccountLister& accounts);
// The list of a resource that has none stored: its owner's full control.
AccessControlList PrivateAcl(std::string_view owner);
// Grants anything to AllUsers or AuthenticatedUsers (what Block Public Access calls public).
bool IsPublicAcl(const AccessControlList& acl);
// Grants something to anyone but `owner`.
bool GrantsBeyondOwner(const AccessControlList& acl, std::string_view owner);

// The statements a list amounts to, appended to `into`. `for_bucket` picks the bucket meaning of
// the permissions (READ lists the bucket, WRITE writes its objects) over the object one;
// `ignore_public` drops grants to the public groups (IgnorePublicAcls).
// `bucket_owner`: whose WRITE also removes versions for good.
void AppendAclStatements(const AccessControlList& acl, bool for_bucket, bool ignore_public,
                         std::string_view bucket_owner, iam::Policy& into);

// The s3:x-amz-acl and s3:x-amz-grant-* condition keys of a request's ACL headers.
iam::ContextKeys AclConditionKeys(const std::optional<AclRequest>& request);

}  // namespace hangar::s3
