// Operators that bind variables ($let, $map, $filter, $reduce) and $switch.
#include <random>
#include <string>
#include <vector>

#include "bson/compare.h"
#include "query/expression_internal.h"

namespace amalgam::query::expr_internal {
namespace {

using bson::BsonType;

// Reads a named-argument operator object. `names` and `slots` run in parallel; each value found
// is kept (unparsed) for the caller, which parses it in the right scope.
Status ReadNamed(const bson::Value& arg, std::initializer_list<std::string_view> names,
                 std::vector<bson::Value>* slots, int32_t unknown_code, std::string unknown_prefix) {
  slots->assign(names.size(), bson::Value());
  for (const bson::Element& e : arg.AsDocument()) {
    size_t i = 0;
    bool found = false;
    for (std::string_view n : names) {
      if (n == e.name) {
        (*slots)[i] = e.value;
        found = true;
      }
      ++i;
    }
    if (!found) return Coded(unknown_code, unknown_prefix + std::string(e.name));
  }
  return Status::OK();
}

Result<ExprPtr> ParseIn(const bson::Value& v, const ExprParseContext& ctx, int depth) {
  return Expression::Parse(v, ctx, depth + 1);
}

// ---- $let ------------------------------------------------------------------------------------

class LetExpr final : public Expression {
 public:
  LetExpr(std::vector<std::string> names, Args values, ExprPtr in)
      : names_(std::move(names)), values_(std::move(values)), in_(std::move(in)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    // Every value is evaluated in the outer scope, then all are bound at once.
    std::vector<ExprBinding> frames(names_.size());
    const ExprBinding* parent = ctx.bindings;
    for (size_t i = 0; i < names_.size(); ++i) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue v, values_[i]->Evaluate(ctx));
      frames[i].name = names_[i];
      frames[i].value = std::move(v);
    }
    for (size_t i = 0; i < frames.size(); ++i) {
      frames[i].parent = parent;
      parent = &frames[i];
    }
    ExprEvalContext sub = ctx;
    sub.bindings = parent;
    return in_->Evaluate(sub);
  }

 private:
  std::vector<std::string> names_;
  Args values_;
  ExprPtr in_;
};

Result<ExprPtr> ParseLet(std::string_view, const bson::Value& v, const ExprParseContext& ctx,
                         int depth) {
  if (v.type() != BsonType::kDocument) {
    return Coded(10065, "invalid parameter: expected an object ($let)");
  }
  std::vector<bson::Value> slots;
  AMALGAM_RETURN_IF_ERROR(
      ReadNamed(v, {"vars", "in"}, &slots, 16875, "Unrecognized parameter to $let: "));
  if (slots[0].missing()) return Coded(16876, "Missing 'vars' parameter to $let");
  if (slots[1].missing()) return Coded(16877, "Missing 'in' parameter to $let");
  if (slots[0].type() != BsonType::kDocument) {
    return Coded(10065, "invalid parameter: expected an object (vars)");
  }
  std::vector<std::string> names;
  Args values;
  for (const bson::Element& e : slots[0].AsDocument()) {
    AMALGAM_RETURN_IF_ERROR(ValidateVariableName(e.name));
    AMALGAM_ASSIGN_OR_RETURN(ExprPtr p, Expression::Parse(e.value, ctx, depth + 1));
    names.emplace_back(e.name);
    values.push_back(std::move(p));
  }
  std::vector<ExprScope> scopes(names.size());
  const ExprScope* parent = ctx.scope;
  for (size_t i = 0; i < names.size(); ++i) {
    scopes[i].name = names[i];
    scopes[i].parent = parent;
    parent = &scopes[i];
  }
  ExprParseContext inner = ctx;
  inner.scope = parent;
  AMALGAM_ASSIGN_OR_RETURN(ExprPtr in, ParseIn(slots[1], inner, depth));
  return ExprPtr(std::make_unique<LetExpr>(std::move(names), std::move(values), std::move(in)));
}

// ---- $map, $filter ---------------------------------------------------------------------------

class MapFilterExpr final : public Expression {
 public:
  MapFilterExpr(bool is_map, ExprPtr input, std::string as, ExprPtr body, ExprPtr limit)
      : is_map_(is_map), input_(std::move(input)), as_(std::move(as)), body_(std::move(body)),
        limit_(std::move(limit)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue in, input_->Evaluate(ctx));
    if (in.nullish()) return MakeNull();
    if (in.value().type() != BsonType::kArray) {
      return is_map_ ? Coded(16883, "input to $map must be an array not " + TypeName(in.value()))
                     : Coded(28651, "input to $filter must be an array not " + TypeName(in.value()));
    }
    int64_t limit = -1;
    if (limit_) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue l, limit_->Evaluate(ctx));
      if (!l.nullish()) {
        if (!AsInt64Exact(l.value(), &limit) || limit < INT32_MIN || limit > INT32_MAX) {
          return Coded(327391, "$filter: limit must be represented as a 32-bit integral value: " +
                                   Shown(l.value()));
        }
        if (limit < 1) {
          return Coded(327392, "$filter: limit must be greater than 0: " + Shown(l.value()));
        }
      }
    }
    ExprBinding frame;
    frame.name = as_;
    frame.parent = ctx.bindings;
    ExprEvalContext sub = ctx;
    sub.bindings = &frame;
    std::vector<ExprValue> out;
    for (const bson::Element& e : in.value().AsDocument()) {
      frame.value = ExprValue::Share(in, e.value);
      AMALGAM_ASSIGN_OR_RETURN(ExprValue r, body_->Evaluate(sub));
      if (is_map_) {
        out.push_back(r.missing() ? MakeNull() : std::move(r));
      } else if (IsTruthy(r.value())) {
        out.push_back(frame.value);
        if (limit > 0 && static_cast<int64_t>(out.size()) >= limit) break;
      }
    }
    return Make([&](bson::Builder& b) {
      b.StartArray("");
      bson::ArrayBuilder ab(b);
      for (const ExprValue& v : out) b.AppendValue(ab.Next(), v.value());
      b.EndArray();
    });
  }

 private:
  bool is_map_;
  ExprPtr input_;
  std::string as_;
  ExprPtr body_;
  ExprPtr limit_;
};

template <bool kMap>
Result<ExprPtr> ParseMapFilter(std::string_view, const bson::Value& v, const ExprParseContext& ctx,
                               int depth) {
  std::string_view op = kMap ? "$map" : "$filter";
  if (v.type() != BsonType::kDocument) {
    return Coded(kMap ? 16878 : 28646,
                 std::string(op) + " only supports an object as its argument");
  }
  std::vector<bson::Value> slots;
  if (kMap) {
    AMALGAM_RETURN_IF_ERROR(
        ReadNamed(v, {"input", "as", "in"}, &slots, 16879, "Unrecognized parameter to $map: "));
  } else {
    AMALGAM_RETURN_IF_ERROR(ReadNamed(v, {"input", "as", "cond", "limit"}, &slots, 28647,
                                      "Unrecognized parameter to $filter: "));
  }
  if (slots[0].missing()) {
    return Coded(kMap ? 16880 : 28648, "Missing 'input' parameter to " + std::string(op));
  }
  if (slots[2].missing()) {
    return kMap ? Coded(16882, "Missing 'in' parameter to $map")
                : Coded(28650, "Missing 'cond' parameter to $filter");
  }
  std::string as = "this";
  if (!slots[1].missing()) {
    if (slots[1].type() != BsonType::kString) {
      return Coded(kMap ? 16881 : 28649, "'as' parameter to " + std::string(op) +
                                             " must be a string, found " + TypeName(slots[1]));
    }
    as = std::string(slots[1].AsString());
    AMALGAM_RETURN_IF_ERROR(ValidateVariableName(as));
  }
  AMALGAM_ASSIGN_OR_RETURN(ExprPtr input, Expression::Parse(slots[0], ctx, depth + 1));
  ExprPtr limit;
  if (!kMap && !slots[3].missing()) {
    AMALGAM_ASSIGN_OR_RETURN(limit, Expression::Parse(slots[3], ctx, depth + 1));
  }
  ExprScope scope{as, ctx.scope};
  ExprParseContext inner = ctx;
  inner.scope = &scope;
  AMALGAM_ASSIGN_OR_RETURN(ExprPtr body, ParseIn(slots[2], inner, depth));
  return ExprPtr(std::make_unique<MapFilterExpr>(kMap, std::move(input), std::move(as),
                                                 std::move(body), std::move(limit)));
}

// ---- $reduce ---------------------------------------------------------------------------------

class ReduceExpr final : public Expression {
 public:
  ReduceExpr(ExprPtr input, ExprPtr initial, ExprPtr in)
      : input_(std::move(input)), initial_(std::move(initial)), in_(std::move(in)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue in, input_->Evaluate(ctx));
    if (in.nullish()) return MakeNull();
    if (in.value().type() != BsonType::kArray) {
      return Coded(40080, "$reduce requires that 'input' be an array, found: " + Shown(in.value()));
    }
    AMALGAM_ASSIGN_OR_RETURN(ExprValue acc, initial_->Evaluate(ctx));
    ExprBinding value_frame;
    value_frame.name = "value";
    value_frame.parent = ctx.bindings;
    ExprBinding this_frame;
    this_frame.name = "this";
    this_frame.parent = &value_frame;
    ExprEvalContext sub = ctx;
    sub.bindings = &this_frame;
    for (const bson::Element& e : in.value().AsDocument()) {
      value_frame.value = acc;
      this_frame.value = ExprValue::Share(in, e.value);
      AMALGAM_ASSIGN_OR_RETURN(acc, in_->Evaluate(sub));
    }
    return acc;
  }

 private:
  ExprPtr input_, initial_, in_;
};

Result<ExprPtr> ParseReduce(std::string_view, const bson::Value& v, const ExprParseContext& ctx,
                            int depth) {
  if (v.type() != BsonType::kDocument) {
    return Coded(40075, "$reduce requires an object as an argument, found: " + TypeName(v));
  }
  std::vector<bson::Value> slots;
  AMALGAM_RETURN_IF_ERROR(ReadNamed(v, {"input", "initialValue", "in"}, &slots, 40076,
                                    "$reduce found an unknown argument: "));
  if (slots[0].missing()) return Coded(40077, "$reduce requires 'input' to be specified");
  if (slots[1].missing()) return Coded(40078, "$reduce requires 'initialValue' to be specified");
  if (slots[2].missing()) return Coded(40079, "$reduce requires 'in' to be specified");
  AMALGAM_ASSIGN_OR_RETURN(ExprPtr input, Expression::Parse(slots[0], ctx, depth + 1));
  AMALGAM_ASSIGN_OR_RETURN(ExprPtr initial, Expression::Parse(slots[1], ctx, depth + 1));
  ExprScope value_scope{"value", ctx.scope};
  ExprScope this_scope{"this", &value_scope};
  ExprParseContext inner = ctx;
  inner.scope = &this_scope;
  AMALGAM_ASSIGN_OR_RETURN(ExprPtr in, ParseIn(slots[2], inner, depth));
  return ExprPtr(std::make_unique<ReduceExpr>(std::move(input), std::move(initial), std::move(in)));
}

// ---- $switch ---------------------------------------------------------------------------------

class SwitchExpr final : public Expression {
 public:
  SwitchExpr(Args cases, Args thens, ExprPtr otherwise)
      : cases_(std::move(cases)), thens_(std::move(thens)), default_(std::move(otherwise)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    for (size_t i = 0; i < cases_.size(); ++i) {
      AMALGAM_ASSIGN_OR_RETURN(ExprValue c, cases_[i]->Evaluate(ctx));
      if (IsTruthy(c.value())) return thens_[i]->Evaluate(ctx);
    }
    if (!default_) {
      return Coded(40066,
                   "$switch could not find a matching branch for an input, and no default was "
                   "specified.");
    }
    return default_->Evaluate(ctx);
  }

 private:
  Args cases_, thens_;
  ExprPtr default_;
};

Result<ExprPtr> ParseSwitch(std::string_view, const bson::Value& v, const ExprParseContext& ctx,
                            int depth) {
  if (v.type() != BsonType::kDocument) {
    return Coded(40060, "$switch requires an object as an argument, found: " + TypeName(v));
  }
  Args cases, thens;
  ExprPtr otherwise;
  for (const bson::Element& e : v.AsDocument()) {
    if (e.name == "branches") {
      if (e.value.type() != BsonType::kArray) {
        return Coded(40061, "$switch expected an array for 'branches', found: " + TypeName(e.value));
      }
      for (const bson::Element& br : e.value.AsDocument()) {
        if (br.value.type() != BsonType::kDocument) {
          return Coded(40062, "$switch expected each branch to be an object, found: " +
                                  TypeName(br.value));
        }
        ExprPtr c, t;
        for (const bson::Element& f : br.value.AsDocument()) {
          if (f.name == "case") {
            AMALGAM_ASSIGN_OR_RETURN(c, Expression::Parse(f.value, ctx, depth + 1));
          } else if (f.name == "then") {
            AMALGAM_ASSIGN_OR_RETURN(t, Expression::Parse(f.value, ctx, depth + 1));
          } else {
            return Coded(40063, "$switch found an unknown argument to a branch: " + std::string(f.name));
          }
        }
        if (!c) return Coded(40064, "$switch requires each branch have a 'case' expression");
        if (!t) return Coded(40065, "$switch requires each branch have a 'then' expression.");
        cases.push_back(std::move(c));
        thens.push_back(std::move(t));
      }
    } else if (e.name == "default") {
      AMALGAM_ASSIGN_OR_RETURN(otherwise, Expression::Parse(e.value, ctx, depth + 1));
    } else {
      return Coded(40067, "$switch found an unknown argument: " + std::string(e.name));
    }
  }
  if (cases.empty()) return Coded(40068, "$switch requires at least one branch.");
  return ExprPtr(std::make_unique<SwitchExpr>(std::move(cases), std::move(thens), std::move(otherwise)));
}

// ---- $rand -----------------------------------------------------------------------------------

Result<ExprValue> RandFn(const std::vector<ExprValue>&) {
  thread_local uint64_t state = 0x9E3779B97F4A7C15ull ^ reinterpret_cast<uintptr_t>(&state) ^
                                static_cast<uint64_t>(std::random_device{}());
  // splitmix64
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return MakeDouble(static_cast<double>(z >> 11) * 0x1.0p-53);
}

Result<ExprPtr> ParseRand(std::string_view, const bson::Value& v, const ExprParseContext&, int) {
  if (v.type() != BsonType::kDocument || !v.AsDocument().empty()) {
    return Coded(10065, "invalid parameter: expected an object ($rand)");
  }
  return ExprPtr(std::make_unique<NaryExpr>(RandFn, Args{}));
}

constexpr OperatorRow kRows[] = {
    {"$let", ParseLet},
    {"$map", ParseMapFilter<true>},
    {"$filter", ParseMapFilter<false>},
    {"$reduce", ParseReduce},
    {"$switch", ParseSwitch},
    {"$rand", ParseRand},
};

}  // namespace

std::span<const OperatorRow> VariableOperators() { return kRows; }

}  // namespace amalgam::query::expr_internal
