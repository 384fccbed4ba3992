#pragma once
// Reading the values a dotted path reaches in a document, with MongoDB's implicit traversal of
// arrays: at an array that is not the path's end, the rest of the path is applied to each
// element that is a document (or, for a numeric part, to the element at that position).

#include <vector>

#include "bson/document.h"
#include "bson/field_path.h"
#include "common/status.h"

namespace amalgam::index {

// Appends every value `path` reaches (terminal arrays are appended whole, not expanded).
// Returns true if the path reached at least one value. Values borrow `doc`'s bytes.
bool CollectPathValues(bson::DocView doc, const bson::FieldPath& path, std::vector<bson::Value>* out);

// The values an index on `path` stores for `doc`, as MongoDB's key generator derives them:
// a terminal array contributes each element (an empty array contributes undefined); an array
// along the path contributes the keys of each element (elements without the rest of the path
// contribute null); a missing path contributes null. *expanded is set when an array was
// expanded (the index is then multikey on this path). *present is set when the path reached
// any value at all (sparse indexes skip documents where no field is present).
void IndexPathValues(bson::DocView doc, const bson::FieldPath& path, std::vector<bson::Value>* out,
                     bool* expanded, bool* present);

// Static values usable as keys: null and undefined.
bson::Value NullValue();
bson::Value UndefinedValue();

}  // namespace amalgam::index
