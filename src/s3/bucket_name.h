#pragma once
// General purpose bucket naming rules.

#include <string_view>

#include "common/status.h"

namespace hangar::s3 {

// Checks `name` against the general purpose bucket naming rules (AWS User Guide
// "bucketnamingrules", docs/reference/s3.md §3): 3–63 characters of a-z 0-9 . -; first and
// last a letter or digit; no two adjacent periods; not formatted as an IPv4 address; no reserved
// prefix (xn--, sthree-, amzn-s3-demo-) or suffix (-s3alias, --ol-s3, .mrap, --x-s3).
// Errors: kInvalidBucketName `The specified bucket is not valid.` with field BucketName.
Status ValidateBucketName(std::string_view name);

}  // namespace hangar::s3
