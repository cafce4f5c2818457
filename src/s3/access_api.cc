#include "s3/access_api.h"

#include <functional>

#include "common/strings.h"
#include "s3/api_ops.h"
#include "s3/xml.h"

namespace hangar::s3 {
namespace api {
namespace {

HttpResponse Respond(int status, std::string body = {}, std::string content_type = {}) {
  HttpResponse r;
  r.status = status;
  if (!content_type.empty()) r.headers.Add("Content-Type", content_type);
  r.body = std::move(body);
  return r;
}

// The body of a PUT, verified; it need not carry Content-MD5.
Result<std::string> PutBody(const OpRequest& r) {
  return VerifiedBufferedPayload(r.http, r.verified, /*checksum_required=*/false);
}

// --- Bucket policies -----------------------------------------------------------------------------

Result<HttpResponse> HandlePutBucketPolicy(S3Service& s3, const auth::RequestContext& ctx,
                                           const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, PutBody(r));
  HANGAR_RETURN_IF_ERROR(s3.PutBucketPolicy(ctx, r.bucket, body));
  return Respond(204);
}

Result<HttpResponse> HandleGetBucketPolicy(S3Service& s3, const auth::RequestContext& ctx,
                                           const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string policy, s3.GetBucketPolicy(ctx, r.bucket));
  return Respond(200, std::move(policy), "application/json");
}

Result<HttpResponse> HandleDeleteBucketPolicy(S3Service& s3, const auth::RequestContext& ctx,
                                              const OpRequest& r) {
  HANGAR_RETURN_IF_ERROR(s3.DeleteBucketPolicy(ctx, r.bucket));
  return Respond(204);
}

Result<HttpResponse> HandleGetBucketPolicyStatus(S3Service& s3, const auth::RequestContext& ctx,
                                                 const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(bool is_public, s3.GetBucketPolicyStatus(ctx, r.bucket));
  XmlWriter x("PolicyStatus");
  x.Bool("IsPublic", is_public);
  return Respond(200, x.Finish(), "application/xml");
}

// --- Block Public Access: the bucket's and, through S3 Control, the account's ------------------

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

Result<HttpResponse> HandlePutPublicAccessBlock(S3Service& s3, const auth::RequestContext& ctx,
                                                const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, PutBody(r));
  HANGAR_ASSIGN_OR_RETURN(auto block, ParsePublicAccessBlock(body));
  HANGAR_RETURN_IF_ERROR(s3.PutPublicAccessBlock(ctx, r.bucket, block));
  return Respond(200);
}

Result<HttpResponse> HandleGetPublicAccessBlock(S3Service& s3, const auth::RequestContext& ctx,
                                                const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(auto block, s3.GetPublicAccessBlock(ctx, r.bucket));
  return PublicAccessBlockXml(block);
}

Result<HttpResponse> HandleDeletePublicAccessBlock(S3Service& s3, const auth::RequestContext& ctx,
                                                   const OpRequest& r) {
  HANGAR_RETURN_IF_ERROR(s3.DeletePublicAccessBlock(ctx, r.bucket));
  return Respond(204);
}

// S3 Control names the account in a header. Errors: kValidation when it is missing.
Result<std::string> ControlAccount(const OpRequest& r) {
  std::string account(r.headers().Get("x-amz-account-id"));
  if (account.empty()) {
    return Error(ErrorCode::kValidation, "Missing required header: x-amz-account-id");
  }
  return account;
}

Result<HttpResponse> HandleGetAccountPublicAccessBlock(S3Service& s3,
                                                       const auth::RequestContext& ctx,
                                                       const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string account, ControlAccount(r));
  HANGAR_ASSIGN_OR_RETURN(auto block, s3.GetAccountPublicAccessBlock(ctx, account));
  return PublicAccessBlockXml(block);
}

Result<HttpResponse> HandlePutAccountPublicAccessBlock(S3Service& s3,
                                                       const auth::RequestContext& ctx,
                                                       const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, PutBody(r));
  HANGAR_ASSIGN_OR_RETURN(std::string account, ControlAccount(r));
  HANGAR_ASSIGN_OR_RETURN(auto block, ParsePublicAccessBlock(body));
  HANGAR_RETURN_IF_ERROR(s3.PutAccountPublicAccessBlock(ctx, account, block));
  return Respond(200);
}

Result<HttpResponse> HandleDeleteAccountPublicAccessBlock(S3Service& s3,
                                                          const auth::RequestContext& ctx,
                                                          const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string account, ControlAccount(r));
  HANGAR_RETURN_IF_ERROR(s3.PutAccountPublicAccessBlock(ctx, account, std::nullopt));
  return Respond(204);
}

Result<HttpResponse> HandleAccountPublicAccessBlockOtherMethod(S3Service&,
                                                               const auth::RequestContext&,
                                                               const OpRequest& r) {
  HANGAR_RETURN_IF_ERROR(ControlAccount(r).status());
  return Error(ErrorCode::kMethodNotAllowed,
               "The specified method is not allowed against this resource.");
}

}  // namespace

const Operation kPutBucketPolicy{.name = "PutBucketPolicy",
                                 .body = Body::kPolicy,
                                 .admission = Admission::kBucketAction,
                                 .action = "s3:PutBucketPolicy",
                                 .handle = HandlePutBucketPolicy};
const Operation kGetBucketPolicy{.name = "GetBucketPolicy", .handle = HandleGetBucketPolicy};
const Operation kDeleteBucketPolicy{.name = "DeleteBucketPolicy",
                                    .handle = HandleDeleteBucketPolicy};
const Operation kGetBucketPolicyStatus{.name = "GetBucketPolicyStatus",
                                       .handle = HandleGetBucketPolicyStatus};

const Operation kPutPublicAccessBlock{.name = "PutPublicAccessBlock",
                                      .body = Body::kXml,
                                      .admission = Admission::kBucketAction,
                                      .action = "s3:PutBucketPublicAccessBlock",
                                      .handle = HandlePutPublicAccessBlock};
const Operation kGetPublicAccessBlock{.name = "GetPublicAccessBlock",
                                      .handle = HandleGetPublicAccessBlock};
const Operation kDeletePublicAccessBlock{.name = "DeletePublicAccessBlock",
                                         .handle = HandleDeletePublicAccessBlock};

// The S3 Control path names no bucket; its key makes these data events in the audit log.
const Operation kGetAccountPublicAccessBlock{.name = "GetAccountPublicAccessBlock",
                                             .event = Event::kDataIfObject,
                                             .handle = HandleGetAccountPublicAccessBlock};
const Operation kPutAccountPublicAccessBlock{.name = "PutAccountPublicAccessBlock",
                                             .event = Event::kDataIfObject,
                                             .body = Body::kXml,
                                             .handle = HandlePutAccountPublicAccessBlock};
const Operation kDeleteAccountPublicAccessBlock{.name = "DeleteAccountPublicAccessBlock",
                                                .event = Event::kDataIfObject,
                                                .handle = HandleDeleteAccountPublicAccessBlock};
const Operation kAccountPublicAccessBlockOtherMethod{
    .name = "PutAccountPublicAccessBlock",
    .event = Event::kDataIfObject,
    .handle = HandleAccountPublicAccessBlockOtherMethod};

}  // namespace api
}  // namespace hangar::s3
