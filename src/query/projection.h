#pragma once
// Projection: find's `projection` and findAndModify's `fields`, compiled once and applied per
// document, with MongoDB 7.0's semantics (its projection_ast parser and find projection executor).
//
//   AMALGAM_ASSIGN_OR_RETURN(query::Projection p, query::Projection::Compile(spec, {}));
//   AMALGAM_ASSIGN_OR_RETURN(bson::Document out, p.Apply(doc, &match_details));
//
// A projection is an inclusion or an exclusion projection:
//   - inclusion ({a: 1, "b.c": true}): the named paths, in the document's field order; through
//     arrays of documents the array keeps its shape with projected subdocuments and loses its
//     non-document elements (nested arrays are entered too). `_id` is included unless `_id: 0`.
//   - exclusion ({a: 0}): everything but the named paths. `_id` may be 0 or 1 in either kind.
//   - computed fields make it an inclusion projection: aggregation expressions (query/expression.h)
//     as values ({t: {$add: ["$a", "$b"]}}, {x: "$y"}, {s: "text"}, {n: null}, {l: [1, "$a"]}),
//     `$elemMatch` (top-level fields only: the first array element that matches, as a one-element
//     array) and `$meta`. Computed fields are evaluated against the input document and set after
//     the included fields: a field already in the output keeps its place, a new one is appended,
//     in projection order; a field that evaluates to missing is left out. A dotted computed path
//     through a scalar replaces it by a document ({"a.b": {$literal: 1}} on {a: 5} -> {a: {b: 1}}).
//   - find-only operators applied after the rest, to the projected document: `$slice` (n, -n,
//     [skip, limit]; in an exclusion projection it leaves everything else in place) and the
//     positional `a.$` (the element at the query's match position, from MatchDetails).
//   - The type of a projection with only `_id`, `$slice`, `$elemMatch` and `$meta` follows
//     MongoDB's compatibility rules: `$slice` -> exclusion unless `_id: 1`; `$elemMatch` ->
//     inclusion; `$meta` -> exclusion unless `_id: 1`; {_id: 1} -> inclusion; {_id: 0} and {}
//     -> exclusion. An empty projection returns the document unchanged.
//   - Numbers and booleans include when truthy (true, any non-zero number, NaN) and exclude when
//     false or zero; every other non-document value is a literal expression.
//
// Compile errors carry MongoDB's code and message. The internal ErrorCode is the registry row
// with that MongoDB code (common/error_codes.def) when there is one, else kBadValue:
//   31253 "Cannot do inclusion on field x in exclusion projection"
//   31254 "Cannot do exclusion on field x in inclusion projection"
//   31250 "Path collision at a.b"           (the same path twice)
//   31249 "Path collision at a.b remaining portion b"  (a path below another projected path)
//   31252 "Cannot use expression other than $meta in exclusion projection"
//   31310 "Cannot use an expression x: \"$y\" in an exclusion projection"
//   31394 positional operator in the middle of a path ("a.$.b"), 31276 more than one positional,
//   31255/31256 positional together with $elemMatch, 31395 positional exclusion,
//   31271 positional with a sub-object, 31308 positional with a literal, 5392900 ".$" alone,
//   31272/31257/31258/31259/31273 malformed find $slice (when the value does not parse as the
//   aggregation $slice either: the error then has the expression's code and both messages),
//   31274 $elemMatch argument not an object, 31275 $elemMatch on a nested field, 51270 empty
//   sub-projection, 31325 unknown expression, 17307/17308 bad $meta argument, field path errors
//   40352 (empty), 40353 (ends with '.'), 15998 (empty part), 16410 (part starting with '$'),
//   and the expression and matcher parse errors of query/expression.h and query/matcher.h.
// Apply errors: 51246 "positional operator '.$' couldn't find a matching element in the array"
// (the first array on the positional path was reached but `details` has no array index),
// 51247 "positional operator '.$' element mismatch" (the index is past the array), and
// expression evaluation errors (query/expression.h).
//
// Thread safety: a compiled Projection is immutable; Apply may run concurrently. It owns copies of
// the specification and variables, so the bytes passed to Compile may be freed afterwards.

#include <memory>
#include <string_view>

#include "bson/document.h"
#include "common/result.h"
#include "query/matcher.h"

namespace amalgam::query {

struct ProjectionOptions {
  // Variables for expressions ($$name), as a document of name -> value; copied by Compile.
  bson::DocView variables;
};

struct ProjectionApplyContext {
  // The query match of this document (for the positional `$`); may be null.
  const MatchDetails* details = nullptr;
  // $meta values by name ({textScore: 1.5, indexKey: {...}}); a name not present leaves the
  // field out. Borrowed for the call.
  bson::DocView meta;
};

enum class ProjectionKind : uint8_t { kInclusion, kExclusion };

class Projection {
 public:
  // Compiles `projection`. Errors: see the file comment.
  static Result<Projection> Compile(bson::DocView projection, const ProjectionOptions& options);

  // Returns the projected document. Errors: see the file comment.
  Result<bson::Document> Apply(bson::DocView doc, const MatchDetails* details) const;
  Result<bson::Document> Apply(bson::DocView doc, const ProjectionApplyContext& ctx) const;

  ProjectionKind kind() const;
  // True for {} (Apply returns the document unchanged).
  bool is_identity() const;
  // True if the projection uses the positional `$` (the caller must pass MatchDetails).
  bool has_positional() const;
  // True if the projection uses {$meta: ...}.
  bool has_meta() const;

  struct State;  // opaque: the compiled tree and the bytes it points into

  Projection(const Projection&);
  Projection& operator=(const Projection&);
  Projection(Projection&&) noexcept;
  Projection& operator=(Projection&&) noexcept;
  ~Projection();

 private:
  Projection();
  std::shared_ptr<const State> state_;
};

// Checks a dotted field path the way MongoDB's FieldPath does (errors 40352, 40353, 15998, 16410;
// "$id", "$ref" and "$db" parts are allowed). Shared with query/sort.h.
Status ValidateFieldPathForProjection(std::string_view path);

// A status with MongoDB code `mongo_code`: the registry's row for that code when there is one,
// else kBadValue. Shared with query/sort.h.
Status MongoCodedError(int32_t mongo_code, std::string message);

}  // namespace amalgam::query
