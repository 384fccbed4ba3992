#pragma once
// A small evaluator for MongoDB aggregation expressions, used by $expr in find filters and meant
// to grow into the aggregation framework's expression language.
//
// Supported today:
//   field paths "$a.b" (aggregation semantics: an array along the path maps the rest of the path
//   over its document and array elements and yields an array of the results), variables
//   "$$ROOT", "$$CURRENT", "$$NOW" (the "NOW" entry of the parse context's variables, else the
//   clock at parse time), "$$REMOVE" (missing), user variables "$$name" from the context and
//   variables bound by $let/$map/$filter/$reduce (optionally followed by ".path"), literals,
//   object and array literals with expression members, and these families:
//   expression.cc: $eq $ne $gt $gte $lt $lte $cmp, $and $or $not, $add $subtract $multiply $divide
//     $mod $abs $floor $ceil, $cond $ifNull $in $size $literal, $concat $toLower $toUpper
//     $strLenCP $split, $arrayElemAt $first $last $concatArrays $reverseArray $isArray $type,
//     $sum $avg $min $max (one array operand: its elements), $mergeObjects;
//   expression_vars.cc: $let $map $filter $reduce $switch $rand;
//   expression_string.cc: $substrBytes $substr $substrCP $strLenBytes $indexOfBytes $indexOfCP
//     $strcasecmp $trim $ltrim $rtrim $replaceOne $replaceAll $regexMatch $regexFind $regexFindAll;
//   expression_array.cc: $slice $indexOfArray $range $zip $sortArray $objectToArray
//     $arrayToObject $setUnion $setIntersection $setDifference $setEquals $setIsSubset
//     $allElementsTrue $anyElementTrue $getField $setField $unsetField;
//   expression_convert.cc: $convert $toInt $toLong $toDouble $toDecimal $toString $toObjectId
//     $toDate $toBool $isNumber (failures: ConversionFailure 241 unless onError);
//   expression_date.cc: $year $month $dayOfMonth $hour $minute $second $millisecond $dayOfYear
//     $dayOfWeek $week $isoWeek $isoWeekYear $isoDayOfWeek $dateToString $dateFromString
//     $dateToParts $dateFromParts $dateAdd $dateSubtract $dateDiff $dateTrunc, in UTC or a fixed
//     offset ("+05:30"); Olson zone names ("Europe/Paris") fail with 40485.
//   ($slice with constant operands is evaluated while parsing, as find projections need.)
// Not yet: decimal128 arithmetic ($add etc. with a decimal operand fail with kNotImplemented),
// Olson time zones, $dateFromString format specifiers beyond %Y %m %d %H %M %S %L %z %Z.
//
// To add an operator: write its parse function in the family's file and add one row to its table
// (expression_internal.h).
//
// Parse errors (kBadValue unless noted): unknown operator "Unrecognized expression '$foo'",
// wrong argument count "Expression $eq takes exactly 2 arguments. 1 were passed in.", an operator
// object with more than one field, "$" alone or an empty field path component, undefined
// variables "Use of undefined variable: x", nesting deeper than kMaxExpressionDepth; the family
// files return MongoDB's location codes (MongoCodedError), e.g. 16883 $map over a non-array,
// 28651 $filter, 40080 $reduce, 40066 $switch without a match, 28724 $slice, 40390
// $objectToArray, 16006 a non-date to a date operator, 40485 an unknown time zone.
// Evaluation errors: kTypeMismatch for operands of the wrong type ("$add only supports numeric or
// date types, not string"), kBadValue for "can't $divide by zero" and "can't $mod by zero",
// kNotImplemented for decimal arithmetic.
//
// Expressions are immutable after Parse and safe to evaluate from many threads at once.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bson/document.h"
#include "common/result.h"

namespace amalgam::query {

inline constexpr int kMaxExpressionDepth = 150;

// A value produced by an expression: either borrowed (from the document being evaluated or from
// the expression's constants) or owned (computed). Copies share the owned bytes. A default
// ExprValue is "missing".
class ExprValue {
 public:
  ExprValue() = default;
  // Borrows `v`: its bytes must outlive this value and its copies.
  static ExprValue Borrow(const bson::Value& v) {
    ExprValue out;
    out.value_ = v;
    return out;
  }
  // Takes a document whose first element holds the value (the element name is ignored).
  static ExprValue Own(bson::Document holder);
  // `v` points into `owner`'s bytes (an element of it, say): shares whatever keeps them alive.
  static ExprValue Share(const ExprValue& owner, const bson::Value& v) {
    ExprValue out = owner;
    out.value_ = v;
    return out;
  }

  const bson::Value& value() const { return value_; }
  bool missing() const { return value_.missing(); }
  // True when this value keeps its own bytes alive (computed), false when it borrows.
  bool owns_bytes() const { return holder_ != nullptr; }
  // Null, undefined or missing: what $ifNull and arithmetic treat as "no value".
  bool nullish() const;

 private:
  std::shared_ptr<const bson::Document> holder_;  // heap-stable bytes for value_
  bson::Value value_;
};

// Constructors for computed values.
ExprValue MakeNull();
ExprValue MakeBool(bool v);
ExprValue MakeInt32(int32_t v);
ExprValue MakeInt64(int64_t v);
ExprValue MakeDouble(double v);
ExprValue MakeDate(int64_t millis);

// Aggregation truthiness: false, null, undefined, missing and numeric zero are false; every
// other value (NaN, "", [], {} included) is true.
bool IsTruthy(const bson::Value& v);

// A variable bound by $let, $map, $filter, $reduce, ... while its subexpressions run: a chain
// from the innermost binding out. Lives on the evaluating thread's stack.
struct ExprBinding {
  std::string_view name;
  ExprValue value;
  const ExprBinding* parent = nullptr;
};

// What an expression is evaluated against.
struct ExprEvalContext {
  bson::DocView root;  // $$ROOT and $$CURRENT
  const ExprBinding* bindings = nullptr;
};

// Names bound by enclosing $let/$map/... at parse time (a chain, innermost first).
struct ExprScope {
  std::string_view name;
  const ExprScope* parent = nullptr;
};

// What parsing needs to know.
struct ExprParseContext {
  // User variables ($$name), borrowed: the bytes must outlive every expression parsed with it.
  // "NOW" here (a date) is $$NOW; without it $$NOW is the clock when the expression is parsed.
  bson::DocView variables;
  const ExprScope* scope = nullptr;
};

class Expression {
 public:
  virtual ~Expression() = default;
  // Errors: see the file comment. Borrowed results point into ctx.root or the expression's
  // constants.
  virtual Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const = 0;

  // Parses the expression `v`. Constants borrow v's bytes: REQUIRES they outlive the result.
  static Result<std::unique_ptr<Expression>> Parse(const bson::Value& v, const ExprParseContext& ctx,
                                                   int depth = 0);
};

}  // namespace amalgam::query
