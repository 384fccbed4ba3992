#include "query/expression.h"

#include <algorithm>
#include <cmath>
#include <chrono>
#include <limits>
#include <string_view>

#include "bson/builder.h"
#include "bson/compare.h"
#include "bson/json.h"
#include "bson/number.h"
#include "query/field_lookup.h"
#include "query/expression_internal.h"
#include "query/projection.h"

namespace amalgam::query {

using bson::BsonType;
using expr_internal::Make;

ExprValue ExprValue::Own(bson::Document holder) {
  ExprValue out;
  out.holder_ = std::make_shared<const bson::Document>(std::move(holder));
  bson::DocView view = out.holder_->view();
  if (!view.empty()) out.value_ = view.begin()->value;
  return out;
}

bool ExprValue::nullish() const {
  return value_.missing() || value_.type() == BsonType::kNull || value_.type() == BsonType::kUndefined;
}

ExprValue MakeNull() { return Make([](bson::Builder& b) { b.AppendNull(""); }); }
ExprValue MakeBool(bool v) { return Make([&](bson::Builder& b) { b.AppendBool("", v); }); }
ExprValue MakeInt32(int32_t v) { return Make([&](bson::Builder& b) { b.AppendInt32("", v); }); }
ExprValue MakeInt64(int64_t v) { return Make([&](bson::Builder& b) { b.AppendInt64("", v); }); }
ExprValue MakeDouble(double v) { return Make([&](bson::Builder& b) { b.AppendDouble("", v); }); }
ExprValue MakeDate(int64_t millis) { return Make([&](bson::Builder& b) { b.AppendDate("", millis); }); }

bool IsTruthy(const bson::Value& v) {
  switch (v.type()) {
    case BsonType::kEod:
    case BsonType::kNull:
    case BsonType::kUndefined: return false;
    case BsonType::kBool: return v.AsBool();
    case BsonType::kInt32: return v.AsInt32() != 0;
    case BsonType::kInt64: return v.AsInt64() != 0;
    case BsonType::kDouble: return v.AsDouble() != 0;  // NaN is true
    case BsonType::kDecimal128: {
      bson::Decimal128Parts p = bson::DecodeDecimal128(v.AsDecimal128());
      return !(p.kind == bson::Decimal128Parts::Kind::kFinite && p.coefficient == 0);
    }
    default: return true;
  }
}

namespace expr_internal {

ExprValue MakeString(std::string_view s) {
  return Make([&](bson::Builder& b) { b.AppendString("", s); });
}

ExprValue MakeArray(const std::vector<bson::Value>& values) {
  return Make([&](bson::Builder& b) {
    b.StartArray("");
    bson::ArrayBuilder ab(b);
    for (const bson::Value& v : values) b.AppendValue(ab.Next(), v);
    b.EndArray();
  });
}

ExprValue CopyValue(const bson::Value& v) {
  if (v.missing()) return ExprValue();
  return Make([&](bson::Builder& b) { b.AppendValue("", v); });
}

std::string TypeName(const bson::Value& v) {
  return v.missing() ? "missing" : std::string(bson::TypeAlias(v.type()));
}

std::string Shown(const bson::Value& v) {
  if (v.missing()) return "missing";
  bson::Builder b;
  b.AppendValue("v", v);
  std::string s = bson::ToShellString(std::move(b).Finish().view());
  return s.size() > 7 ? s.substr(5, s.size() - 7) : s;  // "{ v: 5 }" -> "5"
}

std::vector<bson::Value> Elements(const bson::Value& array) {
  std::vector<bson::Value> out;
  for (const bson::Element& e : array.AsDocument()) out.push_back(e.value);
  return out;
}

bool AsInt32Exact(const bson::Value& v, int32_t* out) {
  int64_t i;
  if (!AsInt64Exact(v, &i) || i < INT32_MIN || i > INT32_MAX) return false;
  *out = static_cast<int32_t>(i);
  return true;
}

bool AsInt64Exact(const bson::Value& v, int64_t* out) {
  if (!v.IsNumber()) return false;
  switch (v.type()) {
    case BsonType::kInt32: *out = v.AsInt32(); return true;
    case BsonType::kInt64: *out = v.AsInt64(); return true;
    case BsonType::kDouble: {
      double d = v.AsDouble();
      if (std::isnan(d) || d != std::trunc(d) || d < -9.2233720368547758e18 ||
          d >= 9.2233720368547758e18)
        return false;
      *out = static_cast<int64_t>(d);
      return true;
    }
    default: {
      bson::ExactNumber n = bson::ExactFromValue(v);
      return bson::ExactToInt64(n, out);
    }
  }
}

Status BadValue(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }
Status Coded(int32_t code, std::string msg) { return MongoCodedError(code, std::move(msg)); }

Result<std::vector<ExprValue>> EvalAll(const Args& args, const ExprEvalContext& ctx) {
  std::vector<ExprValue> vals;
  vals.reserve(args.size());
  for (const ExprPtr& a : args) {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue v, a->Evaluate(ctx));
    vals.push_back(std::move(v));
  }
  return vals;
}

Result<ExprValue> NaryExpr::Evaluate(const ExprEvalContext& ctx) const {
  AMALGAM_ASSIGN_OR_RETURN(std::vector<ExprValue> vals, EvalAll(args_, ctx));
  return fn_(vals);
}

Result<Args> ParseArgs(std::string_view, const bson::Value& v, const ExprParseContext& ctx,
                       int depth) {
  Args args;
  if (v.type() == BsonType::kArray) {
    for (const bson::Element& e : v.AsDocument()) {
      AMALGAM_ASSIGN_OR_RETURN(ExprPtr a, Expression::Parse(e.value, ctx, depth + 1));
      args.push_back(std::move(a));
    }
  } else {
    AMALGAM_ASSIGN_OR_RETURN(ExprPtr a, Expression::Parse(v, ctx, depth + 1));
    args.push_back(std::move(a));
  }
  return args;
}

Status CheckArity(std::string_view op, const Args& args, size_t min, size_t max) {
  if (args.size() >= min && args.size() <= max) return Status::OK();
  std::string want = min == max ? "exactly " + std::to_string(min)
                                : (max == SIZE_MAX ? "at least " + std::to_string(min)
                                                   : std::to_string(min) + " to " + std::to_string(max));
  return BadValue("Expression " + std::string(op) + " takes " + want + " argument" +
                  (min == 1 && max == 1 ? "" : "s") + ". " + std::to_string(args.size()) +
                  " were passed in.");
}

Status ValidateVariableName(std::string_view name) {
  if (name.empty()) return Coded(16866, "empty variable names are not allowed");
  unsigned char c0 = static_cast<unsigned char>(name[0]);
  if (!((c0 >= 'a' && c0 <= 'z') || c0 >= 0x80)) {
    return Coded(16867, "'" + std::string(name) +
                            "' starts with an invalid character for a user variable name");
  }
  for (char ch : name) {
    unsigned char c = static_cast<unsigned char>(ch);
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c >= 0x80)) {
      return Coded(16868, "'" + std::string(name) +
                              "' contains an invalid character for a variable name: '" +
                              std::string(1, ch) + "'");
    }
  }
  return Status::OK();
}

}  // namespace expr_internal

namespace {

using namespace expr_internal;

using Args = std::vector<ExprPtr>;

Status TypeMismatch(std::string msg) { return Status(ErrorCode::kTypeMismatch, std::move(msg)); }

// ---- leaves ---------------------------------------------------------------------------------

class ConstantExpr final : public Expression {
 public:
  explicit ConstantExpr(bson::Value v) : v_(v) {}
  Result<ExprValue> Evaluate(const ExprEvalContext&) const override { return ExprValue::Borrow(v_); }

 private:
  bson::Value v_;
};

// Aggregation field-path semantics (ExpressionFieldPath::evaluatePath in MongoDB).
ExprValue EvalPathArray(const bson::Value& array, const std::vector<std::string>& parts, size_t i);

ExprValue EvalPath(bson::DocView doc, const std::vector<std::string>& parts, size_t i) {
  bson::Value v = FindField(doc, parts[i]);
  if (i + 1 == parts.size()) return ExprValue::Borrow(v);
  if (v.type() == BsonType::kDocument) return EvalPath(v.AsDocument(), parts, i + 1);
  if (v.type() == BsonType::kArray) return EvalPathArray(v, parts, i + 1);
  return ExprValue();
}

ExprValue EvalPathArray(const bson::Value& array, const std::vector<std::string>& parts, size_t i) {
  std::vector<ExprValue> results;
  for (const bson::Element& e : array.AsDocument()) {
    ExprValue nested;
    if (e.value.type() == BsonType::kDocument) {
      nested = EvalPath(e.value.AsDocument(), parts, i);
    } else if (e.value.type() == BsonType::kArray) {
      nested = EvalPathArray(e.value, parts, i);
    }
    if (!nested.missing()) results.push_back(std::move(nested));
  }
  return Make([&](bson::Builder& b) {
    b.StartArray("");
    bson::ArrayBuilder ab(b);
    for (const ExprValue& r : results) b.AppendValue(ab.Next(), r.value());
    b.EndArray();
  });
}

ExprValue EvalPathFrom(const bson::Value& start, const std::vector<std::string>& parts) {
  if (parts.empty()) return ExprValue::Borrow(start);
  if (start.type() == BsonType::kDocument) return EvalPath(start.AsDocument(), parts, 0);
  if (start.type() == BsonType::kArray) return EvalPathArray(start, parts, 0);
  return ExprValue();
}

// "$a.b", "$$ROOT.a", "$$CURRENT" (root) or a user variable with an optional path.
class PathExpr final : public Expression {
 public:
  PathExpr(bool from_root, bson::Value variable, std::vector<std::string> parts)
      : from_root_(from_root), variable_(variable), parts_(std::move(parts)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    if (from_root_) {
      bson::Value root(BsonType::kDocument, ctx.root.data(), ctx.root.size());
      return EvalPathFrom(root, parts_);
    }
    return EvalPathFrom(variable_, parts_);
  }

 private:
  bool from_root_;
  bson::Value variable_;
  std::vector<std::string> parts_;
};

// A variable bound by an enclosing $let/$map/$filter/$reduce, looked up at run time.
class BoundVarExpr final : public Expression {
 public:
  BoundVarExpr(std::string_view name, std::vector<std::string> parts)
      : name_(name), parts_(std::move(parts)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    for (const ExprBinding* b = ctx.bindings; b != nullptr; b = b->parent) {
      if (b->name != name_) continue;
      if (parts_.empty()) return b->value;
      ExprValue sub = EvalPathFrom(b->value.value(), parts_);
      // Borrowed results point into the binding's bytes: keep them alive with the result.
      if (sub.missing()) return sub;
      return KeepAlive(b->value, sub);
    }
    return Status(ErrorCode::kInternalError, "variable " + name_ + " is not bound");
  }

 private:
  static ExprValue KeepAlive(const ExprValue& owner, const ExprValue& sub) {
    // `sub` either owns its bytes (an array built by the path walk) or borrows owner's.
    if (sub.owns_bytes()) return sub;
    return ExprValue::Share(owner, sub.value());
  }
  std::string name_;
  std::vector<std::string> parts_;
};

// A computed constant ($$NOW), optionally followed by a path.
class OwnedConstantExpr final : public Expression {
 public:
  OwnedConstantExpr(ExprValue v, std::vector<std::string> parts) : v_(std::move(v)), parts_(std::move(parts)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext&) const override {
    if (parts_.empty()) return v_;
    return CopyValue(EvalPathFrom(v_.value(), parts_).value());
  }

 private:
  ExprValue v_;
  std::vector<std::string> parts_;
};

class ArrayExpr final : public Expression {
 public:
  explicit ArrayExpr(Args elems) : elems_(std::move(elems)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    std::vector<ExprValue> vals;
    for (const ExprPtr& e : elems_) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue v, e->Evaluate(ctx));
      vals.push_back(std::move(v));
    }
    return Make([&](bson::Builder& b) {
      b.StartArray("");
      bson::ArrayBuilder ab(b);
      for (const ExprValue& v : vals) {
        std::string_view name = ab.Next();
        if (v.missing()) {
          b.AppendNull(name);  // a missing member of an array literal becomes null
        } else {
          b.AppendValue(name, v.value());
        }
      }
      b.EndArray();
    });
  }

 private:
  Args elems_;
};

class ObjectExpr final : public Expression {
 public:
  ObjectExpr(std::vector<std::string> names, Args values) : names_(std::move(names)), values_(std::move(values)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    std::vector<ExprValue> vals;
    for (const ExprPtr& e : values_) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue v, e->Evaluate(ctx));
      vals.push_back(std::move(v));
    }
    return Make([&](bson::Builder& b) {
      b.StartDocument("");
      for (size_t i = 0; i < vals.size(); ++i) b.AppendValue(names_[i], vals[i].value());  // missing: omitted
      b.EndDocument();
    });
  }

 private:
  std::vector<std::string> names_;
  Args values_;
};

// ---- operators ------------------------------------------------------------------------------

// $and/$or short-circuit, so they evaluate their own arguments.
class LogicalExpr final : public Expression {
 public:
  LogicalExpr(bool is_and, Args args) : is_and_(is_and), args_(std::move(args)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    for (const ExprPtr& a : args_) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue v, a->Evaluate(ctx));
      bool t = IsTruthy(v.value());
      if (is_and_ && !t) return MakeBool(false);
      if (!is_and_ && t) return MakeBool(true);
    }
    return MakeBool(is_and_);
  }

 private:
  bool is_and_;
  Args args_;
};

class CondExpr final : public Expression {
 public:
  CondExpr(ExprPtr cond, ExprPtr then, ExprPtr otherwise)
      : cond_(std::move(cond)), then_(std::move(then)), else_(std::move(otherwise)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue c, cond_->Evaluate(ctx));
    return IsTruthy(c.value()) ? then_->Evaluate(ctx) : else_->Evaluate(ctx);
  }

 private:
  ExprPtr cond_, then_, else_;
};

class IfNullExpr final : public Expression {
 public:
  explicit IfNullExpr(Args args) : args_(std::move(args)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    for (size_t i = 0; i + 1 < args_.size(); ++i) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue v, args_[i]->Evaluate(ctx));
      if (!v.nullish()) return v;
    }
    return args_.back()->Evaluate(ctx);
  }

 private:
  Args args_;
};

template <int kOp>
Result<ExprValue> CompareFn(const std::vector<ExprValue>& a) {
  int c = bson::CompareValues(a[0].value(), a[1].value());
  switch (kOp) {
    case 0: return MakeBool(c == 0);
    case 1: return MakeBool(c != 0);
    case 2: return MakeBool(c > 0);
    case 3: return MakeBool(c >= 0);
    case 4: return MakeBool(c < 0);
    case 5: return MakeBool(c <= 0);
    default: return MakeInt32(c < 0 ? -1 : (c > 0 ? 1 : 0));
  }
}

Result<ExprValue> NotFn(const std::vector<ExprValue>& a) { return MakeBool(!IsTruthy(a[0].value())); }

// Numeric arithmetic in MongoDB's widening order: int32 -> int64 -> double (decimal unsupported).
enum class NumKind { kInt32, kInt64, kDouble };

struct Num {
  NumKind kind = NumKind::kInt32;
  int64_t i = 0;
  double d = 0;
  double AsDouble() const { return kind == NumKind::kDouble ? d : static_cast<double>(i); }
};

Status DecimalUnsupported(std::string_view op) {
  return Status(ErrorCode::kNotImplemented, std::string(op) + " with decimal operands is not supported yet");
}

// Reads a numeric operand. REQUIRES: v.IsNumber().
Result<Num> ToNum(const bson::Value& v, std::string_view op) {
  Num n;
  switch (v.type()) {
    case BsonType::kInt32: n.kind = NumKind::kInt32; n.i = v.AsInt32(); break;
    case BsonType::kInt64: n.kind = NumKind::kInt64; n.i = v.AsInt64(); break;
    case BsonType::kDouble: n.kind = NumKind::kDouble; n.d = v.AsDouble(); break;
    default: return DecimalUnsupported(op);
  }
  return n;
}

ExprValue FromNum(const Num& n) {
  switch (n.kind) {
    case NumKind::kInt32: return MakeInt32(static_cast<int32_t>(n.i));
    case NumKind::kInt64: return MakeInt64(n.i);
    default: return MakeDouble(n.d);
  }
}

// Narrows an integer result to the wider of the operand kinds (int32 results that overflow
// become int64).
Num IntResult(NumKind wider, int64_t v) {
  Num n;
  n.i = v;
  n.kind = (wider == NumKind::kInt32 && v >= INT32_MIN && v <= INT32_MAX) ? NumKind::kInt32 : NumKind::kInt64;
  return n;
}

Num DoubleResult(double d) {
  Num n;
  n.kind = NumKind::kDouble;
  n.d = d;
  return n;
}

NumKind Wider(NumKind a, NumKind b) { return static_cast<int>(a) > static_cast<int>(b) ? a : b; }

// a (op) b with overflow to double. op: '+', '-', '*'.
Num Arith(const Num& a, const Num& b, char op) {
  NumKind k = Wider(a.kind, b.kind);
  if (k != NumKind::kDouble) {
    int64_t r;
    bool overflow = op == '+' ? __builtin_add_overflow(a.i, b.i, &r)
                    : op == '-' ? __builtin_sub_overflow(a.i, b.i, &r)
                                : __builtin_mul_overflow(a.i, b.i, &r);
    if (!overflow) return IntResult(k, r);
  }
  double x = a.AsDouble(), y = b.AsDouble();
  return DoubleResult(op == '+' ? x + y : op == '-' ? x - y : x * y);
}

int64_t DoubleToMillis(double d) {
  if (std::isnan(d)) return 0;
  if (d >= 9.2e18) return std::numeric_limits<int64_t>::max();
  if (d <= -9.2e18) return std::numeric_limits<int64_t>::min();
  return std::llround(d);
}

Result<ExprValue> AddFn(const std::vector<ExprValue>& args) {
  Num sum;  // int32 0
  bool have_date = false;
  int64_t date = 0;
  for (const ExprValue& a : args) {
    if (a.nullish()) return MakeNull();
    const bson::Value& v = a.value();
    if (v.type() == BsonType::kDate) {
      if (have_date) return TypeMismatch("only one date allowed in an $add expression");
      have_date = true;
      date = v.AsDateMillis();
      continue;
    }
    if (!v.IsNumber()) return TypeMismatch("$add only supports numeric or date types, not " + TypeName(v));
    AMALGAM_ASSIGN_OR_RETURN(Num n, ToNum(v, "$add"));
    sum = Arith(sum, n, '+');
  }
  if (have_date) {
    int64_t delta = sum.kind == NumKind::kDouble ? DoubleToMillis(sum.d) : sum.i;
    return MakeDate(static_cast<int64_t>(static_cast<uint64_t>(date) + static_cast<uint64_t>(delta)));
  }
  return FromNum(sum);
}

Result<ExprValue> MultiplyFn(const std::vector<ExprValue>& args) {
  Num prod;
  prod.i = 1;
  for (const ExprValue& a : args) {
    if (a.nullish()) return MakeNull();
    if (!a.value().IsNumber()) {
      return TypeMismatch("$multiply only supports numeric types, not " + TypeName(a.value()));
    }
    AMALGAM_ASSIGN_OR_RETURN(Num n, ToNum(a.value(), "$multiply"));
    prod = Arith(prod, n, '*');
  }
  return FromNum(prod);
}

Result<ExprValue> SubtractFn(const std::vector<ExprValue>& args) {
  if (args[0].nullish() || args[1].nullish()) return MakeNull();
  const bson::Value& l = args[0].value();
  const bson::Value& r = args[1].value();
  if (l.type() == BsonType::kDate) {
    if (r.type() == BsonType::kDate) return MakeInt64(static_cast<int64_t>(static_cast<uint64_t>(l.AsDateMillis()) - static_cast<uint64_t>(r.AsDateMillis())));
    if (!r.IsNumber()) return TypeMismatch("can't $subtract " + TypeName(r) + " from a date");
    AMALGAM_ASSIGN_OR_RETURN(Num n, ToNum(r, "$subtract"));
    int64_t delta = n.kind == NumKind::kDouble ? DoubleToMillis(n.d) : n.i;
    return MakeDate(static_cast<int64_t>(static_cast<uint64_t>(l.AsDateMillis()) - static_cast<uint64_t>(delta)));
  }
  if (!l.IsNumber() || !r.IsNumber()) {
    return TypeMismatch("can't $subtract " + TypeName(r) + " from " + TypeName(l));
  }
  AMALGAM_ASSIGN_OR_RETURN(Num a, ToNum(l, "$subtract"));
  AMALGAM_ASSIGN_OR_RETURN(Num b, ToNum(r, "$subtract"));
  return FromNum(Arith(a, b, '-'));
}

Result<ExprValue> DivideFn(const std::vector<ExprValue>& args) {
  if (args[0].nullish() || args[1].nullish()) return MakeNull();
  const bson::Value& l = args[0].value();
  const bson::Value& r = args[1].value();
  if (!l.IsNumber() || !r.IsNumber()) {
    return TypeMismatch("$divide only supports numeric types, not " + TypeName(l) + " and " + TypeName(r));
  }
  AMALGAM_ASSIGN_OR_RETURN(Num a, ToNum(l, "$divide"));
  AMALGAM_ASSIGN_OR_RETURN(Num b, ToNum(r, "$divide"));
  if (b.AsDouble() == 0) return BadValue("can't $divide by zero");
  return MakeDouble(a.AsDouble() / b.AsDouble());
}

Result<ExprValue> ModFn(const std::vector<ExprValue>& args) {
  if (args[0].nullish() || args[1].nullish()) return MakeNull();
  const bson::Value& l = args[0].value();
  const bson::Value& r = args[1].value();
  if (!l.IsNumber() || !r.IsNumber()) {
    return TypeMismatch("$mod only supports numeric types, not " + TypeName(l) + " and " + TypeName(r));
  }
  AMALGAM_ASSIGN_OR_RETURN(Num a, ToNum(l, "$mod"));
  AMALGAM_ASSIGN_OR_RETURN(Num b, ToNum(r, "$mod"));
  if (b.AsDouble() == 0) return BadValue("can't $mod by zero");
  NumKind k = Wider(a.kind, b.kind);
  if (k == NumKind::kDouble) return MakeDouble(std::fmod(a.AsDouble(), b.AsDouble()));
  int64_t rem = (b.i == -1) ? 0 : a.i % b.i;  // INT64_MIN % -1 overflows in C++
  return FromNum(IntResult(k, rem));
}

Result<ExprValue> AbsFn(const std::vector<ExprValue>& args) {
  if (args[0].nullish()) return MakeNull();
  const bson::Value& v = args[0].value();
  switch (v.type()) {
    case BsonType::kInt32:
      return v.AsInt32() == INT32_MIN ? MakeInt64(-static_cast<int64_t>(INT32_MIN)) : MakeInt32(std::abs(v.AsInt32()));
    case BsonType::kInt64:
      if (v.AsInt64() == INT64_MIN) return BadValue("can't take $abs of long long min");
      return MakeInt64(std::abs(v.AsInt64()));
    case BsonType::kDouble: return MakeDouble(std::fabs(v.AsDouble()));
    case BsonType::kDecimal128: {
      bson::Decimal128Bits bits = v.AsDecimal128();
      bits.high &= ~(uint64_t{1} << 63);
      return Make([&](bson::Builder& b) { b.AppendDecimal128("", bits); });
    }
    default: return TypeMismatch("$abs only supports numeric types, not " + TypeName(v));
  }
}

Result<ExprValue> InFn(const std::vector<ExprValue>& args) {
  if (args[1].value().type() != BsonType::kArray) {
    return Coded(40081, "$in requires an array as a second argument, found: " + TypeName(args[1].value()));
  }
  for (const bson::Element& e : args[1].value().AsDocument()) {
    if (bson::CompareValues(args[0].value(), e.value) == 0) return MakeBool(true);
  }
  return MakeBool(false);
}

Result<ExprValue> SizeFn(const std::vector<ExprValue>& args) {
  if (args[0].value().type() != BsonType::kArray) {
    return Coded(17124, "The argument to $size must be an array. Type of the argument was: " + TypeName(args[0].value()));
  }
  return MakeInt32(static_cast<int32_t>(args[0].value().AsDocument().CountElements()));
}

// ---- operators added for the aggregation pipeline -------------------------------------------

Result<ExprValue> ConcatFn(const std::vector<ExprValue>& args) {
  std::string out;
  for (const ExprValue& a : args) {
    if (a.nullish()) return MakeNull();
    if (a.value().type() != BsonType::kString) {
      return Coded(16702, "$concat only supports strings, not " + TypeName(a.value()));
    }
    out += a.value().AsString();
  }
  return MakeString(out);
}

template <bool kUpper>
Result<ExprValue> CaseFn(const std::vector<ExprValue>& args) {
  const bson::Value& v = args[0].value();
  std::string s;
  if (args[0].nullish()) return MakeString("");
  switch (v.type()) {
    case BsonType::kString: s = std::string(v.AsString()); break;
    case BsonType::kInt32: s = std::to_string(v.AsInt32()); break;
    case BsonType::kInt64: s = std::to_string(v.AsInt64()); break;
    default:
      return Coded(16007, "can't convert from BSON type " + TypeName(v) + " to String");
  }
  for (char& c : s) {
    if (kUpper && c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (!kUpper && c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return MakeString(s);
}

Result<ExprValue> StrLenCPFn(const std::vector<ExprValue>& args) {
  const bson::Value& v = args[0].value();
  if (v.type() != BsonType::kString) {
    return Coded(34471, "$strLenCP requires a string argument, found: " + TypeName(v));
  }
  int32_t n = 0;
  for (char c : v.AsString()) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return MakeInt32(n);
}

Result<ExprValue> SplitFn(const std::vector<ExprValue>& args) {
  if (args[0].nullish()) return MakeNull();
  if (args[0].value().type() != BsonType::kString) {
    return Coded(40085, "$split requires an expression that evaluates to a string as a first argument, found: " +
                                            TypeName(args[0].value()));
  }
  if (args[1].value().type() != BsonType::kString) {
    return Coded(40086, "$split requires an expression that evaluates to a string as a second argument, found: " +
                                            TypeName(args[1].value()));
  }
  std::string_view str = args[0].value().AsString(), sep = args[1].value().AsString();
  if (sep.empty()) return Coded(40087, "$split requires a non-empty separator");
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    size_t pos = str.find(sep, start);
    parts.push_back(str.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + sep.size();
  }
  return Make([&](bson::Builder& b) {
    b.StartArray("");
    bson::ArrayBuilder ab(b);
    for (std::string_view p : parts) b.AppendString(ab.Next(), p);
    b.EndArray();
  });
}

Result<ExprValue> ArrayElemAtFn(const std::vector<ExprValue>& args) {
  if (args[0].nullish() || args[1].nullish()) return MakeNull();
  if (args[0].value().type() != BsonType::kArray) {
    return Coded(28689, "$arrayElemAt's first argument must be an array, but is " + TypeName(args[0].value()));
  }
  if (!args[1].value().IsNumber()) {
    return Coded(28690, "$arrayElemAt's second argument must be a numeric value, but is " +
                                            TypeName(args[1].value()));
  }
  int32_t i;
  if (!AsInt32Exact(args[1].value(), &i)) {
    return Coded(28691, "$arrayElemAt's second argument must be representable as a 32-bit integer, but is " +
                                            Shown(args[1].value()));
  }
  std::vector<bson::Value> elems = Elements(args[0].value());
  int64_t idx = i < 0 ? static_cast<int64_t>(elems.size()) + i : i;
  if (idx < 0 || idx >= static_cast<int64_t>(elems.size())) return ExprValue();
  ExprValue out = args[0];  // keeps the array's bytes alive
  return Make([&](bson::Builder& b) { b.AppendValue("", elems[static_cast<size_t>(idx)]); });
}

template <bool kLast>
Result<ExprValue> FirstLastFn(const std::vector<ExprValue>& args) {
  if (args[0].nullish()) return MakeNull();
  if (args[0].value().type() != BsonType::kArray) {
    return Coded(28689, std::string(kLast ? "$last" : "$first") +
                                            "'s argument must be an array, but is " + TypeName(args[0].value()));
  }
  std::vector<bson::Value> elems = Elements(args[0].value());
  if (elems.empty()) return ExprValue();
  return Make([&](bson::Builder& b) { b.AppendValue("", kLast ? elems.back() : elems.front()); });
}

Result<ExprValue> ConcatArraysFn(const std::vector<ExprValue>& args) {
  std::vector<bson::Value> all;
  for (const ExprValue& a : args) {
    if (a.nullish()) return MakeNull();
    if (a.value().type() != BsonType::kArray) {
      return Coded(28664, "$concatArrays only supports arrays, not " + TypeName(a.value()));
    }
    for (const bson::Value& v : Elements(a.value())) all.push_back(v);
  }
  return MakeArray(all);
}

Result<ExprValue> ReverseArrayFn(const std::vector<ExprValue>& args) {
  if (args[0].nullish()) return MakeNull();
  if (args[0].value().type() != BsonType::kArray) {
    return Coded(34435, "The argument to $reverseArray must be an array, but was of type: " +
                                            TypeName(args[0].value()));
  }
  std::vector<bson::Value> elems = Elements(args[0].value());
  std::reverse(elems.begin(), elems.end());
  return MakeArray(elems);
}

Result<ExprValue> IsArrayFn(const std::vector<ExprValue>& args) {
  return MakeBool(args[0].value().type() == BsonType::kArray);
}

Result<ExprValue> TypeFn(const std::vector<ExprValue>& args) { return MakeString(TypeName(args[0].value())); }

// The operands of $sum/$avg/$min/$max as expressions: one array operand means its elements.
std::vector<bson::Value> Operands(const std::vector<ExprValue>& args) {
  if (args.size() == 1 && args[0].value().type() == BsonType::kArray) return Elements(args[0].value());
  std::vector<bson::Value> out;
  for (const ExprValue& a : args) out.push_back(a.value());
  return out;
}

template <bool kAvg>
Result<ExprValue> SumAvgFn(const std::vector<ExprValue>& args) {
  Num sum;
  int64_t n = 0;
  for (const bson::Value& v : Operands(args)) {
    if (!v.IsNumber()) continue;
    AMALGAM_ASSIGN_OR_RETURN(Num x, ToNum(v, kAvg ? "$avg" : "$sum"));
    sum = Arith(sum, x, '+');
    ++n;
  }
  if (kAvg) return n == 0 ? MakeNull() : MakeDouble(sum.AsDouble() / static_cast<double>(n));
  return FromNum(sum);
}

template <bool kMax>
Result<ExprValue> MinMaxFn(const std::vector<ExprValue>& args) {
  std::vector<bson::Value> vals = Operands(args);
  const bson::Value* best = nullptr;
  for (const bson::Value& v : vals) {
    if (v.missing() || v.type() == BsonType::kNull || v.type() == BsonType::kUndefined) continue;
    int c = best ? bson::CompareValues(v, *best) : 0;
    if (!best || (kMax ? c > 0 : c < 0)) best = &v;
  }
  if (!best) return MakeNull();
  return Make([&](bson::Builder& b) { b.AppendValue("", *best); });
}

Result<ExprValue> MergeObjectsFn(const std::vector<ExprValue>& args) {
  std::vector<std::pair<std::string_view, bson::Value>> fields;
  for (const ExprValue& a : args) {
    if (a.nullish()) continue;
    if (a.value().type() != BsonType::kDocument) {
      return Status(ErrorCode::kBadValue, "$mergeObjects requires object inputs, but input " + Shown(a.value()) +
                                              " is of type " + TypeName(a.value()));
    }
    for (const bson::Element& e : a.value().AsDocument()) {
      bool replaced = false;
      for (auto& f : fields) {
        if (f.first == e.name) {
          f.second = e.value;
          replaced = true;
        }
      }
      if (!replaced) fields.emplace_back(e.name, e.value);
    }
  }
  return Make([&](bson::Builder& b) {
    b.StartDocument("");
    for (const auto& f : fields) b.AppendValue(f.first, f.second);
    b.EndDocument();
  });
}

template <bool kCeil>
Result<ExprValue> RoundingFn(const std::vector<ExprValue>& args) {
  if (args[0].nullish()) return MakeNull();
  const bson::Value& v = args[0].value();
  switch (v.type()) {
    case BsonType::kInt32:
    case BsonType::kInt64: return args[0];
    case BsonType::kDouble: return MakeDouble(kCeil ? std::ceil(v.AsDouble()) : std::floor(v.AsDouble()));
    case BsonType::kDecimal128: return DecimalUnsupported(kCeil ? "$ceil" : "$floor");
    default:
      return TypeMismatch(std::string(kCeil ? "$ceil" : "$floor") + " only supports numeric types, not " + TypeName(v));
  }
}

// ---- parsing --------------------------------------------------------------------------------

template <bool kIsAnd>
Result<ExprPtr> ParseLogical(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  AMALGAM_ASSIGN_OR_RETURN(Args args, ParseArgs(op, v, ctx, depth));
  return ExprPtr(std::make_unique<LogicalExpr>(kIsAnd, std::move(args)));
}

Result<ExprPtr> ParseLiteral(std::string_view, const bson::Value& v, const ExprParseContext&, int) {
  return ExprPtr(std::make_unique<ConstantExpr>(v));
}

Result<ExprPtr> ParseIfNull(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  AMALGAM_ASSIGN_OR_RETURN(Args args, ParseArgs(op, v, ctx, depth));
  AMALGAM_RETURN_IF_ERROR(CheckArity(op, args, 2, SIZE_MAX));
  return ExprPtr(std::make_unique<IfNullExpr>(std::move(args)));
}

Result<ExprPtr> ParseCond(std::string_view op, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  if (v.type() == BsonType::kDocument) {
    ExprPtr parts[3];
    static constexpr std::string_view kNames[3] = {"if", "then", "else"};
    for (const bson::Element& e : v.AsDocument()) {
      int which = -1;
      for (int i = 0; i < 3; ++i) {
        if (e.name == kNames[i]) which = i;
      }
      if (which < 0) return BadValue("Unrecognized parameter to $cond: " + std::string(e.name));
      AMALGAM_ASSIGN_OR_RETURN(parts[which], Expression::Parse(e.value, ctx, depth + 1));
    }
    for (int i = 0; i < 3; ++i) {
      if (!parts[i]) return BadValue("Missing '" + std::string(kNames[i]) + "' parameter to $cond");
    }
    return ExprPtr(std::make_unique<CondExpr>(std::move(parts[0]), std::move(parts[1]), std::move(parts[2])));
  }
  AMALGAM_ASSIGN_OR_RETURN(Args args, ParseArgs(op, v, ctx, depth));
  AMALGAM_RETURN_IF_ERROR(CheckArity(op, args, 3, 3));
  return ExprPtr(std::make_unique<CondExpr>(std::move(args[0]), std::move(args[1]), std::move(args[2])));
}

constexpr OperatorRow kOperators[] = {
    {"$eq", ParseNary<CompareFn<0>, 2, 2>},
    {"$ne", ParseNary<CompareFn<1>, 2, 2>},
    {"$gt", ParseNary<CompareFn<2>, 2, 2>},
    {"$gte", ParseNary<CompareFn<3>, 2, 2>},
    {"$lt", ParseNary<CompareFn<4>, 2, 2>},
    {"$lte", ParseNary<CompareFn<5>, 2, 2>},
    {"$cmp", ParseNary<CompareFn<6>, 2, 2>},
    {"$and", ParseLogical<true>},
    {"$or", ParseLogical<false>},
    {"$not", ParseNary<NotFn, 1, 1>},
    {"$add", ParseNary<AddFn, 0, SIZE_MAX>},
    {"$subtract", ParseNary<SubtractFn, 2, 2>},
    {"$multiply", ParseNary<MultiplyFn, 0, SIZE_MAX>},
    {"$divide", ParseNary<DivideFn, 2, 2>},
    {"$mod", ParseNary<ModFn, 2, 2>},
    {"$abs", ParseNary<AbsFn, 1, 1>},
    {"$cond", ParseCond},
    {"$ifNull", ParseIfNull},
    {"$in", ParseNary<InFn, 2, 2>},
    {"$size", ParseNary<SizeFn, 1, 1>},
    {"$literal", ParseLiteral},
    // Added for the aggregation pipeline.
    {"$concat", ParseNary<ConcatFn, 0, SIZE_MAX>},
    {"$toLower", ParseNary<CaseFn<false>, 1, 1>},
    {"$toUpper", ParseNary<CaseFn<true>, 1, 1>},
    {"$strLenCP", ParseNary<StrLenCPFn, 1, 1>},
    {"$split", ParseNary<SplitFn, 2, 2>},
    {"$arrayElemAt", ParseNary<ArrayElemAtFn, 2, 2>},
    {"$first", ParseNary<FirstLastFn<false>, 1, 1>},
    {"$last", ParseNary<FirstLastFn<true>, 1, 1>},
    {"$concatArrays", ParseNary<ConcatArraysFn, 0, SIZE_MAX>},
    {"$reverseArray", ParseNary<ReverseArrayFn, 1, 1>},
    {"$isArray", ParseNary<IsArrayFn, 1, 1>},
    {"$type", ParseNary<TypeFn, 1, 1>},
    {"$sum", ParseNary<SumAvgFn<false>, 0, SIZE_MAX>},
    {"$avg", ParseNary<SumAvgFn<true>, 0, SIZE_MAX>},
    {"$min", ParseNary<MinMaxFn<false>, 0, SIZE_MAX>},
    {"$max", ParseNary<MinMaxFn<true>, 0, SIZE_MAX>},
    {"$mergeObjects", ParseNary<MergeObjectsFn, 0, SIZE_MAX>},
    {"$floor", ParseNary<RoundingFn<false>, 1, 1>},
    {"$ceil", ParseNary<RoundingFn<true>, 1, 1>},
};

Result<std::vector<std::string>> SplitFieldPath(std::string_view path, std::string_view whole) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string_view part = path.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (part.empty()) return BadValue("FieldPath field names may not be empty strings: '" + std::string(whole) + "'");
    if (part[0] == '$') return BadValue("FieldPath field names may not start with '$': '" + std::string(whole) + "'");
    parts.emplace_back(part);
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

Result<ExprPtr> ParseFieldPath(std::string_view s, const ExprParseContext& ctx) {
  if (s == "$") return BadValue("'$' by itself is not a valid FieldPath");
  if (!s.starts_with("$$")) {
    AMALGAM_ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitFieldPath(s.substr(1), s));
    return ExprPtr(std::make_unique<PathExpr>(true, bson::Value(), std::move(parts)));
  }
  std::string_view rest = s.substr(2);
  size_t dot = rest.find('.');
  std::string_view var = rest.substr(0, dot);
  std::vector<std::string> parts;
  if (dot != std::string_view::npos) {
    AMALGAM_ASSIGN_OR_RETURN(parts, SplitFieldPath(rest.substr(dot + 1), s));
  }
  if (var.empty()) return BadValue("empty variable name in '" + std::string(s) + "'");
  for (const ExprScope* sc = ctx.scope; sc != nullptr; sc = sc->parent) {
    if (sc->name == var) return ExprPtr(std::make_unique<BoundVarExpr>(var, std::move(parts)));
  }
  if (var == "ROOT" || var == "CURRENT") {
    return ExprPtr(std::make_unique<PathExpr>(true, bson::Value(), std::move(parts)));
  }
  if (var == "REMOVE") return ExprPtr(std::make_unique<PathExpr>(false, bson::Value(), std::vector<std::string>{}));
  bson::Value value = ctx.variables.Get(var);
  if (value.missing() && var == "NOW") {
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    ExprValue owned = MakeDate(now);
    return ExprPtr(std::make_unique<OwnedConstantExpr>(std::move(owned), std::move(parts)));
  }
  if (value.missing()) return Coded(17276, "Use of undefined variable: " + std::string(var));
  return ExprPtr(std::make_unique<PathExpr>(false, value, std::move(parts)));
}

}  // namespace

Result<std::unique_ptr<Expression>> Expression::Parse(const bson::Value& v, const ExprParseContext& ctx, int depth) {
  if (depth > kMaxExpressionDepth) {
    return BadValue("expression nesting exceeds the depth limit of " + std::to_string(kMaxExpressionDepth));
  }
  if (v.type() == BsonType::kString && v.AsString().starts_with("$")) return ParseFieldPath(v.AsString(), ctx);
  if (v.type() == BsonType::kArray) {
    Args elems;
    for (const bson::Element& e : v.AsDocument()) {
      AMALGAM_ASSIGN_OR_RETURN(ExprPtr p, Parse(e.value, ctx, depth + 1));
      elems.push_back(std::move(p));
    }
    return ExprPtr(std::make_unique<ArrayExpr>(std::move(elems)));
  }
  if (v.type() != BsonType::kDocument) return ExprPtr(std::make_unique<ConstantExpr>(v));
  bson::DocView doc = v.AsDocument();
  if (!doc.empty() && doc.begin()->name.starts_with("$")) {
    size_t n = doc.CountElements();
    bson::Element first = *doc.begin();
    if (n != 1) {
      return BadValue("an expression specification must contain exactly one field, the name of the expression. Found " +
                      std::to_string(n) + " fields in " + bson::ToJson(doc));
    }
    for (const OperatorRow& row : kOperators) {
      if (row.name == first.name) return row.parse(row.name, first.value, ctx, depth);
    }
    for (auto table : {VariableOperators(), StringOperators(), ArrayOperators(), ConvertOperators(),
                       DateOperators()}) {
      for (const OperatorRow& row : table) {
        if (row.name == first.name) return row.parse(row.name, first.value, ctx, depth);
      }
    }
    return Coded(168, "Unrecognized expression '" + std::string(first.name) + "'");
  }
  std::vector<std::string> names;
  Args values;
  for (const bson::Element& e : doc) {
    if (e.name.starts_with("$")) {
      return BadValue("field names in an object expression may not start with '$': " + std::string(e.name));
    }
    if (e.name.find('.') != std::string_view::npos) {
      return BadValue("field names in an object expression may not contain '.': " + std::string(e.name));
    }
    AMALGAM_ASSIGN_OR_RETURN(ExprPtr p, Parse(e.value, ctx, depth + 1));
    names.emplace_back(e.name);
    values.push_back(std::move(p));
  }
  return ExprPtr(std::make_unique<ObjectExpr>(std::move(names), std::move(values)));
}

}  // namespace amalgam::query
