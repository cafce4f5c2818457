#pragma once
// Server-side encryption for S3 objects (docs/reference/s3.md §8): deciding how an object is
// encrypted, getting its data keys (from KMS, the root key or the customer), and wrapping the blob
// writers and readers in the segmented AEAD of store/encrypted_blob.h. Design: docs/sse.md.
//
//   SSE-S3   data key random per object/upload, wrapped under the root key
//   SSE-KMS  data key from KMS GenerateDataKey per object/upload (context: the object ARN), or a
//            Bucket Key: one KMS data key per bucket and KMS key for a bounded time (context: the
//            bucket ARN), from which per-object keys are derived
//   DSSE-KMS two independent KMS data keys, two layers of encryption, never a Bucket Key
//   SSE-C    the customer's key, never stored (only a salted HMAC to recognise it)
// Every blob gets its own content key: HKDF(data key, fresh salt).
//
// Thread-safety: SseEngine is safe for concurrent use (its caches are guarded).

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "auth/request_context.h"
#include "common/clock.h"
#include "common/result.h"
#include "common/secret_bytes.h"
#include "crypto/root_key.h"
#include "s3/records.h"
#include "store/blob_store.h"

namespace hangar::s3 {

using KmsContext = std::map<std::string, std::string>;

// S3's narrow window onto KMS. The implementation (app) calls the KMS service itself with
// ctx.via_service set, so S3's use of a key is authorised as the caller and counted like any
// direct KMS call.
class KmsGateway {
 public:
  virtual ~KmsGateway() = default;
  struct DataKey {
    SecretBytes plaintext;
    std::string ciphertext;
    std::string key_arn;
  };
  virtual Result<DataKey> GenerateDataKey(const auth::RequestContext& ctx, std::string_view key_id,
                                          const KmsContext& context) = 0;
  virtual Result<SecretBytes> Decrypt(const auth::RequestContext& ctx, std::string_view ciphertext,
                                      const KmsContext& context) = 0;
  // The AWS managed key aws/s3 of the caller's account and region, created on first use.
  virtual Result<std::string> DefaultKeyArn(const auth::RequestContext& ctx) = 0;
  // May the caller perform kms:<action> with the key, and is the key enabled right now? Not a KMS
  // call: a cached Bucket Key is checked with this on every use, so disabling or scheduling the
  // deletion of a key takes effect at once. `context` is the encryption context the use is for, so
  // policy conditions and grant constraints on it apply as to a real call. `key_id` may be an
  // alias, resolved now; returns the key's ARN.
  virtual Result<std::string> CheckKeyUsable(const auth::RequestContext& ctx,
                                             std::string_view key_id, std::string_view action,
                                             const KmsContext& context) = 0;
  // The key's state as DescribeKey shows it to the caller: HEAD of a locked version says when its
  // key will make the data unreadable. Errors: those of DescribeKey (the caller may not see it).
  struct KeyStatus {
    std::string state;              // Enabled, Disabled, PendingDeletion, ...
    int64_t deletion_date_ms = 0;   // PendingDeletion
  };
  virtual Result<KeyStatus> DescribeKeyState(const auth::RequestContext& ctx,
                                             std::string_view key_arn) = 0;
};

// The SSE headers of a request, as sent.
struct SseHeaders {
  std::optional<std::string> algorithm;    // x-amz-server-side-encryption
  std::optional<std::string> kms_key_id;   // ...-aws-kms-key-id
  std::optional<std::string> context;      // ...-context (base64 JSON)
  std::optional<std::string> bucket_key;   // ...-bucket-key-enabled
  std::optional<std::string> customer_algorithm;
  std::optional<std::string> customer_key;  // base64
  std::optional<std::string> customer_key_md5;
};

struct CustomerKey {
  SecretBytes key;  // 32 bytes
  std::string md5;  // base64 of MD5(key), as sent
};

// Validates the SSE-C triple (all absent → nullopt). Errors (s3.md §8.6): kValidation
// (InvalidArgument) for a missing part, a key that is not 32 bytes or an MD5 that does not match;
// kInvalidEncryptionAlgorithm for an algorithm other than AES256. `for_read`: GET/HEAD answer a
// missing key MD5 with kAccessDenied, as a wrong key.
Result<std::optional<CustomerKey>> ParseCustomerKey(const std::optional<std::string>& algorithm,
                                                    const std::optional<std::string>& key,
                                                    const std::optional<std::string>& md5,
                                                    bool for_read = false);

// Keys for writing one object or upload, with the data key(s) in the clear (in memory only).
struct WriteKeys {
  ObjectEncryption encryption;
  SegmentKeys stored;  // what the record keeps of the data key(s): wrapped or KMS ciphertext
  SecretBytes data_key;
  SecretBytes data_key2;  // DSSE
};

// Keys for reading an object: its data key(s), recovered.
struct ReadKeys {
  std::string mode;
  // Data keys per stored form (a multipart object's parts share one; a simple object has one).
  std::map<std::string, SecretBytes> by_ciphertext;
};

struct SseOptions {
  std::chrono::seconds bucket_key_lifetime{300};
  uint64_t bucket_key_max_uses = 1'000'000;
  // Over plain HTTP, SSE-KMS and SSE-C are refused (as AWS does) unless the client is on this host.
  bool allow_loopback_http = true;
};

class SseEngine {
 public:
  SseEngine(KmsGateway& kms, const crypto::RootKey& root_key, const Clock& clock,
            SseOptions options);

  // How a new object is encrypted: the request's headers, else the bucket's default. Checks the
  // combination (s3.md §8.6) and obtains the data key(s) — the KMS calls of a PUT happen here.
  // `object_key` names the object for the KMS encryption context.
  // Errors: kValidation, kInvalidRequest, kAccessDenied, and KMS's errors (NotFound, Disabled,
  // KMSInvalidState) as S3 reports them.
  Result<WriteKeys> PrepareWrite(const auth::RequestContext& ctx, const BucketRecord& bucket,
                                 std::string_view object_key, const SseHeaders& headers,
                                 const std::optional<CustomerKey>& customer);

  // The data keys of an upload in progress, for one more part (SSE-KMS: a KMS Decrypt, as AWS
  // does for every part). Errors as above, plus the SSE-C mismatch errors.
  Result<WriteKeys> ResumeUpload(const auth::RequestContext& ctx, const UploadRecord& upload,
                                 const std::optional<CustomerKey>& customer);

  // Wraps a fresh blob writer: draws a salt, derives the content key(s), records them in `keys`.
  std::unique_ptr<store::BlobWriter> WrapWriter(const WriteKeys& write,
                                                std::unique_ptr<store::BlobWriter> raw,
                                                SegmentKeys& keys);

  // Recovers what is needed to read `object` (KMS Decrypt, root-key unwrap or the customer key).
  // Errors: SSE-C: kInvalidRequest without the key, kAccessDenied with the wrong one; KMS errors.
  Result<ReadKeys> PrepareRead(const auth::RequestContext& ctx, const ObjectRecord& object,
                               const std::optional<CustomerKey>& customer);
  // Wraps the raw reader of one of the object's segments.
  Result<std::unique_ptr<store::BlobReader>> WrapReader(const ReadKeys& keys,
                                                        const Segment& segment,
                                                        std::unique_ptr<store::BlobReader> raw);

  // The state of the KMS key an object is encrypted under, as the caller may see it; nullopt for
  // modes without a KMS key, or when the caller may not describe the key.
  std::optional<KmsGateway::KeyStatus> KmsKeyStatus(const auth::RequestContext& ctx,
                                                    const ObjectEncryption& e) {
    if (e.kms_key_arn.empty()) return std::nullopt;
    auto status = kms_.DescribeKeyState(ctx, e.kms_key_arn);
    if (!status.ok()) return std::nullopt;
    return std::move(status).value();
  }

  // The ETag of an object whose ETag must not be its plaintext MD5 (SSE-KMS, DSSE, SSE-C).
  static std::string OpaqueEtag(std::string_view md5, const SegmentKeys& keys);

 private:
  Status CheckTransport(const auth::RequestContext& ctx, std::string_view mode) const;
  Result<WriteKeys> KmsWrite(const auth::RequestContext& ctx, const BucketRecord& bucket,
                             std::string_view object_key, const std::string& mode,
                             const std::string& key_id, bool bucket_key,
                             const std::string& user_context_json);
  Result<SecretBytes> DecryptDataKey(const auth::RequestContext& ctx, const ObjectEncryption& e,
                                     const KmsContext& context, std::string_view ciphertext_b64);
  Result<SecretBytes> CustomerDataKey(const ObjectEncryption& e,
                                      const std::optional<CustomerKey>& customer) const;

  KmsGateway& kms_;
  const crypto::RootKey& root_key_;
  const Clock& clock_;
  const SseOptions options_;

  struct CachedBucketKey {
    std::shared_ptr<const SecretBytes> key;
    std::string ciphertext;  // base64
    std::string key_arn;
    TimePoint created;
    uint64_t uses = 0;
  };
  void ForgetExpiredBucketKeysLocked();  // mu_ held

  std::mutex mu_;
  // "<bucket>\n<kms key id as configured>" -> the current bucket key. Protected by mu_.
  std::unordered_map<std::string, CachedBucketKey> bucket_keys_;
  // Bucket-key ciphertext (base64) -> its plaintext and when it was decrypted. Protected by mu_.
  std::unordered_map<std::string, std::pair<std::shared_ptr<const SecretBytes>, TimePoint>>
      decrypted_bucket_keys_;
};

// Context S3 sends to KMS (s3.md §8.5): the object ARN, or the bucket ARN for a Bucket Key.
KmsContext S3KmsContext(std::string_view bucket, std::string_view key, bool bucket_key,
                        std::string_view user_context_json);

}  // namespace hangar::s3
