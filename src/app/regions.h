#pragma once
// The regions a server serves by default: AWS's commercial ("aws" partition) regions, so that code
// written for any of them runs unchanged. Other partitions (aws-cn, aws-us-gov) are left out:
// Hangar's ARNs are arn:aws:... throughout.

#include <string>
#include <vector>

namespace hangar::app {

const std::vector<std::string>& AwsCommercialRegions();

// Parses "--regions a,b,c" (empty entries ignored). Returns the default list for "".
std::vector<std::string> ParseRegionList(const std::string& text);

}  // namespace hangar::app
