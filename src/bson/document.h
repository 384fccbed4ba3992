#pragma once
// Views over BSON bytes: DocView (a document or array), Value (one element's value) and
// Element (name + value), plus Document, which owns its bytes.
//
// Views never copy and never own: they borrow bytes that must outlive them. Every view assumes
// its bytes were checked by ValidateDocument() (bson/validate.h) or produced by bson::Builder;
// reading unvalidated bytes through a view is a bug. Views are cheap values, safe to share
// across threads while the bytes are immutable.

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "bson/types.h"

namespace amalgam::bson {

class DocView;

struct Binary {
  uint8_t subtype;
  std::span<const uint8_t> data;  // for subtype 2 (old binary), the inner bytes
};
struct Decimal128Bits {
  uint64_t low;
  uint64_t high;
};
struct TimestampValue {
  uint32_t increment;
  uint32_t seconds;
};
struct RegexValue {
  std::string_view pattern;
  std::string_view options;
};
struct DbPointerValue {
  std::string_view ns;
  const uint8_t* oid;  // 12 bytes
};
struct CodeWithScopeValue;

// The value of one element: a type and the bytes after the element name. A default Value is
// "missing" (type kEod). Accessors REQUIRE the matching type.
class Value {
 public:
  Value() = default;
  Value(BsonType type, const uint8_t* data, uint32_t size) : type_(type), data_(data), size_(size) {}

  BsonType type() const { return type_; }
  bool missing() const { return type_ == BsonType::kEod; }
  bool IsNumber() const { return IsNumeric(type_); }
  // The raw value bytes (no type byte, no name), as they appear in the document.
  std::span<const uint8_t> raw() const { return {data_, size_}; }

  double AsDouble() const { return Load<double>(0); }
  int32_t AsInt32() const { return Load<int32_t>(0); }
  int64_t AsInt64() const { return Load<int64_t>(0); }  // also kDate (ms since epoch)
  int64_t AsDateMillis() const { return Load<int64_t>(0); }
  bool AsBool() const { return data_[0] != 0; }
  // kString, kSymbol, kCode: the text without its trailing NUL.
  std::string_view AsString() const {
    return {reinterpret_cast<const char*>(data_ + 4), static_cast<size_t>(Load<int32_t>(0) - 1)};
  }
  // kDocument or kArray.
  DocView AsDocument() const;
  std::span<const uint8_t, 12> AsObjectId() const { return std::span<const uint8_t, 12>(data_, 12); }
  Binary AsBinary() const;
  Decimal128Bits AsDecimal128() const { return {Load<uint64_t>(0), Load<uint64_t>(8)}; }
  TimestampValue AsTimestamp() const { return {Load<uint32_t>(0), Load<uint32_t>(4)}; }
  RegexValue AsRegex() const;
  DbPointerValue AsDbPointer() const;
  // kCodeWithScope: the code and the scope document.
  std::string_view CodeWithScopeCode() const;
  DocView CodeWithScopeScope() const;

  // Numeric value as a double (int64 and decimal128 may round). REQUIRES IsNumber().
  double NumberAsDouble() const;

 private:
  template <typename T>
  T Load(uint32_t offset) const {
    T v;
    std::memcpy(&v, data_ + offset, sizeof(T));
    return v;
  }
  BsonType type_ = BsonType::kEod;
  const uint8_t* data_ = nullptr;
  uint32_t size_ = 0;
};

struct Element {
  std::string_view name;
  Value value;
};

// A validated BSON document or array: int32 length, elements, trailing NUL.
class DocView {
 public:
  // An empty document (5 bytes, static storage).
  DocView();
  // REQUIRES: `data` holds a validated document of `size` bytes.
  DocView(const uint8_t* data, uint32_t size) : data_(data), size_(size) {}

  const uint8_t* data() const { return data_; }
  uint32_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  std::string_view bytes_view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  bool empty() const { return size_ <= 5; }

  class Iterator {
   public:
    Iterator(const uint8_t* pos, const uint8_t* end) : pos_(pos), end_(end) { Load(); }
    const Element& operator*() const { return current_; }
    const Element* operator->() const { return &current_; }
    Iterator& operator++() {
      pos_ = next_;
      Load();
      return *this;
    }
    bool operator==(const Iterator& other) const { return pos_ == other.pos_; }
    bool operator!=(const Iterator& other) const { return pos_ != other.pos_; }

   private:
    void Load();
    const uint8_t* pos_;
    const uint8_t* end_;
    const uint8_t* next_ = nullptr;
    Element current_;
  };

  Iterator begin() const { return Iterator(data_ + 4, data_ + size_ - 1); }
  Iterator end() const { return Iterator(data_ + size_ - 1, data_ + size_ - 1); }

  // The first element named `name`, or a missing Value. Linear in the number of elements.
  Value Get(std::string_view name) const;
  // Number of elements. Linear.
  size_t CountElements() const;

 private:
  const uint8_t* data_;
  uint32_t size_;
};

// Returns the size in bytes of the value of type `type` starting at `p`.
// REQUIRES: the bytes were validated.
uint32_t ValueSize(BsonType type, const uint8_t* p);

// A document that owns its bytes. Movable and copyable.
class Document {
 public:
  Document();  // empty document
  // Takes bytes already known valid (from Builder or ValidateDocument).
  static Document FromValidatedBytes(std::string bytes) { return Document(std::move(bytes)); }
  // Copies a view.
  explicit Document(DocView view) : bytes_(view.bytes_view()) {}

  DocView view() const {
    return DocView(reinterpret_cast<const uint8_t*>(bytes_.data()), static_cast<uint32_t>(bytes_.size()));
  }
  const std::string& bytes() const { return bytes_; }
  std::string release() && { return std::move(bytes_); }

 private:
  explicit Document(std::string bytes) : bytes_(std::move(bytes)) {}
  std::string bytes_;
};

}  // namespace amalgam::bson
