#pragma once
// Matcher: MongoDB's query language (find filters), compiled once and evaluated per document.
//
//   AMALGAM_ASSIGN_OR_RETURN(query::Matcher m, query::Matcher::Compile(filter, {}));
//   if (m.Matches(doc)) ...
//
// Semantics follow MongoDB 7.0 (path traversal rules: query/path_walk.h; cases pinned by
// tests/conformance/matcher/*.txt):
// implicit array traversal along dotted paths (each element of an array, then the array
// itself), numeric path parts indexing arrays ("a.0.b"), {a: null} matching missing, null and
// undefined, comparisons only within a type bracket (bson::CanonicalRank) except against
// MinKey/MaxKey, $ne/$nin/$not as negations of the whole path predicate, NaN equal to NaN.
//
// Operators: $eq $ne $gt $gte $lt $lte $in $nin $exists $type $regex/$options $mod $all
// $elemMatch (value and object form) $size $bitsAllSet $bitsAllClear $bitsAnySet $bitsAnyClear
// $not; top level $and $or $nor $expr (query/expression.h) $comment $alwaysTrue $alwaysFalse.
//
// Compile errors (Status codes; the MongoDB code in parentheses):
//   kBadValue (2)       unknown operators ("unknown operator: $foo", "unknown top level
//                       operator: $foo"), malformed arguments with MongoDB's messages
//                       ("$in needs an array", "$and/$or/$nor must be a nonempty array",
//                       "$size needs a number", "$regex has to be a string", "$not needs a
//                       regex or a document", "malformed mod, ...", ...), invalid regexes,
//                       $where ("no globalScriptEngine in $where parsing", as a server without
//                       JavaScript answers), nesting deeper than kMaxMatchDepth.
//   kTypeMismatch (14)  a $type argument that is neither a number nor a string.
//   kFailedToParse (9)  a bit-test bitmask that is not a non-negative integer.
//   kNotImplemented (238) $jsonSchema, $text, $near, $nearSphere, $geoWithin, $geoIntersects,
//                       $within, $sampleRate.
//
// Thread safety: a compiled Matcher is immutable; Matches/Evaluate may run concurrently from any
// number of threads. It owns a copy of every filter byte it needs, so the filter passed to
// Compile may be freed afterwards.

#include <cstdint>
#include <memory>
#include <optional>

#include "bson/document.h"
#include "common/result.h"

namespace amalgam::query {

// Deepest nesting of $and/$or/$nor/$not/$elemMatch accepted (MongoDB's limit too).
inline constexpr int kMaxMatchDepth = 100;

struct MatchContext {
  // Variables for $expr ($$name), as a document of name -> value; copied by Compile.
  // Empty by default.
  bson::DocView variables;
};

// What a successful match reports besides "yes".
struct MatchDetails {
  // The position within the first array the path traversed implicitly at which the match was
  // found (MongoDB's "elemMatchKey", used by the positional `$` projection and update
  // operator). With several predicates under $and, the last one that recorded a position
  // wins, as in MongoDB. Unset when no array was traversed implicitly.
  std::optional<uint32_t> array_index;
};

class Matcher {
 public:
  // Compiles `filter`. Copies the bytes it keeps. Errors: see the file comment.
  static Result<Matcher> Compile(bson::DocView filter, const MatchContext& ctx);

  // True if `doc` matches. An error while evaluating $expr (e.g. "$divide by zero") counts as no
  // match here; use Evaluate() to see it. `details`, if given, is reset and then filled on match.
  bool Matches(bson::DocView doc, MatchDetails* details = nullptr) const;

  // Like Matches, but returns an $expr evaluation error (kBadValue, kTypeMismatch,
  // kNotImplemented; see query/expression.h) instead of treating it as no match.
  Result<bool> Evaluate(bson::DocView doc, MatchDetails* details = nullptr) const;

  // True if the filter contains $expr (the only source of evaluation errors).
  bool has_expr() const;

  struct State;  // opaque: the compiled tree and the bytes it points into

  // Copies share the immutable compiled state.
  Matcher(const Matcher&);
  Matcher& operator=(const Matcher&);
  Matcher(Matcher&&) noexcept;
  Matcher& operator=(Matcher&&) noexcept;
  ~Matcher();

 private:
  Matcher();
  std::shared_ptr<const State> state_;
};

}  // namespace amalgam::query
