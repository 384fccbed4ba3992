#pragma once
// MongoService: the MongoDB face minus the sockets. Takes one complete wire message, runs the
// command and returns the reply message. The server's Mongo listener does the I/O.
//
// Thread safety: HandleMessage may run concurrently for different connections; one
// connection's messages are handled one at a time (its ConnectionState is not shared).

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "api/mongo/command.h"
#include "api/mongo/cursor_manager.h"
#include "common/clock.h"

namespace amalgam::engine {
class Engine;
}

namespace amalgam::api::mongo {

class SessionRegistry;

struct ServiceOptions {
  std::string advertised_host = "127.0.0.1";  // host name clients are told to use
  int port = 27017;
  std::string replica_set = "amalgam";  // presented as a single-member replica set primary
  std::string version = "7.0.0";        // reported as MongoDB's version (wire version 21)
  std::string amalgam_version;
  std::vector<std::string> argv;        // for getCmdLineOpts
};

// Counters for serverStatus.
struct ServiceStats {
  std::atomic<int64_t> insert{0}, query{0}, update{0}, remove{0}, getmore{0}, command{0};
  std::atomic<int64_t> connections_current{0}, connections_total{0};
};

class MongoService {
 public:
  MongoService(engine::Engine& engine, Clock& clock, ServiceOptions options);
  ~MongoService();

  // Handles one complete message (header included). Returns the reply message, or an empty
  // string when none is due (OP_MSG moreToCome) or not due yet (conn.await.requested: the
  // caller waits as AwaitRequest in command.h says, then passes the same message again).
  // Sets *close when the connection must be closed: framing that cannot be parsed, an
  // unsupported opcode.
  std::string HandleMessage(ConnectionState& conn, std::span<const uint8_t> message, bool* close);

  // Runs one command document (for tests and for HandleMessage). Returns the reply body.
  bson::Document RunCommand(ConnectionState& conn, const Request& request);

  engine::Engine& engine() { return engine_; }
  Clock& clock() { return clock_; }
  CursorManager& cursors() { return *cursors_; }
  SessionRegistry& sessions() { return *sessions_; }
  ServiceStats& stats() { return stats_; }
  const ServiceOptions& options() const { return options_; }
  // The port hello reports in hosts/me/primary. REQUIRES: called before serving (the listener
  // calls it once it knows the port it was given).
  void SetAdvertisedPort(int port) { options_.port = port; }
  const CommandRegistry& registry() const { return registry_; }
  int64_t start_millis() const { return start_millis_; }
  int64_t NextConnectionId() { return next_connection_id_.fetch_add(1) + 1; }
  // The cluster time reported in replies: Timestamp(seconds now, increment), never decreasing.
  void AppendClusterTime(bson::Builder& reply);
  // The latest cluster time handed out ((seconds << 32) | increment).
  uint64_t last_cluster_time() const { return last_cluster_time_.load(); }

 private:
  engine::Engine& engine_;
  Clock& clock_;
  ServiceOptions options_;
  CommandRegistry registry_;
  std::unique_ptr<CursorManager> cursors_;
  std::unique_ptr<SessionRegistry> sessions_;  // after cursors_: closes transactions' cursors
  ServiceStats stats_;
  int64_t start_millis_;
  std::atomic<int64_t> next_connection_id_{0};
  std::atomic<int32_t> next_request_id_{1};
  std::atomic<uint64_t> last_cluster_time_{0};
};

}  // namespace amalgam::api::mongo
