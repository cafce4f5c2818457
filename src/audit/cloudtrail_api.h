#pragma once
// CloudTrailApi: CloudTrail's JSON 1.1 wire format (X-Amz-Target
// com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.<Operation>) over the trail's lookup.
// Offers LookupEvents (docs/reference/audit.md §4), so `aws cloudtrail lookup-events` works.

#include <functional>
#include <string>
#include <string_view>

#include "audit/lookup.h"
#include "auth/request_context.h"
#include "common/result.h"

namespace hangar::audit {

// X-Amz-Target of a CloudTrail call: botocore and the aws CLI name the operation after the long
// prefix, the AWS SDK for JavaScript v3 after the short one (its serviceTarget); AWS takes both.
inline constexpr std::string_view kCloudTrailTargetPrefix =
    "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.";
inline constexpr std::string_view kCloudTrailShortTargetPrefix = "CloudTrail_20131101.";

struct CloudTrailOptions {
  // Reads the trail: the data directory's log files (LookupEvents) or the cluster's ledger.
  std::function<Result<LookupPage>(const LookupQuery&)> lookup;
  // Whether LookupEvents returns data events too (AWS: never; Hangar: --audit-lookup-data-events).
  bool lookup_data_events = false;
};

// Decides whether the caller's identity policies allow `action` (e.g. "cloudtrail:LookupEvents")
// on "*". Errors: kAccessDenied with AWS's text.
using IdentityAuthorizer =
    std::function<Status(const auth::RequestContext& ctx, std::string_view action)>;

class CloudTrailApi {
 public:
  CloudTrailApi(CloudTrailOptions options, IdentityAuthorizer authorize)
      : options_(std::move(options)), authorize_(std::move(authorize)) {}

  // The operation named by the target header after kCloudTrailTargetPrefix; `body` is the JSON
  // request. Returns the JSON response.
  Result<std::string> Call(const auth::RequestContext& ctx, std::string_view operation,
                           std::string_view body) const;

  static bool IsReadOnly(std::string_view operation) {
    return operation.starts_with("Lookup") || operation.starts_with("Get") ||
           operation.starts_with("Describe") || operation.starts_with("List");
  }

 private:
  Result<std::string> LookupEvents(const auth::RequestContext& ctx, std::string_view body) const;

  const CloudTrailOptions options_;
  const IdentityAuthorizer authorize_;
};

}  // namespace hangar::audit
