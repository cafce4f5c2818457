#pragma once
// S3Access: who may do what to a bucket and its objects, by AWS's rules (iam.md §2, §4): explicit
// deny wins; in the bucket owner's account an identity policy or the bucket policy suffices;
// another account needs both; anonymous callers only what the bucket policy grants to "*"; and
// Block Public Access (bucket OR account settings) can take public grants away. In buckets with
// ACLs enabled, ACL grants count as resource-policy statements (docs/s3-acls.md).
//
// Thread-safe.

#include <memory>
#include <string>
#include <string_view>

#include "auth/request_context.h"
#include "iam/policy.h"
#include "iam/policy_cache.h"
#include "iam/policy_source.h"
#include "s3/records.h"
#include "s3/sse.h"

namespace hangar::s3 {

// One S3 request as authorisation sees it.
struct S3Request {
  std::string action;    // "s3:GetObject"
  std::string key;       // object key; empty for bucket-level actions
  iam::ContextKeys keys;  // s3:* condition keys of the request (lower-case names)
  // Object actions in buckets with ACLs: the version's owner ("" = the bucket owner) and ACL
  // (null = private). The bucket owner's policy cannot grant on another account's object.
  std::string object_owner;
  const AccessControlList* object_acl = nullptr;
};

// The s3:x-amz-server-side-encryption* condition keys: the request's headers as sent, absent when
// the header is (a bucket default does not fill them, iam.md §4).
iam::ContextKeys SseConditionKeys(const SseHeaders& sse);

// The tags a request sets: aws:RequestTag/<key> and aws:TagKeys, and for objects also
// s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys.
iam::ContextKeys RequestTagKeys(const KeyValues& tags, bool object);
// An existing object's tags: aws:ResourceTag/<key> and s3:ExistingObjectTag/<key>.
void AddExistingObjectTags(iam::ContextKeys& keys, const KeyValues& tags);

// The Block Public Access settings in force: the bucket's OR'ed with its account's.
PublicAccessBlock EffectivePublicAccessBlock(const BucketRecord& bucket,
                                             const std::optional<PublicAccessBlock>& account);

class S3Access {
 public:
  explicit S3Access(const iam::IdentityPolicySource& identities);

  // Errors: kAccessDenied ("Access Denied" for anonymous and cross-account callers, AWS's detailed
  // text naming principal, action and resource for callers of the owner's account).
  Status Authorize(const auth::RequestContext& ctx, const BucketRecord& bucket,
                   const PublicAccessBlock& block, const S3Request& request) const;
  // Actions outside any bucket (s3:ListAllMyBuckets, s3:CreateBucket, account settings): the
  // caller's identity policies decide; anonymous callers never may.
  Status AuthorizeAccount(const auth::RequestContext& ctx, std::string_view action,
                          std::string_view resource) const;
  // Checks a bucket policy about to be stored: grammar (kMalformedPolicy with AWS's texts) and
  // BlockPublicPolicy (kAccessDenied).
  Status CheckNewBucketPolicy(const BucketRecord& bucket, std::string_view policy,
                              const PublicAccessBlock& block) const;
  // Whether the bucket's policy is public (GetBucketPolicyStatus).
  bool IsPublic(const BucketRecord& bucket) const;
  // Whether an anonymous request could be allowed at all (a policy statement for "*"): checked
  // before an anonymous request's body is read.
  bool MayAllowAnonymous(const BucketRecord& bucket) const;

 private:
  std::shared_ptr<const iam::Policy> BucketPolicy(const BucketRecord& bucket) const;
  // The resource side when ACLs count: the bucket policy (only its denies for an object another
  // account owns) with the statements of the bucket's and the object's ACLs.
  std::shared_ptr<const iam::Policy> WithAcls(std::shared_ptr<const iam::Policy> bucket_policy,
                                              const BucketRecord& bucket,
                                              const S3Request& request, bool ignore_public,
                                              const std::string& resource_owner) const;

  const iam::IdentityPolicySource& identities_;
  iam::PolicyCache bucket_policies_{iam::PolicyKind::kResource};  // by bucket name
};

}  // namespace hangar::s3
