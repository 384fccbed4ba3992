#pragma once
// PartialFilter: the restricted filter language of a partial index's partialFilterExpression
// (equality, $eq, $exists, $gt, $gte, $lt, $lte, $type, $in, $and, $or), compiled once and
// evaluated against documents with MongoDB's array semantics (a field matches when the value
// or, for arrays, any element matches).
//
// Immutable after Compile: safe to share across threads.

#include <memory>
#include <string>
#include <vector>

#include "bson/document.h"
#include "bson/field_path.h"
#include "common/result.h"

namespace amalgam::index {

class PartialFilter {
 public:
  // Errors: kCannotCreateIndex naming the unsupported operator or malformed clause (MongoDB
  // answers "unsupported expression in partial index: ...").
  static Result<PartialFilter> Compile(bson::DocView filter);

  bool Matches(bson::DocView doc) const;

  struct Node;  // opaque
  PartialFilter(PartialFilter&&) noexcept;
  PartialFilter& operator=(PartialFilter&&) noexcept;
  ~PartialFilter();

 private:
  PartialFilter();
  std::shared_ptr<const bson::Document> filter_;  // owns the bytes the nodes point into
  std::unique_ptr<Node> root_;
};

}  // namespace amalgam::index
