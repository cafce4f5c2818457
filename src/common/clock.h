#pragma once
// Clock: the time all lifecycle logic reads (deletion windows, rotation, credential expiry), so tests
// and the dev clock can move it. Request authentication (SigV4 skew) reads the real clock instead:
// moving the dev clock must not lock clients out.

#include <atomic>
#include <chrono>
#include <cstdint>

namespace hangar {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

// The system wall clock.
class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// Wall clock plus an offset that only grows: backs HANGAR_DEV_CLOCK and tests. Thread-safe.
class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(TimePoint base = {}) : fixed_base_(base) {}
  TimePoint Now() const override {
    TimePoint base = fixed_base_ == TimePoint{} ? std::chrono::system_clock::now() : fixed_base_;
    return base + std::chrono::milliseconds(offset_ms_.load(std::memory_order_relaxed));
  }
  void Advance(std::chrono::milliseconds by) { offset_ms_.fetch_add(by.count()); }
  // Moves the offset to `offset` unless it is there or beyond already: time never runs back.
  void AdvanceTo(std::chrono::milliseconds offset) {
    int64_t seen = offset_ms_.load();
    while (seen < offset.count() && !offset_ms_.compare_exchange_weak(seen, offset.count())) {
    }
  }
  std::chrono::milliseconds offset() const { return std::chrono::milliseconds(offset_ms_.load()); }

 private:
  const TimePoint fixed_base_;  // zero: follow the system clock
  std::atomic<int64_t> offset_ms_{0};
};

inline int64_t ToUnixMillis(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline TimePoint FromUnixMillis(int64_t ms) { return TimePoint(std::chrono::milliseconds(ms)); }

}  // namespace hangar
