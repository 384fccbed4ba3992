#include "query/matcher.h"

#include <cmath>
#include <string>

#include "bson/builder.h"
#include "bson/json.h"
#include "bson/number.h"
#include "bson/types.h"
#include "query/match_node.h"

namespace amalgam::query {

using bson::BsonType;

struct Matcher::State {
  bson::Document filter;     // the bytes every node's operands point into
  bson::Document variables;  // $expr user variables
  NodePtr root;
  bool has_expr = false;
};

namespace {

Status BadValue(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }
Status NotSupported(std::string_view op) {
  return Status(ErrorCode::kNotImplemented, std::string(op) + " is not supported");
}

std::string Show(const bson::Value& v) {
  bson::Builder b;
  b.AppendValue("", v);
  std::string json = bson::ToJson(std::move(b).Finish().view());
  // {"" : x} -> x
  size_t colon = json.find(':');
  if (colon != std::string::npos && json.size() >= colon + 3) return json.substr(colon + 2, json.size() - colon - 4);
  return json;
}

bool IsDbRefField(std::string_view name) { return name == "$ref" || name == "$id" || name == "$db"; }

// A document whose first field is an operator ({$gt: 1}), not a literal ({a: 1}) or a DBRef.
bool IsOperatorDocument(const bson::Value& v) {
  if (v.type() != BsonType::kDocument || v.AsDocument().empty()) return false;
  std::string_view first = v.AsDocument().begin()->name;
  return first.starts_with("$") && !IsDbRefField(first);
}

bool IsPathlessOperator(std::string_view name) {
  return name == "$and" || name == "$or" || name == "$nor" || name == "$expr" || name == "$where" ||
         name == "$text" || name == "$comment" || name == "$jsonSchema" || name == "$alwaysTrue" ||
         name == "$alwaysFalse" || name == "$sampleRate";
}

bool IsGeoOperator(std::string_view name) {
  return name == "$near" || name == "$nearSphere" || name == "$geoWithin" || name == "$within" ||
         name == "$geoIntersects" || name == "$geometry" || name == "$maxDistance" || name == "$minDistance" ||
         name == "$box" || name == "$center" || name == "$centerSphere" || name == "$polygon";
}

// MongoDB's trueValue() for $exists.
bool TrueValue(const bson::Value& v) {
  switch (v.type()) {
    case BsonType::kBool: return v.AsBool();
    case BsonType::kInt32: return v.AsInt32() != 0;
    case BsonType::kInt64: return v.AsInt64() != 0;
    case BsonType::kDouble: return v.AsDouble() != 0;
    case BsonType::kDecimal128: return IsTruthy(v);
    case BsonType::kNull:
    case BsonType::kUndefined:
    case BsonType::kEod: return false;
    default: return true;
  }
}

class Parser {
 public:
  Parser(const ExprParseContext& expr_ctx, bool* has_expr) : expr_ctx_(expr_ctx), has_expr_(has_expr) {}

  Result<NodePtr> ParseDocument(bson::DocView filter, int depth) {
    if (depth > kMaxMatchDepth) {
      return BadValue("exceeded maximum query tree depth of " + std::to_string(kMaxMatchDepth));
    }
    std::vector<NodePtr> children;
    for (const bson::Element& e : filter) {
      if (e.name.starts_with("$")) {
        AMALGAM_ASSIGN_OR_RETURN(NodePtr n, ParseTopLevel(e, depth));
        if (n) children.push_back(std::move(n));
      } else {
        AMALGAM_ASSIGN_OR_RETURN(NodePtr n, ParseField(MatchPath::Parse(e.name), e.value, depth));
        children.push_back(std::move(n));
      }
    }
    if (children.empty()) return MakeConst(true);
    return MakeAnd(std::move(children));
  }

 private:
  // Returns a null NodePtr for elements that match everything ($comment).
  Result<NodePtr> ParseTopLevel(const bson::Element& e, int depth) {
    std::string_view op = e.name;
    if (op == "$and" || op == "$or" || op == "$nor") {
      if (e.value.type() != BsonType::kArray) return BadValue(std::string(op) + " must be an array");
      if (e.value.AsDocument().empty()) return BadValue("$and/$or/$nor must be a nonempty array");
      std::vector<NodePtr> children;
      for (const bson::Element& c : e.value.AsDocument()) {
        if (c.value.type() != BsonType::kDocument) return BadValue("$or/$and/$nor entries need to be full objects");
        AMALGAM_ASSIGN_OR_RETURN(NodePtr child, ParseDocument(c.value.AsDocument(), depth + 1));
        children.push_back(std::move(child));
      }
      if (op == "$and") return MakeAnd(std::move(children));
      if (op == "$or") return MakeOr(std::move(children));
      return MakeNor(std::move(children));
    }
    if (op == "$expr") {
      AMALGAM_ASSIGN_OR_RETURN(std::unique_ptr<Expression> expr, Expression::Parse(e.value, expr_ctx_));
      *has_expr_ = true;
      return MakeExpr(std::move(expr));
    }
    if (op == "$comment") return NodePtr();
    if (op == "$alwaysTrue" || op == "$alwaysFalse") {
      if (!e.value.IsNumber() || e.value.NumberAsDouble() != 1) {
        return BadValue(std::string(op) + " must be an integer value of 1");
      }
      return MakeConst(op == "$alwaysTrue");
    }
    if (op == "$where") return BadValue("no globalScriptEngine in $where parsing");
    if (op == "$text" || op == "$jsonSchema" || op == "$sampleRate") return NotSupported(op);
    return BadValue("unknown top level operator: " + std::string(op) +
                    ". If you have a field name that starts with a '$' symbol, consider using $getField or "
                    "$setField.");
  }

  Result<NodePtr> ParseField(MatchPath path, const bson::Value& v, int depth) {
    if (v.type() == BsonType::kRegex) {
      bson::RegexValue rv = v.AsRegex();
      AMALGAM_ASSIGN_OR_RETURN(Regex r, Regex::Compile(rv.pattern, rv.options));
      return MakePath(std::move(path), MakeRegex(std::move(r)));
    }
    if (IsOperatorDocument(v)) return ParseOperators(path, v.AsDocument(), depth);
    AMALGAM_RETURN_IF_ERROR(CheckComparable(v));
    return MakePath(std::move(path), MakeCompare(CompareOp::kEq, v));
  }

  static Status CheckComparable(const bson::Value& v) {
    if (v.type() == BsonType::kUndefined) return BadValue("cannot compare to undefined");
    return Status::OK();
  }

  // Every operator of {$op: arg, ...} applied to `path`, ANDed. `path` is empty for the value
  // form of $elemMatch.
  Result<NodePtr> ParseOperators(const MatchPath& path, bson::DocView ops, int depth) {
    std::vector<NodePtr> children;
    bool regex_done = false;
    for (const bson::Element& e : ops) {
      if (e.name == "$regex" || e.name == "$options") {
        if (regex_done) continue;
        regex_done = true;
        AMALGAM_ASSIGN_OR_RETURN(NodePtr n, ParseRegexDocument(path, ops));
        children.push_back(std::move(n));
        continue;
      }
      AMALGAM_ASSIGN_OR_RETURN(NodePtr n, ParseOperator(path, e.name, e.value, depth));
      children.push_back(std::move(n));
    }
    return MakeAnd(std::move(children));
  }

  Result<NodePtr> ParseRegexDocument(const MatchPath& path, bson::DocView ops) {
    std::string_view pattern, options;
    bool have_regex = false, have_options = false;
    for (const bson::Element& e : ops) {
      if (e.name == "$regex") {
        have_regex = true;
        if (e.value.type() == BsonType::kString) {
          pattern = e.value.AsString();
        } else if (e.value.type() == BsonType::kRegex) {
          bson::RegexValue rv = e.value.AsRegex();
          pattern = rv.pattern;
          if (!rv.options.empty()) {
            if (have_options) return BadValue("options set in both $regex and $options");
            options = rv.options;
            have_options = true;
          }
        } else {
          return BadValue("$regex has to be a string");
        }
      } else if (e.name == "$options") {
        if (e.value.type() != BsonType::kString) return BadValue("$options has to be a string");
        if (have_options) return BadValue("options set in both $regex and $options");
        options = e.value.AsString();
        have_options = true;
      }
    }
    if (!have_regex) return BadValue("$options needs a $regex");
    AMALGAM_ASSIGN_OR_RETURN(Regex r, Regex::Compile(pattern, options));
    return MakePath(path, MakeRegex(std::move(r)));
  }

  Result<NodePtr> ParseOperator(const MatchPath& path, std::string_view op, const bson::Value& arg, int depth) {
    if (op == "$eq" || op == "$lt" || op == "$lte" || op == "$gt" || op == "$gte") {
      if (op != "$eq" && arg.type() == BsonType::kRegex) {
        return BadValue("Can't have RegEx as arg to predicate over field '" + path.dotted + "'.");
      }
      AMALGAM_RETURN_IF_ERROR(CheckComparable(arg));
      CompareOp cop = op == "$eq" ? CompareOp::kEq
                      : op == "$lt" ? CompareOp::kLt
                      : op == "$lte" ? CompareOp::kLte
                      : op == "$gt" ? CompareOp::kGt
                                    : CompareOp::kGte;
      return MakePath(path, MakeCompare(cop, arg));
    }
    if (op == "$ne") {
      if (arg.type() == BsonType::kRegex) return BadValue("Can't have regex as arg to $ne.");
      AMALGAM_RETURN_IF_ERROR(CheckComparable(arg));
      return MakeNot(MakePath(path, MakeCompare(CompareOp::kEq, arg)));
    }
    if (op == "$in" || op == "$nin") {
      AMALGAM_ASSIGN_OR_RETURN(PredPtr in, ParseIn(op, arg));
      NodePtr n = MakePath(path, std::move(in));
      return op == "$in" ? std::move(n) : MakeNot(std::move(n));
    }
    if (op == "$exists") {
      NodePtr n = MakePath(path, MakeExists());
      return TrueValue(arg) ? std::move(n) : MakeNot(std::move(n));
    }
    if (op == "$type") return ParseType(path, arg);
    if (op == "$size") return ParseSize(path, arg);
    if (op == "$mod") return ParseMod(path, arg);
    if (op == "$all") return ParseAll(path, arg, depth);
    if (op == "$elemMatch") return ParseElemMatch(path, arg, depth);
    if (op == "$not") return ParseNot(path, arg, depth);
    if (op == "$bitsAllSet") return ParseBits(path, op, BitsOp::kAllSet, arg);
    if (op == "$bitsAllClear") return ParseBits(path, op, BitsOp::kAllClear, arg);
    if (op == "$bitsAnySet") return ParseBits(path, op, BitsOp::kAnySet, arg);
    if (op == "$bitsAnyClear") return ParseBits(path, op, BitsOp::kAnyClear, arg);
    if (IsGeoOperator(op)) return NotSupported(op);
    return BadValue("unknown operator: " + std::string(op));
  }

  Result<PredPtr> ParseIn(std::string_view op, const bson::Value& arg) {
    if (arg.type() != BsonType::kArray) return BadValue(std::string(op) + " needs an array");
    std::vector<bson::Value> eq;
    std::vector<Regex> regexes;
    for (const bson::Element& e : arg.AsDocument()) {
      if (e.value.type() == BsonType::kRegex) {
        bson::RegexValue rv = e.value.AsRegex();
        AMALGAM_ASSIGN_OR_RETURN(Regex r, Regex::Compile(rv.pattern, rv.options));
        regexes.push_back(std::move(r));
        continue;
      }
      if (IsOperatorDocument(e.value)) return BadValue("cannot nest $ under " + std::string(op));
      if (e.value.type() == BsonType::kUndefined) return BadValue("InMatchExpression equality cannot be undefined");
      eq.push_back(e.value);
    }
    return MakeIn(std::move(eq), std::move(regexes));
  }

  Result<NodePtr> ParseType(const MatchPath& path, const bson::Value& arg) {
    std::vector<BsonType> types;
    bool number = false;
    auto add = [&](const bson::Value& t) -> Status {
      if (t.type() == BsonType::kString) {
        if (t.AsString() == "number") {
          number = true;
          return Status::OK();
        }
        BsonType bt;
        if (!bson::TypeFromAlias(t.AsString(), &bt)) {
          return BadValue("Unknown type name alias: " + std::string(t.AsString()));
        }
        types.push_back(bt);
        return Status::OK();
      }
      if (t.IsNumber()) {
        double d = t.NumberAsDouble();
        if (d == -1) {
          types.push_back(BsonType::kMinKey);
        } else if (d == 127) {
          types.push_back(BsonType::kMaxKey);
        } else if (d >= 1 && d <= 19 && d == std::floor(d)) {
          types.push_back(static_cast<BsonType>(static_cast<int>(d)));
        } else {
          return BadValue("Invalid numerical type code: " + Show(t));
        }
        return Status::OK();
      }
      return Status(ErrorCode::kTypeMismatch, "type must be represented as a number or a string");
    };
    if (arg.type() == BsonType::kArray) {
      if (arg.AsDocument().empty()) return BadValue(path.dotted + " must match at least one type");
      for (const bson::Element& e : arg.AsDocument()) AMALGAM_RETURN_IF_ERROR(add(e.value));
    } else {
      AMALGAM_RETURN_IF_ERROR(add(arg));
    }
    return MakePath(path, MakeType(std::move(types), number));
  }

  // MongoDB: int64 outside int32 -> "representable"; any other non-int32 value -> "whole number".
  Result<NodePtr> ParseSize(const MatchPath& path, const bson::Value& arg) {
    if (!arg.IsNumber()) return BadValue("$size needs a number");
    int64_t size = 0;
    if (arg.type() == BsonType::kInt32) {
      size = arg.AsInt32();
    } else if (arg.type() == BsonType::kInt64) {
      size = arg.AsInt64();
      if (size < INT32_MIN || size > INT32_MAX) return BadValue("$size must be representable as a 32-bit integer");
    } else {
      double d = arg.NumberAsDouble();
      if (!(d >= INT32_MIN && d <= INT32_MAX) || d != std::floor(d)) return BadValue("$size must be a whole number");
      size = static_cast<int64_t>(d);
    }
    if (size < 0) return BadValue("$size may not be negative");
    return MakePath(path, MakeSize(size));
  }

  static Result<int64_t> ModOperand(const bson::Value& v, std::string_view what) {
    if (v.type() == BsonType::kInt32) return static_cast<int64_t>(v.AsInt32());
    if (v.type() == BsonType::kInt64) return v.AsInt64();
    double d = v.type() == BsonType::kDouble ? v.AsDouble() : v.NumberAsDouble();
    if (!std::isfinite(d)) {
      return BadValue("malformed mod, " + std::string(what) + " value is invalid :: caused by :: Unable to coerce NaN/Inf to integral type");
    }
    d = std::trunc(d);
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
      return BadValue("malformed mod, " + std::string(what) + " value is invalid :: caused by :: Out of bounds coercing to integral value");
    }
    return static_cast<int64_t>(d);
  }

  Result<NodePtr> ParseMod(const MatchPath& path, const bson::Value& arg) {
    if (arg.type() != BsonType::kArray) return BadValue("malformed mod, needs to be an array");
    std::vector<bson::Value> items;
    for (const bson::Element& e : arg.AsDocument()) items.push_back(e.value);
    if (items.empty()) return BadValue("malformed mod, not enough elements");
    if (!items[0].IsNumber()) return BadValue("malformed mod, divisor not a number");
    if (items.size() < 2) return BadValue("malformed mod, not enough elements");
    if (!items[1].IsNumber()) return BadValue("malformed mod, remainder not a number");
    if (items.size() > 2) return BadValue("malformed mod, too many elements");
    AMALGAM_ASSIGN_OR_RETURN(int64_t divisor, ModOperand(items[0], "divisor"));
    AMALGAM_ASSIGN_OR_RETURN(int64_t remainder, ModOperand(items[1], "remainder"));
    if (divisor == 0) return BadValue("divisor cannot be 0");
    return MakePath(path, MakeMod(divisor, remainder));
  }

  Result<NodePtr> ParseAll(const MatchPath& path, const bson::Value& arg, int depth) {
    if (arg.type() != BsonType::kArray) return BadValue("$all needs an array");
    bson::DocView items = arg.AsDocument();
    if (items.empty()) return MakeConst(false);
    std::vector<NodePtr> children;
    bson::Value first = items.begin()->value;
    bool elem_match = first.type() == BsonType::kDocument && !first.AsDocument().empty() &&
                      first.AsDocument().begin()->name == "$elemMatch";
    for (const bson::Element& e : items) {
      if (elem_match) {
        if (e.value.type() != BsonType::kDocument || e.value.AsDocument().empty() ||
            e.value.AsDocument().begin()->name != "$elemMatch") {
          return BadValue("$all/$elemMatch has to be consistent");
        }
        AMALGAM_ASSIGN_OR_RETURN(NodePtr n, ParseOperators(path, e.value.AsDocument(), depth));
        children.push_back(std::move(n));
        continue;
      }
      if (e.value.type() == BsonType::kRegex) {
        bson::RegexValue rv = e.value.AsRegex();
        AMALGAM_ASSIGN_OR_RETURN(Regex r, Regex::Compile(rv.pattern, rv.options));
        children.push_back(MakePath(path, MakeRegex(std::move(r))));
        continue;
      }
      if (IsOperatorDocument(e.value)) return BadValue("no $ expressions in $all");
      AMALGAM_RETURN_IF_ERROR(CheckComparable(e.value));
      children.push_back(MakePath(path, MakeCompare(CompareOp::kEq, e.value)));
    }
    return MakeAnd(std::move(children));
  }

  Result<NodePtr> ParseElemMatch(const MatchPath& path, const bson::Value& arg, int depth) {
    if (arg.type() != BsonType::kDocument) return BadValue("$elemMatch needs an Object");
    if (depth + 1 > kMaxMatchDepth) {
      return BadValue("exceeded maximum query tree depth of " + std::to_string(kMaxMatchDepth));
    }
    bson::DocView sub = arg.AsDocument();
    bool value_form = IsOperatorDocument(arg) && !IsPathlessOperator(sub.begin()->name);
    if (value_form) {
      std::vector<NodePtr> children;
      MatchPath none;
      AMALGAM_ASSIGN_OR_RETURN(NodePtr n, ParseOperators(none, sub, depth + 1));
      children.push_back(std::move(n));
      return MakePath(path, MakeElemMatchValue(std::move(children)));
    }
    AMALGAM_ASSIGN_OR_RETURN(NodePtr n, ParseDocument(sub, depth + 1));
    return MakePath(path, MakeElemMatchObject(std::move(n)));
  }

  Result<NodePtr> ParseNot(const MatchPath& path, const bson::Value& arg, int depth) {
    if (depth + 1 > kMaxMatchDepth) {
      return BadValue("exceeded maximum query tree depth of " + std::to_string(kMaxMatchDepth));
    }
    if (arg.type() == BsonType::kRegex) {
      bson::RegexValue rv = arg.AsRegex();
      AMALGAM_ASSIGN_OR_RETURN(Regex r, Regex::Compile(rv.pattern, rv.options));
      return MakeNot(MakePath(path, MakeRegex(std::move(r))));
    }
    if (arg.type() != BsonType::kDocument) return BadValue("$not needs a regex or a document");
    if (arg.AsDocument().empty()) return BadValue("$not cannot be empty");
    AMALGAM_ASSIGN_OR_RETURN(NodePtr n, ParseOperators(path, arg.AsDocument(), depth + 1));
    return MakeNot(std::move(n));
  }

  // Bit positions from a number (its set bits), an array of positions, or BinData (its set bits).
  Result<NodePtr> ParseBits(const MatchPath& path, std::string_view op, BitsOp bop, const bson::Value& arg) {
    std::vector<uint32_t> positions;
    if (arg.type() == BsonType::kArray) {
      for (const bson::Element& e : arg.AsDocument()) {
        if (!e.value.IsNumber()) return BadValue("bit positions must be an integer but got: " + Show(e.value));
        bson::ExactNumber n = bson::ExactFromValue(e.value);
        int64_t p;
        if (!bson::ExactToInt64(n, &p)) return BadValue("bit positions must be an integer but got: " + Show(e.value));
        if (p < 0) return BadValue("bit positions cannot be negative but got: " + Show(e.value));
        if (p > INT32_MAX) return BadValue("bit positions cannot be represented as a 32-bit signed integer: " + Show(e.value));
        positions.push_back(static_cast<uint32_t>(p));
      }
    } else if (arg.IsNumber()) {
      int64_t mask;
      if (!bson::ExactToInt64(bson::ExactFromValue(arg), &mask)) {
        return Status(ErrorCode::kFailedToParse, "Expected an integer: " + std::string(op) + ": " + Show(arg));
      }
      if (mask < 0) {
        return Status(ErrorCode::kFailedToParse, "Expected a positive number in: " + std::string(op) + ": " + Show(arg));
      }
      for (uint32_t i = 0; i < 64; ++i) {
        if ((static_cast<uint64_t>(mask) >> i) & 1) positions.push_back(i);
      }
    } else if (arg.type() == BsonType::kBinary) {
      bson::Binary b = arg.AsBinary();
      for (size_t i = 0; i < b.data.size() * 8; ++i) {
        if ((b.data[i / 8] >> (i % 8)) & 1) positions.push_back(static_cast<uint32_t>(i));
      }
    } else {
      return BadValue(path.dotted + " takes an Array, a number, or a BinData but received: " + std::string(op) + ": " +
                      Show(arg));
    }
    return MakePath(path, MakeBits(bop, std::move(positions)));
  }

  const ExprParseContext& expr_ctx_;
  bool* has_expr_;
};

}  // namespace

Matcher::Matcher() = default;
Matcher::Matcher(const Matcher&) = default;
Matcher& Matcher::operator=(const Matcher&) = default;
Matcher::Matcher(Matcher&&) noexcept = default;
Matcher& Matcher::operator=(Matcher&&) noexcept = default;
Matcher::~Matcher() = default;

Result<Matcher> Matcher::Compile(bson::DocView filter, const MatchContext& ctx) {
  // The state lives on the heap and is never moved, so views into its documents stay valid.
  auto state = std::make_shared<State>();
  state->filter = bson::Document(filter);
  state->variables = bson::Document(ctx.variables);
  ExprParseContext expr_ctx{state->variables.view()};
  Parser parser(expr_ctx, &state->has_expr);
  AMALGAM_ASSIGN_OR_RETURN(state->root, parser.ParseDocument(state->filter.view(), 0));
  Matcher m;
  m.state_ = std::move(state);
  return m;
}

Result<bool> Matcher::Evaluate(bson::DocView doc, MatchDetails* details) const {
  if (details != nullptr) details->array_index.reset();
  Status error;
  EvalState st{details, &error};
  bool matched = state_->root->MatchesDoc(doc, st);
  if (!error.ok()) {
    if (details != nullptr) details->array_index.reset();
    return error;
  }
  if (!matched && details != nullptr) details->array_index.reset();
  return matched;
}

bool Matcher::Matches(bson::DocView doc, MatchDetails* details) const {
  Result<bool> r = Evaluate(doc, details);
  return r.ok() && r.value();
}

bool Matcher::has_expr() const { return state_->has_expr; }

}  // namespace amalgam::query
