// Multipart uploads in the S3 REST/XML codec: create, upload a part (bytes or a copy), complete,
// abort, and the two listings (parts of an upload, uploads of a bucket).

#include <stdexcept>

#include "s3/access_api.h"
#include "s3/api_ops.h"
#include "s3/tags.h"
#include "s3/xml.h"

namespace hangar::s3::api {
namespace {

// The upload's initiator and owner, both the account that created it.
void AddInitiatorAndOwner(XmlWriter& x, const std::string& account) {
  x.Open("Initiator")
      .Element("ID", CanonicalUserId(account))
      .Element("DisplayName", account)
      .Close("Initiator");
  AddOwner(x, account);
}

// Errors: kValidation (an unsupported checksum algorithm), those of AclRequestFrom,
// CheckStoredHeadersAreUtf8, ParseTaggingHeader, StorageClassFrom and CustomerKeyFrom.
Result<CreateUploadInput> ParseCreateMultipartUpload(const OpRequest& r) {
  const HeaderList& h = r.headers();
  HANGAR_RETURN_IF_ERROR(CheckStoredHeadersAreUtf8(h));
  CreateUploadInput input;
  HANGAR_ASSIGN_OR_RETURN(input.acl, AclRequestFrom(h));
  input.bucket = r.bucket;
  input.key = r.key;
  input.headers = ContentHeadersFrom(h);
  input.user_metadata = UserMetadataFrom(h);
  if (const std::string* tagging = h.Find("x-amz-tagging")) {
    HANGAR_ASSIGN_OR_RETURN(input.tags, ParseTaggingHeader(*tagging));
  }
  HANGAR_ASSIGN_OR_RETURN(input.storage_class, StorageClassFrom(h));
  if (const std::string* alg = h.Find("x-amz-checksum-algorithm")) {
    input.checksum_algorithm = ParseChecksumAlgorithm(*alg);
    if (!input.checksum_algorithm) {
      return Error(ErrorCode::kValidation, "Checksum algorithm provided is unsupported.")
          .WithField("ArgumentName", "x-amz-checksum-algorithm");
    }
  }
  input.checksum_type = std::string(h.Get("x-amz-checksum-type"));
  input.sse = SseHeadersFrom(h);
  HANGAR_ASSIGN_OR_RETURN(input.customer_key, CustomerKeyFrom(h, "x-amz-"));
  HANGAR_ASSIGN_OR_RETURN(input.lock, LockRequestFrom(h));
  return input;
}

Result<HttpResponse> HandleCreateMultipartUpload(S3Service& s3, const auth::RequestContext& ctx,
                                                 const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(CreateUploadInput input, ParseCreateMultipartUpload(r));
  HANGAR_ASSIGN_OR_RETURN(UploadRecord upload, s3.CreateMultipartUpload(ctx, input));
  XmlWriter x("InitiateMultipartUploadResult");
  x.Element("Bucket", r.bucket).Element("Key", r.key).Element("UploadId", upload.upload_id);
  HttpResponse response = Xml(x.Finish());
  if (!upload.checksum_algorithm.empty()) {
    response.headers.Add("x-amz-checksum-algorithm", upload.checksum_algorithm);
    response.headers.Add("x-amz-checksum-type", upload.checksum_type);
  }
  AddSseHeaders(response, upload.encryption);
  return response;
}

// What UploadPart and UploadPartCopy share. Errors: kValidation (partNumber not an integer),
// those of CustomerKeyFrom.
Result<UploadPartInput> ParseUploadPart(const OpRequest& r) {
  if (r.query.Has("versionId")) {
    return Error(ErrorCode::kValidation, "This operation does not accept a version-id.")
        .WithField("ArgumentName", "versionId")
        .WithField("ArgumentValue", r.query.GetOr("versionId", ""));
  }
  UploadPartInput input;
  input.bucket = r.bucket;
  input.key = r.key;
  input.upload_id = r.query.GetOr("uploadId", "");
  HANGAR_ASSIGN_OR_RETURN(input.part_number,
                          IntParam(r.query, "partNumber", 0, -(1 << 30), 1 << 30));
  HANGAR_ASSIGN_OR_RETURN(input.customer_key, CustomerKeyFrom(r.headers(), "x-amz-"));
  return input;
}

Result<HttpResponse> HandleUploadPart(S3Service& s3, const auth::RequestContext& ctx,
                                      const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(UploadPartInput input, ParseUploadPart(r));
  input.content_md5 = OptionalHeader(r.headers(), "content-md5");
  HANGAR_ASSIGN_OR_RETURN(input.checksum, ChecksumFrom(r.headers()));
  HANGAR_ASSIGN_OR_RETURN(auto body, UploadPayload(r));
  input.content_length = body->decoded_length();
  HANGAR_ASSIGN_OR_RETURN(PartOutput out, s3.UploadPart(ctx, input, *body));
  const PartRecord& part = out.part;
  HttpResponse response = Empty(200);
  AddSseHeaders(response, out.encryption);
  response.headers.Add("ETag", part.etag);
  if (part.checksum) {
    auto algorithm = ParseChecksumAlgorithm(part.checksum->algorithm);
    if (algorithm) response.headers.Add(ChecksumHeaderName(*algorithm), part.checksum->value);
  }
  return response;
}

Result<HttpResponse> HandleUploadPartCopy(S3Service& s3, const auth::RequestContext& ctx,
                                          const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(UploadPartInput input, ParseUploadPart(r));
  HANGAR_ASSIGN_OR_RETURN(CopySource source, CopySourceFrom(r.headers()));
  HANGAR_ASSIGN_OR_RETURN(PartOutput out, s3.UploadPartCopy(ctx, input, source));
  const PartRecord& part = out.part;
  XmlWriter x("CopyPartResult");
  x.Element("LastModified", Iso(part.last_modified_ms)).Element("ETag", part.etag);
  if (part.checksum) x.Element("Checksum" + part.checksum->algorithm, part.checksum->value);
  HttpResponse response = Xml(x.Finish());
  AddSseHeaders(response, out.encryption);
  return response;
}

// Errors: kMalformedXml (also for a PartNumber that is not an integer).
Result<std::vector<CompletedPart>> ParseCompletedParts(std::string_view body) {
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "CompleteMultipartUpload"));
  std::vector<CompletedPart> parts;
  for (const auto& p : doc.Children("Part")) {
    CompletedPart part;
    try {
      size_t used = 0;
      std::string number = FieldValue(p, "PartNumber");
      part.part_number = std::stoi(number, &used);
      if (used != number.size()) throw std::invalid_argument("PartNumber");
    } catch (...) {
      return MalformedXmlError();
    }
    part.etag = FieldValue(p, "ETag");
    for (const auto& [name, value] : p) {
      if (name.starts_with("Checksum")) part.checksum = value;
    }
    parts.push_back(std::move(part));
  }
  return parts;
}

Result<HttpResponse> HandleCompleteMultipartUpload(S3Service& s3, const auth::RequestContext& ctx,
                                                   const OpRequest& r) {
  // Complete's x-amz-checksum-* is the whole object's checksum, not the XML body's.
  HANGAR_ASSIGN_OR_RETURN(std::string body,
                          VerifiedBufferedPayload(r.http, r.verified, false,
                                                  /*checksum_headers_describe_body=*/false));
  HANGAR_ASSIGN_OR_RETURN(std::vector<CompletedPart> parts, ParseCompletedParts(body));
  const HeaderList& h = r.headers();
  CompleteUploadOptions options;
  HANGAR_ASSIGN_OR_RETURN(options.conditions, WriteConditionsFrom(h));
  options.checksum_type = OptionalHeader(h, "x-amz-checksum-type");
  HANGAR_ASSIGN_OR_RETURN(options.checksum, ChecksumFrom(h));
  HANGAR_ASSIGN_OR_RETURN(
      ObjectRecord o, s3.CompleteMultipartUpload(ctx, r.bucket, r.key,
                                                 r.query.GetOr("uploadId", ""), parts, options));
  XmlWriter x("CompleteMultipartUploadResult");
  x.Element("Location", "/" + r.bucket + "/" + r.key)
      .Element("Bucket", r.bucket)
      .Element("Key", r.key)
      .Element("ETag", o.etag);
  if (o.checksum) {
    x.Element("Checksum" + o.checksum->algorithm, o.checksum->value)
        .Element("ChecksumType", o.checksum->type);
  }
  HttpResponse response = Xml(x.Finish());
  AddSseHeaders(response, o.encryption, /*with_customer_headers=*/false);
  if (!o.version_id.empty()) AddVersionHeader(response, o.version_id);
  if (auto expiration = s3.ExpirationHeaderOf(o)) response.headers.Add("x-amz-expiration", *expiration);
  return response;
}

Result<HttpResponse> HandleAbortMultipartUpload(S3Service& s3, const auth::RequestContext& ctx,
                                                const OpRequest& r) {
  HANGAR_RETURN_IF_ERROR(
      s3.AbortMultipartUpload(ctx, r.bucket, r.key, r.query.GetOr("uploadId", "")));
  return Empty(204);
}

Result<HttpResponse> HandleListParts(S3Service& s3, const auth::RequestContext& ctx,
                                     const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(int marker, IntParam(r.query, "part-number-marker", 0, 0, 10000));
  HANGAR_ASSIGN_OR_RETURN(int max_parts, IntParam(r.query, "max-parts", 1000, 0, 1000));
  const std::string upload_id = r.query.GetOr("uploadId", "");
  HANGAR_ASSIGN_OR_RETURN(ListPartsOutput out,
                          s3.ListParts(ctx, r.bucket, r.key, upload_id, marker, max_parts));
  XmlWriter x("ListPartsResult");
  x.Element("Bucket", r.bucket).Element("Key", r.key).Element("UploadId", upload_id);
  x.Element("PartNumberMarker", static_cast<uint64_t>(marker));
  if (out.truncated) x.Element("NextPartNumberMarker", static_cast<uint64_t>(out.next_marker));
  x.Element("MaxParts", static_cast<uint64_t>(max_parts)).Bool("IsTruncated", out.truncated);
  for (const auto& p : out.parts) {
    x.Open("Part")
        .Element("PartNumber", static_cast<uint64_t>(p.part_number))
        .Element("LastModified", Iso(p.last_modified_ms))
        .Element("ETag", p.etag)
        .Element("Size", p.size);
    if (p.checksum) x.Element("Checksum" + p.checksum->algorithm, p.checksum->value);
    x.Close("Part");
  }
  AddInitiatorAndOwner(x, out.upload.owner_account);
  x.Element("StorageClass", out.upload.storage_class);
  if (!out.upload.checksum_algorithm.empty()) {
    x.Element("ChecksumAlgorithm", out.upload.checksum_algorithm)
        .Element("ChecksumType", out.upload.checksum_type);
  }
  return Xml(x.Finish());
}

HttpResponse RenderListMultipartUploads(const ListUploadsInput& input,
                                        const ListUploadsOutput& out) {
  XmlWriter x("ListMultipartUploadsResult");
  x.Element("Bucket", input.bucket)
      .Element("KeyMarker", input.key_marker)
      .Element("UploadIdMarker", input.upload_id_marker)
      .Element("NextKeyMarker", out.next_key_marker)
      .Element("NextUploadIdMarker", out.next_upload_id_marker)
      .Element("Prefix", input.prefix);
  if (!input.delimiter.empty()) x.Element("Delimiter", input.delimiter);
  x.Element("MaxUploads", static_cast<uint64_t>(input.max_uploads))
      .Bool("IsTruncated", out.truncated);
  for (const auto& u : out.uploads) {
    x.Open("Upload").Element("Key", u.key).Element("UploadId", u.upload_id);
    AddInitiatorAndOwner(x, u.owner_account);
    x.Element("StorageClass", u.storage_class).Element("Initiated", Iso(u.initiated_ms));
    if (!u.checksum_algorithm.empty()) x.Element("ChecksumAlgorithm", u.checksum_algorithm);
    x.Close("Upload");
  }
  for (const auto& p : out.common_prefixes) {
    x.Open("CommonPrefixes").Element("Prefix", p).Close("CommonPrefixes");
  }
  return Xml(x.Finish());
}

Result<HttpResponse> HandleListMultipartUploads(S3Service& s3, const auth::RequestContext& ctx,
                                                const OpRequest& r) {
  const Query& q = r.query;
  ListUploadsInput input;
  input.bucket = r.bucket;
  input.prefix = q.GetOr("prefix", "");
  input.delimiter = q.GetOr("delimiter", "");
  input.key_marker = q.GetOr("key-marker", "");
  input.upload_id_marker = q.GetOr("upload-id-marker", "");
  HANGAR_ASSIGN_OR_RETURN(input.max_uploads, IntParam(q, "max-uploads", 1000, 0, 1000));
  HANGAR_ASSIGN_OR_RETURN(ListUploadsOutput out, s3.ListMultipartUploads(ctx, input));
  return RenderListMultipartUploads(input, out);
}

}  // namespace

const Operation kCreateMultipartUpload{
    .name = "CreateMultipartUpload", .event = Event::kData, .handle = HandleCreateMultipartUpload};
const Operation kUploadPart{.name = "UploadPart",
                            .event = Event::kData,
                            .body = Body::kObjectBytes,
                            .admission = Admission::kBucketExists,
                            .handle = HandleUploadPart};
const Operation kUploadPartCopy{
    .name = "UploadPartCopy", .event = Event::kData, .handle = HandleUploadPartCopy};
const Operation kCompleteMultipartUpload{.name = "CompleteMultipartUpload",
                                         .event = Event::kData,
                                         .body = Body::kLargeXml,
                                         .admission = Admission::kKeyAction,
                                         .action = "s3:PutObject",
                                         .handle = HandleCompleteMultipartUpload};
const Operation kAbortMultipartUpload{
    .name = "AbortMultipartUpload", .event = Event::kData, .handle = HandleAbortMultipartUpload};
const Operation kListParts{.name = "ListParts", .event = Event::kData, .handle = HandleListParts};
const Operation kListMultipartUploads{
    .name = "ListMultipartUploads", .event = Event::kData, .handle = HandleListMultipartUploads};

}  // namespace hangar::s3::api
