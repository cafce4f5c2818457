#include "s3/bucket_name.h"

#include <array>
#include <string>

namespace hangar::s3 {
namespace {

bool IsLowerOrDigit(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// "Formatted as an IP address" (the doc's example is 192.168.5.4): four dot-separated groups of
// one to three digits. Out-of-range groups such as 999.1.1.1 still look like an address to a
// resolver or a virtual-host parser, so they are refused too.
bool LooksLikeIpv4(std::string_view name) {
  int groups = 0;
  size_t i = 0;
  while (true) {
    size_t digits = 0;
    while (i < name.size() && name[i] >= '0' && name[i] <= '9') {
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3) return false;
    ++groups;
    if (i == name.size()) return groups == 4;
    if (name[i] != '.' || groups == 4) return false;
    ++i;
  }
}

}  // namespace

Status ValidateBucketName(std::string_view name) {
  // Rules as listed in the User Guide page "General purpose buckets naming rules" (current text).
  // The legacy rule against a period next to a hyphen ("a.-b") is no longer listed there, nor in
  // s3.md, so such names are accepted.
  static constexpr std::array<std::string_view, 3> kReservedPrefixes = {"xn--", "sthree-",
                                                                        "amzn-s3-demo-"};
  static constexpr std::array<std::string_view, 4> kReservedSuffixes = {"-s3alias", "--ol-s3",
                                                                        ".mrap", "--x-s3"};
  bool valid = name.size() >= 3 && name.size() <= 63;
  for (size_t i = 0; valid && i < name.size(); ++i) {
    char c = name[i];
    if (!IsLowerOrDigit(c) && c != '.' && c != '-') valid = false;
    if (c == '.' && i + 1 < name.size() && name[i + 1] == '.') valid = false;
  }
  valid =
      valid && IsLowerOrDigit(name.front()) && IsLowerOrDigit(name.back()) && !LooksLikeIpv4(name);
  for (std::string_view prefix : kReservedPrefixes) valid = valid && !name.starts_with(prefix);
  for (std::string_view suffix : kReservedSuffixes) valid = valid && !name.ends_with(suffix);
  if (valid) return Status::Ok();

  Status status(ErrorCode::kInvalidBucketName, "The specified bucket is not valid.");
  status.WithField("BucketName", std::string(name));
  return status;
}

}  // namespace hangar::s3
