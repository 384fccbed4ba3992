#pragma once
// The layout of secondary-index entries in the store's index column family
// (docs/storage.md, "Index entries"):
//
//   non-unique: key   = [index id: 8 bytes BE][encoded index key][encoded _id]
//               value = [encoded _id length: 2 bytes BE][key type bits]
//   unique:     key   = [index id: 8 bytes BE][encoded index key]
//               value = [encoded _id length: 2 bytes BE][encoded _id][key type bits]
//
// A unique index thus holds one entry per key value, so a second document with the same key
// finds the first one's entry (and locks it) with a single read.

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "common/result.h"
#include "storage/key_codec.h"

namespace amalgam::index {

struct IndexEntry {
  std::string key;
  std::string value;
};

// The first key of an index's range ([index id]) and the first key after it.
std::string IndexPrefix(uint64_t index_id);

IndexEntry MakeIndexEntry(uint64_t index_id, bool unique, const storage::EncodedKey& key, std::string_view encoded_id);

struct ParsedIndexEntry {
  std::string_view index_key;  // encoded index key (without the id prefix and _id suffix)
  std::string_view encoded_id;
  std::string_view typebits;
};
// Splits a stored entry. Views borrow `key` and `value`. Errors: kDataCorruption.
Result<ParsedIndexEntry> ParseIndexEntry(bool unique, std::string_view key, std::string_view value);

// The store key range [first, second) of index entries whose encoded keys lie in [lower, upper)
// (empty lower: from the index's start; empty upper: to its end).
std::pair<std::string, std::string> IndexScanRange(uint64_t index_id, std::string_view lower, std::string_view upper);

// The documents column family key of a document: [collection id: 8 bytes BE][encoded _id].
std::string DocumentKey(uint64_t collection_id, std::string_view encoded_id);

}  // namespace amalgam::index
