#include "query/match_node.h"

#include <algorithm>
#include <cmath>

#include "bson/compare.h"
#include "bson/number.h"
#include "bson/types.h"

namespace amalgam::query {

using bson::BsonType;

namespace {

bool IsNaN(const bson::Value& v) {
  if (v.type() == BsonType::kDouble) return std::isnan(v.AsDouble());
  if (v.type() == BsonType::kDecimal128) {
    return bson::DecodeDecimal128(v.AsDecimal128()).kind == bson::Decimal128Parts::Kind::kNaN;
  }
  return false;
}

// ---- document-level nodes ----

class AndNode final : public MatchNode {
 public:
  explicit AndNode(std::vector<NodePtr> c) : children_(std::move(c)) {}
  bool MatchesDoc(bson::DocView doc, const EvalState& st) const override {
    for (const NodePtr& c : children_) {
      if (!c->MatchesDoc(doc, st)) {
        if (st.details != nullptr) st.details->array_index.reset();
        return false;
      }
    }
    return true;
  }
  bool MatchesValue(const bson::Value& v, const EvalState& st) const override {
    for (const NodePtr& c : children_) {
      if (!c->MatchesValue(v, st)) return false;
    }
    return true;
  }

 private:
  std::vector<NodePtr> children_;
};

// $or and $nor record no array position (as in MongoDB).
class OrNode final : public MatchNode {
 public:
  OrNode(std::vector<NodePtr> c, bool negate) : children_(std::move(c)), negate_(negate) {}
  bool MatchesDoc(bson::DocView doc, const EvalState& st) const override {
    EvalState sub = st.NoDetails();
    for (const NodePtr& c : children_) {
      if (c->MatchesDoc(doc, sub)) return !negate_;
    }
    return negate_;
  }
  bool MatchesValue(const bson::Value& v, const EvalState& st) const override {
    EvalState sub = st.NoDetails();
    for (const NodePtr& c : children_) {
      if (c->MatchesValue(v, sub)) return !negate_;
    }
    return negate_;
  }

 private:
  std::vector<NodePtr> children_;
  bool negate_;
};

class NotNode final : public MatchNode {
 public:
  explicit NotNode(NodePtr c) : child_(std::move(c)) {}
  bool MatchesDoc(bson::DocView doc, const EvalState& st) const override {
    return !child_->MatchesDoc(doc, st.NoDetails());
  }
  bool MatchesValue(const bson::Value& v, const EvalState& st) const override {
    return !child_->MatchesValue(v, st.NoDetails());
  }

 private:
  NodePtr child_;
};

class ConstNode final : public MatchNode {
 public:
  explicit ConstNode(bool v) : value_(v) {}
  bool MatchesDoc(bson::DocView, const EvalState&) const override { return value_; }
  bool MatchesValue(const bson::Value&, const EvalState&) const override { return value_; }

 private:
  bool value_;
};

class PathNode final : public MatchNode {
 public:
  PathNode(MatchPath path, PredPtr pred) : path_(std::move(path)), pred_(std::move(pred)) {}
  bool MatchesDoc(bson::DocView doc, const EvalState& st) const override {
    struct Visitor final : PathVisitor {
      const Predicate& pred;
      const EvalState& st;
      Visitor(const Predicate& p, const EvalState& s) : pred(p), st(s) {}
      bool Visit(const bson::Value& v, int64_t offset) override {
        if (!pred.Test(v, st)) return false;
        st.RecordIndex(offset);
        return true;
      }
    } visitor(*pred_, st);
    return WalkPath(doc, path_, pred_->leaf_arrays(), visitor);
  }
  bool MatchesValue(const bson::Value& v, const EvalState& st) const override { return pred_->Test(v, st); }

 private:
  MatchPath path_;
  PredPtr pred_;
};

class ExprNode final : public MatchNode {
 public:
  explicit ExprNode(std::unique_ptr<Expression> e) : expr_(std::move(e)) {}
  bool MatchesDoc(bson::DocView doc, const EvalState& st) const override {
    Result<ExprValue> v = expr_->Evaluate(ExprEvalContext{doc});
    if (!v.ok()) {
      if (st.error != nullptr && st.error->ok()) *st.error = v.status();
      return false;
    }
    return IsTruthy(v->value());
  }
  bool MatchesValue(const bson::Value&, const EvalState&) const override { return false; }

 private:
  std::unique_ptr<Expression> expr_;
};

// ---- predicates ----

class ComparePred final : public Predicate {
 public:
  ComparePred(CompareOp op, bson::Value operand) : op_(op), operand_(operand) {}
  bool Test(const bson::Value& v, const EvalState&) const override { return CompareMatches(op_, operand_, v); }

 private:
  CompareOp op_;
  bson::Value operand_;
};

class RegexPred final : public Predicate {
 public:
  explicit RegexPred(Regex r) : regex_(std::move(r)) {}
  bool Test(const bson::Value& v, const EvalState&) const override { return Matches(regex_, v); }
  static bool Matches(const Regex& r, const bson::Value& v) {
    switch (v.type()) {
      case BsonType::kString:
      case BsonType::kSymbol: return r.Matches(v.AsString());
      case BsonType::kRegex: {
        bson::RegexValue rv = v.AsRegex();
        return rv.pattern == r.pattern() && rv.options == r.options();
      }
      default: return false;
    }
  }

 private:
  Regex regex_;
};

bool ValueLess(const bson::Value& a, const bson::Value& b) { return bson::CompareValues(a, b) < 0; }

class InPred final : public Predicate {
 public:
  InPred(std::vector<bson::Value> eq, std::vector<Regex> regexes) : eq_(std::move(eq)), regexes_(std::move(regexes)) {
    std::sort(eq_.begin(), eq_.end(), ValueLess);
    for (const bson::Value& v : eq_) has_null_ |= v.type() == BsonType::kNull;
  }
  bool Test(const bson::Value& v, const EvalState&) const override {
    // With null in the list, $in matches missing and undefined like {$eq: null}.
    if (has_null_ && (v.missing() || v.type() == BsonType::kUndefined)) return true;
    // Within one type bracket equality is CompareValues() == 0 (NaN equals NaN there too), and
    // values of different brackets never compare equal: a binary search finds any equal value.
    auto it = std::lower_bound(eq_.begin(), eq_.end(), v, ValueLess);
    if (it != eq_.end() && bson::CompareValues(*it, v) == 0 &&
        bson::CanonicalRank(it->type()) == bson::CanonicalRank(v.type())) {
      return true;
    }
    for (const Regex& r : regexes_) {
      if (RegexPred::Matches(r, v)) return true;
    }
    return false;
  }

 private:
  std::vector<bson::Value> eq_;
  std::vector<Regex> regexes_;
  bool has_null_ = false;
};

class ExistsPred final : public Predicate {
 public:
  bool Test(const bson::Value& v, const EvalState&) const override { return !v.missing(); }
};

class TypePred final : public Predicate {
 public:
  TypePred(std::vector<BsonType> types, bool number) : types_(std::move(types)), number_(number) {}
  bool Test(const bson::Value& v, const EvalState&) const override {
    if (v.missing()) return false;
    if (number_ && v.IsNumber()) return true;
    return std::find(types_.begin(), types_.end(), v.type()) != types_.end();
  }

 private:
  std::vector<BsonType> types_;
  bool number_;
};

// Truncates a number toward zero into an int64. False for NaN, infinities and out of range.
bool TruncateToInt64(const bson::Value& v, int64_t* out) {
  switch (v.type()) {
    case BsonType::kInt32: *out = v.AsInt32(); return true;
    case BsonType::kInt64: *out = v.AsInt64(); return true;
    case BsonType::kDouble: {
      double d = std::trunc(v.AsDouble());
      if (!std::isfinite(d) || d < -9223372036854775808.0 || d >= 9223372036854775808.0) return false;
      *out = static_cast<int64_t>(d);
      return true;
    }
    case BsonType::kDecimal128: {
      bson::ExactNumber n = bson::ExactFromValue(v);
      using K = bson::ExactNumber::Kind;
      if (n.kind == K::kZero) {
        *out = 0;
        return true;
      }
      if (n.kind != K::kNegative && n.kind != K::kPositive) return false;
      if (n.exponent <= 0) {
        *out = 0;
        return true;
      }
      if (static_cast<size_t>(n.exponent) < n.digits.size()) n.digits.resize(n.exponent);
      while (!n.digits.empty() && n.digits.back() == '0') n.digits.pop_back();  // keep canonical
      return bson::ExactToInt64(n, out);
    }
    default: return false;
  }
}

class ModPred final : public Predicate {
 public:
  ModPred(int64_t d, int64_t r) : divisor_(d), remainder_(r) {}
  bool Test(const bson::Value& v, const EvalState&) const override {
    int64_t x;
    if (!v.IsNumber() || !TruncateToInt64(v, &x)) return false;
    int64_t rem = divisor_ == -1 ? 0 : x % divisor_;
    return rem == remainder_;
  }

 private:
  int64_t divisor_, remainder_;
};

// An exactly integral number representable as int64.
bool IntegralInt64(const bson::Value& v, int64_t* out) {
  switch (v.type()) {
    case BsonType::kInt32: *out = v.AsInt32(); return true;
    case BsonType::kInt64: *out = v.AsInt64(); return true;
    case BsonType::kDouble:
    case BsonType::kDecimal128: return bson::ExactToInt64(bson::ExactFromValue(v), out);
    default: return false;
  }
}

class BitsPred final : public Predicate {
 public:
  BitsPred(BitsOp op, std::vector<uint32_t> pos) : op_(op), positions_(std::move(pos)) {}
  bool Test(const bson::Value& v, const EvalState&) const override {
    if (v.IsNumber()) {
      int64_t n;
      if (!IntegralInt64(v, &n)) return false;
      return Check([n](uint32_t p) { return p < 64 ? ((static_cast<uint64_t>(n) >> p) & 1) != 0 : n < 0; });
    }
    if (v.type() == BsonType::kBinary) {
      bson::Binary b = v.AsBinary();
      return Check([&b](uint32_t p) { return p / 8 < b.data.size() && ((b.data[p / 8] >> (p % 8)) & 1) != 0; });
    }
    return false;
  }

 private:
  template <typename F>
  bool Check(F bit) const {
    bool want_set = op_ == BitsOp::kAllSet || op_ == BitsOp::kAnySet;
    bool all = op_ == BitsOp::kAllSet || op_ == BitsOp::kAllClear;
    for (uint32_t p : positions_) {
      bool ok = bit(p) == want_set;
      if (all && !ok) return false;
      if (!all && ok) return true;
    }
    return all;
  }
  BitsOp op_;
  std::vector<uint32_t> positions_;
};

class SizePred final : public Predicate {
 public:
  explicit SizePred(int64_t n) : size_(n) {}
  bool Test(const bson::Value& v, const EvalState&) const override {
    return size_ >= 0 && v.type() == BsonType::kArray && v.AsDocument().CountElements() == static_cast<size_t>(size_);
  }
  LeafArrays leaf_arrays() const override { return LeafArrays::kNoTraversal; }

 private:
  int64_t size_;
};

class ElemMatchObjectPred final : public Predicate {
 public:
  explicit ElemMatchObjectPred(NodePtr sub) : sub_(std::move(sub)) {}
  bool Test(const bson::Value& v, const EvalState& st) const override {
    if (v.type() != BsonType::kArray) return false;
    EvalState inner = st.NoDetails();
    int64_t pos = 0;
    for (const bson::Element& e : v.AsDocument()) {
      // Array elements are matched as documents with fields "0", "1", ... (isABSONObj).
      if ((e.value.type() == BsonType::kDocument || e.value.type() == BsonType::kArray) &&
          sub_->MatchesDoc(e.value.AsDocument(), inner)) {
        st.RecordIndex(pos);
        return true;
      }
      ++pos;
    }
    return false;
  }
  LeafArrays leaf_arrays() const override { return LeafArrays::kNoTraversal; }

 private:
  NodePtr sub_;
};

class ElemMatchValuePred final : public Predicate {
 public:
  explicit ElemMatchValuePred(std::vector<NodePtr> c) : children_(std::move(c)) {}
  bool Test(const bson::Value& v, const EvalState& st) const override {
    if (v.type() != BsonType::kArray) return false;
    EvalState inner = st.NoDetails();
    int64_t pos = 0;
    for (const bson::Element& e : v.AsDocument()) {
      bool all = true;
      for (const NodePtr& c : children_) {
        if (!c->MatchesValue(e.value, inner)) {
          all = false;
          break;
        }
      }
      if (all) {
        st.RecordIndex(pos);
        return true;
      }
      ++pos;
    }
    return false;
  }
  LeafArrays leaf_arrays() const override { return LeafArrays::kNoTraversal; }

 private:
  std::vector<NodePtr> children_;
};

}  // namespace

bool CompareMatches(CompareOp op, const bson::Value& operand, const bson::Value& e) {
  int re = bson::CanonicalRank(e.type());
  int ro = bson::CanonicalRank(operand.type());
  if (re != ro) {
    // Null against missing or undefined (ranks 5 and 0): equal for the inclusive operators.
    if (re + ro == 5) return op == CompareOp::kEq || op == CompareOp::kLte || op == CompareOp::kGte;
    if (operand.type() == BsonType::kMaxKey || operand.type() == BsonType::kMinKey) {
      int c = bson::CompareValues(e, operand);
      switch (op) {
        case CompareOp::kLt:
        case CompareOp::kLte: return c < 0;
        case CompareOp::kGt:
        case CompareOp::kGte: return c > 0;
        case CompareOp::kEq: return false;
      }
    }
    return false;
  }
  if (IsNaN(e) || IsNaN(operand)) {
    bool both = IsNaN(e) && IsNaN(operand);
    return (op == CompareOp::kEq || op == CompareOp::kLte || op == CompareOp::kGte) && both;
  }
  int c = bson::CompareValues(e, operand);
  switch (op) {
    case CompareOp::kEq: return c == 0;
    case CompareOp::kLt: return c < 0;
    case CompareOp::kLte: return c <= 0;
    case CompareOp::kGt: return c > 0;
    case CompareOp::kGte: return c >= 0;
  }
  return false;
}

NodePtr MakeAnd(std::vector<NodePtr> children) {
  if (children.size() == 1) return std::move(children[0]);
  return std::make_unique<AndNode>(std::move(children));
}
NodePtr MakeOr(std::vector<NodePtr> children) { return std::make_unique<OrNode>(std::move(children), false); }
NodePtr MakeNor(std::vector<NodePtr> children) { return std::make_unique<OrNode>(std::move(children), true); }
NodePtr MakeNot(NodePtr child) { return std::make_unique<NotNode>(std::move(child)); }
NodePtr MakeConst(bool value) { return std::make_unique<ConstNode>(value); }
NodePtr MakePath(MatchPath path, PredPtr pred) { return std::make_unique<PathNode>(std::move(path), std::move(pred)); }
NodePtr MakeExpr(std::unique_ptr<Expression> expr) { return std::make_unique<ExprNode>(std::move(expr)); }

PredPtr MakeCompare(CompareOp op, bson::Value operand) { return std::make_unique<ComparePred>(op, operand); }
PredPtr MakeIn(std::vector<bson::Value> eq, std::vector<Regex> regexes) {
  return std::make_unique<InPred>(std::move(eq), std::move(regexes));
}
PredPtr MakeRegex(Regex regex) { return std::make_unique<RegexPred>(std::move(regex)); }
PredPtr MakeExists() { return std::make_unique<ExistsPred>(); }
PredPtr MakeType(std::vector<BsonType> types, bool number) { return std::make_unique<TypePred>(std::move(types), number); }
PredPtr MakeMod(int64_t divisor, int64_t remainder) { return std::make_unique<ModPred>(divisor, remainder); }
PredPtr MakeBits(BitsOp op, std::vector<uint32_t> positions) { return std::make_unique<BitsPred>(op, std::move(positions)); }
PredPtr MakeSize(int64_t size) { return std::make_unique<SizePred>(size); }
PredPtr MakeElemMatchObject(NodePtr sub) { return std::make_unique<ElemMatchObjectPred>(std::move(sub)); }
PredPtr MakeElemMatchValue(std::vector<NodePtr> children) {
  return std::make_unique<ElemMatchValuePred>(std::move(children));
}

}  // namespace amalgam::query
