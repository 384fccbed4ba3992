#pragma once
// MongoDB's total order over BSON values (without collation): type brackets first
// (bson/types.h CanonicalRank), then within a bracket:
//   numbers by exact value across int32/int64/double/decimal128 (NaN lowest, -0 == 0);
//   strings and symbols bytewise, a prefix first; documents element by element, each element
//   by type bracket, then field name, then value, fewer elements first; arrays element by
//   element; binData by length, then subtype, then bytes; objectId bytewise; false < true;
//   dates as signed milliseconds; timestamps as unsigned (seconds, increment); regexes by pattern
//   then options; code by text, code-with-scope by text then scope.
// Missing (a default Value) ranks with undefined, below null: callers that need MongoDB's
// "null and missing sort equal" substitute null first.
// Recursion follows document nesting, which ValidateDocument bounds.

#include "bson/document.h"

namespace amalgam::bson {

// Returns <0, 0 or >0.
int CompareValues(const Value& a, const Value& b);
// Documents with field names considered.
int CompareDocuments(DocView a, DocView b);
inline bool ValuesEqual(const Value& a, const Value& b) { return CompareValues(a, b) == 0; }

}  // namespace amalgam::bson
