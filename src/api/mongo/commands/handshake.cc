// Handshake, diagnostics and session commands: what drivers and shells send unasked.
#include <sys/sysinfo.h>
#include <unistd.h>

#include <random>
#include <thread>

#include "api/mongo/command.h"
#include "api/mongo/service.h"
#include "api/mongo/session.h"
#include "engine/engine.h"

namespace amalgam::api::mongo {
namespace {

constexpr int32_t kMaxBsonObjectSize = 16 * 1024 * 1024;
constexpr int32_t kMaxWriteBatchSize = 100000;
constexpr int32_t kMaxWireVersion = 21;  // MongoDB 7.0
constexpr int32_t kSessionTimeoutMinutes = 30;

std::string HostPort(const MongoService& s) {
  return s.options().advertised_host + ":" + std::to_string(s.options().port);
}

Status Hello(CommandContext& ctx, bson::Builder& r, bool legacy_name) {
  MongoService& s = ctx.service;
  bson::Value client = ctx.cmd.Get("client");
  if (client.type() == bson::BsonType::kDocument) ctx.conn.client_metadata = bson::Document(client.AsDocument());
  std::string me = HostPort(s);
  if (ctx.cmd.Get("helloOk").type() == bson::BsonType::kBool) r.AppendBool("helloOk", true);
  r.StartArray("hosts").AppendString("0", me).EndArray();
  r.AppendString("setName", s.options().replica_set);
  r.AppendInt32("setVersion", 1);
  r.AppendBool(legacy_name ? "ismaster" : "isWritablePrimary", true);
  r.AppendBool("secondary", false);
  r.AppendString("primary", me);
  r.AppendString("me", me);
  static const uint8_t kElectionId[12] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1};
  r.AppendObjectId("electionId", std::span<const uint8_t, 12>(kElectionId, 12));
  int64_t now = s.clock().NowMillis();
  r.StartDocument("lastWrite");
  r.StartDocument("opTime").AppendTimestamp("ts", static_cast<uint32_t>(now / 1000), 1).AppendInt64("t", 1).EndDocument();
  r.AppendDate("lastWriteDate", now / 1000 * 1000);
  r.StartDocument("majorityOpTime").AppendTimestamp("ts", static_cast<uint32_t>(now / 1000), 1).AppendInt64("t", 1).EndDocument();
  r.AppendDate("majorityWriteDate", now / 1000 * 1000);
  r.EndDocument();
  r.AppendInt32("maxBsonObjectSize", kMaxBsonObjectSize);
  r.AppendInt32("maxMessageSizeBytes", kMaxMessageSize);
  r.AppendInt32("maxWriteBatchSize", kMaxWriteBatchSize);
  r.AppendDate("localTime", now);
  r.AppendInt32("logicalSessionTimeoutMinutes", kSessionTimeoutMinutes);
  r.AppendInt64("connectionId", ctx.conn.connection_id);
  r.AppendInt32("minWireVersion", 0);
  r.AppendInt32("maxWireVersion", kMaxWireVersion);
  r.AppendBool("readOnly", false);
  return Status::OK();
}

Status BuildInfo(CommandContext& ctx, bson::Builder& r) {
  const std::string& v = ctx.service.options().version;
  r.AppendString("version", v);
  r.AppendString("gitVersion", "amalgam-" + ctx.service.options().amalgam_version);
  r.StartArray("modules").EndArray();
  r.AppendString("allocator", "system");
  r.AppendString("javascriptEngine", "none");
  r.AppendString("sysInfo", "deprecated");
  r.StartArray("versionArray");
  int parts[4] = {0, 0, 0, 0};
  std::sscanf(v.c_str(), "%d.%d.%d", &parts[0], &parts[1], &parts[2]);
  for (int i = 0; i < 4; ++i) r.AppendInt32(std::to_string(i), parts[i]);
  r.EndArray();
  r.StartDocument("openssl").AppendString("running", "disabled").AppendString("compiled", "disabled").EndDocument();
  r.StartDocument("buildEnvironment")
      .AppendString("distmod", "debian12")
      .AppendString("target_arch", "x86_64")
      .AppendString("target_os", "linux")
      .EndDocument();
  r.AppendInt32("bits", 64);
  r.AppendBool("debug", false);
  r.AppendInt32("maxBsonObjectSize", kMaxBsonObjectSize);
  r.StartArray("storageEngines").AppendString("0", "amalgam").EndArray();
  return Status::OK();
}

Status GetParameter(CommandContext& ctx, bson::Builder& r) {
  bson::Value all = ctx.cmd.begin()->value;
  bool star = all.type() == bson::BsonType::kString && all.AsString() == "*";
  bool any = false;
  auto want = [&](std::string_view name) { return star || !ctx.cmd.Get(name).missing(); };
  if (want("featureCompatibilityVersion")) {
    r.StartDocument("featureCompatibilityVersion").AppendString("version", "7.0").EndDocument();
    any = true;
  }
  if (want("authenticationMechanisms")) {
    r.StartArray("authenticationMechanisms").EndArray();
    any = true;
  }
  if (want("logLevel")) {
    r.AppendInt32("logLevel", 0);
    any = true;
  }
  if (!any) return Status(ErrorCode::kInvalidOptions, "no option found to get");
  return Status::OK();
}

Status ServerStatus(CommandContext& ctx, bson::Builder& r) {
  MongoService& s = ctx.service;
  ServiceStats& st = s.stats();
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  int64_t now = s.clock().NowMillis();
  r.AppendString("host", host);
  r.AppendString("version", s.options().version);
  r.AppendString("process", "amalgamd");
  r.AppendInt64("pid", static_cast<int64_t>(getpid()));
  r.AppendDouble("uptime", static_cast<double>(now - s.start_millis()) / 1000.0);
  r.AppendInt64("uptimeMillis", now - s.start_millis());
  r.AppendInt64("uptimeEstimate", (now - s.start_millis()) / 1000);
  r.AppendDate("localTime", now);
  r.StartDocument("connections")
      .AppendInt32("current", static_cast<int32_t>(st.connections_current.load()))
      .AppendInt32("available", 1000000)
      .AppendInt32("totalCreated", static_cast<int32_t>(st.connections_total.load()))
      .EndDocument();
  r.StartDocument("opcounters")
      .AppendInt64("insert", st.insert.load())
      .AppendInt64("query", st.query.load())
      .AppendInt64("update", st.update.load())
      .AppendInt64("delete", st.remove.load())
      .AppendInt64("getmore", st.getmore.load())
      .AppendInt64("command", st.command.load())
      .EndDocument();
  r.StartDocument("metrics").StartDocument("cursor").StartDocument("open")
      .AppendInt64("total", static_cast<int64_t>(s.cursors().open()))
      .EndDocument().EndDocument().EndDocument();
  r.StartDocument("storageEngine").AppendString("name", "amalgam").AppendBool("supportsCommittedReads", true).EndDocument();
  return Status::OK();
}

Status HostInfo(CommandContext& ctx, bson::Builder& r) {
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  struct sysinfo info {};
  sysinfo(&info);
  r.StartDocument("system")
      .AppendDate("currentTime", ctx.service.clock().NowMillis())
      .AppendString("hostname", host)
      .AppendInt32("cpuAddrSize", 64)
      .AppendInt64("memSizeMB", static_cast<int64_t>(info.totalram / (1024 * 1024) * info.mem_unit))
      .AppendInt32("numCores", static_cast<int32_t>(std::thread::hardware_concurrency()))
      .AppendString("cpuArch", "x86_64")
      .AppendBool("numaEnabled", false)
      .EndDocument();
  r.StartDocument("os").AppendString("type", "Linux").AppendString("name", "Debian").EndDocument();
  r.StartDocument("extra").EndDocument();
  return Status::OK();
}

Status GetLog(CommandContext& ctx, bson::Builder& r) {
  bson::Value which = ctx.cmd.begin()->value;
  if (which.type() != bson::BsonType::kString) {
    return Status(ErrorCode::kTypeMismatch, "Argument to getLog must be of type String");
  }
  if (which.AsString() == "*") {
    r.StartArray("names").AppendString("0", "global").AppendString("1", "startupWarnings").EndArray();
    return Status::OK();
  }
  if (which.AsString() != "global" && which.AsString() != "startupWarnings") {
    return Status(ErrorCode::kOperationFailed, "No log named '" + std::string(which.AsString()) + "'");
  }
  r.AppendInt32("totalLinesWritten", 0);
  r.StartArray("log").EndArray();
  return Status::OK();
}

Status StartSession(CommandContext& ctx, bson::Builder& r) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint8_t uuid[16];
  for (int i = 0; i < 16; i += 8) {
    uint64_t x = rng();
    std::memcpy(uuid + i, &x, 8);
  }
  uuid[6] = (uuid[6] & 0x0F) | 0x40;
  uuid[8] = (uuid[8] & 0x3F) | 0x80;
  r.StartDocument("id").AppendBinary("id", 4, uuid).EndDocument();
  r.AppendInt32("timeoutMinutes", kSessionTimeoutMinutes);
  std::string key(reinterpret_cast<const char*>(uuid), 16);
  static const char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (uint8_t b : uuid) hex += {kDigits[b >> 4], kDigits[b & 15]};
  ctx.service.sessions().GetOrCreate(key, hex, ctx.service.clock().NowMillis());
  return Status::OK();
}

// endSessions / refreshSessions / killSessions: an array of lsids ({id: UUID}). killSessions
// with an empty array, and killAllSessions, end every session.
Status SessionList(CommandContext& ctx, bson::Builder&, std::string_view verb) {
  bson::Value list = ctx.cmd.begin()->value;
  if (list.type() != bson::BsonType::kArray) return WrongTypeError(verb, verb, list, "array");
  SessionRegistry& reg = ctx.service.sessions();
  if (verb == "killAllSessions" || (verb == "killSessions" && list.AsDocument().empty())) {
    reg.EndAll();
    return Status::OK();
  }
  int64_t now = ctx.service.clock().NowMillis();
  for (const bson::Element& e : list.AsDocument()) {
    AMALGAM_ASSIGN_OR_RETURN(std::string key, SessionKeyOf(e.value, nullptr));
    if (verb == "refreshSessions") {
      reg.Refresh(key, now);
    } else {
      reg.End(key);
    }
  }
  return Status::OK();
}

Status Ok(CommandContext&, bson::Builder&) { return Status::OK(); }

// fsync: writes every memtable out to SST files (acknowledged writes are already in the WAL;
// this makes the data files alone current, e.g. before a file-level backup or after a bulk
// load). The write lock of `lock: true` is not offered: the data directory is only consistent
// for copying while amalgamd is stopped.
Status Fsync(CommandContext& ctx, bson::Builder& r) {
  for (const bson::Element& e : ctx.cmd) {
    if (e.name == "lock" && TruthyValue(e.value)) {
      return Status(ErrorCode::kIllegalOperation,
                    "fsync with lock: true is not supported by Amalgam; stop amalgamd to copy its data directory");
    }
  }
  AMALGAM_RETURN_IF_ERROR(ctx.engine.store().Flush());
  r.AppendInt32("numFiles", 1);
  return Status::OK();
}

}  // namespace

void RegisterHandshakeCommands(CommandRegistry& reg) {
  reg.Add({"hello", [](CommandContext& c, bson::Builder& r) { return Hello(c, r, false); }});
  reg.Add({"isMaster", [](CommandContext& c, bson::Builder& r) { return Hello(c, r, true); }});
  reg.Add({"ping", Ok});
  reg.Add({"fsync", Fsync, true});
  reg.Add({"buildInfo", BuildInfo});
  reg.Add({"buildinfo", BuildInfo});
  reg.Add({"getParameter", GetParameter, true});
  reg.Add({"serverStatus", ServerStatus});
  reg.Add({"hostInfo", HostInfo});
  reg.Add({"getLog", GetLog, true});
  reg.Add({"startSession", StartSession});
  reg.Add({"endSessions", [](CommandContext& c, bson::Builder& r) { return SessionList(c, r, "endSessions"); }});
  reg.Add({"refreshSessions", [](CommandContext& c, bson::Builder& r) { return SessionList(c, r, "refreshSessions"); }});
  reg.Add({"killSessions", [](CommandContext& c, bson::Builder& r) { return SessionList(c, r, "killSessions"); }});
  reg.Add({"killAllSessions", [](CommandContext& c, bson::Builder& r) { return SessionList(c, r, "killAllSessions"); }});
  reg.Add({"whatsmyuri", [](CommandContext& c, bson::Builder& r) {
             r.AppendString("you", c.conn.peer);
             return Status::OK();
           }});
  reg.Add({"getCmdLineOpts", [](CommandContext& c, bson::Builder& r) {
             r.StartArray("argv");
             bson::ArrayBuilder a(r);
             for (const std::string& arg : c.service.options().argv) r.AppendString(a.Next(), arg);
             r.EndArray();
             r.StartDocument("parsed").EndDocument();
             return Status::OK();
           }, true});
  reg.Add({"connectionStatus", [](CommandContext& c, bson::Builder& r) {
             r.StartDocument("authInfo");
             r.StartArray("authenticatedUsers").EndArray();
             r.StartArray("authenticatedUserRoles").EndArray();
             r.EndDocument();
             return Status::OK();
           }});
  reg.Add({"listCommands", [](CommandContext& c, bson::Builder& r) {
             r.StartDocument("commands");
             for (const auto& [name, spec] : c.service.registry().all()) {
               r.StartDocument(name).AppendBool("adminOnly", spec.admin_only).EndDocument();
             }
             r.EndDocument();
             return Status::OK();
           }});
}

}  // namespace amalgam::api::mongo
