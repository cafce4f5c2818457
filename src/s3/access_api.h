#pragma once
// The REST/XML face of S3's access controls. Its operations (api_ops.h): bucket policies
// (?policy, ?policyStatus) and Block Public Access (?publicAccessBlock, and S3 Control's
// account-level /v20180820/configuration/publicAccessBlock), defined in access_api.cc; object
// ownership (?ownershipControls) and ACLs (?acl), defined in acl_api.cc. Writes share the ACL
// header parser below.

#include <optional>

#include "common/http_message.h"
#include "common/result.h"
#include "s3/acl.h"

namespace hangar::s3 {

// x-amz-acl or the x-amz-grant-* headers, if the request sends any (whether the bucket accepts
// them is S3Service's to say). Errors: kInvalidRequest (both kinds), kValidation (a malformed
// grant header).
Result<std::optional<AclRequest>> AclRequestFrom(const HeaderList& headers);

}  // namespace hangar::s3
