#pragma once
// LifecycleRunner: the background thread that runs time-driven work (KMS key deletion at the end
// of its window, automatic rotation). It wakes once a minute, or at once when poked (the dev clock
// endpoint pokes it and waits, so tests see the effect when their request returns). In cluster
// mode every node has one; RunExclusively makes their work happen once.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/status.h"
#include "store/metadata_store.h"

namespace hangar::app {

class LifecycleRunner {
 public:
  // `asked`: the run was asked for (RunNow), not due by the period.
  using Task = std::function<Status(bool asked)>;
  LifecycleRunner(Task task, std::chrono::seconds period);
  ~LifecycleRunner();  // stops and joins

  // Runs the task now on the runner's thread and waits for that run to finish.
  Status RunNow();

 private:
  void Loop();

  Task task_;
  const std::chrono::seconds period_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;           // protected by mu_
  uint64_t requested_ = 0;      // protected by mu_: runs asked for
  uint64_t completed_ = 0;      // protected by mu_: runs finished
  Status last_status_;          // protected by mu_
  std::thread thread_;
};

// Runs `work` holding the store's work lock `name` (MetadataStore::LockWork), so that of the nodes
// sharing a store one at a time does it, each reading under the lock what the last one left.
// `wait`: for a run that was asked for, whose caller must see its effect; otherwise, when another
// node holds the lock the run is skipped (that node is doing the work).
Status RunExclusively(store::MetadataStore& store, std::string_view name, bool wait,
                      const std::function<Status()>& work);

}  // namespace hangar::app
