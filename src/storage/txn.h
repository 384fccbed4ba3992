#pragma once
// Txn: a multi-key transaction with snapshot isolation (docs/transactions.md).
//
// Reads see the snapshot taken at Begin plus this transaction's own writes. Writes lock their
// keys (pessimistic RocksDB transactions): a key locked by another live transaction, or
// committed by anyone after this transaction's snapshot, fails at once with kWriteConflict —
// the caller aborts and retries the whole transaction. Change records added with AddChange are
// written at Commit under fresh sequence numbers, in the same RocksDB commit.
//
// Not thread-safe: one thread at a time. Must not outlive its Store. Destroying an uncommitted
// Txn rolls it back.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "storage/change_record.h"
#include "storage/iterator.h"
#include "storage/store.h"

namespace rocksdb {
class Transaction;
}

namespace amalgam::storage {

struct TxnOptions {
  // How long a write waits for a key locked by another transaction before kWriteConflict.
  // Not 0: RocksDB then also fails when the lock table's stripe mutex is merely busy, which
  // turns unrelated concurrent writes into spurious conflicts.
  int64_t lock_timeout_ms = 10;
  // With a snapshot (the default) reads see the state at Begin plus own writes, and a write to
  // a key committed by others since then conflicts. Without one, reads see the latest
  // committed state and only concurrent lock holders conflict: the right isolation for a
  // single-operation write (read the current document under its lock, then change it), and
  // cheaper, since taking a RocksDB snapshot and validating keys against it costs.
  bool snapshot = true;
};

struct CommitInfo {
  uint64_t first_seq = 0;  // 0 when the commit wrote no change records
  uint32_t count = 0;
  int64_t commit_millis = 0;
};

class Txn {
 public:
  ~Txn();
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;

  // Reads `key` (snapshot + own writes). Returns nullopt when absent.
  Result<std::optional<std::string>> Get(Cf cf, std::string_view key);
  // Like Get, and locks `key` so no other transaction can write it until this one ends.
  // Errors: kWriteConflict if the key is locked or changed since the snapshot.
  Result<std::optional<std::string>> GetForUpdate(Cf cf, std::string_view key);
  // Errors: kWriteConflict (see above), kIOError.
  Status Put(Cf cf, std::string_view key, std::string_view value);
  Status Delete(Cf cf, std::string_view key);
  // Writes without locking the key or checking it against the snapshot: for keys that only
  // writers already serialized by another lock in this transaction can touch (a non-unique
  // index entry carries its document's _id, whose document key the writer has locked).
  Status PutUntracked(Cf cf, std::string_view key, std::string_view value);
  Status DeleteUntracked(Cf cf, std::string_view key);

  // Snapshot + own writes, bounded to [lower, upper).
  std::unique_ptr<Iterator> NewIterator(Cf cf, std::string lower, std::string upper);

  // Queues a change record; it is written at Commit with the next sequence number.
  void AddChange(ChangeRecord record) { changes_.push_back(std::move(record)); }
  size_t pending_changes() const { return changes_.size(); }

  // Commits atomically: writes, then change records. Errors: kWriteConflict, kIOError. After
  // an error nothing of the transaction is visible; the Txn is finished either way.
  Result<CommitInfo> Commit();
  void Rollback();

  // Savepoints (a stack): RollbackToSavePoint undoes every write and queued change record since
  // the latest SetSavePoint and pops it; PopSavePoint forgets it. Used to undo one failed
  // statement of a multi-statement command while keeping the others. Locks taken since the
  // savepoint stay held until the transaction ends. Errors: kInternalError without a savepoint.
  void SetSavePoint();
  Status RollbackToSavePoint();
  void PopSavePoint();

  // REQUIRES: the transaction was begun with a snapshot.
  const Snapshot& snapshot() const { return *snapshot_; }

 private:
  friend class Store;
  Txn(Store* store, rocksdb::Transaction* txn, std::shared_ptr<const Snapshot> snapshot);

  Store* store_;
  rocksdb::Transaction* txn_;
  std::shared_ptr<const Snapshot> snapshot_;
  std::vector<ChangeRecord> changes_;
  std::vector<size_t> savepoints_;  // changes_.size() at each SetSavePoint
  bool finished_ = false;
};

}  // namespace amalgam::storage
