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

// "path\0<encoded value>".
std::string PostingKey(std::string_view path, const bson::Value& v);
// Adds (add = true) or removes the postings of `filter` (a label's filter values) for `label`.
// REQUIRES: ix.labels_mu held exclusively.
void UpdatePostings(LiveVectorIndex& ix, uint64_t label, bson::DocView filter, bool add);

// Creates empty graphs for ix.def. Errors: kBadValue from HnswOptions::Validate.
Status ResetGraphs(LiveVectorIndex& ix);

}  // namespace amalgam::engine
