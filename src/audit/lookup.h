#pragma once
// Reading the trail back: CloudTrail's LookupEvents semantics (docs/reference/audit.md §4) over the
// log files of an audit directory, newest first, with an opaque, query-bound pagination token.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace hangar::audit {

struct LookupQuery {
  // At most one attribute, as AWS allows: EventId, EventName, ReadOnly, Username, ResourceType,
  // ResourceName, EventSource, AccessKeyId.
  std::optional<std::pair<std::string, std::string>> attribute;
  std::optional<TimePoint> start;
  std::optional<TimePoint> end;
  // Events the caller's account may see: those it made or whose resources it owns.
  std::string account_id;
  // AWS shows management events only; data events (S3 object reads and writes) are in the trail
  // and come back only when asked for (`hangar audit export`, --data-events).
  bool include_data_events = false;
  int max_results = 50;
  std::string next_token;
};

struct LookupPage {
  std::vector<std::string> records;  // CloudTrail records (JSON text), newest first
  std::string next_token;            // empty on the last page
};

// Errors: kCloudTrailInvalidNextToken when the token is malformed or was issued for other
// parameters; kInternal when the trail cannot be read.
Result<LookupPage> LookupEvents(const std::string& audit_dir, const LookupQuery& query);

// Every record of the trail, oldest first, in the time window: `hangar audit export`.
// `emit` returns false to stop.
Status ForEachRecord(const std::string& audit_dir, std::optional<TimePoint> start,
                     std::optional<TimePoint> end,
                     const std::function<bool(std::string_view record)>& emit);

}  // namespace hangar::audit
