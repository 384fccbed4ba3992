#pragma once
// Internals of query/pipeline.h shared by pipeline*.cc: compiled stage specifications and the
// parsers of the stage table. Not for use outside the pipeline.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bson/document.h"
#include "common/result.h"
#include "query/executor.h"
#include "query/expression.h"
#include "query/pipeline.h"

namespace amalgam::query::pipeline_internal {

// What running a stage needs besides its input.
struct ExecEnv {
  size_t memory_limit_bytes = kDefaultPipelineMemoryLimit;
  bool allow_disk_use = false;
  uint64_t random_seed = 0;
  std::shared_ptr<const CollectionSource> collections;
  // Bytes past which a blocking stage fails (SIZE_MAX with allowDiskUse).
  size_t limit() const { return allow_disk_use ? SIZE_MAX : memory_limit_bytes; }
};

// One compiled stage. Immutable; Make may be called any number of times.
class StageSpec {
 public:
  virtual ~StageSpec() = default;
  virtual std::string_view name() const = 0;
  virtual std::unique_ptr<Stage> Make(std::unique_ptr<Stage> input, const ExecEnv& env) const = 0;
};
using StagePtr = std::shared_ptr<const StageSpec>;

// What stage parsers need. `variables` outlives every parsed stage (owned by the pipeline).
struct ParseEnv {
  bson::DocView variables;
  const PipelineContext* ctx = nullptr;
  size_t position = 0;    // index of the stage in its pipeline
  bool in_facet = false;  // parsing a $facet sub-pipeline
};

// Parses one stage's argument; may append several specs (desugaring). REQUIRES: `arg` outlives
// the specs (the pipeline owns the bytes).
using StageParser = Status (*)(const bson::Value& arg, const ParseEnv& env,
                               std::vector<StagePtr>* out);

// Parsers by family (pipeline_stages.cc, pipeline_group.cc).
Status ParseMatch(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseProject(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseAddFields(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseSet(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseUnset(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseSort(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseLimit(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseSkip(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseCount(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseUnwind(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseReplaceRoot(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseReplaceWith(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseSample(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseDocuments(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseFacet(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseGroup(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseSortByCount(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
// pipeline_lookup.cc
Status ParseLookup(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseUnionWith(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
// $out/$merge anywhere but last (the aggregate command runs a final one): 40601, 40600 in $facet.
Status ParseOut(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseMerge(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
// $collStats/$indexStats: first stage only; the aggregate command supplies their documents.
Status ParseCollStats(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseIndexStats(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseListSessions(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseListLocalSessions(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
// pipeline_bucket.cc
Status ParseBucket(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
Status ParseBucketAuto(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);
// pipeline_window.cc
Status ParseSetWindowFields(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out);

// Compiles a stage array (used for the top level and $facet sub-pipelines).
Status ParseStages(bson::DocView stages, const ParseEnv& env, std::vector<StagePtr>* out);

// Builds the chain of `specs` [from, end) over `input`.
std::unique_ptr<Stage> BuildChain(const std::vector<StagePtr>& specs, size_t from,
                                  std::unique_ptr<Stage> input, const ExecEnv& env);

// Specs the pipeline inspects (access prefix, $sort + $limit coalescing).
// Returns the filter if `spec` is a $match, the sort if a $sort, the count if $skip/$limit.
bool AsMatch(const StageSpec& spec, bson::DocView* filter);
bool AsSort(const StageSpec& spec, bson::DocView* sort);
bool AsSkip(const StageSpec& spec, int64_t* n);
bool AsLimit(const StageSpec& spec, int64_t* n);
// True if `spec` is a $group (or the $group of a $sortByCount).
bool AsGroup(const StageSpec& spec);
// The $group `group` (REQUIRES: AsGroup) reading a collection scan (pipeline_group.cc; see
// Pipeline::BuildOverScan).
std::unique_ptr<Stage> MakeScanGroupStage(const StageSpec& group, ScanInput scan, const ExecEnv& env);
// A $sort followed by a $limit: returns a copy of `sort` that keeps only the first `limit`.
StagePtr WithTopK(const StageSpec& sort, int64_t limit);

// Errors.
Status MemoryLimitError(std::string_view what, size_t limit);

// The skeleton of a blocking stage ($sort, $group, $bucketAuto, $setWindowFields, $sample,
// $documents): the first Next runs Load, which reads all of the input and computes every
// result, then each Next returns one result. A Load that fails is run again by the next Next
// (as each stage did on its own).
class MaterializingStage : public Stage {
 public:
  Result<bool> Next(Row* row) final;

 protected:
  virtual Status Load() = 0;
  // Moves the next result into row->doc; false after the last.
  virtual bool EmitNext(Row* row) = 0;

  // Reads every row of `input` into `take`, which keeps what it needs of the row and returns
  // (as a Result<size_t>) the bytes the stage holds after it; once they pass `limit` (SIZE_MAX
  // with allowDiskUse, see ExecEnv::limit) fails with `over_limit()`, the stage's
  // kQueryExceededMemoryLimit error. Errors of `input` and `take` are returned as they are.
  template <typename Take, typename OverLimit>
  static Status DrainInput(Stage& input, size_t limit, Take&& take, OverLimit&& over_limit) {
    Row r;
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(bool more, input.Next(&r));
      if (!more) return Status::OK();
      AMALGAM_ASSIGN_OR_RETURN(size_t held, take(r));
      if (held > limit) return over_limit();
    }
  }

 private:
  bool loaded_ = false;
};

// A MaterializingStage whose results are documents its Load appends with Output, returned in
// that order.
class BufferedStage : public MaterializingStage {
 protected:
  void Output(bson::Document doc) { out_.push_back(std::move(doc)); }
  bool EmitNext(Row* row) final;

 private:
  std::vector<bson::Document> out_;
  size_t pos_ = 0;
};

// Documents.
// A document equal to `doc` with the field at `parts` set to `v` (created, with intermediate
// documents, when missing; a non-document on the way is replaced). `v` missing removes it.
bson::Document SetField(bson::DocView doc, const std::vector<std::string>& parts,
                        const bson::Value& v);
// The value at `parts` following documents only (no array traversal); missing if absent.
bson::Value GetField(bson::DocView doc, const std::vector<std::string>& parts);
std::vector<std::string> SplitDotted(std::string_view path);
std::string TypeNameOf(const bson::Value& v);
// MongoDB's rendering of a value in messages ("1", "\"x\"", "{ a: 1 }"); "MISSING" if missing.
std::string ValueString(const bson::Value& v);
// {"": v} as an owned document.
bson::Document Holder(const bson::Value& v);

}  // namespace amalgam::query::pipeline_internal
