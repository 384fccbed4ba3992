#pragma once
// ConnectionSet: the open connections of one listener, so that shutdown can close the idle ones
// and wait for the busy ones. Shared by every listener kind.
//
// Thread-safe: every method may be called from any thread.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <unordered_map>

namespace amalgam::server {

class ConnectionSet {
 public:
  // Called at shutdown from any thread. It must arrange (typically by posting to the connection's
  // strand) for the connection to close if it is waiting for its next request, and do nothing to
  // a request in flight. It must not call back into the ConnectionSet.
  using CloseIfIdle = std::function<void()>;

  // Registers a connection. Returns its id for Remove().
  uint64_t Add(CloseIfIdle close_if_idle) {
    std::lock_guard<std::mutex> lock(mu_);
    uint64_t id = next_id_++;
    connections_.emplace(id, std::move(close_if_idle));
    return id;
  }

  // Unregisters connection `id`. Unknown ids are ignored.
  void Remove(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    connections_.erase(id);
  }

  // Calls every registered CloseIfIdle once. Connections added later are not called: their
  // owners must check their listener's "stopping" flag (set before this call) before reading.
  void CloseIdle() {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [id, close_if_idle] : connections_) close_if_idle();
  }

  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return connections_.size();
  }

 private:
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;                                   // guarded by mu_
  std::unordered_map<uint64_t, CloseIfIdle> connections_;  // guarded by mu_
};

}  // namespace amalgam::server
