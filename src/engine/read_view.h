#pragma once
// ReadView: consistent reads of any collection at one snapshot. Cheap to create; keep it as
// long as a cursor needs stable results. Not thread-safe; must not outlive its Engine.

#include <memory>
#include <optional>
#include <string>

#include "bson/document.h"
#include "common/result.h"
#include "engine/collection_handle.h"
#include "engine/cursors.h"
#include "storage/store.h"

namespace amalgam::engine {

class ReadView {
 public:
  ReadView(storage::Store& store, std::shared_ptr<const storage::Snapshot> snapshot)
      : store_(store), snapshot_(std::move(snapshot)) {}

  // The document whose _id equals `id`, or nullopt. Errors: kIOError, kDataCorruption.
  Result<std::optional<bson::Document>> Get(const CollectionHandle& coll, const bson::Value& id);
  // By encoded _id (as index cursors return it).
  Result<std::optional<bson::Document>> GetByEncodedId(const CollectionHandle& coll, std::string_view encoded_id);
  // All documents in _id order (or reverse).
  std::unique_ptr<DocumentCursor> Scan(const CollectionHandle& coll, bool forward = true);
  // Index entries with encoded keys in [lower, upper) relative to the index (empty lower:
  // from the start; empty upper: to the end), in key order or reverse.
  std::unique_ptr<IndexCursor> ScanIndex(const catalog::IndexSpec& index, std::string lower, std::string upper,
                                         bool forward = true);

  const storage::Snapshot& snapshot() const { return *snapshot_; }

 private:
  storage::Store& store_;
  std::shared_ptr<const storage::Snapshot> snapshot_;
};

}  // namespace amalgam::engine
