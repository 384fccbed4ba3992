#include "engine/change_notifier.h"

#include <chrono>
#include <vector>

namespace amalgam::engine {
namespace {
// How long one wait in the store lasts before the thread looks at its waiters again (a waiter
// added meanwhile with a lower point is then served; normally a commit wakes it long before).
constexpr auto kPollInterval = std::chrono::milliseconds(50);
}  // namespace

ChangeNotifier::ChangeNotifier(storage::Store& store) : store_(store) {
  thread_ = std::thread([this] { Loop(); });
}

ChangeNotifier::~ChangeNotifier() { Stop(); }

uint64_t ChangeNotifier::Add(uint64_t after_seq, std::function<void()> fn) {
  uint64_t id;
  {
    std::lock_guard<std::mutex> lock(mu_);
    id = next_id_++;
    if (!stopped_ && store_.LastVisibleSeq() <= after_seq) {
      waiters_.emplace(id, Waiter{after_seq, std::move(fn)});
      // A waiter at UINT64_MAX changes nothing the thread waits for: waking it would only cost
      // a context switch per registration (a busy change stream registers one per batch).
      if (after_seq != UINT64_MAX) cv_.notify_all();
      return id;
    }
  }
  fn();  // already past the point (or stopped): no need to wait
  return id;
}

bool ChangeNotifier::Cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.erase(id) > 0;
}

size_t ChangeNotifier::waiting() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiters_.size();
}

void ChangeNotifier::Stop() {
  std::vector<std::function<void()>> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, w] : waiters_) due.push_back(std::move(w.fn));
    waiters_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& fn : due) fn();
}

void ChangeNotifier::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopped_) {
    // Waiters at UINT64_MAX can never be passed (they only want Stop, or to be cancelled):
    // waiting in the store for them would delay a waiter added meanwhile, so wait here.
    auto lowest_point = [&] {
      uint64_t lowest = UINT64_MAX;
      for (const auto& [id, w] : waiters_) lowest = std::min(lowest, w.after_seq);
      return lowest;
    };
    uint64_t lowest = lowest_point();
    if (lowest == UINT64_MAX) {
      cv_.wait(lock, [&] { return stopped_ || lowest_point() != UINT64_MAX; });
      continue;
    }
    lock.unlock();
    uint64_t visible = store_.WaitForSeqAfter(lowest, std::chrono::steady_clock::now() + kPollInterval);
    lock.lock();
    std::vector<std::function<void()>> due;
    for (auto it = waiters_.begin(); it != waiters_.end();) {
      if (it->second.after_seq < visible) {
        due.push_back(std::move(it->second.fn));
        it = waiters_.erase(it);
      } else {
        ++it;
      }
    }
    if (due.empty()) continue;
    lock.unlock();
    for (auto& fn : due) fn();
    lock.lock();
  }
}

}  // namespace amalgam::engine
