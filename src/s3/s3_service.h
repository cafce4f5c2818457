#pragma once
// S3Service: the S3 domain — buckets, objects, listings and multipart uploads — as typed
// operations. The REST/XML codec (s3_api.h) translates HTTP into these and back; tests and (later)
// the console call them directly. Object bytes stream through BodyReader/BodySource; metadata lives
// in the MetadataStore via S3Repository; bytes in the BlobStore.
//
// Durability: a write is acknowledged only after its blob is fsynced and the metadata naming it is
// committed. Overwrites swap the metadata atomically, so readers see the old object or the new one;
// replaced blobs are deleted after a grace time by the janitor (RunMaintenance).
//
// Thread-safety: all methods may be called concurrently.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/payload_reader.h"
#include "auth/request_context.h"
#include "common/clock.h"
#include "common/http_message.h"
#include "s3/checksum.h"
#include "s3/http_conditions.h"
#include "s3/object_io.h"
#include "s3/records.h"
#include "s3/s3_repository.h"
#include "s3/access.h"
#include "s3/acl.h"
#include "s3/blob_leases.h"
#include "s3/key_write_locks.h"
#include "s3/sse.h"
#include "store/blob_store.h"

namespace hangar::audit {
class AuditSink;
}

namespace hangar::s3 {

struct S3Options {
  uint64_t max_object_size = 5ULL << 30;  // single PUT and each part: 5 GiB
  uint64_t min_part_size = 5ULL << 20;    // all parts but the last
  int max_parts = 10000;
  std::chrono::seconds garbage_grace{60};
  std::chrono::hours abandoned_upload_ttl{24 * 7};
  size_t small_object = 256 * 1024;  // GETs up to this size are answered from memory
  // Single writes of up to this many bytes keep their encrypted bytes in the object's record: a
  // small PUT then costs one shared metadata commit instead of a file and two syncs. 0: never.
  uint64_t inline_max_size = 16 * 1024;
  // The accounts an ACL grant may name by canonical id (besides the caller's and the bucket
  // owner's); unset: only those two.
  AccountLister accounts;
};

template <typename T>
struct Listed {
  std::vector<T> items;
  bool truncated = false;
};

// --- Buckets ---
// BucketOwnerEnforced, ObjectWriter or BucketOwnerPreferred. Errors: kMalformedXml.
Status ValidateObjectOwnership(std::string_view ownership);
// The account a new object written to `bucket` by `ctx`'s caller, with `request`'s ACL, belongs
// to: its writer in buckets with ACLs (unless BucketOwnerPreferred is handed it), else the
// bucket owner.
std::string NewObjectOwner(const auth::RequestContext& ctx, const BucketRecord& bucket,
                           const std::optional<AclRequest>& request);

struct CreateBucketInput {
  std::string bucket;
  std::optional<std::string> location_constraint;  // from CreateBucketConfiguration
  bool object_lock_enabled = false;  // x-amz-bucket-object-lock-enabled: true (turns on versioning)
  std::optional<std::string> object_ownership;  // x-amz-object-ownership (BucketOwnerEnforced if absent)
  std::optional<AclRequest> acl;     // x-amz-acl / x-amz-grant-*
};

// --- Object Lock ---
// What a write asks of Object Lock (x-amz-object-lock-* headers, checked for form by the codec).
struct LockRequest {
  std::string mode;  // "", GOVERNANCE, COMPLIANCE (with until_ms)
  int64_t until_ms = 0;
  std::string legal_hold;  // "", ON, OFF
  bool any() const { return !mode.empty() || !legal_hold.empty(); }
};

struct ObjectLockConfiguration {
  bool enabled = false;
  DefaultRetention rule;  // mode "" = no default retention
};

// --- Objects ---
struct ChecksumRequest {
  ChecksumAlgorithm algorithm;
  std::optional<std::string> expected;  // base64 from a header; nullopt: from the trailer
};

// Conditional writes (PutObject, CopyObject, CompleteMultipartUpload): the destination key's
// current object must be absent (If-None-Match: *) or have this ETag (If-Match).
struct WriteConditions {
  bool if_none_match_star = false;
  std::optional<std::string> if_match;
  bool any() const { return if_none_match_star || if_match.has_value(); }
};
// Their condition keys, s3:if-none-match and s3:if-match, so a bucket policy can require them.
iam::ContextKeys WriteConditionKeys(const WriteConditions& conditions);

// What a CompleteMultipartUpload request says beyond its part list.
struct CompleteUploadOptions {
  WriteConditions conditions;
  std::optional<std::string> checksum_type;  // x-amz-checksum-type
  // x-amz-checksum-<alg>: for a FULL_OBJECT upload, the whole object's checksum.
  std::optional<ChecksumRequest> checksum;
};

struct PutObjectInput {
  std::string bucket;
  std::string key;
  ContentHeaders headers;
  KeyValues user_metadata;
  KeyValues tags;
  std::string storage_class = "STANDARD";
  std::optional<std::string> content_md5;  // base64, as sent
  std::optional<ChecksumRequest> checksum;
  std::optional<uint64_t> content_length;  // payload bytes (decoded length for aws-chunked)
  // POST Object: the file part's length is known only once it has streamed, so no
  // content_length is required (the form's reader enforces content-length-range).
  bool length_known_at_end = false;
  WriteConditions conditions;
  SseHeaders sse;
  std::optional<CustomerKey> customer_key;
  LockRequest lock;
  std::optional<AclRequest> acl;  // x-amz-acl / x-amz-grant-*
};

struct PutObjectOutput {
  std::string etag;
  std::optional<std::string> expiration;  // x-amz-expiration (a lifecycle rule expires it)
  std::optional<std::string> version_id;  // x-amz-version-id (versioning Enabled only)
  std::optional<ChecksumValue> checksum;
  ObjectEncryption encryption;
};

struct GetObjectInput {
  std::string bucket;
  std::string key;
  std::string range;  // Range header as sent, "" if none
  ConditionHeaders conditions;
  std::optional<int> part_number;
  bool head = false;
  std::optional<CustomerKey> customer_key;
  std::optional<std::string> version_id;  // ?versionId= ("null" for the null version)
};

struct GetObjectOutput {
  ObjectRecord object;
  std::optional<std::string> expiration;  // x-amz-expiration (current version only)
  // A locked version's KMS key when it is no longer Enabled (its data unreadable while the lock
  // stands): x-hangar-kms-key-state and, pending deletion, x-hangar-kms-key-deletion-date.
  std::optional<KmsGateway::KeyStatus> locked_key_status;
  std::optional<std::string> version_id;  // x-amz-version-id (versioned buckets)
  bool partial = false;  // 206 with Content-Range
  uint64_t first = 0;
  uint64_t length = 0;
  std::string body;                   // small objects
  std::unique_ptr<BodySource> stream;  // large objects
};

struct ObjectToDelete {
  std::string key;
  std::optional<std::string> etag;        // DeleteObjects' <ETag>: a conditional delete
  std::optional<std::string> version_id;  // delete this version for good
};

struct DeleteOptions {
  std::optional<std::string> version_id;
  std::optional<std::string> if_match;  // delete only if the ETag matches ("*": if one exists)
  // x-amz-bypass-governance-retention: sent at all (only Object Lock buckets accept it), and true.
  bool bypass_header = false;
  bool bypass_governance = false;
};

// What a delete did: the x-amz-delete-marker and x-amz-version-id headers.
struct DeleteOutput {
  bool delete_marker = false;             // a marker was made, or the version removed was one
  std::optional<std::string> version_id;  // the marker made, or the version named
  bool by_version = false;                // the request named a version
  bool absent = false;                    // the version named was not there (DeleteObjects: error)
};

struct DeleteObjectsEntry {
  std::string key;
  std::optional<std::string> version_id;  // as requested
  Status status;  // OK: deleted (or did not exist)
  DeleteOutput result;
};

struct CopySource {
  std::string bucket;
  std::string key;
  std::optional<std::string> version_id;  // x-amz-copy-source's ?versionId=
  ConditionHeaders conditions;  // x-amz-copy-source-if-*
  std::string range;            // x-amz-copy-source-range (UploadPartCopy)
  std::optional<CustomerKey> customer_key;  // x-amz-copy-source-server-side-encryption-customer-*
};

struct CopyObjectInput {
  CopySource source;
  std::string bucket;
  std::string key;
  bool replace_metadata = false;  // x-amz-metadata-directive: REPLACE
  bool replace_tags = false;      // x-amz-tagging-directive: REPLACE
  ContentHeaders headers;
  KeyValues user_metadata;
  KeyValues tags;
  std::string storage_class;  // "" keeps the source's
  std::optional<ChecksumAlgorithm> checksum_algorithm;
  SseHeaders sse;  // the destination's encryption (the source's is never carried over)
  std::optional<CustomerKey> customer_key;
  WriteConditions conditions;  // on the destination key
  LockRequest lock;            // the source's lock is never carried over
  std::optional<AclRequest> acl;  // the source's ACL is never carried over
};

struct CopyObjectOutput {
  std::string etag;
  std::optional<std::string> expiration;  // x-amz-expiration
  std::optional<std::string> version_id;         // the copy's (versioned buckets)
  std::optional<std::string> source_version_id;  // omitted for a null source version
  int64_t last_modified_ms = 0;
  std::optional<ChecksumValue> checksum;
  ObjectEncryption encryption;
};

// --- Listing ---
struct ListObjectsInput {
  std::string bucket;
  std::string prefix;
  std::string delimiter;
  std::string start_after;  // v1: marker; v2: max(start-after, continuation position)
  int max_keys = 1000;
};

// Who owns a listed object: its writer in buckets with ACLs, else the bucket owner.
inline const std::string& ListedOwner(const ObjectRecord& o, const std::string& bucket_owner,
                                      bool acls_enabled) {
  return acls_enabled && !o.owner_account.empty() ? o.owner_account : bucket_owner;
}

struct ListObjectsOutput {
  std::string bucket_owner;
  bool acls_enabled = false;
  std::vector<ObjectRecord> objects;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_marker;  // last key or common prefix returned (continuation position)
};

struct ListVersionsInput {
  std::string bucket;
  std::string prefix;
  std::string delimiter;
  std::string key_marker;
  std::string version_id_marker;
  int max_keys = 1000;
};

struct ListedVersion {
  ObjectRecord record;  // a delete marker when record.delete_marker
  bool is_latest = false;
};

struct ListVersionsOutput {
  std::string bucket_owner;
  bool acls_enabled = false;
  std::vector<ListedVersion> versions;  // keys ascending, each key's versions newest first
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_key_marker;
  std::optional<std::string> next_version_id_marker;
};

struct VersioningConfiguration {
  std::string status;      // "" (never enabled), Enabled, Suspended
  std::string mfa_delete;  // "" (never set) or Disabled: Hangar has no MFA devices
};

// --- Multipart ---
struct CreateUploadInput {
  std::string bucket;
  std::string key;
  ContentHeaders headers;
  KeyValues user_metadata;
  KeyValues tags;
  std::string storage_class = "STANDARD";
  std::optional<ChecksumAlgorithm> checksum_algorithm;
  std::string checksum_type;  // COMPOSITE (default with an algorithm) or FULL_OBJECT
  SseHeaders sse;
  std::optional<CustomerKey> customer_key;
  LockRequest lock;
  std::optional<AclRequest> acl;
};

struct UploadPartInput {
  std::string bucket;
  std::string key;
  std::string upload_id;
  int part_number = 0;
  std::optional<std::string> content_md5;
  std::optional<ChecksumRequest> checksum;
  std::optional<uint64_t> content_length;
  std::optional<CustomerKey> customer_key;
};

struct PartOutput {
  PartRecord part;
  ObjectEncryption encryption;  // the upload's, echoed in the response headers
};

struct CompletedPart {
  int part_number = 0;
  std::string etag;  // as sent (quotes optional)
  std::optional<std::string> checksum;
};

struct ListPartsOutput {
  UploadRecord upload;
  std::vector<PartRecord> parts;
  bool truncated = false;
  int next_marker = 0;
};

struct ListUploadsInput {
  std::string bucket;
  std::string prefix;
  std::string delimiter;
  std::string key_marker;
  std::string upload_id_marker;
  int max_uploads = 1000;
};

struct ListUploadsOutput {
  std::vector<UploadRecord> uploads;
  std::vector<std::string> common_prefixes;
  bool truncated = false;
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

class S3Service {
 public:
  S3Service(S3Repository& repository, store::BlobStore& blobs, SseEngine& sse,
            const S3Access& access, const Clock& clock, S3Options options);

  // Buckets.
  Status CreateBucket(const auth::RequestContext& ctx, const CreateBucketInput& input);
  // HeadBucket and every read that only needs the bucket to exist and the caller to hold `action`.
  Result<BucketRecord> HeadBucket(const auth::RequestContext& ctx, std::string_view bucket,
                                  std::string_view action = "s3:ListBucket");
  Status DeleteBucket(const auth::RequestContext& ctx, std::string_view bucket);
  // The owning account of a bucket, for answers given after the caller was authorised.
  Result<std::string> BucketOwner(std::string_view bucket);
  Result<std::vector<BucketRecord>> ListBuckets(const auth::RequestContext& ctx);
  Status PutBucketTagging(const auth::RequestContext& ctx, std::string_view bucket,
                          const KeyValues& tags);
  Result<KeyValues> GetBucketTagging(const auth::RequestContext& ctx, std::string_view bucket);
  Status DeleteBucketTagging(const auth::RequestContext& ctx, std::string_view bucket);
  Status PutBucketEncryption(const auth::RequestContext& ctx, std::string_view bucket,
                             const BucketEncryption& encryption);
  Result<BucketEncryption> GetBucketEncryption(const auth::RequestContext& ctx,
                                               std::string_view bucket);
  Status DeleteBucketEncryption(const auth::RequestContext& ctx, std::string_view bucket);

  // Versioning (version_ops.cc). `mfa_header`: whether x-amz-mfa was sent.
  // Errors: kNoSuchBucket, kAccessDenied, kInvalidBucketState (Suspended under Object Lock).
  Status PutBucketVersioning(const auth::RequestContext& ctx, std::string_view bucket,
                             const VersioningConfiguration& configuration);
  Result<VersioningConfiguration> GetBucketVersioning(const auth::RequestContext& ctx,
                                                      std::string_view bucket);
  Result<ListVersionsOutput> ListObjectVersions(const auth::RequestContext& ctx,
                                                const ListVersionsInput& input);

  // Lifecycle (lifecycle_ops.cc). Put replaces the configuration (validated by the codec); Get
  // errors kNoSuchLifecycleConfiguration when there is none; Delete succeeds either way.
  Status PutBucketLifecycle(const auth::RequestContext& ctx, std::string_view bucket,
                            LifecycleConfiguration configuration);
  Result<LifecycleConfiguration> GetBucketLifecycle(const auth::RequestContext& ctx,
                                                    std::string_view bucket);
  Status DeleteBucketLifecycle(const auth::RequestContext& ctx, std::string_view bucket);
  // x-amz-expiration of a current version: `expiry-date="...", rule-id="..."`, if a rule expires it.
  std::optional<std::string> ExpirationHeaderOf(const ObjectRecord& o);

  // Object Lock (lock_ops.cc). Errors also: kInvalidBucketState (versioning not Enabled),
  // kObjectLockConfigurationNotFound, kNoSuchObjectLockConfiguration, kInvalidRequest (bucket
  // without Object Lock), kAccessDenied (a retention that would weaken a lock).
  Status PutObjectLockConfiguration(const auth::RequestContext& ctx, std::string_view bucket,
                                    const ObjectLockConfiguration& configuration);
  Result<ObjectLockConfiguration> GetObjectLockConfiguration(const auth::RequestContext& ctx,
                                                             std::string_view bucket);
  // `retention.mode` "" removes it (GOVERNANCE with bypass only).
  Status PutObjectRetention(const auth::RequestContext& ctx, std::string_view bucket,
                            std::string_view key, const std::optional<std::string>& version_id,
                            const ObjectLock& retention, bool bypass_governance);
  Result<ObjectLock> GetObjectRetention(const auth::RequestContext& ctx, std::string_view bucket,
                                        std::string_view key,
                                        const std::optional<std::string>& version_id);
  Status PutObjectLegalHold(const auth::RequestContext& ctx, std::string_view bucket,
                            std::string_view key, const std::optional<std::string>& version_id,
                            const std::string& status);
  Result<std::string> GetObjectLegalHold(const auth::RequestContext& ctx, std::string_view bucket,
                                         std::string_view key,
                                         const std::optional<std::string>& version_id);

  // Bucket policies and Block Public Access (policy_ops.cc). GetBucketPolicyStatus: whether the
  // bucket's policy is public.
  Status PutBucketPolicy(const auth::RequestContext& ctx, std::string_view bucket,
                         std::string_view policy);
  Result<std::string> GetBucketPolicy(const auth::RequestContext& ctx, std::string_view bucket);
  Status DeleteBucketPolicy(const auth::RequestContext& ctx, std::string_view bucket);
  Result<bool> GetBucketPolicyStatus(const auth::RequestContext& ctx, std::string_view bucket);
  Status PutPublicAccessBlock(const auth::RequestContext& ctx, std::string_view bucket,
                              const PublicAccessBlock& block);
  Result<PublicAccessBlock> GetPublicAccessBlock(const auth::RequestContext& ctx,
                                                 std::string_view bucket);
  Status DeletePublicAccessBlock(const auth::RequestContext& ctx, std::string_view bucket);
  // `block` none deletes the account's settings.
  Status PutAccountPublicAccessBlock(const auth::RequestContext& ctx, std::string_view account,
                                     const std::optional<PublicAccessBlock>& block);
  Result<PublicAccessBlock> GetAccountPublicAccessBlock(const auth::RequestContext& ctx,
                                                        std::string_view account);

  // CORS configuration (cors_ops.cc). Put replaces the rules (already validated by the codec);
  // Get errors kNoSuchCorsConfiguration when there are none; Delete succeeds either way.
  // Errors also: kNoSuchBucket, kAccessDenied.
  Status PutBucketCors(const auth::RequestContext& ctx, std::string_view bucket,
                       std::vector<CorsRule> rules);
  Result<std::vector<CorsRule>> GetBucketCors(const auth::RequestContext& ctx,
                                              std::string_view bucket);
  Status DeleteBucketCors(const auth::RequestContext& ctx, std::string_view bucket);
  // The bucket's CORS rules for a preflight or for decorating a response, without authorisation:
  // CORS answers anyone, as S3 does. From the bucket cache. Errors: kNoSuchBucket.
  Result<std::vector<CorsRule>> CorsRulesOf(std::string_view bucket);

  // Objects.
  Result<PutObjectOutput> PutObject(const auth::RequestContext& ctx, const PutObjectInput& input,
                                    auth::PayloadReader& body);
  Result<GetObjectOutput> GetObject(const auth::RequestContext& ctx, const GetObjectInput& input);
  // Without a version: removes the object (unversioned bucket) or adds a delete marker. With one:
  // removes that version for good (its blobs go to the garbage collector).
  Result<DeleteOutput> DeleteObject(const auth::RequestContext& ctx, std::string_view bucket,
                                    std::string_view key, const DeleteOptions& options = {});
  // `bypass`: x-amz-bypass-governance-retention, as DeleteOptions has it, for every entry.
  Result<std::vector<DeleteObjectsEntry>> DeleteObjects(const auth::RequestContext& ctx,
                                                        std::string_view bucket,
                                                        const std::vector<ObjectToDelete>& objects,
                                                        const DeleteOptions& bypass = {});
  Result<CopyObjectOutput> CopyObject(const auth::RequestContext& ctx,
                                      const CopyObjectInput& input);
  // `version_id`: a version other than the current one ("null" for the null version).
  // Each answers with the version's tags and its x-amz-version-id.
  struct TaggingOutput {
    KeyValues tags;
    std::optional<std::string> version_id;
  };
  Result<TaggingOutput> PutObjectTagging(const auth::RequestContext& ctx, std::string_view bucket,
                          std::string_view key, const KeyValues& tags,
                          const std::optional<std::string>& version_id = std::nullopt);
  Result<TaggingOutput> GetObjectTagging(const auth::RequestContext& ctx, std::string_view bucket,
                                     std::string_view key,
                                     const std::optional<std::string>& version_id = std::nullopt);
  Result<TaggingOutput> DeleteObjectTagging(const auth::RequestContext& ctx, std::string_view bucket,
                             std::string_view key,
                             const std::optional<std::string>& version_id = std::nullopt);
  // `customer`: when given, an SSE-C object's key is checked as HEAD checks it.
  Result<ObjectRecord> GetObjectRecord(const auth::RequestContext& ctx, std::string_view bucket,
                                       std::string_view key,
                                       const std::optional<CustomerKey>* customer = nullptr,
                                       std::string_view action = "s3:GetObject",
                                       const std::optional<std::string>& version_id = std::nullopt);
  // The x-amz-version-id a response about `o` carries: none in a never-versioned bucket.
  Result<std::optional<std::string>> VersionHeaderOf(const ObjectRecord& o);

  // Listing.
  Result<ListObjectsOutput> ListObjects(const auth::RequestContext& ctx,
                                        const ListObjectsInput& input);

  // Multipart.
  Result<UploadRecord> CreateMultipartUpload(const auth::RequestContext& ctx,
                                             const CreateUploadInput& input);
  Result<PartOutput> UploadPart(const auth::RequestContext& ctx, const UploadPartInput& input,
                                auth::PayloadReader& body);
  Result<PartOutput> UploadPartCopy(const auth::RequestContext& ctx, const UploadPartInput& input,
                                    const CopySource& source);
  // A Complete retried after it succeeded answers with the first result (for a day), without
  // evaluating `conditions` again, as S3 does for SDK retries.
  Result<ObjectRecord> CompleteMultipartUpload(const auth::RequestContext& ctx,
                                               std::string_view bucket, std::string_view key,
                                               std::string_view upload_id,
                                               const std::vector<CompletedPart>& parts,
                                               const CompleteUploadOptions& options = {});
  Status AbortMultipartUpload(const auth::RequestContext& ctx, std::string_view bucket,
                              std::string_view key, std::string_view upload_id);
  Result<ListPartsOutput> ListParts(const auth::RequestContext& ctx, std::string_view bucket,
                                    std::string_view key, std::string_view upload_id,
                                    int part_number_marker, int max_parts);
  Result<ListUploadsOutput> ListMultipartUploads(const auth::RequestContext& ctx,
                                                 const ListUploadsInput& input);

  // Admission of a request with a body, before any of it is read: the bucket exists, an anonymous
  // caller faces a bucket policy that could allow it, and `preauthorize` (when given) is allowed
  // as the operation itself will check it (`object` also requires the object to exist).
  // Errors: kNoSuchBucket, kNoSuchKey, kAccessDenied.
  Status AdmitBody(const auth::RequestContext& ctx, std::string_view bucket,
                   const S3Request* preauthorize, bool object);
  // Whether reads of `bucket` are cheap enough for an I/O thread: it has no bucket policy to
  // evaluate (or does not exist). Answers from the bucket cache.
  bool ReadsAreCheap(std::string_view bucket);
  // An account-level action (s3:CreateBucket) as the operation authorises it.
  Status AuthorizeAccountAction(const auth::RequestContext& ctx, std::string_view action,
                                std::string_view resource) {
    return access_.AuthorizeAccount(ctx, action, resource);
  }

  // Object ownership and ACLs (acl_ops.cc, docs/s3-acls.md). ACL operations on a
  // BucketOwnerEnforced bucket accept only what restates the owner's full control
  // (kAccessControlListNotSupported otherwise); a public ACL under BlockPublicAcls is
  // kAccessDenied.
  struct AclView {
    std::string owner;  // the bucket's or version's owning account
    AccessControlList acl;
  };
  Result<AclView> GetBucketAcl(const auth::RequestContext& ctx, std::string_view bucket);
  Status PutBucketAcl(const auth::RequestContext& ctx, std::string_view bucket,
                      const AclRequest& request);
  Result<AclView> GetObjectAcl(const auth::RequestContext& ctx, std::string_view bucket,
                               std::string_view key, const std::optional<std::string>& version_id);
  // Returns the version's x-amz-version-id (versioned buckets).
  Result<std::optional<std::string>> PutObjectAcl(const auth::RequestContext& ctx,
                                                  std::string_view bucket, std::string_view key,
                                                  const std::optional<std::string>& version_id,
                                                  const AclRequest& request);
  // Errors: kInvalidBucketAclWithObjectOwnership (BucketOwnerEnforced while the bucket ACL grants
  // to others); Get: kOwnershipControlsNotFound once deleted.
  Status PutOwnershipControls(const auth::RequestContext& ctx, std::string_view bucket,
                              std::string_view ownership);
  Result<std::string> GetOwnershipControls(const auth::RequestContext& ctx,
                                           std::string_view bucket);
  Status DeleteOwnershipControls(const auth::RequestContext& ctx, std::string_view bucket);

  // Where lifecycle actions are recorded (AwsServiceEvent data events), before each commits.
  void SetAuditSink(audit::AuditSink* sink) { audit_ = sink; }

  // Crash recovery (before serving): publish staged blobs that metadata names, delete the rest.
  Status Recover();
  // Deletes garbage blobs whose grace time has passed (not those still being streamed), aborts
  // abandoned uploads and, every few hours, sweeps published blobs for orphans.
  Result<int> RunMaintenance();

 private:
  // The bucket, if it exists and the caller may perform `request` on it (S3Access).
  // Errors: kNoSuchBucket, kAccessDenied.
  Result<Stored<BucketRecord>> RequireBucket(const auth::RequestContext& ctx,
                                             std::string_view bucket, const S3Request& request);
  // s3:PutObject with the request's SSE, tag and ACL condition keys, s3:PutObjectTagging too when
  // the write sets tags, and s3:PutObjectAcl when it sets an ACL that counts (not "private", in a
  // bucket with ACLs). Errors: kNoSuchBucket, kAccessDenied.
  // `extra`: further condition keys of the request (conditional-write and copy headers).
  Result<Stored<BucketRecord>> AuthorizeObjectWrite(const auth::RequestContext& ctx,
                                                    std::string_view bucket, std::string_view key,
                                                    const SseHeaders& sse, const KeyValues& tags,
                                                    const iam::ContextKeys& extra = {},
                                                    const std::optional<AclRequest>& acl = {});
  // The object's bucket authorises `action` on it with its tags and `extra` condition keys, then
  // the object must exist. Errors: kNoSuchBucket, kAccessDenied, kNoSuchKey.
  // With `version_id`, that version (the action becomes its ...Version form, e.g.
  // s3:GetObjectVersion). A delete marker answers 404 NoSuchKey (current) or 405 (named), with
  // the marker's headers. Also kInvalidArgument (malformed id), kNoSuchVersion.
  Result<Stored<ObjectRecord>> RequireObject(const auth::RequestContext& ctx,
                                             std::string_view bucket, std::string_view key,
                                             std::string_view action,
                                             const iam::ContextKeys& extra = {},
                                             const std::optional<std::string>& version_id = {});
  // A version of a key, current or not (nullopt: no such version). `version_id` is valid.
  struct FoundVersion {
    Stored<ObjectRecord> stored;
    bool current = false;
  };
  Result<std::optional<FoundVersion>> FindVersion(std::string_view bucket, std::string_view key,
                                                  std::string_view version_id);
  // The key's noncurrent null version, if it has one.
  Result<std::optional<Stored<ObjectRecord>>> FindNoncurrentNull(std::string_view bucket,
                                                                 std::string_view key);
  // The mutations that make `record` the key's current version in place of `current` under the
  // bucket's versioning state, giving `record` its version id and stamp: the replaced version is
  // kept as noncurrent, or (unversioned, or a null version under Suspended) released.
  Result<std::vector<store::Mutation>> ReplaceCurrent(const BucketRecord& bucket,
                                                      ObjectRecord& record,
                                                      const std::optional<Stored<ObjectRecord>>& current);
  // The lock a new version gets: the request's, else the bucket's default retention.
  // `has_integrity`: Content-MD5 or a checksum came with it (PutObject requires one).
  // Errors: kInvalidRequest, kAccessDenied (no s3:PutObjectRetention / s3:PutObjectLegalHold).
  Result<ObjectLock> LockForWrite(const auth::RequestContext& ctx, const BucketRecord& bucket,
                                  std::string_view key, const LockRequest& request,
                                  std::optional<bool> has_integrity);
  // The KMS key state of a locked version whose key is not Enabled (docs/s3-object-lock.md).
  std::optional<KmsGateway::KeyStatus> LockedKeyStatus(const auth::RequestContext& ctx,
                                                       const ObjectRecord& o);
  // Whether Object Lock lets `version` be removed for good. Errors: kAccessDenied.
  Status CheckLockAllowsDelete(const auth::RequestContext& ctx, std::string_view bucket,
                               const ObjectRecord& version, bool bypass_governance);
  // Reads a version as `action` permits, applies `change`, and stores it where it is kept
  // (current or noncurrent), retrying on races. Delete markers answer 405.
  Result<ObjectRecord> UpdateVersion(const auth::RequestContext& ctx, std::string_view bucket,
                       std::string_view key, const std::optional<std::string>& version_id,
                       std::string_view action, const iam::ContextKeys& extra,
                       const std::function<Status(ObjectRecord&)>& change);
  Result<DeleteOutput> DeleteVersion(const auth::RequestContext& ctx, std::string_view bucket,
                                     std::string_view key, const DeleteOptions& options);
  Result<DeleteOutput> AddDeleteMarker(const auth::RequestContext& ctx,
                                       const Stored<BucketRecord>& bucket, std::string_view key,
                                       const DeleteOptions& options);
  Result<std::string> VersionListStart(std::string_view bucket, const std::string& key_marker,
                                       const std::string& version_id_marker);
  Result<DeleteOutput> DeleteUnversioned(std::string_view bucket, std::string_view key,
                                         const DeleteOptions& options);
  // The mutation that makes a write's commit depend on `bucket` still being the incarnation the
  // write was authorised against, and not being deleted (`now`: the bucket as the guard saw it).
  // Errors: kNoSuchBucket.
  Result<store::Mutation> BucketGuard(std::string_view bucket, std::string_view incarnation,
                                      BucketRecord* now = nullptr);
  // Commits `record` in place of the current object (retrying on concurrent writers), registers
  // its blobs and releases the replaced object's blobs. Only into the bucket incarnation given.
  // `conditions` are checked against the current object in the same attempt; with
  // `key_revision_at_start` (a multipart upload's view of the key when it began), a conditional
  // write also fails 409 ConditionalRequestConflict if the key changed since.
  // `record_result`: a further mutation made from the record as committed (with its version id).
  Status SwapObject(ObjectRecord& record, std::string_view bucket_incarnation,
                    const WriteConditions& conditions, std::vector<store::Mutation> extra,
                    std::optional<int64_t> key_revision_at_start = std::nullopt,
                    const std::function<store::Mutation(const ObjectRecord&)>& record_result = {});
  // The source of a copy: a named delete marker is InvalidRequest (as on S3).
  Result<Stored<ObjectRecord>> RequireCopySource(const auth::RequestContext& ctx,
                                                 const CopySource& source);
  // Errors: kPreconditionFailed (If-None-Match: * and the key exists; If-Match and another ETag),
  // kNoSuchKey (If-Match and no object).
  static Status CheckWriteConditions(const WriteConditions& conditions,
                                     const std::optional<Stored<ObjectRecord>>& current,
                                     std::string_view key);
  Result<Stored<UploadRecord>> RequireUpload(const auth::RequestContext& ctx,
                                             std::string_view bucket, std::string_view key,
                                             std::string_view upload_id, std::string_view action,
                                             const iam::ContextKeys& extra = {});
  static Status CheckCompleteChecksumMode(const UploadRecord& u,
                                          const std::optional<std::string>& requested_type);
  static Result<std::optional<ChecksumValue>> FullObjectChecksum(
      const UploadRecord& u, const std::vector<const PartRecord*>& chosen,
      const CompleteUploadOptions& options);
  // `default_checksum`: written.checksum is the CRC64NVME computed for an upload without an
  // algorithm, kept for the object's default checksum.
  Result<PartRecord> StorePart(const auth::RequestContext& ctx, const UploadRecord& upload,
                               int part_number, const WrittenBlob& written,
                               const SegmentKeys& keys, bool default_checksum);
  // A writer for one new blob, encrypted with `keys` (fills `segment_keys`).
  // `inline_into`: keep the stored bytes in this string (a small object's record) instead of a blob.
  BlobWriterFactory EncryptingWriter(const WriteKeys& keys, SegmentKeys& segment_keys,
                                     std::string* inline_into = nullptr);
  // Where a single write of `expected_size` bytes keeps them: in its record (small objects,
  // returns the string to fill) or in a blob (nullptr).
  std::string* InlineTarget(std::optional<uint64_t> expected_size, std::string& storage) const;
  // How to open the segments of an object whose keys are `keys`.
  SegmentOpener DecryptingOpener(std::shared_ptr<const ReadKeys> keys);
  void PublishQuietly(const std::string& blob_id);
  // Aborts an upload for whoever is entitled to (the caller was authorised, or the server itself
  // cleans up). Errors: kNoSuchUpload.
  Status AbortUpload(std::string_view bucket, std::string_view key, std::string_view upload_id);
  // Who owns a new object and its ACL, from the bucket's object ownership and the request's ACL.
  struct NewObjectOwnership {
    std::string owner_account;  // "" = the bucket owner
    std::optional<AccessControlList> acl;
  };
  Result<NewObjectOwnership> OwnershipOfNewObject(const auth::RequestContext& ctx,
                                                  const BucketRecord& bucket,
                                                  const std::optional<AclRequest>& request);
  // The ACL a request sets on a resource of `bucket` owned by `owner`, refused when ACLs are
  // disabled (unless it only restates `owner`'s full control) or public under BlockPublicAcls.
  Result<std::optional<AccessControlList>> AclForWrite(const BucketRecord& bucket,
                                                       const AclRequest& request,
                                                       const AclParties& parties);
  // CreateBucket's x-amz-object-ownership and ACL headers, applied to the new record.
  // Errors: kInvalidBucketAclWithObjectOwnership, those of AclForWrite.
  Status InitialBucketAcl(const CreateBucketInput& input, BucketRecord& bucket);
  // Block Public Access as in force for `bucket` (its settings OR its account's).
  Result<PublicAccessBlock> PublicAccessBlockOf(const BucketRecord& bucket);
  // Reads the bucket as `action` permits, applies `change`, commits (retrying on races).
  // Applies `change` to the bucket as stored, without authorising (a step of an operation that
  // was): a lost race reads it again; SlowDown after 16. Returns the bucket as committed.
  Result<Stored<BucketRecord>> ChangeBucket(std::string_view bucket,
                                            const std::function<Status(BucketRecord&)>& change);
  // A race lost to another node's write of the bucket reads it again; SlowDown after 16.
  Result<BucketRecord> UpdateBucketAs(const auth::RequestContext& ctx, std::string_view bucket,
                                      const S3Request& request,
                                      const std::function<Status(BucketRecord&)>& change);
  Result<BucketRecord> UpdateBucketAs(const auth::RequestContext& ctx, std::string_view bucket,
                                      std::string_view action,
                                      const std::function<Status(BucketRecord&)>& change);
  Status AuthorizeAccountSettings(const auth::RequestContext& ctx, std::string_view account,
                                  std::string_view action);
  Result<TaggingOutput> ReplaceObjectTags(const auth::RequestContext& ctx, std::string_view bucket,
                           std::string_view key, const KeyValues& tags,
                           std::string_view tagging_action,
                           const std::optional<std::string>& version_id);
  int64_t GarbageDue() const;
  // Applies the lifecycle rules of every bucket that has some (at most hourly, on the lifecycle
  // clock): expiring current versions, removing expired delete markers and noncurrent versions
  // (never locked ones), aborting stale uploads. Returns how many actions it took.
  Result<int> RunLifecycle(int64_t now_ms);
  Result<int> ExpireCurrentVersions(const BucketRecord& bucket, int64_t now_ms);
  Result<int> ExpireNoncurrentVersions(const BucketRecord& bucket, int64_t now_ms);
  Result<int> AbortStaleUploads(const BucketRecord& bucket, int64_t now_ms);
  // The AwsServiceEvent of one lifecycle action (`lifecycle_action`: Expiration,
  // ExpiredObjectDeleteMarker, NoncurrentVersionExpiration, AbortIncompleteMultipartUpload).
  // Errors: the audit trail's (the action must then not happen).
  Status RecordLifecycleAction(const BucketRecord& bucket, std::string_view event_name,
                               std::string_view lifecycle_action, std::string_view key,
                               std::string_view version_or_upload);
  Result<int> CollectGarbage(int64_t now_ms);
  Result<int> SweepOrphans();

  S3Repository& repository_;
  store::BlobStore& blobs_;
  SseEngine& sse_;
  const S3Access& access_;
  const Clock& clock_;
  const S3Options options_;
  BlobLeases leases_;
  KeyWriteLocks key_writes_;  // object writers of one key take turns (SwapObject)
  std::atomic<int64_t> next_sweep_ms_{0};  // lifecycle time of the next orphan sweep
  std::atomic<int64_t> next_lifecycle_ms_{0};  // lifecycle time of the next rule evaluation
  audit::AuditSink* audit_ = nullptr;
};

}  // namespace hangar::s3
