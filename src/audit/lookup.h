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

// The pieces LookupEvents is made of, for other places records are kept (ledger.h).
// Whether `record` (one CloudTrail record's JSON) is one `q` asks for: visible to its account, of
// the kinds asked for, matching the attribute and inside the time window.
bool RecordSelected(std::string_view record, const LookupQuery& q);
// The complete records of a chunk of newline-terminated records, in order.
std::vector<std::string_view> RecordLines(std::string_view text);
// A NextToken bound to `q`, to resume before line `line` of chunk `chunk`.
std::string LookupToken(const LookupQuery& q, std::string_view chunk, size_t line);
// The position in q.next_token (none for a first page). Errors: kCloudTrailInvalidNextToken when
// it is malformed, issued for other parameters, or names a chunk `valid_chunk` refuses.
Result<std::optional<std::pair<std::string, size_t>>> ParseLookupToken(
    const LookupQuery& q, const std::function<bool(std::string_view)>& valid_chunk);

// Every record of the trail, oldest first, in the time window: `hangar audit export`.
// `emit` returns false to stop.
Status ForEachRecord(const std::string& audit_dir, std::optional<TimePoint> start,
                     std::optional<TimePoint> end,
                     const std::function<bool(std::string_view record)>& emit);

}  // namespace hangar::audit
