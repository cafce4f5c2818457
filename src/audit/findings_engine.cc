#include "audit/findings_engine.h"

#include <pthread.h>

#include <spdlog/spdlog.h>

namespace hangar::audit {
namespace {

bool StartsWithAny(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  for (std::string_view p : prefixes) {
    if (s.starts_with(p)) return true;
  }
  return false;
}

std::string FirstResource(const AuditEvent& e, std::string_view type) {
  for (const auto& r : e.resources) {
    if (r.type == type) return r.arn;
  }
  return {};
}

std::string Owner(const AuditEvent& e) {
  return e.recipient_account_id.empty() ? e.account_id : e.recipient_account_id;
}

}  // namespace

FindingsEngine::FindingsEngine(FindingStore& store, FactsSource& facts, const Clock& clock,
                               DetectionOptions options, DetectionState* detection_state)
    : store_(store), facts_(facts), clock_(clock), detector_(options, detection_state) {
  worker_ = std::thread([this] { Loop(); });
  pthread_setname_np(worker_.native_handle(), "findings");
}

FindingsEngine::~FindingsEngine() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    wake_.notify_all();
  }
  worker_.join();
}

bool FindingsEngine::Wants(const AuditEvent& e) {
  if (!e.error_code.empty()) return true;  // refusals feed the detections
  if (e.principal && e.principal->type == auth::PrincipalType::kRoot) return true;
  if (e.event_type == "AwsServiceEvent") return true;
  if (e.event_source == "kms.amazonaws.com") return !e.read_only || e.event_name == "Decrypt";
  if (e.event_source == "s3.amazonaws.com") {
    return !e.read_only && (e.management_event || e.event_name.starts_with("DeleteObject"));
  }
  if (e.event_source == "iam.amazonaws.com") return !e.read_only;
  return false;
}

namespace {

// A successful root call whose only interest is the RootCredentialUsage detection (not a
// deletion, which mass deletion counts; not a Decrypt, whose address the baseline learns).
bool OnlyRootUse(const AuditEvent& e) {
  if (!e.error_code.empty() || !e.principal || e.principal->type != auth::PrincipalType::kRoot) {
    return false;
  }
  if (e.event_source == "s3.amazonaws.com") {
    return !e.management_event && !e.event_name.starts_with("DeleteObject");
  }
  return e.event_source == "kms.amazonaws.com" && e.read_only && e.event_name != "Decrypt" &&
         (e.event_name.starts_with("Encrypt") || e.event_name.starts_with("GenerateDataKey") ||
          e.event_name == "ReEncrypt");
}

}  // namespace

bool FindingsEngine::Sample(const AuditEvent& e) {
  if (!OnlyRootUse(e)) return true;
  std::lock_guard lock(sample_mu_);
  RootUse& use = root_use_[e.account_id];
  if (e.event_time - use.window_start >= std::chrono::seconds(1)) {
    use.window_start = e.event_time;
    use.queued_in_window = 0;
  }
  if (use.queued_in_window < kRootUsePerSecond) {
    ++use.queued_in_window;
    return true;
  }
  ++use.unqueued;
  return false;
}

void FindingsEngine::Observe(const AuditEvent& event) {
  std::lock_guard lock(mu_);
  queue_.push_back(event);
  ++observed_;
  wake_.notify_one();
}

void FindingsEngine::Flush() {
  std::unique_lock lock(mu_);
  const uint64_t target = observed_;
  drained_.wait(lock, [&] { return processed_ >= target || stopping_; });
}

void FindingsEngine::Loop() {
  for (;;) {
    std::deque<AuditEvent> batch;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;
      batch.swap(queue_);
    }
    Reevaluations later;
    for (const AuditEvent& event : batch) Process(event, later);
    for (Finding& f : detector_.Settle()) Merge(std::move(f));
    later.RunAll();
    if (Status s = StorePendingDetections(); !s.ok()) {
      spdlog::error("findings: storing detections: {}", s.message());
    }
    std::lock_guard lock(mu_);
    processed_ += batch.size();
    drained_.notify_all();
  }
}

void FindingsEngine::Merge(Finding f) {
  auto [it, inserted] = pending_detections_.try_emplace(f.id, f);
  if (inserted) return;
  Finding& merged = it->second;
  merged.count += f.count;
  merged.last_observed_ms = std::max(merged.last_observed_ms, f.last_observed_ms);
  merged.updated_ms = std::max(merged.updated_ms, f.updated_ms);
  merged.description = f.description;
  merged.event_ids.insert(merged.event_ids.end(), f.event_ids.begin(), f.event_ids.end());
  if (merged.event_ids.size() > 20) {
    merged.event_ids.erase(merged.event_ids.begin(), merged.event_ids.end() - 20);
  }
}

Status FindingsEngine::StorePendingDetections() {
  std::map<std::string, Finding> pending;
  pending.swap(pending_detections_);
  for (const auto& [id, f] : pending) HANGAR_RETURN_IF_ERROR(store_.Upsert(f));
  return Status::Ok();
}

Status FindingsEngine::Store(const std::vector<Finding>& findings) {
  for (const Finding& f : findings) {
    HANGAR_RETURN_IF_ERROR(store_.Upsert(f));
    std::lock_guard lock(controls_mu_);
    ResourceFindings& known = control_findings_[f.account_id][f.resource_id];
    known.resource_type = f.resource_type;
    known.ids.insert(f.id);
  }
  return Status::Ok();
}

void FindingsEngine::Reevaluations::Ask(std::string resource, std::function<Status()> look) {
  last_[resource] = looks_.size();
  looks_.emplace_back(std::move(resource), std::move(look));
}

void FindingsEngine::Reevaluations::RunAll() {
  for (size_t i = 0; i < looks_.size(); ++i) {
    const auto& [resource, look] = looks_[i];
    if (last_[resource] != i) continue;  // asked for again later in the batch
    if (Status s = look(); !s.ok()) spdlog::error("findings: {}: {}", resource, s.message());
  }
}

void FindingsEngine::Process(const AuditEvent& e, Reevaluations& later) {
  for (Finding& f : detector_.Add(e)) {
    if (f.generator_id.ends_with("/Policy:IAMUser/RootCredentialUsage")) {
      // Add the occurrences that were counted but not queued (Sample).
      std::lock_guard lock(sample_mu_);
      RootUse& use = root_use_[e.account_id];
      f.count += use.unqueued;
      use.unqueued = 0;
    }
    Merge(std::move(f));
  }
  if (!e.error_code.empty() || e.read_only) return;
  const std::string owner = Owner(e);
  Status s;
  if (e.event_source == "kms.amazonaws.com") {
    std::string key = FirstResource(e, "AWS::KMS::Key");
    if (key.empty()) return;
    // The DeleteKey service event is recorded just before the key is destroyed: the event itself
    // says it is gone (re-reading the key now would still find it pending). Same resource name
    // as a re-evaluation, so whichever comes last in the batch decides.
    if (e.event_type == "AwsServiceEvent" && e.event_name == "DeleteKey") {
      later.Ask("key " + key, [this, owner, key] { return ArchiveResource(owner, key); });
    } else {
      later.Ask("key " + key, [this, owner, key] { return ReevaluateKey(key, owner); });
    }
  } else if (e.event_source == "s3.amazonaws.com") {
    if (StartsWithAny(e.event_name,
                      {"PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock"})) {
      const std::string account = e.account_id;
      later.Ask("account-block " + account,
                [this, account] { return ReevaluateAccountBlock(account); });
      s = DetectAccountExposure(e);
    } else {
      std::string bucket = FirstResource(e, "AWS::S3::Bucket");
      if (bucket.empty() || !e.management_event) return;
      const std::string name = bucket.substr(std::string_view("arn:aws:s3:::").size());
      later.Ask("bucket " + name, [this, name, owner] { return ReevaluateBucket(name, owner); });
      s = DetectBucketExposure(e, name);
    }
  } else if (e.event_source == "iam.amazonaws.com") {
    const std::string account = e.account_id;
    later.Ask("users " + account, [this, account] { return ReevaluateUsers(account); });
    if (e.event_name.find("AccessKey") != std::string::npos) {
      later.Ask("account " + account, [this, account] { return ReevaluateAccount(account); });
    }
  }
  if (!s.ok()) spdlog::error("findings: {} ({}): {}", e.event_name, e.event_id, s.message());
}

Status FindingsEngine::DetectBucketExposure(const AuditEvent& e, const std::string& name) {
  const bool block_change = e.event_name == "PutPublicAccessBlock" ||
                            e.event_name == "DeletePublicAccessBlock";
  if (!block_change && e.event_name != "PutBucketPolicy") return Status::Ok();
  HANGAR_ASSIGN_OR_RETURN(auto bucket, facts_.Bucket(name));
  if (!bucket) return Status::Ok();
  const std::string arn = "arn:aws:s3:::" + name;
  const std::string who = e.principal ? e.principal->arn : std::string("someone");
  if (block_change && !(bucket->block && bucket->block->all())) {
    Merge(PublicAccessDetection(e, "Policy:S3/BucketBlockPublicAccessDisabled", "LOW",
                                "Block Public Access was turned off for a bucket",
                                "AwsS3Bucket", arn,
                                who + " called " + e.event_name + " on " + name +
                                    ": not every Block Public Access setting is on now."));
  }
  if (bucket->public_read || bucket->public_write) {
    Merge(PublicAccessDetection(e, "Policy:S3/BucketAnonymousAccessGranted", "HIGH",
                                "A bucket became publicly accessible", "AwsS3Bucket", arn,
                                who + " called " + e.event_name + " on " + name +
                                    ": its policy now lets anyone " +
                                    (bucket->public_write ? "write" : "read") + " objects."));
  }
  return Status::Ok();
}

Status FindingsEngine::DetectAccountExposure(const AuditEvent& e) {
  HANGAR_ASSIGN_OR_RETURN(auto accounts, facts_.Accounts());
  for (const AccountFacts& a : accounts) {
    if (a.account_id != e.account_id || (a.block && a.block->all())) continue;
    Merge(PublicAccessDetection(e, "Policy:S3/AccountBlockPublicAccessDisabled", "MEDIUM",
                                "Block Public Access was turned off for the account",
                                "AwsAccount", "AWS::::Account:" + a.account_id,
                                "The account's Block Public Access settings are not all on after " +
                                    e.event_name + "."));
  }
  return Status::Ok();
}

Status FindingsEngine::ReevaluateKey(const std::string& arn, const std::string& account) {
  HANGAR_ASSIGN_OR_RETURN(auto key, facts_.Key(arn));
  if (!key) return ArchiveResource(account, arn);
  return Store(KeyControls(*key, clock_.Now()));
}

Status FindingsEngine::ReevaluateBucket(const std::string& name, const std::string& account) {
  HANGAR_ASSIGN_OR_RETURN(auto bucket, facts_.Bucket(name));
  if (!bucket) return ArchiveResource(account, "arn:aws:s3:::" + name);
  return Store(BucketControls(*bucket, clock_.Now()));
}

Status FindingsEngine::ReevaluateAccount(const std::string& account) {
  HANGAR_ASSIGN_OR_RETURN(auto accounts, facts_.Accounts());
  for (const AccountFacts& a : accounts) {
    if (a.account_id == account) HANGAR_RETURN_IF_ERROR(Store(AccountControls(a, clock_.Now())));
  }
  return Status::Ok();
}

size_t FindingsEngine::RememberedResourcesForTest() {
  std::lock_guard lock(controls_mu_);
  size_t n = 0;
  for (const auto& [account, resources] : control_findings_) n += resources.size();
  return n;
}

Status FindingsEngine::ReevaluateAccountBlock(const std::string& account) {
  HANGAR_RETURN_IF_ERROR(ReevaluateAccount(account));
  HANGAR_ASSIGN_OR_RETURN(auto buckets, facts_.AllBuckets());
  for (const BucketFacts& b : buckets) {
    if (b.account_id == account) HANGAR_RETURN_IF_ERROR(Store(BucketControls(b, clock_.Now())));
  }
  return Status::Ok();
}

Status FindingsEngine::ReevaluateUsers(const std::string& account) {
  HANGAR_ASSIGN_OR_RETURN(auto users, facts_.Users(account));
  std::set<std::string> present;
  for (const UserFacts& u : users) {
    present.insert(u.arn);
    HANGAR_RETURN_IF_ERROR(Store(UserControls(u, clock_.Now())));
  }
  if (users_seen_.insert(account).second) {
    // The first look at the account's users since start: users deleted while the server was
    // down too.
    HANGAR_ASSIGN_OR_RETURN(auto findings, store_.List(account));
    for (const Finding& f : findings) {
      if (f.resource_type == "AwsIamUser" && f.product == "securityhub" &&
          f.record_state == "ACTIVE" && !present.count(f.resource_id)) {
        HANGAR_RETURN_IF_ERROR(store_.Put(Archived(f, clock_.Now())));
      }
    }
    return Status::Ok();
  }
  std::vector<std::string> gone;
  {
    std::lock_guard lock(controls_mu_);
    for (const auto& [resource_id, known] : control_findings_[account]) {
      if (known.resource_type == "AwsIamUser" && !present.count(resource_id)) {
        gone.push_back(resource_id);
      }
    }
  }
  for (const std::string& user : gone) HANGAR_RETURN_IF_ERROR(ArchiveResource(account, user));
  return Status::Ok();
}

Status FindingsEngine::ArchiveResource(const std::string& account, const std::string& resource_id) {
  std::optional<std::set<std::string>> known;
  {
    std::lock_guard lock(controls_mu_);
    auto of_account = control_findings_.find(account);
    if (of_account != control_findings_.end()) {
      auto it = of_account->second.find(resource_id);
      if (it != of_account->second.end()) {
        known = std::move(it->second.ids);
        of_account->second.erase(it);
      }
    }
  }
  if (known) {
    for (const std::string& id : *known) {
      HANGAR_ASSIGN_OR_RETURN(auto f, store_.Get(account, id));
      if (f && f->product == "securityhub" && f->record_state == "ACTIVE") {
        HANGAR_RETURN_IF_ERROR(store_.Put(Archived(*f, clock_.Now())));
      }
    }
    return Status::Ok();
  }
  HANGAR_ASSIGN_OR_RETURN(auto findings, store_.List(account));
  for (const Finding& f : findings) {
    if (f.resource_id == resource_id && f.product == "securityhub" && f.record_state == "ACTIVE") {
      HANGAR_RETURN_IF_ERROR(store_.Put(Archived(f, clock_.Now())));
    }
  }
  return Status::Ok();
}

Status FindingsEngine::EvaluateAll() {
  const TimePoint now = clock_.Now();
  HANGAR_ASSIGN_OR_RETURN(auto keys, facts_.AllKeys());
  for (const KeyFacts& k : keys) HANGAR_RETURN_IF_ERROR(Store(KeyControls(k, now)));
  HANGAR_ASSIGN_OR_RETURN(auto buckets, facts_.AllBuckets());
  for (const BucketFacts& b : buckets) HANGAR_RETURN_IF_ERROR(Store(BucketControls(b, now)));
  HANGAR_ASSIGN_OR_RETURN(auto accounts, facts_.Accounts());
  std::set<std::string> present;
  for (const KeyFacts& k : keys) present.insert(k.arn);
  for (const BucketFacts& b : buckets) present.insert("arn:aws:s3:::" + b.name);
  for (const AccountFacts& a : accounts) {
    HANGAR_RETURN_IF_ERROR(Store(AccountControls(a, now)));
    HANGAR_RETURN_IF_ERROR(ReevaluateUsers(a.account_id));
    // Keys and buckets that went away while the server was down (or whose last change was
    // missed): their control findings are archived.
    HANGAR_ASSIGN_OR_RETURN(auto findings, store_.List(a.account_id));
    for (const Finding& f : findings) {
      if (f.product == "securityhub" && f.record_state == "ACTIVE" &&
          (f.resource_type == "AwsKmsKey" || f.resource_type == "AwsS3Bucket") &&
          !present.count(f.resource_id)) {
        HANGAR_RETURN_IF_ERROR(store_.Put(Archived(f, now)));
      }
    }
  }
  return Status::Ok();
}

void ObservedSink::Append(const AuditEvent& event, std::function<void(const Status&)> done) {
  if (!FindingsEngine::Wants(event) || !engine_.Sample(event)) {
    inner_.Append(event, std::move(done));
    return;
  }
  inner_.Append(event, [this, event, done = std::move(done)](const Status& written) {
    if (written.ok()) engine_.Observe(event);
    done(written);
  });
}

}  // namespace hangar::audit
