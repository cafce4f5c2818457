#pragma once
// SecurityHubApi: Security Hub's REST-JSON wire format for the findings (docs/reference/audit.md
// §6): GetFindings (POST /findings) with filters, sorting and paging, and BatchUpdateFindings
// (PATCH /findings/batchupdate) for workflow status and notes, so `aws securityhub get-findings`
// and `batch-update-findings` work unchanged.

#include <string>
#include <string_view>

#include "audit/cloudtrail_api.h"
#include "audit/finding.h"
#include "audit/findings_engine.h"
#include "auth/request_context.h"
#include "common/result.h"

namespace hangar::audit {

class SecurityHubApi {
 public:
  SecurityHubApi(FindingStore& store, FindingsEngine& engine, IdentityAuthorizer authorize)
      : store_(store), engine_(engine), authorize_(std::move(authorize)) {}

  // The operation's name for a method and path (GetFindings, ...); empty when there is none.
  static std::string OperationName(std::string_view method, std::string_view path);
  // Returns the JSON response. Errors: kSecurityHubInvalidInput, kAccessDenied,
  // kUnknownOperation.
  Result<std::string> Call(const auth::RequestContext& ctx, std::string_view method,
                           std::string_view path, std::string_view body) const;

 private:
  Result<std::string> GetFindings(const auth::RequestContext& ctx, std::string_view body) const;
  Result<std::string> BatchUpdateFindings(const auth::RequestContext& ctx,
                                          std::string_view body) const;

  FindingStore& store_;
  FindingsEngine& engine_;
  const IdentityAuthorizer authorize_;
};

}  // namespace hangar::audit
