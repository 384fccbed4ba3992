#pragma once
// FindField: bson::DocView::Get for the per-document hot paths of queries and pipelines (the
// matcher's path walk, aggregation field paths). The same answer (the first element named
// `name`, or a missing Value), without building an Element per field and with the sizes of the
// common fixed-size and string values computed inline.

#include <cstdint>
#include <cstring>
#include <string_view>

#include "bson/document.h"

namespace amalgam::query {

inline uint32_t FastValueSize(bson::BsonType type, const uint8_t* value) {
  switch (type) {
    case bson::BsonType::kInt32:
      return 4;
    case bson::BsonType::kDouble:
    case bson::BsonType::kInt64:
    case bson::BsonType::kDate:
    case bson::BsonType::kTimestamp:
      return 8;
    case bson::BsonType::kString: {
      int32_t len;
      std::memcpy(&len, value, sizeof len);
      return 4 + static_cast<uint32_t>(len);
    }
    case bson::BsonType::kBool:
      return 1;
    case bson::BsonType::kNull:
    case bson::BsonType::kUndefined:
    case bson::BsonType::kMinKey:
    case bson::BsonType::kMaxKey:
      return 0;
    case bson::BsonType::kObjectId:
      return 12;
    default:
      return bson::ValueSize(type, value);
  }
}

// REQUIRES: `doc` is validated BSON (as every DocView).
inline bson::Value FindField(bson::DocView doc, std::string_view name) {
  const uint8_t* p = doc.data() + 4;
  const uint8_t* end = doc.data() + doc.size() - 1;
  while (p < end) {
    auto type = static_cast<bson::BsonType>(p[0]);
    const char* field = reinterpret_cast<const char*>(p + 1);
    size_t len = std::strlen(field);
    const uint8_t* value = p + 2 + len;
    uint32_t size = FastValueSize(type, value);
    if (len == name.size() && std::memcmp(field, name.data(), len) == 0) return bson::Value(type, value, size);
    p = value + size;
  }
  return bson::Value();
}

}  // namespace amalgam::query
