#include "common/clock.h"

#include <chrono>

namespace amalgam {

int64_t SystemClock::NowMillis() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::MonotonicNanos() const {
  using namespace std::chrono;
  return duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count();
}

SystemClock& SystemClock::Default() {
  static SystemClock clock;
  return clock;
}

}  // namespace amalgam
