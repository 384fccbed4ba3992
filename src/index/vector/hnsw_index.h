#pragma once
// HnswIndex: an in-memory approximate nearest-neighbour index (HNSW graph) over fixed-size
// float32 vectors, keyed by uint64 labels that the caller assigns (the engine maps each document
// of a collection to one label and keeps that mapping itself).
//
// What it does
//   - Add / Upsert / Remove vectors by label while searches run. Removed labels are never
//     returned; their slots (vector + neighbour lists) are reused by later inserts.
//   - Search(query, k, ef, filter): the k nearest labels, closest first, as (label, distance).
//     With a filter, only labels passing it are returned; the index picks, per query, between
//     (a) an exact scan over the allow-list and (b) graph traversal that walks through
//     non-matching nodes but collects only matching ones (see ChooseFilterPlan and
//     docs/vector-search.md for the rule and the measurements behind it).
//   - ExactSearch: brute force over every live vector (or the filter's allow-list).
//   - Quantization: kScalar keeps an int8 code per dimension (one scale learned from the first
//     vectors, clamped after) and kBinary one bit per dimension (sign about a learned centre).
//     A quantized index does NOT keep the float32 vectors in memory (only the first
//     kTrainUntil of them, while the quantizer is still being fitted): the graph is built and
//     traversed on the codes, and the best candidates are re-scored on full precision read
//     through a FullVectorSource the caller provides (the engine reads its stored documents,
//     the benchmark a file). Exact (ENN) search on a quantized index also reads every vector
//     through the source. Without a source, searching a quantized index is kIllegalOperation.
//   - Serialize / Deserialize to one byte string (format in docs/vector-search.md), so the
//     engine can store the graph with the data and not rebuild it on restart.
//
// Distances (VectorHit::distance), smaller is closer:
//   kCosine      1 - cos(q, v)           (vectors are normalized at insert; the query at search)
//   kEuclidean   |q - v|  (L2, not squared; squared internally)
//   kDotProduct  1 - dot(q, v)           (vectors stored as given)
// ScoreFromDistance converts to Atlas' 0..1 vectorSearchScore.
//
// Thread safety: every method may be called from any thread at any time. Searches (Search,
// ExactSearch, Contains, Stats, Serialize) run concurrently with each other; writers (Add,
// Upsert, Remove, Reserve) are serialized among themselves and exclude readers only while they
// link one vector (tens to hundreds of microseconds).
//
// Kernels: distance functions are chosen once at run time from the CPU (AVX-512, AVX2+FMA, or a
// scalar fallback); ActiveKernelName() says which.
//
// Layer: index. Depends only on common.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace amalgam::index {

// Persisted (in the serialized index): never renumber.
enum class VectorMetric : uint8_t { kCosine = 0, kEuclidean = 1, kDotProduct = 2 };
enum class VectorQuantization : uint8_t { kNone = 0, kScalar = 1, kBinary = 2 };

// "cosine" / "euclidean" / "dotProduct" (Atlas spelling), and back. Parse errors: kBadValue.
std::string_view VectorMetricName(VectorMetric metric);
Result<VectorMetric> ParseVectorMetric(std::string_view name);
// "none" / "scalar" / "binary" (Atlas spelling), and back. Parse errors: kBadValue.
std::string_view VectorQuantizationName(VectorQuantization q);
Result<VectorQuantization> ParseVectorQuantization(std::string_view name);

// Atlas' vectorSearchScore in [0, 1] for a distance from this index:
//   cosine (1 + cos) / 2,  dotProduct (1 + dot) / 2,  euclidean 1 / (1 + L2).
// (dotProduct scores leave [0, 1] for vectors that are not unit length, as in Atlas.)
double ScoreFromDistance(VectorMetric metric, float distance);

struct HnswOptions {
  uint32_t dims = 0;                   // 1..kMaxDims
  VectorMetric metric = VectorMetric::kCosine;
  uint32_t max_edges = 16;             // M (Atlas hnswOptions.maxEdges, 16..64); layer 0 keeps 2*M
  uint32_t ef_construction = 100;      // Atlas hnswOptions.numEdgeCandidates (100..3200)
  VectorQuantization quantization = VectorQuantization::kNone;
  // With quantization, how many candidates per result are re-scored on full precision:
  // max(ef, k * rescore_multiplier) candidates are gathered on the codes, then re-ranked.
  uint32_t rescore_multiplier = 4;
  uint64_t seed = 0x5eed;              // level generator; fixed so builds are reproducible
  uint32_t initial_capacity = 1024;    // slots allocated up front; grows by doubling

  static constexpr uint32_t kMaxDims = 8192;
  static constexpr uint32_t kMinEdges = 2;
  static constexpr uint32_t kMaxEdges = 512;
  // kBadValue naming the field if any value is out of range.
  Status Validate() const;
};

// A filter on labels. A label passes when it is in `allow` (if given) AND `predicate` accepts it
// (if given). Both are borrowed for the duration of the Search call.
class LabelPredicate {
 public:
  virtual ~LabelPredicate() = default;
  // Called from the searching thread only, many times per search: make it cheap.
  virtual bool Accepts(uint64_t label) const = 0;
};

struct VectorFilter {
  // Labels that may be returned (any order, duplicates and unknown labels allowed). Typically
  // the candidate set the engine computed from its filter indexes for a selective filter.
  std::span<const uint64_t> allow;
  bool has_allow = false;  // distinguishes "empty allow-list" (nothing passes) from "no list"
  const LabelPredicate* predicate = nullptr;
  // The caller's estimate of the fraction of indexed vectors passing `predicate` (0..1), or < 0
  // if unknown. Only used to choose the plan when there is no allow-list.
  double estimated_selectivity = -1;

  static VectorFilter AllowList(std::span<const uint64_t> labels) {
    VectorFilter f;
    f.allow = labels;
    f.has_allow = true;
    return f;
  }
  static VectorFilter Predicate(const LabelPredicate* p, double selectivity = -1) {
    VectorFilter f;
    f.predicate = p;
    f.estimated_selectivity = selectivity;
    return f;
  }
};

// Where a quantized index reads full-precision vectors for re-scoring and exact search. The
// caller owns the vectors (the engine's documents, a file); the index only holds codes.
class FullVectorSource {
 public:
  virtual ~FullVectorSource() = default;
  // For each labels[i], writes its vector (dims floats, as given to Add/Upsert: the index
  // normalizes for cosine itself) to out[i * dims ..) and sets found[i] = 1, or found[i] = 0
  // when the source has no vector for it (that candidate is then dropped). Called from
  // searching threads concurrently, without the index's locks held.
  virtual Status Fetch(std::span<const uint64_t> labels, float* out, uint8_t* found) const = 0;
};

struct VectorHit {
  uint64_t label;
  float distance;
};

// How a filtered search was (or would be) run; for tests, Stats and EXPLAIN-style output.
enum class FilterPlan : uint8_t { kNone = 0, kExactScan = 1, kFilteredGraph = 2 };

struct SearchOptions {
  size_t k = 10;                     // results wanted (>= 1)
  size_t ef = 0;                     // candidate list size; 0 = max(k, 64); raised to >= k
                                     // (Atlas numCandidates)
  const VectorFilter* filter = nullptr;
  bool exact = false;                // brute force (ENN), ignores ef
  // Forces the filter plan (kExactScan or kFilteredGraph) instead of ChooseFilterPlan's choice;
  // for tests and benchmarks. kNone: choose automatically.
  FilterPlan force_plan = FilterPlan::kNone;
  // Full-precision vectors for a quantized index (borrowed for the call); null: the source
  // given to SetFullVectorSource. Ignored without quantization.
  const FullVectorSource* source = nullptr;
};

struct SearchInfo {
  FilterPlan plan = FilterPlan::kNone;
  size_t distance_computations = 0;  // on codes or full vectors, including re-scoring
  size_t nodes_visited = 0;
  size_t vectors_fetched = 0;        // full vectors read from the FullVectorSource
};

struct HnswStats {
  size_t live_vectors = 0;           // Size()
  size_t deleted_slots = 0;          // removed, waiting to be reused
  size_t capacity_slots = 0;
  size_t graph_bytes = 0;            // neighbour lists (all layers) + per-slot metadata
  size_t code_bytes = 0;             // quantized codes (0 without quantization)
  size_t full_vector_bytes = 0;      // float32 vectors held in memory: all of them without
                                     // quantization; with it only the quantizer's training
                                     // sample while it is being fitted (0 once fitted)
  size_t label_map_bytes = 0;        // label -> slot hash table
  size_t total_bytes = 0;            // everything this object holds, incl. the above
  int max_level = -1;
  uint64_t inserts = 0, removes = 0, searches = 0;
};

class HnswGraph;  // internal: src/index/vector/hnsw_impl.h

class HnswIndex {
 public:
  // kBadValue if options are invalid.
  static Result<std::unique_ptr<HnswIndex>> Create(const HnswOptions& options);

  ~HnswIndex();
  HnswIndex(const HnswIndex&) = delete;
  HnswIndex& operator=(const HnswIndex&) = delete;

  const HnswOptions& options() const { return options_; }

  // Inserts `vector` (options().dims floats) under `label`. kDuplicateKey if the label is
  // present, kBadValue for a non-finite component or (cosine) an all-zero vector.
  Status Add(uint64_t label, const float* vector);
  // Inserts, or replaces the vector of an existing label (same errors as Add, minus
  // kDuplicateKey). Idempotent, so replaying a change log over a saved index is safe.
  Status Upsert(uint64_t label, const float* vector);
  // Removes the label; true if it was present. Its slot is reused by a later insert.
  bool Remove(uint64_t label);
  bool Contains(uint64_t label) const;
  // Copies the vector (normalized for cosine) into `out` (dims floats); false if absent. A
  // quantized index reads it through the FullVectorSource (false without one).
  bool GetVector(uint64_t label, float* out) const;

  // The source a quantized index re-scores from when SearchOptions::source is null (kept until
  // replaced; may be null). Not persisted: set it again after Deserialize.
  void SetFullVectorSource(std::shared_ptr<const FullVectorSource> source);

  // Grows the slot arrays to hold `slots` vectors without reallocating later.
  void Reserve(size_t slots);

  // The k nearest labels passing the filter, closest first (ties by label). Fewer than k only
  // if fewer than k live labels pass the filter (filtered graph search falls back to an exact
  // scan when the graph yields too few). `query` has dims floats; kBadValue if non-finite.
  // `out` is cleared and filled; `info` (optional) tells how it ran.
  Status Search(const float* query, const SearchOptions& options, std::vector<VectorHit>* out,
                SearchInfo* info = nullptr) const;
  // Brute force over live vectors (full precision, through the source when quantized), filter
  // honoured. Same contract as Search.
  Status ExactSearch(const float* query, size_t k, const VectorFilter* filter,
                     std::vector<VectorHit>* out, const FullVectorSource* source = nullptr) const;

  // The plan Search would choose for this filter, k and ef on the current index size. Rule
  // (measured, docs/vector-search.md): with an allow-list of n labels, exact scan when
  // n <= max(kExactScanMinRows, ef * kExactScanEfFactor) or n <= size * kExactScanSelectivity;
  // with only a predicate, exact scan when estimated_selectivity * size is within the same
  // bound; otherwise filtered graph traversal.
  FilterPlan ChooseFilterPlan(const VectorFilter& filter, size_t ef) const;
  static constexpr size_t kExactScanMinRows = 2048;
  static constexpr size_t kExactScanEfFactor = 16;
  static constexpr double kExactScanSelectivity = 0.03;
  // A quantized index keeps the float32 vectors of at most this many rows in memory, only
  // until its quantizer has been fitted on them.
  static constexpr uint32_t kTrainUntil = 1024;

  size_t Size() const;           // live vectors
  size_t MemoryBytes() const;    // Stats().total_bytes
  HnswStats Stats() const;

  // The whole index as bytes (format version 2, docs/vector-search.md): options, the caller's
  // applied sequence number, labels, levels, vectors (without quantization) or codes (with it,
  // plus the quantizer's training sample while it is being fitted), and neighbour lists.
  // Deserialize also reads version 1 images (which held float32 vectors for every index).
  // A consistent snapshot: writers wait while it is taken.
  std::string Serialize() const;
  // Rebuilds an index from Serialize() output. kDataCorruption (naming what is wrong) for
  // truncated, inconsistent or unknown-version bytes; never crashes on bad input.
  static Result<std::unique_ptr<HnswIndex>> Deserialize(std::string_view bytes);
  // Serialize() to `path` (written to path.tmp, fsynced, renamed) / Deserialize from it.
  // kIOError for file errors.
  Status SaveToFile(const std::string& path) const;
  static Result<std::unique_ptr<HnswIndex>> LoadFromFile(const std::string& path);

  // Catching up after a restart: the engine records the change-log sequence number whose
  // writes are all applied (set it before Serialize), and after Deserialize replays the log
  // entries after applied_sequence() with Upsert / Remove (both idempotent).
  void set_applied_sequence(uint64_t seq);
  uint64_t applied_sequence() const;

  // "avx512", "avx2" or "scalar".
  static std::string_view ActiveKernelName();

 private:
  explicit HnswIndex(const HnswOptions& options);
  HnswOptions options_;
  std::unique_ptr<HnswGraph> impl_;
};

}  // namespace amalgam::index
