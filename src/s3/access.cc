#include "s3/access.h"

#include "common/strings.h"
#include "iam/policy_model.h"
#include "iam/request_facts.h"
#include "s3/acl.h"
#include "s3/policy_actions.h"

namespace hangar::s3 {
namespace {

std::string ResourceArn(std::string_view bucket, std::string_view key) {
  std::string arn = "arn:aws:s3:::" + std::string(bucket);
  if (!key.empty()) arn += "/" + std::string(key);
  return arn;
}

bool IsBucketPolicyAction(std::string_view action) {
  return action == "s3:GetBucketPolicy" || action == "s3:PutBucketPolicy" ||
         action == "s3:DeleteBucketPolicy";
}

Status Denied(const auth::RequestContext& ctx, const iam::RequestFacts& facts,
              const iam::AuthorizationResult& result, bool detailed) {
  if (!detailed) return Error(ErrorCode::kAccessDenied, "Access Denied");
  return Error(ErrorCode::kAccessDenied, "User: " + ctx.principal.arn +
                                             " is not authorized to perform: " + facts.action +
                                             " on resource: \"" + facts.resource + "\"" +
                                             iam::DenialSuffix(result, facts.action));
}

}  // namespace

iam::ContextKeys SseConditionKeys(const SseHeaders& sse) {
  iam::ContextKeys keys;
  if (sse.algorithm) keys["s3:x-amz-server-side-encryption"] = {*sse.algorithm};
  if (sse.kms_key_id) keys["s3:x-amz-server-side-encryption-aws-kms-key-id"] = {*sse.kms_key_id};
  if (sse.customer_algorithm) {
    keys["s3:x-amz-server-side-encryption-customer-algorithm"] = {*sse.customer_algorithm};
  }
  return keys;
}

iam::ContextKeys RequestTagKeys(const KeyValues& tags, bool object) {
  iam::ContextKeys keys;
  iam::AddRequestTags(keys, tags);
  if (object) {
    std::vector<std::string> names;
    for (const auto& [k, v] : tags) {
      keys["s3:requestobjecttag/" + ToLower(k)] = {v};
      names.push_back(k);
    }
    keys["s3:requestobjecttagkeys"] = names;
  }
  return keys;
}

void AddExistingObjectTags(iam::ContextKeys& keys, const KeyValues& tags) {
  iam::AddResourceTags(keys, tags);
  for (const auto& [k, v] : tags) keys["s3:existingobjecttag/" + ToLower(k)] = {v};
}

PublicAccessBlock EffectivePublicAccessBlock(const BucketRecord& bucket,
                                             const std::optional<PublicAccessBlock>& account) {
  PublicAccessBlock none{false, false, false, false};
  const PublicAccessBlock& b = bucket.public_access_block ? *bucket.public_access_block : none;
  const PublicAccessBlock& a = account ? *account : none;
  return PublicAccessBlock{b.block_public_acls || a.block_public_acls,
                           b.ignore_public_acls || a.ignore_public_acls,
                           b.block_public_policy || a.block_public_policy,
                           b.restrict_public_buckets || a.restrict_public_buckets};
}

S3Access::S3Access(const iam::IdentityPolicySource& identities) : identities_(identities) {}

std::shared_ptr<const iam::Policy> S3Access::BucketPolicy(const BucketRecord& bucket) const {
  if (bucket.policy.empty()) return nullptr;
  auto parsed = bucket_policies_.Get(bucket.name, bucket.policy);
  // Only validated policies are stored; one that no longer parses grants nothing.
  return parsed.ok() ? *parsed : nullptr;
}

std::shared_ptr<const iam::Policy> S3Access::WithAcls(
    std::shared_ptr<const iam::Policy> bucket_policy, const BucketRecord& bucket,
    const S3Request& request, bool ignore_public, const std::string& resource_owner) const {
  auto merged = std::make_shared<iam::Policy>();
  merged->version = "2012-10-17";
  const bool foreign_object = resource_owner != bucket.owner_account;
  if (bucket_policy) {
    merged->version = bucket_policy->version;
    for (const auto& st : bucket_policy->statements) {
      if (!foreign_object || st.effect == iam::Effect::kDeny) merged->statements.push_back(st);
    }
  }
  AppendAclStatements(bucket.acl ? *bucket.acl : PrivateAcl(bucket.owner_account),
                      /*for_bucket=*/true, ignore_public, bucket.owner_account, *merged);
  if (!request.key.empty()) {
    AppendAclStatements(request.object_acl ? *request.object_acl : PrivateAcl(resource_owner),
                        /*for_bucket=*/false, ignore_public, bucket.owner_account, *merged);
  }
  return merged;
}

Status S3Access::Authorize(const auth::RequestContext& ctx, const BucketRecord& bucket,
                           const PublicAccessBlock& block, const S3Request& request) const {
  const bool acls = bucket.acls_enabled();
  // Who owns what the request acts on: the bucket's owner, or another account's object.
  const std::string& resource_owner =
      acls && !request.object_owner.empty() ? request.object_owner : bucket.owner_account;
  const bool owner_root = ctx.principal.type == auth::PrincipalType::kRoot &&
                          ctx.principal.account_id == resource_owner;
  // The owner's root may do anything in its account; only a bucket policy could deny it. Without
  // one the answer is known before any context is built (this is every request of a lab's root).
  if (owner_root && bucket.policy.empty()) return Status::Ok();
  iam::RequestFacts facts =
      iam::FactsFor(ctx, request.action, ResourceArn(bucket.name, request.key));
  for (const auto& [k, v] : request.keys) facts.context[k] = v;
  facts.context["aws:resourceaccount"] = {resource_owner};
  // Bucket actions see the bucket's tags; object actions see the object's (added by the caller).
  if (request.key.empty()) iam::AddResourceTags(facts.context, bucket.tags);
  if (!ctx.auth_type.empty()) {
    facts.context["s3:authtype"] = {ctx.auth_type};
    facts.context["s3:signatureversion"] = {"AWS4-HMAC-SHA256"};
    facts.context["s3:signatureage"] = {std::to_string(ctx.signature_age_ms)};
  }

  const bool owner_account =
      !ctx.principal.anonymous() && ctx.principal.account_id == resource_owner;
  // The owner's root can always manage the bucket policy, so a policy cannot lock it out.
  if (owner_root && IsBucketPolicyAction(request.action)) {
    return Status::Ok();
  }
  std::shared_ptr<const iam::Policy> bucket_policy = BucketPolicy(bucket);
  // RestrictPublicBuckets: a public policy then grants nothing outside the owner's account.
  if (bucket_policy && !owner_account && block.restrict_public_buckets &&
      iam::GrantsPublicAccess(*bucket_policy)) {
    return Error(ErrorCode::kAccessDenied, "Access Denied");
  }
  iam::IdentityPolicies identity;
  if (!ctx.principal.anonymous()) {
    HANGAR_ASSIGN_OR_RETURN(identity, identities_.PoliciesFor(ctx.principal));
    iam::AddPrincipalTags(facts.context, identity.principal_tags);
  }
  std::shared_ptr<const iam::Policy> resource = bucket_policy;
  if (acls)
    resource = WithAcls(bucket_policy, bucket, request, block.ignore_public_acls, resource_owner);
  iam::PolicySet set;
  for (const auto& p : identity.policies) set.identity.push_back(p.get());
  set.session = identity.session.get();
  set.resource = resource.get();
  set.resource_account = resource_owner;
  iam::AuthorizationResult result = iam::Authorize(facts, set);
  if (result.decision == iam::Decision::kAllowed) return Status::Ok();
  return Denied(ctx, facts, result, owner_account);
}

Status S3Access::AuthorizeAccount(const auth::RequestContext& ctx, std::string_view action,
                                  std::string_view resource) const {
  if (ctx.principal.anonymous()) return Error(ErrorCode::kAccessDenied, "Access Denied");
  iam::RequestFacts facts = iam::FactsFor(ctx, std::string(action), std::string(resource));
  HANGAR_ASSIGN_OR_RETURN(iam::IdentityPolicies identity, identities_.PoliciesFor(ctx.principal));
  iam::AddPrincipalTags(facts.context, identity.principal_tags);
  iam::PolicySet set;
  for (const auto& p : identity.policies) set.identity.push_back(p.get());
  set.session = identity.session.get();
  set.resource_account = ctx.principal.account_id;
  iam::AuthorizationResult result = iam::Authorize(facts, set);
  if (result.decision == iam::Decision::kAllowed) return Status::Ok();
  return Denied(ctx, facts, result, /*detailed=*/true);
}

Status S3Access::CheckNewBucketPolicy(const BucketRecord& bucket, std::string_view policy,
                                      const PublicAccessBlock& block) const {
  auto parsed = iam::ParsePolicy(policy, iam::PolicyKind::kResource);
  if (!parsed.ok()) {
    std::string_view trimmed =
        policy.substr(std::min(policy.find_first_not_of(" \t\r\n"), policy.size()));
    std::string message = trimmed.starts_with("{")
                              ? parsed.status().message()
                              : "Policies must be valid JSON and the first byte must be '{'";
    return Error(ErrorCode::kMalformedPolicy, message);
  }
  if (policy.size() > 20 * 1024) {
    return Error(ErrorCode::kMalformedPolicy, "Policy exceeds the maximum allowed document size.");
  }
  for (const auto& statement : (*parsed)->statements) {
    for (const auto& action : statement.actions) {
      if (!NamesS3Actions(action)) {
        return Error(ErrorCode::kMalformedPolicy, "Policy has invalid action");
      }
    }
  }
  // A bucket policy speaks only of its own bucket and objects.
  const std::string bucket_arn = ResourceArn(bucket.name, "");
  for (const auto& statement : (*parsed)->statements) {
    for (const auto& resource : statement.resources) {
      if (resource != bucket_arn && !resource.starts_with(bucket_arn + "/")) {
        return Error(ErrorCode::kMalformedPolicy, "Policy has invalid resource");
      }
    }
  }
  if (block.block_public_policy && iam::GrantsPublicAccess(**parsed)) {
    return Error(ErrorCode::kAccessDenied, "Access Denied");
  }
  return Status::Ok();
}

bool S3Access::MayAllowAnonymous(const BucketRecord& bucket) const {
  // An object's ACL may be public: with ACLs on, anonymous requests are evaluated in full.
  if (bucket.acls_enabled()) return true;
  auto policy = BucketPolicy(bucket);
  return policy && iam::MayAllowAnonymous(*policy);
}

bool S3Access::IsPublic(const BucketRecord& bucket) const {
  auto policy = BucketPolicy(bucket);
  return policy && iam::GrantsPublicAccess(*policy);
}

}  // namespace hangar::s3
