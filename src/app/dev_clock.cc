#include "app/dev_clock.h"

#include <string>

namespace hangar::app {
namespace {
constexpr std::string_view kCollection = "hangar.settings";
constexpr std::string_view kId = "dev-clock-offset-ms";
}  // namespace

Result<std::chrono::milliseconds> LoadDevClockOffset(store::MetadataStore& store) {
  HANGAR_ASSIGN_OR_RETURN(auto doc, store.Get(kCollection, "", kId));
  if (!doc) return std::chrono::milliseconds(0);
  try {
    return std::chrono::milliseconds(std::stoll(doc->body));
  } catch (...) {
    return InternalError("the stored dev clock offset is corrupt");
  }
}

Status StoreDevClockOffset(store::MetadataStore& store, std::chrono::milliseconds offset) {
  auto r = store.Commit({store::Mutation::Upsert({std::string(kCollection), "", std::string(kId),
                                                  std::to_string(offset.count()), 0, 0})});
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace hangar::app
