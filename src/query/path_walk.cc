#include "query/path_walk.h"

#include "query/field_lookup.h"

namespace amalgam::query {
namespace {

struct Walker {
  const MatchPath& path;
  LeafArrays leaf;
  PathVisitor& visitor;

  // The outermost implicit-traversal offset wins (MongoDB's BSONElementIterator::next).
  static int64_t Outer(int64_t forced, int64_t mine) { return forced >= 0 ? forced : mine; }

  // Looks up parts [i, n) from a document, stopping at the first array (getFieldDottedOrArray).
  bool FromDocument(bson::DocView doc, size_t i, int64_t forced) {
    bson::Value cur = FindField(doc, path.parts[i]);
    while (true) {
      if (cur.missing()) return visitor.Visit(cur, forced);
      if (cur.type() == bson::BsonType::kArray) return InArray(cur, i + 1, forced);
      if (i + 1 == path.parts.size()) return visitor.Visit(cur, forced);
      if (cur.type() != bson::BsonType::kDocument) return visitor.Visit(bson::Value(), forced);
      ++i;
      cur = FindField(cur.AsDocument(), path.parts[i]);
    }
  }

  // `array` was reached by parts [0, next).
  bool InArray(const bson::Value& array, size_t next, int64_t forced) {
    bson::DocView elems = array.AsDocument();
    if (next == path.parts.size()) {
      if (leaf == LeafArrays::kTraverse) {
        int64_t pos = 0;
        for (const bson::Element& e : elems) {
          if (visitor.Visit(e.value, Outer(forced, pos))) return true;
          ++pos;
        }
      }
      return visitor.Visit(array, forced);
    }
    const std::string& part = path.parts[next];
    bool numeric = path.numeric[next];
    bool entire_rest = next + 1 == path.parts.size();
    int64_t pos = 0;
    for (const bson::Element& e : elems) {
      bool offset_match = numeric && e.name == part;
      if (e.value.type() == bson::BsonType::kDocument) {
        if (FromDocument(e.value.AsDocument(), next, Outer(forced, pos))) return true;
        if (offset_match) {
          if (entire_rest) {
            if (visitor.Visit(e.value, forced)) return true;
          } else if (FromDocument(e.value.AsDocument(), next + 1, forced)) {
            return true;
          }
        }
      } else if (offset_match) {
        if (entire_rest) {
          if (visitor.Visit(e.value, forced)) return true;
        } else if (e.value.type() == bson::BsonType::kArray) {
          if (InArray(e.value, next + 1, forced)) return true;
        }
      }
      ++pos;
    }
    return false;
  }
};

}  // namespace

MatchPath MatchPath::Parse(std::string_view dotted) {
  MatchPath p;
  p.dotted = std::string(dotted);
  size_t start = 0;
  while (true) {
    size_t dot = dotted.find('.', start);
    std::string_view part = dotted.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    p.parts.emplace_back(part);
    bool digits = !part.empty();
    for (char c : part) digits = digits && c >= '0' && c <= '9';
    p.numeric.push_back(digits);
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return p;
}

bool WalkPath(bson::DocView doc, const MatchPath& path, LeafArrays leaf, PathVisitor& visitor) {
  Walker w{path, leaf, visitor};
  return w.FromDocument(doc, 0, -1);
}

}  // namespace amalgam::query
