#pragma once
// Engine: the one API both front ends (MongoDB and DynamoDB) call. It opens the store and the
// catalog, owns collection handles, runs DDL (collections, indexes with builds over existing
// data), hands out write transactions and read views, validates, and reads the change log.
// Design: docs/architecture.md, docs/storage.md.
//
// Thread safety: every method may be called concurrently. WriteTxn, ReadView and cursors are
// single-threaded objects; none may outlive the Engine.

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "catalog/catalog.h"
#include "common/result.h"
#include "engine/collection_handle.h"
#include "engine/read_view.h"
#include "engine/write_txn.h"
#include "storage/change_record.h"
#include "storage/store.h"

namespace amalgam::engine {

class VectorIndexes;          // engine/vector_indexes.h
class CollectionChangeIndex;  // engine/change_log_index.h

struct EngineOptions {
  storage::StoreOptions store;
  // Attempts RunWrite makes when a write conflicts with a concurrent one.
  int write_conflict_retries = 20;
};

struct ValidateReport {
  bool valid = true;
  uint64_t documents = 0;
  std::map<std::string, uint64_t> index_entries;  // by index name
  std::vector<std::string> errors;                // one line per problem found
};

class Engine {
 public:
  // Opens the data directory (creating it if missing), loads the catalog and removes data left
  // behind by drops interrupted by a crash. Errors: kDataDirLocked, kIOError, kDataCorruption.
  static Result<std::unique_ptr<Engine>> Open(const std::string& dir, const EngineOptions& options);
  ~Engine();

  storage::Store& store() { return *store_; }
  catalog::Catalog& catalog() { return *catalog_; }
  // The vector search indexes of every collection (engine/vector_indexes.h).
  VectorIndexes& vectors() { return *vectors_; }

  // The handle of an existing collection (nullptr if none) or, with create, of a collection
  // created on demand. Errors (create): kInvalidNamespace, kIOError.
  HandlePtr Find(std::string_view db, std::string_view coll);
  Result<HandlePtr> GetOrCreate(std::string_view db, std::string_view coll);

  Result<HandlePtr> CreateCollection(std::string_view db, std::string_view coll, bson::DocView options);
  // Errors: kNamespaceNotFound.
  Status DropCollection(std::string_view db, std::string_view coll);
  // Returns the number of collections dropped.
  Result<size_t> DropDatabase(std::string_view db);
  Status RenameCollection(std::string_view db, std::string_view from, std::string_view to_db, std::string_view to,
                          bool drop_target);

  // Creates the index described by `spec` (a createIndexes entry) and builds it over the
  // existing documents; returns false if an identical index already existed. Concurrent writes
  // continue during the build. Errors: as catalog::ParseIndexSpec and Catalog::AddIndex;
  // kCannotCreateIndex for an unsupported partial filter; kDuplicateKey when existing
  // documents violate a unique index (the index is then removed again).
  Result<bool> CreateIndex(std::string_view db, std::string_view coll, bson::DocView spec);
  // Errors: kNamespaceNotFound, kIndexNotFound.
  Status DropIndex(std::string_view db, std::string_view coll, std::string_view name);

  std::unique_ptr<WriteTxn> Begin(const storage::TxnOptions& options = {});
  // Runs `fn` in a fresh WriteTxn and commits, retrying the whole attempt on kWriteConflict
  // (up to options.write_conflict_retries times). `fn` must be safe to run more than once.
  // The transaction has no snapshot (storage::TxnOptions::snapshot): `fn` reads the latest
  // committed state, and must read what it changes with for_update, which locks it.
  Result<storage::CommitInfo> RunWrite(const std::function<Status(WriteTxn&)>& fn);
  std::unique_ptr<ReadView> Read();

  // Checks that documents and index entries of a collection agree (every key a document
  // generates is present, every entry points to a document that generates it).
  Result<ValidateReport> Validate(std::string_view db, std::string_view coll);

  // Change-log entries with seq > after_seq, at most `limit`, up to the visibility watermark.
  // If `scanned_through` is given it is set to the seq the read covers: every entry in
  // (after_seq, *scanned_through] is in the result (the watermark when fewer than `limit`
  // entries came back). Errors: kChangeStreamHistoryLost when entries after `after_seq` have
  // been removed by retention (docs/change-log.md), kIOError, kDataCorruption.
  Result<std::vector<storage::ChangeEntry>> ReadChanges(uint64_t after_seq, size_t limit,
                                                        uint64_t* scanned_through = nullptr);
  // One collection's change-log entries without reading every other collection's on each call
  // (engine/change_log_index.h).
  CollectionChangeIndex& change_index() { return *change_index_; }

 private:
  friend class WriteTxn;
  Engine() = default;
  Result<HandlePtr> HandleFor(const catalog::CollectionPtr& info);
  Status RemoveCollectionData(const catalog::CollectionInfo& info);
  Status RemoveOrphans();
  Status BuildIndex(const std::string& db, const std::string& coll, const catalog::IndexSpec& spec);
  // Waits until every WriteTxn begun before the latest catalog change has finished.
  void DrainOlderTxns();
  void EndTxn(uint64_t epoch);
  std::shared_ptr<std::atomic<bool>> MultikeyFlag(uint64_t index_id);
  Status LoadMultikeyFlags();
  // Records (in `txn`, once per index) that the indexes flagged in `seen` are multikey.
  Status MarkMultikey(storage::Txn& txn, const CollectionHandle& coll, const std::vector<bool>& seen);

  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<catalog::Catalog> catalog_;
  std::unique_ptr<VectorIndexes> vectors_;  // stopped and destroyed first
  std::unique_ptr<CollectionChangeIndex> change_index_;
  EngineOptions options_;

  std::mutex handles_mu_;
  std::map<uint64_t, HandlePtr> handles_;  // by collection id

  std::mutex ddl_mu_;  // serializes index builds and drops

  std::mutex multikey_mu_;
  std::map<uint64_t, std::shared_ptr<std::atomic<bool>>> multikey_;  // by index id

  std::mutex epoch_mu_;
  std::condition_variable epoch_cv_;
  uint64_t epoch_ = 0;
  std::map<uint64_t, uint64_t> active_by_epoch_;
};

}  // namespace amalgam::engine
