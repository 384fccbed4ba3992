#include "api/mongo/service.h"

#include <exception>

#include "api/mongo/error_reply.h"
#include "api/mongo/session.h"
#include "api/mongo/commands/search_indexes.h"
#include "common/logging.h"
#include "engine/engine.h"

namespace amalgam::api::mongo {
namespace {

bool IsHandshake(std::string_view name) { return name == "hello" || name == "isMaster" || name == "ismaster"; }

}  // namespace

MongoService::MongoService(engine::Engine& engine, Clock& clock, ServiceOptions options)
    : engine_(engine), clock_(clock), options_(std::move(options)), cursors_(std::make_unique<CursorManager>()) {
  sessions_ = std::make_unique<SessionRegistry>(engine_, *cursors_);
  start_millis_ = clock_.NowMillis();
  RegisterHandshakeCommands(registry_);
  RegisterDatabaseCommands(registry_);
  RegisterIndexCommands(registry_);
  RegisterCrudCommands(registry_);
  RegisterFindCommands(registry_);
  RegisterWriteCommands(registry_);
  RegisterAggregateCommands(registry_);
  RegisterSearchIndexCommands(registry_);
  RegisterSessionCommands(registry_);
}

MongoService::~MongoService() = default;

void MongoService::AppendClusterTime(bson::Builder& reply) {
  uint64_t now = static_cast<uint64_t>(clock_.NowMillis() / 1000) << 32;
  uint64_t last = last_cluster_time_.load();
  uint64_t next;
  do {
    next = std::max(now, last + 1);
  } while (!last_cluster_time_.compare_exchange_weak(last, next));
  uint32_t secs = static_cast<uint32_t>(next >> 32), inc = static_cast<uint32_t>(next);
  static const uint8_t kZeroHash[20] = {};
  reply.StartDocument("$clusterTime");
  reply.AppendTimestamp("clusterTime", secs, inc);
  reply.StartDocument("signature").AppendBinary("hash", 0, kZeroHash).AppendInt64("keyId", 0).EndDocument();
  reply.EndDocument();
  reply.AppendTimestamp("operationTime", secs, inc);
}

bson::Document MongoService::RunCommand(ConnectionState& conn, const Request& request) {
  bson::Builder reply;
  Status status;
  if (request.body.empty()) {
    status = Status(ErrorCode::kFailedToParse, "Empty command object");
  } else {
    std::string_view name = request.body.begin()->name;
    const CommandSpec* spec = registry_.Find(name);
    std::string db;
    if (request.legacy) {
      size_t dot = request.legacy_namespace.find('.');
      db = request.legacy_namespace.substr(0, dot);
    } else {
      bson::Value v = request.body.Get("$db");
      if (v.type() == bson::BsonType::kString) db = std::string(v.AsString());
    }
    if (spec == nullptr) {
      status = Status(ErrorCode::kCommandNotFound, "no such command: '" + std::string(name) + "'");
    } else if (request.legacy && !IsHandshake(name)) {
      status = Status(ErrorCode::kUnsupportedOpQueryCommand,
                      "Unsupported OP_QUERY command: " + std::string(name) + ". The client driver may require an upgrade.");
    } else if (db.empty()) {
      status = Status(ErrorCode::kOpMsgMissingDb, "OP_MSG requests require a $db argument");
    } else if (spec->admin_only && db != "admin") {
      status = Status(ErrorCode::kUnauthorized, std::string(name) + " may only be run against the admin database.");
    } else {
      stats_.command++;
      CommandContext ctx{*this, engine_, conn, request, db, request.body};
      try {
        status = RunCommandInSession(*sessions_, ctx, *spec, reply);
      } catch (const std::exception& e) {
        status = InternalError(std::string("command ") + std::string(name) + " failed: " + e.what());
      }
      if (status.code() == ErrorCode::kInternalError) {
        AMALGAM_LOG(kError, "mongo") << "internal error in " << name << ": " << status.message();
      }
    }
  }
  if (!status.ok()) {
    bson::Builder err;
    AppendError(err, status);
    AppendClusterTime(err);
    return std::move(err).Finish();
  }
  reply.AppendDouble("ok", 1.0);
  AppendClusterTime(reply);
  return std::move(reply).Finish();
}

std::string MongoService::HandleMessage(ConnectionState& conn, std::span<const uint8_t> message, bool* close) {
  *close = false;
  auto request = ParseRequest(message);
  if (!request.ok()) {
    if (request.status().code() == ErrorCode::kInvalidLength || request.status().code() == ErrorCode::kNotImplemented ||
        message.size() < kHeaderSize) {
      AMALGAM_LOG(kWarning, "mongo") << "closing connection " << conn.connection_id << " from " << conn.peer << ": "
                                     << request.status().message();
      *close = true;
      return {};
    }
    // The frame is sound but its contents are not: answer with the error, keep the connection.
    auto header = ParseHeader(message);
    bson::Builder err;
    AppendError(err, request.status());
    bson::Document body = std::move(err).Finish();
    int32_t id = next_request_id_.fetch_add(1);
    if (header.ok() && header->op_code == kOpQuery) return BuildOpReply(id, header->request_id, body.view());
    return BuildOpMsg(id, header.ok() ? header->request_id : 0, 0, body.view());
  }
  bson::Document reply = RunCommand(conn, *request);
  if (conn.await.requested) return {};  // the caller waits, then runs the message again
  if (request->flags & kMoreToCome) return {};
  int32_t id = next_request_id_.fetch_add(1);
  if (request->legacy) return BuildOpReply(id, request->header.request_id, reply.view());
  return BuildOpMsg(id, request->header.request_id, 0, reply.view());
}

}  // namespace amalgam::api::mongo
