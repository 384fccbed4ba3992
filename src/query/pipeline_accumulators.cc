// $group's accumulators: $sum $avg $min $max $first $last $push $addToSet $count $mergeObjects
// $stdDevPop $stdDevSamp $firstN $lastN $maxN $minN $top $bottom $topN $bottomN.

#include "query/pipeline_accumulators.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "bson/compare.h"
#include "query/pipeline_internal.h"
#include "query/projection.h"

namespace amalgam::query::pipeline_internal {

using bson::BsonType;

namespace {

bool Nullish(const bson::Value& v) {
  return v.missing() || v.type() == BsonType::kNull || v.type() == BsonType::kUndefined;
}

// MongoDB's widening sum: int32 -> int64 -> double; decimal unsupported.
struct NumSum {
  int kind = 0;  // 0 int32, 1 int64, 2 double
  int64_t i = 0;
  double d = 0;
  bool int64_seen = false;  // an int64 was added (the result is at least int64)
  int64_t low = 0, high = 0;  // extremes of the running integer sum (for Merge)
  Status Add(const bson::Value& v, std::string_view op) {
    switch (v.type()) {
      case BsonType::kInt32:
        return AddInt(v.AsInt32(), 0);
      case BsonType::kInt64:
        int64_seen = true;
        return AddInt(v.AsInt64(), 1);
      case BsonType::kDouble:
        if (kind != 2) d = static_cast<double>(i);
        kind = 2;
        d += v.AsDouble();
        return Status::OK();
      default:
        return Status(ErrorCode::kNotImplemented,
                      std::string(op) + " of decimal values is not supported yet");
    }
  }
  Status AddInt(int64_t x, int k) {
    if (kind == 2) {
      d += static_cast<double>(x);
      return Status::OK();
    }
    kind = std::max(kind, k);
    int64_t r;
    if (__builtin_add_overflow(i, x, &r)) {
      kind = 2;
      d = static_cast<double>(i) + static_cast<double>(x);
      return Status::OK();
    }
    i = r;
    low = std::min(low, i);
    high = std::max(high, i);
    if (kind == 0 && (i > INT32_MAX || i < INT32_MIN)) kind = 1;
    return Status::OK();
  }
  // Adds the sum of later values `o` as if they had been added one by one after these: exact
  // for integers when no running sum of the serial order would have left int64 (it would have
  // turned double); the int32 -> int64 widening follows the serial running sums too.
  bool Merge(const NumSum& o) {
    if (kind == 2 || o.kind == 2) return false;
    __int128 top = static_cast<__int128>(i) + o.high, bottom = static_cast<__int128>(i) + o.low;
    if (top > INT64_MAX || bottom < INT64_MIN) return false;
    if (o.int64_seen) kind = std::max(kind, 1);
    if (top > INT32_MAX || bottom < INT32_MIN) kind = std::max(kind, 1);
    int64_seen = int64_seen || o.int64_seen;
    low = std::min(low, static_cast<int64_t>(bottom));
    high = std::max(high, static_cast<int64_t>(top));
    i += o.i;
    return true;
  }
  double AsDouble() const { return kind == 2 ? d : static_cast<double>(i); }
  void Append(bson::Builder& b, std::string_view name) const {
    if (kind == 0) {
      b.AppendInt32(name, static_cast<int32_t>(i));
    } else if (kind == 1) {
      b.AppendInt64(name, i);
    } else {
      b.AppendDouble(name, d);
    }
  }
};

class SumAcc final : public AccState {
 public:
  Status Process(const ExprValue& v) override {
    if (!v.value().IsNumber()) return Status::OK();  // non-numbers are ignored
    return sum_.Add(v.value(), "$sum");
  }
  void Finish(bson::Builder& b, std::string_view name) override { sum_.Append(b, name); }
  bool Merge(AccState& later) override { return sum_.Merge(static_cast<SumAcc&>(later).sum_); }

 private:
  NumSum sum_;
};

class AvgAcc final : public AccState {
 public:
  Status Process(const ExprValue& v) override {
    if (!v.value().IsNumber()) return Status::OK();
    ++n_;
    return sum_.Add(v.value(), "$avg");
  }
  void Finish(bson::Builder& b, std::string_view name) override {
    if (n_ == 0) {
      b.AppendNull(name);
    } else {
      b.AppendDouble(name, sum_.AsDouble() / static_cast<double>(n_));
    }
  }
  bool Merge(AccState& later) override {
    auto& o = static_cast<AvgAcc&>(later);
    if (!sum_.Merge(o.sum_)) return false;
    n_ += o.n_;
    return true;
  }

 private:
  NumSum sum_;
  int64_t n_ = 0;
};

// Welford's algorithm.
class StdDevAcc final : public AccState {
 public:
  explicit StdDevAcc(bool sample) : sample_(sample) {}
  Status Process(const ExprValue& v) override {
    if (!v.value().IsNumber()) return Status::OK();
    if (v.value().type() == BsonType::kDecimal128) {
      return Status(ErrorCode::kNotImplemented,
                    "standard deviation of decimal values is not supported yet");
    }
    double x = v.value().NumberAsDouble();
    ++n_;
    double delta = x - mean_;
    mean_ += delta / static_cast<double>(n_);
    m2_ += delta * (x - mean_);
    return Status::OK();
  }
  void Finish(bson::Builder& b, std::string_view name) override {
    int64_t denom = sample_ ? n_ - 1 : n_;
    if (n_ == 0 || denom <= 0) {
      b.AppendNull(name);
      return;
    }
    b.AppendDouble(name, std::sqrt(m2_ / static_cast<double>(denom)));
  }

 private:
  bool sample_;
  int64_t n_ = 0;
  double mean_ = 0, m2_ = 0;
};

class MinMaxAcc final : public AccState {
 public:
  explicit MinMaxAcc(bool is_max) : max_(is_max) {}
  Status Process(const ExprValue& v) override {
    if (Nullish(v.value())) return Status::OK();
    int c = have_ ? bson::CompareValues(v.value(), best_.view().begin()->value) : 0;
    if (!have_ || (max_ ? c > 0 : c < 0)) {
      best_ = Holder(v.value());
      bytes = best_.bytes().size();
      have_ = true;
    }
    return Status::OK();
  }
  void Finish(bson::Builder& b, std::string_view name) override {
    if (have_) {
      b.AppendValue(name, best_.view().begin()->value);
    } else {
      b.AppendNull(name);
    }
  }
  bool Merge(AccState& later) override {
    auto& o = static_cast<MinMaxAcc&>(later);
    if (!o.have_) return true;
    // Ties keep the earlier value, as serially.
    int c = have_ ? bson::CompareValues(o.best_.view().begin()->value, best_.view().begin()->value) : 0;
    if (!have_ || (max_ ? c > 0 : c < 0)) {
      best_ = std::move(o.best_);
      bytes = best_.bytes().size();
      have_ = true;
    }
    return true;
  }

 private:
  bool max_;
  bool have_ = false;
  bson::Document best_;
};

class FirstLastAcc final : public AccState {
 public:
  explicit FirstLastAcc(bool last) : last_(last) {}
  Status Process(const ExprValue& v) override {
    if (have_ && !last_) return Status::OK();
    have_ = true;
    value_ = v.missing() ? bson::Document() : Holder(v.value());
    bytes = value_.bytes().size();
    return Status::OK();
  }
  void Finish(bson::Builder& b, std::string_view name) override {
    bson::DocView h = value_.view();
    if (h.empty()) {
      b.AppendNull(name);  // missing becomes null
    } else {
      b.AppendValue(name, h.begin()->value);
    }
  }
  bool Merge(AccState& later) override {
    auto& o = static_cast<FirstLastAcc&>(later);
    if (!o.have_ || (have_ && !last_)) return true;
    have_ = true;
    value_ = std::move(o.value_);
    bytes = value_.bytes().size();
    return true;
  }

 private:
  bool last_;
  bool have_ = false;
  bson::Document value_;
};

// $push, $addToSet, $firstN, $lastN: a list of values.
class ListAcc final : public AccState {
 public:
  enum class Mode { kPush, kSet, kFirstN, kLastN };
  ListAcc(Mode mode, int64_t n) : mode_(mode), n_(n) {}
  Status Process(const ExprValue& v) override {
    if (mode_ == Mode::kPush || mode_ == Mode::kSet) {
      if (v.missing()) return Status::OK();
    }
    if (mode_ == Mode::kFirstN && static_cast<int64_t>(values_.size()) >= n_) return Status::OK();
    bson::Document h = v.missing() ? Holder(NullValue()) : Holder(v.value());
    if (mode_ == Mode::kSet) {
      for (const bson::Document& x : values_) {
        if (bson::CompareValues(x.view().begin()->value, h.view().begin()->value) == 0)
          return Status::OK();
      }
    }
    bytes += h.bytes().size();
    values_.push_back(std::move(h));
    if (mode_ == Mode::kLastN && static_cast<int64_t>(values_.size()) > n_) {
      bytes -= values_.front().bytes().size();
      values_.erase(values_.begin());
    }
    return Status::OK();
  }
  void Finish(bson::Builder& b, std::string_view name) override {
    b.StartArray(name);
    bson::ArrayBuilder ab(b);
    for (const bson::Document& x : values_) b.AppendValue(ab.Next(), x.view().begin()->value);
    b.EndArray();
  }
  bool Merge(AccState& later) override {
    auto& o = static_cast<ListAcc&>(later);
    // The later values in their order, as Process would have taken them (a set skips those it
    // has; $firstN stops at n, $lastN drops from the front).
    for (bson::Document& h : o.values_) {
      if (mode_ == Mode::kFirstN && static_cast<int64_t>(values_.size()) >= n_) break;
      if (mode_ == Mode::kSet) {
        bool have = false;
        for (const bson::Document& x : values_) {
          if (bson::CompareValues(x.view().begin()->value, h.view().begin()->value) == 0) {
            have = true;
            break;
          }
        }
        if (have) continue;
      }
      bytes += h.bytes().size();
      values_.push_back(std::move(h));
    }
    if (mode_ == Mode::kLastN && static_cast<int64_t>(values_.size()) > n_) {
      size_t drop = values_.size() - static_cast<size_t>(n_);
      for (size_t k = 0; k < drop; ++k) bytes -= values_[k].bytes().size();
      values_.erase(values_.begin(), values_.begin() + static_cast<ptrdiff_t>(drop));
    }
    return true;
  }

 private:
  static bson::Value NullValue() {
    static const bson::Document kNull = [] {
      bson::Builder b;
      b.AppendNull("");
      return std::move(b).Finish();
    }();
    return kNull.view().begin()->value;
  }
  Mode mode_;
  int64_t n_;
  std::vector<bson::Document> values_;
};

// $maxN / $minN: the n largest / smallest non-null values, best first.
class TopValuesAcc final : public AccState {
 public:
  TopValuesAcc(bool is_max, int64_t n) : max_(is_max), n_(n) {}
  Status Process(const ExprValue& v) override {
    if (Nullish(v.value())) return Status::OK();
    bson::Document h = Holder(v.value());
    auto better = [this](const bson::Document& a, const bson::Document& b) {
      int c = bson::CompareValues(a.view().begin()->value, b.view().begin()->value);
      return max_ ? c > 0 : c < 0;
    };
    auto pos = std::upper_bound(values_.begin(), values_.end(), h, better);
    if (pos == values_.end() && static_cast<int64_t>(values_.size()) >= n_) return Status::OK();
    bytes += h.bytes().size();
    values_.insert(pos, std::move(h));
    if (static_cast<int64_t>(values_.size()) > n_) {
      bytes -= values_.back().bytes().size();
      values_.pop_back();
    }
    return Status::OK();
  }
  void Finish(bson::Builder& b, std::string_view name) override {
    b.StartArray(name);
    bson::ArrayBuilder ab(b);
    for (const bson::Document& x : values_) b.AppendValue(ab.Next(), x.view().begin()->value);
    b.EndArray();
  }

 private:
  bool max_;
  int64_t n_;
  std::vector<bson::Document> values_;
};

// $top, $bottom, $topN, $bottomN: the outputs of the first (last) n documents in sortBy order.
class TopBottomAcc final : public AccState {
 public:
  TopBottomAcc(const SortSpec* sort, bool bottom, int64_t n, bool single)
      : sort_(sort), bottom_(bottom), n_(n), single_(single) {}
  Status Process(const ExprValue&) override { return InternalError("$top needs the document"); }
  Status ProcessDoc(const ExprValue& v, bson::DocView root) override {
    AMALGAM_ASSIGN_OR_RETURN(bson::Document key, sort_->SortKey(root));
    // Kept best first; ties keep arrival order for $top and prefer later arrivals for $bottom.
    auto before = [this](const bson::Document& a, const bson::Document& b) {
      int c = sort_->CompareKeys(a.view(), b.view());
      return bottom_ ? c > 0 : c < 0;
    };
    size_t pos = entries_.size();
    while (pos > 0 &&
           (bottom_ ? !before(entries_[pos - 1].first, key) : before(key, entries_[pos - 1].first)))
      --pos;
    if (pos >= static_cast<size_t>(n_)) return Status::OK();
    bson::Document out = v.missing() ? NullHolder() : Holder(v.value());
    bytes += key.bytes().size() + out.bytes().size();
    entries_.insert(entries_.begin() + static_cast<ptrdiff_t>(pos),
                    {std::move(key), std::move(out)});
    if (static_cast<int64_t>(entries_.size()) > n_) {
      bytes -= entries_.back().first.bytes().size() + entries_.back().second.bytes().size();
      entries_.pop_back();
    }
    return Status::OK();
  }
  void Finish(bson::Builder& b, std::string_view name) override {
    if (single_) {
      if (entries_.empty()) {
        b.AppendNull(name);
      } else {
        b.AppendValue(name, entries_.front().second.view().begin()->value);
      }
      return;
    }
    // $bottomN lists its documents in sort order too (the last n, first to last).
    b.StartArray(name);
    bson::ArrayBuilder ab(b);
    if (bottom_) {
      for (auto it = entries_.rbegin(); it != entries_.rend(); ++it)
        b.AppendValue(ab.Next(), it->second.view().begin()->value);
    } else {
      for (const auto& e : entries_) b.AppendValue(ab.Next(), e.second.view().begin()->value);
    }
    b.EndArray();
  }

 private:
  static bson::Document NullHolder() {
    bson::Builder b;
    b.AppendNull("");
    return std::move(b).Finish();
  }
  const SortSpec* sort_;
  bool bottom_;
  int64_t n_;
  bool single_;
  std::vector<std::pair<bson::Document, bson::Document>> entries_;
};

class MergeObjectsAcc final : public AccState {
 public:
  Status Process(const ExprValue& v) override {
    if (Nullish(v.value())) return Status::OK();
    if (v.value().type() != BsonType::kDocument) {
      std::string shown = ValueString(v.value());
      return MongoCodedError(40400, "$mergeObjects requires object inputs, but input " + shown +
                                        " is of type " + TypeNameOf(v.value()));
    }
    for (const bson::Element& e : v.value().AsDocument()) {
      bson::Document h = Holder(e.value);
      bool replaced = false;
      for (auto& f : fields_) {
        if (f.first == e.name) {
          f.second = std::move(h);
          replaced = true;
          break;
        }
      }
      if (!replaced) fields_.emplace_back(std::string(e.name), std::move(h));
    }
    bytes = 0;
    for (const auto& f : fields_) bytes += f.first.size() + f.second.bytes().size();
    return Status::OK();
  }
  void Finish(bson::Builder& b, std::string_view name) override {
    b.StartDocument(name);
    for (const auto& f : fields_) b.AppendValue(f.first, f.second.view().begin()->value);
    b.EndDocument();
  }

 private:
  std::vector<std::pair<std::string, bson::Document>> fields_;
};

struct AccRow {
  std::string_view name;
  AccKind kind;
};

constexpr AccRow kAccumulators[] = {
    {"$sum", AccKind::kSum},
    {"$avg", AccKind::kAvg},
    {"$min", AccKind::kMin},
    {"$max", AccKind::kMax},
    {"$first", AccKind::kFirst},
    {"$last", AccKind::kLast},
    {"$push", AccKind::kPush},
    {"$addToSet", AccKind::kAddToSet},
    {"$count", AccKind::kCount},
    {"$mergeObjects", AccKind::kMergeObjects},
    {"$stdDevPop", AccKind::kStdDevPop},
    {"$stdDevSamp", AccKind::kStdDevSamp},
    {"$firstN", AccKind::kFirstN},
    {"$lastN", AccKind::kLastN},
    {"$maxN", AccKind::kMaxN},
    {"$minN", AccKind::kMinN},
    {"$top", AccKind::kTop},
    {"$bottom", AccKind::kBottom},
    {"$topN", AccKind::kTopN},
    {"$bottomN", AccKind::kBottomN},
};

Result<int64_t> ParseN(const bson::Value& v, std::string_view op) {
  if (v.missing()) return MongoCodedError(5787906, "Missing value for 'n'");
  if (!v.IsNumber())
    return MongoCodedError(5787902,
                           "Value for 'n' must be of integral type, but found " + TypeNameOf(v));
  double d = v.NumberAsDouble();
  if (d != std::trunc(d))
    return MongoCodedError(5787903,
                           "Value for 'n' must be of integral type, but found " + TypeNameOf(v));
  if (d <= 0)
    return MongoCodedError(
        5787908, "'n' must be greater than 0, found " + std::to_string(static_cast<int64_t>(d)));
  (void)op;
  return static_cast<int64_t>(std::min(d, 9.2e18));
}

}  // namespace

Status ParseAccumulator(const bson::Element& field, const ExprParseContext& pctx, AccDef* out) {
  out->field = std::string(field.name);
  if (field.name.find('.') != std::string_view::npos) {
    return MongoCodedError(40235,
                           "The field name '" + std::string(field.name) + "' cannot contain '.'");
  }
  if (field.name.starts_with("$")) {
    return MongoCodedError(
        40236, "The field name '" + std::string(field.name) + "' cannot be an operator name");
  }
  if (field.value.type() != BsonType::kDocument) {
    return MongoCodedError(
        40234, "The field '" + std::string(field.name) + "' must be an accumulator object");
  }
  bson::DocView spec = field.value.AsDocument();
  if (spec.CountElements() != 1) {
    return MongoCodedError(
        40238, "The field '" + std::string(field.name) + "' must specify one accumulator");
  }
  const bson::Element op = *spec.begin();
  const AccRow* row = nullptr;
  for (const AccRow& r : kAccumulators) {
    if (r.name == op.name) row = &r;
  }
  if (row == nullptr)
    return MongoCodedError(15952, "unknown group operator '" + std::string(op.name) + "'");
  out->kind = row->kind;
  switch (row->kind) {
    case AccKind::kCount:
      if (op.value.type() != BsonType::kDocument || !op.value.AsDocument().empty()) {
        return MongoCodedError(40237, "$count takes no arguments, i.e. $count:{}");
      }
      return Status::OK();
    case AccKind::kFirstN:
    case AccKind::kLastN:
    case AccKind::kMaxN:
    case AccKind::kMinN: {
      if (op.value.type() != BsonType::kDocument) {
        return MongoCodedError(
            5787801,
            std::string(op.name) + " requires an object argument, found: " + TypeNameOf(op.value));
      }
      bson::Value input, n;
      for (const bson::Element& e : op.value.AsDocument()) {
        if (e.name == "input") {
          input = e.value;
        } else if (e.name == "n") {
          n = e.value;
        } else {
          return MongoCodedError(
              5787901, std::string(op.name) + " found an unknown argument: " + std::string(e.name));
        }
      }
      if (input.missing())
        return MongoCodedError(5787907, std::string(op.name) + " requires an 'input' field");
      AMALGAM_ASSIGN_OR_RETURN(out->n, ParseN(n, op.name));
      AMALGAM_ASSIGN_OR_RETURN(out->arg, Expression::Parse(input, pctx));
      return Status::OK();
    }
    case AccKind::kTop:
    case AccKind::kBottom:
    case AccKind::kTopN:
    case AccKind::kBottomN: {
      bool with_n = row->kind == AccKind::kTopN || row->kind == AccKind::kBottomN;
      if (op.value.type() != BsonType::kDocument) {
        return MongoCodedError(
            5788001,
            std::string(op.name) + " requires an object argument, found: " + TypeNameOf(op.value));
      }
      bson::Value output, n, sort_by;
      for (const bson::Element& e : op.value.AsDocument()) {
        if (e.name == "output") {
          output = e.value;
        } else if (e.name == "sortBy") {
          sort_by = e.value;
        } else if (e.name == "n" && with_n) {
          n = e.value;
        } else {
          return MongoCodedError(
              5788002, std::string(op.name) + " found an unknown argument: " + std::string(e.name));
        }
      }
      if (output.missing())
        return MongoCodedError(5788004, std::string(op.name) + " requires an 'output' field");
      if (sort_by.missing())
        return MongoCodedError(5788005, std::string(op.name) + " requires a 'sortBy' field");
      if (sort_by.type() != BsonType::kDocument) {
        return MongoCodedError(
            5788604, std::string(op.name) +
                         " requires 'sortBy' to be an object, found: " + TypeNameOf(sort_by));
      }
      AMALGAM_ASSIGN_OR_RETURN(SortSpec spec, SortSpec::Compile(sort_by.AsDocument()));
      out->sort_by = std::make_shared<const SortSpec>(std::move(spec));
      out->n = 1;
      if (with_n) {
        AMALGAM_ASSIGN_OR_RETURN(out->n, ParseN(n, op.name));
      }
      AMALGAM_ASSIGN_OR_RETURN(out->arg, Expression::Parse(output, pctx));
      return Status::OK();
    }
    default:
      break;
  }
  if (op.value.type() == BsonType::kArray) {
    return MongoCodedError(40237,
                           "The " + std::string(op.name) + " accumulator is a unary operator");
  }
  AMALGAM_ASSIGN_OR_RETURN(out->arg, Expression::Parse(op.value, pctx));
  return Status::OK();
}

bool AccDef::Mergeable() const {
  switch (kind) {
    case AccKind::kSum:
    case AccKind::kCount:
    case AccKind::kAvg:
    case AccKind::kMin:
    case AccKind::kMax:
    case AccKind::kFirst:
    case AccKind::kLast:
    case AccKind::kPush:
    case AccKind::kAddToSet:
    case AccKind::kFirstN:
    case AccKind::kLastN:
      return true;
    default:
      return false;
  }
}

std::unique_ptr<AccState> AccDef::New() const {
  switch (kind) {
    case AccKind::kSum:
    case AccKind::kCount:
      return std::make_unique<SumAcc>();
    case AccKind::kAvg:
      return std::make_unique<AvgAcc>();
    case AccKind::kMin:
      return std::make_unique<MinMaxAcc>(false);
    case AccKind::kMax:
      return std::make_unique<MinMaxAcc>(true);
    case AccKind::kFirst:
      return std::make_unique<FirstLastAcc>(false);
    case AccKind::kLast:
      return std::make_unique<FirstLastAcc>(true);
    case AccKind::kPush:
      return std::make_unique<ListAcc>(ListAcc::Mode::kPush, 0);
    case AccKind::kAddToSet:
      return std::make_unique<ListAcc>(ListAcc::Mode::kSet, 0);
    case AccKind::kFirstN:
      return std::make_unique<ListAcc>(ListAcc::Mode::kFirstN, n);
    case AccKind::kLastN:
      return std::make_unique<ListAcc>(ListAcc::Mode::kLastN, n);
    case AccKind::kMaxN:
      return std::make_unique<TopValuesAcc>(true, n);
    case AccKind::kMinN:
      return std::make_unique<TopValuesAcc>(false, n);
    case AccKind::kMergeObjects:
      return std::make_unique<MergeObjectsAcc>();
    case AccKind::kStdDevPop:
      return std::make_unique<StdDevAcc>(false);
    case AccKind::kStdDevSamp:
      return std::make_unique<StdDevAcc>(true);
    case AccKind::kTop:
      return std::make_unique<TopBottomAcc>(sort_by.get(), false, 1, true);
    case AccKind::kBottom:
      return std::make_unique<TopBottomAcc>(sort_by.get(), true, 1, true);
    case AccKind::kTopN:
      return std::make_unique<TopBottomAcc>(sort_by.get(), false, n, false);
    case AccKind::kBottomN:
      return std::make_unique<TopBottomAcc>(sort_by.get(), true, n, false);
  }
  return nullptr;
}

}  // namespace amalgam::query::pipeline_internal
