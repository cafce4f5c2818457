#include "s3/tags.h"

#include <set>

#include "common/strings.h"

namespace hangar::s3 {
namespace {

// Tag limits count characters, not bytes.
size_t CodePoints(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

}  // namespace

Status ValidateTags(const KeyValues& tags, size_t max_tags) {
  if (tags.size() > max_tags) {
    return Error(ErrorCode::kInvalidTag, max_tags == kMaxObjectTags
                                             ? "Object tags cannot be greater than 10"
                                             : "Bucket tag count cannot be greater than 50");
  }
  std::set<std::string_view> seen;
  for (const auto& [key, value] : tags) {
    if (key.empty() || CodePoints(key) > 128) {
      return Error(ErrorCode::kInvalidTag, "The TagKey you have provided is invalid")
          .WithField("TagKey", key);
    }
    if (CodePoints(value) > 256) {
      return Error(ErrorCode::kInvalidTag, "The TagValue you have provided is invalid")
          .WithField("TagKey", key);
    }
    if (!IsValidUtf8(key) || !IsValidUtf8(value)) {
      return Error(ErrorCode::kInvalidTag, "The TagKey you have provided is invalid")
          .WithField("TagKey", key);
    }
    if (ToLower(key).starts_with("aws:")) {
      return Error(ErrorCode::kInvalidTag, "System tags cannot be added/updated by requester");
    }
    if (!seen.insert(key).second) {
      return Error(ErrorCode::kInvalidTag, "Cannot provide multiple Tags with the same key")
          .WithField("TagKey", key);
    }
  }
  return Status::Ok();
}

Result<KeyValues> ParseTaggingHeader(std::string_view header) {
  auto pairs = ParseQuery(header, /*plus_is_space=*/true);
  if (!pairs) {
    return Error(ErrorCode::kValidation, "The header 'x-amz-tagging' shall be encoded as UTF-8 "
                                         "then URLEncoded URL query parameters without tag name "
                                         "duplicates.");
  }
  KeyValues tags(pairs->begin(), pairs->end());
  HANGAR_RETURN_IF_ERROR(ValidateTags(tags, kMaxObjectTags));
  return tags;
}

}  // namespace hangar::s3
