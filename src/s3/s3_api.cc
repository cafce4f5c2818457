#include "s3/s3_api.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "auth/payload_reader.h"
#include "common/json_writer.h"
#include "common/strings.h"
#include "crypto/base64.h"
#include "crypto/digest.h"
#include "s3/access_api.h"
#include "s3/cors_api.h"
#include "s3/tags.h"
#include "s3/xml.h"

namespace hangar::s3 {
namespace {

// --- Addressing ----------------------------------------------------------------------------------

struct Address {
  std::string bucket;  // "" for the service (ListBuckets)
  std::string key;     // "" for bucket operations
};

std::string HostWithoutPort(std::string_view host) {
  if (!host.empty() && host.front() == '[') {  // [v6]:port
    size_t end = host.find(']');
    return std::string(host.substr(0, end == std::string_view::npos ? host.size() : end + 1));
  }
  size_t colon = host.rfind(':');
  return ToLower(colon == std::string_view::npos ? host : host.substr(0, colon));
}

// No key is longer than S3 allows, on any operation: a read of a 26,000-byte key would only cost
// policy matching and lookups for nothing.
Result<Address> CheckKeyLength(Address a) {
  constexpr size_t kMaxKeyBytes = 1024;
  if (a.key.size() <= kMaxKeyBytes) return a;
  return Error(ErrorCode::kKeyTooLong, "Your key is too long")
      .WithField("MaxSizeAllowed", std::to_string(kMaxKeyBytes))
      .WithField("Size", std::to_string(a.key.size()));
}

Result<Address> ParseAddress(const HttpRequest& request, const std::vector<std::string>& domains) {
  auto decoded = UriDecode(request.path);
  if (!decoded || decoded->empty() || decoded->front() != '/') {
    return Error(ErrorCode::kInvalidRequest, "The request path is not valid.");
  }
  std::string_view path = std::string_view(*decoded).substr(1);
  Address a;
  const std::string host = HostWithoutPort(request.headers.Get("host"));
  for (const auto& domain : domains) {
    if (host.size() > domain.size() + 1 && host.ends_with(domain) &&
        host[host.size() - domain.size() - 1] == '.') {
      a.bucket = host.substr(0, host.size() - domain.size() - 1);
      a.key = std::string(path);
      return CheckKeyLength(std::move(a));
    }
  }
  size_t slash = path.find('/');
  a.bucket = std::string(path.substr(0, slash));
  if (slash != std::string_view::npos) a.key = std::string(path.substr(slash + 1));
  return CheckKeyLength(std::move(a));
}

// --- Query parameters --------------------------------------------------------------------------

class Query {
 public:
  static Result<Query> Parse(std::string_view raw) {
    auto pairs = ParseQuery(raw, /*plus_is_space=*/false);
    if (!pairs) return Error(ErrorCode::kInvalidRequest, "The query string is malformed.");
    Query q;
    for (auto& [k, v] : *pairs) q.params_.emplace(std::move(k), std::move(v));
    return q;
  }
  bool Has(std::string_view name) const { return params_.count(std::string(name)) > 0; }
  std::optional<std::string> Get(std::string_view name) const {
    auto it = params_.find(std::string(name));
    if (it == params_.end()) return std::nullopt;
    return it->second;
  }
  std::string GetOr(std::string_view name, std::string fallback) const {
    return Get(name).value_or(std::move(fallback));
  }

 private:
  std::multimap<std::string, std::string> params_;
};

// An integer argument (query parameter or header); absent gives `fallback`, above `max` is capped.
Result<int> IntArgument(const std::optional<std::string>& v, std::string_view name, int fallback,
                        int min, int max) {
  if (!v) return fallback;
  try {
    size_t used = 0;
    long long n = std::stoll(*v, &used);
    if (used != v->size() || n < min) throw std::invalid_argument("range");
    return static_cast<int>(std::min<long long>(n, max));
  } catch (...) {
    return Error(ErrorCode::kValidation, "Provided " + std::string(name) + " not an integer or within integer range")
        .WithField("ArgumentName", std::string(name))
        .WithField("ArgumentValue", *v);
  }
}

Result<int> IntParam(const Query& q, std::string_view name, int fallback, int min, int max) {
  return IntArgument(q.Get(name), name, fallback, min, max);
}

// --- Operations ----------------------------------------------------------------------------------

enum class Op {
  kListBuckets, kCreateBucket, kHeadBucket, kDeleteBucket, kGetBucketLocation, kListObjects,
  kListObjectsV2, kPutBucketTagging, kGetBucketTagging, kDeleteBucketTagging, kGetBucketVersioning,
  kGetBucketAcl, kPutBucketEncryption, kGetBucketEncryption, kDeleteBucketEncryption,
  kListMultipartUploads, kDeleteObjects, kPutObject, kCopyObject, kGetObject,
  kHeadObject, kDeleteObject, kPutObjectTagging, kGetObjectTagging, kDeleteObjectTagging,
  kGetObjectAttributes, kGetObjectAcl, kCreateMultipartUpload, kUploadPart, kUploadPartCopy,
  kCompleteMultipartUpload, kAbortMultipartUpload, kListParts, kBucketFeatureAbsent,
  kPutBucketPolicy, kGetBucketPolicy, kDeleteBucketPolicy, kGetBucketPolicyStatus,
  kPutPublicAccessBlock, kGetPublicAccessBlock, kDeletePublicAccessBlock,
  kPutOwnershipControls, kGetOwnershipControls, kDeleteOwnershipControls, kPutBucketAcl,
  kPutObjectAcl, kAccountPublicAccessBlock, kPutBucketCors, kGetBucketCors, kDeleteBucketCors,
  kCorsPreflight, kNotImplemented, kMethodNotAllowed,
};

// Bucket sub-resources Hangar answers as "not configured" (the errors AWS gives a bucket that never
// had them), so tools that probe them keep working.
std::optional<Status> AbsentBucketFeature(const Query& q, std::string_view bucket) {
  auto field = [&](Status s) { return s.WithField("BucketName", std::string(bucket)); };
  if (q.Has("lifecycle")) {
    return field(Error(ErrorCode::kNoSuchLifecycleConfiguration,
                       "The lifecycle configuration does not exist"));
  }
  return std::nullopt;
}

Op Route(const std::string& method, const Address& a, const Query& q, const HeaderList& h) {
  if (a.bucket.empty()) return method == "GET" ? Op::kListBuckets : Op::kMethodNotAllowed;
  // S3 Control (path-style, as the SDKs send it to a custom endpoint).
  if (a.bucket == "v20180820" && a.key == "configuration/publicAccessBlock") {
    return Op::kAccountPublicAccessBlock;
  }
  if (method == "OPTIONS") return Op::kCorsPreflight;
  if (a.key.empty() && q.Has("cors")) {
    if (method == "GET") return Op::kGetBucketCors;
    if (method == "PUT") return Op::kPutBucketCors;
    if (method == "DELETE") return Op::kDeleteBucketCors;
  }
  if (a.key.empty()) {
    if (method == "GET") {
      if (q.Has("policy")) return Op::kGetBucketPolicy;
      if (q.Has("policyStatus")) return Op::kGetBucketPolicyStatus;
      if (q.Has("publicAccessBlock")) return Op::kGetPublicAccessBlock;
      if (q.Has("ownershipControls")) return Op::kGetOwnershipControls;
      if (q.Has("location")) return Op::kGetBucketLocation;
      if (q.Has("tagging")) return Op::kGetBucketTagging;
      if (q.Has("versioning")) return Op::kGetBucketVersioning;
      if (q.Has("acl")) return Op::kGetBucketAcl;
      if (q.Has("uploads")) return Op::kListMultipartUploads;
      if (q.Has("lifecycle")) return Op::kBucketFeatureAbsent;
      if (q.Has("encryption")) return Op::kGetBucketEncryption;
      for (const char* unsupported :
           {"website", "logging", "notification", "replication", "requestPayment",
            "object-lock", "accelerate", "versions", "intelligent-tiering", "analytics", "metrics",
            "inventory"}) {
        if (q.Has(unsupported)) return Op::kNotImplemented;
      }
      return q.GetOr("list-type", "") == "2" ? Op::kListObjectsV2 : Op::kListObjects;
    }
    if (method == "PUT") {
      if (q.Has("tagging")) return Op::kPutBucketTagging;
      if (q.Has("encryption")) return Op::kPutBucketEncryption;
      if (q.Has("policy")) return Op::kPutBucketPolicy;
      if (q.Has("publicAccessBlock")) return Op::kPutPublicAccessBlock;
      if (q.Has("ownershipControls")) return Op::kPutOwnershipControls;
      if (q.Has("acl")) return Op::kPutBucketAcl;
      if (q.Has("versioning") || q.Has("lifecycle") || q.Has("website") ||
          q.Has("logging") || q.Has("notification")) {
        return Op::kNotImplemented;
      }
      return Op::kCreateBucket;
    }
    if (method == "HEAD") return Op::kHeadBucket;
    if (method == "DELETE") {
      if (q.Has("tagging")) return Op::kDeleteBucketTagging;
      if (q.Has("encryption")) return Op::kDeleteBucketEncryption;
      if (q.Has("policy")) return Op::kDeleteBucketPolicy;
      if (q.Has("publicAccessBlock")) return Op::kDeletePublicAccessBlock;
      if (q.Has("ownershipControls")) return Op::kDeleteOwnershipControls;
      if (q.Has("lifecycle") || q.Has("website")) {
        return Op::kNotImplemented;
      }
      return Op::kDeleteBucket;
    }
    if (method == "POST" && q.Has("delete")) return Op::kDeleteObjects;
    return Op::kMethodNotAllowed;
  }
  if (method == "PUT") {
    if (q.Has("tagging")) return Op::kPutObjectTagging;
    if (q.Has("acl")) return Op::kPutObjectAcl;
    if (q.Has("retention") || q.Has("legal-hold")) return Op::kNotImplemented;
    if (q.Has("uploadId") || q.Has("partNumber")) {
      return h.Has("x-amz-copy-source") ? Op::kUploadPartCopy : Op::kUploadPart;
    }
    return h.Has("x-amz-copy-source") ? Op::kCopyObject : Op::kPutObject;
  }
  if (method == "GET") {
    if (q.Has("uploadId")) return Op::kListParts;
    if (q.Has("tagging")) return Op::kGetObjectTagging;
    if (q.Has("attributes")) return Op::kGetObjectAttributes;
    if (q.Has("acl")) return Op::kGetObjectAcl;
    if (q.Has("retention") || q.Has("legal-hold") || q.Has("torrent")) return Op::kNotImplemented;
    return Op::kGetObject;
  }
  if (method == "HEAD") return Op::kHeadObject;
  if (method == "DELETE") {
    if (q.Has("uploadId")) return Op::kAbortMultipartUpload;
    if (q.Has("tagging")) return Op::kDeleteObjectTagging;
    return Op::kDeleteObject;
  }
  if (method == "POST") {
    if (q.Has("uploads")) return Op::kCreateMultipartUpload;
    if (q.Has("uploadId")) return Op::kCompleteMultipartUpload;
    if (q.Has("restore") || q.Has("select")) return Op::kNotImplemented;
  }
  return Op::kMethodNotAllowed;
}

// The operation's name in audit records, and whether it is object level (a CloudTrail data event).
struct OpName {
  Op op;
  std::string_view name;
  bool data_event;
};

constexpr OpName kOpNames[] = {
    {Op::kListBuckets, "ListBuckets", false},
    {Op::kCreateBucket, "CreateBucket", false},
    {Op::kHeadBucket, "HeadBucket", false},
    {Op::kDeleteBucket, "DeleteBucket", false},
    {Op::kGetBucketLocation, "GetBucketLocation", false},
    {Op::kListObjects, "ListObjects", true},
    {Op::kListObjectsV2, "ListObjectsV2", true},
    {Op::kPutBucketTagging, "PutBucketTagging", false},
    {Op::kGetBucketTagging, "GetBucketTagging", false},
    {Op::kDeleteBucketTagging, "DeleteBucketTagging", false},
    {Op::kGetBucketVersioning, "GetBucketVersioning", false},
    {Op::kGetBucketAcl, "GetBucketAcl", false},
    {Op::kPutBucketEncryption, "PutBucketEncryption", false},
    {Op::kGetBucketEncryption, "GetBucketEncryption", false},
    {Op::kDeleteBucketEncryption, "DeleteBucketEncryption", false},
    {Op::kListMultipartUploads, "ListMultipartUploads", true},
    {Op::kDeleteObjects, "DeleteObjects", true},
    {Op::kPutObject, "PutObject", true},
    {Op::kCopyObject, "CopyObject", true},
    {Op::kGetObject, "GetObject", true},
    {Op::kHeadObject, "HeadObject", true},
    {Op::kDeleteObject, "DeleteObject", true},
    {Op::kPutObjectTagging, "PutObjectTagging", true},
    {Op::kGetObjectTagging, "GetObjectTagging", true},
    {Op::kDeleteObjectTagging, "DeleteObjectTagging", true},
    {Op::kGetObjectAttributes, "GetObjectAttributes", true},
    {Op::kGetObjectAcl, "GetObjectAcl", true},
    {Op::kCreateMultipartUpload, "CreateMultipartUpload", true},
    {Op::kUploadPart, "UploadPart", true},
    {Op::kUploadPartCopy, "UploadPartCopy", true},
    {Op::kCompleteMultipartUpload, "CompleteMultipartUpload", true},
    {Op::kAbortMultipartUpload, "AbortMultipartUpload", true},
    {Op::kListParts, "ListParts", true},
    {Op::kPutBucketPolicy, "PutBucketPolicy", false},
    {Op::kGetBucketPolicy, "GetBucketPolicy", false},
    {Op::kDeleteBucketPolicy, "DeleteBucketPolicy", false},
    {Op::kGetBucketPolicyStatus, "GetBucketPolicyStatus", false},
    {Op::kPutPublicAccessBlock, "PutPublicAccessBlock", false},
    {Op::kGetPublicAccessBlock, "GetPublicAccessBlock", false},
    {Op::kDeletePublicAccessBlock, "DeletePublicAccessBlock", false},
    {Op::kPutOwnershipControls, "PutBucketOwnershipControls", false},
    {Op::kGetOwnershipControls, "GetBucketOwnershipControls", false},
    {Op::kDeleteOwnershipControls, "DeleteBucketOwnershipControls", false},
    {Op::kPutBucketAcl, "PutBucketAcl", false},
    {Op::kPutObjectAcl, "PutObjectAcl", true},
    {Op::kPutBucketCors, "PutBucketCors", false},
    {Op::kGetBucketCors, "GetBucketCors", false},
    {Op::kDeleteBucketCors, "DeleteBucketCors", false},
    {Op::kCorsPreflight, "PreflightRequest", false},
};

// What each operation's request body may be, and what can be checked before reading it
// (docs/hardening.md item 11). Operations not listed take no body (up to kSmallBody is tolerated
// and ignored).
enum class Admission {
  kNone,           // nothing before the body (no body, or the operation checks as it streams)
  kBucketExists,   // the bucket exists; anonymous callers need a policy that could allow them
  kBucketAction,   // `action` on the bucket, as the operation itself authorises it
  kKeyAction,      // `action` on bucket/key (the object need not exist)
  kObjectAction,   // `action` on an existing object
  kAccountAction,  // `action` for the caller's account (CreateBucket)
};

struct OpSpec {
  Op op;
  uint64_t max_body;
  Admission admission;
  std::string_view action;
};

constexpr uint64_t kSmallBody = 64 * 1024;
constexpr uint64_t kBucketPolicyBody = 20 * 1024;  // AWS: bucket policies up to 20 KB
constexpr uint64_t kLargeXmlBody = 4 << 20;        // 1,000 keys / 10,000 parts and their fields

constexpr OpSpec kOpSpecs[] = {
    {Op::kCreateBucket, kSmallBody, Admission::kAccountAction, "s3:CreateBucket"},
    // Tagging is authorised with the tags it sets (aws:RequestTag): only after the body.
    {Op::kPutBucketTagging, kSmallBody, Admission::kBucketExists, ""},
    {Op::kPutBucketEncryption, kSmallBody, Admission::kBucketAction,
     "s3:PutEncryptionConfiguration"},
    {Op::kPutBucketPolicy, kBucketPolicyBody, Admission::kBucketAction, "s3:PutBucketPolicy"},
    {Op::kPutPublicAccessBlock, kSmallBody, Admission::kBucketAction,
     "s3:PutBucketPublicAccessBlock"},
    {Op::kPutOwnershipControls, kSmallBody, Admission::kBucketAction,
     "s3:PutBucketOwnershipControls"},
    {Op::kPutBucketAcl, kSmallBody, Admission::kBucketAction, "s3:PutBucketAcl"},
    {Op::kPutBucketCors, kSmallBody, Admission::kBucketAction, "s3:PutBucketCORS"},
    {Op::kPutObjectTagging, kSmallBody, Admission::kBucketExists, ""},
    {Op::kPutObjectAcl, kSmallBody, Admission::kObjectAction, "s3:PutObjectAcl"},
    {Op::kCompleteMultipartUpload, kLargeXmlBody, Admission::kKeyAction, "s3:PutObject"},
    {Op::kDeleteObjects, kLargeXmlBody, Admission::kBucketExists, ""},
    {Op::kPutObject, kSmallBody, Admission::kBucketExists, ""},
    {Op::kUploadPart, kSmallBody, Admission::kBucketExists, ""},
    {Op::kAccountPublicAccessBlock, kSmallBody, Admission::kNone, ""},
};

const OpSpec& SpecOf(Op op) {
  static constexpr OpSpec kBodiless{Op::kNotImplemented, kSmallBody, Admission::kNone, ""};
  for (const OpSpec& spec : kOpSpecs) {
    if (spec.op == op) return spec;
  }
  return kBodiless;
}

// --- Headers in ----------------------------------------------------------------------------------

constexpr std::string_view kMetaPrefix = "x-amz-meta-";

ContentHeaders ContentHeadersFrom(const HeaderList& h) {
  ContentHeaders c;
  c.content_type = std::string(h.Get("content-type"));
  // aws-chunked is transfer framing, never part of the stored Content-Encoding.
  std::string encoding;
  std::string_view raw = h.Get("content-encoding");
  while (!raw.empty()) {
    size_t comma = raw.find(',');
    std::string_view part = Trim(raw.substr(0, comma));
    raw = comma == std::string_view::npos ? std::string_view() : raw.substr(comma + 1);
    if (part.empty() || part == "aws-chunked") continue;
    if (!encoding.empty()) encoding += ",";
    encoding += part;
  }
  c.content_encoding = encoding;
  c.content_disposition = std::string(h.Get("content-disposition"));
  c.content_language = std::string(h.Get("content-language"));
  c.cache_control = std::string(h.Get("cache-control"));
  c.expires = std::string(h.Get("expires"));
  return c;
}

// The headers an object keeps (its metadata and content headers) are stored and replayed as text:
// bytes that are not UTF-8 are refused before they reach a record.
Status CheckStoredHeadersAreUtf8(const HeaderList& h) {
  for (const auto& f : h.fields()) {
    const bool stored = f.name.starts_with(kMetaPrefix) || f.name == "content-type" ||
                        f.name == "content-encoding" || f.name == "content-disposition" ||
                        f.name == "content-language" || f.name == "cache-control" ||
                        f.name == "expires";
    if (stored && !IsValidUtf8(f.value)) {
      return Error(ErrorCode::kValidation, "Header values must be valid UTF-8")
          .WithField("ArgumentName", f.name);
    }
  }
  return Status::Ok();
}

KeyValues UserMetadataFrom(const HeaderList& h) {
  KeyValues meta;
  for (const auto& f : h.fields()) {
    if (f.name.starts_with(kMetaPrefix) && f.name.size() > kMetaPrefix.size()) {
      meta.emplace_back(f.name.substr(kMetaPrefix.size()), f.value);
    }
  }
  return meta;
}

Result<std::string> StorageClassFrom(const HeaderList& h) {
  std::string_view v = h.Get("x-amz-storage-class");
  if (v.empty()) return std::string("STANDARD");
  for (std::string_view valid : {"STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA",
                                 "INTELLIGENT_TIERING", "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR"}) {
    if (v == valid) return std::string(v);
  }
  return Error(ErrorCode::kInvalidStorageClass, "The storage class you specified is not valid")
      .WithField("StorageClassRequested", std::string(v));
}

// Which checksum the request carries: one x-amz-checksum-* header, or one announced as a trailer.
Result<std::optional<ChecksumRequest>> ChecksumFrom(const HeaderList& h) {
  std::optional<ChecksumRequest> found;
  for (const auto& f : h.fields()) {
    auto algorithm = ChecksumAlgorithmFromHeader(f.name);
    if (!algorithm) continue;
    if (found) return MultipleChecksumHeadersError();
    found = ChecksumRequest{*algorithm, f.value};
  }
  std::string_view trailer = h.Get("x-amz-trailer");
  if (!trailer.empty()) {
    auto algorithm = ChecksumAlgorithmFromHeader(Trim(trailer));
    if (algorithm) {
      if (found) return MultipleChecksumHeadersError();
      found = ChecksumRequest{*algorithm, std::nullopt};
    }
  }
  return found;
}

std::optional<std::string> OptionalHeader(const HeaderList& h, std::string_view name) {
  const std::string* v = h.Find(name);
  if (v == nullptr) return std::nullopt;
  return *v;
}

ConditionHeaders ConditionsFrom(const HeaderList& h, std::string_view prefix) {
  ConditionHeaders c;
  c.if_match = OptionalHeader(h, std::string(prefix) + "if-match");
  c.if_none_match = OptionalHeader(h, std::string(prefix) + "if-none-match");
  c.if_modified_since = OptionalHeader(h, std::string(prefix) + "if-modified-since");
  c.if_unmodified_since = OptionalHeader(h, std::string(prefix) + "if-unmodified-since");
  return c;
}

// 501 NotImplemented for a conditional header S3 does not accept on a write.
Status ConditionalHeaderNotImplemented(std::string header, std::string additional) {
  Status s = Error(ErrorCode::kNotImplemented,
                   "A header you provided implies functionality that is not implemented");
  s.WithField("Header", std::move(header));
  if (!additional.empty()) s.WithField("additionalMessage", std::move(additional));
  return s;
}

// If-None-Match: * or If-Match: <etag> on PutObject, CopyObject and CompleteMultipartUpload
// (s3-data-protection.md §4.1): one of them, and only those values.
Result<WriteConditions> WriteConditionsFrom(const HeaderList& h) {
  auto none_match = OptionalHeader(h, "if-none-match");
  auto match = OptionalHeader(h, "if-match");
  if (none_match && match) {
    return ConditionalHeaderNotImplemented("If-Match,If-None-Match",
                                           "Multiple conditional request headers present in the "
                                           "request");
  }
  WriteConditions c;
  if (none_match) {
    if (Trim(*none_match) != "*") {
      return ConditionalHeaderNotImplemented(
          "If-None-Match", "We don't accept the provided value of If-None-Match header for this API");
    }
    c.if_none_match_star = true;
  }
  if (match) {
    if (Trim(*match) == "*") {
      return ConditionalHeaderNotImplemented(
          "If-Match", "We don't accept the provided value of If-Match header for this API");
    }
    c.if_match = std::string(Trim(*match));
  }
  return c;
}

// DeleteObject: If-Match (an ETag or *); the directory-bucket conditions are not implemented on
// general purpose buckets (s3-data-protection.md §4.2).
Result<std::optional<std::string>> DeleteConditionFrom(const HeaderList& h) {
  for (const char* name : {"x-amz-if-match-last-modified-time", "x-amz-if-match-size"}) {
    if (h.Find(name) != nullptr) return ConditionalHeaderNotImplemented(name, "");
  }
  auto match = OptionalHeader(h, "if-match");
  if (match) return std::optional<std::string>(std::string(Trim(*match)));
  return std::optional<std::string>();
}

SseHeaders SseHeadersFrom(const HeaderList& h) {
  SseHeaders sse;
  sse.algorithm = OptionalHeader(h, "x-amz-server-side-encryption");
  sse.kms_key_id = OptionalHeader(h, "x-amz-server-side-encryption-aws-kms-key-id");
  sse.context = OptionalHeader(h, "x-amz-server-side-encryption-context");
  sse.bucket_key = OptionalHeader(h, "x-amz-server-side-encryption-bucket-key-enabled");
  return sse;
}

// The SSE-C triple under `prefix` ("x-amz-" or "x-amz-copy-source-").
Result<std::optional<CustomerKey>> CustomerKeyFrom(const HeaderList& h, std::string_view prefix,
                                                   bool for_read = false) {
  std::string base = std::string(prefix) + "server-side-encryption-customer-";
  return ParseCustomerKey(OptionalHeader(h, base + "algorithm"), OptionalHeader(h, base + "key"),
                          OptionalHeader(h, base + "key-md5"), for_read);
}

// What AWS decorates responses with (s3.md §8.2): the mode, the full key ARN, the Bucket Key flag;
// for SSE-C the algorithm and the key's MD5.
void AddSseHeaders(HttpResponse& r, const ObjectEncryption& e, bool with_customer_headers = true) {
  if (e.mode == "SSE-C") {
    if (with_customer_headers) {
      r.headers.Add("x-amz-server-side-encryption-customer-algorithm", "AES256");
      r.headers.Add("x-amz-server-side-encryption-customer-key-MD5", e.customer_key_md5);
    }
    return;
  }
  r.headers.Add("x-amz-server-side-encryption", e.mode);
  if (!e.kms_key_arn.empty()) {
    r.headers.Add("x-amz-server-side-encryption-aws-kms-key-id", e.kms_key_arn);
  }
  if (e.bucket_key) r.headers.Add("x-amz-server-side-encryption-bucket-key-enabled", "true");
}

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

// x-amz-copy-source: "[/]bucket/key[?versionId=...]", URL-encoded.
Result<CopySource> CopySourceFrom(const HeaderList& h) {
  std::string_view raw = h.Get("x-amz-copy-source");
  size_t q = raw.find('?');
  auto decoded = UriDecode(raw.substr(0, q));
  std::string_view path = decoded ? std::string_view(*decoded) : std::string_view();
  if (path.starts_with("/")) path.remove_prefix(1);
  size_t slash = path.find('/');
  if (!decoded || slash == std::string_view::npos || slash == 0 || slash + 1 == path.size()) {
    return Error(ErrorCode::kValidation,
                 "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
        .WithField("ArgumentName", "x-amz-copy-source")
        .WithField("ArgumentValue", std::string(raw));
  }
  CopySource source;
  source.bucket = std::string(path.substr(0, slash));
  source.key = std::string(path.substr(slash + 1));
  source.conditions = ConditionsFrom(h, "x-amz-copy-source-");
  source.range = std::string(h.Get("x-amz-copy-source-range"));
  HANGAR_ASSIGN_OR_RETURN(source.customer_key, CustomerKeyFrom(h, "x-amz-copy-source-"));
  return source;
}

// --- Responses out -------------------------------------------------------------------------------

std::string CanonicalUserId(std::string_view account) {
  return crypto::Sha256Hex("hangar-canonical-user/" + std::string(account));
}

void AddOwner(XmlWriter& x, std::string_view account) {
  x.Open("Owner").Element("ID", CanonicalUserId(account)).Element("DisplayName", account).Close("Owner");
}

std::string Iso(int64_t ms) { return FormatIso8601(FromUnixMillis(ms), /*with_millis=*/true); }
std::string HttpDate(int64_t ms) { return FormatHttpDate(FromUnixMillis(ms)); }

HttpResponse Xml(std::string body, int status = 200) {
  HttpResponse r;
  r.status = status;
  r.headers.Add("Content-Type", "application/xml");
  r.body = std::move(body);
  return r;
}

HttpResponse Empty(int status) {
  HttpResponse r;
  r.status = status;
  return r;
}

void AddChecksumHeaders(HttpResponse& r, const std::optional<ChecksumValue>& checksum) {
  if (!checksum) return;
  auto algorithm = ParseChecksumAlgorithm(checksum->algorithm);
  if (!algorithm) return;
  r.headers.Add(ChecksumHeaderName(*algorithm), checksum->value);
  r.headers.Add("x-amz-checksum-type", checksum->type);
}

// `whole_object`: the stored checksum describes the whole object, so a ranged or part response
// must not carry it (clients would check it against the bytes they got).
void AddObjectHeaders(HttpResponse& r, const ObjectRecord& o, const Query& q,
                      const HeaderList& request_headers, bool whole_object) {
  const ContentHeaders& c = o.headers;
  auto pick = [&](std::string_view override_name, const std::string& stored) {
    auto v = q.Get(override_name);
    return v ? *v : stored;
  };
  std::string type = pick("response-content-type", c.content_type);
  r.headers.Add("Content-Type", type.empty() ? "binary/octet-stream" : type);
  for (auto [name, override_name, stored] :
       {std::tuple<std::string_view, std::string_view, const std::string*>{
            "Content-Encoding", "response-content-encoding", &c.content_encoding},
        {"Content-Disposition", "response-content-disposition", &c.content_disposition},
        {"Content-Language", "response-content-language", &c.content_language},
        {"Cache-Control", "response-cache-control", &c.cache_control},
        {"Expires", "response-expires", &c.expires}}) {
    std::string value = pick(override_name, *stored);
    if (!value.empty()) r.headers.Add(name, value);
  }
  r.headers.Add("ETag", o.etag);
  r.headers.Add("Last-Modified", HttpDate(o.last_modified_ms));
  r.headers.Add("Accept-Ranges", "bytes");
  for (const auto& [name, value] : o.user_metadata) r.headers.Add(std::string(kMetaPrefix) + name, value);
  if (o.storage_class != "STANDARD") r.headers.Add("x-amz-storage-class", o.storage_class);
  if (!o.tags.empty()) r.headers.Add("x-amz-tagging-count", std::to_string(o.tags.size()));
  if (whole_object && ToLower(request_headers.Get("x-amz-checksum-mode")) == "enabled") {
    AddChecksumHeaders(r, o.checksum);
  }
}

std::string TaggingXml(const KeyValues& tags) {
  XmlWriter x("Tagging");
  x.Open("TagSet");
  for (const auto& [k, v] : tags) x.Open("Tag").Element("Key", k).Element("Value", v).Close("Tag");
  x.Close("TagSet");
  return x.Finish();
}

Result<KeyValues> ParseTaggingXml(std::string_view body) {
  HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "Tagging"));
  KeyValues tags;
  for (const auto& tag : doc.Grandchildren("TagSet", "Tag")) {
    if (!HasField(tag, "Key")) {
      return MalformedXmlError();
    }
    tags.emplace_back(FieldValue(tag, "Key"), FieldValue(tag, "Value"));
  }
  return tags;
}

// Listing values with encoding-type=url are URL-encoded (botocore decodes them).
std::string MaybeEncode(std::string_view s, bool url) {
  return url ? UriEncode(s, /*keep_slash=*/true) : std::string(s);
}

// --- Bodies --------------------------------------------------------------------------------------

// A BodyReader over bytes already in memory.
class StringBodyReader final : public BodyReader {
 public:
  explicit StringBodyReader(std::string_view data) : data_(data) {}
  Result<size_t> Read(std::span<char> into) override {
    size_t n = std::min(into.size(), data_.size() - offset_);
    std::copy_n(data_.data() + offset_, n, into.data());
    offset_ += n;
    return n;
  }

 private:
  std::string_view data_;
  size_t offset_ = 0;
};

// The payload of a request whose body the HTTP layer buffered, decoded and checked against the
// signature's claims (x-amz-content-sha256 or aws-chunked), then against Content-MD5 or an
// x-amz-checksum-* header when the request carries one.
// `checksum_headers_describe_body` false: x-amz-checksum-* says something else (Complete's whole-object
// checksum) and is not checked against the body.
Result<std::string> VerifiedBufferedPayload(const HttpRequest& request,
                                            const auth::VerifiedRequest* verified,
                                            bool checksum_required,
                                            bool checksum_headers_describe_body = true) {
  StringBodyReader raw(request.body);
  HANGAR_ASSIGN_OR_RETURN(auto reader, auth::MakePayloadReader(raw, request, verified,
                                                               request.headers.Get("x-amz-content-sha256")));
  std::string payload;
  char buf[16384];
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(size_t n, reader->Read(std::span<char>(buf, sizeof buf)));
    if (n == 0) break;
    payload.append(buf, n);
  }
  const std::string* md5 = request.headers.Find("content-md5");
  std::optional<ChecksumRequest> checksum;
  if (checksum_headers_describe_body) {
    HANGAR_ASSIGN_OR_RETURN(checksum, ChecksumFrom(request.headers));
  }
  if (md5) {
    HANGAR_ASSIGN_OR_RETURN(std::string expected, ParseContentMd5(*md5));
    HANGAR_RETURN_IF_ERROR(CheckContentMd5(expected, crypto::Md5(payload)));
  }
  if (checksum) {
    std::string expected_text;
    if (checksum->expected) {
      expected_text = *checksum->expected;
    } else if (const std::string* t = reader->trailers().Find(ChecksumHeaderName(checksum->algorithm))) {
      expected_text = *t;
    }
    HANGAR_ASSIGN_OR_RETURN(std::string expected,
                            ParseChecksumHeaderValue(checksum->algorithm, expected_text));
    HANGAR_RETURN_IF_ERROR(
        VerifyChecksum(checksum->algorithm, expected, ComputeChecksum(checksum->algorithm, payload)));
  }
  if (checksum_required && !md5 && !checksum) {
    return Error(ErrorCode::kInvalidRequest,
                 "Missing required header for this request: Content-MD5");
  }
  return payload;
}

}  // namespace

S3Api::S3Api(S3Service& service, S3ApiOptions options)
    : service_(service), options_(std::move(options)) {}

S3Api::BodyPlan S3Api::Plan(const HttpRequest& request) const {
  BodyPlan plan;
  plan.max_buffered = kSmallBody;
  auto address = ParseAddress(request, options_.virtual_host_domains);
  auto query = Query::Parse(request.query);
  if (!address.ok() || !query.ok()) return plan;
  const Op op = Route(request.method, *address, *query, request.headers);
  const OpSpec& spec = SpecOf(op);
  plan.max_buffered = spec.max_body;
  if (op == Op::kPutBucketPolicy) {
    plan.too_large = Error(ErrorCode::kMalformedPolicy,
                           "Policy exceeds the maximum allowed document size.");
  } else if (op != Op::kPutObject && op != Op::kUploadPart) {
    plan.too_large = Error(ErrorCode::kRequestTooLarge, "Your request was too big.");
  }
  if (op == Op::kGetObject || op == Op::kHeadObject || op == Op::kHeadBucket) {
    plan.cheap_read = service_.ReadsAreCheap(address->bucket);
  }
  if (op != Op::kPutObject && op != Op::kUploadPart) return plan;
  // Object bytes stream; small ones are cheaper to read in one go before dispatch.
  if (request.content_length && *request.content_length <= options_.small_put) {
    plan.max_buffered = options_.small_put;
    return plan;
  }
  plan.stream = true;
  return plan;
}

void S3Api::NoteForAudit(const HttpRequest& request, auth::AuditNotes& notes) const {
  auto address = ParseAddress(request, options_.virtual_host_domains);
  auto query = Query::Parse(request.query);
  // requestParameters, written by hand: this runs for every S3 request.
  std::string params;
  JsonObjectWriter writer(params);
  writer.String("Host", request.headers.Get("host"));
  auto finish = [&] {
    writer.Finish();
    if (notes.request_parameters.empty()) notes.request_parameters = std::move(params);
  };
  if (!address.ok() || !query.ok()) {
    notes.event_name = request.method == "GET" ? "GetObject" : "Unknown";
    finish();
    return;
  }
  const Op op = Route(request.method, *address, *query, request.headers);
  std::string_view name;
  bool data_event = !address->key.empty();
  for (const OpName& entry : kOpNames) {
    if (entry.op == op) {
      name = entry.name;
      data_event = entry.data_event;
    }
  }
  if (op == Op::kAccountPublicAccessBlock) {
    name = request.method == "GET"      ? "GetAccountPublicAccessBlock"
           : request.method == "DELETE" ? "DeleteAccountPublicAccessBlock"
                                        : "PutAccountPublicAccessBlock";
  } else if (op == Op::kBucketFeatureAbsent) {
    name = "GetBucketLifecycle";
  }
  notes.event_name = name.empty() ? std::string(request.method == "GET" ? "Get" : "Put") + "Unsupported"
                                  : std::string(name);
  notes.data_event = data_event;
  if (!address->bucket.empty() && op != Op::kAccountPublicAccessBlock) {
    writer.String("bucketName", address->bucket);
    // The bucket's owner is the record's recipient; S3Service notes it once it looked it up.
    notes.AddResource("AWS::S3::Bucket", "arn:aws:s3:::" + address->bucket, "");
    if (!address->key.empty()) {
      writer.String("key", address->key);
      notes.AddResource("AWS::S3::Object", "arn:aws:s3:::" + address->bucket + "/" + address->key,
                        "");
    }
  }
  finish();
}

void S3Api::AddCorsHeaders(const HttpRequest& request, HttpResponse& response) {
  if (!request.headers.Has("origin")) return;  // the common case: no parsing at all
  auto address = ParseAddress(request, options_.virtual_host_domains);
  if (address.ok()) AddCorsResponseHeaders(service_, request, address->bucket, response);
}

Status S3Api::Admit(const auth::RequestContext& ctx, const HttpRequest& request) {
  const bool has_body = request.content_length.value_or(0) > 0 ||
                        ToLower(request.headers.Get("transfer-encoding")).find("chunked") !=
                            std::string::npos;
  if (!has_body) return Status::Ok();  // the operation runs next and checks everything itself
  HANGAR_ASSIGN_OR_RETURN(Address a, ParseAddress(request, options_.virtual_host_domains));
  HANGAR_ASSIGN_OR_RETURN(Query q, Query::Parse(request.query));
  const OpSpec& spec = SpecOf(Route(request.method, a, q, request.headers));
  S3Request preauthorize{std::string(spec.action), ""};
  switch (spec.admission) {
    case Admission::kNone:
      return Status::Ok();
    case Admission::kAccountAction:
      return service_.AuthorizeAccountAction(ctx, spec.action, "arn:aws:s3:::" + a.bucket);
    case Admission::kBucketExists:
      return service_.AdmitBody(ctx, a.bucket, nullptr, false);
    case Admission::kBucketAction:
      return service_.AdmitBody(ctx, a.bucket, &preauthorize, false);
    case Admission::kKeyAction:
    case Admission::kObjectAction:
      preauthorize.key = a.key;
      return service_.AdmitBody(ctx, a.bucket, &preauthorize,
                                spec.admission == Admission::kObjectAction);
  }
  return Status::Ok();
}

Result<HttpResponse> S3Api::Handle(const auth::RequestContext& ctx, HttpRequest& request,
                                   const auth::VerifiedRequest* verified) {
  HANGAR_ASSIGN_OR_RETURN(Address a, ParseAddress(request, options_.virtual_host_domains));
  HANGAR_ASSIGN_OR_RETURN(Query q, Query::Parse(request.query));
  const HeaderList& h = request.headers;
  const Op op = Route(request.method, a, q, h);

  // The body of an object or part upload, authenticated as it streams.
  StringBodyReader buffered(request.body);
  BodyReader& raw = request.body_reader ? *request.body_reader : buffered;
  auto payload = [&]() { return auth::MakePayloadReader(raw, request, verified, h.Get("x-amz-content-sha256")); };

  switch (op) {
    case Op::kListBuckets: {
      HANGAR_ASSIGN_OR_RETURN(auto buckets, service_.ListBuckets(ctx));
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
    case Op::kCreateBucket: {
      CreateBucketInput input;
      input.bucket = a.bucket;
      HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(request, verified, false));
      if (!Trim(body).empty()) {
        HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "CreateBucketConfiguration"));
        if (doc.Has("LocationConstraint")) input.location_constraint = doc.Text("LocationConstraint");
      }
      HANGAR_RETURN_IF_ERROR(service_.CreateBucket(ctx, input));
      HttpResponse r = Empty(200);
      r.headers.Add("Location", "/" + a.bucket);
      return r;
    }
    case Op::kHeadBucket: {
      HANGAR_ASSIGN_OR_RETURN(BucketRecord b, service_.HeadBucket(ctx, a.bucket));
      HttpResponse r = Empty(200);
      r.headers.Add("x-amz-bucket-region", b.region);
      return r;
    }
    case Op::kDeleteBucket:
      HANGAR_RETURN_IF_ERROR(service_.DeleteBucket(ctx, a.bucket));
      return Empty(204);
    case Op::kGetBucketLocation: {
      HANGAR_ASSIGN_OR_RETURN(BucketRecord b,
                              service_.HeadBucket(ctx, a.bucket, "s3:GetBucketLocation"));
      // us-east-1 is reported as an empty constraint, as AWS does.
      std::string location = b.region == "us-east-1" ? "" : b.region;
      std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" +
                         std::string(kS3Namespace) + "\">" + XmlEscape(location) +
                         "</LocationConstraint>";
      return Xml(std::move(body));
    }
    case Op::kGetBucketVersioning: {
      HANGAR_ASSIGN_OR_RETURN(BucketRecord b,
                              service_.HeadBucket(ctx, a.bucket, "s3:GetBucketVersioning"));
      return Xml(XmlWriter("VersioningConfiguration").Finish());
    }
    case Op::kGetBucketAcl:
    case Op::kGetObjectAcl: {
      // ACLs are disabled (bucket owner enforced): the owner has full control, nobody else.
      if (op == Op::kGetObjectAcl) {
        HANGAR_RETURN_IF_ERROR(
            service_.GetObjectRecord(ctx, a.bucket, a.key, nullptr, "s3:GetObjectAcl").status());
      } else {
        HANGAR_RETURN_IF_ERROR(service_.HeadBucket(ctx, a.bucket, "s3:GetBucketAcl").status());
      }
      // With ACLs disabled the bucket owner owns every object.
      HANGAR_ASSIGN_OR_RETURN(std::string owner, service_.BucketOwner(a.bucket));
      XmlWriter x("AccessControlPolicy");
      AddOwner(x, owner);
      x.Open("AccessControlList").Open("Grant");
      std::string grantee =
          "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=\"CanonicalUser\">";
      std::string doc = x.Finish();
      // The Grantee element needs attributes the writer does not model; splice it in.
      std::string inner = grantee + "<ID>" + CanonicalUserId(owner) +
                          "</ID><DisplayName>" + XmlEscape(owner) +
                          "</DisplayName></Grantee><Permission>FULL_CONTROL</Permission>";
      size_t at = doc.rfind("</AccessControlPolicy>");
      doc.insert(at, inner + "</Grant></AccessControlList>");
      return Xml(std::move(doc));
    }
    case Op::kPutBucketTagging: {
      HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(request, verified, true));
      HANGAR_ASSIGN_OR_RETURN(KeyValues tags, ParseTaggingXml(body));
      HANGAR_RETURN_IF_ERROR(service_.PutBucketTagging(ctx, a.bucket, tags));
      return Empty(204);
    }
    case Op::kGetBucketTagging: {
      HANGAR_ASSIGN_OR_RETURN(KeyValues tags, service_.GetBucketTagging(ctx, a.bucket));
      return Xml(TaggingXml(tags));
    }
    case Op::kDeleteBucketTagging:
      HANGAR_RETURN_IF_ERROR(service_.DeleteBucketTagging(ctx, a.bucket));
      return Empty(204);
    case Op::kPutBucketEncryption: {
      HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(request, verified, true));
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
      HANGAR_RETURN_IF_ERROR(service_.PutBucketEncryption(ctx, a.bucket, encryption));
      return Empty(200);
    }
    case Op::kGetBucketEncryption: {
      HANGAR_ASSIGN_OR_RETURN(BucketEncryption e, service_.GetBucketEncryption(ctx, a.bucket));
      XmlWriter x("ServerSideEncryptionConfiguration");
      x.Open("Rule").Open("ApplyServerSideEncryptionByDefault").Element("SSEAlgorithm", e.algorithm);
      if (!e.kms_key_id.empty()) x.Element("KMSMasterKeyID", e.kms_key_id);
      x.Close("ApplyServerSideEncryptionByDefault").Bool("BucketKeyEnabled", e.bucket_key_enabled);
      x.Close("Rule");
      return Xml(x.Finish());
    }
    case Op::kDeleteBucketEncryption:
      HANGAR_RETURN_IF_ERROR(service_.DeleteBucketEncryption(ctx, a.bucket));
      return Empty(204);
    case Op::kPutBucketPolicy:
    case Op::kGetBucketPolicy:
    case Op::kDeleteBucketPolicy:
    case Op::kGetBucketPolicyStatus:
    case Op::kPutPublicAccessBlock:
    case Op::kGetPublicAccessBlock:
    case Op::kDeletePublicAccessBlock:
    case Op::kPutOwnershipControls:
    case Op::kGetOwnershipControls:
    case Op::kDeleteOwnershipControls:
    case Op::kPutBucketAcl:
    case Op::kPutObjectAcl:
    case Op::kAccountPublicAccessBlock: {
      HANGAR_ASSIGN_OR_RETURN(std::string body,
                              request.method == "PUT"
                                  ? VerifiedBufferedPayload(request, verified, false)
                                  : Result<std::string>(std::string()));
      return HandleAccessControl(service_, ctx, request, a.bucket, a.key, body);
    }
    case Op::kPutBucketCors:
    case Op::kGetBucketCors:
    case Op::kDeleteBucketCors: {
      HANGAR_ASSIGN_OR_RETURN(std::string body,
                              op == Op::kPutBucketCors
                                  ? VerifiedBufferedPayload(request, verified, true)
                                  : Result<std::string>(std::string()));
      return HandleCorsConfiguration(service_, ctx, request.method, a.bucket, body);
    }
    case Op::kCorsPreflight:
      return HandleCorsPreflight(service_, request, a.bucket, !a.key.empty());
    case Op::kBucketFeatureAbsent: {
      HANGAR_ASSIGN_OR_RETURN(BucketRecord b, service_.HeadBucket(ctx, a.bucket));
      return *AbsentBucketFeature(q, a.bucket);
    }

    case Op::kListObjects:
    case Op::kListObjectsV2: {
      const bool v2 = op == Op::kListObjectsV2;
      const std::string encoding = q.GetOr("encoding-type", "");
      if (!encoding.empty() && encoding != "url") {
        return Error(ErrorCode::kValidation, "Invalid Encoding Method specified in Request")
            .WithField("ArgumentName", "encoding-type")
            .WithField("ArgumentValue", encoding);
      }
      const bool url = encoding == "url";
      ListObjectsInput input;
      input.bucket = a.bucket;
      input.prefix = q.GetOr("prefix", "");
      input.delimiter = q.GetOr("delimiter", "");
      HANGAR_ASSIGN_OR_RETURN(input.max_keys, IntParam(q, "max-keys", 1000, 0, 1000));
      std::string marker = q.GetOr("marker", "");
      std::string start_after = q.GetOr("start-after", "");
      std::optional<std::string> token = q.Get("continuation-token");
      if (v2) {
        input.start_after = start_after;
        if (token) {
          auto position = crypto::Base64Decode(*token);
          if (!position || token->empty()) {
            return Error(ErrorCode::kValidation, "The continuation token provided is incorrect")
                .WithField("ArgumentName", "continuation-token");
          }
          input.start_after = std::max(input.start_after, *position);
        }
      } else {
        input.start_after = marker;
      }
      HANGAR_ASSIGN_OR_RETURN(ListObjectsOutput out, service_.ListObjects(ctx, input));
      XmlWriter x("ListBucketResult");
      x.Element("Name", a.bucket).Element("Prefix", MaybeEncode(input.prefix, url));
      if (v2) {
        if (token) x.Element("ContinuationToken", *token);
        if (!start_after.empty()) x.Element("StartAfter", MaybeEncode(start_after, url));
        x.Element("KeyCount", out.objects.size() + out.common_prefixes.size());
      } else {
        x.Element("Marker", MaybeEncode(marker, url));
      }
      x.Element("MaxKeys", static_cast<uint64_t>(input.max_keys));
      if (!input.delimiter.empty()) x.Element("Delimiter", MaybeEncode(input.delimiter, url));
      if (url) x.Element("EncodingType", "url");
      x.Bool("IsTruncated", out.truncated);
      if (out.truncated) {
        if (v2) {
          x.Element("NextContinuationToken", crypto::Base64Encode(out.next_marker));
        } else if (!input.delimiter.empty()) {
          x.Element("NextMarker", MaybeEncode(out.next_marker, url));
        }
      }
      const bool owner = !v2 || q.GetOr("fetch-owner", "") == "true";
      for (const auto& o : out.objects) {
        x.Open("Contents")
            .Element("Key", MaybeEncode(o.key, url))
            .Element("LastModified", Iso(o.last_modified_ms))
            .Element("ETag", o.etag);
        if (o.checksum) {
          x.Element("ChecksumAlgorithm", o.checksum->algorithm)
              .Element("ChecksumType", o.checksum->type);
        }
        x.Element("Size", o.size).Element("StorageClass", o.storage_class);
        // With ACLs disabled the bucket owner owns every object, whoever lists or wrote it.
        if (owner) AddOwner(x, out.bucket_owner);
        x.Close("Contents");
      }
      for (const auto& p : out.common_prefixes) {
        x.Open("CommonPrefixes").Element("Prefix", MaybeEncode(p, url)).Close("CommonPrefixes");
      }
      return Xml(x.Finish());
    }

    case Op::kDeleteObjects: {
      HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(request, verified, true));
      HANGAR_ASSIGN_OR_RETURN(XmlDocument doc, XmlDocument::Parse(body, "Delete"));
      bool quiet = ToLower(doc.Text("Quiet")) == "true";
      std::vector<ObjectToDelete> keys;
      for (const auto& object : doc.Children("Object")) {
        ObjectToDelete o{FieldValue(object, "Key"), std::nullopt, std::nullopt};
        if (HasField(object, "ETag")) o.etag = FieldValue(object, "ETag");
        keys.push_back(std::move(o));
      }
      if (keys.empty() || keys.size() > 1000) {
        return MalformedXmlError();
      }
      HANGAR_ASSIGN_OR_RETURN(auto results, service_.DeleteObjects(ctx, a.bucket, keys));
      if (ctx.audit) {
        // How many objects went: the mass-deletion detection counts them.
        const auto deleted = std::count_if(results.begin(), results.end(),
                                           [](const auto& r) { return r.status.ok(); });
        ctx.audit->additional_event_data =
            nlohmann::json{{"deletedObjects", deleted}}.dump();
      }
      XmlWriter x("DeleteResult");
      for (const auto& r : results) {
        if (r.status.ok()) {
          if (!quiet) x.Open("Deleted").Element("Key", r.key).Close("Deleted");
        } else {
          x.Open("Error")
              .Element("Key", r.key)
              .Element("Code", WireOf(r.status.code()).xml_code)
              .Element("Message", r.status.message())
              .Close("Error");
        }
      }
      return Xml(x.Finish());
    }

    case Op::kPutObject: {
      HANGAR_RETURN_IF_ERROR(CheckAclHeaders(h));
      HANGAR_RETURN_IF_ERROR(CheckStoredHeadersAreUtf8(h));
      PutObjectInput input;
      input.bucket = a.bucket;
      input.key = a.key;
      input.headers = ContentHeadersFrom(h);
      input.user_metadata = UserMetadataFrom(h);
      if (const std::string* tagging = h.Find("x-amz-tagging")) {
        HANGAR_ASSIGN_OR_RETURN(input.tags, ParseTaggingHeader(*tagging));
      }
      HANGAR_ASSIGN_OR_RETURN(input.storage_class, StorageClassFrom(h));
      input.content_md5 = OptionalHeader(h, "content-md5");
      HANGAR_ASSIGN_OR_RETURN(input.checksum, ChecksumFrom(h));
      HANGAR_ASSIGN_OR_RETURN(input.conditions, WriteConditionsFrom(h));
      input.sse = SseHeadersFrom(h);
      HANGAR_ASSIGN_OR_RETURN(input.customer_key, CustomerKeyFrom(h, "x-amz-"));
      HANGAR_ASSIGN_OR_RETURN(auto body, payload());
      input.content_length = body->decoded_length();
      HANGAR_ASSIGN_OR_RETURN(PutObjectOutput out, service_.PutObject(ctx, input, *body));
      HttpResponse r = Empty(200);
      r.headers.Add("ETag", out.etag);
      AddChecksumHeaders(r, out.checksum);
      AddSseHeaders(r, out.encryption);
      return r;
    }
    case Op::kCopyObject: {
      HANGAR_RETURN_IF_ERROR(CheckAclHeaders(h));
      HANGAR_RETURN_IF_ERROR(CheckStoredHeadersAreUtf8(h));
      CopyObjectInput input;
      HANGAR_ASSIGN_OR_RETURN(input.source, CopySourceFrom(h));
      input.bucket = a.bucket;
      input.key = a.key;
      std::string directive = std::string(h.Get("x-amz-metadata-directive"));
      if (!directive.empty() && directive != "COPY" && directive != "REPLACE") {
        return Error(ErrorCode::kValidation, "Unknown metadata directive.")
            .WithField("ArgumentName", "x-amz-metadata-directive")
            .WithField("ArgumentValue", directive);
      }
      input.replace_metadata = directive == "REPLACE";
      std::string tag_directive = std::string(h.Get("x-amz-tagging-directive"));
      if (!tag_directive.empty() && tag_directive != "COPY" && tag_directive != "REPLACE") {
        return Error(ErrorCode::kValidation, "Unknown tagging directive.")
            .WithField("ArgumentName", "x-amz-tagging-directive")
            .WithField("ArgumentValue", tag_directive);
      }
      input.replace_tags = tag_directive == "REPLACE";
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
      HANGAR_ASSIGN_OR_RETURN(CopyObjectOutput out, service_.CopyObject(ctx, input));
      XmlWriter x("CopyObjectResult");
      x.Element("LastModified", Iso(out.last_modified_ms)).Element("ETag", out.etag);
      if (out.checksum) x.Element("Checksum" + out.checksum->algorithm, out.checksum->value);
      HttpResponse r = Xml(x.Finish());
      AddSseHeaders(r, out.encryption);
      return r;
    }
    case Op::kGetObject:
    case Op::kHeadObject: {
      GetObjectInput input;
      input.bucket = a.bucket;
      input.key = a.key;
      input.range = std::string(h.Get("range"));
      input.conditions = ConditionsFrom(h, "");
      input.head = op == Op::kHeadObject;
      HANGAR_RETURN_IF_ERROR(RefuseSseOnRead(h));
      HANGAR_ASSIGN_OR_RETURN(input.customer_key, CustomerKeyFrom(h, "x-amz-", /*for_read=*/true));
      if (q.Has("partNumber")) {
        HANGAR_ASSIGN_OR_RETURN(int part, IntParam(q, "partNumber", 0, 0, 1 << 30));
        input.part_number = part;
      }
      HANGAR_ASSIGN_OR_RETURN(GetObjectOutput out, service_.GetObject(ctx, input));
      HttpResponse r;
      r.status = out.partial ? 206 : 200;
      AddObjectHeaders(r, out.object, q, h, /*whole_object=*/!out.partial);
      AddSseHeaders(r, out.object.encryption);
      if (out.partial) {
        r.headers.Add("Content-Range", ContentRangeValue({out.first, out.first + out.length - 1},
                                                         out.object.size));
      }
      if (out.object.parts_count > 0 && input.part_number) {
        r.headers.Add("x-amz-mp-parts-count", std::to_string(out.object.parts_count));
      }
      if (out.partial && out.length == 0) r.headers.Remove("Content-Range");
      if (input.head) {
        r.headers.Add("Content-Length", std::to_string(out.length));
        return r;
      }
      if (out.stream) {
        r.body_source = std::move(out.stream);
        r.body_length = out.length;
      } else {
        r.body = std::move(out.body);
      }
      return r;
    }
    case Op::kDeleteObject: {
      HANGAR_ASSIGN_OR_RETURN(auto if_match, DeleteConditionFrom(h));
      HANGAR_RETURN_IF_ERROR(service_.DeleteObject(ctx, a.bucket, a.key, {std::nullopt, if_match}).status());
      return Empty(204);
    }
    case Op::kPutObjectTagging: {
      HANGAR_ASSIGN_OR_RETURN(std::string body, VerifiedBufferedPayload(request, verified, true));
      HANGAR_ASSIGN_OR_RETURN(KeyValues tags, ParseTaggingXml(body));
      HANGAR_RETURN_IF_ERROR(service_.PutObjectTagging(ctx, a.bucket, a.key, tags));
      return Empty(200);
    }
    case Op::kGetObjectTagging: {
      HANGAR_ASSIGN_OR_RETURN(KeyValues tags, service_.GetObjectTagging(ctx, a.bucket, a.key));
      return Xml(TaggingXml(tags));
    }
    case Op::kDeleteObjectTagging:
      HANGAR_RETURN_IF_ERROR(service_.DeleteObjectTagging(ctx, a.bucket, a.key));
      return Empty(204);
    case Op::kGetObjectAttributes: {
      // Metadata of an SSE-C object is, like HEAD's, only for holders of its key.
      HANGAR_ASSIGN_OR_RETURN(auto customer, CustomerKeyFrom(h, "x-amz-", /*for_read=*/true));
      HANGAR_ASSIGN_OR_RETURN(ObjectRecord o,
                              service_.GetObjectRecord(ctx, a.bucket, a.key, &customer,
                                                       "s3:GetObjectAttributes"));
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
      if (want("ObjectParts") && o.parts_count > 0) {
        // GetObjectAttributes pages its parts through headers, not the query.
        HANGAR_ASSIGN_OR_RETURN(int max_parts, IntArgument(OptionalHeader(h, "x-amz-max-parts"),
                                                           "x-amz-max-parts", 1000, 0, 1000));
        HANGAR_ASSIGN_OR_RETURN(int marker,
                                IntArgument(OptionalHeader(h, "x-amz-part-number-marker"),
                                            "x-amz-part-number-marker", 0, 0, 10000));
        x.Open("ObjectParts").Element("PartsCount", static_cast<uint64_t>(o.parts_count));
        // General purpose buckets list the parts only when the object has checksums.
        const bool list_parts = o.checksum.has_value();
        if (list_parts) {
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
            if (seg->checksum) {
              x.Element("Checksum" + seg->checksum->algorithm, seg->checksum->value);
            }
            x.Close("Part");
          }
        }
        x.Close("ObjectParts");
      }
      if (want("StorageClass")) x.Element("StorageClass", o.storage_class);
      if (want("ObjectSize")) x.Element("ObjectSize", o.size);
      HttpResponse r = Xml(x.Finish());
      r.headers.Add("Last-Modified", HttpDate(o.last_modified_ms));
      return r;
    }

    case Op::kCreateMultipartUpload: {
      HANGAR_RETURN_IF_ERROR(CheckAclHeaders(h));
      HANGAR_RETURN_IF_ERROR(CheckStoredHeadersAreUtf8(h));
      CreateUploadInput input;
      input.bucket = a.bucket;
      input.key = a.key;
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
      HANGAR_ASSIGN_OR_RETURN(UploadRecord upload, service_.CreateMultipartUpload(ctx, input));
      XmlWriter x("InitiateMultipartUploadResult");
      x.Element("Bucket", a.bucket).Element("Key", a.key).Element("UploadId", upload.upload_id);
      HttpResponse r = Xml(x.Finish());
      if (!upload.checksum_algorithm.empty()) {
        r.headers.Add("x-amz-checksum-algorithm", upload.checksum_algorithm);
        r.headers.Add("x-amz-checksum-type", upload.checksum_type);
      }
      AddSseHeaders(r, upload.encryption);
      return r;
    }
    case Op::kUploadPart:
    case Op::kUploadPartCopy: {
      UploadPartInput input;
      input.bucket = a.bucket;
      input.key = a.key;
      input.upload_id = q.GetOr("uploadId", "");
      HANGAR_ASSIGN_OR_RETURN(input.part_number, IntParam(q, "partNumber", 0, -(1 << 30), 1 << 30));
      HANGAR_ASSIGN_OR_RETURN(input.customer_key, CustomerKeyFrom(h, "x-amz-"));
      if (op == Op::kUploadPartCopy) {
        HANGAR_ASSIGN_OR_RETURN(CopySource source, CopySourceFrom(h));
        HANGAR_ASSIGN_OR_RETURN(PartOutput out, service_.UploadPartCopy(ctx, input, source));
        const PartRecord& part = out.part;
        XmlWriter x("CopyPartResult");
        x.Element("LastModified", Iso(part.last_modified_ms)).Element("ETag", part.etag);
        if (part.checksum) x.Element("Checksum" + part.checksum->algorithm, part.checksum->value);
        HttpResponse r = Xml(x.Finish());
        AddSseHeaders(r, out.encryption);
        return r;
      }
      input.content_md5 = OptionalHeader(h, "content-md5");
      HANGAR_ASSIGN_OR_RETURN(input.checksum, ChecksumFrom(h));
      HANGAR_ASSIGN_OR_RETURN(auto body, payload());
      input.content_length = body->decoded_length();
      HANGAR_ASSIGN_OR_RETURN(PartOutput out, service_.UploadPart(ctx, input, *body));
      const PartRecord& part = out.part;
      HttpResponse r = Empty(200);
      AddSseHeaders(r, out.encryption);
      r.headers.Add("ETag", part.etag);
      if (part.checksum) {
        auto algorithm = ParseChecksumAlgorithm(part.checksum->algorithm);
        if (algorithm) r.headers.Add(ChecksumHeaderName(*algorithm), part.checksum->value);
      }
      return r;
    }
    case Op::kCompleteMultipartUpload: {
      HANGAR_ASSIGN_OR_RETURN(std::string body,
                              VerifiedBufferedPayload(request, verified, false,
                                                      /*checksum_headers_describe_body=*/false));
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
      const std::string upload_id = q.GetOr("uploadId", "");
      CompleteUploadOptions options;
      HANGAR_ASSIGN_OR_RETURN(options.conditions, WriteConditionsFrom(h));
      options.checksum_type = OptionalHeader(h, "x-amz-checksum-type");
      HANGAR_ASSIGN_OR_RETURN(options.checksum, ChecksumFrom(h));
      HANGAR_ASSIGN_OR_RETURN(ObjectRecord o, service_.CompleteMultipartUpload(
                                                  ctx, a.bucket, a.key, upload_id, parts,
                                                  options));
      XmlWriter x("CompleteMultipartUploadResult");
      x.Element("Location", "/" + a.bucket + "/" + a.key)
          .Element("Bucket", a.bucket)
          .Element("Key", a.key)
          .Element("ETag", o.etag);
      if (o.checksum) {
        x.Element("Checksum" + o.checksum->algorithm, o.checksum->value)
            .Element("ChecksumType", o.checksum->type);
      }
      HttpResponse r = Xml(x.Finish());
      AddSseHeaders(r, o.encryption, /*with_customer_headers=*/false);
      return r;
    }
    case Op::kAbortMultipartUpload:
      HANGAR_RETURN_IF_ERROR(
          service_.AbortMultipartUpload(ctx, a.bucket, a.key, q.GetOr("uploadId", "")));
      return Empty(204);
    case Op::kListParts: {
      HANGAR_ASSIGN_OR_RETURN(int marker, IntParam(q, "part-number-marker", 0, 0, 10000));
      HANGAR_ASSIGN_OR_RETURN(int max_parts, IntParam(q, "max-parts", 1000, 0, 1000));
      const std::string upload_id = q.GetOr("uploadId", "");
      HANGAR_ASSIGN_OR_RETURN(ListPartsOutput out,
                              service_.ListParts(ctx, a.bucket, a.key, upload_id, marker, max_parts));
      XmlWriter x("ListPartsResult");
      x.Element("Bucket", a.bucket).Element("Key", a.key).Element("UploadId", upload_id);
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
      x.Open("Initiator")
          .Element("ID", CanonicalUserId(out.upload.owner_account))
          .Element("DisplayName", out.upload.owner_account)
          .Close("Initiator");
      AddOwner(x, out.upload.owner_account);
      x.Element("StorageClass", out.upload.storage_class);
      if (!out.upload.checksum_algorithm.empty()) {
        x.Element("ChecksumAlgorithm", out.upload.checksum_algorithm)
            .Element("ChecksumType", out.upload.checksum_type);
      }
      return Xml(x.Finish());
    }
    case Op::kListMultipartUploads: {
      ListUploadsInput input;
      input.bucket = a.bucket;
      input.prefix = q.GetOr("prefix", "");
      input.delimiter = q.GetOr("delimiter", "");
      input.key_marker = q.GetOr("key-marker", "");
      input.upload_id_marker = q.GetOr("upload-id-marker", "");
      HANGAR_ASSIGN_OR_RETURN(input.max_uploads, IntParam(q, "max-uploads", 1000, 0, 1000));
      HANGAR_ASSIGN_OR_RETURN(ListUploadsOutput out, service_.ListMultipartUploads(ctx, input));
      XmlWriter x("ListMultipartUploadsResult");
      x.Element("Bucket", a.bucket)
          .Element("KeyMarker", input.key_marker)
          .Element("UploadIdMarker", input.upload_id_marker)
          .Element("NextKeyMarker", out.next_key_marker)
          .Element("NextUploadIdMarker", out.next_upload_id_marker)
          .Element("Prefix", input.prefix);
      if (!input.delimiter.empty()) x.Element("Delimiter", input.delimiter);
      x.Element("MaxUploads", static_cast<uint64_t>(input.max_uploads)).Bool("IsTruncated", out.truncated);
      for (const auto& u : out.uploads) {
        x.Open("Upload").Element("Key", u.key).Element("UploadId", u.upload_id);
        x.Open("Initiator")
            .Element("ID", CanonicalUserId(u.owner_account))
            .Element("DisplayName", u.owner_account)
            .Close("Initiator");
        AddOwner(x, u.owner_account);
        x.Element("StorageClass", u.storage_class).Element("Initiated", Iso(u.initiated_ms));
        if (!u.checksum_algorithm.empty()) x.Element("ChecksumAlgorithm", u.checksum_algorithm);
        x.Close("Upload");
      }
      for (const auto& p : out.common_prefixes) {
        x.Open("CommonPrefixes").Element("Prefix", p).Close("CommonPrefixes");
      }
      return Xml(x.Finish());
    }

    case Op::kNotImplemented:
      return Error(ErrorCode::kNotImplemented,
                   "A header or query you provided implies functionality that is not implemented");
    case Op::kMethodNotAllowed:
      return Error(ErrorCode::kMethodNotAllowed,
                   "The specified method is not allowed against this resource.")
          .WithField("Method", request.method)
          .WithField("ResourceType", a.key.empty() ? (a.bucket.empty() ? "SERVICE" : "BUCKET")
                                                   : "OBJECT");
  }
  return InternalError("unhandled S3 operation");
}

}  // namespace hangar::s3
