#pragma once
// Walking a dotted path through a document the way MongoDB's matcher does (its ElementPath and
// BSONElementIterator), yielding every value a leaf predicate must be tried against:
//
//   - documents along the path are descended by field name;
//   - at an array with path left over, each element that is a document is walked with the rest
//     of the path; an element whose position equals the next part ("a.0.b") is walked with the
//     part after it (nested arrays too); other elements yield nothing;
//   - a path that stops at a missing field or at a scalar with path left yields "missing";
//   - at the path's end an array yields each element and then the array itself (kTraverse), or
//     only the array itself (kNoTraversal, for $elemMatch and $size);
//   - an array element reached through an explicit position is yielded as it is.
//
// Each value comes with the position ("array offset") of the outermost array element it was
// reached through by implicit traversal, or -1; MatchDetails reports it for the positional `$`.

#include <cstdint>
#include <string>
#include <vector>

#include "bson/document.h"

namespace amalgam::query {

// A parsed dotted path. Parts may be empty ("a..b" looks up an empty field name, as MongoDB does).
struct MatchPath {
  std::string dotted;
  std::vector<std::string> parts;
  // parts[i] consists of digits only (it may index an array).
  std::vector<bool> numeric;

  static MatchPath Parse(std::string_view dotted);
  bool empty() const { return parts.empty(); }
};

enum class LeafArrays : uint8_t { kTraverse, kNoTraversal };

// Receives each yielded value; returns true to stop the walk (a match was found).
class PathVisitor {
 public:
  virtual bool Visit(const bson::Value& value, int64_t array_offset) = 0;

 protected:
  ~PathVisitor() = default;
};

// Walks `path` in `doc`; returns true if the visitor stopped the walk. Recursion depth is bounded
// by the path's length and the document's nesting. REQUIRES: !path.empty().
bool WalkPath(bson::DocView doc, const MatchPath& path, LeafArrays leaf, PathVisitor& visitor);

}  // namespace amalgam::query
