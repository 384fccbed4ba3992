#pragma once
// Query execution: pull-based stages over a ReadView (or a WriteTxn for updates and deletes)
// that turn a Plan into result documents. A stage returns Rows: the document plus what the
// match found (the positional array index for `$` projections and updates).
//
// Stages hold the snapshot they read (ReadView) for their whole life, so a cursor that outlives
// its request keeps returning a consistent result. Not thread-safe.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bson/document.h"
#include "common/result.h"
#include "engine/collection_handle.h"
#include "engine/document_source.h"
#include "engine/read_view.h"
#include "engine/write_txn.h"
#include "query/matcher.h"
#include "query/plan.h"

namespace amalgam::query {

struct Row {
  bson::Document doc;
  MatchDetails details;
  std::string encoded_id;  // set by access stages
  // $meta values of the row by name ({vectorSearchScore: 0.93}); empty when there are none. Set
  // by $vectorSearch, kept by the streaming stages and $sort, read by {$meta: ...}.
  bson::Document meta;
};

// Counters for explain's executionStats, and the time limit (maxTimeMS) the access stages
// check as they examine keys and documents.
struct ExecStats {
  int64_t keys_examined = 0;
  int64_t docs_examined = 0;
  int64_t returned = 0;
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();

  // Counts one examined key or document; every 128th checks the deadline.
  // Errors: kMaxTimeMSExpired "operation exceeded time limit".
  Status Examine(int64_t* counter);
};

class Stage {
 public:
  virtual ~Stage() = default;
  // Produces the next row. Returns false at the end.
  virtual Result<bool> Next(Row* row) = 0;
};

// Where documents are read from: a snapshot, or a write transaction (its snapshot plus its own
// writes). Exactly one is set. Both must outlive the stages.
struct ReadSource {
  engine::ReadView* view = nullptr;
  engine::WriteTxn* txn = nullptr;
};

// The access stage for `plan` followed by a filter (when `matcher` is set).
std::unique_ptr<Stage> MakeAccessStage(ReadSource source, engine::HandlePtr coll, const Plan& plan,
                                       std::shared_ptr<const Matcher> matcher, ExecStats* stats);

// Compares two documents in sort order (<0, 0, >0).
using DocComparator = std::function<int(bson::DocView, bson::DocView)>;
// Sorts everything its input produces (stable). With `limit` > 0 keeps only the first `limit`
// (a top-k heap). Errors: kExceededMemoryLimit when the input passes `memory_limit_bytes`
// (MongoDB's QueryExceededMemoryLimitNoDiskUseAllowed).
std::unique_ptr<Stage> MakeSortStage(std::unique_ptr<Stage> input, DocComparator compare, int64_t limit,
                                     size_t memory_limit_bytes);
// Skips `skip` rows, then returns at most `limit` (0: no limit).
std::unique_ptr<Stage> MakeSkipLimitStage(std::unique_ptr<Stage> input, int64_t skip, int64_t limit);

// Applies a projection to each row's document.
using Projector = std::function<Result<bson::Document>(bson::DocView, const MatchDetails&)>;

// The DocumentSource a client cursor holds: the stage tree, optionally projected, and the
// ReadView (snapshot) it reads, kept alive as long as the cursor.
std::unique_ptr<engine::DocumentSource> MakeDocumentSource(std::unique_ptr<engine::ReadView> view,
                                                           std::unique_ptr<Stage> stage, Projector projector,
                                                           std::shared_ptr<ExecStats> stats);

}  // namespace amalgam::query
