#pragma once
// WriteTxn: reads and writes of documents across any collections, committed atomically
// together with their index entries and one change-log record per changed document.
// Snapshot isolation as storage::Txn (docs/transactions.md): a concurrent change to a document
// this transaction writes fails the write with kWriteConflict; the caller aborts and retries.
//
// Not thread-safe. Must not outlive its Engine. Destroying an uncommitted WriteTxn aborts it.

#include <memory>
#include <optional>
#include <string>

#include "bson/document.h"
#include "common/result.h"
#include "engine/collection_handle.h"
#include "engine/cursors.h"
#include "storage/txn.h"

namespace amalgam::engine {

class Engine;

// The largest encoded _id (index entries record its length in 2 bytes).
inline constexpr size_t kMaxEncodedIdSize = 32 * 1024;

class WriteTxn {
 public:
  ~WriteTxn();
  WriteTxn(const WriteTxn&) = delete;
  WriteTxn& operator=(const WriteTxn&) = delete;

  // Inserts `doc`, which must have an _id. Errors: kDuplicateKey (on _id, with MongoDB's
  // message, or on a unique index), kInvalidIdField (no _id, or an _id that is an array or
  // too large), kCannotBuildIndexKeys, kWriteConflict, kIOError.
  Status Insert(const CollectionHandle& coll, bson::DocView doc);
  // Replaces `before` (as read in this transaction) with `after`; both have the same _id.
  // `op` is kUpdate or kReplace for the change log; `update_description` is recorded with it.
  Status Update(const CollectionHandle& coll, bson::DocView before, bson::DocView after, storage::ChangeOp op,
                std::optional<bson::Document> update_description = std::nullopt);
  // Deletes `before` (as read in this transaction).
  Status Delete(const CollectionHandle& coll, bson::DocView before);

  // Reads the document with `id` (snapshot plus own writes). With for_update the document's
  // key is locked against concurrent writers (kWriteConflict if already changed since the
  // snapshot). nullopt when absent.
  Result<std::optional<bson::Document>> Get(const CollectionHandle& coll, const bson::Value& id, bool for_update);
  Result<std::optional<bson::Document>> GetByEncodedId(const CollectionHandle& coll, std::string_view encoded_id,
                                                       bool for_update);
  std::unique_ptr<DocumentCursor> Scan(const CollectionHandle& coll, bool forward = true);
  std::unique_ptr<IndexCursor> ScanIndex(const catalog::IndexSpec& index, std::string lower, std::string upper,
                                         bool forward = true);

  // Tags every change record of this transaction (e.g. {lsid, txnNumber}).
  void SetTxnInfo(bson::Document info) { txn_info_ = std::move(info); }
  // Marks change records as made by the server (TTL).
  void SetByServer(bool v) { by_server_ = v; }

  // A key of the meta column family written (and read back, with for_update locking it) in this
  // transaction: records that must commit atomically with the documents (the MongoDB face's
  // retryable-write and transaction outcome records, docs/transactions.md).
  Status PutMeta(std::string_view key, std::string_view value) { return txn_->Put(storage::Cf::kMeta, key, value); }
  Result<std::optional<std::string>> GetMeta(std::string_view key, bool for_update) {
    return for_update ? txn_->GetForUpdate(storage::Cf::kMeta, key) : txn_->Get(storage::Cf::kMeta, key);
  }
  // Statement savepoints, as storage::Txn's.
  void SetSavePoint() { txn_->SetSavePoint(); }
  Status RollbackToSavePoint() { return txn_->RollbackToSavePoint(); }
  void PopSavePoint() { txn_->PopSavePoint(); }

  Result<storage::CommitInfo> Commit();
  void Abort();
  size_t changes() const { return txn_->pending_changes(); }

 private:
  friend class Engine;
  WriteTxn(Engine* engine, std::unique_ptr<storage::Txn> txn, uint64_t epoch);
  storage::ChangeRecord Record(const CollectionHandle& coll, storage::ChangeOp op, bson::DocView doc);
  void Finish();

  Engine* engine_;
  std::unique_ptr<storage::Txn> txn_;
  uint64_t epoch_;
  bool finished_ = false;
  std::optional<bson::Document> txn_info_;
  bool by_server_ = false;
};

}  // namespace amalgam::engine
