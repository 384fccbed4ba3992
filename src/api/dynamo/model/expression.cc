#include "api/dynamo/model/expression.h"

#include "api/dynamo/model/rapidjson.h"

#include <algorithm>

#include "api/dynamo/model/expression_parser.h"
#include "api/dynamo/model/json.h"

namespace amalgam::dynamo {
namespace {

using internal::ParserBase;
using internal::Token;

Status Invalid(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }

bool ValidPlaceholder(std::string_view key, char lead) {
  if (key.size() < 2 || key[0] != lead) return false;
  for (size_t i = 1; i < key.size(); ++i) {
    char c = key[i];
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

std::string JoinKeys(const std::vector<std::string>& keys) {
  std::string out = "{";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i) out += ", ";
    out += keys[i];
  }
  return out + "}";
}

// DynamoDB's short rendering of a value in messages: {N:5}, {S:abc}.
std::string ValueForMessage(const AttributeValue& v) {
  std::string body;
  switch (v.type) {
    case AttrType::kS:
    case AttrType::kN:
      body = v.scalar;
      break;
    default:
      body = AttributeValueToJson(v);
      break;
  }
  return "{" + std::string(AttrTypeName(v.type)) + ":" + body + "}";
}

bool IsOrderedType(AttrType t) { return t == AttrType::kS || t == AttrType::kN || t == AttrType::kB; }

// <0, 0, >0; REQUIRES: same ordered type.
int CompareScalars(const AttributeValue& a, const AttributeValue& b) {
  if (a.type == AttrType::kN) return CompareNumbers(a.scalar, b.scalar);
  // S compares by UTF-8 bytes, B by unsigned bytes: both are memcmp order.
  int c = std::string_view(a.scalar).compare(b.scalar);
  return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

class ConditionParser : public ParserBase {
 public:
  using ParserBase::ParserBase;

  Result<Condition> Parse() {
    AMALGAM_RETURN_IF_ERROR(CheckText());
    ComputeParenMatches();
    AMALGAM_ASSIGN_OR_RETURN(Condition c, ParseOr());
    if (!At(Token::Kind::kEof)) return SyntaxError();
    return c;
  }

 private:
  void ComputeParenMatches() {
    match_.assign(tokens_.size(), SIZE_MAX);
    std::vector<size_t> stack;
    for (size_t i = 0; i < tokens_.size(); ++i) {
      if (tokens_[i].kind == Token::Kind::kLParen) {
        stack.push_back(i);
      } else if (tokens_[i].kind == Token::Kind::kRParen && !stack.empty()) {
        match_[stack.back()] = i;
        stack.pop_back();
      }
    }
  }

  Result<Condition> ParseOr() {
    AMALGAM_ASSIGN_OR_RETURN(Condition first, ParseAnd());
    if (!AtKeyword("OR")) return first;
    Condition c;
    c.kind = Condition::Kind::kOr;
    c.children.push_back(std::move(first));
    while (AcceptKeyword("OR")) {
      AMALGAM_RETURN_IF_ERROR(CountOperator());
      AMALGAM_ASSIGN_OR_RETURN(Condition next, ParseAnd());
      c.children.push_back(std::move(next));
    }
    return c;
  }

  Result<Condition> ParseAnd() {
    AMALGAM_ASSIGN_OR_RETURN(Condition first, ParseNot());
    if (!AtKeyword("AND")) return first;
    Condition c;
    c.kind = Condition::Kind::kAnd;
    c.children.push_back(std::move(first));
    while (AcceptKeyword("AND")) {
      AMALGAM_RETURN_IF_ERROR(CountOperator());
      AMALGAM_ASSIGN_OR_RETURN(Condition next, ParseNot());
      c.children.push_back(std::move(next));
    }
    return c;
  }

  Result<Condition> ParseNot() {
    if (!AtKeyword("NOT")) return ParsePrimary();
    Next();
    AMALGAM_RETURN_IF_ERROR(CountOperator());
    AMALGAM_RETURN_IF_ERROR(Enter());
    Result<Condition> inner = ParseNot();
    Leave();
    if (!inner.ok()) return inner.status();
    Condition c;
    c.kind = Condition::Kind::kNot;
    c.children.push_back(std::move(inner).value());
    return c;
  }

  Result<Condition> ParsePrimary() {
    if (At(Token::Kind::kLParen)) {
      size_t open = pos_;
      if (tokens_[open + 1].kind == Token::Kind::kLParen && match_[open] != SIZE_MAX &&
          match_[open + 1] != SIZE_MAX && match_[open + 1] + 1 == match_[open]) {
        return Error("The expression has redundant parentheses;");
      }
      Next();
      AMALGAM_RETURN_IF_ERROR(Enter());
      Result<Condition> inner = ParseOr();
      Leave();
      if (!inner.ok()) return inner.status();
      AMALGAM_RETURN_IF_ERROR(Expect(Token::Kind::kRParen));
      return inner;
    }
    if (At(Token::Kind::kName) && Peek(1).kind == Token::Kind::kLParen && Peek().text != "size") {
      return ParseFunctionCondition();
    }
    AMALGAM_ASSIGN_OR_RETURN(Operand lhs, ParseOperand());
    Condition c;
    c.operands.push_back(std::move(lhs));
    if (AcceptKeyword("BETWEEN")) {
      AMALGAM_RETURN_IF_ERROR(CountOperator());
      c.kind = Condition::Kind::kBetween;
      AMALGAM_ASSIGN_OR_RETURN(Operand lo, ParseOperand());
      if (!AcceptKeyword("AND")) return SyntaxError();
      AMALGAM_ASSIGN_OR_RETURN(Operand hi, ParseOperand());
      c.operands.push_back(std::move(lo));
      c.operands.push_back(std::move(hi));
      AMALGAM_RETURN_IF_ERROR(CheckOrderedOperands("BETWEEN", c.operands));
      const Operand& l = c.operands[1];
      const Operand& h = c.operands[2];
      if (l.kind == Operand::Kind::kValue && h.kind == Operand::Kind::kValue &&
          l.value.type == h.value.type && CompareScalars(l.value, h.value) > 0) {
        return Error(
            "The BETWEEN operator requires upper bound to be greater than or equal to lower "
            "bound; lower bound operand: AttributeValue: " +
            ValueForMessage(l.value) + ", upper bound operand: AttributeValue: " + ValueForMessage(h.value));
      }
      return c;
    }
    if (AcceptKeyword("IN")) {
      AMALGAM_RETURN_IF_ERROR(CountOperator());
      c.kind = Condition::Kind::kIn;
      AMALGAM_RETURN_IF_ERROR(Expect(Token::Kind::kLParen));
      while (true) {
        AMALGAM_ASSIGN_OR_RETURN(Operand o, ParseOperand());
        c.operands.push_back(std::move(o));
        if (At(Token::Kind::kComma)) {
          Next();
          continue;
        }
        break;
      }
      AMALGAM_RETURN_IF_ERROR(Expect(Token::Kind::kRParen));
      if (c.operands.size() - 1 > kMaxInOperands) {
        return Error("The IN operator is provided with too many operands; number of operands: " +
                     std::to_string(c.operands.size() - 1));
      }
      return c;
    }
    CompareOp op;
    switch (Peek().kind) {
      case Token::Kind::kEq: op = CompareOp::kEq; break;
      case Token::Kind::kNe: op = CompareOp::kNe; break;
      case Token::Kind::kLt: op = CompareOp::kLt; break;
      case Token::Kind::kLe: op = CompareOp::kLe; break;
      case Token::Kind::kGt: op = CompareOp::kGt; break;
      case Token::Kind::kGe: op = CompareOp::kGe; break;
      default: return SyntaxError();
    }
    Next();
    AMALGAM_RETURN_IF_ERROR(CountOperator());
    AMALGAM_ASSIGN_OR_RETURN(Operand rhs, ParseOperand());
    c.kind = Condition::Kind::kCompare;
    c.op = op;
    c.operands.push_back(std::move(rhs));
    if (op != CompareOp::kEq && op != CompareOp::kNe) {
      AMALGAM_RETURN_IF_ERROR(CheckOrderedOperands(CompareOpText(op), c.operands));
    }
    return c;
  }

  Status CheckOrderedOperands(std::string_view op, const std::vector<Operand>& operands) {
    for (const Operand& o : operands) {
      if (o.kind == Operand::Kind::kValue && !IsOrderedType(o.value.type)) {
        return Error("Incorrect operand type for operator or function; operator or function: " +
                     std::string(op) + ", operand type: " + std::string(AttrTypeName(o.value.type)));
      }
    }
    return Status::OK();
  }

  Result<std::vector<Operand>> ParseArguments(std::string_view fn) {
    AMALGAM_RETURN_IF_ERROR(Expect(Token::Kind::kLParen));
    AMALGAM_RETURN_IF_ERROR(Enter());
    std::vector<Operand> args;
    while (true) {
      Result<Operand> o = ParseOperand();
      if (!o.ok()) {
        Leave();
        return o.status();
      }
      args.push_back(std::move(o).value());
      if (At(Token::Kind::kComma)) {
        Next();
        continue;
      }
      break;
    }
    Leave();
    AMALGAM_RETURN_IF_ERROR(Expect(Token::Kind::kRParen));
    return args;
  }

  Status OperandCount(std::string_view fn, size_t got, size_t want) {
    if (got == want) return Status::OK();
    return Error("Incorrect number of operands for operator or function; operator or function: " +
                 std::string(fn) + ", number of operands: " + std::to_string(got));
  }

  Status RequirePath(std::string_view fn, const Operand& o) {
    if (o.kind == Operand::Kind::kPath) return Status::OK();
    return Error("Operator or function requires a document path; operator or function: " +
                 std::string(fn));
  }

  Result<Condition> ParseFunctionCondition() {
    std::string fn(Next().text);
    AMALGAM_RETURN_IF_ERROR(CountOperator());
    Condition c;
    if (fn == "attribute_exists") {
      c.kind = Condition::Kind::kExists;
    } else if (fn == "attribute_not_exists") {
      c.kind = Condition::Kind::kNotExists;
    } else if (fn == "attribute_type") {
      c.kind = Condition::Kind::kType;
    } else if (fn == "begins_with") {
      c.kind = Condition::Kind::kBeginsWith;
    } else if (fn == "contains") {
      c.kind = Condition::Kind::kContains;
    } else if (fn == "if_not_exists" || fn == "list_append") {
      return Error("The function is not allowed to be used this way in an expression; function: " + fn);
    } else {
      return Error("Invalid function name; function: " + fn);
    }
    AMALGAM_ASSIGN_OR_RETURN(c.operands, ParseArguments(fn));
    bool one = c.kind == Condition::Kind::kExists || c.kind == Condition::Kind::kNotExists;
    AMALGAM_RETURN_IF_ERROR(OperandCount(fn, c.operands.size(), one ? 1 : 2));
    switch (c.kind) {
      case Condition::Kind::kExists:
      case Condition::Kind::kNotExists:
        AMALGAM_RETURN_IF_ERROR(RequirePath(fn, c.operands[0]));
        break;
      case Condition::Kind::kType: {
        AMALGAM_RETURN_IF_ERROR(RequirePath(fn, c.operands[0]));
        const Operand& t = c.operands[1];
        if (t.kind == Operand::Kind::kValue) {
          AttrType parsed;
          if (t.value.type != AttrType::kS) {
            return Error("Incorrect operand type for operator or function; operator or function: " +
                         fn + ", operand type: " + std::string(AttrTypeName(t.value.type)));
          }
          if (!AttrTypeFromName(t.value.scalar, &parsed)) {
            return Error("Invalid attribute type name found; type: " + t.value.scalar +
                         ", valid types: { B,NULL,SS,BOOL,L,BS,N,NS,S,M }");
          }
        }
        break;
      }
      case Condition::Kind::kBeginsWith:
        for (const Operand& o : c.operands) {
          if (o.kind == Operand::Kind::kValue && o.value.type != AttrType::kS &&
              o.value.type != AttrType::kB) {
            return Error("Incorrect operand type for operator or function; operator or function: " +
                         fn + ", operand type: " + std::string(AttrTypeName(o.value.type)));
          }
        }
        break;
      default:
        break;
    }
    // A condition function cannot be an operand of a comparison.
    switch (Peek().kind) {
      case Token::Kind::kEq: case Token::Kind::kNe: case Token::Kind::kLt:
      case Token::Kind::kLe: case Token::Kind::kGt: case Token::Kind::kGe:
        return Error("The function is not allowed to be used this way in an expression; function: " + fn);
      default:
        break;
    }
    if (AtKeyword("BETWEEN") || AtKeyword("IN")) {
      return Error("The function is not allowed to be used this way in an expression; function: " + fn);
    }
    return c;
  }

  Result<Operand> ParseOperand() {
    if (At(Token::Kind::kValueRef)) {
      AMALGAM_ASSIGN_OR_RETURN(AttributeValue v, ParseValueRef());
      return Operand::Value(std::move(v));
    }
    if (At(Token::Kind::kName) && Peek(1).kind == Token::Kind::kLParen) {
      std::string fn(Peek().text);
      if (fn != "size") {
        if (fn == "attribute_exists" || fn == "attribute_not_exists" || fn == "attribute_type" ||
            fn == "begins_with" || fn == "contains" || fn == "if_not_exists" || fn == "list_append") {
          return Error("The function is not allowed to be used this way in an expression; function: " + fn);
        }
        return Error("Invalid function name; function: " + fn);
      }
      Next();
      AMALGAM_RETURN_IF_ERROR(CountOperator());
      AMALGAM_ASSIGN_OR_RETURN(std::vector<Operand> args, ParseArguments(fn));
      AMALGAM_RETURN_IF_ERROR(OperandCount(fn, args.size(), 1));
      AMALGAM_RETURN_IF_ERROR(RequirePath(fn, args[0]));
      Operand o;
      o.kind = Operand::Kind::kSize;
      o.path = std::move(args[0].path);
      return o;
    }
    AMALGAM_ASSIGN_OR_RETURN(DocumentPath p, ParsePath());
    return Operand::Path(std::move(p));
  }

  std::vector<size_t> match_;
};

// The value of an operand in `item`; nullptr when missing. `tmp` holds computed values.
const AttributeValue* Resolve(const Operand& o, const Item& item, AttributeValue* tmp) {
  switch (o.kind) {
    case Operand::Kind::kValue:
      return &o.value;
    case Operand::Kind::kPath:
      return FindPath(item, o.path);
    case Operand::Kind::kSize: {
      const AttributeValue* v = FindPath(item, o.path);
      if (!v) return nullptr;
      size_t n;
      switch (v->type) {
        case AttrType::kS:
        case AttrType::kB: n = v->scalar.size(); break;
        case AttrType::kSS:
        case AttrType::kNS:
        case AttrType::kBS: n = v->members.size(); break;
        case AttrType::kL: n = v->list.size(); break;
        case AttrType::kM: n = v->map.size(); break;
        default: return nullptr;
      }
      *tmp = AttributeValue::N(std::to_string(n));
      return tmp;
    }
  }
  return nullptr;
}

bool Contains(const AttributeValue& haystack, const AttributeValue& needle) {
  switch (haystack.type) {
    case AttrType::kS:
    case AttrType::kB:
      return needle.type == haystack.type &&
             haystack.scalar.find(needle.scalar) != std::string::npos;
    case AttrType::kSS:
    case AttrType::kNS:
    case AttrType::kBS:
      if (needle.type != SetElementType(haystack.type)) return false;
      if (needle.type == AttrType::kN) {
        for (const auto& m : haystack.members) {
          if (CompareNumbers(m, needle.scalar) == 0) return true;
        }
        return false;
      }
      return std::find(haystack.members.begin(), haystack.members.end(), needle.scalar) !=
             haystack.members.end();
    case AttrType::kL:
      for (const auto& e : haystack.list) {
        if (e == needle) return true;
      }
      return false;
    default:
      return false;
  }
}

struct ProjNode {
  bool whole = false;
  std::map<std::string, ProjNode, std::less<>> fields;
  std::map<uint32_t, ProjNode> indexes;
};

std::optional<AttributeValue> Project(const AttributeValue& v, const ProjNode& n) {
  if (n.whole) return v;
  if (v.type == AttrType::kM && !n.fields.empty()) {
    AttributeMap out;
    for (const auto& [k, child] : n.fields) {
      auto it = v.map.find(k);
      if (it == v.map.end()) continue;
      std::optional<AttributeValue> p = Project(it->second, child);
      if (p) out.emplace(k, std::move(*p));
    }
    if (out.empty()) return std::nullopt;
    return AttributeValue::M(std::move(out));
  }
  if (v.type == AttrType::kL && !n.indexes.empty()) {
    AttributeList out;
    for (const auto& [i, child] : n.indexes) {
      if (i >= v.list.size()) continue;
      std::optional<AttributeValue> p = Project(v.list[i], child);
      if (p) out.push_back(std::move(*p));
    }
    if (out.empty()) return std::nullopt;
    return AttributeValue::L(std::move(out));
  }
  return std::nullopt;
}

}  // namespace

std::string_view ExpressionKindName(ExpressionKind kind) {
  switch (kind) {
    case ExpressionKind::kCondition: return "ConditionExpression";
    case ExpressionKind::kFilter: return "FilterExpression";
    case ExpressionKind::kKeyCondition: return "KeyConditionExpression";
    case ExpressionKind::kUpdate: return "UpdateExpression";
    case ExpressionKind::kProjection: return "ProjectionExpression";
  }
  return "";
}

std::string_view CompareOpText(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return "=";
    case CompareOp::kNe: return "<>";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
  }
  return "";
}

ExpressionAttributes::ExpressionAttributes(std::map<std::string, std::string, std::less<>> names,
                                           Item values, bool names_given, bool values_given)
    : names_(std::move(names)),
      values_(std::move(values)),
      names_given_(names_given),
      values_given_(values_given) {}

Result<ExpressionAttributes> ExpressionAttributes::FromJson(const rapidjson::Value* names,
                                                            const rapidjson::Value* values) {
  std::map<std::string, std::string, std::less<>> n;
  Item v;
  bool names_given = names && !names->IsNull();
  bool values_given = values && !values->IsNull();
  if (names_given) {
    if (!names->IsObject()) {
      return Status(ErrorCode::kFailedToParse,
                    names->IsArray() ? "Start of list found where not expected" : "Expected map or null");
    }
    if (names->MemberCount() == 0) return Invalid("ExpressionAttributeNames must not be empty");
    for (const auto& m : names->GetObject()) {
      std::string key(m.name.GetString(), m.name.GetStringLength());
      if (!m.value.IsString()) {
        return Status(ErrorCode::kFailedToParse, m.value.IsObject()
                                                     ? "Start of structure or map found where not expected."
                                                     : "Unexpected value type in payload");
      }
      if (!ValidPlaceholder(key, '#')) {
        return Invalid("ExpressionAttributeNames contains invalid key: Syntax error; key: \"" + key + "\"");
      }
      if (m.value.GetStringLength() == 0) {
        return Invalid("ExpressionAttributeNames contains invalid value: Empty attribute name for key " + key);
      }
      n[key] = std::string(m.value.GetString(), m.value.GetStringLength());
    }
  }
  if (values_given) {
    if (!values->IsObject()) {
      return Status(ErrorCode::kFailedToParse,
                    values->IsArray() ? "Start of list found where not expected" : "Expected map or null");
    }
    if (values->MemberCount() == 0) return Invalid("ExpressionAttributeValues must not be empty");
    for (const auto& m : values->GetObject()) {
      std::string key(m.name.GetString(), m.name.GetStringLength());
      if (!ValidPlaceholder(key, ':')) {
        return Invalid("ExpressionAttributeValues contains invalid key: Syntax error; key: \"" + key + "\"");
      }
      Result<AttributeValue> av = ParseAttributeValue(m.value);
      if (!av.ok()) {
        if (av.status().code() != ErrorCode::kBadValue) return av.status();
        return Invalid("ExpressionAttributeValues contains invalid value: " +
                       std::string(av.status().message()) + " for key " + key);
      }
      v[key] = std::move(av).value();
    }
  }
  return ExpressionAttributes(std::move(n), std::move(v), names_given, values_given);
}

const std::string* ExpressionAttributes::Name(std::string_view placeholder) {
  auto it = names_.find(placeholder);
  if (it == names_.end()) return nullptr;
  used_names_.insert(it->first);
  return &it->second;
}

const AttributeValue* ExpressionAttributes::Value(std::string_view placeholder) {
  auto it = values_.find(placeholder);
  if (it == values_.end()) return nullptr;
  used_values_.insert(it->first);
  return &it->second;
}

Status ExpressionAttributes::CheckAllUsed() const {
  std::vector<std::string> unused;
  for (const auto& [k, v] : names_) {
    if (!used_names_.count(k)) unused.push_back(k);
  }
  if (!unused.empty()) {
    return Invalid("Value provided in ExpressionAttributeNames unused in expressions: keys: " +
                   JoinKeys(unused));
  }
  for (const auto& [k, v] : values_) {
    if (!used_values_.count(k)) unused.push_back(k);
  }
  if (!unused.empty()) {
    return Invalid("Value provided in ExpressionAttributeValues unused in expressions: keys: " +
                   JoinKeys(unused));
  }
  return Status::OK();
}

std::string PathToString(const DocumentPath& path) {
  std::string out = "[";
  for (size_t i = 0; i < path.size(); ++i) {
    if (i) out += ", ";
    if (path[i].is_index) {
      out += "[" + std::to_string(path[i].index) + "]";
    } else {
      out += path[i].name;
    }
  }
  return out + "]";
}

const AttributeValue* FindPath(const Item& item, const DocumentPath& path) {
  if (path.empty() || path[0].is_index) return nullptr;
  auto it = item.find(path[0].name);
  if (it == item.end()) return nullptr;
  const AttributeValue* cur = &it->second;
  for (size_t i = 1; i < path.size(); ++i) {
    const PathElement& e = path[i];
    if (e.is_index) {
      if (cur->type != AttrType::kL || e.index >= cur->list.size()) return nullptr;
      cur = &cur->list[e.index];
    } else {
      if (cur->type != AttrType::kM) return nullptr;
      auto mit = cur->map.find(e.name);
      if (mit == cur->map.end()) return nullptr;
      cur = &mit->second;
    }
  }
  return cur;
}

Status CheckPathsDisjoint(ExpressionKind kind, const std::vector<DocumentPath>& paths) {
  for (size_t i = 0; i < paths.size(); ++i) {
    for (size_t j = i + 1; j < paths.size(); ++j) {
      const DocumentPath& a = paths[i];
      const DocumentPath& b = paths[j];
      size_t n = std::min(a.size(), b.size());
      size_t k = 0;
      while (k < n && a[k] == b[k]) ++k;
      std::string what;
      if (k == n) {
        what = "overlap";
      } else if (a[k].is_index != b[k].is_index) {
        what = "conflict";
      } else {
        continue;
      }
      return Invalid("Invalid " + std::string(ExpressionKindName(kind)) + ": Two document paths " +
                     what + " with each other; must remove or rewrite one of these paths; path one: " +
                     PathToString(a) + ", path two: " + PathToString(b));
    }
  }
  return Status::OK();
}

Result<Condition> ParseCondition(std::string_view text, ExpressionKind kind,
                                 ExpressionAttributes& attrs) {
  ConditionParser p(text, kind, attrs);
  return p.Parse();
}

bool EvaluateCondition(const Condition& c, const Item& item) {
  using K = Condition::Kind;
  switch (c.kind) {
    case K::kAnd:
      for (const auto& ch : c.children) {
        if (!EvaluateCondition(ch, item)) return false;
      }
      return true;
    case K::kOr:
      for (const auto& ch : c.children) {
        if (EvaluateCondition(ch, item)) return true;
      }
      return false;
    case K::kNot:
      return !EvaluateCondition(c.children[0], item);
    case K::kExists:
      return FindPath(item, c.operands[0].path) != nullptr;
    case K::kNotExists:
      return FindPath(item, c.operands[0].path) == nullptr;
    default:
      break;
  }
  AttributeValue t0, t1, t2;
  const AttributeValue* a = Resolve(c.operands[0], item, &t0);
  switch (c.kind) {
    case K::kCompare: {
      const AttributeValue* b = Resolve(c.operands[1], item, &t1);
      if (c.op == CompareOp::kNe) return !a || !b || *a != *b;
      if (!a || !b) return false;
      if (c.op == CompareOp::kEq) return *a == *b;
      if (a->type != b->type || !IsOrderedType(a->type)) return false;
      int r = CompareScalars(*a, *b);
      switch (c.op) {
        case CompareOp::kLt: return r < 0;
        case CompareOp::kLe: return r <= 0;
        case CompareOp::kGt: return r > 0;
        default: return r >= 0;
      }
    }
    case K::kBetween: {
      const AttributeValue* lo = Resolve(c.operands[1], item, &t1);
      const AttributeValue* hi = Resolve(c.operands[2], item, &t2);
      if (!a || !lo || !hi || !IsOrderedType(a->type) || lo->type != a->type || hi->type != a->type) {
        return false;
      }
      return CompareScalars(*lo, *a) <= 0 && CompareScalars(*a, *hi) <= 0;
    }
    case K::kIn: {
      if (!a) return false;
      for (size_t i = 1; i < c.operands.size(); ++i) {
        const AttributeValue* b = Resolve(c.operands[i], item, &t1);
        if (b && *a == *b) return true;
      }
      return false;
    }
    case K::kType: {
      const AttributeValue* b = Resolve(c.operands[1], item, &t1);
      return a && b && b->type == AttrType::kS && AttrTypeName(a->type) == b->scalar;
    }
    case K::kBeginsWith: {
      const AttributeValue* b = Resolve(c.operands[1], item, &t1);
      if (!a || !b || a->type != b->type || (a->type != AttrType::kS && a->type != AttrType::kB)) {
        return false;
      }
      return a->scalar.compare(0, b->scalar.size(), b->scalar) == 0 && a->scalar.size() >= b->scalar.size();
    }
    case K::kContains: {
      const AttributeValue* b = Resolve(c.operands[1], item, &t1);
      return a && b && Contains(*a, *b);
    }
    default:
      return false;
  }
}

void CollectConditionAttributes(const Condition& c, std::set<std::string>* out) {
  for (const auto& o : c.operands) {
    if (o.kind != Operand::Kind::kValue && !o.path.empty()) out->insert(o.path[0].name);
  }
  for (const auto& ch : c.children) CollectConditionAttributes(ch, out);
}

Result<std::vector<DocumentPath>> ParseProjection(std::string_view text, ExpressionAttributes& attrs) {
  ParserBase p(text, ExpressionKind::kProjection, attrs);
  AMALGAM_RETURN_IF_ERROR(p.CheckText());
  std::vector<DocumentPath> paths;
  while (true) {
    AMALGAM_ASSIGN_OR_RETURN(DocumentPath path, p.ParsePath());
    paths.push_back(std::move(path));
    if (p.At(Token::Kind::kComma)) {
      p.Next();
      continue;
    }
    break;
  }
  if (!p.At(Token::Kind::kEof)) return p.SyntaxError();
  AMALGAM_RETURN_IF_ERROR(CheckPathsDisjoint(ExpressionKind::kProjection, paths));
  return paths;
}

Item ApplyProjection(const Item& item, const std::vector<DocumentPath>& paths) {
  ProjNode root;
  for (const DocumentPath& p : paths) {
    if (p.empty()) continue;
    ProjNode* n = &root;
    for (const PathElement& e : p) {
      if (n->whole) break;
      n = e.is_index ? &n->indexes[e.index] : &n->fields[e.name];
    }
    n->whole = true;
    n->fields.clear();
    n->indexes.clear();
  }
  Item out;
  for (const auto& [name, child] : root.fields) {
    auto it = item.find(name);
    if (it == item.end()) continue;
    std::optional<AttributeValue> v = Project(it->second, child);
    if (v) out.emplace(name, std::move(*v));
  }
  return out;
}

}  // namespace amalgam::dynamo
