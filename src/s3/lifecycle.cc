#include "s3/lifecycle.h"

#include <algorithm>

namespace hangar::s3 {
namespace {

constexpr int64_t kDayMs = 86'400'000;

bool HasTag(const LifecycleTags& tags, const std::pair<std::string, std::string>& wanted) {
  return std::find(tags.begin(), tags.end(), wanted) != tags.end();
}

}  // namespace

bool RuleApplies(const LifecycleRule& rule, std::string_view key, uint64_t size,
                 const LifecycleTags& tags) {
  if (!rule.enabled) return false;
  const LifecycleFilter& f = rule.filter;
  if (!key.starts_with(f.prefix)) return false;
  if (f.size_greater_than && !(size > *f.size_greater_than)) return false;
  if (f.size_less_than && !(size < *f.size_less_than)) return false;
  return std::all_of(f.tags.begin(), f.tags.end(),
                     [&](const auto& wanted) { return HasTag(tags, wanted); });
}

int64_t LifecycleDueMs(int64_t from_ms, int days) {
  const int64_t at = from_ms + int64_t{days} * kDayMs;
  return (at + kDayMs - 1) / kDayMs * kDayMs;
}

std::optional<int64_t> CurrentExpiryMs(const LifecycleRule& rule, int64_t created_ms) {
  if (rule.expiration_days) return LifecycleDueMs(created_ms, *rule.expiration_days);
  if (rule.expiration_date_ms) return *rule.expiration_date_ms;
  return std::nullopt;
}

std::optional<Expiry> EarliestExpiry(const std::vector<LifecycleRule>& rules, std::string_view key,
                                     uint64_t size, const LifecycleTags& tags, int64_t created_ms) {
  std::optional<Expiry> earliest;
  for (const LifecycleRule& rule : rules) {
    if (!RuleApplies(rule, key, size, tags)) continue;
    auto at = CurrentExpiryMs(rule, created_ms);
    if (at && (!earliest || *at < earliest->at_ms)) earliest = Expiry{*at, rule.id};
  }
  return earliest;
}

}  // namespace hangar::s3
