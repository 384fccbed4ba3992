#include "query/sort.h"

#include <unordered_set>
#include <utility>

#include "bson/builder.h"
#include "bson/compare.h"
#include "bson/field_path.h"
#include "bson/json.h"
#include "query/projection.h"

namespace amalgam::query {

using bson::BsonType;

namespace {

constexpr std::string_view kMetaNames[] = {"textScore",          "randVal",          "searchScore",
                                           "searchHighlights",   "geoNearDistance",  "geoNearPoint",
                                           "recordId",           "indexKey",         "sortKey",
                                           "searchScoreDetails", "vectorSearchScore"};
constexpr std::string_view kSortableMeta[] = {"textScore", "randVal", "searchScore",
                                              "vectorSearchScore"};

const uint8_t kNoBytes[1] = {0};
const bson::Value kNull(BsonType::kNull, kNoBytes, 0);
const bson::Value kUndefined(BsonType::kUndefined, kNoBytes, 0);

std::string ElementString(std::string_view name, const bson::Value& v) {
  bson::Builder b;
  b.AppendValue(name, v);
  bson::Document d = std::move(b).Finish();
  std::string s = bson::ToShellString(d.view());
  if (s.size() >= 4 && s.starts_with("{ ") && s.ends_with(" }")) return s.substr(2, s.size() - 4);
  return s;
}

std::vector<std::string> SplitDots(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t dot = s.find('.', start);
    out.emplace_back(s.substr(start, dot == std::string_view::npos ? dot : dot - start));
    if (dot == std::string_view::npos) return out;
    start = dot + 1;
  }
}

Status ParseMetaPart(std::string_view name, const bson::Value& v, SortSpec::Part* part) {
  bson::DocView doc = v.AsDocument();
  if (doc.empty() || doc.begin()->name != "$meta") {
    return MongoCodedError(17312, "$meta is the only expression supported by $sort right now");
  }
  if (doc.CountElements() != 1) {
    return Status(ErrorCode::kFailedToParse,
                  "Cannot have additional keys in a $meta sort specification");
  }
  bson::Value arg = doc.begin()->value;
  if (arg.type() != BsonType::kString)
    return MongoCodedError(17307, "$meta only supports string arguments");
  std::string_view meta = arg.AsString();
  bool known = false;
  for (std::string_view n : kMetaNames) known = known || n == meta;
  if (!known) return MongoCodedError(17308, "Unsupported argument to $meta: " + std::string(meta));
  bool sortable = false;
  for (std::string_view n : kSortableMeta) sortable = sortable || n == meta;
  if (!sortable)
    return MongoCodedError(31138, "Illegal $meta sort: " + ElementString("$meta", arg));
  part->meta = std::string(meta);
  part->ascending = false;
  (void)name;
  return Status::OK();
}

// One sort path being followed through a document: either settled on a value or positioned at
// `doc` with parts [pos, end) left to walk.
struct Slot {
  bool fixed = false;
  bson::Value value;
  bson::DocView doc;
  size_t pos = 0;
  // After Resolve: the array this slot must expand, and the path position after it.
  bson::Value array;
  size_t rest = 0;
};

class KeyGenerator {
 public:
  KeyGenerator(const std::vector<SortSpec::Part>& parts, bson::DocView meta)
      : parts_(parts), meta_(meta) {}

  Status Run(bson::DocView doc, std::vector<bson::Value>* best) {
    std::vector<Slot> slots(parts_.size());
    for (size_t i = 0; i < parts_.size(); ++i) {
      if (!parts_[i].meta.empty()) {
        bson::Value v = meta_.Get(parts_[i].meta);
        slots[i].fixed = true;
        slots[i].value = v.missing() ? kNull : v;
      } else {
        slots[i].doc = doc;
      }
    }
    AMALGAM_RETURN_IF_ERROR(Generate(std::move(slots)));
    *best = std::move(best_);
    return Status::OK();
  }

 private:
  // Walks slot `s` until it settles on a value or reaches an array it must expand.
  void Resolve(size_t i, Slot* s) {
    const std::vector<std::string>& path = parts_[i].parts;
    size_t p = s->pos;
    bson::Value v = s->doc.Get(path[p++]);
    while (true) {
      if (v.missing()) break;
      if (v.type() == BsonType::kArray) {
        size_t idx;
        bson::DocView arr = v.AsDocument();
        if (p < path.size() && bson::IsArrayIndex(path[p], &idx)) {
          bson::Value elem = arr.Get(path[p]);
          if (!elem.missing()) {
            v = elem;
            ++p;
            continue;
          }
        }
        s->array = v;
        s->rest = p;
        return;
      }
      if (p == path.size()) {
        s->fixed = true;
        s->value = v;
        return;
      }
      if (v.type() != BsonType::kDocument) break;
      v = v.AsDocument().Get(path[p++]);
    }
    s->fixed = true;
    s->value = kNull;
  }

  Status Generate(std::vector<Slot> slots) {
    const uint8_t* array_data = nullptr;
    bson::Value array;
    for (size_t i = 0; i < slots.size(); ++i) {
      Slot& s = slots[i];
      if (s.fixed) continue;
      s.array = bson::Value();
      Resolve(i, &s);
      if (s.fixed) continue;
      if (array_data == nullptr) {
        array_data = s.array.raw().data();
        array = s.array;
      } else if (array_data != s.array.raw().data()) {
        return Status(ErrorCode::kBadValue, "cannot sort with keys that are parallel arrays");
      }
    }
    if (array_data == nullptr) {
      Emit(slots);
      return Status::OK();
    }
    bson::DocView elems = array.AsDocument();
    if (elems.empty()) {
      for (size_t i = 0; i < slots.size(); ++i) {
        Slot& s = slots[i];
        if (s.fixed) continue;
        s.fixed = true;
        s.value = s.rest == parts_[i].parts.size() ? kUndefined : kNull;
      }
      return Generate(std::move(slots));
    }
    for (const bson::Element& e : elems) {
      std::vector<Slot> next = slots;
      for (size_t i = 0; i < next.size(); ++i) {
        Slot& s = next[i];
        if (s.fixed) continue;
        s.fixed = true;
        if (s.rest == parts_[i].parts.size()) {
          s.value = e.value;
        } else if (e.value.type() == BsonType::kDocument) {
          s.fixed = false;
          s.doc = e.value.AsDocument();
          s.pos = s.rest;
        } else {
          s.value = kNull;
        }
      }
      AMALGAM_RETURN_IF_ERROR(Generate(std::move(next)));
    }
    return Status::OK();
  }

  void Emit(const std::vector<Slot>& slots) {
    if (have_best_) {
      int c = 0;
      for (size_t i = 0; i < slots.size() && c == 0; ++i) {
        c = bson::CompareValues(slots[i].value, best_[i]);
        if (!parts_[i].ascending) c = -c;
      }
      if (c >= 0) return;
    }
    best_.clear();
    for (const Slot& s : slots) best_.push_back(s.value);
    have_best_ = true;
  }

  const std::vector<SortSpec::Part>& parts_;
  bson::DocView meta_;
  bool have_best_ = false;
  std::vector<bson::Value> best_;
};

int CompareValueLists(const std::vector<SortSpec::Part>& parts, const std::vector<bson::Value>& a,
                      const std::vector<bson::Value>& b) {
  for (size_t i = 0; i < parts.size(); ++i) {
    int c = bson::CompareValues(a[i], b[i]);
    if (c != 0) return parts[i].ascending ? c : -c;
  }
  return 0;
}

}  // namespace

Result<SortSpec> SortSpec::Compile(bson::DocView sort) {
  SortSpec spec;
  std::unordered_set<std::string_view> seen;
  for (const bson::Element& e : sort) {
    Part part;
    if (e.value.type() == BsonType::kDocument) {
      AMALGAM_RETURN_IF_ERROR(ParseMetaPart(e.name, e.value, &part));
    } else {
      if (!e.value.IsNumber()) {
        return MongoCodedError(
            15974, "Illegal key in $sort specification: " + ElementString(e.name, e.value));
      }
      double d = e.value.NumberAsDouble();
      if (d != 1 && d != -1) {
        return MongoCodedError(
            15975, "$sort key ordering must be 1 (for ascending) or -1 (for descending)");
      }
      AMALGAM_RETURN_IF_ERROR(ValidateFieldPathForProjection(e.name));
      part.path = std::string(e.name);
      part.parts = SplitDots(e.name);
      part.ascending = d > 0;
    }
    if (!seen.insert(e.name).second) {
      return MongoCodedError(7472500, "$sort key must not contain duplicate keys (field: '" +
                                          std::string(e.name) + "')");
    }
    spec.parts_.push_back(std::move(part));
  }
  return spec;
}

Result<bson::Document> SortSpec::SortKey(bson::DocView doc, bson::DocView meta) const {
  std::vector<bson::Value> values;
  KeyGenerator gen(parts_, meta);
  AMALGAM_RETURN_IF_ERROR(gen.Run(doc, &values));
  bson::Builder b;
  for (const bson::Value& v : values) b.AppendValue("", v);
  return std::move(b).Finish();
}

int SortSpec::CompareKeys(bson::DocView a, bson::DocView b) const {
  auto ia = a.begin();
  auto ib = b.begin();
  for (size_t i = 0; i < parts_.size() && ia != a.end() && ib != b.end(); ++i, ++ia, ++ib) {
    int c = bson::CompareValues(ia->value, ib->value);
    if (c != 0) return parts_[i].ascending ? c : -c;
  }
  return 0;
}

int SortSpec::Compare(bson::DocView a, bson::DocView b) const {
  std::vector<bson::Value> ka, kb;
  if (!KeyGenerator(parts_, bson::DocView()).Run(a, &ka).ok()) ka.assign(parts_.size(), kNull);
  if (!KeyGenerator(parts_, bson::DocView()).Run(b, &kb).ok()) kb.assign(parts_.size(), kNull);
  return CompareValueLists(parts_, ka, kb);
}

}  // namespace amalgam::query
