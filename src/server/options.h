#pragma once
// The amalgamd command line: a contract that tests, benchmarks and users rely on (DESIGN.md,
// "Running").
//
//   amalgamd --data-dir DIR [--bind 127.0.0.1] [--mongo-port 27017] [--dynamo-port 8000]
//            [--http-port 9090] [--config amalgam.toml] [--log-level info]
//            [--durability process|fsync] [--change-log-retention SECONDS]
//            [--ttl-interval-ms MS] [--help] [--version]
//
// Every option is accepted as `--opt value` and as `--opt=value`. A port of 0 means "let the
// kernel pick a free port" (the chosen ports are published in DIR/amalgamd.ports). `--config FILE`
// reads the same settings from a small TOML subset (see config_file.h) under the keys data_dir,
// bind, mongo_port, dynamo_port, http_port, log_level, durability, change_log_retention and
// ttl_interval_ms; values given on the command
// line win over the file, and the file wins over the defaults. If an option is repeated, the last
// one wins. `--help`/`-h` and `--version` anywhere on the line win over everything else.
//
// Pure functions, no global state: safe to call from any thread.

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "common/logging.h"
#include "storage/store.h"
#include "common/result.h"

namespace amalgam::server {

// How far a commit has to get before it is acknowledged (storage/store.h).
using Durability = storage::Durability;

// "process" or "fsync".
std::string_view DurabilityName(Durability durability);

struct ServerOptions {
  std::string data_dir;            // required; relative paths are relative to the working directory
  std::string bind = "127.0.0.1";  // an IPv4 or IPv6 address literal
  uint16_t mongo_port = 27017;     // 0: any free port
  uint16_t dynamo_port = 8000;     // 0: any free port
  uint16_t http_port = 9090;       // 0: any free port
  std::string config_path;         // empty: no config file was read
  LogLevel log_level = LogLevel::kInfo;
  Durability durability = Durability::kProcess;
  int64_t change_log_retention_seconds = 86400;  // change-log retention window
  int64_t ttl_interval_millis = 1000;            // TTL expirer pass interval
};

// What the command line asks for.
enum class Command : uint8_t { kRun, kHelp, kVersion };

struct Invocation {
  Command command = Command::kRun;
  ServerOptions options;  // meaningful only for kRun
};

// Reads a whole file. Returns its bytes, or an error naming the path.
using FileReader = std::function<Result<std::string>(const std::string& path)>;

// The FileReader used by the real binary: reads from the file system.
Result<std::string> ReadWholeFile(const std::string& path);

// Parses the command line `args` (without argv[0]), reading a --config file through `reader`.
// For kRun, the returned options are complete and validated: data_dir is set, bind is an IP
// address literal, and no two non-zero ports are equal.
// Errors: kInvalidOptions, with a message that names the offending option (or the config file,
// line and key), e.g. "--mongo-port: 'abc' is not a port number (0-65535)". A config file that
// cannot be read fails with the reader's error, prefixed with "--config".
Result<Invocation> ParseCommandLine(std::span<const std::string_view> args,
                                    const FileReader& reader = ReadWholeFile);

// The --help text: every option with its default, then the config-file keys.
std::string UsageText();

// The --version text, e.g. "amalgamd 0.1.0".
std::string VersionText();

// The version string alone, e.g. "0.1.0" (also reported by amalgam_build_info).
std::string_view Version();

}  // namespace amalgam::server
