#include "index/key_generator.h"

#include <algorithm>

#include "bson/validate.h"
#include "index/path_values.h"

namespace amalgam::index {

Result<KeyGenerator> KeyGenerator::Make(const catalog::IndexSpec& spec) {
  KeyGenerator g;
  g.spec_ = std::make_shared<const catalog::IndexSpec>(spec);
  for (const catalog::IndexField& f : spec.fields) {
    g.directions_.push_back(f.descending ? storage::Direction::kDescending : storage::Direction::kAscending);
  }
  if (spec.partial_filter) {
    AMALGAM_ASSIGN_OR_RETURN(PartialFilter filter, PartialFilter::Compile(spec.partial_filter->view()));
    g.filter_ = std::make_shared<const PartialFilter>(std::move(filter));
  }
  return g;
}

namespace {

// Where one key field's path walk stands: the value reached so far and the next path part.
struct FieldWalk {
  bson::Value cur;
  size_t part = 0;
  bool done = false;  // `cur` is the field's key value
};

struct KeyWalk {
  const std::vector<catalog::IndexField>& fields;
  std::span<const storage::Direction> directions;
  std::vector<storage::EncodedKey>* keys;
  bool multikey = false;
  bool present = false;  // some field reached a value (sparse indexes skip documents without)
};

// Walks `w` through documents (and positional array steps) until it reaches its value, a
// missing field (null), or an array it must expand. Returns true when the walk stopped at an
// array (w.cur is that array).
bool Advance(FieldWalk& w, const bson::FieldPath& path, KeyWalk& kw) {
  while (!w.done) {
    if (w.part == path.size()) {
      if (w.cur.type() == bson::BsonType::kArray) return true;
      w.done = true;
      kw.present = true;
      return false;
    }
    if (w.cur.type() == bson::BsonType::kDocument) {
      bson::Value next = w.cur.AsDocument().Get(path.part(w.part));
      if (next.missing()) {
        w.cur = NullValue();
        w.done = true;
        return false;
      }
      w.cur = next;
      ++w.part;
    } else if (w.cur.type() == bson::BsonType::kArray) {
      size_t index;
      bson::Value elem;
      if (bson::IsArrayIndex(path.part(w.part), &index)) elem = w.cur.AsDocument().Get(path.part(w.part));
      if (elem.missing()) return true;  // expand the array over the rest of the path
      w.cur = elem;                     // positional step ("a.1")
      ++w.part;
    } else {
      w.cur = NullValue();  // a scalar where the path needs a document
      w.done = true;
    }
  }
  return false;
}

// MongoDB's key generation: fields walk together; every field that meets an array must meet
// the same one (fields under a common array prefix, like "a.x" and "a.y"), whose elements then
// produce keys one element at a time; arrays met by different fields are parallel arrays.
Status Walk(std::vector<FieldWalk> walks, KeyWalk& kw, int depth) {
  if (depth > bson::kMaxWireDepth) return Status(ErrorCode::kCannotBuildIndexKeys, "index key nesting too deep");
  const uint8_t* array = nullptr;
  std::vector<size_t> at_array;
  for (size_t i = 0; i < walks.size(); ++i) {
    if (!Advance(walks[i], kw.fields[i].path, kw)) continue;
    const uint8_t* here = walks[i].cur.raw().data();
    if (array != nullptr && here != array) {
      return Status(ErrorCode::kCannotBuildIndexKeys, "cannot index parallel arrays [" + kw.fields[i].path.dotted() +
                                                          "] [" + kw.fields[at_array[0]].path.dotted() + "]");
    }
    array = here;
    at_array.push_back(i);
  }
  if (at_array.empty()) {
    std::vector<bson::Value> values;
    for (const FieldWalk& w : walks) values.push_back(w.cur);
    kw.keys->push_back(storage::EncodeKey(values, kw.directions));
    return Status::OK();
  }
  kw.multikey = true;
  for (size_t i : at_array) {
    if (walks[i].part == kw.fields[i].path.size()) kw.present = true;  // a terminal array exists
  }
  bson::DocView elements = walks[at_array[0]].cur.AsDocument();
  if (elements.empty()) {
    for (size_t i : at_array) {
      walks[i].cur = UndefinedValue();
      walks[i].done = true;
    }
    return Walk(std::move(walks), kw, depth + 1);
  }
  for (const bson::Element& e : elements) {
    std::vector<FieldWalk> next = walks;
    for (size_t i : at_array) {
      FieldWalk& w = next[i];
      if (w.part == kw.fields[i].path.size()) {
        w.cur = e.value;  // a terminal array: each element is a value (an inner array as a whole)
        w.done = true;
      } else if (e.value.type() == bson::BsonType::kDocument) {
        w.cur = e.value;  // continue the path inside the element
      } else {
        w.cur = NullValue();  // arrays are traversed one level; scalars lack the path
        w.done = true;
      }
    }
    AMALGAM_RETURN_IF_ERROR(Walk(std::move(next), kw, depth + 1));
  }
  return Status::OK();
}

}  // namespace

Status KeyGenerator::Generate(bson::DocView doc, std::vector<storage::EncodedKey>* keys, bool* multikey) const {
  keys->clear();
  if (multikey) *multikey = false;
  if (filter_ && !filter_->Matches(doc)) return Status::OK();
  KeyWalk kw{spec_->fields, directions_, keys};
  bson::Value root(bson::BsonType::kDocument, doc.data(), doc.size());
  std::vector<FieldWalk> walks(spec_->fields.size(), FieldWalk{root, 0, false});
  AMALGAM_RETURN_IF_ERROR(Walk(std::move(walks), kw, 0));
  if (spec_->sparse && !kw.present) {
    keys->clear();
    return Status::OK();
  }
  if (multikey) *multikey = kw.multikey;
  std::sort(keys->begin(), keys->end(), [](const auto& a, const auto& b) { return a.key < b.key; });
  keys->erase(std::unique(keys->begin(), keys->end(), [](const auto& a, const auto& b) { return a.key == b.key; }),
              keys->end());
  return Status::OK();
}

}  // namespace amalgam::index
