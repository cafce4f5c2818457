#pragma once
// LifecycleRunner: the background thread that runs time-driven work (KMS key deletion at the end
// of its window, automatic rotation). It wakes once a minute, or at once when poked (the dev clock
// endpoint pokes it and waits, so tests see the effect when their request returns).

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "common/status.h"

namespace hangar::app {

class LifecycleRunner {
 public:
  using Task = std::function<Status()>;
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

}  // namespace hangar::app
