#pragma once
// What S3 keeps in the metadata store: buckets, objects, multipart uploads and their parts, and the
// bookkeeping that ties blobs to the records that use them. Plain structs plus their storage
// encoding (JSON); no behaviour.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "s3/lifecycle.h"

namespace hangar::s3 {

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// A bucket's default encryption (PutBucketEncryption). Every bucket has one: SSE-S3 unless set.
struct BucketEncryption {
  std::string algorithm = "AES256";  // AES256, aws:kms, aws:kms:dsse
  std::string kms_key_id;            // as configured (id, ARN, alias, alias ARN); "" = aws/s3
  bool bucket_key_enabled = false;
  bool configured = false;  // set by PutBucketEncryption (not the implicit default): lets an
                            // object be copied onto itself to take it on
};

// Block Public Access (bucket or account level). New buckets get all four, as on AWS since 2023.
struct PublicAccessBlock {
  bool block_public_acls = true;
  bool ignore_public_acls = true;
  bool block_public_policy = true;
  bool restrict_public_buckets = true;
};

// One rule of a bucket's CORS configuration (PutBucketCors), kept parsed so that a request with an
// `Origin` header is matched without reading XML. Names and patterns are stored as sent.
struct CorsRule {
  std::string id;
  std::vector<std::string> allowed_methods;  // GET PUT POST DELETE HEAD
  std::vector<std::string> allowed_origins;  // each with at most one '*'
  std::vector<std::string> allowed_headers;  // each with at most one '*'
  std::vector<std::string> expose_headers;
  std::optional<int64_t> max_age_seconds;
};

// Object Lock: a version's retention (WORM) and legal hold.
struct ObjectLock {
  std::string mode;         // "", GOVERNANCE, COMPLIANCE
  int64_t until_ms = 0;     // retain-until date (with a mode)
  std::string legal_hold;   // "" (never set), ON, OFF
  bool operator==(const ObjectLock&) const = default;
};

// One access control list grant. ACLs count only in buckets whose object ownership is not
// BucketOwnerEnforced (docs/s3-acls.md).
struct AclGrant {
  std::string account;     // the grantee account; "" for a group
  std::string group;       // AllUsers, AuthenticatedUsers or LogDelivery; "" for an account
  std::string permission;  // READ, WRITE, READ_ACP, WRITE_ACP, FULL_CONTROL
  bool operator==(const AclGrant&) const = default;
};
using AccessControlList = std::vector<AclGrant>;

// A bucket's default retention (PutObjectLockConfiguration's Rule): none when mode is "".
struct DefaultRetention {
  std::string mode;
  int days = 0;   // exactly one of days and years is set with a mode
  int years = 0;
};

struct BucketRecord {
  std::string name;
  std::string owner_account;
  std::string region;
  int64_t created_ms = 0;
  KeyValues tags;
  bool has_tags = false;  // an empty tag set differs from none (NoSuchTagSet)
  BucketEncryption encryption;
  std::string policy;  // the bucket policy as sent; empty = none
  std::optional<PublicAccessBlock> public_access_block;  // none = not configured
  std::vector<CorsRule> cors_rules;  // in order, first match wins; empty = no CORS configuration
  // Random, new each time the name is created: object commits check it, so a write authorised
  // against one bucket can never land in another bucket of the same name ("" in old records).
  std::string incarnation;
  // DeleteBucket in progress: writes may no longer commit (cleared by recovery after a crash).
  bool deleting = false;
  // PutBucketVersioning: "" (never enabled), "Enabled" or "Suspended" (once enabled, a bucket
  // can never return to "").
  std::string versioning;
  bool versioned() const { return !versioning.empty(); }
  std::string mfa_delete;  // "" or "Disabled" (MFA Delete cannot be enabled: no MFA devices)
  bool object_lock_enabled = false;  // Object Lock (never turned off once on)
  DefaultRetention default_retention;  // applies to new versions that name no retention
  std::optional<LifecycleConfiguration> lifecycle;  // none: NoSuchLifecycleConfiguration
  // PutBucketOwnershipControls: "" (BucketOwnerEnforced, the default), BucketOwnerEnforced,
  // ObjectWriter, BucketOwnerPreferred, or "None" once deleted (ACLs count, as ObjectWriter).
  std::string object_ownership;
  // The bucket's ACL; none = private (the owner's full control).
  std::optional<AccessControlList> acl;
  bool acls_enabled() const {
    return !object_ownership.empty() && object_ownership != "BucketOwnerEnforced";
  }
};

std::string EncodePublicAccessBlock(const PublicAccessBlock& b);
Result<PublicAccessBlock> DecodePublicAccessBlock(std::string_view text);

// How an object (or upload) is encrypted at rest. Every object is: there is no plaintext mode.
struct ObjectEncryption {
  std::string mode = "AES256";  // AES256 (SSE-S3), aws:kms, aws:kms:dsse, SSE-C
  std::string kms_key_arn;      // KMS modes: the full key ARN
  bool bucket_key = false;      // aws:kms with an S3 Bucket Key
  std::string context_json;     // KMS modes: the caller's own context (JSON), replayed on reads
  std::string customer_key_md5;   // SSE-C: base64 MD5 of the customer key (returned in headers)
  std::string customer_key_hmac;  // SSE-C: HMAC-SHA256(salt, key), to recognise the key later
  std::string customer_key_salt;
};

// The keys of one blob. Each blob has its own content key: HKDF(data key, salt). The data key is
// kept only wrapped: under the root key (SSE-S3), as KMS ciphertext (SSE-KMS: per object, per
// upload or the bucket key; DSSE: two layers), or not at all (SSE-C: the customer's key).
struct SegmentKeys {
  std::string salt;            // base64
  std::string wrapped_key;     // SSE-S3: base64 of the root-key-wrapped data key
  std::string kms_ciphertext;  // KMS modes: base64 CiphertextBlob of the data key
  std::string salt2;           // DSSE: second layer
  std::string kms_ciphertext2;
};

struct ChecksumValue {
  std::string algorithm;  // CRC32, CRC32C, CRC64NVME, SHA1, SHA256
  std::string value;      // base64, as on the wire ("...-N" for composite)
  std::string type;       // FULL_OBJECT or COMPOSITE
};

// A contiguous run of the object's bytes stored as one blob: the whole object for a simple PUT,
// one part of a multipart upload. A small object's one segment may instead keep its stored
// (encrypted) bytes in the record itself: blob_id is then empty and inline_data holds them.
struct Segment {
  std::string blob_id;
  uint64_t size = 0;
  int part_number = 0;  // multipart objects: the part this segment came from
  std::string etag;     // multipart objects: the part's ETag (quoted)
  std::optional<ChecksumValue> checksum;  // the part's own checksum, if any
  SegmentKeys keys;
  std::string inline_data;  // the stored bytes (ciphertext and tags), when kept in the record

  bool in_blob() const { return !blob_id.empty(); }
};

// Content headers kept with an object and returned on GET/HEAD.
struct ContentHeaders {
  std::string content_type;
  std::string content_encoding;
  std::string content_disposition;
  std::string content_language;
  std::string cache_control;
  std::string expires;  // as sent
};

struct ObjectRecord {
  std::string bucket;
  std::string key;
  uint64_t size = 0;
  std::string etag;  // quoted
  int64_t last_modified_ms = 0;
  ContentHeaders headers;
  KeyValues user_metadata;  // names without the x-amz-meta- prefix, lower-case
  KeyValues tags;
  std::string storage_class = "STANDARD";
  std::optional<ChecksumValue> checksum;
  std::vector<Segment> segments;  // in order; empty for a zero-byte object
  int parts_count = 0;            // > 0 for objects made by CompleteMultipartUpload
  ObjectEncryption encryption;
  // Versioning (docs/s3-versioning.md). "" is the null version. The stamp (microseconds, growing
  // along the key's history) orders versions; 0 in records written before versioning existed.
  std::string version_id;
  int64_t version_stamp = 0;
  bool delete_marker = false;  // a marker has no data, headers or encryption
  ObjectLock lock;
  // ACL buckets: the account that owns this version when not the bucket owner ("" = the bucket
  // owner), and its ACL (none = private: its owner's full control).
  std::string owner_account;
  std::optional<AccessControlList> acl;
  int64_t stamp() const { return version_stamp != 0 ? version_stamp : last_modified_ms * 1000; }
  // The id on the wire: "null" for the null version.
  std::string wire_version_id() const { return version_id.empty() ? "null" : version_id; }
};

struct UploadRecord {
  std::string bucket;
  std::string key;
  std::string upload_id;
  int64_t initiated_ms = 0;
  std::string owner_account;
  ContentHeaders headers;
  KeyValues user_metadata;
  KeyValues tags;
  std::string storage_class = "STANDARD";
  std::string checksum_algorithm;  // requested at creation, "" if none
  std::string checksum_type;       // COMPOSITE or FULL_OBJECT
  ObjectEncryption encryption;     // fixed at creation
  SegmentKeys upload_keys;         // the data key(s) parts derive their content keys from
  std::string bucket_incarnation;  // the bucket it was created in; Complete commits only there
  // The key's object revision when the upload began (0: no object; -1: not recorded, uploads
  // from before conditional Complete): a conditional Complete fails 409 if it changed since.
  int64_t key_revision_at_start = -1;
  ObjectLock lock;  // given to the object at Complete
  std::string object_owner;               // given to the object at Complete (ACL buckets)
  std::optional<AccessControlList> acl;  // given to the object at Complete
};

struct PartRecord {
  int part_number = 0;
  uint64_t size = 0;
  std::string etag;  // quoted hex MD5 of the part
  std::string blob_id;
  int64_t last_modified_ms = 0;
  std::optional<ChecksumValue> checksum;
  SegmentKeys keys;
  // Uploads without a checksum algorithm: the part's CRC64NVME (base64), from which Complete
  // combines the object's default full-object checksum.
  std::string default_crc64nvme;
};

std::string EncodeBucket(const BucketRecord& b);
Result<BucketRecord> DecodeBucket(std::string_view text);
// A stored object record is its JSON, then, when a segment keeps its bytes inline, a NUL and those
// raw bytes: JSON never holds a raw NUL, so the split is unambiguous, and the bytes are neither
// base64-inflated nor scanned by a JSON parser (a listing reads the JSON part alone).
std::string EncodeObject(const ObjectRecord& o);
Result<ObjectRecord> DecodeObject(std::string_view stored);
std::string_view ObjectRecordJson(std::string_view stored);
std::string EncodeUpload(const UploadRecord& u);
Result<UploadRecord> DecodeUpload(std::string_view text);
std::string EncodePart(const PartRecord& p);
Result<PartRecord> DecodePart(std::string_view text);

}  // namespace hangar::s3
