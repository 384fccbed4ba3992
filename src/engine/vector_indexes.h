#pragma once
// VectorIndexes: the vector search indexes of every collection, for both faces (MongoDB's
// createSearchIndexes / $vectorSearch and DynamoDB's VectorIndexes / SearchVectors call the same
// methods). Design and persisted formats: docs/vector-search.md, "Engine and MongoDB face".
//
//   - Definitions are persisted in the meta column family, keyed by collection id, so a dropped
//     collection's indexes vanish with it (and are cleaned up by the maintenance thread or at
//     the next start).
//   - Each document of an indexed collection gets a stable uint64 label; one in-memory
//     index::HnswIndex per vector field holds the vectors by label (a quantized one only their
//     codes: it re-scores from the documents through a DocumentVectorSource), and per label the
//     values of the index's filter fields are kept for filtered searches.
//   - The change log is the source of truth: a background thread applies committed changes
//     after each index's applied sequence. A new (or updated) index is first built over the
//     existing documents in the background (status BUILDING with a percentage, then READY).
//   - Searches are fresh: changes committed after the applied sequence and present in the
//     search's snapshot are read from the change log, their documents scored exactly and merged
//     with the graph's answer (graph hits for those documents are dropped), so a write
//     acknowledged before a search is visible to it and a deleted document is never returned.
//     While an index is still building, searches run exactly over the collection.
//   - The graphs, labels and filter values are saved to the vectors column family with the
//     sequence they cover (after a build, periodically, and at Stop), loaded at Open and caught
//     up from the change log: no rebuild on restart.
//
// Thread safety: every method may be called from any thread concurrently.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bson/document.h"
#include "catalog/catalog.h"
#include "common/result.h"
#include "engine/vector_index_def.h"
#include "storage/store.h"

namespace amalgam::engine {

class Engine;
struct LiveVectorIndex;  // vector_indexes.cc

enum class VectorIndexStatus : uint8_t { kPending, kBuilding, kReady, kFailed };
std::string_view VectorIndexStatusName(VectorIndexStatus s);  // "PENDING", "BUILDING", ...

struct VectorIndexInfo {
  std::string id;    // 24 hex digits, stable across updates and restarts
  std::string name;
  VectorIndexDef def;
  VectorIndexStatus status = VectorIndexStatus::kPending;
  bool queryable = false;        // true once built (searches on a building index run exactly)
  double progress = 0;           // build progress, 0..100
  std::string failure;           // for kFailed
  int64_t created_millis = 0;    // of the latest definition
  int32_t definition_version = 0;
  // Cost and maintenance counters.
  uint64_t vectors = 0;          // live vectors over all vector fields
  uint64_t documents = 0;        // labelled documents
  uint64_t memory_bytes = 0;     // graphs + codes + vectors + label tables
  uint64_t applied_seq = 0;      // change-log sequence applied
  uint64_t builds = 0;           // full builds run by this process
  bool loaded_from_disk = false; // the graph came from a saved snapshot at start
  uint64_t saved_seq = 0;        // sequence covered by the latest saved snapshot
};

// A filter on documents, supplied by the face (a compiled MongoDB filter, a DynamoDB condition).
// It only looks at the fields listed in `paths()`, which must be filter fields of the index.
class VectorDocFilter {
 public:
  virtual ~VectorDocFilter() = default;
  // Called from the searching thread, many times per search.
  virtual bool Matches(bson::DocView doc) const = 0;

  // A conjunct of the filter: only documents whose `path` equals (or, for an array, contains)
  // one of `values` can match. Values are scalars (not null, arrays, documents or regexes),
  // borrowed from the filter, which outlives the search.
  struct EqualityHint {
    std::string path;
    std::vector<bson::Value> values;
  };
  // The search turns the most selective hint into an allow-list from the index's postings of
  // that filter field (instead of testing every document). None by default.
  virtual std::vector<EqualityHint> EqualityHints() const { return {}; }
};

struct VectorQuery {
  std::string index;                       // index name
  std::string path;                        // vector field path
  std::vector<float> vector;
  size_t limit = 10;                       // results wanted (>= 1)
  size_t num_candidates = 0;               // ANN candidate list (ef); 0: max(limit, 64)
  bool exact = false;                      // ENN
  const VectorDocFilter* filter = nullptr; // borrowed for the call
};

struct VectorMatch {
  bson::Document doc;
  double score = 0;
};

struct VectorSearchStats {
  bool index_found = false;
  bool exact_scan = false;      // ran over the collection (index building, or too many pending)
  size_t graph_hits = 0;        // labels the graph returned
  size_t pending_changes = 0;   // change-log entries merged exactly
  index::FilterPlan plan = index::FilterPlan::kNone;
};

struct VectorIndexesOptions {
  // A snapshot is saved when this many changes were applied since the last one, or when
  // save_interval passes with any change applied.
  uint64_t save_every_changes = 50000;
  std::chrono::milliseconds save_interval{30000};
  // Searches with more pending changes than this run exactly over the collection instead.
  size_t max_merged_pending = 20000;
};

class VectorIndexes {
 public:
  // Loads the definitions and saved snapshots, removes those of dropped collections, starts
  // builds of indexes without a usable snapshot and the maintenance thread.
  // Errors: kIOError, kDataCorruption (a definition record; a bad snapshot only causes a rebuild).
  static Result<std::unique_ptr<VectorIndexes>> Open(Engine& engine, const VectorIndexesOptions& options = {});
  ~VectorIndexes();  // Stop()s

  // Stops builds and the maintenance thread, saves every ready index. Idempotent.
  void Stop();

  // Creates index `def.name` on db.coll and starts its build. Errors: kNamespaceNotFound (no
  // such collection), kIndexAlreadyExists (the name is taken), kIOError.
  Result<VectorIndexInfo> Create(std::string_view db, std::string_view coll, VectorIndexDef def);
  // Replaces the definition of index `def.name` (same id) and rebuilds it. Errors:
  // kNamespaceNotFound, kIndexNotFound, kIOError.
  Result<VectorIndexInfo> Update(std::string_view db, std::string_view coll, VectorIndexDef def);
  // Errors: kNamespaceNotFound, kIndexNotFound, kIOError.
  Status Drop(std::string_view db, std::string_view coll, std::string_view name);
  // The indexes of db.coll in creation order (empty when the collection does not exist).
  std::vector<VectorIndexInfo> List(std::string_view db, std::string_view coll);

  // The definition of index `name` of db.coll, or nullopt. Cheap (no statistics).
  std::optional<VectorIndexDef> Definition(std::string_view db, std::string_view coll, std::string_view name);

  // The `limit` best documents by score, best first. An unknown collection or index name gives
  // no results (as Atlas). Errors: kBadValue when `path` is not a vector field of the index or
  // the query vector has the wrong number of dimensions; kIOError, kDataCorruption.
  Result<std::vector<VectorMatch>> Search(std::string_view db, std::string_view coll, const VectorQuery& query,
                                          VectorSearchStats* stats = nullptr);

  // Blocks until every ready index of db.coll has applied the change log up to the current
  // visible sequence, or `timeout` passes. For tests and tools.
  bool WaitCaughtUp(std::string_view db, std::string_view coll, std::chrono::milliseconds timeout);

 private:
  VectorIndexes(Engine& engine, const VectorIndexesOptions& options);
  using LivePtr = std::shared_ptr<LiveVectorIndex>;
  Status Load();
  LivePtr FindLive(uint64_t cid, std::string_view name);
  VectorIndexInfo Describe(const LiveVectorIndex& ix) const;
  void StartBuild(const LivePtr& ix);
  void BuildLoop(const LivePtr& ix);
  void MaintenanceLoop();
  Status CatchUp(LiveVectorIndex& ix, size_t max_entries, bool* dropped);
  Status SaveSnapshot(LiveVectorIndex& ix);
  Status RemoveData(const LiveVectorIndex& ix, bool definition_too);
  void Forget(const LivePtr& ix);

  Engine& engine_;
  storage::Store& store_;
  VectorIndexesOptions options_;

  std::mutex mu_;  // guards everything below
  std::vector<LivePtr> indexes_;  // creation order
  std::vector<std::thread> builders_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread maintenance_;
};

}  // namespace amalgam::engine
