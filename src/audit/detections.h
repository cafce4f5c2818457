#pragma once
// GuardDuty-style detections over the audit records (docs/audit.md, "Findings"): each watches the
// stream of records and reports a finding with a severity and the eventIDs of the records that
// triggered it. Stateful ones (bursts, baselines) keep their state in memory: it starts empty at
// each server start.

#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

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
  explicit Detector(DetectionOptions options) : options_(options) {}

  // The findings `event` triggers (none, usually). Not thread-safe: one caller at a time.
  std::vector<Finding> Observe(const AuditEvent& event);

 private:
  struct Burst {
    std::deque<std::pair<TimePoint, int>> hits;
    int total = 0;
    std::vector<std::string> event_ids;
  };
  // Adds `weight` at `t`; true once the window holds at least `threshold` (then starts over).
  static bool Count(Burst& burst, TimePoint t, int weight, std::chrono::seconds window,
                    int threshold, const std::string& event_id);

  const DetectionOptions options_;
  std::map<std::string, Burst> denied_;   // by principal ARN
  std::map<std::string, Burst> deleted_;  // by principal ARN
  std::map<std::string, std::set<std::string>> decrypt_sources_;  // principal ARN -> IPs
};

}  // namespace hangar::audit
