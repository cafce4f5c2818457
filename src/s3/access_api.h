#pragma once
// The REST/XML face of S3's access controls: bucket policies (?policy, ?policyStatus), Block Public
// Access (?publicAccessBlock, and S3 Control's account-level /v20180820/configuration/
// publicAccessBlock), object ownership (?ownershipControls) and ACL writes, which with ACLs
// disabled (BucketOwnerEnforced, the only ownership Hangar offers) are answered as AWS does.

#include <string>

#include "auth/request_context.h"
#include "common/http_message.h"
#include "common/result.h"
#include "s3/s3_service.h"

namespace hangar::s3 {

// `body` is the verified request body (empty for GET and DELETE).
Result<HttpResponse> HandleAccessControl(S3Service& service, const auth::RequestContext& ctx,
                                         const HttpRequest& request, const std::string& bucket,
                                         const std::string& key, const std::string& body);

// Canned ACL headers are accepted only where they change nothing (ACLs disabled): absent,
// "private" or "bucket-owner-full-control"; grants (x-amz-grant-*) never.
// Errors: kAccessControlListNotSupported.
Status CheckAclHeaders(const HeaderList& headers);

}  // namespace hangar::s3
