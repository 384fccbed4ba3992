#pragma once
// ChangeLogRetention: the background trimmer of the change log (docs/change-log.md,
// "Retention"). Every `interval` it removes the entries committed more than `retention` ago,
// whole commits at a time, through Store::TrimChangeLog. Readers asking for trimmed history
// then get kChangeStreamHistoryLost (engine::Engine::ReadChanges).
//
// Thread safety: RunOnce may be called from any thread (passes are serialized); Start/Stop from
// the owner's thread. Must not outlive its Store; Stop (or the destructor) waits for the thread.

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "common/clock.h"
#include "common/result.h"
#include "storage/store.h"

namespace amalgam::storage {

struct RetentionOptions {
  int64_t retention_millis = 24LL * 3600 * 1000;  // entries older than this are removed
  int64_t interval_millis = 60 * 1000;            // time between passes
  uint64_t max_entries_per_pass = 1'000'000;      // bounds one pass's work
};

class ChangeLogRetention {
 public:
  ChangeLogRetention(Store& store, Clock& clock, RetentionOptions options);
  ~ChangeLogRetention();
  ChangeLogRetention(const ChangeLogRetention&) = delete;
  ChangeLogRetention& operator=(const ChangeLogRetention&) = delete;

  // Starts the background thread (idempotent).
  void Start();
  // Stops and joins the thread; a pass in progress finishes its current step first.
  void Stop();

  // One pass: trims every entry committed before now - retention, up to the visibility
  // watermark and at most max_entries_per_pass of them. Returns the new trim mark.
  // Errors: kIOError, kDataCorruption (an undecodable entry).
  Result<uint64_t> RunOnce();

  const RetentionOptions& options() const { return options_; }

 private:
  void Loop();

  Store& store_;
  Clock& clock_;
  RetentionOptions options_;
  std::mutex pass_mu_;  // serializes passes
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace amalgam::storage
