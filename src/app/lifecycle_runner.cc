#include "app/lifecycle_runner.h"

#include <spdlog/spdlog.h>

namespace hangar::app {

LifecycleRunner::LifecycleRunner(Task task, std::chrono::seconds period)
    : task_(std::move(task)), period_(period), thread_([this] { Loop(); }) {}

LifecycleRunner::~LifecycleRunner() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

Status LifecycleRunner::RunNow() {
  std::unique_lock lock(mu_);
  uint64_t ticket = ++requested_;
  cv_.notify_all();
  cv_.wait(lock, [&] { return completed_ >= ticket || stop_; });
  return last_status_;
}

void LifecycleRunner::Loop() {
  std::unique_lock lock(mu_);
  while (!stop_) {
    cv_.wait_for(lock, period_, [&] { return stop_ || requested_ > completed_; });
    if (stop_) break;
    uint64_t serving = requested_;
    const bool asked = requested_ > completed_;
    lock.unlock();
    Status s = task_(asked);
    if (!s.ok()) spdlog::error("lifecycle task failed: {}", s.ToString());
    lock.lock();
    last_status_ = s;
    completed_ = std::max(completed_, serving);
    cv_.notify_all();
  }
}

Status RunExclusively(store::MetadataStore& store, std::string_view name, bool wait,
                      const std::function<Status()>& work) {
  HANGAR_ASSIGN_OR_RETURN(std::unique_ptr<store::WorkLock> held, store.LockWork(name, wait));
  if (!held) return Status::Ok();
  return work();
}

}  // namespace hangar::app
