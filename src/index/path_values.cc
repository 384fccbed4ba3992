#include "index/path_values.h"

namespace amalgam::index {
namespace {

bool Collect(const bson::Value& cur, const bson::FieldPath& path, size_t i, std::vector<bson::Value>* out) {
  // `cur` is the value reached after parts [0, i); find part i in it.
  if (i == path.size()) {
    out->push_back(cur);
    return true;
  }
  if (cur.type() == bson::BsonType::kDocument) {
    bson::Value next = cur.AsDocument().Get(path.part(i));
    return next.missing() ? false : Collect(next, path, i + 1, out);
  }
  if (cur.type() != bson::BsonType::kArray) return false;
  bool found = false;
  size_t index;
  if (bson::IsArrayIndex(path.part(i), &index)) {
    bson::Value elem = cur.AsDocument().Get(path.part(i));
    if (!elem.missing()) found |= Collect(elem, path, i + 1, out);
  }
  for (const bson::Element& e : cur.AsDocument()) {
    if (e.value.type() == bson::BsonType::kDocument) found |= Collect(e.value, path, i, out);
  }
  return found;
}

constexpr uint8_t kNothing[1] = {0};

void IndexValues(const bson::Value& cur, const bson::FieldPath& path, size_t i, std::vector<bson::Value>* out,
                 bool* expanded, bool* present) {
  if (i == path.size()) {
    *present = true;
    if (cur.type() == bson::BsonType::kArray) {
      *expanded = true;
      bson::DocView arr = cur.AsDocument();
      if (arr.empty()) {
        out->push_back(UndefinedValue());
        return;
      }
      for (const bson::Element& e : arr) out->push_back(e.value);
      return;
    }
    out->push_back(cur);
    return;
  }
  if (cur.type() == bson::BsonType::kDocument) {
    bson::Value next = cur.AsDocument().Get(path.part(i));
    if (next.missing()) {
      out->push_back(NullValue());
      return;
    }
    IndexValues(next, path, i + 1, out, expanded, present);
    return;
  }
  if (cur.type() == bson::BsonType::kArray) {
    size_t index;
    if (bson::IsArrayIndex(path.part(i), &index)) {
      bson::Value elem = cur.AsDocument().Get(path.part(i));
      if (!elem.missing()) {
        IndexValues(elem, path, i + 1, out, expanded, present);
        return;
      }
    }
    *expanded = true;
    bson::DocView arr = cur.AsDocument();
    if (arr.empty()) {
      out->push_back(UndefinedValue());
      return;
    }
    for (const bson::Element& e : arr) {
      if (e.value.type() == bson::BsonType::kDocument) {
        IndexValues(e.value, path, i, out, expanded, present);
      } else {
        out->push_back(NullValue());
      }
    }
    return;
  }
  out->push_back(NullValue());  // a scalar where the path needs a document
}

}  // namespace

bson::Value NullValue() { return bson::Value(bson::BsonType::kNull, kNothing, 0); }
bson::Value UndefinedValue() { return bson::Value(bson::BsonType::kUndefined, kNothing, 0); }

bool CollectPathValues(bson::DocView doc, const bson::FieldPath& path, std::vector<bson::Value>* out) {
  bson::Value root(bson::BsonType::kDocument, doc.data(), doc.size());
  return Collect(root, path, 0, out);
}

void IndexPathValues(bson::DocView doc, const bson::FieldPath& path, std::vector<bson::Value>* out,
                     bool* expanded, bool* present) {
  *expanded = false;
  *present = false;
  bson::Value root(bson::BsonType::kDocument, doc.data(), doc.size());
  IndexValues(root, path, 0, out, expanded, present);
}

}  // namespace amalgam::index
