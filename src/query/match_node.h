#pragma once
// The compiled form of a filter (internal to query/): a tree of MatchNodes. Document-level
// nodes (logical operators, paths, $expr) and value-level predicates that a PathNode applies to
// every value its path yields. Nodes point into bytes owned by the Matcher that built them.

#include <memory>
#include <string>
#include <vector>

#include "bson/document.h"
#include "common/status.h"
#include "query/expression.h"
#include "query/matcher.h"
#include "query/path_walk.h"
#include "query/regex.h"

namespace amalgam::query {

// Per-evaluation state: where to record the array position and the first $expr error.
struct EvalState {
  MatchDetails* details = nullptr;
  Status* error = nullptr;

  // The same error slot without position recording (for $or, $nor, $not, $elemMatch's insides).
  EvalState NoDetails() const { return EvalState{nullptr, error}; }
  void RecordIndex(int64_t index) const {
    if (details != nullptr && index >= 0) details->array_index = static_cast<uint32_t>(index);
  }
};

class MatchNode {
 public:
  virtual ~MatchNode() = default;
  // Matches a whole document.
  virtual bool MatchesDoc(bson::DocView doc, const EvalState& st) const = 0;
  // Matches one value, with no path (the value form of $elemMatch applies its operators to each
  // array element this way).
  virtual bool MatchesValue(const bson::Value& v, const EvalState& st) const = 0;
};

using NodePtr = std::unique_ptr<MatchNode>;

// A test of one value reached by a path.
class Predicate {
 public:
  virtual ~Predicate() = default;
  virtual bool Test(const bson::Value& v, const EvalState& st) const = 0;
  // $elemMatch and $size look at a path's final array as a whole.
  virtual LeafArrays leaf_arrays() const { return LeafArrays::kTraverse; }
};

using PredPtr = std::unique_ptr<Predicate>;

enum class CompareOp : uint8_t { kEq, kLt, kLte, kGt, kGte };

// MongoDB's comparison of a document value `e` against an operand (type brackets, null vs
// missing/undefined, MinKey/MaxKey, NaN).
bool CompareMatches(CompareOp op, const bson::Value& operand, const bson::Value& e);

// ---- document-level nodes ----

NodePtr MakeAnd(std::vector<NodePtr> children);
NodePtr MakeOr(std::vector<NodePtr> children);
NodePtr MakeNor(std::vector<NodePtr> children);
NodePtr MakeNot(NodePtr child);
NodePtr MakeConst(bool value);
NodePtr MakePath(MatchPath path, PredPtr pred);
NodePtr MakeExpr(std::unique_ptr<Expression> expr);

// ---- predicates ----

PredPtr MakeCompare(CompareOp op, bson::Value operand);
// `equalities` must not contain regexes; `regexes` are matched as by MakeRegex.
PredPtr MakeIn(std::vector<bson::Value> equalities, std::vector<Regex> regexes);
PredPtr MakeRegex(Regex regex);
PredPtr MakeExists();
// `types` plus, if `number`, every numeric type.
PredPtr MakeType(std::vector<bson::BsonType> types, bool number);
PredPtr MakeMod(int64_t divisor, int64_t remainder);
enum class BitsOp : uint8_t { kAllSet, kAllClear, kAnySet, kAnyClear };
PredPtr MakeBits(BitsOp op, std::vector<uint32_t> positions);
// size < 0 never matches.
PredPtr MakeSize(int64_t size);
PredPtr MakeElemMatchObject(NodePtr sub);
PredPtr MakeElemMatchValue(std::vector<NodePtr> children);

}  // namespace amalgam::query
