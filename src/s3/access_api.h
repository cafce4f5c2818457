#pragma once
// The REST/XML face of S3's access controls. Its operations (api_ops.h, defined in access_api.cc):
// bucket policies (?policy, ?policyStatus), Block Public Access (?publicAccessBlock, and S3
// Control's account-level /v20180820/configuration/publicAccessBlock), object ownership
// (?ownershipControls) and ACLs, which with ACLs disabled (BucketOwnerEnforced, the only ownership
// Hangar offers) are answered as AWS does. Object writes share the ACL header check below.

#include "common/http_message.h"
#include "common/result.h"

namespace hangar::s3 {

// Canned ACL headers are accepted only where they change nothing (ACLs disabled): absent,
// "private" or "bucket-owner-full-control"; grants (x-amz-grant-*) never.
// Errors: kAccessControlListNotSupported.
Status CheckAclHeaders(const HeaderList& headers);

}  // namespace hangar::s3
