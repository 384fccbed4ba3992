#pragma once
// DynamoListener: the DynamoDB port (HTTP/1.1 with keep-alive, Boost.Beast). Frames requests
// and hands each one to api::dynamo's DynamoService on the I/O thread that read it (no thread
// hop), then writes its reply with x-amzn-RequestId, x-amz-crc32 and Content-Length. One
// coroutine per connection, on one I/O thread of the Server's IoPool; requests on one
// connection are answered in order.
//
// Limits: 16 KiB of headers (larger: 431 and close) and 16 MB of body (DynamoDB's request
// limit; larger: 413 RequestEntityTooLarge and close); once its first byte has arrived, a
// request must arrive whole, and its reply be written, within 60 s each. Idle keep-alive
// connections are closed after 10 minutes. Unparseable HTTP gets 400 and the connection closes.
//
// Shutdown: a connection waiting for its next request is closed at once; a request in flight
// is answered (with "Connection: close") and the connection then closes.
//
// Metrics: amalgam_dynamo_requests_total, amalgam_dynamo_open_connections.
// Threading and ownership: see listener.h. Borrows `io`, `service` and `metrics`.

#include <memory>

#include "server/listener.h"
#include "server/metrics.h"

namespace amalgam::api::dynamo {
class DynamoService;
}

namespace amalgam::server {

class IoPool;

class DynamoListener final : public Listener {
 public:
  DynamoListener(IoPool& pool, api::dynamo::DynamoService& service, MetricsRegistry& metrics);
  ~DynamoListener() override;

  std::string_view name() const override { return "dynamo"; }
  Status Listen(const std::string& address, uint16_t port) override;
  uint16_t port() const override;
  void StartAccepting() override;
  void BeginShutdown() override;
  size_t open_connections() const override;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace amalgam::server
