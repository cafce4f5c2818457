#include "kms/validation.h"

namespace hangar::kms {

void ValidationErrors::Add(std::optional<std::string_view> value, std::string_view member,
                           std::string_view constraint) {
  std::string e = "Value ";
  if (value) e += "'" + std::string(*value) + "' ";
  e += "at '" + std::string(member) + "' failed to satisfy constraint: " + std::string(constraint);
  errors_.push_back(std::move(e));
}

void ValidationErrors::AddNull(std::string_view member) {
  errors_.push_back("Value null at '" + std::string(member) +
                    "' failed to satisfy constraint: Member must not be null");
}

void ValidationErrors::CheckLength(std::string_view value, std::string_view member, size_t min,
                                   size_t max, bool secret) {
  std::optional<std::string_view> shown;
  if (!secret) shown = value;
  if (value.size() < min) {
    Add(shown, member,
        "Member must have length greater than or equal to " + std::to_string(min));
  } else if (value.size() > max) {
    Add(shown, member, "Member must have length less than or equal to " + std::to_string(max));
  }
}

void ValidationErrors::CheckRange(int64_t value, std::string_view member, int64_t min,
                                  int64_t max) {
  std::string v = std::to_string(value);
  if (value < min) {
    Add(v, member, "Member must have value greater than or equal to " + std::to_string(min));
  } else if (value > max) {
    Add(v, member, "Member must have value less than or equal to " + std::to_string(max));
  }
}

void ValidationErrors::CheckEnum(std::string_view value, std::string_view member,
                                 const std::vector<std::string_view>& allowed) {
  for (auto a : allowed) {
    if (a == value) return;
  }
  std::string set = "[";
  for (size_t i = 0; i < allowed.size(); ++i) {
    if (i) set += ", ";
    set += allowed[i];
  }
  set += "]";
  Add(value, member, "Member must satisfy enum value set: " + set);
}

Status ValidationErrors::ToStatus() const {
  if (errors_.empty()) return Status::Ok();
  std::string msg = std::to_string(errors_.size()) +
                    (errors_.size() == 1 ? " validation error detected: "
                                         : " validation errors detected: ");
  for (size_t i = 0; i < errors_.size(); ++i) {
    if (i) msg += "; ";
    msg += errors_[i];
  }
  return Error(ErrorCode::kValidation, std::move(msg));
}

}  // namespace hangar::kms
