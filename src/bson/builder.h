#pragma once
// Builder: appends elements to a new BSON document. Produces valid bytes by construction
// (lengths are back-patched when a (sub)document is closed). Not thread-safe.
//
//   Builder b;
//   b.AppendString("name", "x").StartDocument("meta").AppendInt32("n", 1).EndDocument();
//   Document doc = std::move(b).Finish();

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bson/document.h"

namespace amalgam::bson {

class Builder {
 public:
  Builder();

  Builder& AppendDouble(std::string_view name, double v);
  Builder& AppendString(std::string_view name, std::string_view v);
  Builder& AppendSymbol(std::string_view name, std::string_view v);
  Builder& AppendCode(std::string_view name, std::string_view v);
  Builder& AppendInt32(std::string_view name, int32_t v);
  Builder& AppendInt64(std::string_view name, int64_t v);
  Builder& AppendBool(std::string_view name, bool v);
  Builder& AppendNull(std::string_view name);
  Builder& AppendUndefined(std::string_view name);
  Builder& AppendMinKey(std::string_view name);
  Builder& AppendMaxKey(std::string_view name);
  Builder& AppendDate(std::string_view name, int64_t millis);
  Builder& AppendTimestamp(std::string_view name, uint32_t seconds, uint32_t increment);
  Builder& AppendObjectId(std::string_view name, std::span<const uint8_t, 12> oid);
  Builder& AppendBinary(std::string_view name, uint8_t subtype, std::span<const uint8_t> data);
  Builder& AppendDecimal128(std::string_view name, Decimal128Bits v);
  Builder& AppendRegex(std::string_view name, std::string_view pattern, std::string_view options);
  // Copies an existing value, whatever its type. A missing value appends nothing.
  Builder& AppendValue(std::string_view name, const Value& v);
  Builder& AppendDocument(std::string_view name, DocView doc);
  Builder& AppendArray(std::string_view name, DocView array);
  // Copies every element of `doc` into the document being built.
  Builder& AppendElements(DocView doc);

  // Opens a nested document or array; elements go there until the matching End call. For arrays
  // the caller names elements "0", "1", ... (see ArrayBuilder for a helper).
  Builder& StartDocument(std::string_view name);
  Builder& StartArray(std::string_view name);
  Builder& EndDocument();
  Builder& EndArray() { return EndDocument(); }

  // Bytes written so far (a lower bound on the final size).
  size_t size() const { return buf_.size(); }
  // Closes the top-level document. REQUIRES: every Start has been ended.
  Document Finish() &&;

 private:
  void Header(BsonType type, std::string_view name);
  void Raw(const void* p, size_t n) { buf_.append(static_cast<const char*>(p), n); }
  template <typename T>
  void Put(T v) {
    Raw(&v, sizeof(T));
  }
  void PutLString(std::string_view s);

  std::string buf_;
  std::vector<size_t> open_;  // offsets of length fields of open documents
};

// Appends array elements with generated names "0", "1", ... to a Builder that has just
// started an array. Not thread-safe.
class ArrayBuilder {
 public:
  explicit ArrayBuilder(Builder& b) : b_(b) {}
  // The name for the next element; advances the index.
  std::string_view Next();
  uint32_t count() const { return index_; }

 private:
  Builder& b_;
  uint32_t index_ = 0;
  char name_[12];
};

// A new ObjectId (timestamp, per-process random value, counter), as drivers generate them.
// Thread-safe.
std::array<uint8_t, 12> NewObjectId();

}  // namespace amalgam::bson
