#include "server/server.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <condition_variable>
#include <csignal>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/logging.h"
#include "server/io_pool.h"
#include "server/ports_file.h"

namespace amalgam::server {

namespace asio = boost::asio;

namespace {

std::string HostPort(const std::string& host, uint16_t port) {
  bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace

struct Server::Impl {
  Impl(ServerOptions options_in, MetricsRegistry& metrics_in, Clock& clock_in)
      : options(std::move(options_in)),
        metrics(metrics_in),
        clock(clock_in),
        start_nanos(clock_in.MonotonicNanos()),
        signals(asio::make_strand(pool.primary()), SIGINT, SIGTERM) {}

  uint16_t PortFor(std::string_view name) const {
    if (name == "mongo") return options.mongo_port;
    if (name == "dynamo") return options.dynamo_port;
    return options.http_port;
  }

  // Re-armed after every signal: the first asks for shutdown, a second one cuts the drain short.
  void WaitForSignal() {
    signals.async_wait([this](const boost::system::error_code& ec, int signo) {
      if (ec) return;  // cancelled: the io_context is going away
      {
        std::lock_guard<std::mutex> lock(mu);
        if (shutdown_requested) {
          force = true;
          AMALGAM_LOG(kWarning, "server") << "second signal: not waiting for requests in flight";
        }
        shutdown_requested = true;
      }
      cv.notify_all();
      WaitForSignal();
    });
  }

  size_t OpenConnections() const {
    size_t n = 0;
    for (const auto& listener : listeners) n += listener->open_connections();
    return n;
  }

  void StopIoThreads() { pool.Stop(); }

  ServerOptions options;
  MetricsRegistry& metrics;
  Clock& clock;
  int64_t start_nanos;

  // Declared first so it is destroyed last: everything below uses it.
  IoPool pool;
  asio::signal_set signals;  // used only on its strand
  std::vector<std::unique_ptr<Listener>> listeners;
  bool started = false;
  bool stopped = false;

  std::mutex mu;
  std::condition_variable cv;
  bool shutdown_requested = false;  // guarded by mu
  bool force = false;               // guarded by mu
};

Server::Server(ServerOptions options, MetricsRegistry& metrics, Clock& clock)
    : impl_(std::make_unique<Impl>(std::move(options), metrics, clock)) {
  // Catch the signals from now on: one that arrives while the engine is still opening is
  // acted on as soon as the server runs.
  impl_->WaitForSignal();
  Impl* impl = impl_.get();
  metrics.SetGaugeFunction("amalgam_uptime_seconds", "Seconds since amalgamd started.", {}, [impl] {
    return static_cast<double>(impl->clock.MonotonicNanos() - impl->start_nanos) / 1e9;
  });
  metrics
      .GetGauge("amalgam_build_info", "Always 1; the labels describe the build.",
                {{"version", std::string(Version())}})
      .Set(1);
}

Server::~Server() {
  if (impl_->started && !impl_->stopped) Shutdown(std::chrono::milliseconds(0));
  // The uptime function points into impl_: make it safe to render after we are gone.
  impl_->metrics.SetGaugeFunction("amalgam_uptime_seconds", "Seconds since amalgamd started.", {},
                                  [] { return 0.0; });
}

IoPool& Server::io_pool() { return impl_->pool; }

void Server::AddListener(std::unique_ptr<Listener> listener) {
  impl_->listeners.push_back(std::move(listener));
}

Status Server::Start() {
  Impl& s = *impl_;
  const std::string& bind = s.options.bind;
  for (auto& listener : s.listeners) {
    AMALGAM_RETURN_IF_ERROR(listener->Listen(bind, s.PortFor(listener->name())));
    AMALGAM_LOG(kInfo, "server") << listener->name() << " listening on "
                                 << HostPort(bind, listener->port());
  }
  s.pool.Start();
  for (auto& listener : s.listeners) listener->StartAccepting();

  std::vector<std::pair<std::string, uint16_t>> ports;
  for (auto& listener : s.listeners) ports.emplace_back(listener->name(), listener->port());
  if (Status status = WritePortsFile(s.options.data_dir, ports); !status.ok()) {
    for (auto& listener : s.listeners) listener->BeginShutdown();
    s.StopIoThreads();
    return status;
  }
  s.started = true;
  AMALGAM_LOG(kInfo, "server") << "ready";
  return Status::OK();
}

void Server::WaitForShutdownRequest() {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait(lock, [this] { return impl_->shutdown_requested; });
}

void Server::RequestShutdown() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->shutdown_requested = true;
  }
  impl_->cv.notify_all();
}

void Server::Shutdown(std::chrono::milliseconds drain_timeout) {
  Impl& s = *impl_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  AMALGAM_LOG(kInfo, "server") << "shutting down";
  // Remove the ports file first: its presence means "ready".
  RemovePortsFile(s.options.data_dir).IgnoreError();  // best effort: the process is going away
  for (auto& listener : s.listeners) listener->BeginShutdown();

  auto deadline = std::chrono::steady_clock::now() + drain_timeout;
  {
    std::unique_lock<std::mutex> lock(s.mu);
    while (!s.force && s.OpenConnections() > 0 && std::chrono::steady_clock::now() < deadline) {
      // Connections close on I/O threads; a short poll keeps ConnectionSet free of callbacks.
      s.cv.wait_for(lock, std::chrono::milliseconds(10));
    }
  }
  if (size_t left = s.OpenConnections(); left > 0) {
    AMALGAM_LOG(kWarning, "server")
        << "closing " << left << " connection(s) with requests still in flight";
  }
  s.StopIoThreads();
}

}  // namespace amalgam::server
