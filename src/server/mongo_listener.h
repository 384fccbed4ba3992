#pragma once
// MongoListener: the MongoDB wire-protocol port. Reads whole messages (16-byte header, then
// the rest; lengths checked before anything is allocated), hands them to api::mongo's
// MongoService and writes its replies. One coroutine per connection, on one I/O thread (io_pool.h);
// messages on one connection are handled in order.
//
// Limits: a message above 48 MB (maxMessageSizeBytes) or below 16 bytes closes the connection;
// once a message has begun to arrive it must arrive whole within 60 s. Idle connections stay
// open (drivers keep pools). Closes idle cursors every minute (10-minute timeout).
//
// Shutdown: a connection waiting for its next message is closed at once; a message in flight
// is answered and the connection then closes.
// Metrics: amalgam_mongo_open_connections, amalgam_mongo_commands_total.
// Threading and ownership: see listener.h. Borrows `io`, `service` and `metrics`.

#include <memory>

#include "server/listener.h"
#include "server/metrics.h"

namespace amalgam::api::mongo {
class MongoService;
}

namespace amalgam::server {

class IoPool;

class MongoListener final : public Listener {
 public:
  MongoListener(IoPool& pool, api::mongo::MongoService& service, MetricsRegistry& metrics);
  ~MongoListener() override;

  std::string_view name() const override { return "mongo"; }
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
