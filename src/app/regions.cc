#include "app/regions.h"

#include "common/strings.h"

namespace hangar::app {

const std::vector<std::string>& AwsCommercialRegions() {
  // AWS General Reference, "Regional endpoints" (December 2026).
  static const std::vector<std::string> kRegions = {
      "us-east-1",      "us-east-2",      "us-west-1",      "us-west-2",      "af-south-1",
      "ap-east-1",      "ap-east-2",      "ap-south-1",     "ap-south-2",     "ap-southeast-1",
      "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
      "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ca-central-1",   "ca-west-1",
      "eu-central-1",   "eu-central-2",   "eu-west-1",      "eu-west-2",      "eu-west-3",
      "eu-south-1",     "eu-south-2",     "eu-north-1",     "il-central-1",   "me-south-1",
      "me-central-1",   "mx-central-1",   "sa-east-1"};
  return kRegions;
}

std::vector<std::string> ParseRegionList(const std::string& text) {
  if (Trim(text).empty()) return AwsCommercialRegions();
  std::vector<std::string> out;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    if (!item.empty()) out.emplace_back(item);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
  }
  return out;
}

}  // namespace hangar::app
