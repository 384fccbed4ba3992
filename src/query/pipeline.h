#pragma once
// Pipeline: MongoDB aggregation pipelines, compiled once and run as a chain of executor Stages
// (query/executor.h) over an input Stage.
//
//   PipelineContext pctx;
//   pctx.variables = let;  // copied
//   AMALGAM_ASSIGN_OR_RETURN(query::Pipeline p, query::Pipeline::Compile(stages_array, pctx));
//   // Leading $match/$sort/$skip/$limit may run in the find-style access path instead:
//   const query::AccessPrefix& pre = p.access_prefix();
//   std::unique_ptr<Stage> out = p.Build(std::move(access_stage), pre.stages);
//
// Stages (MongoDB 7.0 semantics): $match, $project, $addFields/$set, $unset, $sort (a $limit right
// after it makes it a top-k sort), $limit, $skip, $count, $group, $unwind, $replaceRoot,
// $replaceWith, $sortByCount, $sample, $facet, $documents, $lookup (equality and pipeline forms,
// with let), $unionWith, $bucket, $bucketAuto. Accumulators of $group: $sum $avg $min
// $max $first $last $push $addToSet $count $mergeObjects $stdDevPop $stdDevSamp $firstN $lastN
// $maxN $minN $top $bottom $topN $bottomN (n a constant).
//
// Output order: documents keep input order through streaming stages; $group emits its groups in
// the order their first document arrived (MongoDB leaves it unspecified); $sort is stable.
//
// Compile errors carry MongoDB's codes through MongoCodedError (query/projection.h): the registry
// row for the code when there is one, else kBadValue with MongoDB's message. Among them:
//   40323 "A pipeline stage specification object must contain exactly one field."
//   40324 "Unrecognized pipeline stage name: '$foo'"
//   15959 $match not an object; 15973/15976 bad $sort; 15957/15958/5107201 bad $limit;
//   5107200 bad $skip; 40156/40157/40158/40160 bad $count;
//   15947/15955/15952/40234/40235/40236/40237/ 40238 bad $group;
//   15981/28809/28810/28811/28812/28818/28822 bad $unwind; 40228-40231 bad $replaceRoot;
//   40147-40149 bad $sortByCount; 28745-28749 bad $sample; 40169/40170/40600 bad $facet; 40602
//   $documents not first; expression, matcher, projection and sort errors of their compilers
//   ($project errors prefixed "Invalid $project :: caused by :: ").
// Run errors: kQueryExceededMemoryLimit (292) when a blocking stage ($sort, $group, $sample,
// $facet) holds more than memory_limit_bytes and allow_disk_use is false (with allowDiskUse the
// stage keeps going in memory: there is no spilling yet); 40228 $replaceRoot to a non-object;
// 40400 $mergeObjects of a non-object; 292/expression evaluation errors.
//
// Thread safety: a compiled Pipeline is immutable and may be built into any number of executors
// from any thread; each executor (Stage) is used by one thread at a time. The Pipeline owns copies
// of the stage specifications and variables; executors keep them alive.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "bson/document.h"
#include "common/result.h"
#include "engine/document_source.h"
#include "query/executor.h"

namespace amalgam::query {

inline constexpr size_t kDefaultPipelineMemoryLimit = 100u << 20;  // 100 MB per blocking stage

// Reads the other collections of the pipeline's database for $lookup and $unionWith. The command
// layer implements it. Shared by every executor built from the pipeline, possibly after the
// command returned (cursors), so an implementation owns what it needs. Thread-safe.
class CollectionSource {
 public:
  virtual ~CollectionSource() = default;
  // The documents of `coll` that match `filter` ({}: all), each read through a fresh snapshot. A
  // collection that does not exist reads as empty. Errors: the matcher's and planner's.
  virtual Result<std::unique_ptr<Stage>> Open(std::string_view coll, bson::DocView filter) const = 0;
};

struct PipelineContext {
  // `let` variables ($$name), as a document of name -> value; copied by Compile.
  bson::DocView variables;
  bool allow_disk_use = false;
  size_t memory_limit_bytes = kDefaultPipelineMemoryLimit;
  // The pipeline runs against a database ({aggregate: 1}): its first stage must be $documents.
  bool collectionless = false;
  // Seed for $sample (0: a random seed per executor).
  uint64_t random_seed = 0;
  // Other collections, for $lookup and $unionWith (null: those stages fail when they run).
  std::shared_ptr<const CollectionSource> collections;
  // `variables` are values already (sub-pipelines): not evaluated again as expressions.
  bool variables_evaluated = false;
};

// The leading stages the find-style access path can run instead: [$match][$sort][$skip][$limit],
// each optional, in this order. `stages` is how many pipeline stages they cover (0: none).
struct AccessPrefix {
  bson::Document filter;  // {} when no $match
  bson::Document sort;    // {} when no $sort
  int64_t skip = 0;
  int64_t limit = 0;  // 0: none
  size_t stages = 0;
};

// A collection read in _id order at one snapshot, keeping the documents that pass `matcher`
// (null: every document): the input of a pipeline whose access prefix is at most a $match and
// has no index to use (Pipeline::BuildOverScan).
struct ScanInput {
  engine::ReadView* view = nullptr;  // REQUIRES: outlives the executor
  engine::HandlePtr coll;
  std::shared_ptr<const Matcher> matcher;
  // Counters for explain and the deadline the scan checks (maxTimeMS); never null.
  std::shared_ptr<ExecStats> stats;
  // The most _id ranges a $group may read at once, each on a thread of its own (the calling
  // thread reads the first); 0: the machine's cores, at most 4. Helper threads come from a
  // process-wide budget of cores - 1, so concurrent pipelines do not oversubscribe the machine.
  size_t max_parts = 0;
};

class Pipeline {
 public:
  // Compiles `stages` (an array of stage documents). Errors: see the file comment.
  static Result<Pipeline> Compile(bson::DocView stages, const PipelineContext& ctx);

  const AccessPrefix& access_prefix() const;
  // The variables the stages see: the context's `let` values evaluated (each an expression), plus
  // NOW. Find-style access paths running the prefix take these as their `let`.
  bson::DocView variables() const;
  // Number of stages (after desugaring $sortByCount into $group + $sort).
  size_t size() const;
  // True when the first stage is $documents (the pipeline ignores its input).
  bool starts_with_documents() const;
  // True when stage `i` is a $group (what BuildOverScan runs over the scan itself).
  bool GroupsAt(size_t i) const;

  // The executor for stages [from, size()) over `input` (REQUIRES: from <= size()). Rows carry
  // only documents (no match details). The result keeps this pipeline's state alive.
  std::unique_ptr<Stage> Build(std::unique_ptr<Stage> input, size_t from = 0) const;
  // The executor for stages [from, size()) over a collection scan. The same results as
  // Build(MakeAccessStage(<collection scan of scan.coll>, scan.matcher), from); when stage `from`
  // is a $group it reads the documents in place instead of copying each, and, when the
  // collection is large and every accumulator can be merged exactly ($sum $avg $count $min $max
  // $first $last $push $addToSet $firstN $lastN), groups up to scan.max_parts _id ranges in
  // parallel and merges the partial groups in _id order. A merge that could differ from reading
  // serially (a floating-point sum spanning two ranges, say) or an error in a range reruns the
  // group serially, so results, their order and errors are those of the serial run.
  std::unique_ptr<Stage> BuildOverScan(ScanInput scan, size_t from = 0) const;

  struct Impl;
  Pipeline(const Pipeline&);
  Pipeline& operator=(const Pipeline&);
  Pipeline(Pipeline&&) noexcept;
  Pipeline& operator=(Pipeline&&) noexcept;
  ~Pipeline();

 private:
  Pipeline();
  std::shared_ptr<const Impl> impl_;
};

// A stage returning `docs` in order.
std::unique_ptr<Stage> MakeVectorStage(std::vector<bson::Document> docs);
// A stage reading a DocumentSource (which it owns).
std::unique_ptr<Stage> MakeSourceStage(std::unique_ptr<engine::DocumentSource> source);

}  // namespace amalgam::query
