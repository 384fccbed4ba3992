#include "bson/compare.h"

#include <cstring>

#include "bson/number.h"

namespace amalgam::bson {
namespace {

int Sign(int64_t v) { return v < 0 ? -1 : (v > 0 ? 1 : 0); }

int CompareBytes(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  int c = n ? std::memcmp(a.data(), b.data(), n) : 0;
  if (c != 0) return Sign(c);
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

int CompareSequence(DocView a, DocView b, bool names) {
  auto ia = a.begin(), ea = a.end();
  auto ib = b.begin(), eb = b.end();
  for (; ia != ea && ib != eb; ++ia, ++ib) {
    int ra = CanonicalRank(ia->value.type()), rb = CanonicalRank(ib->value.type());
    if (ra != rb) return ra < rb ? -1 : 1;
    if (names) {
      int c = CompareBytes(ia->name, ib->name);
      if (c != 0) return c;
    }
    int c = CompareValues(ia->value, ib->value);
    if (c != 0) return c;
  }
  if (ia == ea && ib == eb) return 0;
  return ia == ea ? -1 : 1;
}

}  // namespace

int CompareDocuments(DocView a, DocView b) { return CompareSequence(a, b, true); }

int CompareValues(const Value& a, const Value& b) {
  int ra = CanonicalRank(a.type()), rb = CanonicalRank(b.type());
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (a.type()) {
    case BsonType::kEod:
    case BsonType::kUndefined:
    case BsonType::kNull:
    case BsonType::kMinKey:
    case BsonType::kMaxKey: return 0;
    case BsonType::kDouble:
    case BsonType::kInt32:
    case BsonType::kInt64:
    case BsonType::kDecimal128: return CompareNumbers(a, b);
    case BsonType::kString:
    case BsonType::kSymbol:
    case BsonType::kCode: return CompareBytes(a.AsString(), b.AsString());
    case BsonType::kDocument: return CompareSequence(a.AsDocument(), b.AsDocument(), true);
    case BsonType::kArray: return CompareSequence(a.AsDocument(), b.AsDocument(), false);
    case BsonType::kBinary: {
      Binary x = a.AsBinary(), y = b.AsBinary();
      // By the outer BSON length (the raw int32), which for the old subtype 2 counts the
      // inner length too, as MongoDB does.
      size_t xl = x.data.size() + (x.subtype == 0x02 ? 4 : 0), yl = y.data.size() + (y.subtype == 0x02 ? 4 : 0);
      if (xl != yl) return xl < yl ? -1 : 1;
      if (x.subtype != y.subtype) return x.subtype < y.subtype ? -1 : 1;
      return x.data.empty() ? 0 : Sign(std::memcmp(x.data.data(), y.data.data(), x.data.size()));
    }
    case BsonType::kObjectId: return Sign(std::memcmp(a.raw().data(), b.raw().data(), 12));
    case BsonType::kBool: return Sign(static_cast<int>(a.AsBool()) - static_cast<int>(b.AsBool()));
    case BsonType::kDate: {
      int64_t x = a.AsDateMillis(), y = b.AsDateMillis();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    case BsonType::kTimestamp: {
      TimestampValue x = a.AsTimestamp(), y = b.AsTimestamp();
      if (x.seconds != y.seconds) return x.seconds < y.seconds ? -1 : 1;
      if (x.increment != y.increment) return x.increment < y.increment ? -1 : 1;
      return 0;
    }
    case BsonType::kRegex: {
      RegexValue x = a.AsRegex(), y = b.AsRegex();
      int c = CompareBytes(x.pattern, y.pattern);
      return c != 0 ? c : CompareBytes(x.options, y.options);
    }
    case BsonType::kDbPointer: {
      std::span<const uint8_t> x = a.raw(), y = b.raw();
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
      return Sign(std::memcmp(x.data(), y.data(), x.size()));
    }
    case BsonType::kCodeWithScope: {
      int c = CompareBytes(a.CodeWithScopeCode(), b.CodeWithScopeCode());
      return c != 0 ? c : CompareDocuments(a.CodeWithScopeScope(), b.CodeWithScopeScope());
    }
  }
  return 0;
}

}  // namespace amalgam::bson
