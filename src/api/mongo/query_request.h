#pragma once
// Turning the query parts of find-like commands (filter, sort, projection, hint, skip, limit)
// into an executable query over the engine, shared by find, count, distinct and explain.

#include <memory>
#include <string>
#include <vector>

#include "bson/document.h"
#include "bson/field_path.h"
#include "common/result.h"
#include "engine/collection_handle.h"
#include "engine/document_source.h"
#include "query/executor.h"
#include "query/plan.h"

namespace amalgam::engine {
class Engine;
}

namespace amalgam::api::mongo {

struct FindOptions {
  bson::Document filter;
  bson::Document sort;
  bson::Document projection;
  bson::Document hint_holder;  // {h: <hint>} when a hint was given (owns the bytes)
  bson::Value hint;            // view into hint_holder (missing: none)
  int64_t skip = 0;
  int64_t limit = 0;          // 0: none
  int64_t batch_size = -1;    // -1: default
  bool single_batch = false;
  bool allow_disk_use = false;
  int64_t max_time_ms = -1;    // -1: none
  bson::Document let;          // variables for $expr ($$name)
};

// Parses find's arguments with MongoDB's type checks and messages. Errors: kTypeMismatch (14),
// kFieldValueOutOfRange (51024) for negative skip/limit/batchSize, kUnknownField (40415).
Result<FindOptions> ParseFindOptions(bson::DocView cmd);

struct PreparedQuery {
  query::Plan plan;
  std::unique_ptr<engine::DocumentSource> source;
  std::shared_ptr<query::ExecStats> stats;
};

// Compiles the filter, sort and projection, plans, and builds the executor over a fresh
// snapshot, or over `txn` (its snapshot plus its own writes; it must outlive the source) when
// given. Errors: those of the matcher, sort and projection compilers and of the planner.
Result<PreparedQuery> PrepareQuery(engine::Engine& engine, engine::HandlePtr coll, const FindOptions& opts,
                                   bson::DocView variables, engine::WriteTxn* txn = nullptr);

// distinct's value collection: adds every value `path` reaches in `doc` (array elements one level
// deep) to the sorted, duplicate-free `values` (each a {"": value} document).
void AddDistinctValues(bson::DocView doc, const bson::FieldPath& path, std::vector<bson::Document>* values);

// explain's winningPlan description for `plan`.
bson::Document DescribePlan(const engine::CollectionHandle& coll, const query::Plan& plan, bool has_filter,
                            bool blocking_sort, bool projection);

}  // namespace amalgam::api::mongo
