#pragma once
// S3 tag sets (objects and buckets): validation and the x-amz-tagging header's URL-query form.

#include <string_view>

#include "common/result.h"
#include "s3/records.h"

namespace hangar::s3 {

inline constexpr size_t kMaxObjectTags = 10;
inline constexpr size_t kMaxBucketTags = 50;

// Keys 1–128 and values 0–256 characters, no aws: prefix, no duplicates, at most `max_tags`.
// Errors: kInvalidTag with AWS's texts.
Status ValidateTags(const KeyValues& tags, size_t max_tags);

// "k1=v1&k2=v2" (URL-encoded), as sent in x-amz-tagging. Errors: kInvalidArgument-like kValidation.
Result<KeyValues> ParseTaggingHeader(std::string_view header);

}  // namespace hangar::s3
