#include "server/mongo_listener.h"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <vector>

#include "api/mongo/service.h"
#include "api/mongo/wire.h"
#include "common/logging.h"
#include "engine/change_notifier.h"
#include "engine/engine.h"
#include "server/acceptor.h"
#include "server/connection_set.h"
#include "server/io_pool.h"

namespace amalgam::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
constexpr auto kMessageTimeout = std::chrono::seconds(60);
constexpr auto kReapInterval = std::chrono::seconds(60);
constexpr size_t kInitialBuffer = 16 * 1024;
constexpr size_t kMaxIdleBuffer = 1u << 20;

struct Connection {
  explicit Connection(tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
  tcp::socket socket;
  asio::steady_timer timer;  // bounds the time a started message may take to arrive
  bool idle = false;         // waiting for the first byte of the next message (its I/O thread only)
};
}  // namespace

struct MongoListener::State {
  State(IoPool& pool_in, api::mongo::MongoService& service_in, MetricsRegistry& metrics)
      : pool(pool_in),
        acceptor(pool_in.primary()),
        reaper(acceptor.get_executor()),
        service(service_in),
        open_gauge(metrics.GetGauge("amalgam_mongo_open_connections", "Open MongoDB connections.")),
        commands(metrics.GetCounter("amalgam_mongo_messages_total", "MongoDB wire messages handled.")),
        notifier(service_in.engine().store()) {}

  IoPool& pool;
  tcp::acceptor acceptor;
  asio::steady_timer reaper;
  uint16_t port = 0;
  api::mongo::MongoService& service;
  Gauge& open_gauge;
  Counter& commands;
  ConnectionSet connections;
  std::atomic<bool> stopping{false};
  // Wakes connections whose change-stream getMore waits for new change-log entries.
  engine::ChangeNotifier notifier;
};

namespace {

// Waits, without holding the thread, until the change log passes `after_seq` or `deadline`
// passes (a getMore that asked to answer later: AwaitRequest in api/mongo/command.h). The
// notifier's callback runs on its own thread and only posts the wake-up to the connection's I/O thread.
asio::awaitable<void> AwaitChange(MongoListener::State& state, uint64_t after_seq,
                                  std::chrono::steady_clock::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;
  auto timer = std::make_shared<asio::steady_timer>(executor, deadline);
  uint64_t id = state.notifier.Add(after_seq, [timer, executor] {
    asio::post(executor, [timer] { timer->cancel(); });
  });
  boost::system::error_code ec;
  co_await timer->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  state.notifier.Cancel(id);
}

asio::awaitable<void> ServeConnection(std::shared_ptr<MongoListener::State> state, tcp::socket socket) {
  auto conn = std::make_shared<Connection>(std::move(socket));
  std::weak_ptr<Connection> weak = conn;
  auto executor = conn->socket.get_executor();
  uint64_t set_id = state->connections.Add([weak, executor] {
    asio::post(executor, [weak] {
      if (auto c = weak.lock(); c && c->idle) {
        boost::system::error_code ec;
        c->socket.cancel(ec);
      }
    });
  });
  api::mongo::ConnectionState cs;
  cs.connection_id = state->service.NextConnectionId();
  cs.can_await = true;
  boost::system::error_code ec;
  auto remote = conn->socket.remote_endpoint(ec);
  cs.peer = ec ? "unknown" : remote.address().to_string() + ":" + std::to_string(remote.port());
  state->open_gauge.Add(1);
  state->service.stats().connections_current++;
  state->service.stats().connections_total++;
  struct Unregister {
    MongoListener::State& state;
    uint64_t id;
    ~Unregister() {
      state.open_gauge.Add(-1);
      state.service.stats().connections_current--;
      state.connections.Remove(id);
    }
  } unregister{*state, set_id};

  // Bytes received but not yet handled: [begin, end) of `buf`. Most messages arrive in one
  // read, so a message usually costs one recv and no timer.
  std::vector<uint8_t> buf(kInitialBuffer);
  size_t begin = 0, end = 0;
  bool timer_armed = false;
  auto arm_timer = [&] {
    // A message has begun but is not complete: it must now arrive whole within the timeout.
    if (timer_armed) return;
    timer_armed = true;
    conn->timer.expires_after(kMessageTimeout);
    std::weak_ptr<Connection> w = conn;
    conn->timer.async_wait([w](const boost::system::error_code& e) {
      if (e) return;
      if (auto c = w.lock()) {
        boost::system::error_code ignored;
        c->socket.cancel(ignored);
      }
    });
  };
  while (!state->stopping.load()) {
    size_t need = api::mongo::kHeaderSize;
    if (end - begin >= api::mongo::kHeaderSize) {
      auto parsed = api::mongo::ParseHeader(std::span<const uint8_t>(buf.data() + begin, api::mongo::kHeaderSize));
      if (!parsed.ok()) {
        AMALGAM_LOG(kWarning, "mongo") << "closing connection " << cs.connection_id << " from " << cs.peer << ": "
                                       << parsed.status().message();
        break;
      }
      need = static_cast<size_t>(parsed->message_length);
    }
    if (end - begin < need) {
      // Make room: move the partial message to the front, grow for a large one.
      if (begin > 0) {
        std::memmove(buf.data(), buf.data() + begin, end - begin);
        end -= begin;
        begin = 0;
      }
      if (buf.size() < need) buf.resize(need);
      bool idle = end == 0;
      if (!idle) arm_timer();
      conn->idle = idle;
      size_t got = co_await conn->socket.async_read_some(asio::buffer(buf.data() + end, buf.size() - end),
                                                         asio::redirect_error(asio::use_awaitable, ec));
      conn->idle = false;
      if (ec || got == 0) break;
      end += got;
      continue;
    }
    if (timer_armed) {
      conn->timer.cancel();
      timer_armed = false;
    }
    state->commands.Increment();
    bool close = false;
    std::span<const uint8_t> message(buf.data() + begin, need);
    std::string reply = state->service.HandleMessage(cs, message, &close);
    while (cs.await.requested) {
      // Nothing to answer yet: wait for the change log, then run the same message again. The
      // buffer is not touched meanwhile (no reads while a message is in progress).
      cs.await.requested = false;
      co_await AwaitChange(*state, cs.await.after_seq, cs.await.deadline);
      if (state->stopping.load()) cs.can_await = false;  // shutting down: answer at once
      cs.await.rerun = true;
      reply = state->service.HandleMessage(cs, message, &close);
      cs.await.rerun = false;
    }
    begin += need;
    if (begin == end) begin = end = 0;
    if (!reply.empty()) {
      co_await asio::async_write(conn->socket, asio::buffer(reply), asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
    }
    if (close) break;
    if (begin == end && buf.size() > kMaxIdleBuffer) {
      buf.resize(kInitialBuffer);  // do not pin a big buffer on an idle connection
      buf.shrink_to_fit();
    }
  }
  conn->timer.cancel();
  conn->socket.shutdown(tcp::socket::shutdown_both, ec);
}

asio::awaitable<void> ReapLoop(std::shared_ptr<MongoListener::State> state) {
  boost::system::error_code ec;
  while (!state->stopping.load()) {
    state->reaper.expires_after(kReapInterval);
    co_await state->reaper.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopping.load()) break;
    size_t n = state->service.cursors().ReapIdle(state->service.clock().NowMillis());
    if (n > 0) AMALGAM_LOG(kInfo, "mongo") << "closed " << n << " idle cursors";
  }
}

}  // namespace

MongoListener::MongoListener(IoPool& pool, api::mongo::MongoService& service, MetricsRegistry& metrics)
    : state_(std::make_shared<State>(pool, service, metrics)) {}

MongoListener::~MongoListener() = default;

Status MongoListener::Listen(const std::string& address, uint16_t port) {
  AMALGAM_ASSIGN_OR_RETURN(state_->port, OpenAcceptor(state_->acceptor, "mongo", address, port));
  state_->service.SetAdvertisedPort(state_->port);
  return Status::OK();
}

uint16_t MongoListener::port() const { return state_->port; }

void MongoListener::StartAccepting() {
  asio::co_spawn(state_->acceptor.get_executor(), AcceptConnections(state_, "mongo", ServeConnection),
                 LogIfFailed{"mongo"});
  asio::co_spawn(state_->acceptor.get_executor(), ReapLoop(state_), LogIfFailed{"mongo"});
}

void MongoListener::BeginShutdown() {
  if (state_->stopping.exchange(true)) return;
  std::shared_ptr<State> state = state_;
  asio::post(state->acceptor.get_executor(), [state] {
    boost::system::error_code ec;
    state->acceptor.close(ec);
    state->reaper.cancel();
  });
  state->connections.CloseIdle();
  // The notifier must not outlive the engine: stop it now (waiting getMores then wake and, run
  // again without await support, answer at once).
  state->notifier.Stop();
}

size_t MongoListener::open_connections() const { return state_->connections.size(); }

}  // namespace amalgam::server
