// The session semantics of a command: multi-document transactions, retryable writes and the
// causal-consistency check, around the command's handler (docs/transactions.md).
#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include "api/mongo/cursor_manager.h"
#include "api/mongo/service.h"
#include "api/mongo/session.h"
#include "common/clock.h"
#include "bson/validate.h"
#include "engine/engine.h"

namespace amalgam::api::mongo {
namespace {

// How long a command waits for its session to be free (another command of the same session
// still running) before failing: never longer than the engine's lock timeout.
constexpr auto kCheckoutWait = std::chrono::milliseconds(10);
// Attempts of a retryable write whose storage transaction meets a write conflict.
constexpr int kRetryableAttempts = 20;

bool IsRetryableWrite(std::string_view name) {
  return name == "insert" || name == "update" || name == "delete" || name == "findAndModify" ||
         name == "findandmodify";
}

bool AllowedInTransaction(std::string_view name) {
  return IsRetryableWrite(name) || name == "find" || name == "getMore" || name == "killCursors" ||
         name == "aggregate" || name == "distinct" || name == "commitTransaction" || name == "abortTransaction";
}

Status WithLabel(Status s, std::string_view label) {
  bson::Builder b;
  b.StartArray("errorLabels").AppendString("0", label).EndArray();
  bson::Document d = std::move(b).Finish();
  return s.WithDetails(d.bytes());
}

Status NoSuchTransaction(std::string message, bool label) {
  Status s(ErrorCode::kNoSuchTransaction, std::move(message));
  return label ? WithLabel(std::move(s), "TransientTransactionError") : s;
}

// readConcern: the level a transaction may use, and afterClusterTime no later than the cluster
// time this server has handed out (every write acknowledged with an earlier operationTime is
// committed and visible to every read here, so no wait is needed).
Status CheckReadConcern(CommandContext& ctx, bool starting_transaction) {
  bson::Value rc = ctx.cmd.Get("readConcern");
  if (rc.missing()) return Status::OK();
  if (rc.type() != bson::BsonType::kDocument) return WrongTypeError(ctx.cmd.begin()->name, "readConcern", rc, "object");
  bson::Value level = rc.AsDocument().Get("level");
  if (starting_transaction && level.type() == bson::BsonType::kString) {
    std::string_view l = level.AsString();
    if (l != "local" && l != "majority" && l != "snapshot") {
      return Status(ErrorCode::kInvalidOptions, "The readConcern level must be either 'local' (default), 'majority' or "
                                                "'snapshot' in order to run in a transaction");
    }
  }
  bson::Value after = rc.AsDocument().Get("afterClusterTime");
  if (after.type() == bson::BsonType::kTimestamp) {
    bson::TimestampValue ts = after.AsTimestamp();
    uint64_t want = (static_cast<uint64_t>(ts.seconds) << 32) | ts.increment;
    uint64_t have = ctx.service.last_cluster_time();
    if (want > have) {
      auto fmt = [](uint64_t t) {
        return "Timestamp(" + std::to_string(t >> 32) + ", " + std::to_string(static_cast<uint32_t>(t)) + ")";
      };
      return Status(ErrorCode::kInvalidOptions, "readConcern afterClusterTime value must not be greater than the current "
                                                "clusterTime. Requested clusterTime: " + fmt(want) +
                                                    "; current clusterTime: " + fmt(have));
    }
  } else if (!after.missing()) {
    return WrongTypeError("readConcern", "afterClusterTime", after, "timestamp");
  }
  return Status::OK();
}

// A cursor of an open transaction reads through that transaction: only commands of the
// transaction may use it.
Status CheckNotTxnCursor(SessionRegistry& reg, CommandContext& ctx, std::string_view name) {
  auto refuse = [&](int64_t id) {
    return Status(ErrorCode::kOperationNotSupportedInTransaction,
                  "Cannot run " + std::string(name) + " on cursor " + std::to_string(id) +
                      ", which was created in a transaction, outside of that transaction");
  };
  bson::Value v = ctx.cmd.begin()->value;
  if (name == "getMore") {
    if (v.type() == bson::BsonType::kInt64 && reg.IsTxnCursor(v.AsInt64())) return refuse(v.AsInt64());
    return Status::OK();
  }
  bson::Value ids = ctx.cmd.Get("cursors");
  if (ids.type() != bson::BsonType::kArray) return Status::OK();
  for (const bson::Element& e : ids.AsDocument()) {
    if (e.value.type() == bson::BsonType::kInt64 && reg.IsTxnCursor(e.value.AsInt64())) return refuse(e.value.AsInt64());
  }
  return Status::OK();
}

// Loads the persisted record of the session (once per session object): the last retryable
// write's reply, or the last committed transaction's number. REQUIRES: s.mu held.
Status LoadRecord(CommandContext& ctx, Session& s) {
  if (s.persisted_loaded) return Status::OK();
  AMALGAM_ASSIGN_OR_RETURN(std::optional<std::string> raw,
                           ctx.engine.store().Get(storage::Cf::kMeta, SessionRecordKey(s.key)));
  s.persisted_loaded = true;
  if (!raw) return Status::OK();
  auto valid = bson::ValidateDocument(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(raw->data()), raw->size()));
  if (!valid.ok()) return Status(ErrorCode::kDataCorruption, "session record of " + s.id_hex + ": " +
                                                                 std::string(valid.status().message()));
  bson::Document rec(*valid);
  bson::DocView v = rec.view();
  bson::Value n = v.Get("txnNumber");
  if (n.type() != bson::BsonType::kInt64 || n.AsInt64() < s.txn_number) return Status::OK();
  s.txn_number = n.AsInt64();
  bson::Value kind = v.Get("kind");
  s.multi_doc = kind.type() == bson::BsonType::kString && kind.AsString() == "commit";
  s.state = s.multi_doc ? TxnState::kCommitted : TxnState::kNone;
  bson::Value reply = v.Get("reply");
  if (reply.type() == bson::BsonType::kDocument) s.write_reply = bson::Document(reply.AsDocument());
  return Status::OK();
}

bson::Document Record(int64_t txn_number, int64_t now, std::string_view kind, const bson::Document* reply) {
  bson::Builder b;
  b.AppendInt64("txnNumber", txn_number);
  b.AppendDate("at", now);
  b.AppendString("kind", kind);
  if (reply) b.AppendDocument("reply", reply->view());
  return std::move(b).Finish();
}

std::string_view AsBytes(const bson::Document& d) { return d.bytes(); }

// {lsid, txnNumber}: tags the change records of a multi-document transaction (its change events
// carry them, as MongoDB's do; a retryable write's do not).
bson::Document TxnInfo(CommandContext& ctx, int64_t txn_number) {
  bson::Builder b;
  b.AppendValue("lsid", ctx.cmd.Get("lsid"));
  b.AppendInt64("txnNumber", txn_number);
  return std::move(b).Finish();
}

// A write with lsid + txnNumber and no autocommit: applied once, answered from the record after.
Status RunRetryable(SessionRegistry& reg, CommandContext& ctx, Session& s, int64_t txn_number,
                    const CommandSpec& spec, bson::Builder& reply) {
  AMALGAM_RETURN_IF_ERROR(LoadRecord(ctx, s));
  if (txn_number < s.txn_number) {
    return Status(ErrorCode::kTransactionTooOld, "Retryable write with txnNumber " + std::to_string(txn_number) +
                                                     " is prohibited on session " + s.id_hex +
                                                     " because a newer retryable write with txnNumber " +
                                                     std::to_string(s.txn_number) + " has already started on this session.");
  }
  if (txn_number == s.txn_number) {
    if (s.multi_doc) {
      return Status(ErrorCode::kConflictingOperationInProgress,
                    "txnNumber " + std::to_string(txn_number) + " on session " + s.id_hex +
                        " was used by a multi-document transaction; a retryable write needs a new txnNumber");
    }
    if (s.write_reply) {
      reply.AppendElements(s.write_reply->view());
      return Status::OK();
    }
  }
  if (s.state == TxnState::kInProgress) reg.AbortTransaction(s);
  s.txn_number = txn_number;
  s.multi_doc = false;
  s.state = TxnState::kNone;
  s.write_reply.reset();
  thread_local std::mt19937 rng{std::random_device{}()};
  Status last;
  for (int attempt = 0; attempt < kRetryableAttempts; ++attempt) {
    if (attempt > 0) {
      int cap = 100 << std::min(attempt, 6);
      std::this_thread::sleep_for(std::chrono::microseconds(cap / 2 + static_cast<int>(rng() % cap)));
    }
    storage::TxnOptions opts;
    opts.snapshot = false;
    std::unique_ptr<engine::WriteTxn> txn = ctx.engine.Begin(opts);
    ctx.txn = txn.get();
    ctx.in_transaction = false;
    ctx.txn_failure = Status::OK();
    bson::Builder body_builder;
    Status st = spec.handler(ctx, body_builder);
    ctx.txn = nullptr;
    if (!ctx.txn_failure.ok() && ctx.txn_failure.code() == ErrorCode::kWriteConflict) {
      last = ctx.txn_failure;
      continue;
    }
    if (!st.ok()) {
      if (st.code() == ErrorCode::kWriteConflict) {
        last = st;
        continue;
      }
      return st;  // nothing applied, nothing recorded: a retry runs it again
    }
    bson::Document body = std::move(body_builder).Finish();
    int64_t now = ctx.service.clock().NowMillis();
    bson::Document rec = Record(txn_number, now, "write", &body);
    st = txn->PutMeta(SessionRecordKey(s.key), AsBytes(rec));
    if (st.ok()) st = txn->Commit().status();
    if (st.code() == ErrorCode::kWriteConflict) {
      last = st;
      continue;
    }
    AMALGAM_RETURN_IF_ERROR(st);
    reply.AppendElements(body.view());
    s.write_reply = std::move(body);
    return Status::OK();
  }
  return last.ok() ? Status(ErrorCode::kWriteConflict, "write conflict") : last;
}

Status CommitTransaction(SessionRegistry& reg, CommandContext& ctx, Session& s) {
  reg.CloseTxnCursors(s);
  bson::Document rec = Record(s.txn_number, ctx.service.clock().NowMillis(), "commit", nullptr);
  Status st = s.txn->PutMeta(SessionRecordKey(s.key), AsBytes(rec));
  Result<storage::CommitInfo> committed = st.ok() ? s.txn->Commit() : Result<storage::CommitInfo>(st);
  s.txn.reset();
  s.txn_deadline_millis.store(0);
  if (!committed.ok()) {
    s.state = TxnState::kAborted;
    Status err = committed.status();
    // An I/O failure leaves the outcome unknown to the client (the WAL may hold the commit).
    if (err.category() == ErrorCategory::kIO) return WithLabel(std::move(err), "UnknownTransactionCommitResult");
    return err;
  }
  s.state = TxnState::kCommitted;
  return Status::OK();
}

// A command with lsid + txnNumber + autocommit:false.
Status RunInTransaction(SessionRegistry& reg, CommandContext& ctx, Session& s, int64_t txn_number,
                        const CommandSpec& spec, bson::Builder& reply) {
  std::string_view name = spec.name;
  bson::Value start = ctx.cmd.Get("startTransaction");
  if (!start.missing() && start.type() != bson::BsonType::kBool) return WrongTypeError(name, "startTransaction", start, "bool");
  bool starting = start.type() == bson::BsonType::kBool && start.AsBool();
  if (!start.missing() && !starting) {
    return Status(ErrorCode::kInvalidOptions, "startTransaction may only be true");
  }
  AMALGAM_RETURN_IF_ERROR(LoadRecord(ctx, s));
  std::string n = std::to_string(txn_number);
  if (txn_number < s.txn_number) {
    return Status(ErrorCode::kTransactionTooOld, "Cannot start transaction " + n + " on session " + s.id_hex +
                                                     " because a newer transaction " + std::to_string(s.txn_number) +
                                                     " has already started.");
  }
  bool ends = name == "commitTransaction" || name == "abortTransaction";
  if (starting) {
    if (txn_number == s.txn_number) {
      return Status(ErrorCode::kConflictingOperationInProgress,
                    "Cannot start transaction " + n + " on session " + s.id_hex +
                        " because a transaction with the same number has already been started.");
    }
    if (ends || !AllowedInTransaction(name)) {
      return Status(ErrorCode::kOperationNotSupportedInTransaction,
                    "Cannot run '" + std::string(name) + "' in a multi-document transaction.");
    }
    AMALGAM_RETURN_IF_ERROR(CheckReadConcern(ctx, true));
    if (s.state == TxnState::kInProgress) reg.AbortTransaction(s);
    int64_t now = ctx.service.clock().NowMillis();
    s.txn_number = txn_number;
    s.multi_doc = true;
    s.write_reply.reset();
    storage::TxnOptions opts;
    // A key locked by another client transaction stays locked until that one's commit arrives,
    // and waiting blocks this I/O thread; a snapshot transaction that waited would conflict
    // anyway (the holder commits after our snapshot). So fail fast, as MongoDB does: 1 ms, the
    // least RocksDB takes (0 would also fail on a merely busy lock-table stripe).
    opts.lock_timeout_ms = 1;
    s.txn = ctx.engine.Begin(opts);
    s.txn->SetTxnInfo(TxnInfo(ctx, txn_number));
    s.state = TxnState::kInProgress;
    s.txn_start_millis = now;
    s.txn_deadline_millis.store(now + kTransactionLifetimeMillis);
  } else {
    if (txn_number > s.txn_number || !s.multi_doc) {
      return NoSuchTransaction("Given transaction number " + n + " does not match any in-progress transactions. "
                               "The active transaction number is " + std::to_string(s.txn_number),
                               name != "commitTransaction");
    }
    if (s.state == TxnState::kAborted) {
      if (name == "abortTransaction") return Status::OK();
      return NoSuchTransaction("Transaction " + n + " has been aborted.", name != "commitTransaction");
    }
    if (s.state == TxnState::kCommitted) {
      if (name == "commitTransaction") return Status::OK();  // a retried commit: same outcome
      return Status(ErrorCode::kTransactionCommitted, "Transaction " + n + " has been committed.");
    }
    if (!ctx.cmd.Get("readConcern").missing()) {
      reg.AbortTransaction(s);
      return Status(ErrorCode::kInvalidOptions, "Only the first command in a transaction may specify a readConcern");
    }
  }
  if (!ends && !ctx.cmd.Get("writeConcern").missing()) {
    reg.AbortTransaction(s);
    return Status(ErrorCode::kInvalidOptions, "Cannot set write concern after starting a transaction.");
  }
  if (name == "commitTransaction") return CommitTransaction(reg, ctx, s);
  if (name == "abortTransaction") {
    reg.AbortTransaction(s);
    return Status::OK();
  }
  // What MongoDB refuses inside a transaction; the refusal aborts it.
  Status refused;
  if (!AllowedInTransaction(name)) {
    refused = Status(ErrorCode::kOperationNotSupportedInTransaction,
                     "Cannot run '" + std::string(name) + "' in a multi-document transaction.");
  } else if (ctx.db == "admin" || ctx.db == "config" || ctx.db == "local") {
    refused = Status(ErrorCode::kOperationNotSupportedInTransaction,
                     "Cannot run command against the '" + ctx.db + "' database in a transaction.");
  } else if (IsRetryableWrite(name) && ctx.cmd.begin()->value.type() == bson::BsonType::kString &&
             ctx.cmd.begin()->value.AsString().starts_with("system.")) {
    refused = Status(ErrorCode::kOperationNotSupportedInTransaction,
                     "Cannot write to system collection " + ctx.db + "." + std::string(ctx.cmd.begin()->value.AsString()) +
                         " within a transaction.");
  } else if (name == "getMore") {
    bson::Value id = ctx.cmd.begin()->value;
    int64_t cid = id.type() == bson::BsonType::kInt64 ? id.AsInt64() : id.type() == bson::BsonType::kInt32 ? id.AsInt32() : 0;
    if (std::find(s.txn_cursors.begin(), s.txn_cursors.end(), cid) == s.txn_cursors.end()) {
      refused = Status(ErrorCode::kOperationNotSupportedInTransaction,
                       "Cannot run getMore on cursor " + std::to_string(cid) +
                           ", which was not created in this transaction, inside a transaction.");
    }
  }
  if (!refused.ok()) {
    reg.AbortTransaction(s);
    return refused;
  }
  ctx.txn = s.txn.get();
  ctx.in_transaction = true;
  ctx.txn_failure = Status::OK();
  bson::Builder body_builder;
  Status st = spec.handler(ctx, body_builder);
  ctx.txn = nullptr;
  if (!ctx.txn_failure.ok()) {
    Status failure = ctx.txn_failure;
    reg.AbortTransaction(s);
    // A conflict fails the command (TransientTransactionError: the client retries the whole
    // transaction); other write errors are reported as writeErrors and abort it, as in MongoDB.
    if (failure.code() == ErrorCode::kWriteConflict || !st.ok()) return st.ok() ? failure : st;
  } else if (!st.ok()) {
    reg.AbortTransaction(s);
    if (st.code() == ErrorCode::kWriteConflict) return st;
    return st;
  }
  bson::Document body = std::move(body_builder).Finish();
  if (name == "find" || name == "aggregate") {
    bson::Value c = body.view().Get("cursor");
    if (c.type() == bson::BsonType::kDocument) {
      bson::Value id = c.AsDocument().Get("id");
      if (id.type() == bson::BsonType::kInt64 && id.AsInt64() != 0) reg.AddTxnCursor(s, id.AsInt64());
    }
  }
  reply.AppendElements(body.view());
  return Status::OK();
}

}  // namespace

void RegisterSessionCommands(CommandRegistry& reg) {
  // Reached only without lsid / txnNumber / autocommit (the session runner answers otherwise).
  auto outside = [](CommandContext& ctx, bson::Builder&) {
    return Status(ErrorCode::kInvalidOptions,
                  std::string(ctx.cmd.begin()->name) + " must be run within a transaction (lsid, txnNumber, autocommit: false)");
  };
  reg.Add({"commitTransaction", outside, true});
  reg.Add({"abortTransaction", outside, true});
}

Status CommandContext::RunWrite(const std::function<Status(engine::WriteTxn&)>& fn) {
  if (txn == nullptr) return engine.RunWrite(fn).status();
  if (!txn_failure.ok()) return txn_failure;
  if (in_transaction) {
    Status s = fn(*txn);
    if (!s.ok()) txn_failure = s;
    return s;
  }
  // A retryable write: each statement can fail alone, so undo only its own writes.
  txn->SetSavePoint();
  Status s = fn(*txn);
  if (s.ok()) {
    txn->PopSavePoint();
    return s;
  }
  if (s.code() == ErrorCode::kWriteConflict) {
    txn_failure = s;  // the runner retries the whole command in a fresh transaction
    return s;
  }
  if (Status r = txn->RollbackToSavePoint(); !r.ok()) txn_failure = r;
  return s;
}

Status RunCommandInSession(SessionRegistry& reg, CommandContext& ctx, const CommandSpec& spec, bson::Builder& reply) {
  int64_t now = ctx.service.clock().NowMillis();
  reg.MaybeReap(now);
  bson::Value lsid = ctx.cmd.Get("lsid");
  bson::Value txnv = ctx.cmd.Get("txnNumber");
  bson::Value autocommit = ctx.cmd.Get("autocommit");
  if (autocommit.missing() && (spec.name == "getMore" || spec.name == "killCursors")) {
    AMALGAM_RETURN_IF_ERROR(CheckNotTxnCursor(reg, ctx, spec.name));
  }
  if (lsid.missing()) {
    if (!txnv.missing()) {
      return Status(ErrorCode::kInvalidOptions, "Transaction number requires a session ID to also be specified");
    }
    if (!autocommit.missing()) {
      return Status(ErrorCode::kInvalidOptions, "'autocommit' field requires a transaction number to also be specified");
    }
    AMALGAM_RETURN_IF_ERROR(CheckReadConcern(ctx, false));
    return spec.handler(ctx, reply);
  }
  std::string id_hex;
  AMALGAM_ASSIGN_OR_RETURN(std::string key, SessionKeyOf(lsid, &id_hex));
  SessionPtr session = reg.GetOrCreate(key, id_hex, now);
  std::unique_lock<std::timed_mutex> lock(session->mu, std::defer_lock);
  if (!lock.try_lock_for(kCheckoutWait)) {
    return Status(ErrorCode::kConflictingOperationInProgress,
                  "Session " + id_hex + " is in use by another operation; a session runs one operation at a time");
  }
  Status st;
  if (txnv.missing()) {
    if (!autocommit.missing()) {
      st = Status(ErrorCode::kInvalidOptions, "'autocommit' field requires a transaction number to also be specified");
    } else if (!ctx.cmd.Get("startTransaction").missing()) {
      st = Status(ErrorCode::kInvalidOptions, "'startTransaction' field requires 'autocommit' field to also be specified");
    } else if (spec.name == "commitTransaction" || spec.name == "abortTransaction") {
      st = Status(ErrorCode::kInvalidOptions, "Transaction number required for " + spec.name);
    } else {
      st = CheckReadConcern(ctx, false);
      if (st.ok()) st = spec.handler(ctx, reply);
    }
  } else if (txnv.type() != bson::BsonType::kInt64 && txnv.type() != bson::BsonType::kInt32) {
    st = WrongTypeError(spec.name, "txnNumber", txnv, "long");
  } else {
    int64_t txn_number = txnv.type() == bson::BsonType::kInt64 ? txnv.AsInt64() : txnv.AsInt32();
    if (txn_number < 0) {
      st = Status(ErrorCode::kBadValue, "txnNumber must be non-negative, got " + std::to_string(txn_number));
    } else if (!autocommit.missing()) {
      if (autocommit.type() != bson::BsonType::kBool) {
        st = WrongTypeError(spec.name, "autocommit", autocommit, "bool");
      } else if (autocommit.AsBool()) {
        st = Status(ErrorCode::kInvalidOptions, "Specifying autocommit=true is not allowed.");
      } else {
        st = RunInTransaction(reg, ctx, *session, txn_number, spec, reply);
      }
    } else if (IsRetryableWrite(spec.name)) {
      st = CheckReadConcern(ctx, false);
      if (st.ok()) st = RunRetryable(reg, ctx, *session, txn_number, spec, reply);
    } else if (spec.name == "commitTransaction" || spec.name == "abortTransaction") {
      st = Status(ErrorCode::kInvalidOptions, "'autocommit' field is required for " + spec.name);
    } else {
      st = Status(ErrorCode::kInvalidOptions,
                  "txnNumber may only be provided for multi-document transactions and retryable write commands. "
                  "autocommit:false was not provided, and " + spec.name + " is not a retryable write command.");
    }
  }
  session->last_use_millis.store(ctx.service.clock().NowMillis());
  if (session->ended.load()) reg.AbortTransaction(*session);
  return st;
}

}  // namespace amalgam::api::mongo
