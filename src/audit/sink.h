#pragma once
// AuditSink: where audit records go. The services and the router see only this; the trail on
// disk (trail.h) and, in tests, a recorder implement it.

#include <functional>

#include "audit/event.h"
#include "common/result.h"

namespace hangar::audit {

// What requests are refused with while records cannot be written (`cause`).
inline Status TrailUnavailable(const Status& cause) {
  return Error(ErrorCode::kAuditUnavailable, "The audit trail cannot be written (" +
                                                 cause.message() +
                                                 "); requests are refused until it can.");
}

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Queues `event`; `done` runs (on the sink's thread) once the record is durable, or with the
  // error that kept it from being written. A request is answered only after its `done` said Ok.
  virtual void Append(const AuditEvent& event, std::function<void(const Status&)> done) = 0;
  // Whether records can be written now: the last write succeeded. Errors: kServiceUnavailable
  // naming the cause.
  virtual Status Healthy() const = 0;

  // Append and wait: for background work (service events), which has no response to hold back.
  Status Record(const AuditEvent& event);
};

}  // namespace hangar::audit
