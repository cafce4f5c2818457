#pragma once
// The S3 REST operations as data: each is one `Operation` — its name in audit records, the body it
// takes, what Admit checks before that body is read, and the handler that parses the request, calls
// S3Service and renders the answer. Each is defined beside its handler (api_buckets.cc,
// api_objects.cc, api_listing.cc, api_multipart.cc, access_api.cc, cors_api.cc, s3_api.cc); the
// route table in s3_api.cc maps method, resource and sub-resource to them. Internal to src/s3.
//
// Adding an operation: a handler and its `Operation` in the file of its area, its declaration
// below, and its route in s3_api.cc.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "auth/payload_reader.h"
#include "auth/request_context.h"
#include "auth/sigv4.h"
#include "common/http_message.h"
#include "common/result.h"
#include "s3/api_codec.h"
#include "s3/s3_service.h"

namespace hangar::s3::api {

// One S3 request as its handler sees it, addressed and with its query parsed.
struct OpRequest {
  const HttpRequest& http;
  const auth::VerifiedRequest* verified;  // null for presigned and anonymous requests
  std::string bucket;                     // "" for the service (ListBuckets)
  std::string key;                        // "" for bucket operations
  Query query;
  // The body as it arrives (object and part uploads), not yet authenticated: see UploadPayload.
  BodyReader& raw_body;
  // Verifies POST Object forms' policy signatures; null when the server offers no POST Object.
  const auth::SigV4Verifier* post_signatures = nullptr;

  const HeaderList& headers() const { return http.headers; }
};

using Handler = Result<HttpResponse> (*)(S3Service& s3, const auth::RequestContext& ctx,
                                         const OpRequest& request);

// Whether CloudTrail counts the operation as a data event (object level) or a management event.
enum class Event {
  kManagement,
  kData,
  kDataIfObject,  // by the resource it names (the operations S3 does not model)
};

// The request body an operation takes, and how much of it the HTTP layer buffers before dispatch.
enum class Body {
  kNone,         // none expected; up to kSmallBody is tolerated and ignored
  kXml,          // a configuration document, up to kSmallBody
  kLargeXml,     // 1,000 keys or 10,000 parts and their fields, up to kLargeXmlBody
  kPolicy,       // a bucket policy: AWS's limit is 20 KB, an excess is MalformedPolicy
  kObjectBytes,  // object data: streamed to the handler, small ones read before dispatch
};

inline constexpr uint64_t kSmallBody = 64 * 1024;
inline constexpr uint64_t kBucketPolicyBody = 20 * 1024;
inline constexpr uint64_t kLargeXmlBody = 4 << 20;

// What can be checked before a request's body is read (docs/hardening.md item 11).
enum class Admission {
  kNone,           // nothing before the body (no body, or the operation checks as it streams)
  kBucketExists,   // the bucket exists; anonymous callers need a policy that could allow them
  kBucketAction,   // `action` on the bucket, as the operation itself authorises it
  kKeyAction,      // `action` on bucket/key (the object need not exist)
  kObjectAction,   // `action` on an existing object
  kAccountAction,  // `action` for the caller's account (CreateBucket)
};

struct Operation {
  std::string_view name;  // the audit record's eventName; "" gives GetUnsupported/PutUnsupported
  Event event = Event::kManagement;
  Body body = Body::kNone;
  Admission admission = Admission::kNone;
  std::string_view action;  // the action Admission checks, where it names one
  bool cheap_read = false;  // a read that may skip policy evaluation (S3Service::ReadsAreCheap)
  Handler handle = nullptr;
};

// The body of an object or part upload, authenticated as it streams.
Result<std::unique_ptr<auth::PayloadReader>> UploadPayload(const OpRequest& r);

// PutObject's input from its headers (api_objects.cc); POST Object passes its form's fields, whose
// names are those headers', and `tagging_header` false (its tags come as XML in a field).
// Errors: those of AclRequestFrom, CheckStoredHeadersAreUtf8, ParseTaggingHeader,
// StorageClassFrom, ChecksumFrom, WriteConditionsFrom, CustomerKeyFrom, LockRequestFrom.
Result<PutObjectInput> PutObjectInputFrom(const HeaderList& h, std::string_view bucket,
                                          std::string_view key, bool tagging_header);

// s3_api.cc: the answers for unimplemented sub-resources (501) and unsupported methods (405).
extern const Operation kNotImplemented, kMethodNotAllowed;

// api_buckets.cc
extern const Operation kListBuckets, kCreateBucket, kHeadBucket, kDeleteBucket, kGetBucketLocation,
    kPutBucketTagging, kGetBucketTagging, kDeleteBucketTagging,
    kPutBucketEncryption, kGetBucketEncryption, kDeleteBucketEncryption;

// api_lifecycle.cc
extern const Operation kPutBucketLifecycle, kGetBucketLifecycle, kDeleteBucketLifecycle;

// api_versioning.cc
extern const Operation kPutBucketVersioning, kGetBucketVersioning, kListObjectVersions;

// api_lock.cc
extern const Operation kPutObjectLockConfiguration, kGetObjectLockConfiguration,
    kPutObjectRetention, kGetObjectRetention, kPutObjectLegalHold, kGetObjectLegalHold;

// access_api.cc
extern const Operation kGetBucketAcl, kPutBucketAcl, kGetObjectAcl, kPutObjectAcl, kPutBucketPolicy,
    kGetBucketPolicy, kDeleteBucketPolicy, kGetBucketPolicyStatus, kPutPublicAccessBlock,
    kGetPublicAccessBlock, kDeletePublicAccessBlock, kPutOwnershipControls, kGetOwnershipControls,
    kDeleteOwnershipControls, kGetAccountPublicAccessBlock, kPutAccountPublicAccessBlock,
    kDeleteAccountPublicAccessBlock, kAccountPublicAccessBlockOtherMethod;

// cors_api.cc
extern const Operation kPutBucketCors, kGetBucketCors, kDeleteBucketCors, kCorsPreflight;

// api_listing.cc
extern const Operation kListObjects, kListObjectsV2;

// api_objects.cc
extern const Operation kPutObject, kCopyObject, kGetObject, kHeadObject, kDeleteObject,
    kDeleteObjects, kPutObjectTagging, kGetObjectTagging, kDeleteObjectTagging,
    kGetObjectAttributes;

// api_post_object.cc
extern const Operation kPostObject;

// api_multipart.cc
extern const Operation kCreateMultipartUpload, kUploadPart, kUploadPartCopy,
    kCompleteMultipartUpload, kAbortMultipartUpload, kListParts, kListMultipartUploads;

}  // namespace hangar::s3::api
