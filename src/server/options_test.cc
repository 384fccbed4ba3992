#include "server/options.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace amalgam::server {
namespace {

// Parses `args` with config files served from `files` instead of the disk.
Result<Invocation> Parse(std::vector<std::string_view> args,
                         std::map<std::string, std::string> files = {}) {
  FileReader reader = [files](const std::string& path) -> Result<std::string> {
    auto it = files.find(path);
    if (it == files.end()) return IOError("cannot open '" + path + "'");
    return it->second;
  };
  return ParseCommandLine(args, reader);
}

// The error message of a parse that must fail (with kInvalidOptions).
std::string ErrorOf(std::vector<std::string_view> args,
                    std::map<std::string, std::string> files = {}) {
  Result<Invocation> r = Parse(std::move(args), std::move(files));
  EXPECT_FALSE(r.ok());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidOptions) << r.status().ToString();
  return std::string(r.status().message());
}

TEST(OptionsTest, DefaultsNeedOnlyDataDir) {
  Result<Invocation> r = Parse({"--data-dir", "/tmp/x"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->command, Command::kRun);
  const ServerOptions& o = r->options;
  EXPECT_EQ(o.data_dir, "/tmp/x");
  EXPECT_EQ(o.bind, "127.0.0.1");
  EXPECT_EQ(o.mongo_port, 27017);
  EXPECT_EQ(o.dynamo_port, 8000);
  EXPECT_EQ(o.http_port, 9090);
  EXPECT_EQ(o.log_level, LogLevel::kInfo);
  EXPECT_EQ(o.durability, Durability::kProcess);
  EXPECT_EQ(o.config_path, "");
}

TEST(OptionsTest, AcceptsSpaceAndEqualsForms) {
  Result<Invocation> r =
      Parse({"--data-dir=d", "--bind", "0.0.0.0", "--mongo-port=1", "--dynamo-port", "2",
             "--http-port=0", "--log-level", "debug", "--durability=fsync"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ServerOptions& o = r->options;
  EXPECT_EQ(o.data_dir, "d");
  EXPECT_EQ(o.bind, "0.0.0.0");
  EXPECT_EQ(o.mongo_port, 1);
  EXPECT_EQ(o.dynamo_port, 2);
  EXPECT_EQ(o.http_port, 0);
  EXPECT_EQ(o.log_level, LogLevel::kDebug);
  EXPECT_EQ(o.durability, Durability::kFsync);
}

TEST(OptionsTest, PortZeroMayRepeatButOtherPortsMustDiffer) {
  EXPECT_TRUE(Parse({"--data-dir=d", "--mongo-port=0", "--dynamo-port=0", "--http-port=0"}).ok());
  EXPECT_EQ(ErrorOf({"--data-dir=d", "--mongo-port=7000", "--http-port=7000"}),
            "--http-port: port 7000 is also the --mongo-port");
}

TEST(OptionsTest, LastRepeatedOptionWins) {
  Result<Invocation> r = Parse({"--data-dir=a", "--data-dir=b", "--http-port=1", "--http-port=2"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->options.data_dir, "b");
  EXPECT_EQ(r->options.http_port, 2);
}

TEST(OptionsTest, HelpAndVersionWinOverEverythingElse) {
  EXPECT_EQ(Parse({"--help"})->command, Command::kHelp);
  EXPECT_EQ(Parse({"-h"})->command, Command::kHelp);
  EXPECT_EQ(Parse({"--bogus", "--help"})->command, Command::kHelp);
  EXPECT_EQ(Parse({"--version"})->command, Command::kVersion);
  EXPECT_EQ(Parse({"--mongo-port=x", "--version"})->command, Command::kVersion);
}

struct BadCase {
  std::vector<std::string_view> args;
  std::string message;
};

TEST(OptionsTest, RejectsBadCommandLinesNamingTheOption) {
  const BadCase cases[] = {
      {{}, "--data-dir: is required"},
      {{"--bind", "::1"}, "--data-dir: is required"},
      {{"--data-dir"}, "--data-dir: missing value (DIR)"},
      {{"--data-dir", "--bind", "x"}, "--data-dir: missing value (DIR)"},
      {{"--data-dir="}, "--data-dir: must not be empty"},
      {{"--data-dir=d", "--nope"}, "unknown option --nope"},
      {{"--data-dir=d", "--nope=1"}, "unknown option --nope"},
      {{"--data-dir=d", "stray"}, "unexpected argument 'stray' (options start with --)"},
      {{"--data-dir=d", "-x"}, "unexpected argument '-x' (options start with --)"},
      {{"--data-dir=d", "--help=yes"}, "--help: takes no value"},
      {{"--data-dir=d", "--mongo-port", "abc"},
       "--mongo-port: 'abc' is not a port number (0-65535)"},
      {{"--data-dir=d", "--dynamo-port=65536"},
       "--dynamo-port: '65536' is not a port number (0-65535)"},
      {{"--data-dir=d", "--http-port=-1"}, "--http-port: '-1' is not a port number (0-65535)"},
      {{"--data-dir=d", "--http-port="}, "--http-port: '' is not a port number (0-65535)"},
      {{"--data-dir=d", "--http-port=80x"}, "--http-port: '80x' is not a port number (0-65535)"},
      {{"--data-dir=d", "--log-level=loud"},
       "--log-level: 'loud' is not a log level (debug, info, warning, error)"},
      {{"--data-dir=d", "--durability=maybe"},
       "--durability: 'maybe' is not a durability mode (process, fsync)"},
      {{"--data-dir=d", "--bind=localhost"}, "--bind: 'localhost' is not an IPv4 or IPv6 address"},
      {{"--data-dir=d", "--bind=1.2.3"}, "--bind: '1.2.3' is not an IPv4 or IPv6 address"},
  };
  for (const BadCase& c : cases) {
    SCOPED_TRACE(testing::PrintToString(c.args));
    EXPECT_EQ(ErrorOf(c.args), c.message);
  }
}

TEST(OptionsTest, AcceptsIpv6Bind) {
  Result<Invocation> r = Parse({"--data-dir=d", "--bind=::"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->options.bind, "::");
}

TEST(OptionsTest, ConfigFileSetsEveryKey) {
  std::map<std::string, std::string> files = {{"a.toml", R"(
# all keys, in the [server] table
[server]
data_dir = "/data"
bind = '0.0.0.0'
mongo_port = 1_000
dynamo_port = 2000   # comment
http_port = 0
log_level = "warning"
durability = "fsync"
)"}};
  Result<Invocation> r = Parse({"--config", "a.toml"}, files);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const ServerOptions& o = r->options;
  EXPECT_EQ(o.config_path, "a.toml");
  EXPECT_EQ(o.data_dir, "/data");
  EXPECT_EQ(o.bind, "0.0.0.0");
  EXPECT_EQ(o.mongo_port, 1000);
  EXPECT_EQ(o.dynamo_port, 2000);
  EXPECT_EQ(o.http_port, 0);
  EXPECT_EQ(o.log_level, LogLevel::kWarning);
  EXPECT_EQ(o.durability, Durability::kFsync);
}

TEST(OptionsTest, ChangeLogRetentionAndTtlIntervalFromLineOrFile) {
  Result<Invocation> r = Parse({"--data-dir=d"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->options.change_log_retention_seconds, 86400);
  EXPECT_EQ(r->options.ttl_interval_millis, 1000);
  r = Parse({"--data-dir=d", "--change-log-retention", "5", "--ttl-interval-ms=100"});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->options.change_log_retention_seconds, 5);
  EXPECT_EQ(r->options.ttl_interval_millis, 100);
  std::map<std::string, std::string> files = {
      {"a.toml", "data_dir = \"/d\"\nchange_log_retention = 3600\nttl_interval_ms = 250\n"}};
  r = Parse({"--config", "a.toml"}, files);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->options.change_log_retention_seconds, 3600);
  EXPECT_EQ(r->options.ttl_interval_millis, 250);
  EXPECT_EQ(ErrorOf({"--data-dir=d", "--change-log-retention=0"}),
            "--change-log-retention: '0' is not a whole number from 1 to 315360000");
  EXPECT_EQ(ErrorOf({"--data-dir=d", "--ttl-interval-ms=soon"}),
            "--ttl-interval-ms: 'soon' is not a whole number from 1 to 86400000");
}

TEST(OptionsTest, CommandLineWinsOverConfigFileWhicheverComesFirst) {
  std::map<std::string, std::string> files = {
      {"a.toml", "data_dir = \"/from-file\"\nhttp_port = 1234\nmongo_port = 5\n"}};
  for (auto args : {std::vector<std::string_view>{"--http-port=99", "--config=a.toml"},
                    std::vector<std::string_view>{"--config=a.toml", "--http-port=99"}}) {
    Result<Invocation> r = Parse(args, files);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->options.data_dir, "/from-file");
    EXPECT_EQ(r->options.http_port, 99);
    EXPECT_EQ(r->options.mongo_port, 5);
  }
}

TEST(OptionsTest, RejectsBadConfigFilesNamingFileLineAndKey) {
  std::map<std::string, std::string> files = {
      {"port_string.toml", "data_dir = \"d\"\nhttp_port = \"80\"\n"},
      {"dir_int.toml", "data_dir = 5\n"},
      {"unknown.toml", "data_dir = \"d\"\nhtp_port = 1\n"},
      {"config_key.toml", "config = \"other.toml\"\n"},
      {"range.toml", "mongo_port = 70000\n"},
      {"level.toml", "log_level = \"loud\"\n"},
      {"bool.toml", "bind = true\n"},
      {"syntax.toml", "data_dir = \"d\n"},
  };
  EXPECT_EQ(ErrorOf({"--config=port_string.toml"}, files),
            "port_string.toml:2: http_port: expected an integer, got a string");
  EXPECT_EQ(ErrorOf({"--config=dir_int.toml"}, files),
            "dir_int.toml:1: data_dir: expected a string, got an integer");
  EXPECT_EQ(ErrorOf({"--config=unknown.toml"}, files), "unknown.toml:2: htp_port: unknown setting");
  EXPECT_EQ(ErrorOf({"--config=config_key.toml"}, files),
            "config_key.toml:1: config: unknown setting");
  EXPECT_EQ(ErrorOf({"--data-dir=d", "--config=range.toml"}, files),
            "range.toml:1: mongo_port: '70000' is not a port number (0-65535)");
  EXPECT_EQ(ErrorOf({"--data-dir=d", "--config=level.toml"}, files),
            "level.toml:1: log_level: 'loud' is not a log level (debug, info, warning, error)");
  EXPECT_EQ(ErrorOf({"--config=bool.toml"}, files),
            "bool.toml:1: bind: expected a string, got a boolean");
  EXPECT_EQ(ErrorOf({"--config=syntax.toml"}, files),
            "--config syntax.toml:1: data_dir: string has no closing quote");
}

TEST(OptionsTest, UnreadableConfigFileIsAnErrorNamingTheOption) {
  Result<Invocation> r = Parse({"--data-dir=d", "--config", "missing.toml"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "--config: cannot open 'missing.toml'");
}

TEST(OptionsTest, UsageMentionsEveryOptionAndDefault) {
  std::string usage = UsageText();
  for (std::string_view needle :
       {"--data-dir", "--bind", "--mongo-port", "--dynamo-port", "--http-port", "--config",
        "--log-level", "--durability", "--help", "--version", "127.0.0.1", "27017", "8000", "9090",
        "default: info", "default: process", "data_dir", "mongo_port", "durability"}) {
    EXPECT_NE(usage.find(needle), std::string::npos) << needle;
  }
}

TEST(OptionsTest, VersionTextNamesTheBinary) {
  EXPECT_EQ(VersionText(), "amalgamd " + std::string(Version()) + "\n");
  EXPECT_FALSE(Version().empty());
}

}  // namespace
}  // namespace amalgam::server
