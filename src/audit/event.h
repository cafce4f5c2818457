#pragma once
// AuditEvent: one CloudTrail record (docs/reference/audit.md §1) — who called what, from where,
// with which outcome — and its JSON form, eventVersion 1.11. Builders take only what may be
// recorded: callers strip secrets (plaintexts, data keys, ciphertext blobs, SSE-C keys, secret
// access keys, session tokens, passwords) before a value reaches an event; see redaction.h.

#include <optional>
#include <string>
#include <vector>

#include "auth/principal.h"
#include "auth/request_context.h"
#include "common/clock.h"

namespace hangar::audit {

struct AuditEvent {
  TimePoint event_time;
  std::string event_id;  // UUID
  std::string event_type = "AwsApiCall";  // or "AwsServiceEvent"
  std::string event_source;               // kms.amazonaws.com, s3.amazonaws.com, ...
  std::string event_name;
  std::string region;
  // The caller. Service events have none: userIdentity is {accountId, invokedBy: "AWS Internal"}.
  std::optional<auth::Principal> principal;
  std::string account_id;     // the caller's account, or the owner for service events
  // For a request whose signature was not accepted: the access key it claimed.
  std::string claimed_access_key_id;
  std::string source_ip;      // the client, or "s3.amazonaws.com" / "AWS Internal"
  std::string user_agent;
  std::string invoked_by;     // "s3.amazonaws.com" when S3 called KMS on the caller's behalf
  std::string error_code;     // empty on success
  std::string error_message;
  std::string request_parameters;     // JSON object text; empty: null
  std::string response_elements;      // JSON object text; empty: null
  std::string additional_event_data;  // JSON object text; empty: omitted
  std::string request_id;
  bool read_only = false;
  bool management_event = true;  // false for S3 object-level (data) events
  std::vector<auth::AuditNotes::Resource> resources;
  std::string recipient_account_id;
};

// The record as CloudTrail writes it: one JSON object, no newline.
std::string ToCloudTrailJson(const AuditEvent& event);

// The userIdentity.type CloudTrail uses for a principal ("Root", "IAMUser", "AssumedRole", ...).
std::string_view IdentityType(const auth::Principal& principal);

}  // namespace hangar::audit
