#include "server/acceptor.h"

#include "common/logging.h"

namespace amalgam::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

Result<uint16_t> OpenAcceptor(tcp::acceptor& acceptor, std::string_view name, const std::string& address,
                              uint16_t port) {
  boost::system::error_code ec;
  auto fail = [&]() {
    return IOError("cannot listen for " + std::string(name) + " on " + address + ":" + std::to_string(port) + ": " +
                   ec.message());
  };
  asio::ip::address ip = asio::ip::make_address(address, ec);
  if (ec) return fail();
  tcp::endpoint endpoint(ip, port);
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail();
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail();
  acceptor.bind(endpoint, ec);
  if (ec) return fail();
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail();
  uint16_t bound = acceptor.local_endpoint(ec).port();
  if (ec) return fail();
  return bound;
}

void LogIfFailed::operator()(std::exception_ptr error) const {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    AMALGAM_LOG(kError, component) << "connection failed: " << e.what();
  } catch (...) {
    AMALGAM_LOG(kError, component) << "connection failed: unknown exception";
  }
}

}  // namespace amalgam::server
