#pragma once
// AWS's generic validation messages ("1 validation error detected: Value '...' at 'member' failed
// to satisfy constraint: ..."), collected so that several failures are reported together as AWS
// does ("2 validation errors detected: ...; ...").

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace hangar::kms {

class ValidationErrors {
 public:
  // `value` nullopt renders as "Value at" (AWS omits secret or absent values), else
  // "Value '<value>' at".
  void Add(std::optional<std::string_view> value, std::string_view member,
           std::string_view constraint);
  void AddNull(std::string_view member);

  void CheckLength(std::string_view value, std::string_view member, size_t min, size_t max,
                   bool secret = false);
  void CheckRange(int64_t value, std::string_view member, int64_t min, int64_t max);
  void CheckEnum(std::string_view value, std::string_view member,
                 const std::vector<std::string_view>& allowed);

  bool empty() const { return errors_.empty(); }
  // kOk when empty, else kValidation with the joined message.
  Status ToStatus() const;

 private:
  std::vector<std::string> errors_;
};

}  // namespace hangar::kms
