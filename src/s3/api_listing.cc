// ListObjects and ListObjectsV2 (docs/reference/s3.md): one parse and one rendering for both, the
// versions differing in how they page (marker, or an opaque continuation token) and in whether
// they name the owner unasked.

#include <algorithm>

#include "common/strings.h"
#include "crypto/base64.h"
#include "s3/api_ops.h"
#include "s3/xml.h"

namespace hangar::s3::api {
namespace {

// Listing values with encoding-type=url are URL-encoded (botocore decodes them).
std::string MaybeEncode(std::string_view s, bool url) {
  return url ? UriEncode(s, /*keep_slash=*/true) : std::string(s);
}

// The request as both versions take it; the paging arguments as sent, for the answer to echo.
struct ListRequest {
  ListObjectsInput input;
  bool v2 = false;
  bool url = false;  // encoding-type=url
  std::string marker;
  std::string start_after;
  std::optional<std::string> token;
};

// Errors: kValidation (an encoding other than url, max-keys not an integer, a token that is not
// one of ours).
Result<ListRequest> ParseListRequest(const OpRequest& r, bool v2) {
  const Query& q = r.query;
  ListRequest l;
  l.v2 = v2;
  const std::string encoding = q.GetOr("encoding-type", "");
  if (!encoding.empty() && encoding != "url") {
    return Error(ErrorCode::kValidation, "Invalid Encoding Method specified in Request")
        .WithField("ArgumentName", "encoding-type")
        .WithField("ArgumentValue", encoding);
  }
  l.url = encoding == "url";
  l.input.bucket = r.bucket;
  l.input.prefix = q.GetOr("prefix", "");
  l.input.delimiter = q.GetOr("delimiter", "");
  HANGAR_ASSIGN_OR_RETURN(l.input.max_keys, IntParam(q, "max-keys", 1000, 0, 1000));
  l.marker = q.GetOr("marker", "");
  l.start_after = q.GetOr("start-after", "");
  l.token = q.Get("continuation-token");
  if (!v2) {
    l.input.start_after = l.marker;
    return l;
  }
  l.input.start_after = l.start_after;
  if (l.token) {
    auto position = crypto::Base64Decode(*l.token);
    if (!position || l.token->empty()) {
      return Error(ErrorCode::kValidation, "The continuation token provided is incorrect")
          .WithField("ArgumentName", "continuation-token");
    }
    l.input.start_after = std::max(l.input.start_after, *position);
  }
  return l;
}

// Everything before the entries: what was asked and whether there is more.
void AddListHeader(XmlWriter& x, const ListRequest& l, const ListObjectsOutput& out) {
  const bool url = l.url;
  x.Element("Name", l.input.bucket).Element("Prefix", MaybeEncode(l.input.prefix, url));
  if (l.v2) {
    if (l.token) x.Element("ContinuationToken", *l.token);
    if (!l.start_after.empty()) x.Element("StartAfter", MaybeEncode(l.start_after, url));
    x.Element("KeyCount", out.objects.size() + out.common_prefixes.size());
  } else {
    x.Element("Marker", MaybeEncode(l.marker, url));
  }
  x.Element("MaxKeys", static_cast<uint64_t>(l.input.max_keys));
  if (!l.input.delimiter.empty()) x.Element("Delimiter", MaybeEncode(l.input.delimiter, url));
  if (url) x.Element("EncodingType", "url");
  x.Bool("IsTruncated", out.truncated);
  if (out.truncated) {
    if (l.v2) {
      x.Element("NextContinuationToken", crypto::Base64Encode(out.next_marker));
    } else if (!l.input.delimiter.empty()) {
      x.Element("NextMarker", MaybeEncode(out.next_marker, url));
    }
  }
}

HttpResponse RenderList(const ListRequest& l, const ListObjectsOutput& out, bool owner) {
  XmlWriter x("ListBucketResult");
  AddListHeader(x, l, out);
  for (const auto& o : out.objects) {
    x.Open("Contents")
        .Element("Key", MaybeEncode(o.key, l.url))
        .Element("LastModified", Iso(o.last_modified_ms))
        .Element("ETag", o.etag);
    if (o.checksum) {
      x.Element("ChecksumAlgorithm", o.checksum->algorithm)
          .Element("ChecksumType", o.checksum->type);
    }
    x.Element("Size", o.size).Element("StorageClass", o.storage_class);
    // With ACLs disabled the bucket owner owns every object, whoever lists or wrote it.
    if (owner) AddOwner(x, ListedOwner(o, out.bucket_owner, out.acls_enabled));
    x.Close("Contents");
  }
  for (const auto& p : out.common_prefixes) {
    x.Open("CommonPrefixes").Element("Prefix", MaybeEncode(p, l.url)).Close("CommonPrefixes");
  }
  return Xml(x.Finish());
}

Result<HttpResponse> HandleListObjects(S3Service& s3, const auth::RequestContext& ctx,
                                       const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(ListRequest l, ParseListRequest(r, /*v2=*/false));
  HANGAR_ASSIGN_OR_RETURN(ListObjectsOutput out, s3.ListObjects(ctx, l.input));
  return RenderList(l, out, /*owner=*/true);
}

Result<HttpResponse> HandleListObjectsV2(S3Service& s3, const auth::RequestContext& ctx,
                                         const OpRequest& r) {
  HANGAR_ASSIGN_OR_RETURN(ListRequest l, ParseListRequest(r, /*v2=*/true));
  HANGAR_ASSIGN_OR_RETURN(ListObjectsOutput out, s3.ListObjects(ctx, l.input));
  return RenderList(l, out, /*owner=*/r.query.GetOr("fetch-owner", "") == "true");
}

}  // namespace

const Operation kListObjects{
    .name = "ListObjects", .event = Event::kData, .handle = HandleListObjects};
const Operation kListObjectsV2{
    .name = "ListObjectsV2", .event = Event::kData, .handle = HandleListObjectsV2};

}  // namespace hangar::s3::api
