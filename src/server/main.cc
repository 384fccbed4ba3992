// amalgamd: the Amalgam server. The command line is a contract (options.h, DESIGN.md "Running").
// Exit codes: 0 clean shutdown, 1 runtime failure (e.g. a port in use), 2 bad command line.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string_view>
#include <system_error>
#include <vector>

#include "common/clock.h"
#include "common/logging.h"
#include "engine/engine.h"
#include "engine/ttl_monitor.h"
#include "storage/change_log_retention.h"
#include "api/dynamo/service.h"
#include "api/dynamo/streams.h"
#include "api/mongo/service.h"
#include "api/mongo/session.h"
#include "server/dynamo_listener.h"
#include "server/http_listener.h"
#include "server/mongo_listener.h"
#include "server/ports_file.h"
#include "server/metrics.h"
#include "server/options.h"
#include "server/server.h"

namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int Run(const amalgam::server::ServerOptions& options, std::vector<std::string> argv) {
  using namespace amalgam;
  using namespace amalgam::server;

  std::error_code ec;
  std::filesystem::create_directories(options.data_dir, ec);
  if (ec) {
    AMALGAM_LOG(kError, "server") << "cannot create data directory '" << options.data_dir
                                  << "': " << ec.message();
    return kExitFailure;
  }
  AMALGAM_LOG(kInfo, "server") << "amalgamd " << Version() << " starting: data dir "
                               << options.data_dir << ", durability "
                               << DurabilityName(options.durability);

  MetricsRegistry metrics;
  Server server(options, metrics, SystemClock::Default());

  // The engine takes the data-directory lock (a second amalgamd on the same DIR fails here)
  // and recovers; only then do the listeners open. The API faces take `*engine`.
  engine::EngineOptions engine_options;
  engine_options.store.durability = options.durability;
  auto engine = engine::Engine::Open(options.data_dir, engine_options);
  if (!engine.ok()) {
    AMALGAM_LOG(kError, "server") << "cannot open the data directory: " << engine.status().message();
    return kExitFailure;
  }

  // Background work over the engine: change-log retention and the TTL expirer. Both stop
  // before the engine closes (explicitly below, or by their destructors on an early return).
  storage::RetentionOptions retention_options;
  retention_options.retention_millis = options.change_log_retention_seconds * 1000;
  retention_options.interval_millis = std::clamp<int64_t>(retention_options.retention_millis / 10, 100, 60'000);
  storage::ChangeLogRetention retention((*engine)->store(), SystemClock::Default(), retention_options);
  retention.Start();
  engine::TtlOptions ttl_options;
  ttl_options.interval_millis = options.ttl_interval_millis;
  engine::TtlMonitor ttl(**engine, SystemClock::Default(), ttl_options);
  ttl.AddRuleProvider(api::dynamo::DynamoTtlRules);  // DynamoDB UpdateTimeToLive
  ttl.Start();

  // A ports file left by a server that was killed would tell clients we are ready: remove it.
  // (We hold the data-directory lock, so no live server owns it.)
  if (Status status = RemovePortsFile(options.data_dir); !status.ok()) {
    AMALGAM_LOG(kWarning, "server") << status.message();
  }

  api::mongo::ServiceOptions mongo_options;
  mongo_options.advertised_host =
      (options.bind == "0.0.0.0" || options.bind == "::") ? std::string("localhost") : options.bind;
  mongo_options.port = options.mongo_port;
  mongo_options.amalgam_version = std::string(Version());
  mongo_options.argv = argv;
  api::mongo::MongoService mongo(**engine, SystemClock::Default(), std::move(mongo_options));

  server.AddListener(std::make_unique<HttpListener>(server.io_pool(), metrics));
  server.AddListener(std::make_unique<MongoListener>(server.io_pool(), mongo, metrics));
  api::dynamo::ServiceOptions dynamo_options;
  api::dynamo::DynamoService dynamo(**engine, SystemClock::Default(), std::move(dynamo_options));
  server.AddListener(std::make_unique<DynamoListener>(server.io_pool(), dynamo, metrics));
  if (Status status = server.Start(); !status.ok()) {
    AMALGAM_LOG(kError, "server") << status.message();
    return kExitFailure;
  }
  server.WaitForShutdownRequest();
  server.Shutdown();
  // Open transactions and cursors hold storage snapshots: close them before the engine (no
  // request runs now).
  mongo.sessions().AbortAll();
  mongo.cursors().CloseAll();
  dynamo.Stop();  // its background recounts read the engine
  ttl.Stop();
  retention.Stop();
  if (Status status = (*engine)->store().Flush(); !status.ok()) {
    AMALGAM_LOG(kWarning, "server") << "flush at shutdown: " << status.message();
  }
  engine.value().reset();  // closes RocksDB and releases the data-directory lock
  AMALGAM_LOG(kInfo, "server") << "stopped";
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace amalgam::server;
  std::vector<std::string_view> args(argv + 1, argv + argc);
  amalgam::Result<Invocation> invocation = ParseCommandLine(args);
  if (!invocation.ok()) {
    std::fprintf(stderr, "amalgamd: %s\nTry 'amalgamd --help' for usage.\n",
                 std::string(invocation.status().message()).c_str());
    return kExitUsage;
  }
  switch (invocation->command) {
    case Command::kHelp:
      std::fputs(UsageText().c_str(), stdout);
      return kExitOk;
    case Command::kVersion:
      std::fputs(VersionText().c_str(), stdout);
      return kExitOk;
    case Command::kRun:
      break;
  }
  amalgam::SetLogLevel(invocation->options.log_level);
  try {
    return Run(invocation->options, std::vector<std::string>(argv, argv + argc));
  } catch (const std::exception& e) {
    AMALGAM_LOG(kError, "server") << "fatal: " << e.what();
    return kExitFailure;
  }
}
