#pragma once
// Internals of engine/vector_indexes.h shared by vector_indexes.cc and vector_search.cc: the
// in-memory state of one vector search index. Not for use outside those files.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/vector_indexes.h"
#include "index/vector/hnsw_index.h"

namespace amalgam::engine {

struct VectorLabelEntry {
  std::string id;         // encoded _id
  bson::Document filter;  // the document's top-level fields that hold filter paths
};

struct LiveVectorIndex {
  uint64_t uid = 0;  // key prefix of its data in the vectors column family
  std::string id_hex;
  uint64_t cid = 0;  // collection id
  storage::Store* store = nullptr;  // the engine's; quantized graphs read their vectors from it
  VectorIndexDef def;
  std::vector<std::string> filter_tops;  // first components of def.filter_paths
  int64_t created_millis = 0;
  int32_t version = 0;

  std::atomic<VectorIndexStatus> status{VectorIndexStatus::kPending};
  std::atomic<double> progress{0};
  std::atomic<bool> dropped{false};
  std::atomic<uint64_t> applied_seq{0};
  std::atomic<uint64_t> saved_seq{0};
  std::atomic<uint64_t> builds{0};
  std::atomic<bool> loaded_from_disk{false};

  // Serializes writers of the graphs and label tables (the build thread or the maintenance
  // thread) and snapshot saves. Searches do not take it.
  std::mutex write_mu;
  uint64_t saved_gen = 0;
  uint64_t changes_since_save = 0;
  std::chrono::steady_clock::time_point last_save = std::chrono::steady_clock::now();
  std::string failure;  // under write_mu

  // One graph per def.vectors entry. Replaced only under write_mu while the index is not ready.
  std::vector<std::unique_ptr<index::HnswIndex>> graphs;

  // Label tables: searches hold it shared, writers exclusively for short updates.
  mutable std::shared_mutex labels_mu;
  std::unordered_map<std::string, uint64_t> label_of;
  std::unordered_map<uint64_t, VectorLabelEntry> entries;
  uint64_t next_label = 1;
  // Postings of the filter fields, for equality filters: PostingKey(path, value) -> labels whose
  // value at `path` is (or, in an array, contains) that scalar. Labels whose path crosses an
  // array of documents are in `unindexed[path]` (always candidates). Rebuilt, never persisted.
  std::unordered_map<std::string, std::unordered_set<uint64_t>> postings;
  std::unordered_map<std::string, std::unordered_set<uint64_t>> unindexed;
};

// The full-precision vectors of one vector field of `ix` for its quantized graph (which keeps
// only codes): read from the stored documents at `snapshot` (null: the latest). The documents
// already hold the vectors, so nothing is stored twice; a label whose document is gone or has no
// usable vector at the snapshot is reported not found (the graph then drops that candidate).
// VectorIndexes::Search passes one bound to its snapshot; each quantized graph also gets one
// reading the latest documents as its default source (ResetGraphs, snapshot load), for any
// other caller.
// REQUIRES: the thread calling Fetch holds ix.labels_mu (shared), as VectorIndexes::Search does
// around the graph search.
class DocumentVectorSource final : public index::FullVectorSource {
 public:
  DocumentVectorSource(storage::Store& store, const storage::Snapshot* snapshot, const LiveVectorIndex& ix,
                       const VectorFieldDef& field)
      : store_(store), snapshot_(snapshot), ix_(ix), field_(field) {}
  Status Fetch(std::span<const uint64_t> labels, float* out, uint8_t* found) const override;

 private:
  storage::Store& store_;
  const storage::Snapshot* snapshot_;
  const LiveVectorIndex& ix_;
  const VectorFieldDef& field_;
};

// "path\0<encoded value>".
std::string PostingKey(std::string_view path, const bson::Value& v);
// Adds (add = true) or removes the postings of `filter` (a label's filter values) for `label`.
// REQUIRES: ix.labels_mu held exclusively.
void UpdatePostings(LiveVectorIndex& ix, uint64_t label, bson::DocView filter, bool add);

// Creates empty graphs for ix.def (quantized ones with a DocumentVectorSource over ix.store).
// Errors: kBadValue from HnswOptions::Validate.
Status ResetGraphs(LiveVectorIndex& ix);

}  // namespace amalgam::engine
