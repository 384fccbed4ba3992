#pragma once
// Helpers shared by the listeners: opening a listening socket and logging coroutine failures.
// Boost.Asio appears only in .cc files and in this header, which only listener .cc files
// include.

#include <boost/asio/ip/tcp.hpp>
#include <exception>
#include <string>

#include "common/result.h"

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

}  // namespace amalgam::server
