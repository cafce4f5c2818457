#pragma once
// Findings: what Security Hub shows (ASFF, docs/reference/audit.md §6) — control results
// (security-control/KMS.3, ...) and GuardDuty-style detections — kept in the metadata store,
// one document per finding, updated in place (same Id, new UpdatedAt) as AWS updates them.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/result.h"
#include "store/metadata_store.h"

namespace hangar::audit {

struct Finding {
  std::string id;            // the finding's ARN-like id, stable per (generator, resource)
  std::string product;       // "securityhub" (controls) or "guardduty" (detections)
  std::string generator_id;  // security-control/KMS.3, hangar-detection/<Type>
  std::string account_id;
  std::string region;
  std::vector<std::string> types;
  std::string title;
  std::string description;
  std::string severity;           // INFORMATIONAL, LOW, MEDIUM, HIGH, CRITICAL
  std::string compliance_status;  // PASSED, FAILED (controls); empty for detections
  std::string control_id;         // KMS.3 (controls)
  std::string resource_type;      // AwsKmsKey, AwsS3Bucket, AwsAccount, AwsIamUser
  std::string resource_id;        // the resource's ARN
  std::string remediation;        // text
  std::string remediation_url;
  std::string record_state = "ACTIVE";  // ACTIVE, ARCHIVED
  std::string workflow_status = "NEW";  // NEW, NOTIFIED, RESOLVED, SUPPRESSED
  std::string note_text;
  std::string note_updated_by;
  std::string note_updated_at;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t first_observed_ms = 0;
  int64_t last_observed_ms = 0;
  int64_t count = 1;  // detections: how often it was seen
  // Detections: the eventIDs of the audit records that triggered it (most recent last, bounded).
  std::vector<std::string> event_ids;
};

// The finding as AwsSecurityFinding JSON (an object).
std::string ToAsff(const Finding& finding);

// Keeps findings in the metadata store: collection "securityhub.finding", partition the account.
class FindingStore {
 public:
  explicit FindingStore(store::MetadataStore& store) : store_(store) {}

  // Where findings live; no node caches them (cluster mode's change epoch ignores it).
  static constexpr std::string_view kCollection = "securityhub.finding";

  // Creates or updates a finding. An update keeps what people decided (workflow status, note)
  // and the creation and first-seen times; a control that passes again is RESOLVED and ARCHIVED
  // by the caller, as Security Hub does.
  Status Upsert(const Finding& finding);
  Result<std::optional<Finding>> Get(std::string_view account, std::string_view id);
  // Every finding of an account, by id.
  Result<std::vector<Finding>> List(std::string_view account);
  Status Put(const Finding& finding);

 private:
  store::MetadataStore& store_;
};

// A stable id for a finding about `resource` from `generator` (hex of a hash; no secrets).
std::string FindingId(std::string_view region, std::string_view account,
                      std::string_view generator, std::string_view resource);

}  // namespace hangar::audit
