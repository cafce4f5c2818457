#include "app/dev_clock.h"

#include <string>

namespace hangar::app {
namespace {
constexpr std::string_view kCollection = "hangar.settings";
constexpr std::string_view kId = "dev-clock-offset-ms";
constexpr std::chrono::milliseconds kMaxOffset = std::chrono::hours(24 * 365 * 150);

Result<std::chrono::milliseconds> OffsetOf(const std::optional<store::Document>& doc) {
  if (!doc) return std::chrono::milliseconds(0);
  try {
    return std::chrono::milliseconds(std::stoll(doc->body));
  } catch (...) {
    return InternalError("the stored dev clock offset is corrupt");
  }
}

}  // namespace

Result<std::chrono::milliseconds> LoadDevClockOffset(store::MetadataStore& store) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store.Get(kCollection, "", kId));
  return OffsetOf(doc);
}

Result<std::chrono::milliseconds> AdvanceDevClockOffset(store::MetadataStore& store,
                                                        std::chrono::milliseconds by) {
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto doc, store.Get(kCollection, "", kId));
    HANGAR_ASSIGN_OR_RETURN(std::chrono::milliseconds offset, OffsetOf(doc));
    offset += by;
    // TimePoint counts nanoseconds to the year 2262: stay far below.
    if (offset > kMaxOffset) {
      return Error(ErrorCode::kValidation, "the dev clock cannot move more than 150 years ahead");
    }
    store::Document next{std::string(kCollection), "", std::string(kId),
                         std::to_string(offset.count()), 0, 0};
    auto r = store.Commit({doc ? store::Mutation::Update(std::move(next), doc->revision)
                               : store::Mutation::Create(std::move(next))});
    if (r.ok()) return offset;
    if (r.status().code() != ErrorCode::kConflict) return r.status();
  }
}

}  // namespace hangar::app
