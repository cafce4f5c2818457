#pragma once
// The dev clock's offset (HANGAR_DEV_CLOCK=1) is kept in the metadata store, so that time moved
// forward for a test stays moved after a restart.

#include <chrono>

#include "common/result.h"
#include "store/metadata_store.h"

namespace hangar::app {

Result<std::chrono::milliseconds> LoadDevClockOffset(store::MetadataStore& store);
Status StoreDevClockOffset(store::MetadataStore& store, std::chrono::milliseconds offset);

}  // namespace hangar::app
