#pragma once
// What the stateful detections have counted so far: bursts in a sliding window (AccessDenied,
// deletions) and the addresses each principal decrypted from. One server keeps it in memory.
// Cluster nodes keep it in the metadata store they share: behind a load balancer each node sees
// only part of a burst, and a principal's first address on one node may be old news on another
// (docs/cluster.md, "Findings").

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/metadata_store.h"

namespace hangar::audit {

struct BurstHit {
  TimePoint time;
  int weight = 1;  // DeleteObjects counts every object it deleted
  std::string event_id;
};

struct BurstRule {
  std::chrono::seconds window{60};
  int threshold = 10;
};

// The window reached its threshold at hits[hit]; `event_ids` are the records that made it (most
// recent last, at most kBurstEventIds).
struct BurstFired {
  size_t hit = 0;
  std::vector<std::string> event_ids;
};

inline constexpr size_t kBurstEventIds = 20;

class DetectionState {
 public:
  virtual ~DetectionState() = default;
  // Adds `hits` (oldest first) to the window `name`. Each time it holds `rule.threshold` or more
  // within `rule.window` of the newest hit, it fires and starts over empty.
  virtual Result<std::vector<BurstFired>> Count(const std::string& name,
                                                const std::vector<BurstHit>& hits,
                                                const BurstRule& rule) = 0;
  // Remembers that `principal` decrypted from `source`: true when it had decrypted from other
  // addresses but never from this one.
  virtual Result<bool> NewSource(const std::string& principal, const std::string& source) = 0;
};

std::unique_ptr<DetectionState> MakeMemoryDetectionState();

// Collections "audit.detect.window" and "audit.detect.source" (partition "", id the window's
// name or the principal's ARN), updated with conditional commits so that nodes counting at once
// neither lose a hit nor fire one burst twice.
std::unique_ptr<DetectionState> MakeSharedDetectionState(store::MetadataStore& store);

// Written by the findings worker of every node and cached by none (no change epoch).
std::vector<std::string> DetectionStateCollections();

}  // namespace hangar::audit
