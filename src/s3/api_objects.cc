// Object operations of the S3 REST/XML codec: writes (PutObject, CopyObject), reads (GetObject,
// HeadObject, GetObjectAttributes), deletes (one or many) and object tags.

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/strings.h"
#include "s3/access_api.h"
#include "s3/api_ops.h"
#include "s3/tags.h"
#include "s3/xml.h"

namespace hangar::s3::api {

Result<PutObjectInput> PutObjectInputFrom(const HeaderList& h, std::string_view bucket,
                                          std::string_view key, bool tagging_header) {
  HANGAR_RETURN_IF_ERROR(CheckStoredHeadersAreUtf8(h));
  PutObjectInput input;
  HANGAR_ASSIGN_OR_RETURN(input.acl, AclRequestFrom(h));
  input.bucket = std::string(bucket);
  input.key = std::string(key);
  input.headers = ContentHeadersFrom(h);
  input.user_metadata = UserMetadataFrom(h);
  const std::string* tagging = tagging_header ? h.Find("x-amz-tagging") : nullptr;
  if (tagging != nullptr) {
    HANGAR_ASSIGN_OR_RETURN(input.tags, ParseTaggingHeader(*tagging));
  }
  HANGAR_ASSIGN_OR_RETURN(input.storage_class, StorageClassFrom(h));
  input.content_md5 = OptionalHeader(h, "content-md5");
  HANGAR_ASSIGN_OR_RETURN(input.checksum, ChecksumFrom(h));
  HANGAR_ASSIGN_OR_RETURN(input.conditions, WriteConditionsFrom(h));
  input.sse = SseHeadersFrom(h);
  HANGAR_ASSIGN_OR_RETURN(input.customer_key, CustomerKeyFrom(h, "x-amz-"));
  HANGAR_ASSIGN_OR_RETURN(input.lock, LockRequestFrom(h));
  return input;
}

namespace {

// --- Writes --------------------------------------------------------------------------------------

Result<PutObjectInput> ParsePutObject(const OpRequest& r) {
  return PutObjectInputFrom(r.headers(), r.bucket, r.key, /*tagging_header=*/true);
}

Result<HttpResponse> HandlePutObject(S3Service& s3, const auth::RequestContext& ctx,
                                     const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(PutObjectInput input, ParsePutObject(r));
  HANGAR_ASSIGN_OR_RETURN(auto body, UploadPayload(r));
  input.content_length = body->decoded_length();
  HANGAR_ASSIGN_OR_RETURN(PutObjectOutput out, s3.PutObject(ctx, input, *body));
  HttpResponse response = Empty(200);
  response.headers.Add("ETag", out.etag);
  AddChecksumHeaders(response, out.checksum);
  AddSseHeaders(response, out.encryption);
  AddVersionHeader(response, out.version_id);
  if (out.expiration) response.headers.Add("x-amz-expiration", *out.expiration);
  return response;
}

// x-amz-metadata-directive and x-amz-tagging-directive: COPY (the default) or REPLACE.
// Errors: kValidation.
Result<bool> ReplaceDirective(const HeaderList& h, std::string_view header, std::string_view what) {
  std::string directive = std::string(h.Get(header));
  if (!directive.empty() && directive != "COPY" && directive != "REPLACE") {
    return Error(ErrorCode::kValidation, "Unknown " + std::string(what) + " directive.")
        .WithField("ArgumentName", std::string(header))
        .WithField("ArgumentValue", directive);
  }
  return directive == "REPLACE";
}

// Errors: kValidation (no copy source, an unknown directive), those of ParsePutObject's checks.
Result<CopyObjectInput> ParseCopyObject(const OpRequest& r) {
  const HeaderList& h = r.headers();
  HANGAR_RETURN_IF_ERROR(CheckStoredHeadersAreUtf8(h));
  CopyObjectInput input;
  HANGAR_ASSIGN_OR_RETURN(input.acl, AclRequestFrom(h));
  HANGAR_ASSIGN_OR_RETURN(input.source, CopySourceFrom(h));
  input.bucket = r.bucket;
  input.key = r.key;
  HANGAR_ASSIGN_OR_RETURN(input.replace_metadata,
                          ReplaceDirective(h, "x-amz-metadata-directive", "metadata"));
  HANGAR_ASSIGN_OR_RETURN(input.replace_tags,
                          ReplaceDirective(h, "x-amz-tagging-directive", "tagging"));
  input.headers = ContentHeadersFrom(h);
  input.user_metadata = UserMetadataFrom(h);
  if (const std::string* tagging = h.Find("x-amz-tagging")) {
    HANGAR_ASSIGN_OR_RETURN(input.tags, ParseTaggingHeader(*tagging));
  }
  if (h.Has("x-amz-storage-class")) {
    HANGAR_ASSIGN_OR_RETURN(input.storage_class, StorageClassFrom(h));
  }
  if (const std::string* alg = h.Find("x-amz-checksum-algorithm")) {
    input.checksum_algorithm = ParseChecksumAlgorithm(*alg);
  }
  input.sse = SseHeadersFrom(h);
  HANGAR_ASSIGN_OR_RETURN(input.customer_key, CustomerKeyFrom(h, "x-amz-"));
  HANGAR_ASSIGN_OR_RETURN(input.conditions, WriteConditionsFrom(h));
  HANGAR_ASSIGN_OR_RETURN(input.lock, LockRequestFrom(h));
  return input;
}

Result<HttpResponse> HandleCopyObject(S3Service& s3, const auth::RequestContext& ctx,
                                      const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(CopyObjectInput input, ParseCopyObject(r));
  HANGAR_ASSIGN_OR_RETURN(CopyObjectOutput out, s3.CopyObject(ctx, input));
  XmlWriter x("CopyObjectResult");
  x.Element("LastModified", Iso(out.last_modified_ms)).Element("ETag", out.etag);
  if (out.checksum) x.Element("Checksum" + out.checksum->algorithm, out.checksum->value);
  HttpResponse response = Xml(x.Finish());
  AddSseHeaders(response, out.encryption);
  AddVersionHeader(response, out.version_id);
  if (out.expiration) response.headers.Add("x-amz-expiration", *out.expiration);
  if (out.source_version_id) response.headers.Add("x-amz-copy-source-version-id", *out.source_version_id);
  return response;
}

// --- Reads ---------------------------------------------------------------------------------------

// GET and HEAD take no SSE headers except SSE-C's (s3.md §8.6).
Status RefuseSseOnRead(const HeaderList& h) {
  if (h.Has("x-amz-server-side-encryption") ||
      h.Has("x-amz-server-side-encryption-aws-kms-key-id")) {
    return Error(ErrorCode::kValidation,
                 "x-amz-server-side-encryption header is not supported for this operation.")
        .WithField("ArgumentName", "x-amz-server-side-encryption");
  }
  return Status::Ok();
}

// Errors: kValidation (SSE headers, a partNumber that is not an integer), those of
// CustomerKeyFrom.
Result<GetObjectInput> ParseGetObject(const OpRequest& r, bool head) {
  const HeaderList& h = r.headers();
  GetObjectInput input;
  input.bucket = r.bucket;
  input.key = r.key;
  input.range = std::string(h.Get("range"));
  input.conditions = ConditionsFrom(h, "");
  input.head = head;
  input.version_id = r.query.Get("versionId");
  HANGAR_RETURN_IF_ERROR(RefuseSseOnRead(h));
  HANGAR_ASSIGN_OR_RETURN(input.customer_key, CustomerKeyFrom(h, "x-amz-", /*for_read=*/true));
  if (r.query.Has("partNumber")) {
    HANGAR_ASSIGN_OR_RETURN(int part, IntParam(r.query, "partNumber", 0, 0, 1 << 30));
    input.part_number = part;
  }
  return input;
}

HttpResponse RenderGetObject(const OpRequest& r, const GetObjectInput& input, GetObjectOutput out) {
  HttpResponse response;
  response.status = out.partial ? 206 : 200;
  AddObjectHeaders(response, out.object, r.query, r.headers(), /*whole_object=*/!out.partial);
  AddSseHeaders(response, out.object.encryption);
  AddVersionHeader(response, out.version_id);
  AddLockHeaders(response, out.object);
  if (out.expiration) response.headers.Add("x-amz-expiration", *out.expiration);
  if (out.locked_key_status) {
    // A locked version whose data its KMS key no longer opens (docs/s3-object-lock.md).
    response.headers.Add("x-hangar-kms-key-state", out.locked_key_status->state);
    if (out.locked_key_status->deletion_date_ms > 0) {
      response.headers.Add("x-hangar-kms-key-deletion-date",
                           Iso(out.locked_key_status->deletion_date_ms));
    }
  }
  if (out.partial) {
    response.headers.Add("Content-Range", ContentRangeValue({out.first, out.first + out.length - 1},
                                                            out.object.size));
  }
  if (out.object.parts_count > 0 && input.part_number) {
    response.headers.Add("x-amz-mp-parts-count", std::to_string(out.object.parts_count));
  }
  if (out.partial && out.length == 0) response.headers.Remove("Content-Range");
  if (input.head) {
    response.headers.Add("Content-Length", std::to_string(out.length));
    return response;
  }
  if (out.stream) {
    response.body_source = std::move(out.stream);
    response.body_length = out.length;
  } else {
    response.body = std::move(out.body);
  }
  return response;
}

Result<HttpResponse> GetOrHeadObject(S3Service& s3, const auth::RequestContext& ctx,
                                     const OpRequest& r, bool head) {
  HANGAR_ASSIGN_OR_RETURN(GetObjectInput input, ParseGetObject(r, head));
  HANGAR_ASSIGN_OR_RETURN(GetObjectOutput out, s3.GetObject(ctx, input));
  return RenderGetObject(r, input, std::move(out));
}

Result<HttpResponse> HandleGetObject(S3Service& s3, const auth::RequestContext& ctx,
                                     const OpRequest& r) {
  return GetOrHeadObject(s3, ctx, r, /*head=*/false);
}

Result<HttpResponse> HandleHeadObject(S3Service& s3, const auth::RequestContext& ctx,
                                      const OpRequest& r) {
  return GetOrHeadObject(s3, ctx, r, /*head=*/true);
}

// GetObjectAttributes pages an object's parts through headers, not the query; general purpose
// buckets list the parts only when the object has checksums.
Status AddObjectParts(XmlWriter& x, const ObjectRecord& o, const HeaderList& h) {
  HANGAR_ASSIGN_OR_RETURN(int max_parts, IntArgument(OptionalHeader(h, "x-amz-max-parts"),
                                                     "x-amz-max-parts", 1000, 0, 1000));
  HANGAR_ASSIGN_OR_RETURN(int marker, IntArgument(OptionalHeader(h, "x-amz-part-number-marker"),
                                                  "x-amz-part-number-marker", 0, 0, 10000));
  x.Open("ObjectParts").Element("PartsCount", static_cast<uint64_t>(o.parts_count));
  // Only a COMPOSITE object's parts have checksums of their own to list.
  if (o.checksum && o.checksum->type == "COMPOSITE") {
    std::vector<const Segment*> page;
    bool truncated = false;
    for (const auto& seg : o.segments) {
      if (seg.part_number <= marker) continue;
      if (page.size() == static_cast<size_t>(max_parts)) {
        truncated = true;
        break;
      }
      page.push_back(&seg);
    }
    x.Element("PartNumberMarker", static_cast<uint64_t>(marker));
    if (truncated && !page.empty()) {
      x.Element("NextPartNumberMarker", static_cast<uint64_t>(page.back()->part_number));
    }
    x.Element("MaxParts", static_cast<uint64_t>(max_parts)).Bool("IsTruncated", truncated);
    for (const Segment* seg : page) {
      x.Open("Part").Element("PartNumber", static_cast<uint64_t>(seg->part_number));
      x.Element("Size", seg->size);
      if (seg->checksum) x.Element("Checksum" + seg->checksum->algorithm, seg->checksum->value);
      x.Close("Part");
    }
  }
  x.Close("ObjectParts");
  return Status::Ok();
}

Result<HttpResponse> HandleGetObjectAttributes(S3Service& s3, const auth::RequestContext& ctx,
                                               const OpRequest& r) {
  const HeaderList& h = r.headers();
  // Metadata of an SSE-C object is, like HEAD's, only for holders of its key.
  HANGAR_ASSIGN_OR_RETURN(auto customer, CustomerKeyFrom(h, "x-amz-", /*for_read=*/true));
  const std::optional<std::string> version_id = r.query.Get("versionId");
  HANGAR_ASSIGN_OR_RETURN(ObjectRecord o, s3.GetObjectRecord(ctx, r.bucket, r.key, &customer,
                                                             "s3:GetObjectAttributes", version_id));
  std::string wanted = ToLower(h.Get("x-amz-object-attributes"));
  if (wanted.empty()) {
    return Error(ErrorCode::kInvalidRequest,
                 "The x-amz-object-attributes header specifying the attributes to be "
                 "retrieved is either missing or empty");
  }
  auto want = [&](std::string_view attribute) {
    return wanted.find(ToLower(attribute)) != std::string::npos;
  };
  XmlWriter x("GetObjectAttributesResponse");
  if (want("ETag")) {
    std::string etag = o.etag;
    if (etag.size() >= 2) etag = etag.substr(1, etag.size() - 2);
    x.Element("ETag", etag);
  }
  if (want("Checksum") && o.checksum) {
    x.Open("Checksum")
        .Element("Checksum" + o.checksum->algorithm, o.checksum->value)
        .Element("ChecksumType", o.checksum->type)
        .Close("Checksum");
  }
  if (want("ObjectParts") && o.parts_count > 0) HANGAR_RETURN_IF_ERROR(AddObjectParts(x, o, h));
  if (want("StorageClass")) x.Element("StorageClass", o.storage_class);
  if (want("ObjectSize")) x.Element("ObjectSize", o.size);
  HttpResponse response = Xml(x.Finish());
  response.headers.Add("Last-Modified", HttpDate(o.last_modified_ms));
  HANGAR_ASSIGN_OR_RETURN(auto version_header, s3.VersionHeaderOf(o));
  AddVersionHeader(response, version_header);
  return response;
}

// --- Deletes -------------------------------------------------------------------------------------

Result<HttpResponse> HandleDeleteObject(S3Service& s3, const auth::RequestContext& ctx,
                                        const OpRequest& r) {
  DeleteOptions options;
  HANGAR_ASSIGN_OR_RETURN(options.if_match, DeleteConditionFrom(r.headers()));
  options.version_id = r.query.Get("versionId");
  BypassFrom(r.headers(), options);
  HANGAR_ASSIGN_OR_RETURN(DeleteOutput out, s3.DeleteObject(ctx, r.bucket, r.key, options));
  HttpResponse response = Empty(204);
  AddDeleteHeaders(response, out);
  return response;
}

struct DeleteRequest {
  bool quiet = false;
  std::vector<ObjectToDelete> keys;
};

// Errors: kMalformedXml (also for no keys or more than 1,000).
Result<DeleteRequest> ParseDeleteObjects(std::string_view body) {
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "Delete"));
  DeleteRequest request;
  request.quiet = ToLower(doc.Text("Quiet")) == "true";
  for (const auto& object : doc.Children("Object")) {
    ObjectToDelete o{FieldValue(object, "Key"), std::nullopt, std::nullopt};
    if (HasField(object, "ETag")) o.etag = FieldValue(object, "ETag");
    if (HasField(object, "VersionId")) o.version_id = FieldValue(object, "VersionId");
    request.keys.push_back(std::move(o));
  }
  if (request.keys.empty() || request.keys.size() > 1000) {
    return MalformedXmlError();
  }
  return request;
}

// One <Deleted> entry: the version named, or the delete marker made or removed.
void AddDeleted(XmlWriter& x, const DeleteObjectsEntry& e) {
  x.Open("Deleted").Element("Key", e.key);
  if (e.version_id) x.Element("VersionId", *e.version_id);
  if (e.result.delete_marker) {
    x.Bool("DeleteMarker", true);
    if (e.result.version_id) x.Element("DeleteMarkerVersionId", *e.result.version_id);
  }
  x.Close("Deleted");
}

Result<HttpResponse> HandleDeleteObjects(S3Service& s3, const auth::RequestContext& ctx,
                                         const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(r.http, r.verified, true));
  HANGAR_ASSIGN_OR_RETURN(DeleteRequest request, ParseDeleteObjects(body));
  DeleteOptions bypass;
  BypassFrom(r.headers(), bypass);
  HANGAR_ASSIGN_OR_RETURN(auto results, s3.DeleteObjects(ctx, r.bucket, request.keys, bypass));
  if (ctx.audit) {
    // How many objects went: the mass-deletion detection counts them.
    const auto deleted =
        std::count_if(results.begin(), results.end(), [](const auto& e) { return e.status.ok(); });
    ctx.audit->additional_event_data = nlohmann::json{{"deletedObjects", deleted}}.dump();
  }
  XmlWriter x("DeleteResult");
  for (const auto& e : results) {
    if (e.status.ok()) {
      if (!request.quiet) AddDeleted(x, e);
    } else {
      x.Open("Error").Element("Key", e.key);
      if (e.version_id) x.Element("VersionId", *e.version_id);
      x.Element("Code", WireOf(e.status.code()).xml_code)
          .Element("Message", e.status.message())
          .Close("Error");
    }
  }
  return Xml(x.Finish());
}

// --- Tags ----------------------------------------------------------------------------------------

Result<HttpResponse> HandlePutObjectTagging(S3Service& s3, const auth::RequestContext& ctx,
                                            const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(r.http, r.verified, true));
  HANGAR_ASSIGN_OR_RETURN(KeyValues tags, ParseTaggingXml(body));
  const std::optional<std::string> version_id = r.query.Get("versionId");
  HANGAR_ASSIGN_OR_RETURN(auto out, s3.PutObjectTagging(ctx, r.bucket, r.key, tags, version_id));
  HttpResponse response = Empty(200);
  AddVersionHeader(response, out.version_id);
  return response;
}

Result<HttpResponse> HandleGetObjectTagging(S3Service& s3, const auth::RequestContext& ctx,
                                            const OpRequest& r) {
  const std::optional<std::string> version_id = r.query.Get("versionId");
  HANGAR_ASSIGN_OR_RETURN(auto out, s3.GetObjectTagging(ctx, r.bucket, r.key, version_id));
  HttpResponse response = Xml(TaggingXml(out.tags));
  AddVersionHeader(response, out.version_id);
  return response;
}

Result<HttpResponse> HandleDeleteObjectTagging(S3Service& s3, const auth::RequestContext& ctx,
                                               const OpRequest& r) {
  const std::optional<std::string> version_id = r.query.Get("versionId");
  HANGAR_ASSIGN_OR_RETURN(auto out, s3.DeleteObjectTagging(ctx, r.bucket, r.key, version_id));
  HttpResponse response = Empty(204);
  AddVersionHeader(response, out.version_id);
  return response;
}

}  // namespace

const Operation kPutObject{.name = "PutObject",
                           .event = Event::kData,
                           .body = Body::kObjectBytes,
                           .admission = Admission::kBucketExists,
                           .handle = HandlePutObject};
const Operation kCopyObject{
    .name = "CopyObject", .event = Event::kData, .handle = HandleCopyObject};
const Operation kGetObject{
    .name = "GetObject", .event = Event::kData, .cheap_read = true, .handle = HandleGetObject};
const Operation kHeadObject{
    .name = "HeadObject", .event = Event::kData, .cheap_read = true, .handle = HandleHeadObject};
const Operation kGetObjectAttributes{
    .name = "GetObjectAttributes", .event = Event::kData, .handle = HandleGetObjectAttributes};
const Operation kDeleteObject{
    .name = "DeleteObject", .event = Event::kData, .handle = HandleDeleteObject};
const Operation kDeleteObjects{.name = "DeleteObjects",
                               .event = Event::kData,
                               .body = Body::kLargeXml,
                               .admission = Admission::kBucketExists,
                               .handle = HandleDeleteObjects};
// Tagging is authorised with the tags it sets (aws:RequestTag): only after the body.
const Operation kPutObjectTagging{.name = "PutObjectTagging",
                                  .event = Event::kData,
                                  .body = Body::kXml,
                                  .admission = Admission::kBucketExists,
                                  .handle = HandlePutObjectTagging};
const Operation kGetObjectTagging{
    .name = "GetObjectTagging", .event = Event::kData, .handle = HandleGetObjectTagging};
const Operation kDeleteObjectTagging{
    .name = "DeleteObjectTagging", .event = Event::kData, .handle = HandleDeleteObjectTagging};

}  // namespace hangar::s3::api
