#pragma once
// Logical sessions of the MongoDB face: the registry of sessions by lsid, each with its open
// multi-document transaction (an engine::WriteTxn), its transaction number and the reply of its
// last retryable write. docs/transactions.md describes the model and the persisted record.
//
// A session is used by one command at a time: the command checks it out (Session::mu) for its
// whole run. The registry's own map has its own mutex; Reap takes a session's mutex only with
// try_lock, so it never waits for a command.
//
// Thread safety: SessionRegistry's methods may be called concurrently.

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "api/mongo/command.h"
#include "bson/document.h"
#include "common/result.h"
#include "engine/write_txn.h"

namespace amalgam::engine {
class Engine;
}

namespace amalgam::api::mongo {

class CursorManager;

// logicalSessionTimeoutMinutes (hello) and transactionLifetimeLimitSeconds.
inline constexpr int64_t kSessionTimeoutMillis = 30 * 60 * 1000;
inline constexpr int64_t kTransactionLifetimeMillis = 60 * 1000;

enum class TxnState : uint8_t { kNone, kInProgress, kCommitted, kAborted };

struct Session {
  std::string key;           // the lsid's id bytes followed by its uid bytes (registry key)
  std::string id_hex;        // the lsid's id as hex, for messages
  std::timed_mutex mu;       // held by the command using the session
  std::atomic<int64_t> last_use_millis{0};
  std::atomic<bool> ended{false};  // ended or killed: forget it once free

  // ---- guarded by mu ----
  int64_t txn_number = -1;   // highest txnNumber seen on the session (-1: none)
  bool multi_doc = false;    // txn_number began a multi-document transaction
  TxnState state = TxnState::kNone;
  std::unique_ptr<engine::WriteTxn> txn;  // while kInProgress
  int64_t txn_start_millis = 0;
  std::vector<int64_t> txn_cursors;       // cursors opened in the transaction
  bool persisted_loaded = false;          // the persisted record has been consulted
  std::optional<bson::Document> write_reply;  // reply of the retryable write txn_number
  std::atomic<int64_t> txn_deadline_millis{0};  // 0: no open transaction
};
using SessionPtr = std::shared_ptr<Session>;

// The parsed lsid: {id: UUID (binData subtype 4), uid?: binData}. Errors: kTypeMismatch,
// kBadValue (a missing or malformed id).
Result<std::string> SessionKeyOf(const bson::Value& lsid, std::string* id_hex);

// meta column family key of a session's persisted record: "ls" + session key.
std::string SessionRecordKey(std::string_view session_key);

class SessionRegistry {
 public:
  SessionRegistry(engine::Engine& engine, CursorManager& cursors) : engine_(engine), cursors_(cursors) {}
  ~SessionRegistry();

  // The session for `key`, created when unknown. Marks it used at `now`.
  SessionPtr GetOrCreate(const std::string& key, const std::string& id_hex, int64_t now);
  SessionPtr Find(const std::string& key);

  // endSessions / killSessions: aborts the open transaction (if the session is free; a busy
  // session is aborted when its command finishes) and forgets the session. The persisted
  // record stays until it expires. Returns whether the session existed.
  bool End(const std::string& key);
  // refreshSessions: marks used at `now`.
  void Refresh(const std::string& key, int64_t now);
  // killAllSessions: ends every session. Returns how many.
  size_t EndAll();

  // Aborts the open transaction of `s`. REQUIRES: s.mu held.
  void AbortTransaction(Session& s);
  // Cursors opened in the open transaction of `s` (they read through it, so they close with it
  // and no command outside the transaction may use them). REQUIRES: s.mu held.
  void AddTxnCursor(Session& s, int64_t id);
  void CloseTxnCursors(Session& s);
  bool IsTxnCursor(int64_t id) const;

  // Reaps at most once per second (cheap otherwise): aborts transactions older than the
  // lifetime limit and forgets sessions idle longer than the session timeout (aborting their
  // transactions); once a minute deletes persisted records of sessions idle past the timeout.
  void MaybeReap(int64_t now);
  void Reap(int64_t now);
  // Deletes persisted records older than the timeout whose session is not in memory.
  // Returns how many.
  size_t CollectRecords(int64_t now);

  // Aborts every open transaction (shutdown: transactions hold storage snapshots).
  void AbortAll();
  size_t size() const;
  size_t open_transactions() const;
  // The sessions known now: {registry key, last use in ms since the epoch}, in key order.
  std::vector<std::pair<std::string, int64_t>> List() const;

 private:
  engine::Engine& engine_;
  CursorManager& cursors_;
  mutable std::mutex mu_;
  std::map<std::string, SessionPtr> sessions_;
  std::set<int64_t> txn_cursors_;  // ids of cursors opened in open transactions
  std::atomic<int64_t> next_reap_millis_{0};
  std::atomic<int64_t> next_gc_millis_{0};
};

// Runs `spec`'s handler for the command of `ctx` with MongoDB's session semantics
// (session_runner.cc): lsid checks the session out for the command; txnNumber with autocommit
// false runs it in the session's multi-document transaction (startTransaction begins one,
// commitTransaction / abortTransaction end it); txnNumber alone makes a write retryable (run in
// one storage transaction together with the persisted record of its reply, and answered from
// that record when retried). readConcern.afterClusterTime is checked against the cluster time.
// Errors: the handler's; kNoSuchTransaction, kTransactionTooOld, kTransactionCommitted,
// kOperationNotSupportedInTransaction, kInvalidOptions, kConflictingOperationInProgress (the
// session is in use by another command), kWriteConflict (TransientTransactionError label).
Status RunCommandInSession(SessionRegistry& sessions, CommandContext& ctx, const CommandSpec& spec,
                           bson::Builder& reply);

// commitTransaction and abortTransaction (admin only; RunCommandInSession does their work).
void RegisterSessionCommands(CommandRegistry& registry);

}  // namespace amalgam::api::mongo
