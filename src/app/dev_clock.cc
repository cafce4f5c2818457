#include "app/dev_clock.h"

#include <string>

namespace hangar::app {
namespace {
constexpr std::string_view kCollection = "hangar.settings";
constexpr std::string_view kId = "dev-clock-offset-ms";

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
    store::Document next{std::string(kCollection), "", std::string(kId),
                         std::to_string(offset.count()), 0, 0};
    auto r = store.Commit({doc ? store::Mutation::Update(std::move(next), doc->revision)
                               : store::Mutation::Create(std::move(next))});
    if (r.ok()) return offset;
    if (r.status().code() != ErrorCode::kConflict) return r.status();
  }
}

}  // namespace hangar::app
