// Array, set and object operators: $slice, $indexOfArray, $range, $zip, $sortArray,
// $objectToArray, $arrayToObject, $setUnion/$setIntersection/$setDifference/$setEquals/
// $setIsSubset, $anyElementTrue/$allElementsTrue, $getField/$setField/$unsetField.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "bson/compare.h"
#include "query/expression_internal.h"
#include "query/sort.h"

namespace amalgam::query::expr_internal {
namespace {

using bson::BsonType;

bool IsArray(const ExprValue& v) { return v.value().type() == BsonType::kArray; }

// ---- $slice ----------------------------------------------------------------------------------

Result<ExprValue> SliceFn(const std::vector<ExprValue>& a) {
  for (const ExprValue& v : a) {
    if (v.nullish()) return MakeNull();
  }
  if (!IsArray(a[0])) {
    return Coded(28724, "First argument to $slice must be an array, but is of type: " +
                            TypeName(a[0].value()));
  }
  if (!a[1].value().IsNumber()) {
    return Coded(28725, "Second argument to $slice must be a numeric value, but is of type: " +
                            TypeName(a[1].value()));
  }
  int32_t first;
  if (!AsInt32Exact(a[1].value(), &first)) {
    return Coded(28726, "Second argument to $slice can't be represented as a 32-bit integer: " +
                            Shown(a[1].value()));
  }
  std::vector<bson::Value> elems = Elements(a[0].value());
  int64_t n = static_cast<int64_t>(elems.size());
  int64_t start, count;
  if (a.size() == 2) {
    if (first >= 0) {
      start = 0;
      count = first;
    } else {
      start = std::max<int64_t>(0, n + first);
      count = n;
    }
  } else {
    if (!a[2].value().IsNumber()) {
      return Coded(28727, "Third argument to $slice must be numeric, but is of type: " +
                              TypeName(a[2].value()));
    }
    int32_t len;
    if (!AsInt32Exact(a[2].value(), &len)) {
      return Coded(28728, "Third argument to $slice can't be represented as a 32-bit integer: " +
                              Shown(a[2].value()));
    }
    if (len <= 0) {
      return Coded(28729, "Third argument to $slice must be positive: " + Shown(a[2].value()));
    }
    start = first >= 0 ? std::min<int64_t>(first, n) : std::max<int64_t>(0, n + first);
    count = len;
  }
  int64_t end = std::min<int64_t>(n, start + count);
  std::vector<bson::Value> out(elems.begin() + start, elems.begin() + std::max(start, end));
  return MakeArray(out);
}

// ---- $indexOfArray ---------------------------------------------------------------------------

Result<ExprValue> IndexOfArrayFn(const std::vector<ExprValue>& a) {
  if (a[0].nullish()) return MakeNull();
  if (!IsArray(a[0])) {
    return Coded(40090, "$indexOfArray requires an array as a first argument, found: " +
                            TypeName(a[0].value()));
  }
  std::vector<bson::Value> elems = Elements(a[0].value());
  int64_t bounds[2] = {0, static_cast<int64_t>(elems.size())};
  for (size_t i = 2; i < a.size(); ++i) {
    const bson::Value& v = a[i].value();
    int64_t x;
    if (!AsInt64Exact(v, &x)) {
      return Coded(40096, std::string("$indexOfArray requires an integral ") +
                              (i == 2 ? "starting" : "ending") + " index, found a value of type: " +
                              TypeName(v) + ", with value: " + Shown(v));
    }
    if (x < 0) {
      return Coded(40097, std::string("$indexOfArray requires a nonnegative ") +
                              (i == 2 ? "start" : "ending") + " index, found: " + std::to_string(x));
    }
    bounds[i - 2] = std::min<int64_t>(x, static_cast<int64_t>(elems.size()));
  }
  for (int64_t i = bounds[0]; i < bounds[1]; ++i) {
    if (bson::CompareValues(elems[static_cast<size_t>(i)], a[1].value()) == 0)
      return MakeInt32(static_cast<int32_t>(i));
  }
  return MakeInt32(-1);
}

// ---- $range ----------------------------------------------------------------------------------

Result<ExprValue> RangeFn(const std::vector<ExprValue>& a) {
  static constexpr int32_t kNumCodes[3] = {34443, 34445, 34447};
  static constexpr int32_t kIntCodes[3] = {34444, 34446, 34448};
  static constexpr const char* kWhat[3] = {"starting value", "ending value", "step value"};
  int32_t v[3] = {0, 0, 1};
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].value().IsNumber()) {
      return Coded(kNumCodes[i], std::string("$range requires a numeric ") + kWhat[i] +
                                     ", found value of type: " + TypeName(a[i].value()));
    }
    if (!AsInt32Exact(a[i].value(), &v[i])) {
      return Coded(kIntCodes[i], std::string("$range requires a ") + kWhat[i] +
                                     " that can be represented as a 32-bit integer, found value: " +
                                     Shown(a[i].value()));
    }
  }
  if (v[2] == 0) return Coded(34449, "$range requires a non-zero step value");
  constexpr int64_t kMaxElems = 16 * 1024 * 1024;  // bounded memory, about 64 MB of int32s
  return Make([&](bson::Builder& b) {
    b.StartArray("");
    bson::ArrayBuilder ab(b);
    int64_t count = 0;
    for (int64_t x = v[0]; (v[2] > 0 ? x < v[1] : x > v[1]) && count < kMaxElems; x += v[2], ++count)
      b.AppendInt32(ab.Next(), static_cast<int32_t>(x));
    b.EndArray();
  });
}

// ---- $zip ------------------------------------------------------------------------------------

class ZipExpr final : public Expression {
 public:
  ZipExpr(Args inputs, Args defaults, bool longest)
      : inputs_(std::move(inputs)), defaults_(std::move(defaults)), longest_(longest) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(std::vector<ExprValue> ins, EvalAll(inputs_, ctx));
    std::vector<std::vector<bson::Value>> arrays;
    size_t min_len = SIZE_MAX, max_len = 0;
    for (const ExprValue& v : ins) {
      if (v.nullish()) return MakeNull();
      if (!IsArray(v)) {
        return Coded(34468, "$zip found a non-array expression in input: " + Shown(v.value()));
      }
      arrays.push_back(Elements(v.value()));
      min_len = std::min(min_len, arrays.back().size());
      max_len = std::max(max_len, arrays.back().size());
    }
    AMALGAM_ASSIGN_OR_RETURN(std::vector<ExprValue> defs, EvalAll(defaults_, ctx));
    size_t n = longest_ ? max_len : (arrays.empty() ? 0 : min_len);
    return Make([&](bson::Builder& b) {
      b.StartArray("");
      bson::ArrayBuilder outer(b);
      for (size_t i = 0; i < n; ++i) {
        b.StartArray(outer.Next());
        bson::ArrayBuilder inner(b);
        for (size_t j = 0; j < arrays.size(); ++j) {
          if (i < arrays[j].size()) {
            b.AppendValue(inner.Next(), arrays[j][i]);
          } else if (j < defs.size() && !defs[j].missing()) {
            b.AppendValue(inner.Next(), defs[j].value());
          } else {
            b.AppendNull(inner.Next());
          }
        }
        b.EndArray();
      }
      b.EndArray();
    });
  }

 private:
  Args inputs_, defaults_;
  bool longest_;
};

Result<ExprPtr> ParseZip(std::string_view, const bson::Value& v, const ExprParseContext& ctx, int depth) {
  if (v.type() != BsonType::kDocument) {
    return Coded(34460, "$zip only supports an object as an argument, found " + TypeName(v));
  }
  Args inputs, defaults;
  bool longest = false, have_inputs = false, have_defaults = false;
  for (const bson::Element& e : v.AsDocument()) {
    if (e.name == "inputs" || e.name == "defaults") {
      bool is_inputs = e.name == "inputs";
      if (e.value.type() != BsonType::kArray) {
        return Coded(is_inputs ? 34461 : 34462, std::string("$zip requires an array of expressions, found ") +
                                                    TypeName(e.value) + " for " + std::string(e.name));
      }
      for (const bson::Element& x : e.value.AsDocument()) {
        AMALGAM_ASSIGN_OR_RETURN(ExprPtr p, Expression::Parse(x.value, ctx, depth + 1));
        (is_inputs ? inputs : defaults).push_back(std::move(p));
      }
      (is_inputs ? have_inputs : have_defaults) = true;
    } else if (e.name == "useLongestLength") {
      if (e.value.type() != BsonType::kBool) {
        return Coded(34463, "useLongestLength must be a bool, found " + TypeName(e.value));
      }
      longest = e.value.AsBool();
    } else {
      return Coded(34464, "$zip found an unknown argument: " + std::string(e.name));
    }
  }
  if (!have_inputs || inputs.empty()) return Coded(34465, "$zip requires at least one input array");
  if (have_defaults && !longest) {
    return Coded(34466, "cannot specify defaults unless useLongestLength is true");
  }
  if (have_defaults && defaults.size() != inputs.size()) {
    return Coded(34467, "defaults and inputs must have the same length");
  }
  return ExprPtr(std::make_unique<ZipExpr>(std::move(inputs), std::move(defaults), longest));
}

// ---- $sortArray ------------------------------------------------------------------------------

class SortArrayExpr final : public Expression {
 public:
  SortArrayExpr(ExprPtr input, int direction, std::shared_ptr<const SortSpec> spec)
      : input_(std::move(input)), direction_(direction), spec_(std::move(spec)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    AMALGAM_ASSIGN_OR_RETURN(ExprValue in, input_->Evaluate(ctx));
    if (in.nullish()) return MakeNull();
    if (!IsArray(in)) {
      return Coded(2942504, "The input argument to $sortArray must be an array, but was of type: " +
                                TypeName(in.value()));
    }
    std::vector<bson::Value> elems = Elements(in.value());
    bson::DocView empty;
    auto as_doc = [&](const bson::Value& v) {
      return v.type() == BsonType::kDocument ? v.AsDocument() : empty;
    };
    std::stable_sort(elems.begin(), elems.end(), [&](const bson::Value& x, const bson::Value& y) {
      if (spec_) {
        if (x.type() == BsonType::kDocument && y.type() == BsonType::kDocument)
          return spec_->Compare(as_doc(x), as_doc(y)) < 0;
        // Non-documents sort by value among themselves and before documents.
        return bson::CompareValues(x, y) < 0;
      }
      int c = bson::CompareValues(x, y);
      return direction_ > 0 ? c < 0 : c > 0;
    });
    return MakeArray(elems);
  }

 private:
  ExprPtr input_;
  int direction_;
  std::shared_ptr<const SortSpec> spec_;
};

Result<ExprPtr> ParseSortArray(std::string_view, const bson::Value& v, const ExprParseContext& ctx,
                               int depth) {
  if (v.type() != BsonType::kDocument) {
    return Coded(2942500, "$sortArray requires an object as an argument, found: " + TypeName(v));
  }
  ExprPtr input;
  bson::Value sort_by;
  for (const bson::Element& e : v.AsDocument()) {
    if (e.name == "input") {
      AMALGAM_ASSIGN_OR_RETURN(input, Expression::Parse(e.value, ctx, depth + 1));
    } else if (e.name == "sortBy") {
      sort_by = e.value;
    } else {
      return Coded(2942501, "$sortArray found an unknown argument: " + std::string(e.name));
    }
  }
  if (!input) return Coded(2942502, "$sortArray requires 'input' to be specified");
  if (sort_by.missing()) return Coded(2942503, "$sortArray requires 'sortBy' to be specified");
  int direction = 1;
  std::shared_ptr<const SortSpec> spec;
  if (sort_by.type() == BsonType::kDocument) {
    AMALGAM_ASSIGN_OR_RETURN(SortSpec s, SortSpec::Compile(sort_by.AsDocument()));
    spec = std::make_shared<const SortSpec>(std::move(s));
  } else {
    int32_t d = 0;
    if (!AsInt32Exact(sort_by, &d) || (d != 1 && d != -1)) {
      return Coded(2942505, "$sortArray sortBy must be either 1, -1 or a sort specification object");
    }
    direction = d;
  }
  return ExprPtr(std::make_unique<SortArrayExpr>(std::move(input), direction, std::move(spec)));
}

// ---- objects <-> arrays ----------------------------------------------------------------------

Result<ExprValue> ObjectToArrayFn(const std::vector<ExprValue>& a) {
  if (a[0].nullish()) return MakeNull();
  if (a[0].value().type() != BsonType::kDocument) {
    return Coded(40390, "$objectToArray requires a document input, found: " + TypeName(a[0].value()));
  }
  return Make([&](bson::Builder& b) {
    b.StartArray("");
    bson::ArrayBuilder ab(b);
    for (const bson::Element& e : a[0].value().AsDocument()) {
      b.StartDocument(ab.Next()).AppendString("k", e.name).AppendValue("v", e.value).EndDocument();
    }
    b.EndArray();
  });
}

Result<ExprValue> ArrayToObjectFn(const std::vector<ExprValue>& a) {
  if (a[0].nullish()) return MakeNull();
  if (!IsArray(a[0])) {
    return Coded(40386, "$arrayToObject requires an array input, found: " + TypeName(a[0].value()));
  }
  std::vector<std::pair<std::string_view, bson::Value>> fields;
  int kind = 0;  // 1: [k, v] pairs, 2: {k, v} documents
  for (const bson::Element& e : a[0].value().AsDocument()) {
    std::string_view key;
    bson::Value val;
    if (e.value.type() == BsonType::kArray) {
      if (kind == 2) {
        return Coded(40391, "$arrayToObject requires a consistent input format. Elements must all be "
                            "arrays or all be objects. Array was detected, now found: array");
      }
      kind = 1;
      std::vector<bson::Value> kv = Elements(e.value);
      if (kv.size() != 2) {
        return Coded(40397, "$arrayToObject requires an array of size 2 arrays,found array of size: " +
                                std::to_string(kv.size()));
      }
      if (kv[0].type() != BsonType::kString) {
        return Coded(40395, "$arrayToObject requires an array of key-value pairs, where the key must "
                            "be of type string. Found key type: " + TypeName(kv[0]));
      }
      key = kv[0].AsString();
      val = kv[1];
    } else if (e.value.type() == BsonType::kDocument) {
      if (kind == 1) {
        return Coded(40391, "$arrayToObject requires a consistent input format. Elements must all be "
                            "arrays or all be objects. Object was detected, now found: object");
      }
      kind = 2;
      bson::DocView d = e.value.AsDocument();
      if (d.CountElements() != 2 || d.Get("k").missing() || d.Get("v").missing()) {
        return Coded(40392, "$arrayToObject requires an object keys of 'k' and 'v'. Found incorrect "
                            "number of keys:" + std::to_string(d.CountElements()));
      }
      if (d.Get("k").type() != BsonType::kString) {
        return Coded(40394, "$arrayToObject requires an object with keys 'k' and 'v', where the value "
                            "of 'k' must be of type string. Found type: " + TypeName(d.Get("k")));
      }
      key = d.Get("k").AsString();
      val = d.Get("v");
    } else {
      return Coded(40398, "Unrecognised input type format for $arrayToObject: " + TypeName(e.value));
    }
    if (key.find('\0') != std::string_view::npos) {
      return Coded(4940400, "Key field cannot contain an embedded null byte");
    }
    bool replaced = false;
    for (auto& f : fields) {
      if (f.first == key) {
        f.second = val;
        replaced = true;
      }
    }
    if (!replaced) fields.emplace_back(key, val);
  }
  return Make([&](bson::Builder& b) {
    b.StartDocument("");
    for (const auto& f : fields) b.AppendValue(f.first, f.second);
    b.EndDocument();
  });
}

// ---- sets ------------------------------------------------------------------------------------

// Distinct values of an array, in first-seen order.
std::vector<bson::Value> Distinct(const std::vector<bson::Value>& in) {
  std::vector<bson::Value> out;
  for (const bson::Value& v : in) {
    bool seen = false;
    for (const bson::Value& o : out) {
      if (bson::CompareValues(o, v) == 0) {
        seen = true;
        break;
      }
    }
    if (!seen) out.push_back(v);
  }
  return out;
}

bool Contains(const std::vector<bson::Value>& set, const bson::Value& v) {
  for (const bson::Value& o : set) {
    if (bson::CompareValues(o, v) == 0) return true;
  }
  return false;
}

std::vector<bson::Value> SortedSet(std::vector<bson::Value> v) {
  std::stable_sort(v.begin(), v.end(), [](const bson::Value& x, const bson::Value& y) {
    return bson::CompareValues(x, y) < 0;
  });
  return v;
}

Result<ExprValue> SetUnionFn(const std::vector<ExprValue>& a) {
  std::vector<bson::Value> all;
  for (const ExprValue& v : a) {
    if (v.nullish()) return MakeNull();
    if (!IsArray(v)) {
      return Coded(17043, "All operands of $setUnion must be arrays. One argument is of type: " +
                              TypeName(v.value()));
    }
    for (const bson::Value& e : Elements(v.value())) all.push_back(e);
  }
  return MakeArray(SortedSet(Distinct(all)));
}

Result<ExprValue> SetIntersectionFn(const std::vector<ExprValue>& a) {
  std::vector<bson::Value> acc;
  bool first = true;
  for (const ExprValue& v : a) {
    if (v.nullish()) return MakeNull();
    if (!IsArray(v)) {
      return Coded(17047, "All operands of $setIntersection must be arrays. One argument is of type: " +
                              TypeName(v.value()));
    }
    std::vector<bson::Value> elems = Distinct(Elements(v.value()));
    if (first) {
      acc = elems;
      first = false;
      continue;
    }
    std::vector<bson::Value> kept;
    for (const bson::Value& x : acc) {
      if (Contains(elems, x)) kept.push_back(x);
    }
    acc = std::move(kept);
  }
  return MakeArray(SortedSet(acc));
}

Result<ExprValue> SetDifferenceFn(const std::vector<ExprValue>& a) {
  if (a[0].nullish() || a[1].nullish()) return MakeNull();
  if (!IsArray(a[0]) || !IsArray(a[1])) {
    bool first = !IsArray(a[0]);
    return Coded(17048, std::string("both operands of $setDifference must be arrays. ") +
                            (first ? "First" : "Second") + " argument is of type: " +
                            TypeName(a[first ? 0 : 1].value()));
  }
  std::vector<bson::Value> other = Elements(a[1].value());
  std::vector<bson::Value> out;
  for (const bson::Value& x : Distinct(Elements(a[0].value()))) {
    if (!Contains(other, x)) out.push_back(x);
  }
  return MakeArray(SortedSet(out));
}

Result<ExprValue> SetEqualsFn(const std::vector<ExprValue>& a) {
  std::vector<bson::Value> base;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!IsArray(a[i])) {
      return Coded(17044, "All operands of $setEquals must be arrays. One argument is of type: " +
                              TypeName(a[i].value()));
    }
  }
  base = Distinct(Elements(a[0].value()));
  for (size_t i = 1; i < a.size(); ++i) {
    std::vector<bson::Value> other = Distinct(Elements(a[i].value()));
    if (other.size() != base.size()) return MakeBool(false);
    for (const bson::Value& x : other) {
      if (!Contains(base, x)) return MakeBool(false);
    }
  }
  return MakeBool(true);
}

Result<ExprValue> SetIsSubsetFn(const std::vector<ExprValue>& a) {
  if (!IsArray(a[0])) {
    return Coded(17046, "both operands of $setIsSubset must be arrays. First argument is of type: " +
                            TypeName(a[0].value()));
  }
  if (!IsArray(a[1])) {
    return Coded(17042, "both operands of $setIsSubset must be arrays. Second argument is of type: " +
                            TypeName(a[1].value()));
  }
  std::vector<bson::Value> super = Elements(a[1].value());
  for (const bson::Value& x : Elements(a[0].value())) {
    if (!Contains(super, x)) return MakeBool(false);
  }
  return MakeBool(true);
}

template <bool kAll>
Result<ExprValue> ElementsTrueFn(const std::vector<ExprValue>& a) {
  if (!IsArray(a[0])) {
    return Coded(kAll ? 17040 : 17041, std::string(kAll ? "$allElementsTrue" : "$anyElementTrue") +
                                           "'s argument must be an array, but is " +
                                           TypeName(a[0].value()));
  }
  for (const bson::Value& x : Elements(a[0].value())) {
    bool t = IsTruthy(x);
    if (kAll && !t) return MakeBool(false);
    if (!kAll && t) return MakeBool(true);
  }
  return MakeBool(kAll);
}

// ---- $getField / $setField / $unsetField -----------------------------------------------------

class FieldExpr final : public Expression {
 public:
  // kind: 0 get, 1 set, 2 unset.
  FieldExpr(int kind, std::string field, ExprPtr input, ExprPtr value)
      : kind_(kind), field_(std::move(field)), input_(std::move(input)), value_(std::move(value)) {}
  Result<ExprValue> Evaluate(const ExprEvalContext& ctx) const override {
    ExprValue in;
    if (input_) {
      AMALGAM_ASSIGN_OR_RETURN(in, input_->Evaluate(ctx));
    } else {
      in = ExprValue::Borrow(bson::Value(BsonType::kDocument, ctx.root.data(), ctx.root.size()));
    }
    if (kind_ == 0) {
      if (in.nullish()) return MakeNull();
      if (in.value().type() != BsonType::kDocument) return ExprValue();
      bson::Value v = in.value().AsDocument().Get(field_);
      return v.missing() ? ExprValue() : ExprValue::Share(in, v);
    }
    if (in.nullish()) return MakeNull();
    if (in.value().type() != BsonType::kDocument) {
      return Coded(4161105, std::string(kind_ == 1 ? "$setField" : "$unsetField") +
                                " requires 'input' to evaluate to type Object");
    }
    ExprValue v;
    if (kind_ == 1) {
      AMALGAM_ASSIGN_OR_RETURN(v, value_->Evaluate(ctx));
    }
    return Make([&](bson::Builder& b) {
      b.StartDocument("");
      bool done = false;
      for (const bson::Element& e : in.value().AsDocument()) {
        if (e.name == field_) {
          if (kind_ == 1 && !v.missing() && !done) b.AppendValue(e.name, v.value());
          done = true;
          continue;
        }
        b.AppendValue(e.name, e.value);
      }
      if (!done && kind_ == 1 && !v.missing()) b.AppendValue(field_, v.value());
      b.EndDocument();
    });
  }

 private:
  int kind_;
  std::string field_;
  ExprPtr input_, value_;
};

template <int kKind>
Result<ExprPtr> ParseFieldOp(std::string_view op, const bson::Value& v, const ExprParseContext& ctx,
                             int depth) {
  std::string name(op);
  bson::Value field, input, value;
  bool shorthand = kKind == 0 && (v.type() != BsonType::kDocument ||
                                  v.AsDocument().empty() ||
                                  v.AsDocument().begin()->name.starts_with("$"));
  if (shorthand) {
    field = v;
  } else {
    if (v.type() != BsonType::kDocument) {
      return Coded(4161100, name + " only supports an object as its argument");
    }
    for (const bson::Element& e : v.AsDocument()) {
      if (e.name == "field") {
        field = e.value;
      } else if (e.name == "input") {
        input = e.value;
      } else if (e.name == "value" && kKind == 1) {
        value = e.value;
      } else {
        return Coded(kKind == 0 ? 3041701 : 4161101,
                     name + " found an unknown argument: " + std::string(e.name));
      }
    }
    if (field.missing()) return Coded(kKind == 0 ? 3041702 : 4161102, name + " requires 'field' to be specified");
    if (kKind == 1 && value.missing()) return Coded(4161103, name + " requires 'value' to be specified");
    if (kKind != 0 && input.missing()) return Coded(4161109, name + " requires 'input' to be specified");
  }
  // The field name must be a constant string (or $literal of one).
  if (field.type() == BsonType::kDocument && field.AsDocument().CountElements() == 1 &&
      field.AsDocument().begin()->name == "$literal") {
    field = field.AsDocument().begin()->value;
  }
  if (field.type() != BsonType::kString) {
    return Coded(kKind == 0 ? 5654602 : 4161106,
                 name + " requires 'field' to evaluate to a constant of type String, found " + TypeName(field));
  }
  if (kKind != 0 && field.AsString().starts_with("$")) {
    return Coded(4161108, "A field path reference which is not allowed in this context. Did you mean {$literal: '" +
                              std::string(field.AsString()) + "'}?");
  }
  ExprPtr in_expr, val_expr;
  if (!input.missing()) {
    AMALGAM_ASSIGN_OR_RETURN(in_expr, Expression::Parse(input, ctx, depth + 1));
  }
  if (kKind == 1) {
    AMALGAM_ASSIGN_OR_RETURN(val_expr, Expression::Parse(value, ctx, depth + 1));
  }
  return ExprPtr(std::make_unique<FieldExpr>(kKind, std::string(field.AsString()), std::move(in_expr),
                                             std::move(val_expr)));
}

Result<ExprPtr> ParseUnsetField(std::string_view op, const bson::Value& v, const ExprParseContext& ctx,
                                int depth) {
  return ParseFieldOp<2>(op, v, ctx, depth);
}

// $slice with constant operands is evaluated at parse time, as MongoDB's optimizer does: a find
// projection tells its own $slice from this one by this parse failing.
Result<ExprPtr> ParseSlice(std::string_view op, const bson::Value& v, const ExprParseContext& ctx,
                           int depth) {
  AMALGAM_ASSIGN_OR_RETURN(ExprPtr e, (ParseNary<SliceFn, 2, 3>(op, v, ctx, depth)));
  bool constant = v.type() == BsonType::kArray;
  if (constant) {
    for (const bson::Element& a : v.AsDocument()) {
      BsonType t = a.value.type();
      if (t == BsonType::kDocument || (t == BsonType::kString && a.value.AsString().starts_with("$"))) {
        constant = false;
      }
    }
  }
  if (constant) {
    bson::DocView empty;
    ExprEvalContext ectx;
    ectx.root = empty;
    Result<ExprValue> r = e->Evaluate(ectx);
    // Reported as BadValue, the way find() reports a $slice that is neither form.
    if (!r.ok()) return Status(ErrorCode::kBadValue, std::string(r.status().message()));
  }
  return e;
}

constexpr OperatorRow kRows[] = {
    {"$slice", ParseSlice},
    {"$indexOfArray", ParseNary<IndexOfArrayFn, 2, 4>},
    {"$range", ParseNary<RangeFn, 2, 3>},
    {"$zip", ParseZip},
    {"$sortArray", ParseSortArray},
    {"$objectToArray", ParseNary<ObjectToArrayFn, 1, 1>},
    {"$arrayToObject", ParseNary<ArrayToObjectFn, 1, 1>},
    {"$setUnion", ParseNary<SetUnionFn, 0, SIZE_MAX>},
    {"$setIntersection", ParseNary<SetIntersectionFn, 0, SIZE_MAX>},
    {"$setDifference", ParseNary<SetDifferenceFn, 2, 2>},
    {"$setEquals", ParseNary<SetEqualsFn, 2, SIZE_MAX>},
    {"$setIsSubset", ParseNary<SetIsSubsetFn, 2, 2>},
    {"$allElementsTrue", ParseNary<ElementsTrueFn<true>, 1, 1>},
    {"$anyElementTrue", ParseNary<ElementsTrueFn<false>, 1, 1>},
    {"$getField", ParseFieldOp<0>},
    {"$setField", ParseFieldOp<1>},
    {"$unsetField", ParseUnsetField},
};

}  // namespace

std::span<const OperatorRow> ArrayOperators() { return kRows; }

}  // namespace amalgam::query::expr_internal
