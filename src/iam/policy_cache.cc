#include "iam/policy_cache.h"

#include <mutex>

namespace hangar::iam {

Result<std::shared_ptr<const Policy>> PolicyCache::Get(const std::string& owner,
                                                       const std::string& text) const {
  {
    std::shared_lock lock(mutex_);
    auto it = entries_.find(owner);
    if (it != entries_.end() && it->second.text == text) return it->second.parsed;
  }
  HANGAR_ASSIGN_OR_RETURN(std::shared_ptr<const Policy> parsed, ParsePolicy(text, kind_));
  std::unique_lock lock(mutex_);
  entries_[owner] = Entry{text, parsed};
  return parsed;
}

}  // namespace hangar::iam
