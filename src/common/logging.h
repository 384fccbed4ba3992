#pragma once
// Logging facade: one line per event, for operators. Thread-safe. Lines go to stderr as
// "2026-11-23T21:40:00.123Z I storage: message". The level is process-wide and set once at
// start-up (SetLogLevel); messages below it cost one branch.

#include <sstream>
#include <string_view>

namespace amalgam {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warning", "error". Returns false for anything else.
bool ParseLogLevel(std::string_view text, LogLevel* out);

// Writes one complete line atomically.
void LogLine(LogLevel level, std::string_view component, std::string_view message);

namespace internal {
class LogMessage {
 public:
  LogMessage(LogLevel level, std::string_view component) : level_(level), component_(component) {}
  ~LogMessage() { LogLine(level_, component_, stream_.str()); }
  std::ostream& stream() { return stream_; }

 private:
  LogLevel level_;
  std::string_view component_;
  std::ostringstream stream_;
};
}  // namespace internal

}  // namespace amalgam

namespace amalgam::internal {
// Turns the streamed expression into void so it fits the conditional operator below.
struct LogVoidify {
  void operator&(std::ostream&) {}
};
}  // namespace amalgam::internal

// AMALGAM_LOG(kInfo, "storage") << "opened " << path;   (an expression: safe after a bare if)
#define AMALGAM_LOG(level, component)                                        \
  (::amalgam::LogLevel::level < ::amalgam::GetLogLevel())                    \
      ? (void)0                                                              \
      : ::amalgam::internal::LogVoidify() &                                  \
            ::amalgam::internal::LogMessage(::amalgam::LogLevel::level, component).stream()
