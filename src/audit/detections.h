#pragma once
// GuardDuty-style detections over the audit records (docs/audit.md, "Findings"): each watches the
// stream of records and reports a finding with a severity and the eventIDs of the records that
// triggered it. Stateful ones (bursts, baselines) keep their state in a DetectionState: in memory
// (empty at each server start), or in the metadata store cluster nodes share.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "audit/detection_state.h"
#include "audit/event.h"
#include "audit/finding.h"

namespace hangar::audit {

struct DetectionOptions {
  // A burst of AccessDenied from one principal: at least this many within the window.
  int access_denied_count = 10;
  std::chrono::seconds access_denied_window{60};
  // Mass deletion by one principal: at least this many objects deleted within the window.
  int mass_delete_count = 100;
  std::chrono::seconds mass_delete_window{60};
};

// Detections that need the state a change left behind (the engine has it; the record does not):
// Block Public Access turned off, a bucket policy that lets anyone in.
Finding PublicAccessDetection(const AuditEvent& event, std::string_view type,
                              std::string_view severity, std::string_view title,
                              std::string resource_type, std::string resource_id,
                              std::string description);

class Detector {
 public:
  // `state`: where bursts and address baselines are counted (shared by cluster nodes); nullptr:
  // in memory, owned by the detector.
  explicit Detector(DetectionOptions options, DetectionState* state = nullptr);

  // The findings `event` triggers now. Its hits on a burst window wait for Settle, so that a
  // batch of events costs one update of each window it touched, wherever the windows live.
  std::vector<Finding> Add(const AuditEvent& event);
  // Counts the burst hits of the events added since the last call: the findings they fired.
  std::vector<Finding> Settle();
  // Add then Settle: the findings of one event (not thread-safe: one caller at a time).
  std::vector<Finding> Observe(const AuditEvent& event);

 private:
  enum class BurstKind { kDenied, kDeleted };
  struct PendingHit {
    BurstHit hit;
    AuditEvent event;  // the finding, should this hit fire, is about it
  };
  struct PendingWindow {
    BurstKind kind;
    std::string principal;
    std::vector<PendingHit> hits;
  };
  void Hit(BurstKind kind, const std::string& principal, const AuditEvent& event, int weight);
  Finding Fired(const PendingWindow& window, const PendingHit& hit,
                std::vector<std::string> event_ids) const;

  // Hits kept for the next Settle when their window could not be counted (the store failed).
  static constexpr size_t kMaxPendingHits = 10000;

  const DetectionOptions options_;
  std::unique_ptr<DetectionState> owned_state_;
  DetectionState& state_;
  std::map<std::string, PendingWindow> pending_;  // by window name
};

}  // namespace hangar::audit
