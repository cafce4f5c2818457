#pragma once
// Security Hub controls (docs/reference/audit.md §5) as pure functions over facts about one
// resource. The facts are gathered by the application from the services (app/control_facts.cc),
// so this module knows no service: a key, a bucket, an account, a user, described plainly.

#include <optional>
#include <string>
#include <vector>

#include "audit/finding.h"

namespace hangar::audit {

struct KeyFacts {
  std::string arn;
  std::string account_id;
  std::string region;
  std::string state;  // Enabled, Disabled, PendingDeletion, ...
  bool customer_managed = true;
  bool symmetric = true;
  bool rotation_enabled = false;
  bool policy_public = false;  // an Allow for "*" without a condition limiting the callers
  int64_t deletion_date_ms = 0;
};

struct BlockFlags {
  bool block_public_acls = false;
  bool ignore_public_acls = false;
  bool block_public_policy = false;
  bool restrict_public_buckets = false;
  bool all() const {
    return block_public_acls && ignore_public_acls && block_public_policy &&
           restrict_public_buckets;
  }
};

struct BucketFacts {
  std::string name;
  std::string account_id;
  std::string region;
  std::optional<BlockFlags> block;  // the bucket's own Block Public Access, if configured
  bool public_read = false;         // its policy lets anyone read (and BPA does not stop it)
  bool public_write = false;
  bool requires_tls = false;        // a Deny on aws:SecureTransport = false
  std::string default_encryption;   // AES256, aws:kms, aws:kms:dsse
};

struct AccountFacts {
  std::string account_id;
  std::string region;
  std::optional<BlockFlags> block;  // account-level Block Public Access
  bool root_access_key_active = false;
};

struct UserFacts {
  std::string arn;
  std::string name;
  std::string account_id;
  std::string region;
  int attached_policies = 0;
  int inline_policies = 0;
};

// Each returns one finding per control that applies to the resource, PASSED or FAILED, stamped
// with `now`. A PASSED finding is also RESOLVED and ARCHIVED, as Security Hub turns a fixed one.
std::vector<Finding> KeyControls(const KeyFacts& key, TimePoint now);
std::vector<Finding> BucketControls(const BucketFacts& bucket, TimePoint now);
std::vector<Finding> AccountControls(const AccountFacts& account, TimePoint now);
std::vector<Finding> UserControls(const UserFacts& user, TimePoint now);

// The control findings about a resource that no longer exists: archived.
Finding Archived(Finding finding, TimePoint now);

}  // namespace hangar::audit
