#include "bson/types.h"

namespace amalgam::bson {

bool IsValidType(uint8_t b) {
  return (b >= 0x01 && b <= 0x13) || b == 0x7F || b == 0xFF;
}

int CanonicalRank(BsonType type) {
  switch (type) {
    case BsonType::kMinKey: return -1;
    case BsonType::kEod:
    case BsonType::kUndefined: return 0;
    case BsonType::kNull: return 5;
    case BsonType::kDouble:
    case BsonType::kInt32:
    case BsonType::kInt64:
    case BsonType::kDecimal128: return 10;
    case BsonType::kString:
    case BsonType::kSymbol: return 15;
    case BsonType::kDocument: return 20;
    case BsonType::kArray: return 25;
    case BsonType::kBinary: return 30;
    case BsonType::kObjectId: return 35;
    case BsonType::kBool: return 40;
    case BsonType::kDate: return 45;
    case BsonType::kTimestamp: return 47;
    case BsonType::kRegex: return 50;
    case BsonType::kDbPointer: return 55;
    case BsonType::kCode: return 60;
    case BsonType::kCodeWithScope: return 65;
    case BsonType::kMaxKey: return 127;
  }
  return 0;
}

namespace {
struct AliasRow {
  BsonType type;
  std::string_view alias;
};
constexpr AliasRow kAliases[] = {
    {BsonType::kDouble, "double"},       {BsonType::kString, "string"},
    {BsonType::kDocument, "object"},     {BsonType::kArray, "array"},
    {BsonType::kBinary, "binData"},      {BsonType::kUndefined, "undefined"},
    {BsonType::kObjectId, "objectId"},   {BsonType::kBool, "bool"},
    {BsonType::kDate, "date"},           {BsonType::kNull, "null"},
    {BsonType::kRegex, "regex"},         {BsonType::kDbPointer, "dbPointer"},
    {BsonType::kCode, "javascript"},     {BsonType::kSymbol, "symbol"},
    {BsonType::kCodeWithScope, "javascriptWithScope"},
    {BsonType::kInt32, "int"},           {BsonType::kTimestamp, "timestamp"},
    {BsonType::kInt64, "long"},          {BsonType::kDecimal128, "decimal"},
    {BsonType::kMinKey, "minKey"},       {BsonType::kMaxKey, "maxKey"},
};
}  // namespace

std::string_view TypeAlias(BsonType type) {
  for (const AliasRow& row : kAliases) {
    if (row.type == type) return row.alias;
  }
  return "missing";
}

bool TypeFromAlias(std::string_view alias, BsonType* out) {
  for (const AliasRow& row : kAliases) {
    if (row.alias == alias) {
      *out = row.type;
      return true;
    }
  }
  return false;
}

}  // namespace amalgam::bson
