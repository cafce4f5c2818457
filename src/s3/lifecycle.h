#pragma once
// S3 lifecycle rules: what a bucket's configuration says (kept parsed in its record) and the pure
// decisions made from it — does a rule apply to a version, and when does it expire. The background
// runner acts on these (lifecycle_ops.cc); the codec parses and renders them (api_lifecycle.cc).
// docs/reference/s3-data-protection.md §3, docs/s3-lifecycle.md.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hangar::s3 {

using LifecycleTags = std::vector<std::pair<std::string, std::string>>;

struct LifecycleFilter {
  std::string prefix;
  LifecycleTags tags;  // every one must be on the object
  std::optional<uint64_t> size_greater_than;  // strict
  std::optional<uint64_t> size_less_than;     // strict
  // How it was written, so GET answers as it was stored: rule-level <Prefix> (deprecated), a
  // <Filter> with one condition, or <Filter><And>.
  enum class Form { kRulePrefix, kFilter, kAnd } form = Form::kFilter;
  bool prefix_element = false;  // a <Prefix> was sent (GET echoes the filter as stored)
};

struct LifecycleTransition {
  std::optional<int> days;           // Transition Days or NoncurrentVersionTransition NoncurrentDays
  std::optional<int64_t> date_ms;    // Transition Date
  std::optional<int> newer_noncurrent_versions;
  std::string storage_class;
};

struct LifecycleRule {
  std::string id;
  bool enabled = true;
  LifecycleFilter filter;
  std::optional<int> expiration_days;
  std::optional<int64_t> expiration_date_ms;
  bool expired_object_delete_marker = false;
  std::optional<int> noncurrent_days;
  std::optional<int> newer_noncurrent_versions;
  std::optional<int> abort_after_days;
  // Accepted and reported; Hangar has one storage class, so nothing moves.
  std::vector<LifecycleTransition> transitions;
  std::vector<LifecycleTransition> noncurrent_transitions;
};

struct LifecycleConfiguration {
  std::vector<LifecycleRule> rules;
  std::string transition_minimum_size;  // x-amz-transition-default-minimum-object-size as set
};

// Whether `rule` (enabled) covers an object with this key, size and tags.
bool RuleApplies(const LifecycleRule& rule, std::string_view key, uint64_t size,
                 const LifecycleTags& tags);
// `from_ms` + `days`, rounded up to the next 00:00 UTC, as S3 counts lifecycle days.
int64_t LifecycleDueMs(int64_t from_ms, int days);
// When the current version created at `created_ms` expires under `rule`, if the rule expires it.
std::optional<int64_t> CurrentExpiryMs(const LifecycleRule& rule, int64_t created_ms);

// The earliest expiry of a current version among the rules (first rule in document order on a
// tie), for the x-amz-expiration header. nullopt: no rule expires it.
struct Expiry {
  int64_t at_ms = 0;
  std::string rule_id;
};
std::optional<Expiry> EarliestExpiry(const std::vector<LifecycleRule>& rules, std::string_view key,
                                     uint64_t size, const LifecycleTags& tags, int64_t created_ms);

}  // namespace hangar::s3
