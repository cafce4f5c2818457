#include "app/control_facts.h"

#include <nlohmann/json.hpp>

#include "iam/policy.h"

namespace hangar::app {
namespace {

using json = nlohmann::json;

audit::BlockFlags FlagsOf(const s3::PublicAccessBlock& b) {
  return {b.block_public_acls, b.ignore_public_acls, b.block_public_policy,
          b.restrict_public_buckets};
}

// '*' and '?' wildcards, as IAM matches actions (case-insensitive).
bool ActionMatches(std::string_view pattern, std::string_view action) {
  size_t p = 0, a = 0, star = std::string_view::npos, mark = 0;
  auto lower = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  while (a < action.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || lower(pattern[p]) == lower(action[a]))) {
      ++p;
      ++a;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = a;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      a = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string> Strings(const json& value) {
  std::vector<std::string> out;
  if (value.is_string()) out.push_back(value.get<std::string>());
  if (value.is_array()) {
    for (const json& v : value) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

bool AllowsAny(const json& statement, std::initializer_list<std::string_view> actions) {
  for (const std::string& pattern : Strings(statement.value("Action", json()))) {
    for (std::string_view action : actions) {
      if (ActionMatches(pattern, action)) return true;
    }
  }
  return false;
}

// Which of the bucket policy's public statements (iam::GrantsPublicAccess, judged one statement at
// a time) let anyone read or write; and whether some statement denies requests without TLS.
void JudgeBucketPolicy(const std::string& text, bool& public_read, bool& public_write,
                       bool& requires_tls) {
  json policy = json::parse(text, nullptr, false);
  if (!policy.is_object()) return;
  json statements = policy.value("Statement", json());
  if (statements.is_object()) statements = json::array({statements});
  if (!statements.is_array()) return;
  for (const json& statement : statements) {
    if (!statement.is_object()) continue;
    const std::string effect = statement.value("Effect", std::string());
    if (effect == "Deny") {
      const json& condition = statement.value("Condition", json());
      for (const char* op : {"Bool", "BoolIfExists"}) {
        if (!condition.is_object() || !condition.contains(op) || !condition[op].is_object()) {
          continue;
        }
        for (const auto& [key, value] : condition[op].items()) {
          if (key != "aws:SecureTransport" && key != "aws:securetransport") continue;
          for (const std::string& v : Strings(value)) requires_tls |= v == "false";
          if (value.is_boolean() && !value.get<bool>()) requires_tls = true;
        }
      }
      continue;
    }
    if (effect != "Allow") continue;
    json single = policy;
    single["Statement"] = json::array({statement});
    auto parsed = iam::ParsePolicy(single.dump(), iam::PolicyKind::kResource);
    if (!parsed.ok() || !iam::GrantsPublicAccess(**parsed)) continue;
    public_read |= AllowsAny(statement, {"s3:GetObject", "s3:ListBucket"});
    public_write |= AllowsAny(statement, {"s3:PutObject", "s3:DeleteObject"});
  }
}

}  // namespace

Result<std::optional<audit::KeyFacts>> ServiceFacts::KeyByStorageId(std::string_view storage_id) {
  HANGAR_ASSIGN_OR_RETURN(auto loaded, keys_.FindStored(storage_id));
  return FactsOf(loaded.get());
}

Result<std::optional<audit::KeyFacts>> ServiceFacts::FactsOf(const kms::LoadedKey* loaded) {
  if (!loaded || loaded->record.destroyed) return std::optional<audit::KeyFacts>();
  const kms::KeyRecord& k = loaded->record;
  audit::KeyFacts facts;
  facts.arn = k.arn;
  facts.account_id = k.account_id;
  facts.region = k.region;
  facts.state = std::string(kms::KeyStateName(k.state));
  facts.customer_managed = !k.aws_managed();
  facts.symmetric = k.key_spec == "SYMMETRIC_DEFAULT";
  facts.rotation_enabled = k.rotation_enabled;
  facts.deletion_date_ms = k.deletion_ms;
  auto policy = iam::ParsePolicy(k.policy, iam::PolicyKind::kResource);
  facts.policy_public = policy.ok() && iam::GrantsPublicAccess(**policy);
  return std::optional<audit::KeyFacts>(std::move(facts));
}

Result<std::vector<audit::KeyFacts>> ServiceFacts::AllKeys() {
  std::vector<audit::KeyFacts> out;
  std::string after;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto ids, keys_.ListAllKeyIds(after, 500));
    for (const std::string& id : ids) {
      HANGAR_ASSIGN_OR_RETURN(auto facts, KeyByStorageId(id));
      if (facts) out.push_back(std::move(*facts));
    }
    if (ids.size() < 500) break;
    after = ids.back();
  }
  return out;
}

Result<std::optional<audit::KeyFacts>> ServiceFacts::Key(std::string_view arn) {
  // arn:aws:kms:<region>:<account>:key/<id>
  constexpr std::string_view kPrefix = "arn:aws:kms:";
  size_t slash = arn.rfind("key/");
  size_t region_end = arn.find(':', kPrefix.size());
  if (!arn.starts_with(kPrefix) || slash == std::string_view::npos ||
      region_end == std::string_view::npos) {
    return std::optional<audit::KeyFacts>();
  }
  std::string_view region = arn.substr(kPrefix.size(), region_end - kPrefix.size());
  HANGAR_ASSIGN_OR_RETURN(auto loaded, keys_.Find(arn.substr(slash + 4), region));
  if (loaded && loaded->record.region != region) return std::optional<audit::KeyFacts>();
  return FactsOf(loaded.get());
}

Result<audit::BucketFacts> ServiceFacts::FactsOf(const s3::BucketRecord& b) {
  audit::BucketFacts facts;
  facts.name = b.name;
  facts.account_id = b.owner_account;
  facts.region = b.region;
  if (b.public_access_block) facts.block = FlagsOf(*b.public_access_block);
  facts.default_encryption = b.encryption.algorithm;
  if (!b.policy.empty()) {
    bool read = false, write = false, tls = false;
    JudgeBucketPolicy(b.policy, read, write, tls);
    facts.requires_tls = tls;
    // RestrictPublicBuckets (bucket or account) makes a public policy ineffective.
    HANGAR_ASSIGN_OR_RETURN(auto account_block, s3_.GetAccountPublicAccessBlock(b.owner_account));
    const bool restricted =
        (b.public_access_block && b.public_access_block->restrict_public_buckets) ||
        (account_block && account_block->restrict_public_buckets);
    facts.public_read = read && !restricted;
    facts.public_write = write && !restricted;
  }
  return facts;
}

Result<std::vector<audit::BucketFacts>> ServiceFacts::AllBuckets() {
  HANGAR_ASSIGN_OR_RETURN(auto buckets, s3_.ListBuckets());
  std::vector<audit::BucketFacts> out;
  for (const s3::BucketRecord& b : buckets) {
    if (b.deleting) continue;
    HANGAR_ASSIGN_OR_RETURN(audit::BucketFacts facts, FactsOf(b));
    out.push_back(std::move(facts));
  }
  return out;
}

Result<std::optional<audit::BucketFacts>> ServiceFacts::Bucket(std::string_view name) {
  HANGAR_ASSIGN_OR_RETURN(auto stored, s3_.GetBucket(name));
  if (!stored || stored->record.deleting) return std::optional<audit::BucketFacts>();
  HANGAR_ASSIGN_OR_RETURN(audit::BucketFacts facts, FactsOf(stored->record));
  return std::optional<audit::BucketFacts>(std::move(facts));
}

Result<std::vector<audit::AccountFacts>> ServiceFacts::Accounts() {
  HANGAR_ASSIGN_OR_RETURN(auto accounts, identities_.ListAccounts());
  std::vector<audit::AccountFacts> out;
  for (const std::string& account : accounts) {
    audit::AccountFacts facts;
    facts.account_id = account;
    facts.region = region_;
    HANGAR_ASSIGN_OR_RETURN(auto block, s3_.GetAccountPublicAccessBlock(account));
    if (block) facts.block = FlagsOf(*block);
    HANGAR_ASSIGN_OR_RETURN(auto root_keys, identities_.ListAccessKeys(account, ""));
    for (const auto& key : root_keys) facts.root_access_key_active |= key.status == "Active";
    out.push_back(std::move(facts));
  }
  return out;
}

Result<std::vector<audit::UserFacts>> ServiceFacts::Users(std::string_view account) {
  std::vector<audit::UserFacts> out;
  std::string marker;
  for (;;) {
    HANGAR_ASSIGN_OR_RETURN(auto page, identities_.ListUsers(account, "/", marker, 1000));
    for (const iam::UserRecord& u : page.items) {
      audit::UserFacts facts;
      facts.arn = u.arn;
      facts.name = u.name;
      facts.account_id = u.account_id;
      facts.region = region_;
      facts.attached_policies = static_cast<int>(u.attached.size());
      facts.inline_policies = static_cast<int>(u.inline_policies.size());
      out.push_back(std::move(facts));
    }
    if (!page.truncated) break;
    marker = page.marker;
  }
  return out;
}

}  // namespace hangar::app
