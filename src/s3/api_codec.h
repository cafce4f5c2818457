#pragma once
// The pieces of the S3 REST/XML codec that its operations share: the query string, the request
// headers S3 operations read, the response headers and XML they write, and buffered bodies.
// Internal to src/s3's REST files (s3_api.cc, api_*.cc, access_api.cc, cors_api.cc); everything
// here is a function of its arguments, safe to call from any thread.

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "auth/sigv4.h"
#include "common/http_message.h"
#include "common/result.h"
#include "s3/s3_service.h"
#include "s3/xml.h"

namespace hangar::s3::api {

// --- Query parameters ----------------------------------------------------------------------------

// The decoded query string. A parameter may repeat; Get returns one of its values.
class Query {
 public:
  // Errors: kInvalidRequest (malformed percent-encoding).
  static Result<Query> Parse(std::string_view raw);
  bool Has(std::string_view name) const;
  std::optional<std::string> Get(std::string_view name) const;
  std::string GetOr(std::string_view name, std::string fallback) const;

 private:
  std::multimap<std::string, std::string> params_;
};

// An integer argument (query parameter or header); absent gives `fallback`, above `max` is capped.
// Errors: kValidation (not an integer, or below `min`).
Result<int> IntArgument(const std::optional<std::string>& v, std::string_view name, int fallback,
                        int min, int max);
Result<int> IntParam(const Query& q, std::string_view name, int fallback, int min, int max);

// --- Headers in ----------------------------------------------------------------------------------

inline constexpr std::string_view kMetaPrefix = "x-amz-meta-";

std::optional<std::string> OptionalHeader(const HeaderList& h, std::string_view name);
ContentHeaders ContentHeadersFrom(const HeaderList& h);
// Errors: kValidation (a header an object keeps is not UTF-8).
Status CheckStoredHeadersAreUtf8(const HeaderList& h);
KeyValues UserMetadataFrom(const HeaderList& h);
// Errors: kInvalidStorageClass.
Result<std::string> StorageClassFrom(const HeaderList& h);
// Errors: kInvalidRequest (more than one checksum).
Result<std::optional<ChecksumRequest>> ChecksumFrom(const HeaderList& h);
// The four conditional headers under `prefix` ("" or "x-amz-copy-source-").
ConditionHeaders ConditionsFrom(const HeaderList& h, std::string_view prefix);
// Errors: kNotImplemented (a condition or value S3 does not accept on a write).
Result<WriteConditions> WriteConditionsFrom(const HeaderList& h);
// Errors: kNotImplemented (the directory-bucket conditions).
Result<std::optional<std::string>> DeleteConditionFrom(const HeaderList& h);
SseHeaders SseHeadersFrom(const HeaderList& h);
// Errors: those of ParseCustomerKey (kValidation, kInvalidEncryptionAlgorithm, kAccessDenied).
Result<std::optional<CustomerKey>> CustomerKeyFrom(const HeaderList& h, std::string_view prefix,
                                                   bool for_read = false);
// Errors: kValidation (no bucket and key), those of CustomerKeyFrom.
Result<CopySource> CopySourceFrom(const HeaderList& h);
// x-amz-object-lock-mode, -retain-until-date and -legal-hold. Errors: kValidation (AWS's texts).
Result<LockRequest> LockRequestFrom(const HeaderList& h);
// x-amz-bypass-governance-retention (for DeleteOptions). Errors: none.
void BypassFrom(const HeaderList& h, DeleteOptions& options);

// --- Responses out -------------------------------------------------------------------------------

void AddOwner(XmlWriter& x, std::string_view account);
std::string Iso(int64_t ms);
std::string HttpDate(int64_t ms);
HttpResponse Xml(std::string body, int status = 200);
HttpResponse Empty(int status);
void AddChecksumHeaders(HttpResponse& r, const std::optional<ChecksumValue>& checksum);
void AddSseHeaders(HttpResponse& r, const ObjectEncryption& e, bool with_customer_headers = true);
void AddObjectHeaders(HttpResponse& r, const ObjectRecord& o, const Query& q,
                      const HeaderList& request_headers, bool whole_object);
// x-amz-version-id, when the answer names a version; the Object Lock headers of a version.
void AddVersionHeader(HttpResponse& r, const std::optional<std::string>& version_id);
void AddLockHeaders(HttpResponse& r, const ObjectRecord& o);
// Delete's x-amz-delete-marker and x-amz-version-id.
void AddDeleteHeaders(HttpResponse& r, const DeleteOutput& out);
std::string TaggingXml(const KeyValues& tags);
// Errors: kMalformedXml.
Result<KeyValues> ParseTaggingXml(std::string_view body);

// --- Bodies --------------------------------------------------------------------------------------

// A BodyReader over bytes already in memory (`data` must outlive it).
class StringBodyReader final : public BodyReader {
 public:
  explicit StringBodyReader(std::string_view data) : data_(data) {}
  Result<size_t> Read(std::span<char> into) override;

 private:
  std::string_view data_;
  size_t offset_ = 0;
};

Result<std::string> VerifiedBufferedPayload(const HttpRequest& request,
                                            const auth::VerifiedRequest* verified,
                                            bool checksum_required,
                                            bool checksum_headers_describe_body = true);

}  // namespace hangar::s3::api
