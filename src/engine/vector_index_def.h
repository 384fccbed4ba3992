#pragma once
// VectorIndexDef: the definition of one vector search index of a collection, face-neutral. The
// MongoDB face parses Atlas' `{type: "vectorSearch", definition: {fields: [...]}}` into it
// (ParseAtlasVectorDefinition); the DynamoDB face can build one from VectorIndexes directly.
// The Atlas-shaped definition document is what is persisted and shown as latestDefinition.
//
// Also here: reading a vector out of a document (ExtractVector) and exact scores, shared by the
// index maintenance and the exact (fresh) part of searches.
//
// Thread safety: plain values; the functions are pure.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bson/document.h"
#include "common/result.h"
#include "index/vector/hnsw_index.h"

namespace amalgam::engine {

struct VectorFieldDef {
  std::string path;  // dotted path through documents (no array traversal)
  uint32_t dims = 0;
  index::VectorMetric metric = index::VectorMetric::kCosine;
  index::VectorQuantization quantization = index::VectorQuantization::kNone;
  uint32_t max_edges = 16;             // hnswOptions.maxEdges (16..64)
  uint32_t num_edge_candidates = 100;  // hnswOptions.numEdgeCandidates (100..3200)
};

struct VectorIndexDef {
  std::string name;
  std::vector<VectorFieldDef> vectors;    // at least one
  std::vector<std::string> filter_paths;  // fields a query filter may use
  bson::Document definition;              // Atlas shape ({fields: [...]}) as given

  const VectorFieldDef* FindVector(std::string_view path) const;
  bool IsFilterPath(std::string_view path) const;
};

// Atlas limits.
inline constexpr uint32_t kMaxVectorDims = 8192;
inline constexpr uint32_t kMinMaxEdges = 16, kMaxMaxEdges = 64;
inline constexpr uint32_t kMinEdgeCandidates = 100, kMaxEdgeCandidates = 3200;

// Parses and validates an Atlas vectorSearch index definition ({fields: [...]}) for index
// `name`. Errors: kBadValue / kTypeMismatch / kFailedToParse naming the offending field (as
// "definition.fields[1].numDimensions ..."), e.g. unknown field type, numDimensions outside
// 1..8192, unknown similarity or quantization, hnswOptions out of range, duplicate paths, no
// vector field.
Result<VectorIndexDef> ParseAtlasVectorDefinition(std::string_view name, bson::DocView definition);

// The vector at `path` in `doc` if it is an array of `dims` finite numbers or a BSON vector
// (BinData subtype 9: float32, int8, or packed bits, docs/vector-search.md); nullopt otherwise
// (missing, wrong type, wrong dimension, non-finite, or all zero for cosine).
std::optional<std::vector<float>> ExtractVector(bson::DocView doc, std::string_view path,
                                                uint32_t dims, index::VectorMetric metric);
// Converts a query vector (array of numbers or BSON vector) of any length. Errors: kBadValue /
// kTypeMismatch naming `what`.
Result<std::vector<float>> VectorFromValue(const bson::Value& v, std::string_view what);

// Atlas' vectorSearchScore of `v` for query `q` (same length): cosine (1 + cos) / 2,
// dotProduct (1 + dot) / 2, euclidean 1 / (1 + L2). Computed in double, exactly.
double ExactVectorScore(index::VectorMetric metric, const std::vector<float>& q,
                        const std::vector<float>& v);

// The value at a dotted path following documents only; missing if absent.
bson::Value ValueAtPath(bson::DocView doc, std::string_view path);

}  // namespace amalgam::engine
