#include "server/io_pool.h"

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <optional>

#include "common/logging.h"

namespace amalgam::server {

namespace asio = boost::asio;

namespace {
// Exposes execution_context::shutdown(), which destroys the pending handlers (parked connection
// coroutines) while the services of every context still exist.
struct PoolIoContext : asio::io_context {
  using asio::io_context::io_context;
  void DestroyPendingHandlers() { shutdown(); }
};
}  // namespace

struct IoPool::Context {
  // Concurrency hint 1: exactly one thread runs this context (handlers posted from other
  // threads are still safe).
  PoolIoContext io{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
};

IoPool::IoPool(unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < threads; ++i) contexts_.push_back(std::make_unique<Context>());
}

IoPool::~IoPool() {
  Stop();
  // A parked coroutine of one context can own objects of another (the accept loop's socket for
  // the next connection, a listener's state released by a connection's last frame): destroy
  // every context's handlers first, and only then the contexts and their services.
  for (auto& context : contexts_) context->io.DestroyPendingHandlers();
  contexts_.clear();
}

asio::io_context& IoPool::primary() { return contexts_[0]->io; }

asio::io_context& IoPool::Next() {
  size_t i = next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size();
  return contexts_[i]->io;
}

void IoPool::Start() {
  for (auto& context : contexts_) {
    context->work.emplace(context->io.get_executor());
    threads_.emplace_back([io = &context->io] {
      for (;;) {
        try {
          io->run();
          return;
        } catch (const std::exception& e) {
          AMALGAM_LOG(kError, "server") << "unexpected exception on an I/O thread: " << e.what();
        } catch (...) {
          AMALGAM_LOG(kError, "server") << "unexpected exception on an I/O thread";
        }
      }
    });
  }
}

void IoPool::Stop() {
  for (auto& context : contexts_) {
    context->work.reset();
    context->io.stop();
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

}  // namespace amalgam::server
