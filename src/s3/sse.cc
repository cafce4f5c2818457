#include "s3/sse.h"

#include <nlohmann/json.hpp>

#include <openssl/crypto.h>

#include "common/strings.h"
#include "crypto/base64.h"
#include "crypto/digest.h"
#include "crypto/hmac.h"
#include "crypto/random.h"
#include "store/encrypted_blob.h"

namespace hangar::s3 {
namespace {

constexpr std::string_view kSseS3 = "AES256";
constexpr std::string_view kSseKms = "aws:kms";
constexpr std::string_view kDsseKms = "aws:kms:dsse";
constexpr std::string_view kSseC = "SSE-C";
constexpr std::string_view kSseS3WrapContext = "s3/sse-s3-data-key";

Status InvalidArgument(std::string message, std::string_view argument) {
  return Error(ErrorCode::kValidation, std::move(message))
      .WithField("ArgumentName", std::string(argument));
}

bool IsKms(std::string_view mode) { return mode == kSseKms || mode == kDsseKms; }

bool IsLoopback(std::string_view ip) {
  return ip.starts_with("127.") || ip == "::1" || ip.starts_with("::ffff:127.");
}

std::string RandomSaltB64() {
  std::array<uint8_t, 16> salt{};
  crypto::RandomBytes(salt);
  return crypto::Base64Encode(std::span<const uint8_t>(salt));
}

std::string Decoded(std::string_view b64) { return crypto::Base64Decode(b64).value_or(""); }

std::string CustomerKeyHmac(const SecretBytes& key, std::string_view salt_b64) {
  auto mac = crypto::HmacSha256(key.span(), "hangar-sse-c/" + std::string(salt_b64));
  return crypto::Base64Encode(std::span<const uint8_t>(mac));
}

auth::RequestContext ViaS3(const auth::RequestContext& ctx) {
  auth::RequestContext via = ctx;
  via.via_service = "s3." + ctx.region + ".amazonaws.com";
  return via;
}

// x-amz-server-side-encryption-context: base64 of a JSON object of strings.
Result<std::string> ParseUserContext(const std::optional<std::string>& header) {
  if (!header) return std::string();
  auto decoded = crypto::Base64Decode(*header);
  nlohmann::json j = decoded && JsonNestingWithin(*decoded, kMaxJsonDepth)
                         ? nlohmann::json::parse(*decoded, nullptr, false)
                         : nlohmann::json();
  bool valid = decoded && !j.is_discarded() && j.is_object();
  if (valid) {
    for (const auto& [k, v] : j.items()) valid = valid && v.is_string();
  }
  if (!valid) {
    return InvalidArgument(
        "The header 'x-amz-server-side-encryption-context' shall be Base64-encoded UTF-8 string "
        "holding JSON which represents a string-string map",
        "x-amz-server-side-encryption-context");
  }
  return j.dump();
}

}  // namespace

KmsContext S3KmsContext(std::string_view bucket, std::string_view key, bool bucket_key,
                        std::string_view user_context_json) {
  KmsContext context;
  if (!user_context_json.empty()) {
    auto j = nlohmann::json::parse(user_context_json, nullptr, false);
    if (j.is_object()) {
      for (const auto& [k, v] : j.items()) {
        if (v.is_string()) context[k] = v.get<std::string>();
      }
    }
  }
  std::string arn = "arn:aws:s3:::" + std::string(bucket);
  if (!bucket_key) arn += "/" + std::string(key);
  context["aws:s3:arn"] = arn;
  return context;
}

Result<std::optional<CustomerKey>> ParseCustomerKey(const std::optional<std::string>& algorithm,
                                                    const std::optional<std::string>& key,
                                                    const std::optional<std::string>& md5,
                                                    bool for_read) {
  if (!algorithm && !key && !md5) return std::optional<CustomerKey>();
  if (!algorithm) {
    return InvalidArgument(
        "Requests specifying Server Side Encryption with Customer provided keys must provide a "
        "valid encryption algorithm.",
        "x-amz-server-side-encryption");
  }
  if (*algorithm != kSseS3) {
    return Error(ErrorCode::kInvalidEncryptionAlgorithm,
                 "The Encryption request you specified is not valid. Supported value: AES256.")
        .WithField("ArgumentName", "x-amz-server-side-encryption")
        .WithField("ArgumentValue", *algorithm);
  }
  if (!key) {
    return InvalidArgument(
        "Requests specifying Server Side Encryption with Customer provided keys must provide an "
        "appropriate secret key.",
        "x-amz-server-side-encryption");
  }
  if (!md5 && for_read) {
    // Reading without the key's MD5 is answered as a wrong key (recorded against AWS).
    return Error(ErrorCode::kAccessDenied,
                 "Requests specifying Server Side Encryption with Customer provided keys must "
                 "provide the correct secret key.");
  }
  auto raw = crypto::Base64Decode(*key);
  if (!raw || raw->size() != 32 || !md5) {
    return InvalidArgument("The secret key was invalid for the specified algorithm.",
                           "x-amz-server-side-encryption");
  }
  CustomerKey out{SecretBytes(AsBytes(*raw)), *md5};
  OPENSSL_cleanse(raw->data(), raw->size());
  std::string computed = crypto::Base64Encode(crypto::Md5(AsStringView(out.key.span())));
  if (!crypto::ConstantTimeEquals(computed, *md5)) {
    return InvalidArgument("The calculated MD5 hash of the key did not match the hash that was "
                           "provided.",
                           "x-amz-server-side-encryption");
  }
  return std::optional<CustomerKey>(std::move(out));
}

SseEngine::SseEngine(KmsGateway& kms, const crypto::RootKey& root_key, const Clock& clock,
                     SseOptions options)
    : kms_(kms), root_key_(root_key), clock_(clock), options_(options) {}

Status SseEngine::CheckTransport(const auth::RequestContext& ctx, std::string_view mode) const {
  if (ctx.secure_transport || (options_.allow_loopback_http && IsLoopback(ctx.source_ip))) {
    return Status::Ok();
  }
  if (mode == kSseC) {
    return Error(ErrorCode::kInvalidRequest,
                 "Requests specifying Server Side Encryption with Customer provided keys must be "
                 "made over a secure connection.");
  }
  return Error(ErrorCode::kInvalidRequest,
               "Requests specifying Server Side Encryption with AWS KMS managed keys must be "
               "made over a secure connection.");
}

Result<WriteKeys> SseEngine::PrepareWrite(const auth::RequestContext& ctx,
                                          const BucketRecord& bucket, std::string_view object_key,
                                          const SseHeaders& headers,
                                          const std::optional<CustomerKey>& customer) {
  if (customer) {
    if (headers.algorithm) {
      return InvalidArgument(
          "Server Side Encryption with Customer provided key is incompatible with the encryption "
          "method specified",
          "x-amz-server-side-encryption");
    }
    HANGAR_RETURN_IF_ERROR(CheckTransport(ctx, kSseC));
    WriteKeys out;
    out.encryption.mode = std::string(kSseC);
    out.encryption.customer_key_md5 = customer->md5;
    out.encryption.customer_key_salt = RandomSaltB64();
    out.encryption.customer_key_hmac = CustomerKeyHmac(customer->key, out.encryption.customer_key_salt);
    out.data_key = customer->key.Clone();
    return out;
  }

  // 1. Which mode: the request's header, else the bucket default.
  if (headers.algorithm && *headers.algorithm != kSseS3 && !IsKms(*headers.algorithm)) {
    return InvalidArgument("The encryption method specified is not supported",
                           "x-amz-server-side-encryption");
  }
  const bool from_request = headers.algorithm.has_value();
  if ((headers.kms_key_id || headers.context) && !(from_request && IsKms(*headers.algorithm))) {
    return InvalidArgument(
        "Server Side Encryption with AWS KMS managed key requires HTTP header "
        "x-amz-server-side-encryption : aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id");
  }
  const std::string mode = from_request ? *headers.algorithm : bucket.encryption.algorithm;

  // 2. SSE-S3: a random data key, kept wrapped under the root key.
  if (mode == kSseS3) {
    WriteKeys out;
    out.encryption.mode = mode;
    out.data_key = crypto::RandomSecret(32);
    HANGAR_ASSIGN_OR_RETURN(std::string sealed,
                            root_key_.Wrap(out.data_key.span(), kSseS3WrapContext));
    out.stored.wrapped_key = crypto::Base64Encode(sealed);
    return out;
  }

  // 3. KMS modes.
  HANGAR_RETURN_IF_ERROR(CheckTransport(ctx, mode));
  std::string key_id = from_request ? headers.kms_key_id.value_or("") : bucket.encryption.kms_key_id;
  bool bucket_key = bucket.encryption.bucket_key_enabled;
  if (headers.bucket_key) bucket_key = ToLower(*headers.bucket_key) == "true";
  if (mode == kDsseKms) bucket_key = false;  // DSSE never uses Bucket Keys (AWS ignores the flag)
  HANGAR_ASSIGN_OR_RETURN(std::string user_context, ParseUserContext(headers.context));
  if (!user_context.empty()) {
    // A caller may name aws:s3:arn itself, but only with the value S3 would use.
    auto given = nlohmann::json::parse(user_context);
    auto it = given.find("aws:s3:arn");
    if (it != given.end() &&
        it->get<std::string>() != S3KmsContext(bucket.name, object_key, bucket_key, "")["aws:s3:arn"]) {
      return InvalidArgument("The value of aws:s3:arn in the encryption context must be the ARN of "
                             "the object or, with a Bucket Key, of the bucket.",
                             "x-amz-server-side-encryption-context");
    }
  }
  return KmsWrite(ctx, bucket, object_key, mode, key_id, bucket_key, user_context);
}

Result<WriteKeys> SseEngine::KmsWrite(const auth::RequestContext& ctx, const BucketRecord& bucket,
                                      std::string_view object_key, const std::string& mode,
                                      const std::string& key_id_in, bool bucket_key,
                                      const std::string& user_context_json) {
  const auth::RequestContext via = ViaS3(ctx);
  std::string key_id = key_id_in;
  if (key_id.empty()) {
    HANGAR_ASSIGN_OR_RETURN(key_id, kms_.DefaultKeyArn(via));
  }
  WriteKeys out;
  out.encryption.mode = mode;
  out.encryption.bucket_key = bucket_key;
  out.encryption.context_json = user_context_json;
  const KmsContext context = S3KmsContext(bucket.name, object_key, bucket_key, user_context_json);

  if (bucket_key) {
    // One KMS data key per bucket and KMS key, reused for a bounded time and number of objects.
    // The caller and the key's state are checked every time, and the bucket's key id (perhaps an
    // alias) is resolved every time: the cache is keyed by the key it resolves to now, so a
    // retargeted alias takes effect with the next object (docs/hardening.md item 7).
    HANGAR_ASSIGN_OR_RETURN(std::string key_arn,
                            kms_.CheckKeyUsable(via, key_id, "GenerateDataKey", context));
    const std::string cache_key = bucket.name + "\n" + key_arn + "\n" + user_context_json;
    {
      std::lock_guard lock(mu_);
      auto it = bucket_keys_.find(cache_key);
      if (it != bucket_keys_.end() &&
          clock_.Now() - it->second.created < options_.bucket_key_lifetime &&
          it->second.uses < options_.bucket_key_max_uses) {
        ++it->second.uses;
        out.data_key = it->second.key->Clone();
        out.stored.kms_ciphertext = it->second.ciphertext;
        out.encryption.kms_key_arn = it->second.key_arn;
      }
    }
    if (!out.data_key.empty()) return out;
    // Asked by the name the bucket uses (policies may test kms:RequestAlias); cached under the key
    // that answered.
    HANGAR_ASSIGN_OR_RETURN(KmsGateway::DataKey dk, kms_.GenerateDataKey(via, key_id, context));
    CachedBucketKey cached{std::make_shared<const SecretBytes>(dk.plaintext.Clone()),
                           crypto::Base64Encode(dk.ciphertext), dk.key_arn, clock_.Now(), 1};
    out.data_key = std::move(dk.plaintext);
    out.stored.kms_ciphertext = cached.ciphertext;
    out.encryption.kms_key_arn = dk.key_arn;
    std::lock_guard lock(mu_);
    ForgetExpiredBucketKeysLocked();
    decrypted_bucket_keys_[cached.ciphertext] = {cached.key, cached.created};
    bucket_keys_[bucket.name + "\n" + dk.key_arn + "\n" + user_context_json] =
        std::move(cached);
    return out;
  }

  HANGAR_ASSIGN_OR_RETURN(KmsGateway::DataKey dk, kms_.GenerateDataKey(via, key_id, context));
  out.data_key = std::move(dk.plaintext);
  out.stored.kms_ciphertext = crypto::Base64Encode(dk.ciphertext);
  out.encryption.kms_key_arn = dk.key_arn;
  if (mode == kDsseKms) {
    // The second layer: an independent data key under the same KMS key.
    HANGAR_ASSIGN_OR_RETURN(KmsGateway::DataKey second,
                            kms_.GenerateDataKey(via, dk.key_arn, context));
    out.data_key2 = std::move(second.plaintext);
    out.stored.kms_ciphertext2 = crypto::Base64Encode(second.ciphertext);
  }
  return out;
}

void SseEngine::ForgetExpiredBucketKeysLocked() {
  // Plaintext bucket keys must not outlive their lifetime in memory (nor pile up across rotations).
  const TimePoint now = clock_.Now();
  std::erase_if(decrypted_bucket_keys_, [&](const auto& entry) {
    return now - entry.second.second >= options_.bucket_key_lifetime;
  });
  std::erase_if(bucket_keys_, [&](const auto& entry) {
    return now - entry.second.created >= options_.bucket_key_lifetime;
  });
}

Result<SecretBytes> SseEngine::DecryptDataKey(const auth::RequestContext& ctx,
                                              const ObjectEncryption& e, const KmsContext& context,
                                              std::string_view ciphertext_b64) {
  const auth::RequestContext via = ViaS3(ctx);
  if (e.bucket_key) {
    std::shared_ptr<const SecretBytes> cached;
    {
      std::lock_guard lock(mu_);
      auto it = decrypted_bucket_keys_.find(std::string(ciphertext_b64));
      if (it != decrypted_bucket_keys_.end() &&
          clock_.Now() - it->second.second < options_.bucket_key_lifetime) {
        cached = it->second.first;
      }
    }
    if (cached) {
      HANGAR_RETURN_IF_ERROR(kms_.CheckKeyUsable(via, e.kms_key_arn, "Decrypt", context).status());
      return cached->Clone();
    }
  }
  HANGAR_ASSIGN_OR_RETURN(SecretBytes key, kms_.Decrypt(via, Decoded(ciphertext_b64), context));
  if (e.bucket_key) {
    std::lock_guard lock(mu_);
    ForgetExpiredBucketKeysLocked();
    decrypted_bucket_keys_[std::string(ciphertext_b64)] = {
        std::make_shared<const SecretBytes>(key.Clone()), clock_.Now()};
  }
  return key;
}

Result<SecretBytes> SseEngine::CustomerDataKey(const ObjectEncryption& e,
                                               const std::optional<CustomerKey>& customer) const {
  if (!customer) {
    return Error(ErrorCode::kInvalidRequest,
                 "The object was stored using a form of Server Side Encryption. The correct "
                 "parameters must be provided to retrieve the object.");
  }
  if (!crypto::ConstantTimeEquals(CustomerKeyHmac(customer->key, e.customer_key_salt),
                                  e.customer_key_hmac)) {
    return Error(ErrorCode::kAccessDenied,
                 "Requests specifying Server Side Encryption with Customer provided keys must "
                 "provide the correct secret key.");
  }
  return customer->key.Clone();
}

Result<WriteKeys> SseEngine::ResumeUpload(const auth::RequestContext& ctx,
                                          const UploadRecord& upload,
                                          const std::optional<CustomerKey>& customer) {
  const ObjectEncryption& e = upload.encryption;
  WriteKeys out;
  out.encryption = e;
  out.stored = upload.upload_keys;
  if (e.mode == kSseC || customer) {
    if (e.mode != kSseC || !customer) {
      return Error(ErrorCode::kInvalidRequest,
                   "The multipart upload initiate requested encryption. Subsequent part requests "
                   "must include the appropriate encryption parameters.");
    }
    if (!crypto::ConstantTimeEquals(CustomerKeyHmac(customer->key, e.customer_key_salt),
                                    e.customer_key_hmac)) {
      return Error(ErrorCode::kInvalidRequest,
                   "The provided encryption parameters did not match the ones used originally.");
    }
    HANGAR_RETURN_IF_ERROR(CheckTransport(ctx, kSseC));
    out.data_key = customer->key.Clone();
    return out;
  }
  if (e.mode == kSseS3) {
    HANGAR_ASSIGN_OR_RETURN(out.data_key, root_key_.Unwrap(Decoded(upload.upload_keys.wrapped_key),
                                                           kSseS3WrapContext));
    return out;
  }
  HANGAR_RETURN_IF_ERROR(CheckTransport(ctx, e.mode));
  const KmsContext context = S3KmsContext(upload.bucket, upload.key, e.bucket_key, e.context_json);
  HANGAR_ASSIGN_OR_RETURN(out.data_key,
                          DecryptDataKey(ctx, e, context, upload.upload_keys.kms_ciphertext));
  if (e.mode == kDsseKms) {
    HANGAR_ASSIGN_OR_RETURN(out.data_key2,
                            DecryptDataKey(ctx, e, context, upload.upload_keys.kms_ciphertext2));
  }
  return out;
}

std::unique_ptr<store::BlobWriter> SseEngine::WrapWriter(const WriteKeys& write,
                                                         std::unique_ptr<store::BlobWriter> raw,
                                                         SegmentKeys& keys) {
  keys = write.stored;
  keys.salt = RandomSaltB64();
  std::string salt = Decoded(keys.salt);
  SecretBytes content = store::DeriveContentKey(write.data_key.span(), AsBytes(salt));
  if (write.encryption.mode == kDsseKms) {
    keys.salt2 = RandomSaltB64();
    std::string salt2 = Decoded(keys.salt2);
    SecretBytes content2 = store::DeriveContentKey(write.data_key2.span(), AsBytes(salt2));
    // Two independent layers: the outer sees plaintext, the inner the first layer's output.
    raw = store::MakeEncryptingWriter(std::move(raw), std::move(content2));
  }
  return store::MakeEncryptingWriter(std::move(raw), std::move(content));
}

Result<ReadKeys> SseEngine::PrepareRead(const auth::RequestContext& ctx, const ObjectRecord& object,
                                        const std::optional<CustomerKey>& customer) {
  const ObjectEncryption& e = object.encryption;
  ReadKeys out;
  out.mode = e.mode;
  if (e.mode == kSseC) {
    // The key crossed the network: refuse it over plain HTTP as the write would have been.
    if (customer) HANGAR_RETURN_IF_ERROR(CheckTransport(ctx, kSseC));
    HANGAR_ASSIGN_OR_RETURN(SecretBytes key, CustomerDataKey(e, customer));
    out.by_ciphertext.emplace("", std::move(key));
    return out;
  }
  if (customer) {
    return Error(ErrorCode::kInvalidRequest,
                 "The encryption parameters are not applicable to this object.");
  }
  const KmsContext context = S3KmsContext(object.bucket, object.key, e.bucket_key, e.context_json);
  if (IsKms(e.mode)) {
    HANGAR_RETURN_IF_ERROR(CheckTransport(ctx, e.mode));
    // An empty object has no data key to decrypt, but its key's state decides it all the same.
    if (object.segments.empty()) {
      HANGAR_RETURN_IF_ERROR(
          kms_.CheckKeyUsable(ViaS3(ctx), e.kms_key_arn, "Decrypt", context).status());
    }
  }
  for (const auto& seg : object.segments) {
    for (const std::string* stored : {&seg.keys.wrapped_key, &seg.keys.kms_ciphertext,
                                      &seg.keys.kms_ciphertext2}) {
      if (stored->empty() || out.by_ciphertext.count(*stored)) continue;
      if (e.mode == kSseS3) {
        HANGAR_ASSIGN_OR_RETURN(SecretBytes key,
                                root_key_.Unwrap(Decoded(*stored), kSseS3WrapContext));
        out.by_ciphertext.emplace(*stored, std::move(key));
      } else {
        HANGAR_ASSIGN_OR_RETURN(SecretBytes key, DecryptDataKey(ctx, e, context, *stored));
        out.by_ciphertext.emplace(*stored, std::move(key));
      }
    }
  }
  return out;
}

Result<std::unique_ptr<store::BlobReader>> SseEngine::WrapReader(
    const ReadKeys& keys, const Segment& segment, std::unique_ptr<store::BlobReader> raw) {
  auto data_key = [&](const std::string& stored) -> const SecretBytes* {
    auto it = keys.by_ciphertext.find(keys.mode == kSseC ? std::string() : stored);
    return it == keys.by_ciphertext.end() ? nullptr : &it->second;
  };
  const std::string& first =
      keys.mode == kSseS3 ? segment.keys.wrapped_key : segment.keys.kms_ciphertext;
  const SecretBytes* key = data_key(first);
  if (key == nullptr) return InternalError("no data key recovered for a segment");
  std::string salt = Decoded(segment.keys.salt);
  SecretBytes content = store::DeriveContentKey(key->span(), AsBytes(salt));
  if (keys.mode == kDsseKms) {
    const SecretBytes* key2 = data_key(segment.keys.kms_ciphertext2);
    if (key2 == nullptr) return InternalError("no second-layer data key for a segment");
    std::string salt2 = Decoded(segment.keys.salt2);
    SecretBytes content2 = store::DeriveContentKey(key2->span(), AsBytes(salt2));
    raw = store::MakeDecryptingReader(std::move(raw), std::move(content2),
                                      store::EncryptedSize(segment.size));
  }
  return store::MakeDecryptingReader(std::move(raw), std::move(content), segment.size);
}

std::string SseEngine::OpaqueEtag(std::string_view md5, const SegmentKeys& keys) {
  return "\"" + HexEncode(crypto::Md5(std::string(md5) + keys.salt)) + "\"";
}

}  // namespace hangar::s3
