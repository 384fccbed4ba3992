// The mutable document tree updates work on, message helpers and the update description.

#include <cstring>
#include <string>

#include "bson/field_path.h"
#include "bson/json.h"
#include "bson/types.h"
#include "query/update_internal.h"

namespace amalgam::query::update_internal {

using bson::BsonType;
using bson::Value;

void MNode::Expand() {
  if (expanded) return;
  BsonType t = leaf.type();
  if (t != BsonType::kDocument && t != BsonType::kArray) return;
  bson::DocView d = leaf.AsDocument();
  expanded = true;
  is_array = t == BsonType::kArray;
  fields.clear();
  for (const bson::Element& e : d) {
    fields.push_back({is_array ? std::string() : std::string(e.name), NewLeaf(e.value)});
  }
  leaf = {};
}

MNode* MNode::Child(std::string_view part) {
  if (!IsContainer()) return nullptr;
  Expand();
  if (is_array) {
    size_t i;
    if (!bson::IsArrayIndex(part, &i) || i >= fields.size()) return nullptr;
    return fields[i].node.get();
  }
  for (MField& f : fields) {
    if (f.name == part) return f.node.get();
  }
  return nullptr;
}

void MNode::Write(bson::Builder& b, std::string_view name) const {
  if (!expanded) {
    b.AppendValue(name, leaf);
    return;
  }
  if (is_array) {
    b.StartArray(name);
    bson::ArrayBuilder ab(b);
    for (const MField& f : fields) f.node->Write(b, ab.Next());
    b.EndArray();
  } else {
    b.StartDocument(name);
    for (const MField& f : fields) f.node->Write(b, f.name);
    b.EndDocument();
  }
}

bson::Document MNode::ToHolder() const {
  bson::Builder b;
  Write(b, "");
  return std::move(b).Finish();
}

std::unique_ptr<MNode> NewLeaf(const Value& v) {
  auto n = std::make_unique<MNode>();
  n->leaf = v;
  return n;
}
std::unique_ptr<MNode> NewNull() { return NewLeaf(Value(BsonType::kNull, nullptr, 0)); }
std::unique_ptr<MNode> NewContainer(bool array) {
  auto n = std::make_unique<MNode>();
  n->MakeContainer(array);
  return n;
}

bson::Document Serialize(const MNode& root) {
  bson::Builder b;
  if (root.expanded) {
    for (const MField& f : root.fields) f.node->Write(b, f.name);
  } else if (root.leaf.type() == BsonType::kDocument) {
    b.AppendElements(root.leaf.AsDocument());
  }
  return std::move(b).Finish();
}

Value Arena::Own(std::string_view, const Value& v) {
  bson::Builder b;
  b.AppendValue("", v);
  return Keep(std::move(b).Finish());
}

Value Arena::Keep(bson::Document holder) {
  docs_.push_back(std::move(holder));
  return (*docs_.back().view().begin()).value;
}

std::string ElementString(std::string_view name, const Value& v) {
  bson::Builder b;
  b.AppendValue(name, v);
  bson::Document d = std::move(b).Finish();
  std::string s = bson::ToShellString(d.view());  // "{ name: value }"
  if (s.size() >= 4 && s.compare(0, 2, "{ ") == 0) s = s.substr(2, s.size() - 4);
  return s;
}

std::string IdString(bson::DocView doc) {
  Value id = doc.Get("_id");
  if (id.missing()) return "{no id}";
  return "{" + ElementString("_id", id) + "}";
}

std::string TypeName(BsonType t) {
  if (t == BsonType::kEod) return "missing";
  return std::string(bson::TypeAlias(t));
}

std::string_view OpName(OpKind k) {
  switch (k) {
    case OpKind::kSet: return "$set";
    case OpKind::kUnset: return "$unset";
    case OpKind::kInc: return "$inc";
    case OpKind::kMul: return "$mul";
    case OpKind::kMin: return "$min";
    case OpKind::kMax: return "$max";
    case OpKind::kRename: return "$rename";
    case OpKind::kSetOnInsert: return "$setOnInsert";
    case OpKind::kCurrentDate: return "$currentDate";
    case OpKind::kPush: return "$push";
    case OpKind::kAddToSet: return "$addToSet";
    case OpKind::kPop: return "$pop";
    case OpKind::kPull: return "$pull";
    case OpKind::kPullAll: return "$pullAll";
    case OpKind::kBit: return "$bit";
  }
  return "";
}

std::string JoinPath(const std::vector<std::string>& parts, size_t n) {
  std::string out;
  for (size_t i = 0; i < n && i < parts.size(); ++i) {
    if (i) out += '.';
    out += parts[i];
  }
  return out;
}

namespace {

bool SameBytes(const Value& a, const Value& b) {
  if (a.type() != b.type()) return false;
  auto ra = a.raw(), rb = b.raw();
  return ra.size() == rb.size() && (ra.empty() || std::memcmp(ra.data(), rb.data(), ra.size()) == 0);
}

std::string Join(const std::string& prefix, std::string_view name) {
  return prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
}

struct DiffOut {
  bson::Builder updated;
  bson::Builder removed;
  bson::ArrayBuilder* removed_names;
  bson::Builder truncated;
  bson::ArrayBuilder* truncated_names;
};

void DiffArrays(bson::DocView a, bson::DocView b, const std::string& prefix, DiffOut& out);

void DiffValue(const Value& a, const Value& b, const std::string& path, DiffOut& out) {
  if (SameBytes(a, b)) return;
  if (a.type() == BsonType::kDocument && b.type() == BsonType::kDocument) {
    bson::DocView da = a.AsDocument(), db = b.AsDocument();
    // A reordering is reported as a replacement of the whole document.
    std::vector<std::string_view> kept;
    for (const bson::Element& e : da) {
      if (!db.Get(e.name).missing()) kept.push_back(e.name);
    }
    size_t k = 0;
    bool ordered = true;
    for (const bson::Element& e : db) {
      if (da.Get(e.name).missing()) continue;
      if (k >= kept.size() || kept[k] != e.name) ordered = false;
      ++k;
    }
    if (!ordered) {
      out.updated.AppendValue(path, b);
      return;
    }
    for (const bson::Element& e : da) {
      if (db.Get(e.name).missing()) {
        out.removed.AppendString(out.removed_names->Next(), Join(path, e.name));
      }
    }
    for (const bson::Element& e : db) {
      Value old = da.Get(e.name);
      if (old.missing()) {
        out.updated.AppendValue(Join(path, e.name), e.value);
      } else {
        DiffValue(old, e.value, Join(path, e.name), out);
      }
    }
    return;
  }
  if (a.type() == BsonType::kArray && b.type() == BsonType::kArray) {
    DiffArrays(a.AsDocument(), b.AsDocument(), path, out);
    return;
  }
  out.updated.AppendValue(path, b);
}

void DiffArrays(bson::DocView a, bson::DocView b, const std::string& prefix, DiffOut& out) {
  std::vector<Value> va, vb;
  for (const bson::Element& e : a) va.push_back(e.value);
  for (const bson::Element& e : b) vb.push_back(e.value);
  for (size_t i = 0; i < vb.size(); ++i) {
    std::string p = Join(prefix, std::to_string(i));
    if (i < va.size()) {
      DiffValue(va[i], vb[i], p, out);
    } else {
      out.updated.AppendValue(p, vb[i]);
    }
  }
  if (vb.size() < va.size()) {
    out.truncated.StartDocument(out.truncated_names->Next())
        .AppendString("field", prefix)
        .AppendInt32("newSize", static_cast<int32_t>(vb.size()))
        .EndDocument();
  }
}

}  // namespace

bson::Document DescribeChange(bson::DocView before, bson::DocView after) {
  DiffOut out;
  out.removed.StartArray("r");
  bson::ArrayBuilder rn(out.removed);
  out.removed_names = &rn;
  out.truncated.StartArray("t");
  bson::ArrayBuilder tn(out.truncated);
  out.truncated_names = &tn;
  // The two documents as values, over their own bytes (no copies).
  Value va(BsonType::kDocument, before.data(), before.size()), vb(BsonType::kDocument, after.data(), after.size());
  DiffValue(va, vb, "", out);
  out.removed.EndArray();
  out.truncated.EndArray();
  bson::Document upd = std::move(out.updated).Finish();
  bson::Document rem = std::move(out.removed).Finish();
  bson::Document tr = std::move(out.truncated).Finish();
  bson::Builder b;
  // A whole-document replacement (reordered top level) shows as updates of every field.
  bson::DocView uv = upd.view();
  Value whole = uv.Get("");
  if (!whole.missing()) {
    b.StartDocument("updatedFields");
    for (const bson::Element& e : after) {
      if (!SameBytes(before.Get(e.name), e.value)) b.AppendValue(e.name, e.value);
    }
    b.EndDocument();
    b.StartArray("removedFields");
    bson::ArrayBuilder ab(b);
    for (const bson::Element& e : before) {
      if (after.Get(e.name).missing()) b.AppendString(ab.Next(), e.name);
    }
    b.EndArray();
    b.StartArray("truncatedArrays").EndArray();
    return std::move(b).Finish();
  }
  b.AppendDocument("updatedFields", uv);
  b.AppendValue("removedFields", rem.view().Get("r"));
  b.AppendValue("truncatedArrays", tr.view().Get("t"));
  return std::move(b).Finish();
}

}  // namespace amalgam::query::update_internal
