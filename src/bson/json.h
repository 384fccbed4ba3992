#pragma once
// Extended JSON <-> BSON, for tests, logs and tools (not a hot path). Uses libbson.

#include <string>
#include <string_view>

#include "bson/document.h"
#include "common/result.h"

namespace amalgam::bson {

// Relaxed Extended JSON v2 ({"a": 1, "d": {"$date": ...}}).
std::string ToJson(DocView doc);
// Canonical Extended JSON v2 ({"a": {"$numberInt": "1"}}): exact types.
std::string ToCanonicalJson(DocView doc);
// MongoDB's own rendering of a document in messages (BSONObj::toString): { a: 1, b: "x",
// c: ObjectId('...') } — used where error text must match the server's, e.g. E11000 messages.
std::string ToShellString(DocView doc);
// Parses (relaxed or canonical) Extended JSON. Errors: kFailedToParse with libbson's message.
Result<Document> FromJson(std::string_view json);

}  // namespace amalgam::bson
