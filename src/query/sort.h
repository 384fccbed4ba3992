#pragma once
// SortSpec: find's `sort` (and $sort's specification), compiled once, with MongoDB 7.0's order.
//
//   AMALGAM_ASSIGN_OR_RETURN(query::SortSpec spec, query::SortSpec::Compile(sort));
//   AMALGAM_ASSIGN_OR_RETURN(bson::Document key, spec.SortKey(doc));   // once per document
//   ... spec.CompareKeys(key_a.view(), key_b.view()) ...
//
// A document's sort key has one value per sort field. It is computed the way MongoDB's sort key
// generator does (its btree key generator over the sort pattern): every path is followed with
// implicit array traversal, each array element yielding one candidate key (paths that end at or
// pass through the *same* array advance together, element by element; a numeric path part picks
// that element of an array), and the key chosen is the candidate that sorts first under the
// pattern: for a single ascending field the smallest value reached, for descending the largest.
// Missing fields and scalars with path left over give null; an empty array at the end of a path
// gives undefined, which sorts before null (so {a: []} comes before {a: null} ascending and after
// it descending); an empty array with path left over gives null. A nested array at the end of a
// path is one value (it is not expanded again). Values compare with bson::CompareValues (no
// collation). {$meta: "textScore"} (also "randVal", "searchScore", "vectorSearchScore") sorts by
// the caller-supplied metadata value, descending; a missing value sorts as null.
//
// Compile errors (the MongoDB code; the internal ErrorCode is its registry row when there is one,
// else kBadValue, see MongoCodedError in query/projection.h):
//   15974 "Illegal key in $sort specification: a: \"x\""   (a value that is neither number nor
//   object) 15975 "$sort key ordering must be 1 (for ascending) or -1 (for descending)" 17312
//   "$meta is the only expression supported by $sort right now" 9     "Cannot have additional keys
//   in a $meta sort specification" (kFailedToParse) 17307 "$meta only supports string arguments",
//   17308 "Unsupported argument to $meta: x" 31138 "Illegal $meta sort: $meta: \"indexKey\""
//   7472500 "$sort key must not contain duplicate keys (field: 'a')"
//   field path errors 40352, 40353, 15998, 16410 (see ValidateFieldPathForProjection).
// SortKey errors: kBadValue "cannot sort with keys that are parallel arrays" (two sort paths
// reach two different arrays in one document).
//
// An empty specification ({}) is valid: every document compares equal. Ties are the caller's to
// break (MongoDB's find keeps no particular order; a stable sort keeps input order).
// Thread safety: immutable after Compile; every method may run concurrently.

#include <string>
#include <vector>

#include "bson/document.h"
#include "common/result.h"

namespace amalgam::query {

class SortSpec {
 public:
  struct Part {
    std::string path;                // dotted field path; empty for $meta
    std::vector<std::string> parts;  // path split on '.'
    bool ascending = true;
    std::string meta;  // $meta name, or empty
  };

  static Result<SortSpec> Compile(bson::DocView sort);

  const std::vector<Part>& parts() const { return parts_; }
  bool empty() const { return parts_.empty(); }

  // The sort key of `doc`: a document with one element per sort field, all named "". `meta` holds
  // the $meta values by name ({textScore: 2.5}), borrowed for the call. Errors: see above.
  Result<bson::Document> SortKey(bson::DocView doc, bson::DocView meta = bson::DocView()) const;

  // Compares two sort keys made by SortKey(): <0 if `a` sorts first, 0 on a tie, >0 otherwise.
  // REQUIRES: both come from this SortSpec.
  int CompareKeys(bson::DocView a, bson::DocView b) const;

  // Compares two documents directly (computing their keys; no $meta values). A document whose key
  // cannot be computed (parallel arrays) sorts as if every key value were null; callers that must
  // report that error compute keys with SortKey() first.
  int Compare(bson::DocView a, bson::DocView b) const;

 private:
  std::vector<Part> parts_;
};

}  // namespace amalgam::query
