#pragma once
// HttpListener: the health and metrics port (HTTP/1.1 with keep-alive, Boost.Beast), serving
// HttpHandler's routes. One coroutine per connection, on one I/O thread of the Server's
// IoPool; requests on one connection are answered in order.
//
// Limits: 8 KiB of headers and 64 KiB of body per request (larger: 431/413 and close); an idle
// keep-alive connection is closed after 60 s; once its first byte has arrived, a request must
// arrive whole, and its reply be written, within 30 s each. Unparseable requests get 400 and
// the connection closes.
//
// Shutdown: a connection waiting for the first byte of its next request is closed at once; a
// request that has begun to arrive is read, answered (with "Connection: close") and then the
// connection closes.
//
// Metrics: amalgam_http_requests_total{code}, amalgam_http_open_connections.
// Threading and ownership: see listener.h. Borrows `io` and `metrics`, which must outlive it.

#include <memory>

#include "server/listener.h"
#include "server/metrics.h"

namespace amalgam::server {

class IoPool;

class HttpListener final : public Listener {
 public:
  HttpListener(IoPool& pool, MetricsRegistry& metrics);
  ~HttpListener() override;

  std::string_view name() const override { return "http"; }
  Status Listen(const std::string& address, uint16_t port) override;
  uint16_t port() const override;
  void StartAccepting() override;
  void BeginShutdown() override;
  size_t open_connections() const override;

  // Shared with the connection coroutines; public only so that http_listener.cc can name it.
  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace amalgam::server
