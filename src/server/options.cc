#include "server/options.h"

#include <arpa/inet.h>

#include <array>
#include <charconv>
#include <fstream>
#include <sstream>
#include <utility>
#include <vector>

#include "server/config_file.h"

#ifndef AMALGAM_VERSION
#define AMALGAM_VERSION "0.0.0-unknown"
#endif

namespace amalgam::server {
namespace {

enum class Setting : uint8_t {
  kDataDir,
  kBind,
  kMongoPort,
  kDynamoPort,
  kHttpPort,
  kConfig,
  kLogLevel,
  kDurability,
  kChangeLogRetention,
  kTtlInterval
};

struct OptionSpec {
  Setting setting;
  std::string_view flag;          // "--mongo-port"
  std::string_view key;           // "mongo_port" in the config file; empty: command line only
  std::string_view metavar;       // "PORT"
  std::string_view default_text;  // empty: no default (shown in --help)
  std::string_view help;
};

// The one table behind parsing, --help and the config-file keys.
constexpr std::array<OptionSpec, 10> kOptions = {{
    {Setting::kDataDir, "--data-dir", "data_dir", "DIR", "",
     "directory for all data; created if missing (required)"},
    {Setting::kBind, "--bind", "bind", "ADDR", "127.0.0.1",
     "IP address every listener binds to (0.0.0.0 or :: for all)"},
    {Setting::kMongoPort, "--mongo-port", "mongo_port", "PORT", "27017",
     "MongoDB wire protocol port; 0 picks a free port"},
    {Setting::kDynamoPort, "--dynamo-port", "dynamo_port", "PORT", "8000",
     "DynamoDB API port (HTTP/JSON, as DynamoDB); 0 picks a free port"},
    {Setting::kHttpPort, "--http-port", "http_port", "PORT", "9090",
     "health and metrics HTTP port; 0 picks a free port"},
    {Setting::kConfig, "--config", "", "FILE", "none",
     "read settings from a TOML file; command-line values win"},
    {Setting::kLogLevel, "--log-level", "log_level", "LEVEL", "info",
     "debug, info, warning or error"},
    {Setting::kDurability, "--durability", "durability", "MODE", "process",
     "process: commits survive a crash of the process; fsync: also a power loss"},
    {Setting::kChangeLogRetention, "--change-log-retention", "change_log_retention", "SECONDS",
     "86400", "how long the change log keeps entries (change-stream resume points)"},
    {Setting::kTtlInterval, "--ttl-interval-ms", "ttl_interval_ms", "MS", "1000",
     "time between passes of the TTL expirer (bounds how late documents expire)"},
}};

const OptionSpec* FindByFlag(std::string_view flag) {
  for (const OptionSpec& spec : kOptions) {
    if (spec.flag == flag) return &spec;
  }
  return nullptr;
}

const OptionSpec* FindByKey(std::string_view key) {
  for (const OptionSpec& spec : kOptions) {
    if (!spec.key.empty() && spec.key == key) return &spec;
  }
  return nullptr;
}

Status OptionError(std::string_view where, std::string_view what) {
  return Status(ErrorCode::kInvalidOptions, std::string(where) + ": " + std::string(what));
}

bool IsPortSetting(Setting s) {
  return s == Setting::kMongoPort || s == Setting::kDynamoPort || s == Setting::kHttpPort;
}

bool IsIntegerSetting(Setting s) {
  return IsPortSetting(s) || s == Setting::kChangeLogRetention || s == Setting::kTtlInterval;
}

Result<int64_t> ParsePositive(std::string_view text, int64_t max, std::string_view where) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || v < 1 || v > max) {
    return OptionError(where, "'" + std::string(text) + "' is not a whole number from 1 to " + std::to_string(max));
  }
  return v;
}

Result<uint16_t> ParsePort(std::string_view text, std::string_view where) {
  uint32_t port = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || port > 65535) {
    return OptionError(where, "'" + std::string(text) + "' is not a port number (0-65535)");
  }
  return static_cast<uint16_t>(port);
}

// Stores `text` as the value of `spec`. `where` names the source in error messages.
Status Apply(const OptionSpec& spec, std::string_view text, std::string_view where,
             ServerOptions* options) {
  switch (spec.setting) {
    case Setting::kDataDir:
      if (text.empty()) return OptionError(where, "must not be empty");
      options->data_dir = std::string(text);
      return Status::OK();
    case Setting::kBind:
      options->bind = std::string(text);
      return Status::OK();
    case Setting::kMongoPort: {
      AMALGAM_ASSIGN_OR_RETURN(options->mongo_port, ParsePort(text, where));
      return Status::OK();
    }
    case Setting::kDynamoPort: {
      AMALGAM_ASSIGN_OR_RETURN(options->dynamo_port, ParsePort(text, where));
      return Status::OK();
    }
    case Setting::kHttpPort: {
      AMALGAM_ASSIGN_OR_RETURN(options->http_port, ParsePort(text, where));
      return Status::OK();
    }
    case Setting::kConfig:
      if (text.empty()) return OptionError(where, "must not be empty");
      options->config_path = std::string(text);
      return Status::OK();
    case Setting::kLogLevel:
      if (!ParseLogLevel(text, &options->log_level)) {
        return OptionError(
            where, "'" + std::string(text) + "' is not a log level (debug, info, warning, error)");
      }
      return Status::OK();
    case Setting::kDurability:
      if (text == "process") {
        options->durability = Durability::kProcess;
      } else if (text == "fsync") {
        options->durability = Durability::kFsync;
      } else {
        return OptionError(where, "'" + std::string(text) +
                                      "' is not a durability mode "
                                      "(process, fsync)");
      }
      return Status::OK();
    case Setting::kChangeLogRetention: {
      AMALGAM_ASSIGN_OR_RETURN(options->change_log_retention_seconds,
                               ParsePositive(text, 10LL * 365 * 86400, where));
      return Status::OK();
    }
    case Setting::kTtlInterval: {
      AMALGAM_ASSIGN_OR_RETURN(options->ttl_interval_millis, ParsePositive(text, 86'400'000, where));
      return Status::OK();
    }
  }
  return InternalError("unhandled option setting");
}

// Applies the settings of the config file at `path`, read through `reader`.
Status ApplyConfigFile(const std::string& path, const FileReader& reader, ServerOptions* options) {
  Result<std::string> text = reader(path);
  if (!text.ok()) return text.status().WithContext("--config");
  Result<std::vector<ConfigEntry>> entries = ParseConfigText(*text, path);
  if (!entries.ok()) {
    return Status(ErrorCode::kInvalidOptions,
                  "--config " + std::string(entries.status().message()));
  }
  for (const ConfigEntry& entry : *entries) {
    std::string where = path + ":" + std::to_string(entry.line) + ": " + entry.key;
    const OptionSpec* spec = FindByKey(entry.key);
    if (spec == nullptr) return OptionError(where, "unknown setting");
    const ConfigValue& value = entry.value;
    ConfigValue::Type want =
        IsIntegerSetting(spec->setting) ? ConfigValue::Type::kInteger : ConfigValue::Type::kString;
    if (value.type != want) {
      return OptionError(where, "expected " + std::string(ConfigTypeName(want)) + ", got " +
                                    std::string(ConfigTypeName(value.type)));
    }
    std::string text_value =
        want == ConfigValue::Type::kInteger ? std::to_string(value.int_value) : value.string_value;
    AMALGAM_RETURN_IF_ERROR(Apply(*spec, text_value, where, options));
  }
  return Status::OK();
}

bool IsIpLiteral(const std::string& text) {
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, text.c_str(), buf) == 1 || inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

Status Validate(const ServerOptions& options) {
  if (options.data_dir.empty()) return OptionError("--data-dir", "is required");
  if (!IsIpLiteral(options.bind)) {
    return OptionError("--bind", "'" + options.bind + "' is not an IPv4 or IPv6 address");
  }
  const std::pair<std::string_view, uint16_t> ports[] = {{"--mongo-port", options.mongo_port},
                                                         {"--dynamo-port", options.dynamo_port},
                                                         {"--http-port", options.http_port}};
  for (size_t i = 0; i < std::size(ports); ++i) {
    for (size_t j = i + 1; j < std::size(ports); ++j) {
      if (ports[i].second != 0 && ports[i].second == ports[j].second) {
        return OptionError(ports[j].first, "port " + std::to_string(ports[j].second) +
                                               " is also the " + std::string(ports[i].first));
      }
    }
  }
  return Status::OK();
}

struct FlagValue {
  const OptionSpec* spec;
  std::string value;
};

}  // namespace

std::string_view DurabilityName(Durability durability) {
  return durability == Durability::kFsync ? "fsync" : "process";
}

std::string_view Version() { return AMALGAM_VERSION; }

std::string VersionText() { return "amalgamd " + std::string(Version()) + "\n"; }

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IOError("cannot open '" + path + "'");
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return IOError("cannot read '" + path + "'");
  return buf.str();
}

Result<Invocation> ParseCommandLine(std::span<const std::string_view> args,
                                    const FileReader& reader) {
  Invocation invocation;
  for (std::string_view arg : args) {
    if (arg == "--help" || arg == "-h") {
      invocation.command = Command::kHelp;
      return invocation;
    }
    if (arg == "--version") {
      invocation.command = Command::kVersion;
      return invocation;
    }
  }

  std::vector<FlagValue> given;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string_view arg = args[i];
    if (arg.size() < 3 || arg.substr(0, 2) != "--") {
      return Status(ErrorCode::kInvalidOptions,
                    "unexpected argument '" + std::string(arg) + "' (options start with --)");
    }
    size_t eq = arg.find('=');
    std::string_view flag = arg.substr(0, eq);
    const OptionSpec* spec = FindByFlag(flag);
    if (spec == nullptr) {
      if (flag == "--help" || flag == "--version") {
        return OptionError(flag, "takes no value");
      }
      return Status(ErrorCode::kInvalidOptions, "unknown option " + std::string(flag));
    }
    std::string_view value;
    if (eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
    } else {
      // A following "--something" is the next option, not this one's value: `--opt=--x` still
      // passes such a value.
      if (i + 1 >= args.size() || args[i + 1].substr(0, 2) == "--") {
        return OptionError(flag, "missing value (" + std::string(spec->metavar) + ")");
      }
      value = args[++i];
    }
    given.push_back(FlagValue{spec, std::string(value)});
  }

  ServerOptions& options = invocation.options;
  // The config file first, so that command-line values override it.
  for (const FlagValue& fv : given) {
    if (fv.spec->setting == Setting::kConfig) {
      AMALGAM_RETURN_IF_ERROR(Apply(*fv.spec, fv.value, fv.spec->flag, &options));
    }
  }
  if (!options.config_path.empty()) {
    AMALGAM_RETURN_IF_ERROR(ApplyConfigFile(options.config_path, reader, &options));
  }
  for (const FlagValue& fv : given) {
    AMALGAM_RETURN_IF_ERROR(Apply(*fv.spec, fv.value, fv.spec->flag, &options));
  }
  AMALGAM_RETURN_IF_ERROR(Validate(options));
  return invocation;
}

std::string UsageText() {
  std::string out =
      "usage: amalgamd --data-dir DIR [options]\n"
      "\n"
      "Amalgam: the MongoDB wire protocol and the DynamoDB API over one storage engine.\n"
      "Options take a value as '--opt value' or '--opt=value'.\n"
      "\n"
      "options:\n";
  auto add_line = [&out](std::string left, std::string_view help, std::string_view def) {
    constexpr size_t kColumn = 26;
    out += "  ";
    out += left;
    out += left.size() < kColumn ? std::string(kColumn - left.size(), ' ') : std::string(" ");
    out += help;
    if (!def.empty()) {
      out += " (default: ";
      out += def;
      out += ")";
    }
    out += "\n";
  };
  for (const OptionSpec& spec : kOptions) {
    add_line(std::string(spec.flag) + " " + std::string(spec.metavar), spec.help,
             spec.default_text);
  }
  add_line("--help, -h", "print this help and exit", "");
  add_line("--version", "print the version and exit", "");
  out +=
      "\n"
      "config file keys (TOML, optionally under [server]):\n"
      "  ";
  bool first = true;
  for (const OptionSpec& spec : kOptions) {
    if (spec.key.empty()) continue;
    if (!first) out += ", ";
    out += spec.key;
    first = false;
  }
  out +=
      "\n"
      "\n"
      "Once every listener is up, the chosen ports are written to DIR/amalgamd.ports as JSON.\n"
      "Exit codes: 0 clean shutdown (SIGTERM/SIGINT), 1 runtime failure (e.g. a port in use),\n"
      "2 bad command line or config file.\n";
  return out;
}

}  // namespace amalgam::server
