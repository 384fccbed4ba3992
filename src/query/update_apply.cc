// Applying one compiled operator at one concrete path of the document tree.

#include <algorithm>
#include <cmath>
#include <string>

#include "bson/compare.h"
#include "bson/field_path.h"
#include "query/update_internal.h"

namespace amalgam::query::update_internal {

using bson::BsonType;
using bson::Value;

namespace {

// MongoDB refuses to pad an array with more than this many nulls.
constexpr size_t kMaxPadding = 1500000;

Status Bad(std::string msg) { return Status(ErrorCode::kBadValue, std::move(msg)); }

template <typename F>
Value Make(Arena& arena, F append) {
  bson::Builder b;
  append(b);
  return arena.Keep(std::move(b).Finish());
}

Value MakeArray(Arena& arena, const std::vector<Value>& elems) {
  return Make(arena, [&](bson::Builder& b) {
    b.StartArray("");
    bson::ArrayBuilder ab(b);
    for (const Value& v : elems) b.AppendValue(ab.Next(), v);
    b.EndArray();
  });
}

// The elements of an array node (serializing it first if it was expanded).
std::vector<Value> Elements(const MNode& n, Arena& arena) {
  Value v = n.leaf;
  if (n.expanded) v = arena.Keep(n.ToHolder());
  std::vector<Value> out;
  for (const bson::Element& e : v.AsDocument()) out.push_back(e.value);
  return out;
}


Value CurrentValue(const MNode& n, Arena& arena) {
  if (!n.expanded) return n.leaf;
  return arena.Keep(n.ToHolder());
}

struct Walk {
  MNode* parent = nullptr;
  MNode* node = nullptr;     // deepest existing node along the path
  size_t found = 0;          // number of parts that exist
  std::string name;          // field name of `node` ("" for the root)
};

Walk WalkPath(MNode* root, const std::vector<std::string>& parts) {
  Walk w;
  w.node = root;
  while (w.found < parts.size()) {
    MNode* c = w.node->Child(parts[w.found]);
    if (c == nullptr) break;
    w.parent = w.node;
    w.node = c;
    w.name = parts[w.found];
    ++w.found;
  }
  return w;
}

// Creates parts[w.found..] below w.node and places `leaf` at the end.
Status CreatePath(const Walk& w, const std::vector<std::string>& parts, std::unique_ptr<MNode> leaf) {
  MNode* cur = w.node;
  size_t index;
  if (!cur->IsContainer() ||
      (cur->type() == BsonType::kArray && !bson::IsArrayIndex(parts[w.found], &index))) {
    Arena a;
    return Status(ErrorCode::kPathNotViable, "Cannot create field '" + parts[w.found] +
                                                 "' in element {" +
                                                 ElementString(w.name, CurrentValue(*cur, a)) + "}");
  }
  cur->Expand();
  for (size_t j = w.found; j < parts.size(); ++j) {
    bool last = j + 1 == parts.size();
    std::unique_ptr<MNode> child = last ? std::move(leaf) : NewContainer(false);
    MNode* next = child.get();
    if (cur->is_array) {
      bson::IsArrayIndex(parts[j], &index);
      if (index > cur->fields.size() + kMaxPadding) {
        return Bad("can't backfill array to larger than 1500000 elements");
      }
      while (cur->fields.size() < index) cur->fields.push_back({std::string(), NewNull()});
      cur->fields.push_back({std::string(), std::move(child)});
    } else {
      cur->fields.push_back({parts[j], std::move(child)});
    }
    cur = next;
  }
  return Status::OK();
}

void RemoveChild(MNode* parent, MNode* child) {
  for (size_t i = 0; i < parent->fields.size(); ++i) {
    if (parent->fields[i].node.get() != child) continue;
    if (parent->is_array) {
      parent->fields[i].node = NewNull();
    } else {
      parent->fields.erase(parent->fields.begin() + static_cast<ptrdiff_t>(i));
    }
    return;
  }
}

std::unique_ptr<MNode> DetachChild(MNode* parent, MNode* child) {
  for (size_t i = 0; i < parent->fields.size(); ++i) {
    if (parent->fields[i].node.get() != child) continue;
    std::unique_ptr<MNode> out = std::move(parent->fields[i].node);
    parent->fields.erase(parent->fields.begin() + static_cast<ptrdiff_t>(i));
    return out;
  }
  return nullptr;
}

std::string SafeNumString(const Value& v) {
  switch (v.type()) {
    case BsonType::kInt32: return "(NumberInt)" + std::to_string(v.AsInt32());
    case BsonType::kInt64: return "(NumberLong)" + std::to_string(v.AsInt64());
    default: return "(NumberDouble)" + ElementString("", v).substr(2);
  }
}

Result<Value> Arithmetic(const Op& op, const Value& cur, const Value& arg, ApplyEnv& env) {
  bool inc = op.kind == OpKind::kInc;
  if (cur.type() == BsonType::kDecimal128 || arg.type() == BsonType::kDecimal128) {
    return Status(ErrorCode::kNotImplemented, "decimal arithmetic in " + std::string(OpName(op.kind)) +
                                                  " is not supported yet");
  }
  if (cur.type() == BsonType::kDouble || arg.type() == BsonType::kDouble) {
    double a = cur.NumberAsDouble(), b = arg.NumberAsDouble();
    double r = inc ? a + b : a * b;
    return Make(*env.arena, [&](bson::Builder& bb) { bb.AppendDouble("", r); });
  }
  int64_t a = cur.type() == BsonType::kInt32 ? cur.AsInt32() : cur.AsInt64();
  int64_t b = arg.type() == BsonType::kInt32 ? arg.AsInt32() : arg.AsInt64();
  int64_t r;
  bool overflow = inc ? __builtin_add_overflow(a, b, &r) : __builtin_mul_overflow(a, b, &r);
  if (overflow) {
    return Bad("Failed to apply " + std::string(OpName(op.kind)) +
               " operations to current value (" + SafeNumString(cur) + ") for document " +
               IdString(env.original));
  }
  if (cur.type() == BsonType::kInt32 && arg.type() == BsonType::kInt32 && r >= INT32_MIN &&
      r <= INT32_MAX) {
    return Make(*env.arena, [&](bson::Builder& bb) { bb.AppendInt32("", static_cast<int32_t>(r)); });
  }
  return Make(*env.arena, [&](bson::Builder& bb) { bb.AppendInt64("", r); });
}

Value BitResult(const Op& op, int64_t start, bool is64, Arena& arena) {
  int64_t v = start;
  for (const BitOp& b : op.bits) {
    is64 = is64 || b.is64;
    if (b.op == 'a') v &= b.value;
    if (b.op == 'o') v |= b.value;
    if (b.op == 'x') v ^= b.value;
    if (!is64) v = static_cast<int32_t>(v);
  }
  return Make(arena, [&](bson::Builder& bb) {
    if (is64) {
      bb.AppendInt64("", v);
    } else {
      bb.AppendInt32("", static_cast<int32_t>(v));
    }
  });
}

Value SortKey(const Value& elem, std::string_view field) {
  if (elem.type() != BsonType::kDocument) return Value(BsonType::kNull, nullptr, 0);
  auto path = bson::FieldPath::Parse(field);
  if (!path.ok()) return Value(BsonType::kNull, nullptr, 0);
  Value v = bson::GetPath(elem.AsDocument(), *path);
  return v.missing() ? Value(BsonType::kNull, nullptr, 0) : v;
}

void SortElements(const Op& op, std::vector<Value>* elems) {
  if (op.sort_dir != 0) {
    std::stable_sort(elems->begin(), elems->end(), [&](const Value& a, const Value& b) {
      return bson::CompareValues(a, b) * op.sort_dir < 0;
    });
    return;
  }
  if (!op.sort_pattern) return;
  std::stable_sort(elems->begin(), elems->end(), [&](const Value& a, const Value& b) {
    for (const bson::Element& f : *op.sort_pattern) {
      int dir = f.value.NumberAsDouble() < 0 ? -1 : 1;
      int c = bson::CompareValues(SortKey(a, f.name), SortKey(b, f.name));
      if (c != 0) return c * dir < 0;
    }
    return false;
  });
}

std::vector<Value> PushResult(const Op& op, std::vector<Value> elems) {
  size_t pos = elems.size();
  if (op.position) {
    int64_t p = *op.position;
    int64_t n = static_cast<int64_t>(elems.size());
    if (p < 0) p = std::max<int64_t>(0, n + p);
    pos = static_cast<size_t>(std::min<int64_t>(p, n));
  }
  elems.insert(elems.begin() + static_cast<ptrdiff_t>(pos), op.each.begin(), op.each.end());
  SortElements(op, &elems);
  if (op.slice) {
    int64_t s = *op.slice;
    size_t n = elems.size();
    if (s >= 0) {
      if (static_cast<uint64_t>(s) < n) elems.resize(static_cast<size_t>(s));
    } else if (static_cast<uint64_t>(-(s + 1)) + 1 < n) {
      elems.erase(elems.begin(), elems.end() - static_cast<ptrdiff_t>(-(s + 1) + 1));
    }
  }
  return elems;
}

void AddToSet(const Op& op, std::vector<Value>* elems) {
  for (const Value& v : op.each) {
    bool found = false;
    for (const Value& e : *elems) {
      if (bson::CompareValues(e, v) == 0) {
        found = true;
        break;
      }
    }
    if (!found) elems->push_back(v);
  }
}

bool PullMatches(const Op& op, const Value& elem) {
  switch (op.pull_kind) {
    case PullKind::kEquality: return bson::CompareValues(elem, op.arg) == 0;
    case PullKind::kObjectQuery:
      return elem.type() == BsonType::kDocument && op.pull_matcher->Matches(elem.AsDocument());
    case PullKind::kWrapped: {
      bson::Builder b;
      b.AppendValue("", elem);
      bson::Document d = std::move(b).Finish();
      return op.pull_matcher->Matches(d.view());
    }
  }
  return false;
}

Value CurrentDate(const Op& op, const ApplyEnv& env) {
  int64_t now = env.ctx->now_millis;
  return Make(*env.arena, [&](bson::Builder& b) {
    if (op.timestamp) {
      b.AppendTimestamp("", static_cast<uint32_t>(now / 1000), 1);
    } else {
      b.AppendDate("", now);
    }
  });
}

// The value a creating operator puts at a path that does not exist, or a missing Value when the
// operator does nothing there.
Result<Value> ValueForMissing(const Op& op, ApplyEnv& env) {
  switch (op.kind) {
    case OpKind::kSet:
    case OpKind::kMin:
    case OpKind::kMax: return op.arg;
    case OpKind::kSetOnInsert: return env.ctx->is_insert ? op.arg : Value();
    case OpKind::kInc: return op.arg;
    case OpKind::kMul:
      return Make(*env.arena, [&](bson::Builder& b) {
        switch (op.arg.type()) {
          case BsonType::kInt32: b.AppendInt32("", 0); break;
          case BsonType::kInt64: b.AppendInt64("", 0); break;
          case BsonType::kDecimal128: b.AppendDecimal128("", bson::Decimal128Bits{0, 0x3040000000000000ull}); break;
          default: b.AppendDouble("", 0.0);
        }
      });
    case OpKind::kCurrentDate: return CurrentDate(op, env);
    case OpKind::kPush: return MakeArray(*env.arena, PushResult(op, {}));
    case OpKind::kAddToSet: {
      std::vector<Value> elems;
      AddToSet(op, &elems);
      return MakeArray(*env.arena, elems);
    }
    case OpKind::kBit: return BitResult(op, 0, false, *env.arena);
    default: return Value();  // $unset, $pop, $pull, $pullAll
  }
}

std::string Dotted(const std::vector<std::string>& parts) { return JoinPath(parts, parts.size()); }

// Updates an existing node. `w.parent` is its parent.
Status UpdateExisting(const Op& op, const std::vector<std::string>& parts, const Walk& w,
                      ApplyEnv& env) {
  MNode* n = w.node;
  Arena& arena = *env.arena;
  switch (op.kind) {
    case OpKind::kSetOnInsert:
      if (!env.ctx->is_insert) return Status::OK();
      [[fallthrough]];
    case OpKind::kSet: n->SetValue(op.arg); return Status::OK();
    case OpKind::kUnset: RemoveChild(w.parent, n); return Status::OK();
    case OpKind::kInc:
    case OpKind::kMul: {
      Value cur = CurrentValue(*n, arena);
      if (!cur.IsNumber()) {
        return Status(ErrorCode::kTypeMismatch,
                      "Cannot apply " + std::string(OpName(op.kind)) +
                          " to a value of non-numeric type. " + IdString(env.original) +
                          " has the field '" + w.name + "' of non-numeric type " +
                          TypeName(cur.type()));
      }
      AMALGAM_ASSIGN_OR_RETURN(Value r, Arithmetic(op, cur, op.arg, env));
      n->SetValue(r);
      return Status::OK();
    }
    case OpKind::kMin:
    case OpKind::kMax: {
      int c = bson::CompareValues(op.arg, CurrentValue(*n, arena));
      if ((op.kind == OpKind::kMin && c < 0) || (op.kind == OpKind::kMax && c > 0)) {
        n->SetValue(op.arg);
      }
      return Status::OK();
    }
    case OpKind::kCurrentDate: n->SetValue(CurrentDate(op, env)); return Status::OK();
    case OpKind::kBit: {
      Value cur = CurrentValue(*n, arena);
      if (cur.type() != BsonType::kInt32 && cur.type() != BsonType::kInt64) {
        return Bad("Cannot apply $bit to a value of non-integral type." + IdString(env.original) +
                   " has the field " + w.name + " of non-integer type " + TypeName(cur.type()));
      }
      bool is64 = cur.type() == BsonType::kInt64;
      n->SetValue(BitResult(op, is64 ? cur.AsInt64() : cur.AsInt32(), is64, arena));
      return Status::OK();
    }
    default: break;
  }
  // Array operators.
  BsonType t = n->type();
  if (t != BsonType::kArray) {
    switch (op.kind) {
      case OpKind::kPush:
        return Bad("The field '" + Dotted(parts) + "' must be an array but is of type " +
                   TypeName(t) + " in document " + IdString(env.original));
      case OpKind::kAddToSet:
        return Bad("Cannot apply $addToSet to non-array field. Field named '" + w.name +
                   "' has non-array type " + TypeName(t));
      case OpKind::kPop:
        return Status(ErrorCode::kTypeMismatch, "Path '" + Dotted(parts) +
                                                    "' contains an element of non-array type '" +
                                                    TypeName(t) + "'");
      default:
        return Bad("Cannot apply " + std::string(OpName(op.kind)) + " to a non-array value");
    }
  }
  std::vector<Value> elems = Elements(*n, arena);
  switch (op.kind) {
    case OpKind::kPush: elems = PushResult(op, std::move(elems)); break;
    case OpKind::kAddToSet: AddToSet(op, &elems); break;
    case OpKind::kPop:
      if (elems.empty()) return Status::OK();
      if (op.pop_dir > 0) {
        elems.pop_back();
      } else {
        elems.erase(elems.begin());
      }
      break;
    case OpKind::kPull:
      elems.erase(std::remove_if(elems.begin(), elems.end(),
                                 [&](const Value& e) { return PullMatches(op, e); }),
                  elems.end());
      break;
    case OpKind::kPullAll:
      elems.erase(std::remove_if(elems.begin(), elems.end(),
                                 [&](const Value& e) {
                                   for (const Value& x : op.each) {
                                     if (bson::CompareValues(e, x) == 0) return true;
                                   }
                                   return false;
                                 }),
                  elems.end());
      break;
    default: return InternalError("unexpected update operator");
  }
  n->SetValue(MakeArray(arena, elems));
  return Status::OK();
}

// The first array along parts[0..n) in the tree, as MongoDB names it in $rename errors.
bool ArrayAlong(MNode* root, const std::vector<std::string>& parts, size_t n, std::string* name) {
  MNode* cur = root;
  for (size_t i = 0; i < n; ++i) {
    MNode* c = cur->Child(parts[i]);
    if (c == nullptr) return false;
    if (c->type() == BsonType::kArray && i + 1 < parts.size()) {
      *name = parts[i];
      return true;
    }
    cur = c;
  }
  return false;
}

Status ApplyRename(const Op& op, const std::vector<std::string>& parts, MNode* root,
                   ApplyEnv& env) {
  Walk from = WalkPath(root, parts);
  if (from.found != parts.size()) return Status::OK();
  std::string arr;
  std::string id = ElementString("_id", env.original.Get("_id"));
  if (ArrayAlong(root, parts, parts.size(), &arr)) {
    return Bad("The source field cannot be an array element, '" + op.path + "' in doc with " +
               id + " has an array field called '" + arr + "'");
  }
  if (ArrayAlong(root, op.to_parts, op.to_parts.size(), &arr)) {
    return Bad("The destination field cannot be an array element, '" + op.to_path +
               "' in doc with " + id + " has an array field called '" + arr + "'");
  }
  Walk to = WalkPath(root, op.to_parts);
  if (to.found != op.to_parts.size() && !to.node->IsContainer()) {
    return CreatePath(to, op.to_parts, nullptr);  // the PathNotViable error
  }
  std::unique_ptr<MNode> moved = DetachChild(from.parent, from.node);
  to = WalkPath(root, op.to_parts);
  if (to.found == op.to_parts.size()) {
    *to.node = std::move(*moved);
    return Status::OK();
  }
  return CreatePath(to, op.to_parts, std::move(moved));
}

}  // namespace

Status ApplyOp(const Op& op, const std::vector<std::string>& parts, MNode* root, ApplyEnv& env) {
  if (op.kind == OpKind::kRename) return ApplyRename(op, parts, root, env);
  Walk w = WalkPath(root, parts);
  if (w.found == parts.size()) return UpdateExisting(op, parts, w, env);
  AMALGAM_ASSIGN_OR_RETURN(Value v, ValueForMissing(op, env));
  if (v.missing()) return Status::OK();
  return CreatePath(w, parts, NewLeaf(v));
}

}  // namespace amalgam::query::update_internal
