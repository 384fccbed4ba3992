#pragma once
// Listener: one network face of amalgamd (HTTP health/metrics now; the MongoDB and DynamoDB
// faces later). The Server binds every listener, starts them together once all are bound, and
// shuts them down together (see server.h).
//
// Life cycle, driven by the Server in this order:
//   Listen() -> StartAccepting() -> BeginShutdown() -> [open_connections() reaches 0] -> destroy
//
// Threading: Listen, StartAccepting and BeginShutdown are called from the thread that owns the
// Server (never concurrently); open_connections() may be called from any thread. The connections
// themselves are served on the Server's IoPool: each on one I/O thread.
//
// Ownership: the Server owns its listeners. A listener must tolerate being destroyed while some of
// its connection coroutines are still parked on an io_context (they are destroyed with it), so
// implementations keep the state those coroutines use in a shared_ptr they hold.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace amalgam::server {

class Listener {
 public:
  virtual ~Listener() = default;

  // Short name used in log lines and as the key in the ports file: "http", "mongo", "dynamo".
  virtual std::string_view name() const = 0;

  // Opens, binds and listens on address:port synchronously (port 0: the kernel picks one).
  // Errors: kIOError "cannot listen for <name> on <address>:<port>: <reason>", e.g. when the port
  // is already in use. REQUIRES: called once, before StartAccepting.
  virtual Status Listen(const std::string& address, uint16_t port) = 0;

  // The bound port (the kernel's choice when 0 was asked for). REQUIRES: Listen succeeded.
  virtual uint16_t port() const = 0;

  // Begins accepting connections. Returns at once. REQUIRES: Listen succeeded.
  virtual void StartAccepting() = 0;

  // Stops accepting and closes every connection that is between requests; a request in flight
  // is answered and its connection then closes. Returns at once. Idempotent.
  virtual void BeginShutdown() = 0;

  // Connections not yet closed.
  virtual size_t open_connections() const = 0;
};

}  // namespace amalgam::server
