// The REST/XML face of S3 versioning: ?versioning (Put/GetBucketVersioning) and ?versions
// (ListObjectVersions) — docs/reference/s3-data-protection.md §1, docs/s3-versioning.md.

#include "common/strings.h"
#include "s3/api_ops.h"

namespace hangar::s3::api {
namespace {

Result<VersioningConfiguration> ParseVersioningConfiguration(std::string_view body) {
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "VersioningConfiguration"));
  VersioningConfiguration c;
  if (!doc.Has("Status")) {
    return Error(ErrorCode::kIllegalVersioningConfiguration,
                 "The Versioning element must be specified");
  }
  c.status = doc.Text("Status");
  if (c.status != "Enabled" && c.status != "Suspended") return MalformedXmlError();
  if (doc.Has("MfaDelete")) {
    c.mfa_delete = doc.Text("MfaDelete");
    if (c.mfa_delete != "Enabled" && c.mfa_delete != "Disabled") return MalformedXmlError();
  }
  return c;
}

Result<HttpResponse> HandlePutBucketVersioning(S3Service& s3, const auth::RequestContext& ctx,
                                               const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(r.http, r.verified, true));
  HANGAR_ASSIGN_OR_RETURN(VersioningConfiguration c, ParseVersioningConfiguration(body));
  HANGAR_RETURN_IF_ERROR(s3.PutBucketVersioning(ctx, r.bucket, c));
  return Empty(200);
}

Result<HttpResponse> HandleGetBucketVersioning(S3Service& s3, const auth::RequestContext& ctx,
                                               const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(VersioningConfiguration c, s3.GetBucketVersioning(ctx, r.bucket));
  XmlWriter x("VersioningConfiguration");
  if (!c.status.empty()) x.Element("Status", c.status);
  if (!c.mfa_delete.empty()) x.Element("MfaDelete", c.mfa_delete);
  return Xml(x.Finish());
}

std::string MaybeUrlEncoded(std::string_view s, bool url) {
  return url ? UriEncode(s, /*keep_slash=*/true) : std::string(s);
}

// About what one entry takes in the answer (with its Owner), to size the document once.
constexpr size_t kVersionEntryBytes = 512;

void AddVersionEntry(XmlWriter& x, const ListedVersion& v, std::string_view owner, bool url) {
  const ObjectRecord& o = v.record;
  x.Open(o.delete_marker ? "DeleteMarker" : "Version")
      .Element("Key", MaybeUrlEncoded(o.key, url))
      .Element("VersionId", o.wire_version_id())
      .Bool("IsLatest", v.is_latest)
      .Element("LastModified", Iso(o.last_modified_ms));
  if (!o.delete_marker) {
    x.Element("ETag", o.etag);
    if (o.checksum) {
      x.Element("ChecksumAlgorithm", o.checksum->algorithm)
          .Element("ChecksumType", o.checksum->type);
    }
    x.Element("Size", o.size).Element("StorageClass", o.storage_class);
  }
  // With ACLs disabled the bucket owner owns every version, whoever wrote it.
  AddOwner(x, owner);
  x.Close(o.delete_marker ? "DeleteMarker" : "Version");
}

Result<HttpResponse> HandleListObjectVersions(S3Service& s3, const auth::RequestContext& ctx,
                                              const OpRequest& r) {
  const std::string encoding = r.query.GetOr("encoding-type", "");
  if (!encoding.empty() && encoding != "url") {
    return Error(ErrorCode::kValidation, "Invalid Encoding Method specified in Request")
        .WithField("ArgumentName", "encoding-type")
        .WithField("ArgumentValue", encoding);
  }
  const bool url = encoding == "url";
  ListVersionsInput in;
  in.bucket = r.bucket;
  in.prefix = r.query.GetOr("prefix", "");
  in.delimiter = r.query.GetOr("delimiter", "");
  in.key_marker = r.query.GetOr("key-marker", "");
  in.version_id_marker = r.query.GetOr("version-id-marker", "");
  HANGAR_ASSIGN_OR_RETURN(in.max_keys, IntParam(r.query, "max-keys", 1000, 0, 1000));
  HANGAR_ASSIGN_OR_RETURN(ListVersionsOutput out, s3.ListObjectVersions(ctx, in));
  XmlWriter x("ListVersionsResult");
  x.Reserve(1024 + out.versions.size() * kVersionEntryBytes);
  x.Element("Name", r.bucket)
      .Element("Prefix", MaybeUrlEncoded(in.prefix, url))
      .Element("KeyMarker", MaybeUrlEncoded(in.key_marker, url))
      .Element("VersionIdMarker", in.version_id_marker);
  if (out.truncated) {
    x.Element("NextKeyMarker", MaybeUrlEncoded(out.next_key_marker, url));
    if (out.next_version_id_marker) x.Element("NextVersionIdMarker", *out.next_version_id_marker);
  }
  x.Element("MaxKeys", static_cast<uint64_t>(in.max_keys));
  if (!in.delimiter.empty()) x.Element("Delimiter", MaybeUrlEncoded(in.delimiter, url));
  if (url) x.Element("EncodingType", "url");
  x.Bool("IsTruncated", out.truncated);
  for (const auto& v : out.versions) {
    AddVersionEntry(x, v, ListedOwner(v.record, out.bucket_owner, out.acls_enabled), url);
  }
  for (const auto& p : out.common_prefixes) {
    x.Open("CommonPrefixes").Element("Prefix", MaybeUrlEncoded(p, url)).Close("CommonPrefixes");
  }
  return Xml(x.Finish());
}

}  // namespace

// PutBucketVersioning needs Content-MD5 or a checksum, as on AWS (VerifiedBufferedPayload).
const Operation kPutBucketVersioning{.name = "PutBucketVersioning",
                                     .body = Body::kXml,
                                     .admission = Admission::kBucketAction,
                                     .action = "s3:PutBucketVersioning",
                                     .handle = HandlePutBucketVersioning};
const Operation kGetBucketVersioning{.name = "GetBucketVersioning",
                                     .handle = HandleGetBucketVersioning};
const Operation kListObjectVersions{
    .name = "ListObjectVersions", .event = Event::kData, .handle = HandleListObjectVersions};

}  // namespace hangar::s3::api
