#pragma once
// PolicyCache: the parsed resource policy of each owner (a key ARN, a bucket name), parsed once
// and again only when its text changes — authorisation runs on every request, parsing must not.
// Thread-safe.

#include <memory>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "iam/policy.h"

namespace hangar::iam {

class PolicyCache {
 public:
  explicit PolicyCache(PolicyKind kind) : kind_(kind) {}

  // `text` parsed (ParsePolicy's errors), from the cache when `owner`'s text is unchanged.
  Result<std::shared_ptr<const Policy>> Get(const std::string& owner,
                                            const std::string& text) const;

 private:
  struct Entry {
    std::string text;
    std::shared_ptr<const Policy> parsed;
  };
  const PolicyKind kind_;
  mutable std::shared_mutex mutex_;
  mutable std::unordered_map<std::string, Entry> entries_;
};

}  // namespace hangar::iam
