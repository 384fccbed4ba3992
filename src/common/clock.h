#pragma once
// Clock: the source of wall time for everything that stamps or expires data. Components take a
// Clock& so tests can move time by hand. Implementations are thread-safe.

#include <atomic>
#include <cstdint>

namespace amalgam {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t NowMillis() const = 0;
  // Monotonic nanoseconds for measuring durations (not comparable across processes).
  virtual int64_t MonotonicNanos() const = 0;
};

// The real clock (system_clock / steady_clock). Stateless.
class SystemClock final : public Clock {
 public:
  int64_t NowMillis() const override;
  int64_t MonotonicNanos() const override;
  // A process-wide instance; it has no state, so sharing it is safe.
  static SystemClock& Default();
};

// A clock that moves only when told. For tests.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now_millis = 1'700'000'000'000) : now_(now_millis) {}
  int64_t NowMillis() const override { return now_.load(); }
  int64_t MonotonicNanos() const override { return now_.load() * 1'000'000; }
  void Advance(int64_t millis) { now_ += millis; }
  void Set(int64_t millis) { now_ = millis; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace amalgam
