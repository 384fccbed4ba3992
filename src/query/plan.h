#pragma once
// Query planning for find, count, distinct, update and delete: which access path reads the
// candidate documents. Every plan returns a superset of the matching documents; the matcher
// runs on every fetched document, so bounds only have to be safe, never exact.
//
// Access paths: an _id lookup (equality or $in on _id), an index scan over one or more key
// ranges built from equality/$in prefixes and a range on the next field, or a collection scan.
// Among usable indexes the one with the longest equality prefix wins, then one with a range,
// then one whose order provides the requested sort (no blocking sort). `hint` forces an index
// (by name or key pattern) or {$natural: ±1}.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bson/document.h"
#include "common/result.h"
#include "engine/collection_handle.h"

namespace amalgam::query {

// [lower, upper) in encoded-key space of one index, relative to the index (no id prefix).
// An empty upper means "to the end of the index".
struct KeyRange {
  std::string lower;
  std::string upper;
};

struct SortField {
  std::string path;
  bool descending = false;
};

struct Plan {
  enum class Kind { kCollScan, kIdLookup, kIndexScan };
  Kind kind = Kind::kCollScan;
  bool forward = true;  // scan direction (collection or index order)
  // kIdLookup: encoded _id values, in ascending order, without duplicates.
  std::vector<std::string> ids;
  // kIndexScan
  size_t index_pos = 0;  // position in CollectionHandle::indexes
  std::vector<KeyRange> ranges;
  bool dedup = false;  // the same document may appear more than once (multikey)
  // The output is already in the requested sort order (no blocking sort needed).
  bool provides_sort = false;
  // For explain: e.g. {a: ["[1, 1]"], b: ["[MinKey, MaxKey]"]}.
  bson::Document bounds;
};

struct PlanRequest {
  const engine::CollectionHandle* coll = nullptr;
  bson::DocView filter;
  std::vector<SortField> sort;  // empty: no sort
  bson::Value hint;             // missing: none
};

// Errors: kBadValue "hint provided does not correspond to an existing index" for an unknown
// hint.
Result<Plan> PlanQuery(const PlanRequest& request);

// The encoded _id values a filter pins its matches to (equality, $eq or $in on _id in the
// top-level conjunction: what PlanQuery turns into kIdLookup without a hint), ascending and
// without duplicates; nullopt when the filter does not pin the _id. Every matching document has
// one of these _ids, and the filter still has to be applied to each.
std::optional<std::vector<std::string>> IdLookupCandidates(bson::DocView filter);

// Parses a sort document into fields for planning ({a: 1, b: -1}); $meta sorts and invalid
// values yield an empty list (the sort stage validates sort documents itself).
std::vector<SortField> SortFieldsForPlanning(bson::DocView sort);

}  // namespace amalgam::query
