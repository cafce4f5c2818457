#pragma once
// Object version ids. AWS's are 32 characters from [A-Za-z0-9._] and self-validating: an id with a
// character changed is refused as malformed (InvalidArgument) before any lookup. Hangar's carry the
// version's stamp (its place in the key's history, microseconds), random bits, and a check value,
// so an id is parsed back to the stamp that addresses its record without an index.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hangar::s3 {

// The wire name of the null version: objects written while versioning was off or suspended.
inline constexpr std::string_view kNullVersionId = "null";

std::string NewVersionId(int64_t stamp_us);
// The stamp inside a well-formed id; nullopt for "null" and for malformed or forged ids.
std::optional<int64_t> VersionIdStamp(std::string_view version_id);

}  // namespace hangar::s3
