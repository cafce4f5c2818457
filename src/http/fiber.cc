#include "http/fiber.h"

#include <boost/context/fiber.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include "common/check.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define HANGAR_FIBER_ASAN 1
#endif

namespace hangar::http {
namespace ctx = boost::context;

namespace {

thread_local Fiber* current_fiber = nullptr;

// AddressSanitizer must be told when the stack changes under it, or it takes the fiber's frames
// for overflows of the thread's stack (start before switching, finish right after arriving).
struct StackBounds {
  const void* bottom = nullptr;
  size_t size = 0;
};

void StartSwitch([[maybe_unused]] void** fake_stack, [[maybe_unused]] const StackBounds& to) {
#if defined(HANGAR_FIBER_ASAN)
  __sanitizer_start_switch_fiber(fake_stack, to.bottom, to.size);
#endif
}

void FinishSwitch([[maybe_unused]] void* fake_stack, [[maybe_unused]] StackBounds* from) {
#if defined(HANGAR_FIBER_ASAN)
  __sanitizer_finish_switch_fiber(fake_stack, from ? &from->bottom : nullptr,
                                  from ? &from->size : nullptr);
#endif
}

// Allocates the fiber's stack through protected_fixedsize_stack (guard page below it) and
// remembers where it is, for the sanitizer.
class RecordingStack {
 public:
  RecordingStack(size_t size, StackBounds* bounds) : inner_(size), bounds_(bounds) {}
  ctx::stack_context allocate() {
    ctx::stack_context sc = inner_.allocate();
    bounds_->bottom = static_cast<char*>(sc.sp) - sc.size;
    bounds_->size = sc.size;
    return sc;
  }
  void deallocate(ctx::stack_context& sc) noexcept { inner_.deallocate(sc); }

 private:
  ctx::protected_fixedsize_stack inner_;
  StackBounds* bounds_;
};

}  // namespace

struct Fiber::Impl {
  std::function<void()> body;
  ctx::fiber fiber;   // the fiber while it is not running
  ctx::fiber caller;  // inside the fiber: whoever resumed it
  std::function<void()> after_suspend;
  bool started = false;
  bool finished = false;
  StackBounds own_stack;
  StackBounds caller_stack;
  void* fiber_fake_stack = nullptr;
  Fiber* previous = nullptr;  // Current() of the resuming thread, restored when we leave
};

Fiber::Fiber(std::function<void()> body, size_t stack_size) : impl_(std::make_unique<Impl>()) {
  impl_->body = std::move(body);
  Impl* impl = impl_.get();
  impl_->fiber = ctx::fiber(std::allocator_arg, RecordingStack(stack_size, &impl_->own_stack),
                            [impl](ctx::fiber&& caller) {
                              FinishSwitch(nullptr, &impl->caller_stack);
                              impl->caller = std::move(caller);
                              impl->body();
                              impl->finished = true;
                              // Leaving for good: no fake stack to keep.
                              StartSwitch(nullptr, impl->caller_stack);
                              return std::move(impl->caller);
                            });
}

Fiber::~Fiber() { HANGAR_CHECK(!impl_->started || impl_->finished); }

bool Fiber::Resume() {
  HANGAR_CHECK(!impl_->finished && impl_->fiber);
  impl_->started = true;
  impl_->previous = current_fiber;
  current_fiber = this;
  void* thread_fake_stack = nullptr;
  StartSwitch(&thread_fake_stack, impl_->own_stack);
  impl_->fiber = std::move(impl_->fiber).resume();
  FinishSwitch(thread_fake_stack, nullptr);
  current_fiber = impl_->previous;
  std::function<void()> after = std::move(impl_->after_suspend);
  impl_->after_suspend = nullptr;
  if (!after) return true;  // finished
  after();                  // may hand the fiber to another thread: touch nothing below
  return false;
}

void Fiber::Suspend(std::function<void()> after) {
  HANGAR_CHECK(current_fiber == this && after);
  impl_->after_suspend = std::move(after);
  StartSwitch(&impl_->fiber_fake_stack, impl_->caller_stack);
  impl_->caller = std::move(impl_->caller).resume();
  // Resumed, perhaps by another thread: its stack is where we return to next time.
  FinishSwitch(impl_->fiber_fake_stack, &impl_->caller_stack);
}

Fiber* Fiber::Current() { return current_fiber; }

size_t Fiber::DefaultStackSize() {
#if defined(HANGAR_FIBER_ASAN)
  return 8 << 20;  // sanitizer frames carry red zones
#else
  return 1 << 20;
#endif
}

}  // namespace hangar::http
