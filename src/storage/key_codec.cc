#include "storage/key_codec.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "bson/number.h"
#include "bson/validate.h"

namespace amalgam::storage {
namespace {

using bson::BsonType;
using bson::ExactNumber;

// Tag bytes, one per type bracket, increasing with bson::CanonicalRank and never 0x00.
// Persisted (docs/key-encoding.md): never renumber.
enum Tag : uint8_t {
  kTagMinKey = 0x0A,
  kTagUndefined = 0x0F,
  kTagNull = 0x14,
  kTagNumber = 0x1E,
  kTagString = 0x28,
  kTagDocument = 0x32,
  kTagArray = 0x3C,
  kTagBinary = 0x46,
  kTagObjectId = 0x50,
  kTagBool = 0x5A,
  kTagDate = 0x64,
  kTagTimestamp = 0x6E,
  kTagRegex = 0x78,
  kTagDbPointer = 0x82,
  kTagCode = 0x8C,
  kTagCodeWithScope = 0x96,
  kTagMaxKey = 0xF0
};
constexpr uint8_t kEndOfElements = 0x00;

// Number class bytes (persisted).
enum NumberClass : uint8_t {
  kClassNaN = 0x10,
  kClassNegInfinity = 0x11,
  kClassNegative = 0x12,
  kClassZero = 0x20,
  kClassPositive = 0x30,
  kClassPosInfinity = 0x3F
};
constexpr uint16_t kExponentBias = 0x8000;

// Type-bits entries (persisted).
enum NumberBits : uint8_t {
  kBitsInt32 = 0,
  kBitsInt64 = 1,
  kBitsDouble = 2,
  kBitsDecimal = 3,         // + 2-byte BE quantum + kQuantumBias
  kBitsDecimalNegZero = 4,  // + 2-byte BE quantum + kQuantumBias
  kBitsDoubleRaw = 5,       // + 8 bytes as in BSON
  kBitsDecimalRaw = 6,      // + 16 bytes as in BSON
};
constexpr int32_t kQuantumBias = 6176;
constexpr uint8_t kBitsString = 0, kBitsSymbol = 1;
constexpr uint8_t kBitsUndefined = 0, kBitsMissing = 1;
constexpr uint8_t kBitsArrayPlainNames = 0, kBitsArrayStoredNames = 1;

constexpr uint64_t kSignBit = uint64_t{1} << 63;

uint8_t TagOf(BsonType type) {
  switch (type) {
    case BsonType::kMinKey: return kTagMinKey;
    case BsonType::kEod:
    case BsonType::kUndefined: return kTagUndefined;
    case BsonType::kNull: return kTagNull;
    case BsonType::kDouble:
    case BsonType::kInt32:
    case BsonType::kInt64:
    case BsonType::kDecimal128: return kTagNumber;
    case BsonType::kString:
    case BsonType::kSymbol: return kTagString;
    case BsonType::kDocument: return kTagDocument;
    case BsonType::kArray: return kTagArray;
    case BsonType::kBinary: return kTagBinary;
    case BsonType::kObjectId: return kTagObjectId;
    case BsonType::kBool: return kTagBool;
    case BsonType::kDate: return kTagDate;
    case BsonType::kTimestamp: return kTagTimestamp;
    case BsonType::kRegex: return kTagRegex;
    case BsonType::kDbPointer: return kTagDbPointer;
    case BsonType::kCode: return kTagCode;
    case BsonType::kCodeWithScope: return kTagCodeWithScope;
    case BsonType::kMaxKey: return kTagMaxKey;
  }
  return kTagUndefined;
}

void PutBE(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

// ---------------------------------------------------------------------------------------------
// Encoding. Input is validated BSON, so nothing here can fail.

class Encoder {
 public:
  Encoder(std::string* key, std::string* bits) : key_(*key), bits_(*bits) {}

  void Value(const bson::Value& v) {
    Put(TagOf(v.type()));
    Body(v);
  }

 private:
  void Put(uint8_t b) { key_.push_back(static_cast<char>(b)); }
  void PutBytes(const void* p, size_t n) { key_.append(static_cast<const char*>(p), n); }
  void Bit(uint8_t b) { bits_.push_back(static_cast<char>(b)); }

  void Body(const bson::Value& v);
  void Number(const bson::Value& v);
  void NumberBits(const bson::Value& v, const ExactNumber& n);
  void DecimalBits(const bson::Value& v, const ExactNumber& n);
  void String(std::string_view s);
  void Elements(bson::DocView doc, bool names, bool stored_array_names);
  static bool HasPlainArrayNames(bson::DocView doc);

  std::string& key_;
  std::string& bits_;
};

void Encoder::Body(const bson::Value& v) {
  switch (v.type()) {
    case BsonType::kEod: Bit(kBitsMissing); return;
    case BsonType::kUndefined: Bit(kBitsUndefined); return;
    case BsonType::kNull:
    case BsonType::kMinKey:
    case BsonType::kMaxKey: return;
    case BsonType::kDouble:
    case BsonType::kInt32:
    case BsonType::kInt64:
    case BsonType::kDecimal128: Number(v); return;
    case BsonType::kString:
    case BsonType::kSymbol:
      Bit(v.type() == BsonType::kSymbol ? kBitsSymbol : kBitsString);
      String(v.AsString());
      return;
    case BsonType::kCode: String(v.AsString()); return;
    case BsonType::kDocument: Elements(v.AsDocument(), true, false); return;
    case BsonType::kArray: {
      bool plain = HasPlainArrayNames(v.AsDocument());
      Bit(plain ? kBitsArrayPlainNames : kBitsArrayStoredNames);
      Elements(v.AsDocument(), false, !plain);
      return;
    }
    case BsonType::kBinary: {
      bson::Binary b = v.AsBinary();
      // MongoDB orders binData by its outer BSON length, which for the old subtype 2 includes
      // the 4-byte inner length.
      PutBE(&key_, b.data.size() + (b.subtype == 0x02 ? 4 : 0), 4);
      Put(b.subtype);
      PutBytes(b.data.data(), b.data.size());
      return;
    }
    case BsonType::kObjectId: PutBytes(v.raw().data(), 12); return;
    case BsonType::kBool: Put(v.AsBool() ? 1 : 0); return;
    case BsonType::kDate:
      PutBE(&key_, static_cast<uint64_t>(v.AsDateMillis()) ^ kSignBit, 8);
      return;
    case BsonType::kTimestamp: {
      bson::TimestampValue ts = v.AsTimestamp();
      PutBE(&key_, (static_cast<uint64_t>(ts.seconds) << 32) | ts.increment, 8);
      return;
    }
    case BsonType::kRegex:
      String(v.AsRegex().pattern);
      String(v.AsRegex().options);
      return;
    case BsonType::kDbPointer:
      PutBE(&key_, v.raw().size(), 4);
      PutBytes(v.raw().data(), v.raw().size());
      return;
    case BsonType::kCodeWithScope:
      String(v.CodeWithScopeCode());
      Elements(v.CodeWithScopeScope(), true, false);
      return;
  }
}

void Encoder::Number(const bson::Value& v) {
  ExactNumber n = bson::ExactFromValue(v);
  switch (n.kind) {
    case ExactNumber::Kind::kNaN: Put(kClassNaN); break;
    case ExactNumber::Kind::kNegInfinity: Put(kClassNegInfinity); break;
    case ExactNumber::Kind::kZero: Put(kClassZero); break;
    case ExactNumber::Kind::kPosInfinity: Put(kClassPosInfinity); break;
    case ExactNumber::Kind::kNegative:
    case ExactNumber::Kind::kPositive: {
      bool negative = n.kind == ExactNumber::Kind::kNegative;
      uint8_t mask = negative ? 0xFF : 0x00;
      Put(negative ? kClassNegative : kClassPositive);
      uint16_t e = static_cast<uint16_t>(n.exponent + kExponentBias);
      Put(static_cast<uint8_t>(e >> 8) ^ mask);
      Put(static_cast<uint8_t>(e & 0xFF) ^ mask);
      // Digit pairs: 2p + 1 while more pairs follow, 2p for the last (self-terminating).
      size_t count = n.digits.size();
      for (size_t i = 0; i < count; i += 2) {
        int hi = n.digits[i] - '0';
        int lo = i + 1 < count ? n.digits[i + 1] - '0' : 0;
        int more = i + 2 < count ? 1 : 0;
        Put(static_cast<uint8_t>(2 * (hi * 10 + lo) + more) ^ mask);
      }
      break;
    }
  }
  NumberBits(v, n);
}

void Encoder::NumberBits(const bson::Value& v, const ExactNumber& n) {
  switch (v.type()) {
    case BsonType::kInt32: Bit(kBitsInt32); return;
    case BsonType::kInt64: Bit(kBitsInt64); return;
    case BsonType::kDouble: {
      double d = v.AsDouble();
      // Every other double is rebuilt exactly from the key's exact value.
      if (std::isnan(d) || (d == 0 && std::signbit(d))) {
        Bit(kBitsDoubleRaw);
        bits_.append(reinterpret_cast<const char*>(v.raw().data()), 8);
      } else {
        Bit(kBitsDouble);
      }
      return;
    }
    case BsonType::kDecimal128: DecimalBits(v, n); return;
    default: return;
  }
}

void Encoder::DecimalBits(const bson::Value& v, const ExactNumber& n) {
  bson::Decimal128Bits original = v.AsDecimal128();
  bson::Decimal128Parts parts = bson::DecodeDecimal128(original);
  bool finite = parts.kind == bson::Decimal128Parts::Kind::kFinite;
  int32_t quantum = finite ? parts.exponent : 0;
  bool negative_zero = finite && parts.coefficient == 0 && parts.negative;
  bson::Decimal128Bits rebuilt;
  if (bson::ExactToDecimal128(n, quantum, negative_zero, &rebuilt) && rebuilt.low == original.low &&
      rebuilt.high == original.high) {
    Bit(negative_zero ? kBitsDecimalNegZero : kBitsDecimal);
    PutBE(&bits_, static_cast<uint16_t>(quantum + kQuantumBias), 2);
  } else {  // NaN payloads, non-canonical encodings: keep the bits
    Bit(kBitsDecimalRaw);
    bits_.append(reinterpret_cast<const char*>(v.raw().data()), 16);
  }
}

void Encoder::String(std::string_view s) {
  for (;;) {
    size_t nul = s.find('\0');
    key_.append(s.data(), nul == std::string_view::npos ? s.size() : nul);
    if (nul == std::string_view::npos) break;
    Put(0x00);
    Put(0xFF);
    s.remove_prefix(nul + 1);
  }
  Put(0x00);
  Put(0x01);
}

bool Encoder::HasPlainArrayNames(bson::DocView doc) {
  uint32_t index = 0;
  char buf[12];
  for (const bson::Element& e : doc) {
    auto r = std::to_chars(buf, buf + sizeof(buf), index++);
    if (e.name != std::string_view(buf, static_cast<size_t>(r.ptr - buf))) return false;
  }
  return true;
}

void Encoder::Elements(bson::DocView doc, bool names, bool stored_array_names) {
  for (const bson::Element& e : doc) {
    Put(TagOf(e.value.type()));
    if (names) String(e.name);
    if (stored_array_names) {
      bits_.append(e.name);
      Bit(0x00);
    }
    Body(e.value);
  }
  Put(kEndOfElements);
}

// ---------------------------------------------------------------------------------------------
// Decoding. Input is untrusted: every read is bounds-checked and every failure is a Status.

Status Corrupt(std::string what) {
  return Status(ErrorCode::kDataCorruption, "corrupt index key: " + what);
}

class Decoder {
 public:
  Decoder(std::string_view* in, TypeBitsReader& bits, bool descending)
      : in_(*in), bits_(bits), mask_(descending ? 0xFF : 0x00), start_size_(in->size()) {}

  Status Value(bson::Builder& out, std::string_view name, int depth) {
    uint8_t tag;
    AMALGAM_RETURN_IF_ERROR(Byte(&tag));
    return Body(tag, out, name, depth, /*top_level=*/true);
  }

 private:
  Status Fail(std::string what) const {
    return Corrupt(what + " at byte " + std::to_string(start_size_ - in_.size()) + " of the value");
  }
  Status Byte(uint8_t* b);
  Status Bytes(size_t n, std::string* out);
  Status Uint(int bytes, uint64_t* v);
  Status String(std::string* s);
  Status CString(std::string* s, const char* what);
  Status Body(uint8_t tag, bson::Builder& out, std::string_view name, int depth, bool top_level);
  Status Fixed(uint8_t tag, bson::Builder& out, std::string_view name);
  Status Text(uint8_t tag, bson::Builder& out, std::string_view name);
  Status Nested(uint8_t tag, bson::Builder& out, std::string_view name, int depth);
  Status Elements(bson::Builder& out, bool names, bool stored_array_names, int depth);
  Status Exact(ExactNumber* n);
  Status Mantissa(uint8_t mask, std::string* digits);
  Status Number(bson::Builder& out, std::string_view name);
  Status Binary(bson::Builder& out, std::string_view name);
  Status DbPointer(bson::Builder& out, std::string_view name);
  Status CodeWithScope(bson::Builder& out, std::string_view name, int depth);

  std::string_view& in_;
  TypeBitsReader& bits_;
  uint8_t mask_;
  size_t start_size_;
};

Status Decoder::Byte(uint8_t* b) {
  if (in_.empty()) return Fail("truncated value");
  *b = static_cast<uint8_t>(in_[0]) ^ mask_;
  in_.remove_prefix(1);
  return Status::OK();
}

Status Decoder::Bytes(size_t n, std::string* out) {
  if (in_.size() < n) return Fail("truncated value (" + std::to_string(n) + " bytes expected)");
  out->assign(in_.data(), n);
  if (mask_ != 0) {
    for (char& c : *out) c = static_cast<char>(~static_cast<uint8_t>(c));
  }
  in_.remove_prefix(n);
  return Status::OK();
}

Status Decoder::Uint(int bytes, uint64_t* v) {
  *v = 0;
  for (int i = 0; i < bytes; ++i) {
    uint8_t b;
    AMALGAM_RETURN_IF_ERROR(Byte(&b));
    *v = (*v << 8) | b;
  }
  return Status::OK();
}

Status Decoder::String(std::string* s) {
  s->clear();
  for (;;) {
    uint8_t b;
    AMALGAM_RETURN_IF_ERROR(Byte(&b));
    if (b != 0x00) {
      s->push_back(static_cast<char>(b));
      continue;
    }
    AMALGAM_RETURN_IF_ERROR(Byte(&b));
    if (b == 0x01) return Status::OK();
    if (b != 0xFF) return Fail("invalid escape 0x00 0x" + std::to_string(b) + " in a string");
    s->push_back('\0');
  }
}

Status Decoder::CString(std::string* s, const char* what) {
  AMALGAM_RETURN_IF_ERROR(String(s));
  if (s->find('\0') != std::string::npos) return Fail(std::string(what) + " contains a NUL byte");
  return Status::OK();
}

Status Decoder::Body(uint8_t tag, bson::Builder& out, std::string_view name, int depth,
                     bool top_level) {
  switch (tag) {
    case kTagMinKey: out.AppendMinKey(name); return Status::OK();
    case kTagMaxKey: out.AppendMaxKey(name); return Status::OK();
    case kTagNull: out.AppendNull(name); return Status::OK();
    case kTagUndefined: {
      uint8_t b = bits_.ReadByte();
      if (b == kBitsUndefined) out.AppendUndefined(name);
      if (b == kBitsUndefined || (b == kBitsMissing && top_level)) return Status::OK();
      return Fail("type bits " + std::to_string(b) + " do not fit undefined");
    }
    case kTagNumber: return Number(out, name);
    case kTagString:
    case kTagCode:
    case kTagRegex: return Text(tag, out, name);
    case kTagDocument:
    case kTagArray: return Nested(tag, out, name, depth);
    case kTagBinary: return Binary(out, name);
    case kTagObjectId:
    case kTagBool:
    case kTagDate:
    case kTagTimestamp: return Fixed(tag, out, name);
    case kTagDbPointer: return DbPointer(out, name);
    case kTagCodeWithScope: return CodeWithScope(out, name, depth);
    default: return Fail("unknown tag " + std::to_string(tag));
  }
}

Status Decoder::Fixed(uint8_t tag, bson::Builder& out, std::string_view name) {
  if (tag == kTagObjectId) {
    std::string oid;
    AMALGAM_RETURN_IF_ERROR(Bytes(12, &oid));
    auto* p = reinterpret_cast<const uint8_t*>(oid.data());
    out.AppendObjectId(name, std::span<const uint8_t, 12>(p, 12));
    return Status::OK();
  }
  uint64_t v;
  AMALGAM_RETURN_IF_ERROR(Uint(tag == kTagBool ? 1 : 8, &v));
  if (tag == kTagBool) {
    if (v > 1) return Fail("bool byte " + std::to_string(v));
    out.AppendBool(name, v == 1);
  } else if (tag == kTagDate) {
    out.AppendDate(name, static_cast<int64_t>(v ^ kSignBit));
  } else {
    out.AppendTimestamp(name, static_cast<uint32_t>(v >> 32), static_cast<uint32_t>(v));
  }
  return Status::OK();
}

Status Decoder::Text(uint8_t tag, bson::Builder& out, std::string_view name) {
  std::string s, options;
  if (tag == kTagRegex) {
    AMALGAM_RETURN_IF_ERROR(CString(&s, "regex pattern"));
    AMALGAM_RETURN_IF_ERROR(CString(&options, "regex options"));
    out.AppendRegex(name, s, options);
    return Status::OK();
  }
  uint8_t b = tag == kTagString ? bits_.ReadByte() : kBitsString;
  if (b != kBitsString && b != kBitsSymbol) {
    return Fail("type bits " + std::to_string(b) + " do not fit a string");
  }
  AMALGAM_RETURN_IF_ERROR(String(&s));
  if (tag == kTagCode) {
    out.AppendCode(name, s);
  } else if (b == kBitsSymbol) {
    out.AppendSymbol(name, s);
  } else {
    out.AppendString(name, s);
  }
  return Status::OK();
}

Status Decoder::Nested(uint8_t tag, bson::Builder& out, std::string_view name, int depth) {
  if (depth + 1 > bson::kMaxWireDepth) return Fail("nesting deeper than the maximum depth");
  if (tag == kTagDocument) {
    out.StartDocument(name);
    AMALGAM_RETURN_IF_ERROR(Elements(out, true, false, depth + 1));
    out.EndDocument();
    return Status::OK();
  }
  uint8_t b = bits_.ReadByte();
  if (b != kBitsArrayPlainNames && b != kBitsArrayStoredNames) {
    return Fail("type bits " + std::to_string(b) + " do not fit an array");
  }
  out.StartArray(name);
  AMALGAM_RETURN_IF_ERROR(Elements(out, false, b == kBitsArrayStoredNames, depth + 1));
  out.EndArray();
  return Status::OK();
}

Status Decoder::Elements(bson::Builder& out, bool names, bool stored_array_names, int depth) {
  std::string name;
  for (uint32_t index = 0;; ++index) {
    uint8_t tag;
    AMALGAM_RETURN_IF_ERROR(Byte(&tag));
    if (tag == kEndOfElements) return Status::OK();
    if (names) {
      AMALGAM_RETURN_IF_ERROR(CString(&name, "field name"));
    } else if (stored_array_names) {
      name.clear();
      for (uint8_t c = bits_.ReadByte(); c != 0; c = bits_.ReadByte())
        name.push_back(static_cast<char>(c));
    } else {
      name = std::to_string(index);
    }
    AMALGAM_RETURN_IF_ERROR(Body(tag, out, name, depth, /*top_level=*/false));
  }
}

Status Decoder::Mantissa(uint8_t mask, std::string* digits) {
  for (;;) {
    uint8_t b;
    AMALGAM_RETURN_IF_ERROR(Byte(&b));
    b ^= mask;
    int pair = b >> 1;
    if (pair > 99) return Fail("digit pair " + std::to_string(pair) + " out of range");
    digits->push_back(static_cast<char>('0' + pair / 10));
    digits->push_back(static_cast<char>('0' + pair % 10));
    if ((b & 1) == 0) break;
  }
  // The last pair may carry one padding zero; after removing it the canonical form has no
  // leading or trailing zero.
  if (digits->back() == '0') digits->pop_back();
  if (digits->front() == '0' || digits->back() == '0') return Fail("non-canonical number digits");
  return Status::OK();
}

Status Decoder::Exact(ExactNumber* n) {
  uint8_t cls;
  AMALGAM_RETURN_IF_ERROR(Byte(&cls));
  switch (cls) {
    case kClassNaN: n->kind = ExactNumber::Kind::kNaN; return Status::OK();
    case kClassNegInfinity: n->kind = ExactNumber::Kind::kNegInfinity; return Status::OK();
    case kClassZero: n->kind = ExactNumber::Kind::kZero; return Status::OK();
    case kClassPosInfinity: n->kind = ExactNumber::Kind::kPosInfinity; return Status::OK();
    case kClassNegative: n->kind = ExactNumber::Kind::kNegative; break;
    case kClassPositive: n->kind = ExactNumber::Kind::kPositive; break;
    default: return Fail("unknown number class " + std::to_string(cls));
  }
  uint8_t mask = n->kind == ExactNumber::Kind::kNegative ? 0xFF : 0x00;
  uint64_t e;
  AMALGAM_RETURN_IF_ERROR(Uint(2, &e));
  n->exponent = static_cast<int32_t>(static_cast<uint16_t>(e ^ (mask * 0x0101u))) - kExponentBias;
  return Mantissa(mask, &n->digits);
}

// Reads `n` raw bytes from the type bits (zeros past the end).
void ReadBits(TypeBitsReader& bits, void* out, size_t n) {
  auto* p = static_cast<uint8_t*>(out);
  for (size_t i = 0; i < n; ++i) p[i] = bits.ReadByte();
}

// The Append*Number functions rebuild a number of the type named by `code` from its exact value
// and return false when the type bits do not fit that value.
bool AppendInteger(const ExactNumber& n, uint8_t code, bson::Builder& out, std::string_view name) {
  int64_t i;
  if (!bson::ExactToInt64(n, &i)) return false;
  if (code == kBitsInt64) {
    out.AppendInt64(name, i);
    return true;
  }
  if (i < INT32_MIN || i > INT32_MAX) return false;
  out.AppendInt32(name, static_cast<int32_t>(i));
  return true;
}

bool AppendDouble(const ExactNumber& n, uint8_t code, TypeBitsReader& bits, bson::Builder& out,
                  std::string_view name) {
  double d;
  if (code == kBitsDoubleRaw) {
    ReadBits(bits, &d, 8);
  } else if (n.kind == ExactNumber::Kind::kNaN || !bson::ExactToDouble(n, &d)) {
    return false;
  }
  // Also rejects a key value that no double holds exactly.
  if (bson::CompareExact(bson::ExactFromDouble(d), n) != 0) return false;
  out.AppendDouble(name, d);
  return true;
}

bool AppendDecimal(const ExactNumber& n, uint8_t code, TypeBitsReader& bits, bson::Builder& out,
                   std::string_view name) {
  bson::Decimal128Bits d;
  if (code == kBitsDecimalRaw) {
    ReadBits(bits, &d.low, 8);
    ReadBits(bits, &d.high, 8);
    if (bson::CompareExact(bson::ExactFromDecimal128(d), n) != 0) return false;
  } else {
    int32_t quantum = (bits.ReadByte() << 8) | bits.ReadByte();
    bool negative_zero = code == kBitsDecimalNegZero;
    if (negative_zero && n.kind != ExactNumber::Kind::kZero) return false;
    if (!bson::ExactToDecimal128(n, quantum - kQuantumBias, negative_zero, &d)) return false;
  }
  out.AppendDecimal128(name, d);
  return true;
}

Status Decoder::Number(bson::Builder& out, std::string_view name) {
  ExactNumber n;
  AMALGAM_RETURN_IF_ERROR(Exact(&n));
  uint8_t code = bits_.ReadByte();
  bool fits;
  switch (code) {
    case kBitsInt32:
    case kBitsInt64: fits = AppendInteger(n, code, out, name); break;
    case kBitsDouble:
    case kBitsDoubleRaw: fits = AppendDouble(n, code, bits_, out, name); break;
    case kBitsDecimal:
    case kBitsDecimalNegZero:
    case kBitsDecimalRaw: fits = AppendDecimal(n, code, bits_, out, name); break;
    default: return Fail("unknown numeric type bits " + std::to_string(code));
  }
  if (!fits)
    return Fail("numeric type bits " + std::to_string(code) + " do not fit the key's value");
  return Status::OK();
}

Status Decoder::Binary(bson::Builder& out, std::string_view name) {
  uint64_t size;
  AMALGAM_RETURN_IF_ERROR(Uint(4, &size));
  if (size > INT32_MAX - 4) return Fail("binary length " + std::to_string(size) + " too large");
  uint8_t subtype;
  AMALGAM_RETURN_IF_ERROR(Byte(&subtype));
  if (subtype == 0x02) {
    if (size < 4) return Fail("old-style binary shorter than its inner length");
    size -= 4;
  }
  std::string data;
  AMALGAM_RETURN_IF_ERROR(Bytes(size, &data));
  out.AppendBinary(name, subtype,
                   std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), size));
  return Status::OK();
}

Status Decoder::DbPointer(bson::Builder& out, std::string_view name) {
  uint64_t size;
  AMALGAM_RETURN_IF_ERROR(Uint(4, &size));
  std::string raw;
  AMALGAM_RETURN_IF_ERROR(Bytes(size, &raw));
  // Raw dbPointer: int32 LE length n (>= 1), n - 1 namespace bytes, NUL, 12-byte oid.
  int32_t len = 0;
  if (size >= 4) std::memcpy(&len, raw.data(), 4);
  if (size < 17 || len < 1 || static_cast<uint64_t>(len) + 16 != size || raw[3 + len] != '\0') {
    return Fail("malformed dbPointer");
  }
  out.AppendValue(name,
                  bson::Value(BsonType::kDbPointer, reinterpret_cast<const uint8_t*>(raw.data()),
                              static_cast<uint32_t>(size)));
  return Status::OK();
}

Status Decoder::CodeWithScope(bson::Builder& out, std::string_view name, int depth) {
  if (depth + 1 > bson::kMaxWireDepth) return Fail("nesting deeper than the maximum depth");
  std::string code;
  AMALGAM_RETURN_IF_ERROR(String(&code));
  bson::Builder scope_builder;
  AMALGAM_RETURN_IF_ERROR(Elements(scope_builder, true, false, depth + 1));
  bson::Document scope = std::move(scope_builder).Finish();
  // int32 total, int32 code length (with NUL), code, NUL, scope document.
  int32_t code_len = static_cast<int32_t>(code.size() + 1);
  int32_t total = static_cast<int32_t>(8 + code.size() + 1 + scope.bytes().size());
  std::string raw;
  raw.append(reinterpret_cast<const char*>(&total), 4);
  raw.append(reinterpret_cast<const char*>(&code_len), 4);
  raw.append(code);
  raw.push_back('\0');
  raw.append(scope.bytes());
  out.AppendValue(
      name, bson::Value(BsonType::kCodeWithScope, reinterpret_cast<const uint8_t*>(raw.data()),
                        static_cast<uint32_t>(raw.size())));
  return Status::OK();
}

}  // namespace

void AppendValue(std::string* key, std::string* typebits, const bson::Value& v, bool descending) {
  size_t start = key->size();
  Encoder(key, typebits).Value(v);
  if (descending) {
    for (size_t i = start; i < key->size(); ++i)
      (*key)[i] = static_cast<char>(~static_cast<uint8_t>((*key)[i]));
  }
}

EncodedKey EncodeValue(const bson::Value& v, bool descending) {
  EncodedKey out;
  AppendValue(&out.key, &out.typebits, v, descending);
  TrimTypeBits(&out.typebits);
  return out;
}

EncodedKey EncodeKey(std::span<const bson::Value> values, std::span<const Direction> directions) {
  EncodedKey out;
  for (size_t i = 0; i < values.size() && i < directions.size(); ++i) {
    AppendValue(&out.key, &out.typebits, values[i], directions[i] == Direction::kDescending);
  }
  TrimTypeBits(&out.typebits);
  return out;
}

void TrimTypeBits(std::string* typebits) {
  size_t last = typebits->find_last_not_of('\0');
  typebits->resize(last == std::string::npos ? 0 : last + 1);
}

Status DecodeValue(std::string_view* key, TypeBitsReader& bits, bool descending, bson::Builder& out,
                   std::string_view field_name, int depth) {
  return Decoder(key, bits, descending).Value(out, field_name, depth);
}

Result<bson::Document> DecodeKey(std::string_view key, std::string_view typebits,
                                 std::span<const Direction> directions) {
  TypeBitsReader bits(typebits);
  bson::Builder out;
  for (size_t i = 0; i < directions.size(); ++i) {
    std::string name = std::to_string(i);
    Status s = DecodeValue(&key, bits, directions[i] == Direction::kDescending, out, name);
    if (!s.ok()) return s.WithContext("component " + name);
  }
  if (!key.empty()) return Corrupt(std::to_string(key.size()) + " bytes after the last component");
  if (!bits.AtEnd()) return Corrupt("type bits left over after the last component");
  return std::move(out).Finish();
}

void AppendUint64BE(std::string* out, uint64_t v) { PutBE(out, v, 8); }

bool ReadUint64BE(std::string_view* in, uint64_t* out) {
  if (in->size() < 8) return false;
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>((*in)[i]);
  in->remove_prefix(8);
  *out = v;
  return true;
}

}  // namespace amalgam::storage
