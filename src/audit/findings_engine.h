#pragma once
// FindingsEngine: keeps the findings current. Controls are evaluated for every resource at start
// and again whenever a recorded request (or service event) changed a key, a bucket, an account's
// Block Public Access or a user's policies; detections watch every record. It works on its own
// thread from a queue fed by ObservedSink, so requests never wait for it; Flush() waits until
// what was recorded so far is reflected (Security Hub's GetFindings calls it first).

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "audit/controls.h"
#include "audit/detections.h"
#include "audit/finding.h"
#include "audit/sink.h"
#include "common/clock.h"

namespace hangar::audit {

// What the controls look at, gathered from the services by the application.
class FactsSource {
 public:
  virtual ~FactsSource() = default;
  virtual Result<std::vector<KeyFacts>> AllKeys() = 0;
  virtual Result<std::optional<KeyFacts>> Key(std::string_view arn) = 0;
  virtual Result<std::vector<BucketFacts>> AllBuckets() = 0;
  virtual Result<std::optional<BucketFacts>> Bucket(std::string_view name) = 0;
  virtual Result<std::vector<AccountFacts>> Accounts() = 0;
  virtual Result<std::vector<UserFacts>> Users(std::string_view account) = 0;
};

class FindingsEngine {
 public:
  // `detection_state`: as Detector's (nullptr: in memory).
  FindingsEngine(FindingStore& store, FactsSource& facts, const Clock& clock,
                 DetectionOptions options, DetectionState* detection_state = nullptr);
  ~FindingsEngine();

  // Every control for every resource (at start).
  Status EvaluateAll();
  // Whether `event` can change a finding; only those are queued (a copy is made).
  static bool Wants(const AuditEvent& event);
  // Root data access is queued at most kRootUsePerSecond times a second per account; beyond that
  // it is counted and the count travels with the next one queued: a root-driven workload must
  // not pay a copy per request. False: counted, not queued.
  bool Sample(const AuditEvent& event);
  void Observe(const AuditEvent& event);
  // Returns once every event observed before the call has been processed and its findings
  // stored.
  void Flush();
  // How many resources the engine remembers control findings of (tests: it must let go).
  size_t RememberedResourcesForTest();

 private:
  // The looks again one batch of events asks for, one per resource: a look reads the resource's
  // current state, so of several asked for in a batch only the last counts. A backlog then costs a
  // look per resource, not per event; when every IAM change re-read every user and finding of its
  // account, a steady load outran the worker and its queue grew without bound (bench/soak.py).
  class Reevaluations {
   public:
    void Ask(std::string resource, std::function<Status()> look);
    // Runs each resource's look once, in the order of its last request; failures are logged.
    void RunAll();

   private:
    std::vector<std::pair<std::string, std::function<Status()>>> looks_;
    std::unordered_map<std::string, size_t> last_;  // resource -> index in looks_
  };

  void Loop();
  // Runs the detections for `event` now and asks `later` for the looks again it calls for.
  void Process(const AuditEvent& event, Reevaluations& later);
  // Detections of one batch of events, merged per finding (a burst of root GETs is one update).
  void Merge(Finding finding);
  Status StorePendingDetections();
  Status Store(const std::vector<Finding>& findings);
  Status ReevaluateKey(const std::string& arn, const std::string& account);
  Status ReevaluateBucket(const std::string& name, const std::string& account);
  Status ReevaluateAccount(const std::string& account);
  // The account's Block Public Access decides whether each of its buckets' policies is public.
  Status ReevaluateAccountBlock(const std::string& account);
  Status ReevaluateUsers(const std::string& account);
  // Block Public Access turned off, or a policy that lets anyone in, after `event`.
  Status DetectBucketExposure(const AuditEvent& event, const std::string& bucket);
  Status DetectAccountExposure(const AuditEvent& event);
  // Archives the ACTIVE control findings about `resource_id` (it no longer exists).
  Status ArchiveResource(const std::string& account, const std::string& resource_id);

  FindingStore& store_;
  FactsSource& facts_;
  const Clock& clock_;
  Detector detector_;
  std::map<std::string, Finding> pending_detections_;  // worker thread only

  static constexpr int kRootUsePerSecond = 20;
  struct RootUse {
    TimePoint window_start;
    int queued_in_window = 0;
    int64_t unqueued = 0;
  };
  // The control findings stored since start, by account and resource id: a destroyed key, deleted
  // bucket or deleted user has them archived by id, and its entry goes with it. Reading every
  // finding of the account instead grows with every resource ever made, and outran the worker
  // under IAM churn (bench/soak.py); only a resource not seen since start, and the first look at
  // an account's users (users_seen_), still do.
  struct ResourceFindings {
    std::string resource_type;
    std::set<std::string> ids;
  };
  std::mutex controls_mu_;
  std::map<std::string, std::map<std::string, ResourceFindings>> control_findings_;
  std::set<std::string> users_seen_;  // accounts; worker thread (and EvaluateAll before it) only

  std::mutex sample_mu_;
  std::map<std::string, RootUse> root_use_;  // by account

  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable drained_;
  std::deque<AuditEvent> queue_;
  uint64_t observed_ = 0;
  uint64_t processed_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

// An AuditSink that hands every durably written record the engine wants to it.
class ObservedSink final : public AuditSink {
 public:
  ObservedSink(AuditSink& inner, FindingsEngine& engine) : inner_(inner), engine_(engine) {}
  void Append(const AuditEvent& event, std::function<void(const Status&)> done) override;
  Status Healthy() const override { return inner_.Healthy(); }

 private:
  AuditSink& inner_;
  FindingsEngine& engine_;
};

}  // namespace hangar::audit
