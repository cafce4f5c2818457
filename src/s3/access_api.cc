#include "s3/access_api.h"

#include "common/strings.h"
#include "s3/xml.h"

namespace hangar::s3 {
namespace {

HttpResponse Respond(int status, std::string body = {}, std::string content_type = {}) {
  HttpResponse r;
  r.status = status;
  if (!content_type.empty()) r.headers.Add("Content-Type", content_type);
  r.body = std::move(body);
  return r;
}

Status Malformed() {
  return MalformedXmlError();
}

Status AclsDisabled() {
  return Error(ErrorCode::kAccessControlListNotSupported, "The bucket does not allow ACLs");
}

Result<PublicAccessBlock> ParsePublicAccessBlock(const std::string& body) {
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc,
                          XmlDocument::Parse(body, "PublicAccessBlockConfiguration"));
  // Absent elements are false, as on AWS.
  auto flag = [&](const char* name) { return ToLower(doc.Text(name)) == "true"; };
  return PublicAccessBlock{flag("BlockPublicAcls"), flag("IgnorePublicAcls"),
                           flag("BlockPublicPolicy"), flag("RestrictPublicBuckets")};
}

HttpResponse PublicAccessBlockXml(const PublicAccessBlock& b) {
  XmlWriter x("PublicAccessBlockConfiguration");
  x.Bool("BlockPublicAcls", b.block_public_acls)
      .Bool("IgnorePublicAcls", b.ignore_public_acls)
      .Bool("BlockPublicPolicy", b.block_public_policy)
      .Bool("RestrictPublicBuckets", b.restrict_public_buckets);
  return Respond(200, x.Finish(), "application/xml");
}

Result<HttpResponse> AccountPublicAccessBlock(S3Service& service, const auth::RequestContext& ctx,
                                              const HttpRequest& request,
                                              const std::string& body) {
  const std::string account(request.headers.Get("x-amz-account-id"));
  if (account.empty()) {
    return Error(ErrorCode::kValidation, "Missing required header: x-amz-account-id");
  }
  if (request.method == "GET") {
    HANGAR_ASSIGN_OR_RETURN(auto block, service.GetAccountPublicAccessBlock(ctx, account));
    return PublicAccessBlockXml(block);
  }
  if (request.method == "PUT") {
    HANGAR_ASSIGN_OR_RETURN(auto block, ParsePublicAccessBlock(body));
    HANGAR_RETURN_IF_ERROR(service.PutAccountPublicAccessBlock(ctx, account, block));
    return Respond(200);
  }
  if (request.method == "DELETE") {
    HANGAR_RETURN_IF_ERROR(service.PutAccountPublicAccessBlock(ctx, account, std::nullopt));
    return Respond(204);
  }
  return Error(ErrorCode::kMethodNotAllowed,
               "The specified method is not allowed against this resource.");
}

}  // namespace

Status CheckAclHeaders(const HeaderList& headers) {
  if (const std::string* acl = headers.Find("x-amz-acl")) {
    if (*acl != "private" && *acl != "bucket-owner-full-control") return AclsDisabled();
  }
  for (const char* grant : {"x-amz-grant-read", "x-amz-grant-write", "x-amz-grant-read-acp",
                            "x-amz-grant-write-acp", "x-amz-grant-full-control"}) {
    if (headers.Has(grant)) return AclsDisabled();
  }
  return Status::Ok();
}

Result<HttpResponse> HandleAccessControl(S3Service& service, const auth::RequestContext& ctx,
                                         const HttpRequest& request, const std::string& bucket,
                                         const std::string& key, const std::string& body) {
  if (bucket == "v20180820") return AccountPublicAccessBlock(service, ctx, request, body);
  const std::string& method = request.method;
  const std::string& query = request.query;
  auto has = [&](std::string_view name) {
    for (std::string_view rest = query; !rest.empty();) {
      size_t amp = rest.find('&');
      std::string_view part = rest.substr(0, amp);
      if (part.substr(0, part.find('=')) == name) return true;
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
    return false;
  };

  if (has("acl")) {
    // ACLs are disabled: a write is accepted only if it restates the owner's full control.
    HANGAR_RETURN_IF_ERROR(CheckAclHeaders(request.headers));
    if (!key.empty()) {
      HANGAR_RETURN_IF_ERROR(
          service.GetObjectRecord(ctx, bucket, key, nullptr, "s3:PutObjectAcl").status());
    } else {
      HANGAR_RETURN_IF_ERROR(service.HeadBucket(ctx, bucket, "s3:PutBucketAcl").status());
    }
    if (!Trim(body).empty()) return AclsDisabled();  // an AccessControlPolicy document
    return Respond(200);
  }
  if (has("policyStatus")) {
    HANGAR_ASSIGN_OR_RETURN(bool is_public, service.GetBucketPolicyStatus(ctx, bucket));
    XmlWriter x("PolicyStatus");
    x.Bool("IsPublic", is_public);
    return Respond(200, x.Finish(), "application/xml");
  }
  if (has("policy")) {
    if (method == "PUT") {
      HANGAR_RETURN_IF_ERROR(service.PutBucketPolicy(ctx, bucket, body));
      return Respond(204);
    }
    if (method == "DELETE") {
      HANGAR_RETURN_IF_ERROR(service.DeleteBucketPolicy(ctx, bucket));
      return Respond(204);
    }
    HANGAR_ASSIGN_OR_RETURN(std::string policy, service.GetBucketPolicy(ctx, bucket));
    return Respond(200, std::move(policy), "application/json");
  }
  if (has("publicAccessBlock")) {
    if (method == "PUT") {
      HANGAR_ASSIGN_OR_RETURN(auto block, ParsePublicAccessBlock(body));
      HANGAR_RETURN_IF_ERROR(service.PutPublicAccessBlock(ctx, bucket, block));
      return Respond(200);
    }
    if (method == "DELETE") {
      HANGAR_RETURN_IF_ERROR(service.DeletePublicAccessBlock(ctx, bucket));
      return Respond(204);
    }
    HANGAR_ASSIGN_OR_RETURN(auto block, service.GetPublicAccessBlock(ctx, bucket));
    return PublicAccessBlockXml(block);
  }
  // ?ownershipControls: every bucket is BucketOwnerEnforced (ACLs disabled), the AWS default.
  if (method == "PUT") {
    HANGAR_RETURN_IF_ERROR(service.HeadBucket(ctx, bucket, "s3:PutBucketOwnershipControls").status());
    HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "OwnershipControls"));
    auto rules = doc.Children("Rule");
    if (rules.size() != 1) return Malformed();
    if (FieldValue(rules[0], "ObjectOwnership") != "BucketOwnerEnforced") {
      return Error(ErrorCode::kInvalidRequest,
                   "This server supports only the BucketOwnerEnforced object ownership: ACLs "
                   "are disabled and the bucket owner owns every object.");
    }
    return Respond(200);
  }
  if (method == "DELETE") {
    HANGAR_RETURN_IF_ERROR(service.HeadBucket(ctx, bucket, "s3:PutBucketOwnershipControls").status());
    return Error(ErrorCode::kInvalidRequest,
                 "Object ownership cannot be removed: this server supports only "
                 "BucketOwnerEnforced.");
  }
  HANGAR_RETURN_IF_ERROR(service.HeadBucket(ctx, bucket, "s3:GetBucketOwnershipControls").status());
  XmlWriter x("OwnershipControls");
  x.Open("Rule").Element("ObjectOwnership", "BucketOwnerEnforced").Close("Rule");
  return Respond(200, x.Finish(), "application/xml");
}

}  // namespace hangar::s3
