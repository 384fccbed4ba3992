#include "bson/document.h"

#include <cstring>

namespace amalgam::bson {
namespace {
constexpr uint8_t kEmptyDoc[5] = {5, 0, 0, 0, 0};

inline int32_t LoadI32(const uint8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
}  // namespace

uint32_t ValueSize(BsonType type, const uint8_t* p) {
  switch (type) {
    case BsonType::kDouble:
    case BsonType::kDate:
    case BsonType::kInt64:
    case BsonType::kTimestamp: return 8;
    case BsonType::kString:
    case BsonType::kCode:
    case BsonType::kSymbol: return 4 + static_cast<uint32_t>(LoadI32(p));
    case BsonType::kDocument:
    case BsonType::kArray:
    case BsonType::kCodeWithScope: return static_cast<uint32_t>(LoadI32(p));
    case BsonType::kBinary: return 5 + static_cast<uint32_t>(LoadI32(p));
    case BsonType::kUndefined:
    case BsonType::kNull:
    case BsonType::kMinKey:
    case BsonType::kMaxKey:
    case BsonType::kEod: return 0;
    case BsonType::kObjectId: return 12;
    case BsonType::kBool: return 1;
    case BsonType::kRegex: {
      size_t a = std::strlen(reinterpret_cast<const char*>(p));
      size_t b = std::strlen(reinterpret_cast<const char*>(p + a + 1));
      return static_cast<uint32_t>(a + b + 2);
    }
    case BsonType::kDbPointer: return 4 + static_cast<uint32_t>(LoadI32(p)) + 12;
    case BsonType::kInt32: return 4;
    case BsonType::kDecimal128: return 16;
  }
  return 0;
}

DocView::DocView() : data_(kEmptyDoc), size_(5) {}

void DocView::Iterator::Load() {
  if (pos_ >= end_) {
    pos_ = end_;
    return;
  }
  BsonType type = static_cast<BsonType>(pos_[0]);
  const char* name = reinterpret_cast<const char*>(pos_ + 1);
  size_t name_len = std::strlen(name);
  const uint8_t* value = pos_ + 1 + name_len + 1;
  uint32_t size = ValueSize(type, value);
  current_.name = std::string_view(name, name_len);
  current_.value = Value(type, value, size);
  next_ = value + size;
}

Value DocView::Get(std::string_view name) const {
  for (const Element& e : *this) {
    if (e.name == name) return e.value;
  }
  return Value();
}

size_t DocView::CountElements() const {
  size_t n = 0;
  for (auto it = begin(); it != end(); ++it) ++n;
  return n;
}

DocView Value::AsDocument() const { return DocView(data_, size_); }

Binary Value::AsBinary() const {
  int32_t len = Load<int32_t>(0);
  uint8_t subtype = data_[4];
  if (subtype == 0x02 && len >= 4) {
    return {subtype, std::span<const uint8_t>(data_ + 9, static_cast<size_t>(len - 4))};
  }
  return {subtype, std::span<const uint8_t>(data_ + 5, static_cast<size_t>(len))};
}

RegexValue Value::AsRegex() const {
  const char* p = reinterpret_cast<const char*>(data_);
  size_t a = std::strlen(p);
  return {std::string_view(p, a), std::string_view(p + a + 1)};
}

DbPointerValue Value::AsDbPointer() const {
  int32_t len = Load<int32_t>(0);
  return {std::string_view(reinterpret_cast<const char*>(data_ + 4), static_cast<size_t>(len - 1)),
          data_ + 4 + len};
}

std::string_view Value::CodeWithScopeCode() const {
  int32_t len = Load<int32_t>(4);
  return {reinterpret_cast<const char*>(data_ + 8), static_cast<size_t>(len - 1)};
}

DocView Value::CodeWithScopeScope() const {
  int32_t len = Load<int32_t>(4);
  const uint8_t* scope = data_ + 8 + len;
  return DocView(scope, static_cast<uint32_t>(LoadI32(scope)));
}

Document::Document() : bytes_(reinterpret_cast<const char*>(kEmptyDoc), 5) {}

}  // namespace amalgam::bson
