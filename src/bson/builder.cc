#include "bson/builder.h"

#include <cstdio>
#include <cstring>

namespace amalgam::bson {

Builder::Builder() {
  buf_.reserve(64);
  open_.push_back(0);
  Put<int32_t>(0);
}

void Builder::Header(BsonType type, std::string_view name) {
  buf_.push_back(static_cast<char>(type));
  // Field names are C strings: an embedded NUL would end the name early, so stop there.
  size_t n = name.find('\0');
  Raw(name.data(), n == std::string_view::npos ? name.size() : n);
  buf_.push_back('\0');
}

void Builder::PutLString(std::string_view s) {
  Put<int32_t>(static_cast<int32_t>(s.size() + 1));
  Raw(s.data(), s.size());
  buf_.push_back('\0');
}

Builder& Builder::AppendDouble(std::string_view name, double v) {
  Header(BsonType::kDouble, name);
  Put(v);
  return *this;
}
Builder& Builder::AppendString(std::string_view name, std::string_view v) {
  Header(BsonType::kString, name);
  PutLString(v);
  return *this;
}
Builder& Builder::AppendSymbol(std::string_view name, std::string_view v) {
  Header(BsonType::kSymbol, name);
  PutLString(v);
  return *this;
}
Builder& Builder::AppendCode(std::string_view name, std::string_view v) {
  Header(BsonType::kCode, name);
  PutLString(v);
  return *this;
}
Builder& Builder::AppendInt32(std::string_view name, int32_t v) {
  Header(BsonType::kInt32, name);
  Put(v);
  return *this;
}
Builder& Builder::AppendInt64(std::string_view name, int64_t v) {
  Header(BsonType::kInt64, name);
  Put(v);
  return *this;
}
Builder& Builder::AppendBool(std::string_view name, bool v) {
  Header(BsonType::kBool, name);
  buf_.push_back(v ? 1 : 0);
  return *this;
}
Builder& Builder::AppendNull(std::string_view name) {
  Header(BsonType::kNull, name);
  return *this;
}
Builder& Builder::AppendUndefined(std::string_view name) {
  Header(BsonType::kUndefined, name);
  return *this;
}
Builder& Builder::AppendMinKey(std::string_view name) {
  Header(BsonType::kMinKey, name);
  return *this;
}
Builder& Builder::AppendMaxKey(std::string_view name) {
  Header(BsonType::kMaxKey, name);
  return *this;
}
Builder& Builder::AppendDate(std::string_view name, int64_t millis) {
  Header(BsonType::kDate, name);
  Put(millis);
  return *this;
}
Builder& Builder::AppendTimestamp(std::string_view name, uint32_t seconds, uint32_t increment) {
  Header(BsonType::kTimestamp, name);
  Put(increment);
  Put(seconds);
  return *this;
}
Builder& Builder::AppendObjectId(std::string_view name, std::span<const uint8_t, 12> oid) {
  Header(BsonType::kObjectId, name);
  Raw(oid.data(), 12);
  return *this;
}
Builder& Builder::AppendBinary(std::string_view name, uint8_t subtype, std::span<const uint8_t> data) {
  Header(BsonType::kBinary, name);
  if (subtype == 0x02) {  // old binary: an inner length precedes the bytes
    Put<int32_t>(static_cast<int32_t>(data.size() + 4));
    buf_.push_back(static_cast<char>(subtype));
    Put<int32_t>(static_cast<int32_t>(data.size()));
  } else {
    Put<int32_t>(static_cast<int32_t>(data.size()));
    buf_.push_back(static_cast<char>(subtype));
  }
  Raw(data.data(), data.size());
  return *this;
}
Builder& Builder::AppendDecimal128(std::string_view name, Decimal128Bits v) {
  Header(BsonType::kDecimal128, name);
  Put(v.low);
  Put(v.high);
  return *this;
}
Builder& Builder::AppendRegex(std::string_view name, std::string_view pattern, std::string_view options) {
  Header(BsonType::kRegex, name);
  // Pattern and options are C strings too: stop each at an embedded NUL, as for names.
  pattern = pattern.substr(0, pattern.find('\0'));
  options = options.substr(0, options.find('\0'));
  Raw(pattern.data(), pattern.size());
  buf_.push_back('\0');
  Raw(options.data(), options.size());
  buf_.push_back('\0');
  return *this;
}
Builder& Builder::AppendValue(std::string_view name, const Value& v) {
  if (v.missing()) return *this;
  Header(v.type(), name);
  Raw(v.raw().data(), v.raw().size());
  return *this;
}
Builder& Builder::AppendDocument(std::string_view name, DocView doc) {
  Header(BsonType::kDocument, name);
  Raw(doc.data(), doc.size());
  return *this;
}
Builder& Builder::AppendArray(std::string_view name, DocView array) {
  Header(BsonType::kArray, name);
  Raw(array.data(), array.size());
  return *this;
}
Builder& Builder::AppendElements(DocView doc) {
  if (doc.size() > 5) Raw(doc.data() + 4, doc.size() - 5);
  return *this;
}
Builder& Builder::StartDocument(std::string_view name) {
  Header(BsonType::kDocument, name);
  open_.push_back(buf_.size());
  Put<int32_t>(0);
  return *this;
}
Builder& Builder::StartArray(std::string_view name) {
  Header(BsonType::kArray, name);
  open_.push_back(buf_.size());
  Put<int32_t>(0);
  return *this;
}
Builder& Builder::EndDocument() {
  buf_.push_back('\0');
  size_t start = open_.back();
  open_.pop_back();
  int32_t len = static_cast<int32_t>(buf_.size() - start);
  std::memcpy(buf_.data() + start, &len, 4);
  return *this;
}

Document Builder::Finish() && {
  while (open_.size() > 1) EndDocument();  // tolerate unbalanced use: close what is open
  buf_.push_back('\0');
  int32_t len = static_cast<int32_t>(buf_.size());
  std::memcpy(buf_.data(), &len, 4);
  open_.clear();
  return Document::FromValidatedBytes(std::move(buf_));
}

std::string_view ArrayBuilder::Next() {
  int n = std::snprintf(name_, sizeof(name_), "%u", index_++);
  return std::string_view(name_, static_cast<size_t>(n));
}

}  // namespace amalgam::bson
