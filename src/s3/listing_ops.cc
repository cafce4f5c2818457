// S3Service: object listings and the background work that keeps storage tidy.
//
// Listing walks the key index in UTF-8 binary order. With a delimiter, the first key under a
// common prefix yields the prefix and the walk jumps past everything under it in one seek, so a
// listing costs O(entries returned + prefixes), not O(keys in the bucket).

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>

#include "s3/listed_record.h"
#include "s3/s3_service.h"
#include "s3/version_id.h"

namespace hangar::s3 {
namespace {

// One ordered run of documents (the current versions, or the noncurrent ones) read in batches
// that grow while the listing goes on, and can jump past a common prefix. A batch never holds
// more than the page can still take: which run a page draws on is unknown until it is read, and
// a record read for nothing costs about as much as one listed.
class DocumentRun {
 public:
  using Fetch =
      std::function<Result<std::vector<store::Document>>(const std::string& after, size_t n)>;
  DocumentRun(Fetch fetch, std::string after) : fetch_(std::move(fetch)), after_(std::move(after)) {}

  // The next document, or null at the end. `room`: how many more entries the page takes.
  Result<const store::Document*> Peek(size_t room) {
    if (pos_ == batch_.size() && !exhausted_) {
      const size_t n = std::min(batch_size_, room);
      HANGAR_ASSIGN_OR_RETURN(batch_, fetch_(after_, n));
      pos_ = 0;
      exhausted_ = batch_.size() < n;
      batch_size_ = std::min<size_t>(batch_size_ * 4, 1000);
    }
    return pos_ < batch_.size() ? &batch_[pos_] : nullptr;
  }
  void Pop() { after_ = batch_[pos_++].id; }
  void SkipTo(const std::string& after) {
    if (after <= after_) return;
    after_ = after;
    batch_.clear();
    pos_ = 0;
    exhausted_ = false;
  }

 private:
  Fetch fetch_;
  std::string after_;
  std::vector<store::Document> batch_;
  size_t pos_ = 0;
  size_t batch_size_ = 16;
  bool exhausted_ = false;
};

// A listing as authorisation sees it: the action and its s3:prefix, s3:delimiter and s3:max-keys
// condition keys.
S3Request ListingRequest(std::string action, const std::string& prefix,
                         const std::string& delimiter, int max_keys) {
  S3Request request{std::move(action)};
  request.keys["s3:prefix"] = {prefix};
  if (!delimiter.empty()) request.keys["s3:delimiter"] = {delimiter};
  request.keys["s3:max-keys"] = {std::to_string(max_keys)};
  return request;
}

}  // namespace

Result<ListObjectsOutput> S3Service::ListObjects(const auth::RequestContext& ctx,
                                                 const ListObjectsInput& input) {
  HANGAR_ASSIGN_OR_RETURN(auto bucket,
                          RequireBucket(ctx, input.bucket,
                                        ListingRequest("s3:ListBucket", input.prefix,
                                                       input.delimiter, input.max_keys)));
  ListObjectsOutput out;
  out.bucket_owner = bucket.record.owner_account;
  out.acls_enabled = bucket.record.acls_enabled();
  const bool versioned = bucket.record.versioned();
  const size_t max = static_cast<size_t>(std::clamp(input.max_keys, 0, 1000));
  if (max == 0) return out;  // nothing asked, nothing truncated
  std::string cursor = input.start_after;
  auto count = [&] { return out.objects.size() + out.common_prefixes.size(); };
  // With a delimiter, a batch may end after its first entry (a common prefix, then a seek), so
  // start small and grow while entries are plain keys.
  size_t batch_size = input.delimiter.empty() ? 1000 : 8;
  ListedRecordDecoder decoder;
  while (count() < max + 1) {
    // One more than still fits, to learn whether the listing is truncated.
    const size_t want = std::min(max + 1 - count(), batch_size);
    HANGAR_ASSIGN_OR_RETURN(auto batch, repository_.ListObjectDocuments(input.bucket, input.prefix,
                                                                       cursor, want));
    if (batch.empty()) break;
    bool jumped = false;
    for (auto& doc : batch) {
      const std::string& key = doc.id;
      cursor = key;
      ObjectRecord entry;
      if (versioned) {
        // Delete markers are never listed, nor a common prefix that holds only markers.
        HANGAR_RETURN_IF_ERROR(decoder.Decode(doc.body, entry));
        if (entry.delete_marker) continue;
      }
      if (!input.delimiter.empty()) {
        size_t at = key.find(input.delimiter, input.prefix.size());
        if (at != std::string::npos) {
          std::string common = key.substr(0, at + input.delimiter.size());
          // A common prefix at or before start-after was already returned on an earlier page.
          if (common > input.start_after || input.start_after.empty()) {
            if (count() == max) {
              out.truncated = true;
              break;
            }
            out.common_prefixes.push_back(common);
            out.next_marker = common;
          }
          // Keys are UTF-8, which never contains 0xff: this sorts after every key under `common`.
          cursor = common + "\xff";
          jumped = true;
          break;
        }
      }
      if (count() == max) {
        out.truncated = true;
        break;
      }
      out.next_marker = key;
      if (!versioned) HANGAR_RETURN_IF_ERROR(decoder.Decode(doc.body, entry));
      out.objects.push_back(std::move(entry));
    }
    if (out.truncated) break;
    if (!jumped && batch.size() < want) break;
    batch_size = jumped ? 8 : std::min<size_t>(batch_size * 4, 1000);
  }
  if (!out.truncated) out.next_marker.clear();
  return out;
}

// Where a version listing resumes, as a position in the merged order of document ids (a key's
// current version "K" sorts before its noncurrent versions "K\0<~stamp>").
Result<std::string> S3Service::VersionListStart(std::string_view bucket, const std::string& key_marker,
                                                const std::string& version_id_marker) {
  if (key_marker.empty()) return std::string();
  // After every version of the key: 0xff sorts after each "K\0<hex>" and before "K\x01".
  std::string after_key = key_marker + std::string("\0\xff", 2);
  if (version_id_marker.empty()) return after_key;
  if (version_id_marker != kNullVersionId && !VersionIdStamp(version_id_marker)) {
    return Error(ErrorCode::kValidation, "Invalid version id specified")
        .WithField("ArgumentName", "version-id-marker")
        .WithField("ArgumentValue", version_id_marker);
  }
  HANGAR_ASSIGN_OR_RETURN(auto found, FindVersion(bucket, key_marker, version_id_marker));
  if (!found) return after_key;
  if (found->current) return key_marker;
  return S3Repository::VersionDocId(key_marker, found->stored.record.stamp());
}

Result<ListVersionsOutput> S3Service::ListObjectVersions(const auth::RequestContext& ctx,
                                                         const ListVersionsInput& input) {
  if (!input.version_id_marker.empty() && input.key_marker.empty()) {
    return Error(ErrorCode::kValidation,
                 "A version-id marker cannot be specified without a key marker.")
        .WithField("ArgumentName", "version-id-marker")
        .WithField("ArgumentValue", input.version_id_marker);
  }
  HANGAR_ASSIGN_OR_RETURN(auto bucket,
                          RequireBucket(ctx, input.bucket,
                                        ListingRequest("s3:ListBucketVersions", input.prefix,
                                                       input.delimiter, input.max_keys)));
  ListVersionsOutput out;
  out.bucket_owner = bucket.record.owner_account;
  out.acls_enabled = bucket.record.acls_enabled();
  const size_t max = static_cast<size_t>(std::clamp(input.max_keys, 0, 1000));
  if (max == 0) return out;
  HANGAR_ASSIGN_OR_RETURN(std::string after,
                          VersionListStart(input.bucket, input.key_marker, input.version_id_marker));
  DocumentRun current(
      [&](const std::string& a, size_t n) {
        return repository_.ListObjectDocuments(input.bucket, input.prefix, a, n);
      },
      after);
  DocumentRun older(
      [&](const std::string& a, size_t n) {
        return repository_.ListVersionDocuments(input.bucket, input.prefix, a, n);
      },
      after);
  ListedRecordDecoder decoder;
  // Sized once: entries are decoded in place, and moving a thousand records as the vector grows
  // (and touching twice the memory) costs more than decoding them.
  out.versions.reserve(max);
  auto count = [&] { return out.versions.size() + out.common_prefixes.size(); };
  for (;;) {
    // One more than still fits, to learn whether the listing is truncated.
    const size_t room = max + 1 - count();
    HANGAR_ASSIGN_OR_RETURN(const store::Document* a, current.Peek(room));
    HANGAR_ASSIGN_OR_RETURN(const store::Document* b, older.Peek(room));
    if (a == nullptr && b == nullptr) break;
    const bool is_current = a != nullptr && (b == nullptr || a->id < b->id);
    const store::Document& doc = is_current ? *a : *b;
    const std::string key(is_current ? std::string_view(doc.id)
                                     : S3Repository::KeyOfVersionDocId(doc.id));
    size_t at = input.delimiter.empty() ? std::string::npos
                                        : key.find(input.delimiter, input.prefix.size());
    if (at != std::string::npos) {
      std::string common = key.substr(0, at + input.delimiter.size());
      // A common prefix at or before the key marker was returned on an earlier page.
      if (common > input.key_marker) {
        if (count() == max) {
          out.truncated = true;
          break;
        }
        out.common_prefixes.push_back(common);
        out.next_key_marker = common;
        out.next_version_id_marker.reset();
      }
      current.SkipTo(common + "\xff");
      older.SkipTo(common + "\xff");
      continue;
    }
    if (count() == max) {
      out.truncated = true;
      break;
    }
    // Decoded in place: an ObjectRecord is large, and a page holds a thousand.
    ListedVersion& listed = out.versions.emplace_back();
    listed.is_latest = is_current;
    HANGAR_RETURN_IF_ERROR(decoder.Decode(doc.body, listed.record));
    out.next_key_marker = key;
    out.next_version_id_marker = listed.record.wire_version_id();
    (is_current ? current : older).Pop();
  }
  if (!out.truncated) {
    out.next_key_marker.clear();
    out.next_version_id_marker.reset();
  }
  return out;
}

}  // namespace hangar::s3
