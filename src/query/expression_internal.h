#pragma once
// Internals shared by expression*.cc: value constructors, argument parsing and the operator
// tables of each family. Not for use outside the expression evaluator.

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bson/builder.h"
#include "query/expression.h"

namespace amalgam::query::expr_internal {

using ExprPtr = std::unique_ptr<Expression>;
using Args = std::vector<ExprPtr>;

template <typename F>
ExprValue Make(F append) {
  bson::Builder b;
  append(b);
  return ExprValue::Own(std::move(b).Finish());
}

ExprValue MakeString(std::string_view s);
ExprValue MakeArray(const std::vector<bson::Value>& values);
// An owned copy of `v` (missing stays missing).
ExprValue CopyValue(const bson::Value& v);

// "missing", or the BSON type alias ("int", "string", ...).
std::string TypeName(const bson::Value& v);
// MongoDB's rendering of a value inside messages ("1", "\"x\"", "{ a: 1 }").
std::string Shown(const bson::Value& v);
std::vector<bson::Value> Elements(const bson::Value& array);
// An integral number representable as int32 (MongoDB's "representable as a 32-bit integer").
bool AsInt32Exact(const bson::Value& v, int32_t* out);
// An integral number representable as int64 (decimal included).
bool AsInt64Exact(const bson::Value& v, int64_t* out);

Status BadValue(std::string msg);
// MongoDB's code and message (query/projection.h MongoCodedError).
Status Coded(int32_t code, std::string msg);

// Evaluates every argument in order.
Result<std::vector<ExprValue>> EvalAll(const Args& args, const ExprEvalContext& ctx);

// An operator over evaluated arguments.
using EvalFn = Result<ExprValue> (*)(const std::vector<ExprValue>& args);

class NaryExpr final : public Expression {
 public:
  NaryExpr(EvalFn fn, Args args) : fn_(fn), args_(std::move(args)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override;

 private:
  EvalFn fn_;
  Args args_;
};

// The operands of `op`: the array's elements, or `v` itself as the only operand.
Result<Args> ParseArgs(std::string_view op, const bson::Value& v, const ExprParseContext& ctx,
                       int depth);
// "Expression $eq takes exactly 2 arguments. 1 were passed in." (16020)
Status CheckArity(std::string_view op, const Args& args, size_t min, size_t max);

using OperatorParser = Result<ExprPtr> (*)(std::string_view op, const bson::Value& v,
                                           const ExprParseContext& ctx, int depth);

template <EvalFn kFn, size_t kMin, size_t kMax>
Result<ExprPtr> ParseNary(std::string_view op, const bson::Value& v, const ExprParseContext& ctx,
                          int depth) {
  AMALGAM_ASSIGN_OR_RETURN(Args args, ParseArgs(op, v, ctx, depth));
  AMALGAM_RETURN_IF_ERROR(CheckArity(op, args, kMin, kMax));
  return ExprPtr(std::make_unique<NaryExpr>(kFn, std::move(args)));
}

// Parses a named-argument operator ({input: ..., as: ...}): each allowed name's value is parsed
// as an expression into the matching slot (null if absent). Unknown names fail with
// `unknown_code` and "<unknown_prefix><name>".
struct NamedArg {
  std::string_view name;
  ExprPtr* out;
};

struct OperatorRow {
  std::string_view name;
  OperatorParser parse;
};

// The operator tables of each family file.
std::span<const OperatorRow> VariableOperators();  // expression_vars.cc
std::span<const OperatorRow> StringOperators();    // expression_string.cc
std::span<const OperatorRow> ArrayOperators();     // expression_array.cc
std::span<const OperatorRow> ConvertOperators();   // expression_convert.cc
std::span<const OperatorRow> DateOperators();      // expression_date.cc

// Dates (expression_date.cc), shared with the conversions.
// Parses MongoDB's date strings ("2024-01-31", "2024-01-31T10:00:00.123Z", "...+02:00", with
// 'T' or ' '): milliseconds since the epoch; `tz_offset_minutes` applies when the string has no
// zone of its own. Errors: ConversionFailure (241) "Error parsing date string '...'; ...".
Result<int64_t> ParseDateString(std::string_view s, int32_t tz_offset_minutes, std::string_view op);
// "2024-01-31T10:00:00.123Z".
std::string IsoDateString(int64_t millis);
// Shortest round-trip text of a double, as $toString prints it ("2.5", "3", "1e+20").
std::string DoubleString(double d);

// Validates a user variable name (16866/16867/16868).
Status ValidateVariableName(std::string_view name);

}  // namespace amalgam::query::expr_internal
