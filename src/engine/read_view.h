#pragma once
// ReadView: consistent reads of any collection at one snapshot. Cheap to create; keep it as
// long as a cursor needs stable results. Not thread-safe; must not outlive its Engine.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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
  // The documents whose encoded _id is in [lower_id, upper_id) ("": unbounded on that side).
  std::unique_ptr<DocumentCursor> ScanRange(const CollectionHandle& coll, std::string_view lower_id,
                                            std::string_view upper_id, bool forward = true);
  // Encoded _ids that split the collection into at most `parts` _id ranges of about equal size
  // on disk (storage's estimates, no scan), in increasing order: range 0 is [start, ids[0]),
  // range i [ids[i-1], ids[i]), the last [ids.back(), end). Empty (one range) when the
  // collection holds less than `min_part_bytes` per part. Any split is correct, only the
  // balance is approximate.
  std::vector<std::string> SplitIds(const CollectionHandle& coll, size_t parts, uint64_t min_part_bytes);
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
