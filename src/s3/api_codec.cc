#include "s3/api_codec.h"

#include <algorithm>

#include "auth/payload_reader.h"
#include "common/strings.h"
#include "crypto/digest.h"
#include "s3/object_rules.h"

namespace hangar::s3::api {

Result<Query> Query::Parse(std::string_view raw) {
  auto pairs = ParseQuery(raw, /*plus_is_space=*/false);
  if (!pairs) return Error(ErrorCode::kInvalidRequest, "The query string is malformed.");
  Query q;
  for (auto& [k, v] : *pairs) q.params_.emplace(std::move(k), std::move(v));
  return q;
}

bool Query::Has(std::string_view name) const { return params_.count(std::string(name)) > 0; }

std::optional<std::string> Query::Get(std::string_view name) const {
  auto it = params_.find(std::string(name));
  if (it == params_.end()) return std::nullopt;
  return it->second;
}

std::string Query::GetOr(std::string_view name, std::string fallback) const {
  return Get(name).value_or(std::move(fallback));
}

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
    return Error(ErrorCode::kValidation,
                 "Provided " + std::string(name) + " not an integer or within integer range")
        .WithField("ArgumentName", std::string(name))
        .WithField("ArgumentValue", *v);
  }
}

Result<int> IntParam(const Query& q, std::string_view name, int fallback, int min, int max) {
  return IntArgument(q.Get(name), name, fallback, min, max);
}

// --- Headers in ----------------------------------------------------------------------------------

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

namespace {

// 501 NotImplemented for a conditional header S3 does not accept on a write.
Status ConditionalHeaderNotImplemented(std::string header, std::string additional) {
  Status s = Error(ErrorCode::kNotImplemented,
                   "A header you provided implies functionality that is not implemented");
  s.WithField("Header", std::move(header));
  if (!additional.empty()) s.WithField("additionalMessage", std::move(additional));
  return s;
}

}  // namespace

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
          "If-None-Match",
          "We don't accept the provided value of If-None-Match header for this API");
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
                                                   bool for_read) {
  std::string base = std::string(prefix) + "server-side-encryption-customer-";
  return ParseCustomerKey(OptionalHeader(h, base + "algorithm"), OptionalHeader(h, base + "key"),
                          OptionalHeader(h, base + "key-md5"), for_read);
}

// What AWS decorates responses with (s3.md §8.2): the mode, the full key ARN, the Bucket Key flag;
// for SSE-C the algorithm and the key's MD5.
void AddSseHeaders(HttpResponse& r, const ObjectEncryption& e, bool with_customer_headers) {
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

// x-amz-copy-source: "[/]bucket/key[?versionId=...]", URL-encoded.
// The source version named after the '?' of x-amz-copy-source ("versionId=<id>").
Result<std::optional<std::string>> CopySourceVersion(std::string_view query) {
  HANGAR_ASSIGN_OR_RETURN(Query q, Query::Parse(query));
  std::optional<std::string> id = q.Get("versionId");
  if (!id) return id;
  if (id->empty()) {
    return Error(ErrorCode::kValidation, "Version id cannot be the empty string")
        .WithField("ArgumentName", "x-amz-copy-source")
        .WithField("ArgumentValue", "");
  }
  if (!ValidateVersionId(*id).ok()) return Error(ErrorCode::kInvalidRequest, "Invalid Request");
  return id;
}

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
  if (q != std::string_view::npos) {
    HANGAR_ASSIGN_OR_RETURN(source.version_id, CopySourceVersion(raw.substr(q + 1)));
  }
  return source;
}

// --- Responses out -------------------------------------------------------------------------------

std::string CanonicalUserId(std::string_view account) {
  // A listing names an owner per entry, nearly always the same account: a thousand SHA-256s
  // per page otherwise. Per thread, so no lock.
  thread_local std::string last_account;
  thread_local std::string last_id;
  if (last_id.empty() || account != last_account) {
    last_id = crypto::Sha256Hex("hangar-canonical-user/" + std::string(account));
    last_account = account;
  }
  return last_id;
}

void AddOwner(XmlWriter& x, std::string_view account) {
  x.Open("Owner")
      .Element("ID", CanonicalUserId(account))
      .Element("DisplayName", account)
      .Close("Owner");
}

std::string Iso(int64_t ms) { return FormatIso8601(FromUnixMillis(ms), /*with_millis=*/true); }
std::string HttpDate(int64_t ms) { return FormatHttpDate(FromUnixMillis(ms)); }

HttpResponse Xml(std::string body, int status) {
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
  for (const auto& [name, value] : o.user_metadata)
    r.headers.Add(std::string(kMetaPrefix) + name, value);
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

// --- Bodies --------------------------------------------------------------------------------------

Result<size_t> StringBodyReader::Read(std::span<char> into) {
  size_t n = std::min(into.size(), data_.size() - offset_);
  std::copy_n(data_.data() + offset_, n, into.data());
  offset_ += n;
  return n;
}

// The payload of a request whose body the HTTP layer buffered, decoded and checked against the
// signature's claims (x-amz-content-sha256 or aws-chunked), then against Content-MD5 or an
// x-amz-checksum-* header when the request carries one.
// `checksum_headers_describe_body` false: x-amz-checksum-* says something else (Complete's
// whole-object checksum) and is not checked against the body.
Result<std::string> VerifiedBufferedPayload(const HttpRequest& request,
                                            const auth::VerifiedRequest* verified,
                                            bool checksum_required,
                                            bool checksum_headers_describe_body) {
  StringBodyReader raw(request.body);
  HANGAR_ASSIGN_OR_RETURN(
      auto reader,
      auth::MakePayloadReader(raw, request, verified, request.headers.Get("x-amz-content-sha256")));
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
    } else if (const std::string* t =
                   reader->trailers().Find(ChecksumHeaderName(checksum->algorithm))) {
      expected_text = *t;
    }
    HANGAR_ASSIGN_OR_RETURN(std::string expected,
                            ParseChecksumHeaderValue(checksum->algorithm, expected_text));
    HANGAR_RETURN_IF_ERROR(VerifyChecksum(checksum->algorithm, expected,
                                          ComputeChecksum(checksum->algorithm, payload)));
  }
  if (checksum_required && !md5 && !checksum) {
    return Error(ErrorCode::kInvalidRequest,
                 "Missing required header for this request: Content-MD5");
  }
  return payload;
}

// --- Versions and Object Lock ---------------------------------------------------------------------

Result<LockRequest> LockRequestFrom(const HeaderList& h) {
  const std::string* mode = h.Find("x-amz-object-lock-mode");
  const std::string* until = h.Find("x-amz-object-lock-retain-until-date");
  LockRequest lock;
  if ((mode == nullptr) != (until == nullptr)) {
    // Checked before the mode's value, as on AWS (s3-data-protection.md §2.3).
    return Error(ErrorCode::kValidation,
                 "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be "
                 "supplied")
        .WithField("ArgumentName", mode == nullptr ? "x-amz-object-lock-mode"
                                                   : "x-amz-object-lock-retain-until-date");
  }
  if (mode != nullptr) {
    if (*mode != "GOVERNANCE" && *mode != "COMPLIANCE") {
      return Error(ErrorCode::kValidation, "Unknown wormMode directive.")
          .WithField("ArgumentName", "x-amz-object-lock-mode")
          .WithField("ArgumentValue", *mode);
    }
    auto at = ParseIso8601(*until);
    if (!at) {
      return Error(ErrorCode::kValidation,
                   "The retain until date must be provided in ISO 8601 format")
          .WithField("ArgumentName", "x-amz-object-lock-retain-until-date")
          .WithField("ArgumentValue", *until);
    }
    lock.mode = *mode;
    lock.until_ms = ToUnixMillis(*at);
  }
  if (const std::string* hold = h.Find("x-amz-object-lock-legal-hold")) {
    if (*hold != "ON" && *hold != "OFF") {
      return Error(ErrorCode::kValidation, "Legal Hold must be either of 'ON' or 'OFF'")
          .WithField("ArgumentName", "x-amz-object-lock-legal-hold")
          .WithField("ArgumentValue", *hold);
    }
    lock.legal_hold = *hold;
  }
  return lock;
}

void BypassFrom(const HeaderList& h, DeleteOptions& options) {
  const std::string* bypass = h.Find("x-amz-bypass-governance-retention");
  options.bypass_header = bypass != nullptr;
  options.bypass_governance = bypass != nullptr && ToLower(*bypass) == "true";
}

void AddVersionHeader(HttpResponse& r, const std::optional<std::string>& version_id) {
  if (version_id) r.headers.Add("x-amz-version-id", *version_id);
}

void AddLockHeaders(HttpResponse& r, const ObjectRecord& o) {
  if (!o.lock.mode.empty()) {
    r.headers.Add("x-amz-object-lock-mode", o.lock.mode);
    r.headers.Add("x-amz-object-lock-retain-until-date",
                  FormatIso8601(FromUnixMillis(o.lock.until_ms), /*with_millis=*/true));
  }
  if (!o.lock.legal_hold.empty()) r.headers.Add("x-amz-object-lock-legal-hold", o.lock.legal_hold);
}

void AddDeleteHeaders(HttpResponse& r, const DeleteOutput& out) {
  if (out.delete_marker) r.headers.Add("x-amz-delete-marker", "true");
  AddVersionHeader(r, out.version_id);
}

}  // namespace hangar::s3::api
