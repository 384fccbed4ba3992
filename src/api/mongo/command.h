#pragma once
// The command framework of the MongoDB face: what a command handler receives and how commands
// are registered. Handlers live in commands/*.cc, one file per family.

#include <chrono>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/mongo/wire.h"
#include "bson/builder.h"
#include "bson/document.h"
#include "common/result.h"

namespace amalgam::engine {
class Engine;
class WriteTxn;
}

namespace amalgam::api::mongo {

class MongoService;
class CursorManager;

// A handler's request to answer later (a change-stream getMore with nothing to return yet):
// the caller replies nothing now, waits until the change log passes after_seq or the deadline
// passes, then runs the same message again with rerun set (docs/change-streams.md).
struct AwaitRequest {
  bool requested = false;  // set by the handler; the caller resets it
  bool rerun = false;      // set by the caller while it runs the message again
  uint64_t after_seq = 0;
  std::chrono::steady_clock::time_point deadline{};
};

// Per-connection state. Touched only by the connection's own (sequential) requests.
struct ConnectionState {
  int64_t connection_id = 0;
  std::string peer;  // "ip:port" of the client
  bson::Document client_metadata;
  bool can_await = false;  // the caller honours AwaitRequest (else handlers wait in place)
  AwaitRequest await;
};

struct CommandContext {
  MongoService& service;
  engine::Engine& engine;
  ConnectionState& conn;
  const Request& request;
  std::string db;     // the command's $db
  bson::DocView cmd;  // the command document (body)
  // Documents of the OP_MSG kind-1 section named `identifier` merged with the array field of
  // the same name in the body; empty when neither is present. Errors: kTypeMismatch when the
  // body field is not an array of documents.
  Result<std::vector<bson::DocView>> DocumentsOf(std::string_view identifier) const;
  // True when the body has the field or a kind-1 section carries `identifier`.
  bool HasDocuments(std::string_view identifier) const;

  // Set while the command runs in a client transaction (in_transaction) or as a retryable write
  // (session.h, docs/transactions.md): its reads and writes then go through this transaction.
  engine::WriteTxn* txn = nullptr;
  bool in_transaction = false;
  // The first write failure that ends the transaction (any error in a client transaction, a
  // write conflict in a retryable write); the session runner acts on it after the handler.
  Status txn_failure;

  // Runs one write: in `txn` when set (no retry: a conflict is the client's to retry; in a
  // retryable write a failed statement is rolled back to its savepoint), else in
  // Engine::RunWrite with its conflict retries. Handlers write only through this.
  Status RunWrite(const std::function<Status(engine::WriteTxn&)>& fn);
};

// A handler appends its reply fields (everything but ok/$clusterTime/operationTime) to `reply`
// and returns OK, or returns an error status (and `reply` is discarded).
using CommandHandler = std::function<Status(CommandContext& ctx, bson::Builder& reply)>;

struct CommandSpec {
  std::string name;
  CommandHandler handler;
  bool admin_only = false;  // must run against the admin database
};

class CommandRegistry {
 public:
  void Add(CommandSpec spec);
  // Exact name first, then case-insensitive for the handful of legacy aliases MongoDB accepts
  // (isMaster / ismaster). nullptr when unknown.
  const CommandSpec* Find(std::string_view name) const;
  const std::map<std::string, CommandSpec, std::less<>>& all() const { return commands_; }

 private:
  std::map<std::string, CommandSpec, std::less<>> commands_;
};

// Families (commands/*.cc).
void RegisterHandshakeCommands(CommandRegistry& registry);
void RegisterDatabaseCommands(CommandRegistry& registry);
void RegisterIndexCommands(CommandRegistry& registry);
void RegisterCrudCommands(CommandRegistry& registry);
void RegisterFindCommands(CommandRegistry& registry);
void RegisterWriteCommands(CommandRegistry& registry);
void RegisterAggregateCommands(CommandRegistry& registry);

// Helpers shared by handlers.
// The collection name of a command whose first field names it ({find: "c"}). Errors:
// kInvalidNamespace (not a string / empty), naming the command.
Result<std::string> CollectionArg(const CommandContext& ctx);

// A document as it is stored by insert, $out and $merge: _id first (generated as an ObjectId
// when absent), checked against the storage limits. Errors: kBSONObjectTooLarge (over 16 MiB),
// kOverflow (nesting deeper than 100).
Result<bson::Document> PrepareForInsert(bson::DocView doc);
// A numeric or boolean option as MongoDB coerces it.
bool TruthyValue(const bson::Value& v);
// Arguments every command accepts (session, write/read concern, API version, ...).
bool IsGenericArgument(std::string_view name);
// MongoDB's type error: "BSON field '<command>.<field>' is the wrong type '<type>', expected
// type '<expected>'" (kTypeMismatch).
Status WrongTypeError(std::string_view command, std::string_view field, const bson::Value& v, std::string_view expected);
// "BSON field '<command>.<field>' is missing but a required field" (kMissingRequiredField).
Status MissingFieldError(std::string_view command, std::string_view field);
// Rejects fields of `cmd` (after the first) that are neither generic nor in `known`
// (kUnknownField "BSON field '<command>.<name>' is an unknown field.").
Status CheckKnownFields(bson::DocView cmd, std::initializer_list<std::string_view> known);
// A write command's `ordered` (default true). Errors: kTypeMismatch unless a bool.
Result<bool> OrderedArg(const CommandContext& ctx);
// An integral numeric field. Errors: kTypeMismatch naming the field.
Result<int64_t> IntegerArg(const bson::Value& v, std::string_view field);

}  // namespace amalgam::api::mongo
