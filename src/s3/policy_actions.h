#pragma once
// The actions a bucket policy may name: S3's actions as AWS's Service Authorization Reference
// lists them ("Actions defined by Amazon S3"). PutBucketPolicy refuses any other with
// MalformedPolicy "Policy has invalid action", as S3 does (docs/access-control.md, S3).

#include <string_view>

namespace hangar::s3 {

// Whether `action` (as written in a policy's Action or NotAction) names S3 actions: "*", or
// "s3:" followed by the name of an S3 action, or by a pattern (* and ?) that matches at least
// one. Service prefix and name are case-insensitive, as IAM compares actions.
bool NamesS3Actions(std::string_view action);

}  // namespace hangar::s3
