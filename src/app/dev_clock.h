#pragma once
// The dev clock's offset (HANGAR_DEV_CLOCK=1) is kept in the metadata store, so that time moved
// forward for a test stays moved after a restart, and so that in cluster mode every node follows
// the clock moved through any one of them (the change epoch reloads it).

#include <chrono>

#include "common/result.h"
#include "store/metadata_store.h"

namespace hangar::app {

Result<std::chrono::milliseconds> LoadDevClockOffset(store::MetadataStore& store);
// Adds `by` to the stored offset (a read-modify-write that concurrent advances on other nodes do
// not undo) and returns the new offset.
Result<std::chrono::milliseconds> AdvanceDevClockOffset(store::MetadataStore& store,
                                                        std::chrono::milliseconds by);

}  // namespace hangar::app
