// S3Service: object listings and the background work that keeps storage tidy.
//
// Listing walks the key index in UTF-8 binary order. With a delimiter, the first key under a
// common prefix yields the prefix and the walk jumps past everything under it in one seek, so a
// listing costs O(entries returned + prefixes), not O(keys in the bucket).

#include <spdlog/spdlog.h>

#include <algorithm>

#include "s3/s3_service.h"

namespace hangar::s3 {

Result<ListObjectsOutput> S3Service::ListObjects(const auth::RequestContext& ctx,
                                                 const ListObjectsInput& input) {
  S3Request request{"s3:ListBucket"};
  request.keys["s3:prefix"] = {input.prefix};
  if (!input.delimiter.empty()) request.keys["s3:delimiter"] = {input.delimiter};
  request.keys["s3:max-keys"] = {std::to_string(input.max_keys)};
  HANGAR_ASSIGN_OR_RETURN(auto bucket, RequireBucket(ctx, input.bucket, request));
  ListObjectsOutput out;
  out.bucket_owner = bucket.record.owner_account;
  const size_t max = static_cast<size_t>(std::clamp(input.max_keys, 0, 1000));
  if (max == 0) return out;  // nothing asked, nothing truncated
  std::string cursor = input.start_after;
  auto count = [&] { return out.objects.size() + out.common_prefixes.size(); };
  // With a delimiter, a batch may end after its first entry (a common prefix, then a seek), so
  // start small and grow while entries are plain keys.
  size_t batch_size = input.delimiter.empty() ? 1000 : 8;
  while (count() < max + 1) {
    // One more than still fits, to learn whether the listing is truncated.
    const size_t want = std::min(max + 1 - count(), batch_size);
    HANGAR_ASSIGN_OR_RETURN(auto batch, repository_.ListObjectDocuments(input.bucket, input.prefix,
                                                                       cursor, want));
    if (batch.empty()) break;
    bool jumped = false;
    for (auto& doc : batch) {
      if (count() == max) {
        out.truncated = true;
        break;
      }
      const std::string& key = doc.id;
      if (!input.delimiter.empty()) {
        size_t at = key.find(input.delimiter, input.prefix.size());
        if (at != std::string::npos) {
          std::string common = key.substr(0, at + input.delimiter.size());
          // A common prefix at or before start-after was already returned on an earlier page.
          if (common > input.start_after || input.start_after.empty()) {
            out.common_prefixes.push_back(common);
            out.next_marker = common;
          }
          // Keys are UTF-8, which never contains 0xff: this sorts after every key under `common`.
          cursor = common + "\xff";
          jumped = true;
          break;
        }
      }
      cursor = key;
      out.next_marker = key;
      HANGAR_ASSIGN_OR_RETURN(ObjectRecord o, DecodeObject(doc.body));
      out.objects.push_back(std::move(o));
    }
    if (out.truncated) break;
    if (!jumped && batch.size() < want) break;
    batch_size = jumped ? 8 : std::min<size_t>(batch_size * 4, 1000);
  }
  if (!out.truncated) out.next_marker.clear();
  return out;
}

}  // namespace hangar::s3
