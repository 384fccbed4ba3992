#include "api/dynamo/model/key_condition.h"

namespace amalgam::dynamo {
namespace {

Status Invalid(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }
Status NotSupported() { return Invalid("Query key condition not supported"); }
Status BadOperator(std::string_view op) {
  return Invalid("Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: " +
                 std::string(op));
}

struct Leaf {
  std::string name;
  KeyCondition::SortOp op;
  AttributeValue v1, v2;
};

CompareOp Flip(CompareOp op) {
  switch (op) {
    case CompareOp::kLt: return CompareOp::kGt;
    case CompareOp::kLe: return CompareOp::kGe;
    case CompareOp::kGt: return CompareOp::kLt;
    case CompareOp::kGe: return CompareOp::kLe;
    default: return op;
  }
}

Result<std::string> KeyName(const Operand& o) {
  if (o.kind == Operand::Kind::kSize) return BadOperator("size");
  if (o.kind != Operand::Kind::kPath || o.path.size() != 1) return NotSupported();
  return o.path[0].name;
}

Result<Leaf> ToLeaf(const Condition& c) {
  using K = Condition::Kind;
  Leaf leaf;
  switch (c.kind) {
    case K::kOr: return BadOperator("OR");
    case K::kNot: return BadOperator("NOT");
    case K::kIn: return BadOperator("IN");
    case K::kExists: return BadOperator("attribute_exists");
    case K::kNotExists: return BadOperator("attribute_not_exists");
    case K::kType: return BadOperator("attribute_type");
    case K::kContains: return BadOperator("contains");
    case K::kAnd: return NotSupported();
    case K::kCompare: {
      if (c.op == CompareOp::kNe) return BadOperator("<>");
      const Operand* path = &c.operands[0];
      const Operand* value = &c.operands[1];
      CompareOp op = c.op;
      if (path->kind == Operand::Kind::kValue) {
        std::swap(path, value);
        op = Flip(op);
      }
      if (value->kind != Operand::Kind::kValue) return NotSupported();
      AMALGAM_ASSIGN_OR_RETURN(leaf.name, KeyName(*path));
      static const KeyCondition::SortOp kOps[] = {
          KeyCondition::SortOp::kEq, KeyCondition::SortOp::kNone, KeyCondition::SortOp::kLt,
          KeyCondition::SortOp::kLe, KeyCondition::SortOp::kGt, KeyCondition::SortOp::kGe};
      leaf.op = kOps[static_cast<int>(op)];
      leaf.v1 = value->value;
      return leaf;
    }
    case K::kBetween: {
      if (c.operands[1].kind != Operand::Kind::kValue || c.operands[2].kind != Operand::Kind::kValue) {
        return NotSupported();
      }
      AMALGAM_ASSIGN_OR_RETURN(leaf.name, KeyName(c.operands[0]));
      leaf.op = KeyCondition::SortOp::kBetween;
      leaf.v1 = c.operands[1].value;
      leaf.v2 = c.operands[2].value;
      return leaf;
    }
    case K::kBeginsWith: {
      if (c.operands[1].kind != Operand::Kind::kValue) return NotSupported();
      AMALGAM_ASSIGN_OR_RETURN(leaf.name, KeyName(c.operands[0]));
      leaf.op = KeyCondition::SortOp::kBeginsWith;
      leaf.v1 = c.operands[1].value;
      return leaf;
    }
  }
  return NotSupported();
}

bool CompareOk(const AttributeValue& a, const AttributeValue& b, int* out) {
  if (a.type != b.type) return false;
  if (a.type == AttrType::kN) {
    *out = CompareNumbers(a.scalar, b.scalar);
  } else {
    int c = a.scalar.compare(b.scalar);
    *out = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  return true;
}

}  // namespace

Result<KeyCondition> ParseKeyCondition(std::string_view text, const KeySchema& schema,
                                       ExpressionAttributes& attrs) {
  AMALGAM_ASSIGN_OR_RETURN(Condition c, ParseCondition(text, ExpressionKind::kKeyCondition, attrs));
  return KeyConditionFromCondition(c, schema);
}

Result<KeyCondition> KeyConditionFromCondition(const Condition& c, const KeySchema& schema) {
  std::vector<const Condition*> parts;
  if (c.kind == Condition::Kind::kAnd) {
    for (const auto& ch : c.children) parts.push_back(&ch);
  } else {
    parts.push_back(&c);
  }
  KeyCondition kc;
  bool have_hash = false, have_range = false;
  const size_t key_count = schema.has_range() ? 2 : 1;
  for (const Condition* part : parts) {
    AMALGAM_ASSIGN_OR_RETURN(Leaf leaf, ToLeaf(*part));
    bool is_hash = leaf.name == schema.hash_name;
    bool is_range = schema.has_range() && leaf.name == *schema.range_name;
    if (!is_hash && !is_range) {
      if (parts.size() > key_count) {
        return Invalid("The number of query conditions (" + std::to_string(parts.size()) +
                       ") exceeds the number of key attributes defined in the schema (" +
                       std::to_string(key_count) + ")");
      }
      if (schema.has_range() && have_hash && !have_range) {
        return Invalid("Query condition missed key schema element: " + *schema.range_name);
      }
      if (!have_hash) return Invalid("Query condition missed key schema element: " + schema.hash_name);
      return NotSupported();
    }
    if ((is_hash && have_hash) || (is_range && have_range)) {
      return Invalid(
          "Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition "
          "per key");
    }
    // (begins_with with an N operand failed when parsing; one of another type than the key's is
    // the schema mismatch below, as in DynamoDB.)
    AttrType want = is_hash ? schema.hash_type : schema.range_type;
    if (leaf.v1.type != want ||
        (leaf.op == KeyCondition::SortOp::kBetween && leaf.v2.type != want)) {
      return Invalid("One or more parameter values were invalid: Condition parameter type does not match schema type");
    }
    if (is_hash) {
      if (leaf.op != KeyCondition::SortOp::kEq) return NotSupported();
      kc.hash_value = std::move(leaf.v1);
      have_hash = true;
    } else {
      kc.sort_op = leaf.op;
      kc.sort_value = std::move(leaf.v1);
      kc.sort_value2 = std::move(leaf.v2);
      have_range = true;
    }
  }
  if (!have_hash) return Invalid("Query condition missed key schema element: " + schema.hash_name);
  return kc;
}

bool MatchesKeyCondition(const KeyCondition& kc, const KeySchema& schema, const Item& item) {
  auto h = item.find(schema.hash_name);
  if (h == item.end() || h->second != kc.hash_value) return false;
  if (kc.sort_op == KeyCondition::SortOp::kNone) return true;
  if (!schema.has_range()) return false;
  auto r = item.find(*schema.range_name);
  if (r == item.end()) return false;
  const AttributeValue& v = r->second;
  int c = 0, c2 = 0;
  switch (kc.sort_op) {
    case KeyCondition::SortOp::kEq: return CompareOk(v, kc.sort_value, &c) && c == 0;
    case KeyCondition::SortOp::kLt: return CompareOk(v, kc.sort_value, &c) && c < 0;
    case KeyCondition::SortOp::kLe: return CompareOk(v, kc.sort_value, &c) && c <= 0;
    case KeyCondition::SortOp::kGt: return CompareOk(v, kc.sort_value, &c) && c > 0;
    case KeyCondition::SortOp::kGe: return CompareOk(v, kc.sort_value, &c) && c >= 0;
    case KeyCondition::SortOp::kBetween:
      return CompareOk(v, kc.sort_value, &c) && CompareOk(v, kc.sort_value2, &c2) && c >= 0 && c2 <= 0;
    case KeyCondition::SortOp::kBeginsWith:
      return v.type == kc.sort_value.type && v.scalar.compare(0, kc.sort_value.scalar.size(), kc.sort_value.scalar) == 0 &&
             v.scalar.size() >= kc.sort_value.scalar.size();
    case KeyCondition::SortOp::kNone: return true;
  }
  return false;
}

}  // namespace amalgam::dynamo
