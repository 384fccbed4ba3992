#pragma once
// Update: MongoDB's update language (operator updates, replacement documents and pipeline-style
// updates), compiled once and applied per document. Semantics follow MongoDB 7.0; see
// docs/update-language.md for what is supported and the known differences.
//
//   UpdateOptions opts;
//   opts.array_filters = {...};
//   AMALGAM_ASSIGN_OR_RETURN(query::Update u, query::Update::Compile(spec, opts));
//   UpdateResultInfo info;
//   AMALGAM_ASSIGN_OR_RETURN(bson::Document next, u.Apply(doc, ctx, &info));
//   if (!info.modified) ... // MongoDB's nModified: 0
//
// Compile errors (Status codes; the MongoDB code in parentheses), with MongoDB's messages:
//   kFailedToParse (9)   unknown modifier ("Unknown modifier: $foo. Expected a valid update
//                        modifier or pipeline-style update specified as an array"), an empty
//                        operator object ("'$set' is empty. You must specify a field like so:
//                        {$set: {<field_name>: ...}}"), an operator argument that is not an object,
//                        an unused array filter ("The array filter for identifier 'x' was not used
//                        in the update { ... }"), malformed array filters, bad $pop arguments.
//   kBadValue (2)        malformed operator arguments ($push modifiers, $bit, $currentDate,
//                        $rename targets, $pullAll), positional path errors ("Too many positional
//                        (i.e. '$') elements found in path ..."), "No array filter found for
//                        identifier 'x' in path 'a.$[x]'", empty paths or path parts.
//   kTypeMismatch (14)   non-numeric $inc/$mul arguments.
//   kConflictingUpdateOperators (40)  two paths of one update overlap ("Updating the path 'a.b'
//                        would create a conflict at 'a'").
//   kDollarPrefixedFieldName (52)     a '$'-prefixed top-level field in a replacement document.
//   kInvalidOptions (72) a pipeline stage that is not allowed in an update.
//   Expression parse errors from query/expression.h, matcher compile errors from
//   query/matcher.h ($pull conditions, array filters).
//
// Apply errors:
//   kImmutableField (66)  the update would change or remove `_id`.
//   kBadValue (2)         positional `$` without a match from the query ("The positional operator
//                         did not find the match needed from the query."), $push/$addToSet/$pull on
//                         a non-array, array updates ($[]) on a missing or non-array path, $rename
//                         through arrays, int64 overflow in $inc/$mul.
//   kTypeMismatch (14)    $inc/$mul/$bit on a non-numeric value, $pop on a non-array.
//   kPathNotViable (28)   a path that must be created runs through a scalar or a non-numeric
//                         part of an array ("Cannot create field 'b' in element {a: 1}").
//   kConflictingUpdateOperators (40)  positional paths that resolve to the same element ("Update
//                         created a conflict at 'a.0'").
//   kDollarPrefixedFieldName (52), kInvalidIdField (53)  the result is not storable.
//   kBSONObjectTooLarge (10334)  the result exceeds 16 MiB; kOverflow (15) nesting beyond 100.
//   kNotImplemented (238) decimal128 arithmetic in $inc/$mul.
//
// Thread safety: a compiled Update is immutable; Apply/SeedUpsert may run concurrently from any
// number of threads. It owns copies of every byte it keeps (spec, array filters, variables).

#include <cstdint>
#include <memory>
#include <vector>

#include "bson/document.h"
#include "common/result.h"
#include "query/matcher.h"

namespace amalgam::query {

struct UpdateOptions {
  // arrayFilters: each {<identifier>[.<path>]: <condition>, ...}. Copied by Compile.
  std::vector<bson::DocView> array_filters;
  // The update may insert (upsert). Informational: $setOnInsert is driven by ApplyContext.
  bool is_upsert = false;
  // Variables ($$name) for pipeline expressions and $expr in conditions. Copied by Compile.
  bson::DocView variables;
};

struct ApplyContext {
  // Wall time in milliseconds since the epoch, for $currentDate.
  int64_t now_millis = 0;
  // The query's match details for the positional `$` operator; nullptr when there is none.
  const MatchDetails* match_details = nullptr;
  // The update inserts a new document (upsert): $setOnInsert applies.
  bool is_insert = false;
};

struct UpdateResultInfo {
  // False when the result is byte-for-byte the input (MongoDB's nModified: 0).
  bool modified = false;
  // {updatedFields: {<dotted path>: value}, removedFields: [<path>], truncatedArrays:
  // [{field: <path>, newSize: n}]}, as change streams show it; computed as a diff of the input
  // and the result (empty lists when nothing changed).
  bson::Document description;
};

class Update {
 public:
  enum class Kind : uint8_t { kOperators, kReplacement, kPipeline };

  // Compiles a document: an operator update when its first field name starts with '$', else a
  // replacement document. Errors: see the file comment.
  static Result<Update> Compile(bson::DocView update, const UpdateOptions& opts);
  // Compiles a value: a document as above, or an array as a pipeline of $set/$addFields/$unset/
  // $project/$replaceWith/$replaceRoot stages. Errors: kFailedToParse for other types.
  static Result<Update> Compile(const bson::Value& update, const UpdateOptions& opts);
  // Compiles a pipeline given as the bytes of a BSON array.
  static Result<Update> CompilePipeline(bson::DocView stages, const UpdateOptions& opts);

  Kind kind() const;

  // Applies the update to `doc` (REQUIRES: a valid document) and returns the new document, with
  // `_id` first and unchanged. `info`, if given, is filled. Errors: see the file comment.
  Result<bson::Document> Apply(bson::DocView doc, const ApplyContext& ctx,
                               UpdateResultInfo* info = nullptr) const;

  // The document an upsert starts from: the equality predicates of `query_filter` (top level and
  // inside $and, {$eq: v} included, other operators ignored), dotted paths creating nested
  // documents, `_id` first. Apply the update to it with is_insert. Errors: kBadValue when two
  // equality paths overlap ("cannot infer query fields to set, ...").
  static Result<bson::Document> SeedUpsert(bson::DocView query_filter);

  struct State;  // opaque

  Update(const Update&);
  Update& operator=(const Update&);
  Update(Update&&) noexcept;
  Update& operator=(Update&&) noexcept;
  ~Update();

 private:
  Update();
  std::shared_ptr<const State> state_;
};

}  // namespace amalgam::query
