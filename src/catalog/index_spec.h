#pragma once
// IndexSpec: the definition of one secondary index as the catalog stores it, and its parser
// (the createIndexes key pattern and options, validated as MongoDB validates them).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bson/document.h"
#include "bson/field_path.h"
#include "common/result.h"

namespace amalgam::catalog {

struct IndexField {
  bson::FieldPath path;
  bool descending;
};

struct IndexSpec {
  // Persisted: never renumber.
  enum class State : uint8_t { kReady = 0, kBuilding = 1 };

  uint64_t id = 0;  // unique across the whole catalog, never reused
  std::string name;
  bson::Document key_pattern;  // as given, e.g. {a: 1, "b.c": -1}
  std::vector<IndexField> fields;
  bool unique = false;
  bool sparse = false;
  std::optional<bson::Document> partial_filter;
  std::optional<int64_t> expire_after_seconds;  // TTL (expiry runs in a later layer)
  State state = State::kReady;
  bool is_id_index = false;  // the implicit {_id: 1} index (served by the documents themselves)

  // The spec as listIndexes shows it: {v: 2, key, name, unique?, sparse?, ...}.
  bson::Document ToListing() const;
};

// Parses one element of createIndexes' `indexes` array. `id` and `state` are left for the
// caller. Errors (MongoDB's codes): kCannotCreateIndex for a bad key pattern (empty, a value
// that is not a non-zero number, an unsupported plugin such as "text" or "2dsphere"), kBadValue
// / kTypeMismatch / kInvalidOptions for bad options, naming the offending field.
Result<IndexSpec> ParseIndexSpec(bson::DocView spec);

// The default name MongoDB derives from a key pattern: {a: 1, b: -1} -> "a_1_b_-1".
std::string DefaultIndexName(bson::DocView key_pattern);

// Persisted form (inside a collection record) and back. Errors: kDataCorruption.
bson::Document EncodeIndexSpec(const IndexSpec& spec);
Result<IndexSpec> DecodeIndexSpec(bson::DocView record);

}  // namespace amalgam::catalog
