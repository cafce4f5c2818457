#pragma once
// StsApi: the STS query protocol (form-encoded Action=..., XML responses). For now
// GetCallerIdentity, which the aws CLI and many tools call first (../shared/reference/iam.md §5).

#include <string>
#include <string_view>

#include "auth/request_context.h"
#include "common/result.h"

namespace hangar::iam {

class StsApi {
 public:
  // Runs the action named in the form `body` (or query). Returns the XML response body.
  // Errors: kUnknownOperation for actions not offered, kMalformedQueryString for a bad form.
  Result<std::string> Call(const auth::RequestContext& ctx, std::string_view form);
};

// The query protocol's error document for `status` (shared by STS and IAM).
std::string QueryErrorXml(std::string_view xmlns, std::string_view code, std::string_view message,
                          std::string_view request_id, bool sender_fault);

}  // namespace hangar::iam
