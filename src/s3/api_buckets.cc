// Bucket operations of the S3 REST/XML codec: the bucket itself, its location, versioning, tags
// and default encryption, and the sub-resources answered as "not configured".

#include "common/strings.h"
#include "s3/access_api.h"
#include "s3/api_ops.h"
#include "s3/xml.h"

namespace hangar::s3::api {
namespace {

Result<HttpResponse> HandleListBuckets(S3Service& s3, const auth::RequestContext& ctx,
                                       const OpRequest&) {
  HANGAR_ASSIGN_OR_RETURN(auto buckets, s3.ListBuckets(ctx));
  XmlWriter x("ListAllMyBucketsResult");
  AddOwner(x, ctx.principal.account_id);
  x.Open("Buckets");
  for (const auto& b : buckets) {
    x.Open("Bucket")
        .Element("Name", b.name)
        .Element("CreationDate", Iso(b.created_ms))
        .Element("BucketRegion", b.region)
        .Close("Bucket");
  }
  x.Close("Buckets");
  return Xml(x.Finish());
}

Result<HttpResponse> HandleCreateBucket(S3Service& s3, const auth::RequestContext& ctx,
                                        const OpRequest& r) {
  CreateBucketInput input;
  input.bucket = r.bucket;
  HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(r.http, r.verified, false));
  if (!Trim(body).empty()) {
    HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "CreateBucketConfiguration"));
    if (doc.Has("LocationConstraint")) input.location_constraint = doc.Text("LocationConstraint");
  }
  input.object_lock_enabled =
      ToLower(r.headers().Get("x-amz-bucket-object-lock-enabled")) == "true";
  if (const std::string* ownership = r.headers().Find("x-amz-object-ownership")) {
    input.object_ownership = *ownership;
  }
  HANGAR_ASSIGN_OR_RETURN(input.acl, AclRequestFrom(r.headers()));
  HANGAR_RETURN_IF_ERROR(s3.CreateBucket(ctx, input));
  HttpResponse response = Empty(200);
  response.headers.Add("Location", "/" + r.bucket);
  return response;
}

Result<HttpResponse> HandleHeadBucket(S3Service& s3, const auth::RequestContext& ctx,
                                      const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(BucketRecord b, s3.HeadBucket(ctx, r.bucket));
  HttpResponse response = Empty(200);
  response.headers.Add("x-amz-bucket-region", b.region);
  return response;
}

Result<HttpResponse> HandleDeleteBucket(S3Service& s3, const auth::RequestContext& ctx,
                                        const OpRequest& r) {
  HANGAR_RETURN_IF_ERROR(s3.DeleteBucket(ctx, r.bucket));
  return Empty(204);
}

Result<HttpResponse> HandleGetBucketLocation(S3Service& s3, const auth::RequestContext& ctx,
                                             const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(BucketRecord b, s3.HeadBucket(ctx, r.bucket, "s3:GetBucketLocation"));
  // us-east-1 is reported as an empty constraint, as AWS does.
  std::string location = b.region == "us-east-1" ? "" : b.region;
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" +
                     std::string(kS3Namespace) + "\">" + XmlEscape(location) +
                     "</LocationConstraint>";
  return Xml(std::move(body));
}

Result<HttpResponse> HandlePutBucketTagging(S3Service& s3, const auth::RequestContext& ctx,
                                            const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(r.http, r.verified, true));
  HANGAR_ASSIGN_OR_RETURN(KeyValues tags, ParseTaggingXml(body));
  HANGAR_RETURN_IF_ERROR(s3.PutBucketTagging(ctx, r.bucket, tags));
  return Empty(204);
}

Result<HttpResponse> HandleGetBucketTagging(S3Service& s3, const auth::RequestContext& ctx,
                                            const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(KeyValues tags, s3.GetBucketTagging(ctx, r.bucket));
  return Xml(TaggingXml(tags));
}

Result<HttpResponse> HandleDeleteBucketTagging(S3Service& s3, const auth::RequestContext& ctx,
                                               const OpRequest& r) {
  HANGAR_RETURN_IF_ERROR(s3.DeleteBucketTagging(ctx, r.bucket));
  return Empty(204);
}

// Errors: kMalformedXml unless exactly one rule with one default.
Result<BucketEncryption> ParseBucketEncryption(std::string_view body) {
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc,
                          XmlDocument::Parse(body, "ServerSideEncryptionConfiguration"));
  auto rules = doc.Children("Rule");
  auto defaults = doc.Grandchildren("Rule", "ApplyServerSideEncryptionByDefault");
  if (rules.size() != 1 || defaults.size() != 1) {
    return MalformedXmlError();
  }
  BucketEncryption encryption;
  encryption.algorithm = FieldValue(defaults[0], "SSEAlgorithm");
  encryption.kms_key_id = FieldValue(defaults[0], "KMSMasterKeyID");
  encryption.bucket_key_enabled = ToLower(FieldValue(rules[0], "BucketKeyEnabled")) == "true";
  return encryption;
}

Result<HttpResponse> HandlePutBucketEncryption(S3Service& s3, const auth::RequestContext& ctx,
                                               const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(r.http, r.verified, true));
  HANGAR_ASSIGN_OR_RETURN(BucketEncryption encryption, ParseBucketEncryption(body));
  HANGAR_RETURN_IF_ERROR(s3.PutBucketEncryption(ctx, r.bucket, encryption));
  return Empty(200);
}

Result<HttpResponse> HandleGetBucketEncryption(S3Service& s3, const auth::RequestContext& ctx,
                                               const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(BucketEncryption e, s3.GetBucketEncryption(ctx, r.bucket));
  XmlWriter x("ServerSideEncryptionConfiguration");
  x.Open("Rule").Open("ApplyServerSideEncryptionByDefault").Element("SSEAlgorithm", e.algorithm);
  if (!e.kms_key_id.empty()) x.Element("KMSMasterKeyID", e.kms_key_id);
  x.Close("ApplyServerSideEncryptionByDefault").Bool("BucketKeyEnabled", e.bucket_key_enabled);
  x.Close("Rule");
  return Xml(x.Finish());
}

Result<HttpResponse> HandleDeleteBucketEncryption(S3Service& s3, const auth::RequestContext& ctx,
                                                  const OpRequest& r) {
  HANGAR_RETURN_IF_ERROR(s3.DeleteBucketEncryption(ctx, r.bucket));
  return Empty(204);
}

// Lifecycle is answered as "not configured" (the error AWS gives a bucket that never had one), so
// tools that probe it keep working.

}  // namespace

const Operation kListBuckets{.name = "ListBuckets", .handle = HandleListBuckets};
const Operation kCreateBucket{.name = "CreateBucket",
                              .body = Body::kXml,
                              .admission = Admission::kAccountAction,
                              .action = "s3:CreateBucket",
                              .handle = HandleCreateBucket};
const Operation kHeadBucket{.name = "HeadBucket", .cheap_read = true, .handle = HandleHeadBucket};
const Operation kDeleteBucket{.name = "DeleteBucket", .handle = HandleDeleteBucket};
const Operation kGetBucketLocation{.name = "GetBucketLocation", .handle = HandleGetBucketLocation};
// Tagging is authorised with the tags it sets (aws:RequestTag): only after the body.
const Operation kPutBucketTagging{.name = "PutBucketTagging",
                                  .body = Body::kXml,
                                  .admission = Admission::kBucketExists,
                                  .handle = HandlePutBucketTagging};
const Operation kGetBucketTagging{.name = "GetBucketTagging", .handle = HandleGetBucketTagging};
const Operation kDeleteBucketTagging{.name = "DeleteBucketTagging",
                                     .handle = HandleDeleteBucketTagging};
const Operation kPutBucketEncryption{.name = "PutBucketEncryption",
                                     .body = Body::kXml,
                                     .admission = Admission::kBucketAction,
                                     .action = "s3:PutEncryptionConfiguration",
                                     .handle = HandlePutBucketEncryption};
const Operation kGetBucketEncryption{.name = "GetBucketEncryption",
                                     .handle = HandleGetBucketEncryption};
const Operation kDeleteBucketEncryption{.name = "DeleteBucketEncryption",
                                        .handle = HandleDeleteBucketEncryption};

}  // namespace hangar::s3::api
