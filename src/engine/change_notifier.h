#pragma once
// ChangeNotifier: calls back when the change log grows, so that a reader waiting for new
// entries (a change-stream getMore with maxAwaitTimeMS) can wait without holding a thread.
// One background thread blocks in Store::WaitForSeqAfter on behalf of every registered waiter
// and runs the callbacks of those whose point the watermark has passed.
//
// Thread safety: all methods may be called concurrently. Callbacks run on the notifier's thread
// (or inline in Add when the log is already past the point) and must be short and must not
// call back into the notifier (post the real work elsewhere). Must not outlive its Store.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "storage/store.h"

namespace amalgam::engine {

class ChangeNotifier {
 public:
  explicit ChangeNotifier(storage::Store& store);
  ~ChangeNotifier();  // Stop()
  ChangeNotifier(const ChangeNotifier&) = delete;
  ChangeNotifier& operator=(const ChangeNotifier&) = delete;

  // Calls `fn` exactly once: when Store::LastVisibleSeq() > after_seq, or at Stop, unless
  // Cancel came first. Returns an id for Cancel. after_seq UINT64_MAX: only at Stop (a waiter
  // that wants no wake-up, just a registration that Stop ends). Waiters normally register
  // at the watermark they have read up to; one registered below a point the thread is
  // already waiting for is served within 50 ms.
  uint64_t Add(uint64_t after_seq, std::function<void()> fn);
  // Forgets a waiter whose callback has not run. Returns false if it already ran (or is running).
  bool Cancel(uint64_t id);
  // Runs every pending callback and joins the thread. Later Adds call back at once.
  void Stop();
  size_t waiting() const;

 private:
  struct Waiter {
    uint64_t after_seq;
    std::function<void()> fn;
  };
  void Loop();

  storage::Store& store_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<uint64_t, Waiter> waiters_;  // by id
  uint64_t next_id_ = 1;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace amalgam::engine
