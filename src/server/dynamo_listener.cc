#include "server/dynamo_listener.h"

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

#include "api/dynamo/service.h"
#include "common/logging.h"
#include "server/acceptor.h"
#include "server/connection_set.h"
#include "server/io_pool.h"

namespace amalgam::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr uint32_t kMaxHeaderBytes = 16 * 1024;
constexpr size_t kReadChunkBytes = 16 * 1024;
constexpr auto kIdleTimeout = std::chrono::minutes(10);
constexpr auto kIoTimeout = std::chrono::seconds(60);

std::string_view ToStd(beast::string_view s) { return std::string_view(s.data(), s.size()); }

struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool idle = false;  // waiting for the first byte of the next request (its I/O thread only)
};

}  // namespace

struct DynamoListener::State {
  State(IoPool& pool_in, api::dynamo::DynamoService& service_in, MetricsRegistry& metrics)
      : pool(pool_in),
        acceptor(pool_in.primary()),
        service(service_in),
        open_gauge(metrics.GetGauge("amalgam_dynamo_open_connections", "Open DynamoDB connections.")),
        requests(metrics.GetCounter("amalgam_dynamo_requests_total", "DynamoDB requests handled.")) {}

  IoPool& pool;
  tcp::acceptor acceptor;
  uint16_t port = 0;
  api::dynamo::DynamoService& service;
  Gauge& open_gauge;
  Counter& requests;
  ConnectionSet connections;
  std::atomic<bool> stopping{false};
};

namespace {

// A reply to a request whose HTTP framing failed (0: just close).
int StatusForReadError(const beast::error_code& ec) {
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return 0;
  if (ec == http::error::body_limit) return 413;
  if (ec == http::error::header_limit) return 431;
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) return 400;
  return 0;
}

asio::awaitable<void> ServeConnection(std::shared_ptr<DynamoListener::State> state, tcp::socket socket) {
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
    DynamoListener::State& state;
    uint64_t id;
    ~Unregister() {
      state.open_gauge.Add(-1);
      state.connections.Remove(id);
    }
  } unregister{*state, id};

  beast::flat_buffer buffer;
  beast::error_code ec;
  api::dynamo::HttpResponseOut out;
  http::response<http::string_body> res;
  while (!state->stopping.load()) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(api::dynamo::kMaxRequestBytes);
    if (buffer.size() == 0) {
      conn->idle = true;
      conn->stream.expires_after(kIdleTimeout);
      size_t n = co_await conn->stream.async_read_some(buffer.prepare(kReadChunkBytes),
                                                       asio::redirect_error(asio::use_awaitable, ec));
      conn->idle = false;
      if (ec) break;
      buffer.commit(n);
    }
    conn->stream.expires_after(kIoTimeout);
    co_await http::async_read_header(conn->stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec && beast::iequals(parser.get()[http::field::expect], "100-continue")) {
      // curl and some SDKs wait for this before sending a large body.
      http::response<http::empty_body> cont{http::status::continue_, parser.get().version()};
      co_await http::async_write(conn->stream, cont, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!ec && !parser.is_done()) {
      co_await http::async_read(conn->stream, buffer, parser, asio::redirect_error(asio::use_awaitable, ec));
    }
    if (ec) {
      int status = StatusForReadError(ec);
      if (status != 0) {
        http::response<http::string_body> err{static_cast<http::status>(status), 11};
        err.set(http::field::server, "amalgamd");
        err.set(http::field::content_type, "application/x-amz-json-1.0");
        err.body() = status == 413 ? "{\"__type\":\"com.amazon.coral.service#RequestEntityTooLarge\","
                                     "\"message\":\"Request size exceeded 16777216 bytes\"}"
                                   : "{\"__type\":\"com.amazon.coral.service#SerializationException\","
                                     "\"message\":\"Malformed HTTP request\"}";
        err.keep_alive(false);
        err.prepare_payload();
        conn->stream.expires_after(kIoTimeout);
        co_await http::async_write(conn->stream, err, asio::redirect_error(asio::use_awaitable, ec));
      }
      break;
    }
    http::request<http::string_body>& req = parser.get();
    api::dynamo::HttpRequestView view;
    view.method = ToStd(req.method_string());
    view.path = ToStd(req.target());
    view.amz_target = ToStd(req["X-Amz-Target"]);
    view.content_type = ToStd(req[http::field::content_type]);
    view.content_encoding = ToStd(req[http::field::content_encoding]);
    view.authorization = ToStd(req[http::field::authorization]);
    auto amz_date = req.find("X-Amz-Date");
    view.has_date = amz_date != req.end() || req.find(http::field::date) != req.end();
    if (amz_date != req.end()) view.amz_date = ToStd(amz_date->value());
    view.body = req.body();
    state->requests.Increment();
    state->service.Handle(view, &out);  // never throws

    bool keep_alive = req.keep_alive() && !state->stopping.load();
    res.clear();
    res.result(static_cast<http::status>(out.status));
    res.version(req.version());
    res.set(http::field::server, "amalgamd");
    res.set(http::field::content_type, beast::string_view(out.content_type.data(), out.content_type.size()));
    res.set("x-amzn-RequestId", out.request_id);
    res.set("x-amz-crc32", std::to_string(out.crc32));
    res.body() = std::move(out.body);
    res.keep_alive(keep_alive);
    res.prepare_payload();
    conn->stream.expires_after(kIoTimeout);
    co_await http::async_write(conn->stream, res, asio::redirect_error(asio::use_awaitable, ec));
    out.body = std::move(res.body());  // keep the buffer's capacity for the next reply
    if (ec || !keep_alive) break;
  }
  conn->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

DynamoListener::DynamoListener(IoPool& pool, api::dynamo::DynamoService& service, MetricsRegistry& metrics)
    : state_(std::make_shared<State>(pool, service, metrics)) {}

DynamoListener::~DynamoListener() = default;

Status DynamoListener::Listen(const std::string& address, uint16_t port) {
  AMALGAM_ASSIGN_OR_RETURN(state_->port, OpenAcceptor(state_->acceptor, "dynamo", address, port));
  bool v6 = address.find(':') != std::string::npos;
  std::string host = (address == "0.0.0.0" || address == "::") ? "localhost" : address;
  state_->service.SetAdvertisedAddress((v6 && host != "localhost" ? "[" + host + "]" : host) + ":" +
                                       std::to_string(state_->port));
  return Status::OK();
}

uint16_t DynamoListener::port() const { return state_->port; }

void DynamoListener::StartAccepting() {
  asio::co_spawn(state_->acceptor.get_executor(), AcceptConnections(state_, "dynamo", ServeConnection),
                 LogIfFailed{"dynamo"});
}

void DynamoListener::BeginShutdown() {
  if (state_->stopping.exchange(true)) return;
  std::shared_ptr<State> state = state_;
  asio::post(state->acceptor.get_executor(), [state] {
    beast::error_code ec;
    state->acceptor.close(ec);
  });
  state->connections.CloseIdle();
}

size_t DynamoListener::open_connections() const { return state_->connections.size(); }

}  // namespace amalgam::server
