#pragma once
// Server: wires amalgamd's listeners to an IoPool (one io_context per I/O thread, N = hardware
// concurrency, at least 1; io_pool.h), handles SIGTERM/SIGINT, publishes the ports file and shuts down
// gracefully.
//
//   Server server(options, metrics, SystemClock::Default());
//   server.AddListener(std::make_unique<HttpListener>(server.io_pool(), metrics));
//   if (Status s = server.Start(); !s.ok()) ...      // exit 1
//   server.WaitForShutdownRequest();                  // SIGTERM, SIGINT or RequestShutdown()
//   server.Shutdown();                                // then exit 0
//
// Start() logs "I server: <name> listening on <bind>:<port>" per listener and, once all are
// accepting and DIR/amalgamd.ports is written, "I server: ready". Shutdown() logs
// "I server: shutting down", stops accepting, lets requests in flight finish (at most
// `drain_timeout`; a second signal cuts the wait short), stops the I/O threads and removes the
// ports file.
//
// Metrics registered: amalgam_uptime_seconds, amalgam_build_info{version}.
//
// Threading: construct, AddListener, Start, WaitForShutdownRequest and Shutdown from one thread
// (main). RequestShutdown() may be called from any thread.
// Ownership: owns the IoPool and the listeners; borrows `metrics` and `clock`,
// which must outlive the Server.

#include <chrono>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "server/listener.h"
#include "server/metrics.h"
#include "server/options.h"

namespace amalgam::server {

class IoPool;

class Server {
 public:
  static constexpr std::chrono::milliseconds kDefaultDrainTimeout{5000};

  Server(ServerOptions options, MetricsRegistry& metrics, Clock& clock);
  // Shuts down (without draining) if Start() succeeded and Shutdown() was not called.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The I/O threads every listener serves on.
  IoPool& io_pool();

  // REQUIRES: before Start().
  void AddListener(std::unique_ptr<Listener> listener);

  // Binds every listener on options.bind with its port from the options (by listener name),
  // starts the I/O threads and accepting, writes the ports file and logs "ready".
  // Errors: a listener's kIOError (e.g. port in use), or the ports file's kIOError; on error
  // nothing is left running. REQUIRES: called once.
  Status Start();

  // Blocks until SIGTERM or SIGINT arrives or RequestShutdown() is called.
  void WaitForShutdownRequest();

  // Thread-safe; idempotent.
  void RequestShutdown();

  // See the file comment. REQUIRES: Start() succeeded. Idempotent.
  void Shutdown(std::chrono::milliseconds drain_timeout = kDefaultDrainTimeout);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace amalgam::server
