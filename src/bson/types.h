#pragma once
// BSON element types and MongoDB's canonical type order (the "type brackets" of sort order).

#include <cstdint>
#include <string_view>

namespace amalgam::bson {

// The BSON type byte, as on the wire. Persisted: never renumber.
enum class BsonType : uint8_t {
  kEod = 0x00,  // also used for "missing" by Value
  kDouble = 0x01,
  kString = 0x02,
  kDocument = 0x03,
  kArray = 0x04,
  kBinary = 0x05,
  kUndefined = 0x06,
  kObjectId = 0x07,
  kBool = 0x08,
  kDate = 0x09,
  kNull = 0x0A,
  kRegex = 0x0B,
  kDbPointer = 0x0C,
  kCode = 0x0D,
  kSymbol = 0x0E,
  kCodeWithScope = 0x0F,
  kInt32 = 0x10,
  kTimestamp = 0x11,
  kInt64 = 0x12,
  kDecimal128 = 0x13,
  kMaxKey = 0x7F,
  kMinKey = 0xFF,
};

// True for every type byte defined by the BSON spec (kEod excluded).
bool IsValidType(uint8_t byte);

// MongoDB's canonical rank of a type: values of types with different ranks compare by rank
// alone; all numeric types share one rank, as do string and symbol. Missing (kEod) ranks with
// undefined, below null. Ranks increase in MongoDB sort order:
// MinKey < undefined/missing < null < numbers < string/symbol < object < array < binData <
// objectId < bool < date < timestamp < regex < dbPointer < code < codeWithScope < MaxKey.
int CanonicalRank(BsonType type);

inline bool IsNumeric(BsonType t) {
  return t == BsonType::kDouble || t == BsonType::kInt32 || t == BsonType::kInt64 ||
         t == BsonType::kDecimal128;
}

// MongoDB's alias for $type: "double", "string", "object", "array", "binData", ... "minKey".
std::string_view TypeAlias(BsonType type);
// Inverse of TypeAlias. Returns false when `alias` names no type ("number" is not a type).
bool TypeFromAlias(std::string_view alias, BsonType* out);

}  // namespace amalgam::bson
