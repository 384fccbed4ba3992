#pragma once
// Catalog: databases, collections and their index definitions, persisted in the store's meta
// column family (format: docs/catalog.md) and cached in memory as immutable snapshots.
//
// Every change runs in its own storage transaction that also appends a kCommand change-log
// record, then publishes a new in-memory snapshot. Changes are serialized by one mutex; reads
// (Find, List*) never block on a change in progress and return shared, immutable objects that
// stay valid however long the caller keeps them.
//
// Thread safety: all methods may be called concurrently. The Catalog must not outlive its Store.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bson/document.h"
#include "catalog/index_spec.h"
#include "common/result.h"
#include "storage/store.h"

namespace amalgam::catalog {

struct CollectionInfo {
  uint64_t id = 0;  // unique across the catalog's lifetime, never reused
  std::string db;
  std::string name;
  bson::Document options;  // as given to create (minus the name), updated by collMod
  int64_t created_millis = 0;
  std::array<uint8_t, 16> uuid{};  // random (v4) at creation, kept across renames (listCollections info.uuid)
  // indexes[0] is the implicit _id index; secondary indexes follow in creation order.
  std::vector<IndexSpec> indexes;

  std::string ns() const { return db + "." + name; }
  const IndexSpec* FindIndex(std::string_view index_name) const;
  // Records pre-images in the change log (changeStreamPreAndPostImages, DynamoDB OLD_IMAGE).
  bool RecordsPreImages() const;
};
using CollectionPtr = std::shared_ptr<const CollectionInfo>;

// Checks a database name as MongoDB does. Errors: kInvalidNamespace.
Status ValidateDbName(std::string_view db);
// Checks a collection name as MongoDB does. Errors: kInvalidNamespace.
Status ValidateCollectionName(std::string_view db, std::string_view coll);

class Catalog {
 public:
  // Loads every record. Errors: kDataCorruption for an unreadable record, kIOError.
  static Result<std::unique_ptr<Catalog>> Open(storage::Store& store);

  // nullptr when the collection does not exist.
  CollectionPtr Find(std::string_view db, std::string_view coll) const;
  std::vector<std::string> ListDatabases() const;
  std::vector<CollectionPtr> ListCollections(std::string_view db) const;
  // Every collection, for background tasks and clean-up.
  std::vector<CollectionPtr> ListAll() const;

  // Errors: kNamespaceExists, kInvalidNamespace, kIOError.
  Result<CollectionPtr> CreateCollection(std::string_view db, std::string_view coll, bson::DocView options);
  // Returns the collection, creating it with default options if missing (MongoDB's implicit
  // creation on first write). Errors: kInvalidNamespace, kIOError.
  Result<CollectionPtr> GetOrCreate(std::string_view db, std::string_view coll);
  // Removes the collection record; returns what was dropped so the caller can delete its data.
  // Errors: kNamespaceNotFound.
  Result<CollectionPtr> DropCollection(std::string_view db, std::string_view coll);
  // Drops every collection of `db`; returns them. Dropping a missing database is not an error.
  Result<std::vector<CollectionPtr>> DropDatabase(std::string_view db);
  // Renames (across databases too). If the target exists: kNamespaceExists unless drop_target,
  // in which case it is dropped and returned in *dropped_target. Errors: kNamespaceNotFound,
  // kInvalidNamespace, kIllegalOperation (same source and target).
  Status RenameCollection(std::string_view db, std::string_view from, std::string_view to_db,
                          std::string_view to, bool drop_target, CollectionPtr* dropped_target);
  // Replaces the collection's options document (collMod).
  Result<CollectionPtr> SetOptions(std::string_view db, std::string_view coll, bson::DocView options);

  // Adds an index definition (assigning its id) in `spec.state`. Errors: kNamespaceNotFound;
  // kIndexOptionsConflict (same key pattern, other name or options); kIndexKeySpecsConflict
  // (same name, other key pattern); kIndexAlreadyExists is reported as OK with *existed = true.
  Result<IndexSpec> AddIndex(std::string_view db, std::string_view coll, IndexSpec spec, bool* existed);
  Status SetIndexState(std::string_view db, std::string_view coll, uint64_t index_id, IndexSpec::State state);
  // Errors: kNamespaceNotFound, kIndexNotFound, kInvalidOptions (the _id index).
  Result<IndexSpec> DropIndex(std::string_view db, std::string_view coll, std::string_view name);

 private:
  using Map = std::map<std::string, CollectionPtr, std::less<>>;
  explicit Catalog(storage::Store& store) : store_(store) {}
  std::shared_ptr<const Map> Current() const;
  Result<uint64_t> NextId(storage::Txn& txn);
  // Writes `info` (or deletes it when null) under its key, with a change record, and commits;
  // then publishes `next` as the new snapshot.
  Status CommitChange(storage::Txn& txn, std::shared_ptr<const Map> next);

  storage::Store& store_;
  std::mutex write_mu_;            // serializes changes
  mutable std::mutex current_mu_;  // guards current_ (the pointer only)
  std::shared_ptr<const Map> current_;
};

}  // namespace amalgam::catalog
