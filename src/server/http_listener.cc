#include "server/http_listener.h"

#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <exception>
#include <string_view>

#include "common/logging.h"
#include "server/acceptor.h"
#include "server/connection_set.h"
#include "server/io_pool.h"
#include "server/http_handler.h"

namespace amalgam::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr uint32_t kMaxHeaderBytes = 8 * 1024;
constexpr uint64_t kMaxBodyBytes = 64 * 1024;
constexpr size_t kReadChunkBytes = 4096;
constexpr auto kIdleTimeout = std::chrono::seconds(60);
constexpr auto kIoTimeout = std::chrono::seconds(30);

std::string_view ToStd(beast::string_view s) { return std::string_view(s.data(), s.size()); }

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  // Waiting for the first byte of the next request. Touched only on the connection's I/O thread.
  bool idle = false;
};

}  // namespace

struct HttpListener::State {
  State(IoPool& pool_in, MetricsRegistry& metrics)
      : pool(pool_in),
        acceptor(pool_in.primary()),
        handler(metrics),
        open_gauge(metrics.GetGauge("amalgam_http_open_connections",
                                    "Open connections on the health/metrics port.")) {}

  IoPool& pool;
  tcp::acceptor acceptor;  // used only on the primary I/O thread once accepting has started
  uint16_t port = 0;
  HttpHandler handler;
  Gauge& open_gauge;
  ConnectionSet connections;
  std::atomic<bool> stopping{false};
};

namespace {

http::response<http::string_body> BuildResponse(const HttpReply& reply, unsigned version,
                                                bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(reply.status), version};
  res.set(http::field::server, "amalgamd");
  if (!reply.content_type.empty()) res.set(http::field::content_type, reply.content_type);
  if (!reply.allow.empty()) res.set(http::field::allow, reply.allow);
  res.body() = reply.body;
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

// The reply to a request that could not be parsed, or nothing (just close) when the client went
// away or timed out.
int StatusForReadError(const beast::error_code& ec) {
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return 0;
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::header_limit) return 431;
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) return 400;
  return 0;
}

std::string ErrorBody(int status) {
  switch (status) {
    case 413:
      return "{\"error\":\"request body too large\"}";
    case 431:
      return "{\"error\":\"request headers too large\"}";
    default:
      return "{\"error\":\"bad request\"}";
  }
}

asio::awaitable<void> ServeConnection(std::shared_ptr<HttpListener::State> state,
                                      tcp::socket socket) {
  auto conn = std::make_shared<Connection>(std::move(socket));
  std::weak_ptr<Connection> weak = conn;
  auto executor = conn->stream.get_executor();
  uint64_t id = state->connections.Add([weak, executor] {
    asio::post(executor, [weak] {
      if (auto c = weak.lock(); c && c->idle) c->stream.cancel();
    });
  });
  state->open_gauge.Add(1);
  struct Unregister {
    HttpListener::State& state;
    uint64_t id;
    ~Unregister() {
      state.open_gauge.Add(-1);
      state.connections.Remove(id);
    }
  } unregister{*state, id};

  beast::flat_buffer buffer;
  beast::error_code ec;
  while (!state->stopping.load()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(kMaxBodyBytes);
    if (buffer.size() == 0) {
      // Idle until the first byte of the next request: only now may shutdown close us. Once a
      // request has begun to arrive it is in flight and will be answered.
      conn->idle = true;
      conn->stream.expires_after(kIdleTimeout);
      size_t n = co_await conn->stream.async_read_some(
          buffer.prepare(kReadChunkBytes), asio::redirect_error(asio::use_awaitable, ec));
      conn->idle = false;
      if (ec) break;
      buffer.commit(n);
    }
    conn->stream.expires_after(kIoTimeout);
    co_await http::async_read(conn->stream, buffer, parser,
                              asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      int status = StatusForReadError(ec);
      if (status != 0) {
        HttpReply reply{status, "application/json", ErrorBody(status), ""};
        auto res = BuildResponse(reply, 11, /*keep_alive=*/false);
        conn->stream.expires_after(kIoTimeout);
        co_await http::async_write(conn->stream, res,
                                   asio::redirect_error(asio::use_awaitable, ec));
      }
      break;
    }
    http::request<http::string_body>& req = parser.get();
    HttpReply reply;
    try {
      reply = state->handler.Handle(ToStd(req.method_string()), ToStd(req.target()));
    } catch (const std::exception& e) {
      AMALGAM_LOG(kError, "http") << "internal error serving " << ToStd(req.target()) << ": "
                                  << e.what();
      reply = HttpReply{500, "application/json", "{\"error\":\"internal error\"}", ""};
    }
    bool keep_alive = req.keep_alive() && !state->stopping.load();
    auto res = BuildResponse(reply, req.version(), keep_alive);
    conn->stream.expires_after(kIoTimeout);
    co_await http::async_write(conn->stream, res, asio::redirect_error(asio::use_awaitable, ec));
    if (ec || !keep_alive) break;
  }
  conn->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

HttpListener::HttpListener(IoPool& pool, MetricsRegistry& metrics)
    : state_(std::make_shared<State>(pool, metrics)) {}

HttpListener::~HttpListener() = default;

Status HttpListener::Listen(const std::string& address, uint16_t port) {
  AMALGAM_ASSIGN_OR_RETURN(state_->port, OpenAcceptor(state_->acceptor, "http", address, port));
  return Status::OK();
}

uint16_t HttpListener::port() const { return state_->port; }

void HttpListener::StartAccepting() {
  asio::co_spawn(state_->acceptor.get_executor(), AcceptConnections(state_, "http", ServeConnection),
                 LogIfFailed{"http"});
}

void HttpListener::BeginShutdown() {
  if (state_->stopping.exchange(true)) return;
  std::shared_ptr<State> state = state_;
  asio::post(state->acceptor.get_executor(), [state] {
    beast::error_code ec;
    state->acceptor.close(ec);
  });
  state->connections.CloseIdle();
}

size_t HttpListener::open_connections() const { return state_->connections.size(); }

}  // namespace amalgam::server
