#pragma once
// $vectorSearch (Atlas Vector Search syntax) and the $listSearchIndexes stage for the aggregation
// pipeline. Both must be the first stage: Pipeline::Compile accepts them there as placeholders
// (ParseVectorSearchStage / ParseListSearchIndexesStage, which check the arguments) and the face
// supplies their rows as the pipeline's input (RunVectorSearch; the face lists indexes itself).
//
//   {$vectorSearch: {index, path, queryVector, numCandidates, limit, filter, exact}}
//
// Rows carry meta {vectorSearchScore: <0..1>}, read by {$meta: "vectorSearchScore"} in $project
// and $addFields/$set. Results are sorted by score, best first.
//
// Errors (parse): 40602 not the first stage (or inside $facet); kFailedToParse for a non-document
// argument; 40414 a missing required field (index, path, queryVector, limit, and numCandidates
// unless exact is true); 40415 an unknown field; kTypeMismatch for a field of the wrong type;
// kBadValue for numCandidates outside 1..10000, limit < 1, limit > numCandidates, numCandidates
// together with exact: true, a non-numeric or non-finite queryVector.
// Errors (run): an unknown index gives no results (as Atlas); kBadValue for a path that is not a
// vector field of the index, a queryVector of the wrong dimension, a filter on a path not
// indexed as `filter`, or a filter operator other than $eq $ne $gt $gte $lt $lte $in $nin
// $exists $not $nor $and $or.
//
// Thread safety: plain functions; the returned Stage is used by one thread.

#include <memory>
#include <string>
#include <vector>

#include "bson/document.h"
#include "common/result.h"
#include "engine/engine.h"
#include "engine/vector_index_def.h"
#include "query/executor.h"
#include "query/pipeline_internal.h"

namespace amalgam::query {

inline constexpr int64_t kMaxNumCandidates = 10000;

struct VectorSearchRequest {
  std::string index;
  std::string path;
  std::vector<float> query_vector;
  int64_t num_candidates = 0;  // 0 when exact
  int64_t limit = 0;
  bool exact = false;
  bson::Document filter;  // {} when none
};

Result<VectorSearchRequest> ParseVectorSearchRequest(const bson::Value& arg);

// Checks that `filter` uses only the supported operators on paths indexed as `filter` in `def`.
Status CheckVectorSearchFilter(bson::DocView filter, const engine::VectorIndexDef& def);

// Runs the search on db.coll and returns a stage producing the matching documents, best first,
// each row with meta {vectorSearchScore}.
Result<std::unique_ptr<Stage>> RunVectorSearch(engine::Engine& engine, std::string_view db, std::string_view coll,
                                               const VectorSearchRequest& request);

// A stage returning `docs` in order with their `metas`.
std::unique_ptr<Stage> MakeMetaVectorStage(std::vector<bson::Document> docs, std::vector<bson::Document> metas);

// The name of the pipeline's first stage ("" if none).
std::string_view FirstStageName(bson::DocView pipeline);

namespace pipeline_internal {
// Placeholders for the first-stage-only sources (see the file comment).
Status ParseVectorSearchStage(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseListSearchIndexesStage(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
}  // namespace pipeline_internal

}  // namespace amalgam::query
