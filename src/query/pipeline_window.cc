// $setWindowFields: a blocking stage that sorts its input by partition and sortBy, then computes
// each output field over a window of its partition.
//
// Windows: documents [lo, hi] (integers, "current", "unbounded") and range [lo, hi] over the one
// numeric or date sortBy field (with unit for dates). Functions: the $group accumulators
// ($sum $avg $min $max $count $push $addToSet $first $last $stdDevPop $stdDevSamp $mergeObjects and
// the N-forms), $rank $denseRank $documentNumber, $shift, $expMovingAvg. Whole-partition and
// running ([unbounded, current]) windows are computed incrementally; other windows recompute each
// document's window (linear in the window size per document).

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "bson/builder.h"
#include "bson/compare.h"
#include "bson/json.h"
#include "query/expression_internal.h"
#include "query/pipeline_accumulators.h"
#include "query/pipeline_internal.h"
#include "query/projection.h"
#include "query/sort.h"

namespace amalgam::query::pipeline_internal {

using bson::BsonType;

namespace {

constexpr int64_t kUnbounded = std::numeric_limits<int64_t>::min();
constexpr int64_t kCurrent = std::numeric_limits<int64_t>::max();

enum class FnKind { kAccumulator, kRank, kDenseRank, kDocumentNumber, kShift, kExpMovingAvg };

struct Bound {
  bool unbounded = false;
  bool current = false;
  double offset = 0;  // documents: an integer; range: a number (or millis with a unit)
};

struct OutputDef {
  std::vector<std::string> path;
  FnKind kind = FnKind::kAccumulator;
  AccDef acc;
  bool has_window = false;
  bool range = false;
  Bound lo, hi;
  std::unique_ptr<Expression> expr;     // $shift output, $expMovingAvg input
  std::unique_ptr<Expression> deflt;    // $shift default
  int64_t by = 0;                       // $shift
  double alpha = 0;                     // $expMovingAvg
};

struct WindowDef {
  std::unique_ptr<Expression> partition_by;
  std::shared_ptr<const SortSpec> sort_by;
  std::vector<std::string> sort_path;  // the single sortBy field (range windows, ranks)
  std::vector<OutputDef> outputs;
  std::vector<std::shared_ptr<const bson::Document>> holders;  // bytes the accumulators borrow
};

struct Item {
  bson::Document partition;  // {"": key}
  bson::Document doc;
};

bool IsAccumulatorRow(AccKind k) {
  switch (k) {
    case AccKind::kFirstN:
    case AccKind::kLastN:
    case AccKind::kMaxN:
    case AccKind::kMinN:
    case AccKind::kTop:
    case AccKind::kBottom:
    case AccKind::kTopN:
    case AccKind::kBottomN: return false;
    default: return true;
  }
}

class WindowStage final : public BufferedStage {
 public:
  WindowStage(std::unique_ptr<Stage> in, const WindowDef* def, size_t limit)
      : in_(std::move(in)), def_(def), limit_(limit) {}

 private:
  Status Load() override {
    std::vector<Item> items;
    size_t bytes = 0;
    auto take = [&](Row& r) -> Result<size_t> {
      bson::Builder kb;
      if (def_->partition_by) {
        ExprEvalContext ectx;
        ectx.root = r.doc.view();
        AMALGAM_ASSIGN_OR_RETURN(ExprValue v, def_->partition_by->Evaluate(ectx));
        if (v.value().type() == BsonType::kArray) {
          return MongoCodedError(5340704, "$setWindowFields partitionBy expression must not evaluate to an array");
        }
        if (v.missing()) {
          kb.AppendNull("");
        } else {
          kb.AppendValue("", v.value());
        }
      } else {
        kb.AppendNull("");
      }
      Item it{std::move(kb).Finish(), std::move(r.doc)};
      bytes += it.partition.view().size() + it.doc.view().size() * 2 + 64;
      items.push_back(std::move(it));
      return bytes;
    };
    AMALGAM_RETURN_IF_ERROR(DrainInput(*in_, limit_, take, [this] {
      return MemoryLimitError("$setWindowFields", limit_);
    }));
    std::stable_sort(items.begin(), items.end(), [&](const Item& a, const Item& b) {
      int c = bson::CompareValues(a.partition.view().begin()->value, b.partition.view().begin()->value);
      if (c != 0) return c < 0;
      return def_->sort_by ? def_->sort_by->Compare(a.doc.view(), b.doc.view()) < 0 : false;
    });
    size_t start = 0;
    while (start < items.size()) {
      size_t end = start + 1;
      while (end < items.size() &&
             bson::CompareValues(items[end].partition.view().begin()->value,
                                 items[start].partition.view().begin()->value) == 0) {
        ++end;
      }
      AMALGAM_RETURN_IF_ERROR(Partition(items, start, end));
      start = end;
    }
    return Status::OK();
  }

  // The sortBy value of a document (range windows and ranks).
  bson::Value SortValue(const Item& it) const { return GetField(it.doc.view(), def_->sort_path); }

  Status Partition(std::vector<Item>& items, size_t from, size_t to) {
    size_t n = to - from;
    // results[o][i]: output o for document i, as {"": value} (empty document: no value).
    std::vector<std::vector<bson::Document>> results(def_->outputs.size(), std::vector<bson::Document>(n));
    for (size_t o = 0; o < def_->outputs.size(); ++o) {
      AMALGAM_RETURN_IF_ERROR(Compute(def_->outputs[o], items, from, to, &results[o]));
    }
    for (size_t i = 0; i < n; ++i) {
      bson::Document doc = std::move(items[from + i].doc);
      for (size_t o = 0; o < def_->outputs.size(); ++o) {
        bson::DocView v = results[o][i].view();
        bson::Value value = v.empty() ? bson::Value() : v.begin()->value;
        if (value.missing()) {
          bson::Builder nb;
          nb.AppendNull("");
          results[o][i] = std::move(nb).Finish();
          value = results[o][i].view().begin()->value;
        }
        doc = SetField(doc.view(), def_->outputs[o].path, value);
      }
      Output(std::move(doc));
    }
    return Status::OK();
  }

  Result<double> SortNumber(const Item& it) const {
    bson::Value v = SortValue(it);
    if (v.IsNumber()) return v.NumberAsDouble();
    if (v.type() == BsonType::kDate) return static_cast<double>(v.AsDateMillis());
    return MongoCodedError(5429414, "Invalid range: Expected the sortBy field to be a number or date, but it was " +
                                        TypeNameOf(v));
  }

  // The [lo, hi) document indexes (relative to the partition) of document i's window.
  Result<std::pair<size_t, size_t>> Window(const OutputDef& d, const std::vector<Item>& items, size_t from,
                                           size_t n, size_t i) const {
    if (!d.has_window) return std::make_pair(size_t{0}, n);
    if (!d.range) {
      int64_t lo = d.lo.unbounded ? 0 : d.lo.current ? static_cast<int64_t>(i) : static_cast<int64_t>(i) + static_cast<int64_t>(d.lo.offset);
      int64_t hi = d.hi.unbounded ? static_cast<int64_t>(n) - 1
                   : d.hi.current ? static_cast<int64_t>(i)
                                  : static_cast<int64_t>(i) + static_cast<int64_t>(d.hi.offset);
      lo = std::max<int64_t>(lo, 0);
      hi = std::min<int64_t>(hi, static_cast<int64_t>(n) - 1);
      if (hi < lo) return std::make_pair(size_t{0}, size_t{0});
      return std::make_pair(static_cast<size_t>(lo), static_cast<size_t>(hi) + 1);
    }
    AMALGAM_ASSIGN_OR_RETURN(double x, SortNumber(items[from + i]));
    double lo = d.lo.unbounded ? -INFINITY : x + (d.lo.current ? 0 : d.lo.offset);
    double hi = d.hi.unbounded ? INFINITY : x + (d.hi.current ? 0 : d.hi.offset);
    size_t a = n, b = 0;
    for (size_t j = 0; j < n; ++j) {
      AMALGAM_ASSIGN_OR_RETURN(double y, SortNumber(items[from + j]));
      if (y >= lo && y <= hi) {
        a = std::min(a, j);
        b = j + 1;
      }
    }
    if (a >= b) return std::make_pair(size_t{0}, size_t{0});
    return std::make_pair(a, b);
  }

  static bson::Document Finished(AccState& s) {
    bson::Builder b;
    s.Finish(b, "");
    return std::move(b).Finish();
  }

  Status Feed(const OutputDef& d, AccState* s, const Item& it) const {
    ExprValue v = MakeInt32(1);  // $count counts 1 per document
    if (d.acc.arg) {
      ExprEvalContext ectx;
      ectx.root = it.doc.view();
      AMALGAM_ASSIGN_OR_RETURN(v, d.acc.arg->Evaluate(ectx));
    }
    return s->ProcessDoc(v, it.doc.view());
  }

  Status Compute(const OutputDef& d, const std::vector<Item>& items, size_t from, size_t to,
                 std::vector<bson::Document>* out) const {
    size_t n = to - from;
    auto single = [](auto append) {
      bson::Builder b;
      append(b);
      return std::move(b).Finish();
    };
    switch (d.kind) {
      case FnKind::kDocumentNumber:
        for (size_t i = 0; i < n; ++i) (*out)[i] = single([&](bson::Builder& b) { b.AppendInt32("", static_cast<int32_t>(i + 1)); });
        return Status::OK();
      case FnKind::kRank:
      case FnKind::kDenseRank: {
        int32_t rank = 0, dense = 0;
        for (size_t i = 0; i < n; ++i) {
          bool same = i > 0 && bson::CompareValues(SortValue(items[from + i]), SortValue(items[from + i - 1])) == 0;
          if (!same) {
            rank = static_cast<int32_t>(i + 1);
            ++dense;
          }
          int32_t v = d.kind == FnKind::kRank ? rank : dense;
          (*out)[i] = single([&](bson::Builder& b) { b.AppendInt32("", v); });
        }
        return Status::OK();
      }
      case FnKind::kShift:
        for (size_t i = 0; i < n; ++i) {
          int64_t j = static_cast<int64_t>(i) + d.by;
          ExprValue v;
          ExprEvalContext ectx;
          if (j >= 0 && j < static_cast<int64_t>(n)) {
            ectx.root = items[from + static_cast<size_t>(j)].doc.view();
            AMALGAM_ASSIGN_OR_RETURN(v, d.expr->Evaluate(ectx));
          } else if (d.deflt) {
            bson::Document empty;
            ectx.root = empty.view();
            AMALGAM_ASSIGN_OR_RETURN(v, d.deflt->Evaluate(ectx));
          } else {
            v = MakeNull();
          }
          (*out)[i] = single([&](bson::Builder& b) { b.AppendValue("", v.value()); });
        }
        return Status::OK();
      case FnKind::kExpMovingAvg: {
        bool have = false;
        double ema = 0;
        for (size_t i = 0; i < n; ++i) {
          ExprEvalContext ectx;
          ectx.root = items[from + i].doc.view();
          AMALGAM_ASSIGN_OR_RETURN(ExprValue v, d.expr->Evaluate(ectx));
          if (!v.value().IsNumber()) {
            (*out)[i] = single([&](bson::Builder& b) { b.AppendNull(""); });
            continue;
          }
          double x = v.value().NumberAsDouble();
          ema = have ? d.alpha * x + (1 - d.alpha) * ema : x;
          have = true;
          (*out)[i] = single([&](bson::Builder& b) { b.AppendDouble("", ema); });
        }
        return Status::OK();
      }
      case FnKind::kAccumulator: break;
    }
    bool whole = !d.has_window || (d.lo.unbounded && d.hi.unbounded);
    bool running = d.has_window && !d.range && d.lo.unbounded && d.hi.current && IsAccumulatorRow(d.acc.kind);
    if (whole) {
      std::unique_ptr<AccState> s = d.acc.New();
      for (size_t i = from; i < to; ++i) AMALGAM_RETURN_IF_ERROR(Feed(d, s.get(), items[i]));
      bson::Document r = Finished(*s);
      for (size_t i = 0; i < n; ++i) (*out)[i] = bson::Document(r.view());
      return Status::OK();
    }
    if (running) {
      std::unique_ptr<AccState> s = d.acc.New();
      for (size_t i = 0; i < n; ++i) {
        AMALGAM_RETURN_IF_ERROR(Feed(d, s.get(), items[from + i]));
        (*out)[i] = Finished(*s);
      }
      return Status::OK();
    }
    for (size_t i = 0; i < n; ++i) {
      AMALGAM_ASSIGN_OR_RETURN(auto w, Window(d, items, from, n, i));
      std::unique_ptr<AccState> s = d.acc.New();
      for (size_t j = w.first; j < w.second; ++j) AMALGAM_RETURN_IF_ERROR(Feed(d, s.get(), items[from + j]));
      (*out)[i] = Finished(*s);
    }
    return Status::OK();
  }

  std::unique_ptr<Stage> in_;
  const WindowDef* def_;
  size_t limit_;
};

class WindowSpec final : public StageSpec {
 public:
  explicit WindowSpec(WindowDef def) : def_(std::move(def)) {}
  std::string_view name() const override { return "$setWindowFields"; }
  std::unique_ptr<Stage> Make(std::unique_ptr<Stage> in, const ExecEnv& env) const override {
    return std::make_unique<WindowStage>(std::move(in), &def_, env.limit());
  }

 private:
  WindowDef def_;
};

Status BadWindow(std::string msg) { return Status(ErrorCode::kFailedToParse, std::move(msg)); }

Result<Bound> ParseBound(const bson::Value& v, bool range) {
  Bound b;
  if (v.type() == BsonType::kString && v.AsString() == "unbounded") {
    b.unbounded = true;
  } else if (v.type() == BsonType::kString && v.AsString() == "current") {
    b.current = true;
  } else if (v.IsNumber()) {
    b.offset = v.NumberAsDouble();
    if (!range && b.offset != std::trunc(b.offset)) {
      return BadWindow("Numeric document-based bounds must be an integer");
    }
  } else {
    return BadWindow(std::string(range ? "Range-based" : "Document-based") +
                     " bounds must be 'current', 'unbounded', or a number");
  }
  return b;
}

Result<double> UnitMillis(std::string_view unit) {
  static constexpr std::pair<std::string_view, double> kUnits[] = {
      {"week", 604800000.0}, {"day", 86400000.0}, {"hour", 3600000.0},
      {"minute", 60000.0},   {"second", 1000.0},  {"millisecond", 1.0}};
  for (const auto& [n, ms] : kUnits) {
    if (n == unit) return ms;
  }
  return Status(ErrorCode::kNotImplemented, "$setWindowFields range unit '" + std::string(unit) +
                                                "' is not supported (week and smaller units are)");
}

Status ParseWindow(const bson::Value& w, OutputDef* d) {
  if (w.type() != BsonType::kDocument) return BadWindow("'window' field must be an object");
  bson::Value docs, range, unit;
  for (const bson::Element& e : w.AsDocument()) {
    if (e.name == "documents") {
      docs = e.value;
    } else if (e.name == "range") {
      range = e.value;
    } else if (e.name == "unit") {
      unit = e.value;
    } else {
      return BadWindow("'window' field can only contain 'documents' as the only argument or 'range' with "
                       "an optional 'unit' field");
    }
  }
  if (!docs.missing() && !range.missing()) {
    return BadWindow("Window bounds can specify either 'documents' or 'unit', not both");
  }
  bson::Value spec = docs.missing() ? range : docs;
  if (spec.missing()) return BadWindow("'window' field must specify 'documents' or 'range'");
  d->range = docs.missing();
  std::vector<bson::Value> elems;
  if (spec.type() == BsonType::kArray) elems = expr_internal::Elements(spec);
  if (elems.size() != 2) return BadWindow("Window bounds must be a 2-element array");
  AMALGAM_ASSIGN_OR_RETURN(d->lo, ParseBound(elems[0], d->range));
  AMALGAM_ASSIGN_OR_RETURN(d->hi, ParseBound(elems[1], d->range));
  if (!unit.missing()) {
    if (!d->range) return BadWindow("Document-based bounds cannot have a 'unit'");
    if (unit.type() != BsonType::kString) return BadWindow("'unit' must be a string");
    AMALGAM_ASSIGN_OR_RETURN(double ms, UnitMillis(unit.AsString()));
    d->lo.offset *= ms;
    d->hi.offset *= ms;
  }
  bool lo_first = d->lo.unbounded || d->hi.unbounded ||
                  (d->lo.current ? 0 : d->lo.offset) <= (d->hi.current ? 0 : d->hi.offset);
  if (!lo_first) return BadWindow("Lower bound must not exceed upper bound");
  d->has_window = true;
  return Status::OK();
}

}  // namespace

Status ParseSetWindowFields(const bson::Value& arg, const ParseEnv& env, std::vector<StagePtr>* out) {
  if (arg.type() != BsonType::kDocument) {
    return BadWindow("the $setWindowFields stage specification must be an object, found " + TypeNameOf(arg));
  }
  ExprParseContext pctx;
  pctx.variables = env.variables;
  WindowDef def;
  bson::Value output;
  for (const bson::Element& e : arg.AsDocument()) {
    if (e.name == "partitionBy") {
      AMALGAM_ASSIGN_OR_RETURN(def.partition_by, Expression::Parse(e.value, pctx));
    } else if (e.name == "sortBy") {
      if (e.value.type() != BsonType::kDocument) {
        return Status(ErrorCode::kTypeMismatch, "BSON field '$setWindowFields.sortBy' is the wrong type '" +
                                                    TypeNameOf(e.value) + "', expected type 'object'");
      }
      AMALGAM_ASSIGN_OR_RETURN(SortSpec s, SortSpec::Compile(e.value.AsDocument()));
      if (s.parts().size() == 1) def.sort_path = s.parts()[0].parts;
      def.sort_by = std::make_shared<const SortSpec>(std::move(s));
    } else if (e.name == "output") {
      output = e.value;
    } else {
      return Status(ErrorCode::kUnknownField,
                    "BSON field '$setWindowFields." + std::string(e.name) + "' is an unknown field.");
    }
  }
  if (output.type() != BsonType::kDocument) {
    return Status(ErrorCode::kMissingRequiredField,
                  "BSON field '$setWindowFields.output' is missing but a required field");
  }
  for (const bson::Element& f : output.AsDocument()) {
    AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(f.name));
    if (f.value.type() != BsonType::kDocument) {
      return BadWindow("The field '" + std::string(f.name) + "' must be an object");
    }
    OutputDef d;
    d.path = SplitDotted(f.name);
    bson::Value window;
    std::string fn;
    bson::Value fn_arg;
    for (const bson::Element& x : f.value.AsDocument()) {
      if (x.name == "window") {
        window = x.value;
      } else if (x.name.starts_with("$")) {
        if (!fn.empty()) return BadWindow("Window function found an unknown argument: " + std::string(x.name));
        fn = std::string(x.name);
        fn_arg = x.value;
      } else {
        return BadWindow("Window function found an unknown argument: " + std::string(x.name));
      }
    }
    if (fn.empty()) return BadWindow("Expected a $-prefixed window function, " + std::string(f.name));
    bool needs_sort = fn == "$rank" || fn == "$denseRank" || fn == "$documentNumber" || fn == "$shift" ||
                      fn == "$expMovingAvg";
    if (needs_sort) {
      if (!def.sort_by || (fn != "$shift" && fn != "$expMovingAvg" && fn != "$documentNumber" && def.sort_path.empty())) {
        return MongoCodedError(5371602, fn + " must be specified with a top level sortBy expression with exactly one element");
      }
      if (!window.missing()) return BadWindow(fn + " does not accept a 'window' field");
    }
    if (fn == "$rank" || fn == "$denseRank" || fn == "$documentNumber") {
      d.kind = fn == "$rank" ? FnKind::kRank : fn == "$denseRank" ? FnKind::kDenseRank : FnKind::kDocumentNumber;
    } else if (fn == "$shift") {
      d.kind = FnKind::kShift;
      if (fn_arg.type() != BsonType::kDocument) return BadWindow("Argument to $shift must be an object");
      bool have_by = false;
      for (const bson::Element& a : fn_arg.AsDocument()) {
        if (a.name == "output") {
          AMALGAM_ASSIGN_OR_RETURN(d.expr, Expression::Parse(a.value, pctx));
        } else if (a.name == "by") {
          int64_t by;
          if (!expr_internal::AsInt64Exact(a.value, &by)) return BadWindow("'$shift:by' field must be an integer");
          d.by = by;
          have_by = true;
        } else if (a.name == "default") {
          AMALGAM_ASSIGN_OR_RETURN(d.deflt, Expression::Parse(a.value, pctx));
        } else {
          return BadWindow("$shift got unexpected argument: " + std::string(a.name));
        }
      }
      if (!d.expr || !have_by) return BadWindow("$shift requires an 'output' and a 'by' field");
    } else if (fn == "$expMovingAvg") {
      d.kind = FnKind::kExpMovingAvg;
      if (fn_arg.type() != BsonType::kDocument) return BadWindow("$expMovingAvg must have exactly one argument that is an object");
      bson::Value n = fn_arg.AsDocument().Get("N"), alpha = fn_arg.AsDocument().Get("alpha");
      bson::Value input = fn_arg.AsDocument().Get("input");
      if (input.missing() || n.missing() == alpha.missing()) {
        return BadWindow("$expMovingAvg requires an 'input' and exactly one of 'N' and 'alpha'");
      }
      AMALGAM_ASSIGN_OR_RETURN(d.expr, Expression::Parse(input, pctx));
      if (!n.missing()) {
        int64_t nn;
        if (!expr_internal::AsInt64Exact(n, &nn) || nn <= 0) return BadWindow("'N' field must be a positive integer");
        d.alpha = 2.0 / (static_cast<double>(nn) + 1);
      } else {
        if (!alpha.IsNumber() || alpha.NumberAsDouble() <= 0 || alpha.NumberAsDouble() >= 1) {
          return BadWindow("'alpha' must be between 0 and 1 (exclusive)");
        }
        d.alpha = alpha.NumberAsDouble();
      }
    } else {
      // A $group accumulator: {name: {fn: arg}} without the window, kept alive for the parse.
      bson::Builder b;
      b.StartDocument("f").AppendValue(fn, fn_arg).EndDocument();  // the name may be dotted
      auto holder = std::make_shared<const bson::Document>(std::move(b).Finish());
      AMALGAM_RETURN_IF_ERROR(ParseAccumulator(*holder->view().begin(), pctx, &d.acc));
      def.holders.push_back(std::move(holder));
      if (!window.missing()) AMALGAM_RETURN_IF_ERROR(ParseWindow(window, &d));
      if (d.range && def.sort_path.empty()) {
        return BadWindow("Range-based window requires sortBy a single field");
      }
    }
    def.outputs.push_back(std::move(d));
  }
  if (def.outputs.empty()) return BadWindow("$setWindowFields requires a non-empty 'output' field");
  out->push_back(std::make_shared<WindowSpec>(std::move(def)));
  return Status::OK();
}

}  // namespace amalgam::query::pipeline_internal
