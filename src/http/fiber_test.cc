#include "http/fiber.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace hangar::http {
namespace {

// A minimal pool: threads that run posted functions, like the server's worker pool.
class Pool {
 public:
  explicit Pool(int threads) {
    for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~Pool() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  void Post(std::function<void()> f) {
    {
      std::lock_guard lock(mu_);
      queue_.push_back(std::move(f));
    }
    cv_.notify_one();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> f;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;
        f = std::move(queue_.front());
        queue_.pop_front();
      }
      f();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

TEST(FiberTest, RunsToCompletionOnTheResumingThread) {
  int value = 0;
  Fiber fiber([&] { value = 42; }, Fiber::DefaultStackSize());
  EXPECT_TRUE(fiber.Resume());
  EXPECT_EQ(value, 42);
}

TEST(FiberTest, SuspendRunsTheAfterFunctionOnceTheFiberIsOff) {
  std::vector<std::string> log;
  Fiber fiber(
      [&] {
        log.push_back("before");
        Fiber::Current()->Suspend([&] { log.push_back("after-suspend"); });
        log.push_back("resumed");
      },
      Fiber::DefaultStackSize());
  EXPECT_FALSE(fiber.Resume());
  EXPECT_EQ(log, (std::vector<std::string>{"before", "after-suspend"}));
  EXPECT_EQ(Fiber::Current(), nullptr);
  EXPECT_TRUE(fiber.Resume());
  EXPECT_EQ(log, (std::vector<std::string>{"before", "after-suspend", "resumed"}));
}

// What the server does: many fibers, each suspending repeatedly while "waiting for the network",
// resumed by whichever pool thread picks up the completion. Locals on a fiber's stack survive the
// hops between threads, and no fiber ever runs on two threads at once.
TEST(FiberTest, FibersMigrateBetweenThreadsAndKeepTheirStacks) {
  constexpr int kFibers = 32;
  constexpr int kSuspensions = 50;
  Pool pool(4);
  std::atomic<int> finished{0};
  std::vector<std::atomic<bool>> on_cpu(kFibers);
  std::atomic<bool> overlap{false};
  std::mutex done_mu;
  std::condition_variable done_cv;
  std::vector<std::unique_ptr<Fiber>> fibers(kFibers);
  std::vector<long> sums(kFibers, 0);
  for (int i = 0; i < kFibers; ++i) {
    fibers[i] = std::make_unique<Fiber>(
        [&, i] {
          long local = 0;  // lives on the fiber's stack across suspensions
          for (int step = 1; step <= kSuspensions; ++step) {
            if (on_cpu[i].exchange(true)) overlap = true;  // resumed twice at once?
            local += step;
            on_cpu[i] = false;
            Fiber* self = Fiber::Current();
            self->Suspend([&pool, self] { pool.Post([self] { self->Resume(); }); });
            EXPECT_EQ(Fiber::Current(), self);
          }
          sums[i] = local;
          // The last hop hands the fiber back to the test thread to finish.
          Fiber::Current()->Suspend([&] {
            std::lock_guard lock(done_mu);
            finished.fetch_add(1);
            done_cv.notify_all();
          });
        },
        Fiber::DefaultStackSize());
    Fiber* f = fibers[i].get();
    pool.Post([f] { f->Resume(); });
  }
  {
    std::unique_lock lock(done_mu);
    done_cv.wait(lock, [&] { return finished.load() == kFibers; });
  }
  for (int i = 0; i < kFibers; ++i) {
    EXPECT_TRUE(fibers[i]->Resume());
    EXPECT_EQ(sums[i], kSuspensions * (kSuspensions + 1) / 2);
  }
  EXPECT_FALSE(overlap.load());
}

}  // namespace
}  // namespace hangar::http
