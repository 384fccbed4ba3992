#pragma once
// $group's accumulators (internal to the pipeline): per-group states and their parsed definitions.

#include <memory>
#include <string>
#include <string_view>

#include "bson/builder.h"
#include "bson/document.h"
#include "common/result.h"
#include "query/expression.h"
#include "query/sort.h"

namespace amalgam::query::pipeline_internal {

// The running state of one accumulator for one group. Not thread-safe.
class AccState {
 public:
  virtual ~AccState() = default;
  virtual Status Process(const ExprValue& v) = 0;
  // Like Process, for accumulators that also look at the whole input document.
  virtual Status ProcessDoc(const ExprValue& v, bson::DocView) { return Process(v); }
  // Appends the result as element `name`.
  virtual void Finish(bson::Builder& b, std::string_view name) = 0;
  // Folds in `later`, a state of the same kind fed the documents that come after all of this
  // one's (a parallel $group's next _id range). Returns false, leaving this state unspecified,
  // when the result could differ from one state fed every document in order (a floating-point
  // sum, say): the caller then groups serially.
  virtual bool Merge(AccState& later) { return false; }
  // Bytes held (for the memory limit), beyond a fixed overhead.
  size_t bytes = 0;
};

enum class AccKind {
  kSum,
  kAvg,
  kMin,
  kMax,
  kFirst,
  kLast,
  kPush,
  kAddToSet,
  kCount,
  kMergeObjects,
  kStdDevPop,
  kStdDevSamp,
  kFirstN,
  kLastN,
  kMaxN,
  kMinN,
  kTop,
  kBottom,
  kTopN,
  kBottomN
};

struct AccDef {
  std::string field;
  AccKind kind = AccKind::kSum;
  std::unique_ptr<Expression> arg;          // null for $count (counts 1 per document)
  int64_t n = 0;                            // the N variants
  std::shared_ptr<const SortSpec> sort_by;  // $top/$bottom family

  // A fresh state for one group.
  std::unique_ptr<AccState> New() const;
  // True if the states of this kind implement Merge.
  bool Mergeable() const;
};

// Parses `field: {<accumulator>: <argument>}` of a $group specification. Errors (MongoDB codes):
// 40234 not an object, 40235 '.' in the name, 40236 '$' name, 40237 array argument to a unary
// accumulator or arguments to $count, 40238 several accumulators, 15952 unknown accumulator,
// 5787xxx/5788xxx malformed N and $top/$bottom arguments, expression and sort parse errors.
Status ParseAccumulator(const bson::Element& field, const ExprParseContext& pctx, AccDef* out);

}  // namespace amalgam::query::pipeline_internal
