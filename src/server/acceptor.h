#pragma once
// Helpers shared by the listeners: opening a listening socket, the accept loop, and logging
// coroutine failures. Boost.Asio appears only in .cc files and in this header, which only
// listener .cc files include.

#include <utility>  // before awaitable.hpp: Boost 1.74's uses std::exchange without it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <string>

#include "common/logging.h"
#include "common/result.h"
#include "server/io_pool.h"

namespace amalgam::server {

// Opens, binds (SO_REUSEADDR) and listens on address:port; returns the bound port.
// Errors: kIOError "cannot listen for <name> on <address>:<port>: <reason>".
Result<uint16_t> OpenAcceptor(boost::asio::ip::tcp::acceptor& acceptor, std::string_view name,
                              const std::string& address, uint16_t port);

// Completion handler for detached coroutines: an exception becomes one error log line.
struct LogIfFailed {
  const char* component;
  void operator()(std::exception_ptr error) const;
};

// The accept loop of a listener, run on its acceptor's (the primary) I/O thread: accepts until
// the acceptor is closed or state->stopping is set, gives each connection TCP_NODELAY and the
// next I/O thread of state->pool, and runs serve(state, socket) there, detached (a failure is
// one log line). A failed accept (typically out of file descriptors) is logged and retried after
// 100 ms; the open connections go on. The loop keeps `state` alive; State must have the members
// `acceptor`, `pool` and `stopping`.
template <typename State>
boost::asio::awaitable<void> AcceptConnections(
    std::shared_ptr<State> state, const char* component,
    boost::asio::awaitable<void> (*serve)(std::shared_ptr<State>, boost::asio::ip::tcp::socket)) {
  namespace asio = boost::asio;
  for (;;) {
    asio::ip::tcp::socket socket(state->pool.Next());
    boost::system::error_code ec;
    co_await state->acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (state->stopping.load() || !state->acceptor.is_open()) co_return;
    if (ec) {
      AMALGAM_LOG(kWarning, component) << "accept failed: " << ec.message();
      asio::steady_timer timer(state->acceptor.get_executor(), std::chrono::milliseconds(100));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, serve(state, std::move(socket)), LogIfFailed{component});
  }
}

}  // namespace amalgam::server
