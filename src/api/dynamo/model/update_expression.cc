#include "api/dynamo/model/update_expression.h"

#include <algorithm>
#include <unordered_set>

#include "api/dynamo/model/expression_parser.h"

namespace amalgam::dynamo {
namespace {

using internal::ParserBase;
using internal::Token;

Status Invalid(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }
Status WrongType() { return Invalid("An operand in the update expression has an incorrect data type"); }
Status InvalidPath() {
  return Invalid("The document path provided in the update expression is invalid for update");
}

class UpdateParser : public ParserBase {
 public:
  using ParserBase::ParserBase;

  Result<Update> Parse() {
    AMALGAM_RETURN_IF_ERROR(CheckText());
    Update u;
    std::set<std::string> seen;
    while (!At(Token::Kind::kEof)) {
      UpdateAction::Kind kind;
      std::string section;
      if (AtKeyword("SET")) {
        kind = UpdateAction::Kind::kSet, section = "SET";
      } else if (AtKeyword("REMOVE")) {
        kind = UpdateAction::Kind::kRemove, section = "REMOVE";
      } else if (AtKeyword("ADD")) {
        kind = UpdateAction::Kind::kAdd, section = "ADD";
      } else if (AtKeyword("DELETE")) {
        kind = UpdateAction::Kind::kDelete, section = "DELETE";
      } else {
        return SyntaxError();
      }
      Next();
      if (!seen.insert(section).second) {
        return Error("The \"" + section + "\" section can only be used once in an update expression;");
      }
      while (true) {
        AMALGAM_ASSIGN_OR_RETURN(UpdateAction a, ParseAction(kind, section));
        u.actions.push_back(std::move(a));
        if (!At(Token::Kind::kComma)) break;
        Next();
      }
    }
    std::vector<DocumentPath> paths = UpdatedPaths(u);
    AMALGAM_RETURN_IF_ERROR(CheckPathsDisjoint(ExpressionKind::kUpdate, paths));
    return u;
  }

 private:
  Result<UpdateAction> ParseAction(UpdateAction::Kind kind, const std::string& section) {
    UpdateAction a;
    a.kind = kind;
    AMALGAM_ASSIGN_OR_RETURN(a.path, ParsePath());
    switch (kind) {
      case UpdateAction::Kind::kSet: {
        AMALGAM_RETURN_IF_ERROR(Expect(Token::Kind::kEq));
        AMALGAM_ASSIGN_OR_RETURN(a.operand, ParseSetValue());
        break;
      }
      case UpdateAction::Kind::kRemove:
        break;
      case UpdateAction::Kind::kAdd:
      case UpdateAction::Kind::kDelete: {
        if (!At(Token::Kind::kValueRef)) return SyntaxError();
        AMALGAM_ASSIGN_OR_RETURN(a.operand.value, ParseValueRef());
        a.operand.kind = UpdateOperand::Kind::kValue;
        AttrType t = a.operand.value.type;
        bool ok = kind == UpdateAction::Kind::kAdd ? (t == AttrType::kN || IsSetType(t)) : IsSetType(t);
        if (!ok) {
          return Error("Incorrect operand type for operator or function; operator: " + section +
                       ", operand type: " + std::string(internal::LongTypeName(t)));
        }
        break;
      }
    }
    return a;
  }

  Result<UpdateOperand> ParseSetValue() {
    AMALGAM_ASSIGN_OR_RETURN(UpdateOperand lhs, ParseTerm());
    if (!At(Token::Kind::kPlus) && !At(Token::Kind::kMinus)) return lhs;
    bool plus = At(Token::Kind::kPlus);
    Next();
    AMALGAM_RETURN_IF_ERROR(CountOperator());
    AMALGAM_ASSIGN_OR_RETURN(UpdateOperand rhs, ParseTerm());
    for (const UpdateOperand* o : {&lhs, &rhs}) {
      if (o->kind == UpdateOperand::Kind::kValue && o->value.type != AttrType::kN) {
        return Error(std::string("Incorrect operand type for operator or function; operator or function: ") +
                     (plus ? "+" : "-") + ", operand type: " + std::string(AttrTypeName(o->value.type)));
      }
    }
    UpdateOperand r;
    r.kind = plus ? UpdateOperand::Kind::kPlus : UpdateOperand::Kind::kMinus;
    r.args.push_back(std::move(lhs));
    r.args.push_back(std::move(rhs));
    return r;
  }

  Result<UpdateOperand> ParseTerm() {
    UpdateOperand o;
    if (At(Token::Kind::kValueRef)) {
      o.kind = UpdateOperand::Kind::kValue;
      AMALGAM_ASSIGN_OR_RETURN(o.value, ParseValueRef());
      return o;
    }
    if (At(Token::Kind::kName) && Peek(1).kind == Token::Kind::kLParen) {
      std::string fn(Next().text);
      if (fn == "if_not_exists") {
        o.kind = UpdateOperand::Kind::kIfNotExists;
      } else if (fn == "list_append") {
        o.kind = UpdateOperand::Kind::kListAppend;
      } else if (fn == "size" || fn == "attribute_exists" || fn == "attribute_not_exists" ||
                 fn == "attribute_type" || fn == "begins_with" || fn == "contains") {
        return Error("The function is not allowed in an update expression; function: " + fn);
      } else {
        return Error("Invalid function name; function: " + fn);
      }
      Next();  // '('
      AMALGAM_RETURN_IF_ERROR(CountOperator());
      AMALGAM_RETURN_IF_ERROR(Enter());
      Status s = ParseArgs(fn, &o);
      Leave();
      AMALGAM_RETURN_IF_ERROR(s);
      return o;
    }
    o.kind = UpdateOperand::Kind::kPath;
    AMALGAM_ASSIGN_OR_RETURN(o.path, ParsePath());
    return o;
  }

  Status ParseArgs(const std::string& fn, UpdateOperand* o) {
    while (true) {
      AMALGAM_ASSIGN_OR_RETURN(UpdateOperand arg, ParseTerm());
      o->args.push_back(std::move(arg));
      if (!At(Token::Kind::kComma)) break;
      Next();
    }
    AMALGAM_RETURN_IF_ERROR(Expect(Token::Kind::kRParen));
    if (o->args.size() != 2) {
      return Error("Incorrect number of operands for operator or function; operator or function: " +
                   fn + ", number of operands: " + std::to_string(o->args.size()));
    }
    if (o->kind == UpdateOperand::Kind::kIfNotExists && o->args[0].kind != UpdateOperand::Kind::kPath) {
      return Error("Operator or function requires a document path; operator or function: " + fn);
    }
    if (o->kind == UpdateOperand::Kind::kListAppend) {
      for (const auto& a : o->args) {
        if (a.kind == UpdateOperand::Kind::kValue && a.value.type != AttrType::kL) {
          return Error("Incorrect operand type for operator or function; operator or function: " + fn +
                       ", operand type: " + std::string(AttrTypeName(a.value.type)));
        }
      }
    }
    return Status::OK();
  }
};

Result<AttributeValue> Evaluate(const UpdateOperand& o, const Item& item) {
  switch (o.kind) {
    case UpdateOperand::Kind::kValue:
      return o.value;
    case UpdateOperand::Kind::kPath: {
      const AttributeValue* v = FindPath(item, o.path);
      if (!v) return Invalid("The provided expression refers to an attribute that does not exist in the item");
      return *v;
    }
    case UpdateOperand::Kind::kIfNotExists: {
      const AttributeValue* v = FindPath(item, o.args[0].path);
      if (v) return *v;
      return Evaluate(o.args[1], item);
    }
    case UpdateOperand::Kind::kListAppend: {
      AMALGAM_ASSIGN_OR_RETURN(AttributeValue a, Evaluate(o.args[0], item));
      AMALGAM_ASSIGN_OR_RETURN(AttributeValue b, Evaluate(o.args[1], item));
      if (a.type != AttrType::kL || b.type != AttrType::kL) return WrongType();
      for (auto& e : b.list) a.list.push_back(std::move(e));
      return a;
    }
    case UpdateOperand::Kind::kPlus:
    case UpdateOperand::Kind::kMinus: {
      AMALGAM_ASSIGN_OR_RETURN(AttributeValue a, Evaluate(o.args[0], item));
      AMALGAM_ASSIGN_OR_RETURN(AttributeValue b, Evaluate(o.args[1], item));
      if (a.type != AttrType::kN || b.type != AttrType::kN) return WrongType();
      Result<std::string> r = o.kind == UpdateOperand::Kind::kPlus ? AddNumbers(a.scalar, b.scalar)
                                                                   : SubtractNumbers(a.scalar, b.scalar);
      if (!r.ok()) return r.status();
      return AttributeValue::N(std::move(r).value());
    }
  }
  return WrongType();
}

// The value at path[0..len) in `item`, or nullptr.
AttributeValue* FindMutable(Item& item, const DocumentPath& path, size_t len) {
  auto it = item.find(path[0].name);
  if (it == item.end()) return nullptr;
  AttributeValue* cur = &it->second;
  for (size_t i = 1; i < len; ++i) {
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

Status Assign(Item& item, const DocumentPath& path, AttributeValue v) {
  if (path.size() == 1) {
    item.insert_or_assign(path[0].name, std::move(v));
    return Status::OK();
  }
  AttributeValue* parent = FindMutable(item, path, path.size() - 1);
  const PathElement& last = path.back();
  if (!parent) return InvalidPath();
  if (last.is_index) {
    if (parent->type != AttrType::kL) return InvalidPath();
    if (last.index < parent->list.size()) {
      parent->list[last.index] = std::move(v);
    } else {
      parent->list.push_back(std::move(v));
    }
    return Status::OK();
  }
  if (parent->type != AttrType::kM) return InvalidPath();
  parent->map.insert_or_assign(last.name, std::move(v));
  return Status::OK();
}

void Remove(Item& item, const DocumentPath& path) {
  if (path.size() == 1) {
    item.erase(path[0].name);
    return;
  }
  AttributeValue* parent = FindMutable(item, path, path.size() - 1);
  if (!parent) return;
  const PathElement& last = path.back();
  if (last.is_index) {
    if (parent->type == AttrType::kL && last.index < parent->list.size()) {
      parent->list.erase(parent->list.begin() + last.index);
    }
  } else if (parent->type == AttrType::kM) {
    parent->map.erase(last.name);
  }
}

Status AddTo(Item& item, const DocumentPath& path, const AttributeValue& v) {
  AttributeValue* cur = FindMutable(item, path, path.size());
  if (!cur) return Assign(item, path, v);
  if (v.type == AttrType::kN) {
    if (cur->type != AttrType::kN) return WrongType();
    AMALGAM_ASSIGN_OR_RETURN(std::string sum, AddNumbers(cur->scalar, v.scalar));
    cur->scalar = std::move(sum);
    return Status::OK();
  }
  if (cur->type != v.type) return WrongType();
  // Sets can hold many thousands of members: hash, never scan per member.
  std::unordered_set<std::string> present(cur->members.begin(), cur->members.end());
  for (const auto& m : v.members) {
    if (present.insert(m).second) cur->members.push_back(m);
  }
  return Status::OK();
}

Status DeleteFrom(Item& item, const DocumentPath& path, const AttributeValue& v) {
  AttributeValue* cur = FindMutable(item, path, path.size());
  if (!cur) return Status::OK();
  if (cur->type != v.type) return WrongType();
  std::unordered_set<std::string_view> removed(v.members.begin(), v.members.end());
  std::vector<std::string> kept;
  for (auto& m : cur->members) {
    if (!removed.count(m)) kept.push_back(std::move(m));
  }
  if (kept.empty()) {
    Remove(item, path);
  } else {
    cur->members = std::move(kept);
  }
  return Status::OK();
}

// A total order in which later positions of one list come first, so removing one element does
// not shift the others still to be removed.
bool RemoveOrder(const DocumentPath& a, const DocumentPath& b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i].is_index != b[i].is_index) return !a[i].is_index;
    if (a[i].is_index) return a[i].index > b[i].index;
    return a[i].name < b[i].name;
  }
  return a.size() < b.size();
}

}  // namespace

Result<Update> ParseUpdate(std::string_view text, ExpressionAttributes& attrs) {
  UpdateParser p(text, ExpressionKind::kUpdate, attrs);
  return p.Parse();
}

Status CheckKeyNotUpdated(const Update& update, const KeySchema& schema) {
  for (const auto& a : update.actions) {
    if (schema.IsKeyAttribute(a.path[0].name)) {
      return Invalid("One or more parameter values were invalid: Cannot update attribute " +
                     a.path[0].name + ". This attribute is part of the key");
    }
  }
  return Status::OK();
}

Status ApplyUpdate(const Update& update, Item* item) {
  std::vector<AttributeValue> new_values;
  for (const auto& a : update.actions) {
    if (a.kind != UpdateAction::Kind::kSet) continue;
    AMALGAM_ASSIGN_OR_RETURN(AttributeValue v, Evaluate(a.operand, *item));
    new_values.push_back(std::move(v));
  }
  Item work = *item;
  size_t next_value = 0;
  std::vector<const DocumentPath*> removes;
  for (const auto& a : update.actions) {
    switch (a.kind) {
      case UpdateAction::Kind::kSet:
        AMALGAM_RETURN_IF_ERROR(Assign(work, a.path, std::move(new_values[next_value++])));
        break;
      case UpdateAction::Kind::kRemove:
        removes.push_back(&a.path);
        break;
      case UpdateAction::Kind::kAdd:
        AMALGAM_RETURN_IF_ERROR(AddTo(work, a.path, a.operand.value));
        break;
      case UpdateAction::Kind::kDelete:
        AMALGAM_RETURN_IF_ERROR(DeleteFrom(work, a.path, a.operand.value));
        break;
    }
  }
  std::stable_sort(removes.begin(), removes.end(),
                   [](const DocumentPath* a, const DocumentPath* b) { return RemoveOrder(*a, *b); });
  for (const DocumentPath* p : removes) Remove(work, *p);
  *item = std::move(work);
  return Status::OK();
}

std::vector<DocumentPath> UpdatedPaths(const Update& update) {
  std::vector<DocumentPath> out;
  out.reserve(update.actions.size());
  for (const auto& a : update.actions) out.push_back(a.path);
  return out;
}

std::set<std::string> UpdatedAttributes(const Update& update) {
  std::set<std::string> out;
  for (const auto& a : update.actions) out.insert(a.path[0].name);
  return out;
}

}  // namespace amalgam::dynamo
