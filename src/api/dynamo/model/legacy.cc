#include "api/dynamo/model/legacy.h"

#include "api/dynamo/model/rapidjson.h"

#include <set>

#include "api/dynamo/model/json.h"

namespace amalgam::dynamo {
namespace {

Status Invalid(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }
Status Params(std::string msg) {
  return Invalid("One or more parameter values were invalid: " + std::move(msg));
}
Status Shape(std::string msg) { return Status(ErrorCode::kFailedToParse, std::move(msg)); }

constexpr std::string_view kOperators[] = {"EQ", "NE", "LE", "LT", "GE", "GT", "NOT_NULL", "NULL",
                                           "CONTAINS", "NOT_CONTAINS", "BEGINS_WITH", "IN", "BETWEEN"};

std::string Str(const rapidjson::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

const rapidjson::Value* Member(const rapidjson::Value& obj, const char* name) {
  auto it = obj.FindMember(name);
  if (it == obj.MemberEnd() || it->value.IsNull()) return nullptr;
  return &it->value;
}

Status EnumError(std::string_view value, std::string where) {
  return Invalid("1 validation error detected: Value '" + std::string(value) + "' at '" + where +
                 "' failed to satisfy constraint: Member must satisfy enum value set: [IN, NULL, "
                 "BETWEEN, LT, NOT_CONTAINS, EQ, GT, NOT_NULL, NE, LE, BEGINS_WITH, GE, CONTAINS]");
}

Result<std::vector<AttributeValue>> ValueList(const rapidjson::Value* list) {
  std::vector<AttributeValue> out;
  if (!list) return out;
  if (!list->IsArray()) return Shape("Expected list or null");
  for (const auto& e : list->GetArray()) {
    AMALGAM_ASSIGN_OR_RETURN(AttributeValue v, ParseAttributeValue(e));
    out.push_back(std::move(v));
  }
  return out;
}

bool IsScalarOrdered(AttrType t) { return t == AttrType::kS || t == AttrType::kN || t == AttrType::kB; }

// One legacy condition on attribute `name` -> Condition.
Result<Condition> Comparison(const std::string& name, std::string_view op,
                             std::vector<AttributeValue> values) {
  auto count_error = [&] {
    return Params("Invalid number of argument(s) for the " + std::string(op) + " ComparisonOperator");
  };
  auto type_error = [&](const AttributeValue& v) {
    return Params("ComparisonOperator " + std::string(op) + " is not valid for " +
                  std::string(AttrTypeName(v.type)) + " AttributeValue type");
  };
  Condition c;
  Operand path = Operand::Path({PathElement::Name(name)});
  if (op == "NULL" || op == "NOT_NULL") {
    if (!values.empty()) return count_error();
    c.kind = op == "NULL" ? Condition::Kind::kNotExists : Condition::Kind::kExists;
    c.operands.push_back(std::move(path));
    return c;
  }
  if (op == "IN") {
    if (values.empty()) return count_error();
    for (const auto& v : values) {
      if (!IsScalarOrdered(v.type)) return type_error(v);
    }
    c.kind = Condition::Kind::kIn;
    c.operands.push_back(std::move(path));
    for (auto& v : values) c.operands.push_back(Operand::Value(std::move(v)));
    return c;
  }
  if (op == "BETWEEN") {
    if (values.size() != 2) return count_error();
    for (const auto& v : values) {
      if (!IsScalarOrdered(v.type)) return type_error(v);
    }
    if (values[0].type != values[1].type) {
      return Params("AttributeValues inside AttributeValueList must be of same type");
    }
    bool reversed = values[0].type == AttrType::kN ? CompareNumbers(values[0].scalar, values[1].scalar) > 0
                                                   : values[0].scalar > values[1].scalar;
    if (reversed) {
      return Invalid(
          "The BETWEEN condition was provided a range where the lower bound is greater than the "
          "upper bound");
    }
    c.kind = Condition::Kind::kBetween;
    c.operands.push_back(std::move(path));
    for (auto& v : values) c.operands.push_back(Operand::Value(std::move(v)));
    return c;
  }
  if (values.size() != 1) return count_error();
  AttributeValue& v = values[0];
  if (op == "EQ" || op == "NE") {
    c.kind = Condition::Kind::kCompare;
    c.op = op == "EQ" ? CompareOp::kEq : CompareOp::kNe;
  } else if (op == "LT" || op == "LE" || op == "GT" || op == "GE") {
    if (!IsScalarOrdered(v.type)) return type_error(v);
    c.kind = Condition::Kind::kCompare;
    c.op = op == "LT" ? CompareOp::kLt : op == "LE" ? CompareOp::kLe : op == "GT" ? CompareOp::kGt : CompareOp::kGe;
  } else if (op == "BEGINS_WITH") {
    if (v.type != AttrType::kS && v.type != AttrType::kB) return type_error(v);
    c.kind = Condition::Kind::kBeginsWith;
  } else {  // CONTAINS / NOT_CONTAINS
    if (!IsScalarOrdered(v.type)) return type_error(v);
    c.kind = Condition::Kind::kContains;
  }
  c.operands.push_back(std::move(path));
  c.operands.push_back(Operand::Value(std::move(v)));
  if (op == "NOT_CONTAINS") {
    // NOT_CONTAINS is false for a missing attribute: exists AND NOT contains.
    Condition exists;
    exists.kind = Condition::Kind::kExists;
    exists.operands.push_back(c.operands[0]);
    Condition neg;
    neg.kind = Condition::Kind::kNot;
    neg.children.push_back(std::move(c));
    Condition both;
    both.kind = Condition::Kind::kAnd;
    both.children.push_back(std::move(exists));
    both.children.push_back(std::move(neg));
    return both;
  }
  return c;
}

Result<Condition::Kind> Combiner(const rapidjson::Value* conditional_operator) {
  if (!conditional_operator) return Condition::Kind::kAnd;
  if (!conditional_operator->IsString()) return Shape("Unexpected value type in payload");
  std::string op = Str(*conditional_operator);
  if (op == "AND") return Condition::Kind::kAnd;
  if (op == "OR") return Condition::Kind::kOr;
  return Invalid("1 validation error detected: Value '" + op +
                 "' at 'conditionalOperator' failed to satisfy constraint: Member must satisfy enum "
                 "value set: [AND, OR]");
}

bool KnownOperator(std::string_view op) {
  for (std::string_view k : kOperators) {
    if (k == op) return true;
  }
  return false;
}

}  // namespace

Result<Condition> ConditionFromExpected(const rapidjson::Value& expected,
                                        const rapidjson::Value* conditional_operator) {
  if (!expected.IsObject()) return Shape("Expected map or null");
  AMALGAM_ASSIGN_OR_RETURN(Condition::Kind combine, Combiner(conditional_operator));
  Condition all;
  all.kind = combine;
  for (const auto& m : expected.GetObject()) {
    std::string name = Str(m.name);
    if (!m.value.IsObject()) return Shape("Expected map or null");
    const rapidjson::Value* op = Member(m.value, "ComparisonOperator");
    const rapidjson::Value* exists = Member(m.value, "Exists");
    const rapidjson::Value* value = Member(m.value, "Value");
    const rapidjson::Value* list = Member(m.value, "AttributeValueList");
    if (exists && !exists->IsBool()) return Shape("Unexpected value type in payload");
    if (op) {
      if (!op->IsString()) return Shape("Unexpected value type in payload");
      std::string ops = Str(*op);
      if (!KnownOperator(ops)) return EnumError(ops, "expected." + name + ".member.comparisonOperator");
      if (exists) {
        return Params("Exists and ComparisonOperator cannot be used together for Attribute: " + name);
      }
      if (value && list) {
        return Params("Value and AttributeValueList cannot be used together for Attribute: " + name);
      }
      std::vector<AttributeValue> values;
      if (value) {
        AMALGAM_ASSIGN_OR_RETURN(AttributeValue v, ParseAttributeValue(*value));
        values.push_back(std::move(v));
      } else {
        AMALGAM_ASSIGN_OR_RETURN(values, ValueList(list));
      }
      AMALGAM_ASSIGN_OR_RETURN(Condition c, Comparison(name, ops, std::move(values)));
      all.children.push_back(std::move(c));
      continue;
    }
    if (list) {
      return Params("AttributeValueList can only be used with a ComparisonOperator for Attribute: " + name);
    }
    bool must_exist = !exists || exists->GetBool();
    if (must_exist && !value) {
      return Params(std::string("Value must be provided when Exists is ") +
                    (exists ? "true" : "null") + " for Attribute: " + name);
    }
    if (!must_exist && value) {
      return Params("Value cannot be used when Exists is false for Attribute: " + name);
    }
    Condition c;
    c.operands.push_back(Operand::Path({PathElement::Name(name)}));
    if (must_exist) {
      AMALGAM_ASSIGN_OR_RETURN(AttributeValue v, ParseAttributeValue(*value));
      c.kind = Condition::Kind::kCompare;
      c.op = CompareOp::kEq;
      c.operands.push_back(Operand::Value(std::move(v)));
    } else {
      c.kind = Condition::Kind::kNotExists;
    }
    all.children.push_back(std::move(c));
  }
  return all;
}

Result<Condition> ConditionFromFilter(const rapidjson::Value& filter,
                                      const rapidjson::Value* conditional_operator,
                                      std::string_view param) {
  if (!filter.IsObject()) return Shape("Expected map or null");
  AMALGAM_ASSIGN_OR_RETURN(Condition::Kind combine, Combiner(conditional_operator));
  std::string where(param);
  where[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(where[0])));
  Condition all;
  all.kind = combine;
  for (const auto& m : filter.GetObject()) {
    std::string name = Str(m.name);
    if (!m.value.IsObject()) return Shape("Expected map or null");
    const rapidjson::Value* op = Member(m.value, "ComparisonOperator");
    if (!op) {
      return Invalid("1 validation error detected: Value null at '" + where + "." + name +
                     ".member.comparisonOperator' failed to satisfy constraint: Member must not be null");
    }
    if (!op->IsString()) return Shape("Unexpected value type in payload");
    std::string ops = Str(*op);
    if (!KnownOperator(ops)) return EnumError(ops, where + "." + name + ".member.comparisonOperator");
    AMALGAM_ASSIGN_OR_RETURN(std::vector<AttributeValue> values,
                             ValueList(Member(m.value, "AttributeValueList")));
    AMALGAM_ASSIGN_OR_RETURN(Condition c, Comparison(name, ops, std::move(values)));
    all.children.push_back(std::move(c));
  }
  return all;
}

Result<KeyCondition> KeyConditionFromLegacy(const rapidjson::Value& key_conditions,
                                            const KeySchema& schema) {
  if (!key_conditions.IsObject()) return Shape("Expected map or null");
  if (key_conditions.MemberCount() > 2 || key_conditions.MemberCount() == 0) {
    return Invalid("Conditions can be of length 1 or 2 only");
  }
  KeyCondition kc;
  bool have_hash = false;
  for (const auto& m : key_conditions.GetObject()) {
    std::string name = Str(m.name);
    if (!m.value.IsObject()) return Shape("Expected map or null");
    const rapidjson::Value* op = Member(m.value, "ComparisonOperator");
    if (!op) {
      return Invalid("1 validation error detected: Value null at 'keyConditions." + name +
                     ".member.comparisonOperator' failed to satisfy constraint: Member must not be null");
    }
    if (!op->IsString()) return Shape("Unexpected value type in payload");
    std::string ops = Str(*op);
    if (!KnownOperator(ops)) return EnumError(ops, "keyConditions." + name + ".member.comparisonOperator");
    AMALGAM_ASSIGN_OR_RETURN(std::vector<AttributeValue> values,
                             ValueList(Member(m.value, "AttributeValueList")));
    size_t want = ops == "BETWEEN" ? 2 : 1;
    if (ops == "NULL" || ops == "NOT_NULL") want = 0;
    if (values.size() != want) {
      return Params("Invalid number of argument(s) for the " + ops + " ComparisonOperator");
    }
    bool is_hash = name == schema.hash_name;
    bool is_range = schema.has_range() && name == *schema.range_name;
    if (!is_hash && !is_range) {
      return Invalid("Query condition missed key schema element: " +
                     (have_hash || !schema.has_range() ? (schema.has_range() ? *schema.range_name : schema.hash_name)
                                                       : schema.hash_name));
    }
    static const std::pair<std::string_view, KeyCondition::SortOp> kSortOps[] = {
        {"EQ", KeyCondition::SortOp::kEq},         {"LT", KeyCondition::SortOp::kLt},
        {"LE", KeyCondition::SortOp::kLe},         {"GT", KeyCondition::SortOp::kGt},
        {"GE", KeyCondition::SortOp::kGe},         {"BETWEEN", KeyCondition::SortOp::kBetween},
        {"BEGINS_WITH", KeyCondition::SortOp::kBeginsWith}};
    KeyCondition::SortOp sop = KeyCondition::SortOp::kNone;
    for (const auto& [k, v] : kSortOps) {
      if (k == ops) sop = v;
    }
    if (sop == KeyCondition::SortOp::kNone || (is_hash && sop != KeyCondition::SortOp::kEq)) {
      return Invalid("Attempted conditional constraint is not an indexable operation");
    }
    AttrType type = is_hash ? schema.hash_type : schema.range_type;
    for (const auto& v : values) {
      if (v.type != type) {
        return Params("Condition parameter type does not match schema type");
      }
    }
    if (sop == KeyCondition::SortOp::kBeginsWith && type == AttrType::kN) {
      return Params("ComparisonOperator BEGINS_WITH is not valid for N AttributeValue type");
    }
    if (is_hash) {
      kc.hash_value = std::move(values[0]);
      have_hash = true;
    } else {
      kc.sort_op = sop;
      kc.sort_value = std::move(values[0]);
      if (values.size() > 1) kc.sort_value2 = std::move(values[1]);
    }
  }
  if (!have_hash) return Invalid("Query condition missed key schema element: " + schema.hash_name);
  return kc;
}

Result<Update> UpdateFromAttributeUpdates(const rapidjson::Value& attribute_updates) {
  if (!attribute_updates.IsObject()) return Shape("Expected map or null");
  Update u;
  for (const auto& m : attribute_updates.GetObject()) {
    std::string name = Str(m.name);
    if (!m.value.IsObject()) return Shape("Expected map or null");
    const rapidjson::Value* action = Member(m.value, "Action");
    const rapidjson::Value* value = Member(m.value, "Value");
    std::string act = "PUT";
    if (action) {
      if (!action->IsString()) return Shape("Unexpected value type in payload");
      act = Str(*action);
      if (act != "PUT" && act != "ADD" && act != "DELETE") {
        return Invalid("1 validation error detected: Value '" + act + "' at 'attributeUpdates." + name +
                       ".member.action' failed to satisfy constraint: Member must satisfy enum value "
                       "set: [ADD, PUT, DELETE]");
      }
    }
    UpdateAction a;
    a.path = {PathElement::Name(name)};
    if (!value) {
      if (act != "DELETE") {
        return Params("Only DELETE action is allowed when no attribute value is specified");
      }
      a.kind = UpdateAction::Kind::kRemove;
      u.actions.push_back(std::move(a));
      continue;
    }
    AMALGAM_ASSIGN_OR_RETURN(AttributeValue v, ParseAttributeValue(*value));
    if (act == "PUT") {
      a.kind = UpdateAction::Kind::kSet;
      a.operand.kind = UpdateOperand::Kind::kValue;
      a.operand.value = std::move(v);
    } else if (act == "DELETE") {
      if (!v.is_set()) {
        return Params("DELETE action with value is not supported for the type " +
                      std::string(AttrTypeName(v.type)));
      }
      a.kind = UpdateAction::Kind::kDelete;
      a.operand.kind = UpdateOperand::Kind::kValue;
      a.operand.value = std::move(v);
    } else if (v.type == AttrType::kL) {
      // ADD of a list appends to the existing list (or creates it).
      a.kind = UpdateAction::Kind::kSet;
      UpdateOperand existing;
      existing.kind = UpdateOperand::Kind::kIfNotExists;
      UpdateOperand path_op;
      path_op.kind = UpdateOperand::Kind::kPath;
      path_op.path = a.path;
      UpdateOperand empty;
      empty.kind = UpdateOperand::Kind::kValue;
      empty.value = AttributeValue::L({});
      existing.args.push_back(std::move(path_op));
      existing.args.push_back(std::move(empty));
      UpdateOperand added;
      added.kind = UpdateOperand::Kind::kValue;
      added.value = std::move(v);
      a.operand.kind = UpdateOperand::Kind::kListAppend;
      a.operand.args.push_back(std::move(existing));
      a.operand.args.push_back(std::move(added));
    } else {
      if (v.type != AttrType::kN && !v.is_set()) {
        return Params("ADD action is not supported for the type " + std::string(AttrTypeName(v.type)));
      }
      a.kind = UpdateAction::Kind::kAdd;
      a.operand.kind = UpdateOperand::Kind::kValue;
      a.operand.value = std::move(v);
    }
    u.actions.push_back(std::move(a));
  }
  return u;
}

Result<std::vector<DocumentPath>> ProjectionFromAttributesToGet(const rapidjson::Value& attributes_to_get) {
  if (!attributes_to_get.IsArray()) {
    return Shape(attributes_to_get.IsObject() ? "Start of structure or map found where not expected."
                                              : "Expected list or null");
  }
  if (attributes_to_get.Empty()) {
    return Invalid("1 validation error detected: Value '[]' at 'attributesToGet' failed to satisfy "
                   "constraint: Member must have length greater than or equal to 1");
  }
  std::vector<DocumentPath> out;
  std::set<std::string> seen;
  for (const auto& e : attributes_to_get.GetArray()) {
    if (!e.IsString()) return Shape("Unexpected value type in payload");
    std::string name = Str(e);
    if (!seen.insert(name).second) return Params("Duplicate value in attribute name: " + name);
    out.push_back({PathElement::Name(std::move(name))});
  }
  return out;
}

Status CheckNoMixedParameters(const std::vector<std::string_view>& legacy_present,
                              const std::vector<std::string_view>& expression_present) {
  if (legacy_present.empty() || expression_present.empty()) return Status::OK();
  auto join = [](const std::vector<std::string_view>& v) {
    std::string out = "{";
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out += ", ";
      out += v[i];
    }
    return out + "}";
  };
  return Invalid(
      "Can not use both expression and non-expression parameters in the same request: "
      "Non-expression parameters: " +
      join(legacy_present) + " Expression parameters: " + join(expression_present));
}

Status CheckExpressionAttributesAllowed(const ExpressionAttributes& attrs, bool any_expression,
                                        bool any_value_expression) {
  if (attrs.names_given() && !any_expression) {
    return Invalid("ExpressionAttributeNames can only be specified when using expressions");
  }
  if (attrs.values_given() && !any_value_expression) {
    return Invalid("ExpressionAttributeValues can only be specified when using expressions");
  }
  return Status::OK();
}

}  // namespace amalgam::dynamo
