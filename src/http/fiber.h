#pragma once
// Fiber: a function running on its own stack that can pause without holding a thread. The server
// runs a handler that streams a request body on one: when the handler needs bytes that have not
// arrived, the fiber suspends, its worker thread returns to the pool, and whichever worker the
// network read's completion lands on resumes it. Handler code stays plain blocking code.
//
// Rules for code running on a fiber: it may resume on another thread after Suspend(), so it must
// not hold a mutex or a reference to thread-local state across a suspension point.
//
// Thread-safety: Resume() is called by one thread at a time (the completion that resumes a fiber
// is posted only after it suspended); Suspend() only from inside the fiber.

#include <cstddef>
#include <functional>
#include <memory>

namespace hangar::http {

class Fiber {
 public:
  // `stack_size` bytes of stack (guard page below it); the body starts at the first Resume().
  Fiber(std::function<void()> body, size_t stack_size);
  ~Fiber();  // the fiber must have finished or never started
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Runs the fiber until it suspends or finishes; returns true when it finished. When it suspended,
  // the function given to Suspend() has run on this thread and may already have arranged (even on
  // another thread) the next Resume(): the caller must not touch the fiber afterwards.
  bool Resume();

  // From inside the fiber: switches back to the thread that resumed it and runs `after` there once
  // the switch is complete (so `after` may safely schedule the next Resume()). Returns when the
  // fiber is resumed again.
  void Suspend(std::function<void()> after);

  // The fiber running on this thread, or nullptr.
  static Fiber* Current();

  // The default stack: generous, because handlers reach into SQLite and OpenSSL; only the pages
  // touched are ever backed by memory.
  static size_t DefaultStackSize();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hangar::http
