#pragma once
// IoPool: the I/O threads of amalgamd, one io_context per thread (N = hardware concurrency, at
// least 1). A connection is assigned to one context when it is accepted and stays there, so its
// reads, its command and its reply run on one thread with no strand and no hand-off between
// threads; each thread waits in its own epoll. Listeners accept on primary().
//
// Trade-off: a long command (a large aggregation) delays the other connections of its thread,
// not the whole server; connections are spread round robin.
//
// Threading: Next() and the contexts may be used from any thread; Start/Stop from the owner.
// Ownership: owns the contexts and their threads.

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>
#include <vector>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace amalgam::server {

class IoPool {
 public:
  // `threads` 0 means hardware concurrency.
  explicit IoPool(unsigned threads = 0);
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // The context acceptors, signals and timers of the server itself run on.
  boost::asio::io_context& primary();
  // The context for a new connection (round robin).
  boost::asio::io_context& Next();
  size_t size() const { return contexts_.size(); }

  // Starts one thread per context; each runs its context until Stop(). An exception that
  // escapes a handler is logged and the thread goes on.
  void Start();
  // Stops every context and joins the threads. Idempotent.
  void Stop();

 private:
  struct Context;
  std::vector<std::unique_ptr<Context>> contexts_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace amalgam::server
