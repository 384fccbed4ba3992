#pragma once
// DynamoDB items <-> BSON documents, as docs/dynamodb-mapping.md decides (a persisted format).
//
// API (no I/O, thread-safe):
//   KeySchema                 the table's (or an index's) key: hash name/type, optional range.
//   ValidateItemForWrite      the checks PutItem (and an UpdateItem result) needs on a whole
//                             item: key present, declared type, not empty, size limits, no
//                             reserved attribute names, no >34-digit numbers in keys.
//   ValidateKey               the checks on a Key parameter (GetItem/DeleteItem/UpdateItem...):
//                             exactly the key attributes, with their declared types.
//   AppendId / BuildIdDocument  the BSON `_id` of an item or key.
//   ExtractKey                the key attributes of an item.
//   ItemToBson                the stored document (`_id` first, attributes, `_ddbSets`).
//   ItemFromBson              the item a stored document (also one written by the MongoDB
//                             face) reads as.
//   NumberToBson / AppendNumber  an N as BSON (decimal128, or binData 0x80 beyond 34 digits),
//                             e.g. for building engine index bounds.
//
// Errors: ErrorCode::kBadValue (DynamoDB ValidationException) with DynamoDB's messages.

#include <optional>
#include <string>
#include <string_view>

#include "api/dynamo/model/attribute_value.h"
#include "bson/builder.h"
#include "bson/document.h"
#include "common/result.h"

namespace amalgam::dynamo {

// binData subtype holding an N of 35-38 significant digits as its canonical text.
inline constexpr uint8_t kExactNumberSubtype = 0x80;
// The top-level field recording which arrays are sets.
inline constexpr std::string_view kSetsField = "_ddbSets";
inline constexpr size_t kMaxHashKeySize = 2048;
inline constexpr size_t kMaxRangeKeySize = 1024;

struct KeySchema {
  std::string hash_name;
  AttrType hash_type = AttrType::kS;  // S, N or B
  std::optional<std::string> range_name;
  AttrType range_type = AttrType::kS;

  bool has_range() const { return range_name.has_value(); }
  // True when `name` is one of the key attributes.
  bool IsKeyAttribute(std::string_view name) const {
    return name == hash_name || (range_name && name == *range_name);
  }
};

// Checks a whole item about to be stored in a table with `schema`:
//   "One or more parameter values were invalid: Missing the key <k> in the item"
//   "One or more parameter values were invalid: Type mismatch for key <k> expected: <T> actual: <U>"
//   "One or more parameter values are not valid. The AttributeValue for a key attribute cannot
//    contain an empty string value. Key: <k>" (and "... empty binary value ...")
//   "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size
//    limit of2048 bytes" / "... Aggregated size of all range keys has exceeded the size limit
//    of 1024 bytes"
//   "Item size has exceeded the maximum allowed size"
//   reserved names `_id` (unless it is the hash key) and `_ddbSets`; numbers with more than 34
//   significant digits in a key attribute and attribute or map-key names containing a NUL byte
//   (limits of this server: see the mapping doc; BSON names are C strings).
Status ValidateItemForWrite(const KeySchema& schema, const Item& item);

// Checks a Key parameter: exactly the schema's key attributes with their declared types and
// non-empty values. Mismatch: "The provided key element does not match the schema"; empty
// values, size limits and >34-digit numbers as in ValidateItemForWrite.
Status ValidateKey(const KeySchema& schema, const Item& key);

// Checks that no attribute of `item` uses a reserved name (`_ddbSets`; `_id` unless it is the
// hash key). Used by ValidateItemForWrite; exposed for UpdateItem's SET of new attributes.
Status CheckReservedNames(const KeySchema& schema, const Item& item);

// The key attributes of `item` (REQUIRES: validated).
Item ExtractKey(const KeySchema& schema, const Item& item);

// Appends the `_id` value of `key_or_item` under `field_name` (usually "_id"): the hash value
// alone, or {hash: .., range: ..}; B components as lowercase hex strings, N as decimal128.
// REQUIRES: the key attributes are present with their declared types (ValidateKey or
// ValidateItemForWrite passed).
void AppendId(const KeySchema& schema, const Item& key_or_item, bson::Builder& b,
              std::string_view field_name = "_id");
// {_id: <id>} as a document.
bson::Document BuildIdDocument(const KeySchema& schema, const Item& key_or_item);
// Appends one key component value as it appears in `_id` (S: string, N: decimal128, B: hex).
// REQUIRES: v is S, N (<= 34 digits) or B.
void AppendKeyComponent(const AttributeValue& v, bson::Builder& b, std::string_view field_name);

// The stored document: `_id` first, then every attribute (in name order; the hash key named
// `_id` is the `_id` field itself when there is no range key), then `_ddbSets` when the item
// holds sets. REQUIRES: ValidateItemForWrite passed.
bson::Document ItemToBson(const KeySchema& schema, const Item& item);

// Reads a stored document back as an item (exactly the item written by ItemToBson). Documents
// written through the MongoDB face read by the mapping doc's rules (numbers -> N, other BSON
// types -> S of their extended JSON, ...). Never fails: every BSON document has a reading.
Item ItemFromBson(const KeySchema& schema, bson::DocView doc);

// An N as BSON: decimal128 (normalized) when it has at most 34 significant digits, otherwise
// binData subtype 0x80 holding the canonical text. REQUIRES: canonical.
void AppendNumber(std::string_view canonical, bson::Builder& b, std::string_view field_name);
// The DynamoDB reading of one BSON value (no set detection). Exposed for tests and for code
// that reads single fields (e.g. index keys).
AttributeValue AttributeValueFromBson(const bson::Value& v);

// Lowercase hex of bytes, and back (false on odd length or a non-hex digit).
std::string HexEncode(std::string_view bytes);
bool HexDecode(std::string_view hex, std::string* out);

}  // namespace amalgam::dynamo
