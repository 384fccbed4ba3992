// Randomized property tests for bson/: every type built with Builder validates, reads back
// byte-identically, survives canonical Extended JSON, and CompareValues is a total order that
// agrees with an independent numeric reference. Malformed input (random single-byte mutations of
// valid documents) either fails validation or yields a view whose every accessor stays in bounds.
//
// Seeded: the seed is printed; AMALGAM_TEST_SEED=<n> replays a run.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cfloat>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "bson/builder.h"
#include "bson/compare.h"
#include "bson/json.h"
#include "bson/number.h"
#include "bson/validate.h"

namespace amalgam::bson {
namespace {

uint64_t TestSeed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("AMALGAM_TEST_SEED");
    uint64_t s = env ? std::strtoull(env, nullptr, 10) : std::random_device{}();
    std::printf("bson_property_test: AMALGAM_TEST_SEED=%llu\n", static_cast<unsigned long long>(s));
    return s;
  }();
  return seed;
}

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

int Sign(int c) { return (c > 0) - (c < 0); }

// kDbPointer and kCodeWithScope have no Builder method (deprecated types): assemble their raw
// value bytes here and append them with AppendValue.
std::string DbPointerBytes(std::string_view ns, std::span<const uint8_t, 12> oid) {
  std::string out(4, '\0');
  int32_t n = static_cast<int32_t>(ns.size() + 1);
  std::memcpy(out.data(), &n, 4);
  out.append(ns);
  out.push_back('\0');
  out.append(reinterpret_cast<const char*>(oid.data()), 12);
  return out;
}

std::string CodeWithScopeBytes(std::string_view code, DocView scope) {
  std::string out(8, '\0');
  int32_t total = static_cast<int32_t>(8 + code.size() + 1 + scope.size());
  int32_t n = static_cast<int32_t>(code.size() + 1);
  std::memcpy(out.data(), &total, 4);
  std::memcpy(out.data() + 4, &n, 4);
  out.append(code);
  out.push_back('\0');
  out.append(scope.bytes_view());
  return out;
}

void AppendRaw(Builder& b, std::string_view name, BsonType type, const std::string& raw) {
  b.AppendValue(name, Value(type, reinterpret_cast<const uint8_t*>(raw.data()),
                            static_cast<uint32_t>(raw.size())));
}

// Random BSON values of every type. With json_safe, only values that canonical Extended JSON
// carries exactly: valid UTF-8, no '$'-prefixed names, canonical decimals, the default NaN.
class Gen {
 public:
  Gen(uint64_t seed, bool json_safe) : rng_(seed), json_safe_(json_safe) {}

  uint64_t Bits() { return rng_(); }
  size_t Below(size_t n) { return static_cast<size_t>(rng_() % n); }
  bool OneIn(size_t n) { return Below(n) == 0; }
  template <typename T, size_t N>
  T Pick(const T (&items)[N]) {
    return items[Below(N)];
  }

  Document RandomDocument(int max_depth) {
    Builder b;
    AppendFields(b, max_depth, /*is_array=*/false);
    return std::move(b).Finish();
  }

  // Appends 0..6 random elements to the (sub)document being built.
  void AppendFields(Builder& b, int depth, bool is_array) {
    size_t n = Below(7);
    for (size_t i = 0; i < n; ++i) {
      std::string name = is_array ? std::to_string(i) : Name();
      parent_is_array_ = is_array;
      AppendRandom(b, name, depth);
    }
  }

  double Double() {
    static const double kEdges[] = {0.0,
                                    -0.0,
                                    1.0,
                                    -1.0,
                                    0.1,
                                    0.5,
                                    1e300,
                                    -1e-300,
                                    DBL_MAX,
                                    -DBL_MAX,
                                    DBL_MIN,
                                    std::numeric_limits<double>::denorm_min(),
                                    9007199254740992.0,
                                    9007199254740993.0,
                                    9223372036854775808.0,
                                    -9223372036854775808.0,
                                    18446744073709551616.0,
                                    2147483647.5,
                                    std::numeric_limits<double>::infinity(),
                                    -std::numeric_limits<double>::infinity(),
                                    std::numeric_limits<double>::quiet_NaN()};
    switch (Below(4)) {
      case 0:
        return Pick(kEdges);
      case 1:
        return static_cast<double>(static_cast<int64_t>(Bits()) >> Below(64));
      case 2:
        return static_cast<double>(static_cast<int64_t>(Bits() % 2001) - 1000) / 8;
      default: {
        uint64_t bits = Bits();
        double d;
        std::memcpy(&d, &bits, 8);
        if (json_safe_ && std::isnan(d)) d = std::numeric_limits<double>::quiet_NaN();
        return d;
      }
    }
  }
  int64_t Int64() {
    static const int64_t kEdges[] = {0,
                                     1,
                                     -1,
                                     INT64_MIN,
                                     INT64_MAX,
                                     INT32_MIN,
                                     INT32_MAX,
                                     int64_t{1} << 53,
                                     (int64_t{1} << 53) + 1,
                                     -(int64_t{1} << 53) - 1,
                                     INT64_MAX - 1,
                                     INT64_MIN + 1};
    switch (Below(3)) {
      case 0:
        return Pick(kEdges);
      case 1:
        return static_cast<int64_t>(Bits() % 2001) - 1000;
      default:
        return static_cast<int64_t>(Bits()) >> Below(64);
    }
  }
  int32_t Int32() {
    return OneIn(3) ? Pick({0, 1, -1, INT32_MIN, INT32_MAX}) : static_cast<int32_t>(Int64());
  }
  Decimal128Bits Decimal() {
    static const char* const kEdges[] = {"0",
                                         "-0",
                                         "0E-6176",
                                         "0E+6111",
                                         "NaN",
                                         "Infinity",
                                         "-Infinity",
                                         "1",
                                         "1.0",
                                         "5.00",
                                         "0.1",
                                         "-1E-6176",
                                         "9999999999999999999999999999999999E+6111",
                                         "9223372036854775808",
                                         "-9223372036854775809",
                                         "9007199254740993",
                                         "1E+400",
                                         "1234567890123456789012345678901234"};
    if (!json_safe_ && OneIn(8)) return {Bits(), Bits()};  // any bits, incl. non-canonical
    std::string text;
    if (OneIn(3)) {
      text = Pick(kEdges);
    } else {
      if (OneIn(2)) text += '-';
      size_t digits = 1 + Below(OneIn(2) ? 34 : 6);
      for (size_t i = 0; i < digits; ++i) text += static_cast<char>('0' + Below(10));
      text += "E" + std::to_string(static_cast<int>(Below(41)) - 20);
    }
    Result<Decimal128Bits> d = ParseDecimal128(text);
    EXPECT_TRUE(d.ok()) << text;
    return d.ok() ? d.value() : Decimal128Bits{0, 0};
  }
  // Text with embedded NULs and multi-byte UTF-8 (plus invalid bytes unless json_safe).
  std::string Text(bool allow_nul) {
    static const char* const kPieces[] = {
        "a", "Z", "0", " ", ".", "é", "€", "\xF0\x9F\x98\x80", "\"", "\\", "\n", "\x7F"};
    std::string s;
    size_t n = Below(OneIn(8) ? 40 : 6);
    for (size_t i = 0; i < n; ++i) {
      if (allow_nul && OneIn(10)) {
        s.push_back('\0');
      } else if (!json_safe_ && OneIn(20)) {
        s.push_back(static_cast<char>(0x80 | Below(128)));  // stray continuation byte
      } else {
        s += Pick(kPieces);
      }
    }
    return s;
  }
  std::string Name() {
    std::string s = Text(/*allow_nul=*/false);
    if (!json_safe_ && OneIn(10)) s.insert(s.begin(), '$');
    return s;
  }
  std::array<uint8_t, 12> Oid() {
    std::array<uint8_t, 12> oid;
    for (uint8_t& x : oid) x = static_cast<uint8_t>(OneIn(4) ? Pick({0, 0xFF}) : Bits());
    return oid;
  }

  void AppendRandom(Builder& b, std::string_view name, int depth) {
    static const uint8_t kSubtypes[] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x80, 0xFF};
    static const char* const kOptions[] = {"", "i", "im", "imsx", "ilmsux", "s", "u"};
    size_t kind = Below(depth > 0 ? 24 : 21);
    // libbson 1.23's JSON reader writes garbage array keys (or invalid BSON) for code,
    // code-with-scope and dbPointer elements of an array, and reads them as plain documents
    // inside a "$scope".
    if (json_safe_ && (parent_is_array_ || in_scope_ > 0) &&
        (kind == 12 || kind == 13 || kind == 21)) {
      kind = 1;
    }
    // It also cuts JavaScript code at its first NUL.
    bool code_nul = !json_safe_;
    switch (kind) {
      case 0:
        b.AppendDouble(name, Double());
        break;
      case 1:
        b.AppendString(name, Text(true));
        break;
      case 2:
        b.AppendInt32(name, Int32());
        break;
      case 3:
        b.AppendInt64(name, Int64());
        break;
      case 4:
        b.AppendDecimal128(name, Decimal());
        break;
      case 5: {
        std::string data;
        size_t n = OneIn(2) ? 16 : Below(24);
        for (size_t i = 0; i < n; ++i) data.push_back(static_cast<char>(Bits()));
        b.AppendBinary(name, Pick(kSubtypes), Bytes(data));
        break;
      }
      case 6:
        b.AppendUndefined(name);
        break;
      case 7:
        b.AppendObjectId(name, Oid());
        break;
      case 8:
        b.AppendBool(name, OneIn(2));
        break;
      case 9:
        b.AppendDate(name, Int64());
        break;
      case 10:
        b.AppendNull(name);
        break;
      case 11:
        b.AppendRegex(name, Text(false), Pick(kOptions));
        break;
      case 12:
        AppendRaw(b, name, BsonType::kDbPointer, DbPointerBytes(Text(false), Oid()));
        break;
      case 13:
        b.AppendCode(name, Text(code_nul));
        break;
      case 14:
        b.AppendSymbol(name, Text(true));
        break;
      case 15: {
        uint32_t secs = static_cast<uint32_t>(OneIn(3) ? Pick({0u, 1u, UINT32_MAX}) : Bits());
        uint32_t inc = static_cast<uint32_t>(OneIn(3) ? Pick({0u, 1u, UINT32_MAX}) : Bits());
        b.AppendTimestamp(name, secs, inc);
        break;
      }
      case 16:
        b.AppendMinKey(name);
        break;
      case 17:
        b.AppendMaxKey(name);
        break;
      case 18:
        b.AppendDouble(name, static_cast<double>(Int32()));
        break;  // collide with ints
      case 19:
        b.AppendString(name, Pick({"", "a", "ab", "b"}));
        break;
      case 20:
        b.AppendSymbol(name, Pick({"", "a", "ab", "b"}));
        break;
      case 21: {
        ++in_scope_;
        Document scope = RandomDocument(depth - 1);
        --in_scope_;
        AppendRaw(b, name, BsonType::kCodeWithScope,
                  CodeWithScopeBytes(Text(code_nul), scope.view()));
        break;
      }
      case 22:
        b.StartDocument(name);
        AppendFields(b, depth - 1, false);
        b.EndDocument();
        break;
      default:
        b.StartArray(name);
        AppendFields(b, depth - 1, true);
        b.EndArray();
        break;
    }
  }

 private:
  std::mt19937_64 rng_;
  bool json_safe_;
  bool parent_is_array_ = false;
  int in_scope_ = 0;
};

// Rebuilds a document from what the accessors return, using the typed Append* calls: equal
// bytes prove that iteration, ValueSize and every accessor read exactly what was written.
void RebuildTyped(Builder& out, DocView doc);

void RebuildElement(Builder& out, std::string_view name, const Value& v) {
  switch (v.type()) {
    case BsonType::kDouble:
      out.AppendDouble(name, v.AsDouble());
      break;
    case BsonType::kString:
      out.AppendString(name, v.AsString());
      break;
    case BsonType::kSymbol:
      out.AppendSymbol(name, v.AsString());
      break;
    case BsonType::kCode:
      out.AppendCode(name, v.AsString());
      break;
    case BsonType::kDocument:
    case BsonType::kArray:
      if (v.type() == BsonType::kArray)
        out.StartArray(name);
      else
        out.StartDocument(name);
      RebuildTyped(out, v.AsDocument());
      out.EndDocument();
      break;
    case BsonType::kBinary: {
      Binary bin = v.AsBinary();
      out.AppendBinary(name, bin.subtype, bin.data);
      break;
    }
    case BsonType::kUndefined:
      out.AppendUndefined(name);
      break;
    case BsonType::kObjectId:
      out.AppendObjectId(name, v.AsObjectId());
      break;
    case BsonType::kBool:
      out.AppendBool(name, v.AsBool());
      break;
    case BsonType::kDate:
      out.AppendDate(name, v.AsDateMillis());
      break;
    case BsonType::kNull:
      out.AppendNull(name);
      break;
    case BsonType::kRegex:
      out.AppendRegex(name, v.AsRegex().pattern, v.AsRegex().options);
      break;
    case BsonType::kDbPointer: {
      DbPointerValue p = v.AsDbPointer();
      AppendRaw(out, name, BsonType::kDbPointer,
                DbPointerBytes(p.ns, std::span<const uint8_t, 12>(p.oid, 12)));
      break;
    }
    case BsonType::kCodeWithScope: {
      Builder scope;
      RebuildTyped(scope, v.CodeWithScopeScope());
      Document s = std::move(scope).Finish();
      AppendRaw(out, name, BsonType::kCodeWithScope,
                CodeWithScopeBytes(v.CodeWithScopeCode(), s.view()));
      break;
    }
    case BsonType::kInt32:
      out.AppendInt32(name, v.AsInt32());
      break;
    case BsonType::kTimestamp:
      out.AppendTimestamp(name, v.AsTimestamp().seconds, v.AsTimestamp().increment);
      break;
    case BsonType::kInt64:
      out.AppendInt64(name, v.AsInt64());
      break;
    case BsonType::kDecimal128:
      out.AppendDecimal128(name, v.AsDecimal128());
      break;
    case BsonType::kMinKey:
      out.AppendMinKey(name);
      break;
    case BsonType::kMaxKey:
      out.AppendMaxKey(name);
      break;
    case BsonType::kEod:
      ADD_FAILURE() << "iteration yielded an end-of-document element";
      break;
  }
}

void RebuildTyped(Builder& out, DocView doc) {
  for (const Element& e : doc) RebuildElement(out, e.name, e.value);
}

// Rebuilds with AppendValue, the raw copy used by every layer above.
Document RebuildRaw(DocView doc) {
  Builder b;
  for (const Element& e : doc) b.AppendValue(e.name, e.value);
  return std::move(b).Finish();
}

constexpr int kDocs = 400;

TEST(BsonPropertyTest, BuiltDocumentsOfEveryTypeValidateAndReadBackByteForByte) {
  Gen gen(TestSeed(), /*json_safe=*/false);
  for (int i = 0; i < kDocs; ++i) {
    Document doc = gen.RandomDocument(4);
    Result<DocView> v = ValidateDocument(Bytes(doc.bytes()));
    ASSERT_TRUE(v.ok()) << i << ": " << v.status().ToString();
    ASSERT_EQ(v->size(), doc.bytes().size());
    ASSERT_EQ(RebuildRaw(doc.view()).bytes(), doc.bytes()) << i;
    Builder typed;
    RebuildTyped(typed, doc.view());
    ASSERT_EQ(std::move(typed).Finish().bytes(), doc.bytes()) << i;
    ASSERT_EQ(CompareDocuments(doc.view(), doc.view()), 0) << i;
  }
}

TEST(BsonPropertyTest, CanonicalExtendedJsonRoundTripsEveryTypeExactly) {
  Gen gen(TestSeed() + 1, /*json_safe=*/true);
  for (int i = 0; i < kDocs; ++i) {
    Document doc = gen.RandomDocument(4);
    std::string json = ToCanonicalJson(doc.view());
    Result<Document> back = FromJson(json);
    ASSERT_TRUE(back.ok()) << i << ": " << back.status().ToString() << "\n" << json;
    ASSERT_EQ(back->bytes(), doc.bytes())
        << i << ": " << json << "\nread back as " << ToCanonicalJson(back->view());
  }
}

// Checks CompareValues on every pair and triple of `vals`: reflexive, antisymmetric,
// transitive (so a total preorder), and equal bytes of one type always compare equal.
void ExpectTotalOrder(const std::vector<Value>& vals, const std::vector<Document>& keep_alive) {
  size_t n = vals.size();
  std::vector<std::vector<int8_t>> m(n, std::vector<int8_t>(n));
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = 0; b < n; ++b)
      m[a][b] = static_cast<int8_t>(Sign(CompareValues(vals[a], vals[b])));
  }
  for (size_t a = 0; a < n; ++a) {
    ASSERT_EQ(m[a][a], 0) << ToCanonicalJson(keep_alive[a].view());
    for (size_t b = 0; b < n; ++b) {
      ASSERT_EQ(m[a][b], -m[b][a]) << ToCanonicalJson(keep_alive[a].view()) << " vs "
                                   << ToCanonicalJson(keep_alive[b].view());
      if (vals[a].type() == vals[b].type() && vals[a].raw().size() == vals[b].raw().size() &&
          std::equal(vals[a].raw().begin(), vals[a].raw().end(), vals[b].raw().begin())) {
        ASSERT_EQ(m[a][b], 0);
      }
    }
  }
  for (size_t a = 0; a < n; ++a) {
    for (size_t b = 0; b < n; ++b) {
      if (m[a][b] > 0) continue;
      for (size_t c = 0; c < n; ++c) {
        if (m[b][c] > 0) continue;
        int expect = (m[a][b] < 0 || m[b][c] < 0) ? -1 : 0;
        ASSERT_EQ(m[a][c], expect) << ToCanonicalJson(keep_alive[a].view())
                                   << " <= " << ToCanonicalJson(keep_alive[b].view())
                                   << " <= " << ToCanonicalJson(keep_alive[c].view());
      }
    }
  }
}

// One value per single-element document, so each sample keeps its bytes alive.
std::vector<Value> Firsts(const std::vector<Document>& docs) {
  std::vector<Value> vals;
  for (const Document& d : docs) vals.push_back(d.view().begin()->value);
  return vals;
}

TEST(BsonPropertyTest, CompareValuesIsATotalOrderOnMixedValues) {
  Gen gen(TestSeed() + 2, /*json_safe=*/false);
  std::vector<Document> docs;
  for (int i = 0; i < 300; ++i) {
    Builder b;
    gen.AppendRandom(b, "v", 2);
    docs.push_back(std::move(b).Finish());
  }
  ExpectTotalOrder(Firsts(docs), docs);
}

// ---- Numbers against an independent reference -------------------------------------------

// A number as sign, significant decimal digits and exponent (value = 0.DIGITS x 10^exp), read
// from text written by glibc (exact for doubles) or libbson (decimal128), not from ExactNumber.
struct RefNumber {
  int cls = 2;  // 0 NaN, 1 -Infinity, 2 finite, 3 +Infinity
  bool negative = false;
  std::string digits;  // empty for zero
  long exp = 0;
};

RefNumber ParseRef(std::string_view text) {
  RefNumber r;
  if (text.find("NaN") != std::string_view::npos || text.find("nan") != std::string_view::npos) {
    r.cls = 0;
    return r;
  }
  size_t i = 0;
  if (text[i] == '-' || text[i] == '+') r.negative = text[i++] == '-';
  if (text.substr(i) == "Infinity" || text.substr(i) == "inf") {
    r.cls = r.negative ? 1 : 3;
    return r;
  }
  std::string digits;
  long point = -1;
  for (; i < text.size() && text[i] != 'E' && text[i] != 'e'; ++i) {
    if (text[i] == '.')
      point = static_cast<long>(digits.size());
    else
      digits += text[i];
  }
  long e = i < text.size() ? std::strtol(std::string(text.substr(i + 1)).c_str(), nullptr, 10) : 0;
  long int_digits = point < 0 ? static_cast<long>(digits.size()) : point;
  size_t first = digits.find_first_not_of('0');
  if (first == std::string::npos) return r;  // zero
  size_t last = digits.find_last_not_of('0');
  r.digits = digits.substr(first, last - first + 1);
  r.exp = int_digits - static_cast<long>(first) + e;
  return r;
}

RefNumber RefOf(const Value& v) {
  char buf[1100];
  switch (v.type()) {
    case BsonType::kInt32:
      return ParseRef(std::to_string(v.AsInt32()));
    case BsonType::kInt64:
      return ParseRef(std::to_string(v.AsInt64()));
    case BsonType::kDouble:
      std::snprintf(buf, sizeof(buf), "%.800e", v.AsDouble());  // glibc prints the exact value
      return ParseRef(buf);
    default: {
      // IEEE 754-2008: a coefficient above 10^34 - 1 is non-canonical and reads as zero
      // (libbson's to_string prints its digits instead).
      Decimal128Bits d = v.AsDecimal128();
      bool special = ((d.high >> 59) & 0xF) == 0xF;  // infinity or NaN
      bool large_form = ((d.high >> 61) & 0x3) == 0x3;
      unsigned __int128 c =
          (static_cast<unsigned __int128>(d.high & ((uint64_t{1} << 49) - 1)) << 64) | d.low;
      unsigned __int128 max =
          static_cast<unsigned __int128>(10000000000000000ULL) * 1000000000000000000ULL;
      if (!special && (large_form || c >= max)) return RefNumber{};
      return ParseRef(Decimal128ToString(d));
    }
  }
}

int CompareRef(const RefNumber& a, const RefNumber& b) {
  auto rank = [](const RefNumber& r) {
    if (r.cls != 2) return r.cls == 0 ? 0 : (r.cls == 1 ? 1 : 5);
    return r.digits.empty() ? 3 : (r.negative ? 2 : 4);
  };
  int ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  if (ra != 2 && ra != 4) return 0;
  int c = a.exp != b.exp ? (a.exp < b.exp ? -1 : 1) : Sign(a.digits.compare(b.digits));
  return ra == 2 ? -c : c;
}

// int32, int64 and double all fit a long double (64-bit mantissa) exactly.
bool LongDoubleOf(const Value& v, long double* out) {
  switch (v.type()) {
    case BsonType::kInt32:
      *out = v.AsInt32();
      return true;
    case BsonType::kInt64:
      *out = static_cast<long double>(v.AsInt64());
      return true;
    case BsonType::kDouble:
      *out = v.AsDouble();
      return true;
    default:
      return false;
  }
}

int CompareLongDouble(long double a, long double b) {
  if (std::isnan(a) || std::isnan(b))
    return std::isnan(a) && std::isnan(b) ? 0 : (std::isnan(a) ? -1 : 1);
  return (a > b) - (a < b);
}

// Numbers that often tie or nearly tie across types.
Document RandomNumber(Gen& gen) {
  Builder b;
  int64_t base = gen.OneIn(2) ? gen.Int64() : static_cast<int64_t>(gen.Below(11)) - 5;
  switch (gen.Below(8)) {
    case 0:
      b.AppendInt32("n", static_cast<int32_t>(base));
      break;
    case 1:
      b.AppendInt64("n", base);
      break;
    case 2:
      b.AppendDouble("n", static_cast<double>(base));
      break;
    case 3:
      b.AppendDouble("n", gen.Double());
      break;
    case 4:
      b.AppendDecimal128("n", gen.Decimal());
      break;
    case 5: {
      std::string text = std::to_string(base) + (gen.OneIn(2) ? ".00" : "");
      b.AppendDecimal128("n", ParseDecimal128(text).value());
      break;
    }
    case 6: {  // a double's shortest text as a decimal: near, rarely equal
      char buf[40];
      std::snprintf(buf, sizeof(buf), "%.17g", gen.Double());
      Result<Decimal128Bits> d = ParseDecimal128(buf);
      b.AppendDecimal128("n", d.ok() ? d.value() : Decimal128Bits{0, 0});
      break;
    }
    default:  // a neighbour, wrapping at the ends
      b.AppendInt64("n", static_cast<int64_t>(static_cast<uint64_t>(base) + gen.Below(3) - 1));
      break;
  }
  return std::move(b).Finish();
}

TEST(BsonPropertyTest, NumbersCompareLikeAnExactReference) {
  Gen gen(TestSeed() + 3, /*json_safe=*/false);
  std::vector<Document> docs;
  for (int i = 0; i < 400; ++i) docs.push_back(RandomNumber(gen));
  std::vector<Value> vals = Firsts(docs);
  std::vector<RefNumber> refs;
  for (const Value& v : vals) refs.push_back(RefOf(v));
  for (size_t a = 0; a < vals.size(); ++a) {
    for (size_t b = 0; b < vals.size(); ++b) {
      int got = Sign(CompareValues(vals[a], vals[b]));
      ASSERT_EQ(got, CompareRef(refs[a], refs[b]))
          << ToCanonicalJson(docs[a].view()) << " vs " << ToCanonicalJson(docs[b].view());
      long double x, y;
      if (LongDoubleOf(vals[a], &x) && LongDoubleOf(vals[b], &y)) {
        ASSERT_EQ(got, CompareLongDouble(x, y))
            << ToCanonicalJson(docs[a].view()) << " vs " << ToCanonicalJson(docs[b].view());
      }
    }
  }
  ExpectTotalOrder(vals, docs);
}

// ---- Mutated input --------------------------------------------------------------------------

// Reads every value of `doc` through its accessors and checks each result lies inside
// [lo, hi): what ASan checks in the fuzz build, checked here by hand.
class BoundsWalker {
 public:
  BoundsWalker(const uint8_t* lo, const uint8_t* hi) : lo_(lo), hi_(hi) {}

  void Walk(DocView doc, int depth) {
    ASSERT_LT(depth, 300);
    In(doc.data(), doc.size());
    size_t count = 0;
    for (const Element& e : doc) {
      ++count;
      In(e.name.data(), e.name.size() + 1);
      const Value& v = e.value;
      In(v.raw().data(), v.raw().size());
      WalkValue(v, depth);
      ASSERT_EQ(CompareValues(v, v), 0);
    }
    ASSERT_EQ(doc.CountElements(), count);
  }

 private:
  void In(const void* p, size_t n) {
    auto* b = static_cast<const uint8_t*>(p);
    ASSERT_TRUE(b >= lo_ && n <= static_cast<size_t>(hi_ - b)) << "read outside the input";
  }
  void WalkValue(const Value& v, int depth) {
    switch (v.type()) {
      case BsonType::kString:
      case BsonType::kSymbol:
      case BsonType::kCode:
        In(v.AsString().data(), v.AsString().size() + 1);
        break;
      case BsonType::kDocument:
      case BsonType::kArray:
        Walk(v.AsDocument(), depth + 1);
        break;
      case BsonType::kBinary:
        In(v.AsBinary().data.data(), v.AsBinary().data.size());
        break;
      case BsonType::kRegex:
        In(v.AsRegex().pattern.data(), v.AsRegex().pattern.size() + 1);
        In(v.AsRegex().options.data(), v.AsRegex().options.size() + 1);
        break;
      case BsonType::kDbPointer:
        In(v.AsDbPointer().ns.data(), v.AsDbPointer().ns.size() + 1);
        In(v.AsDbPointer().oid, 12);
        break;
      case BsonType::kCodeWithScope:
        In(v.CodeWithScopeCode().data(), v.CodeWithScopeCode().size() + 1);
        Walk(v.CodeWithScopeScope(), depth + 1);
        break;
      case BsonType::kObjectId:
        In(v.AsObjectId().data(), 12);
        break;
      case BsonType::kDecimal128:
      case BsonType::kDouble:
      case BsonType::kInt32:
      case BsonType::kInt64:
        (void)v.NumberAsDouble();
        (void)ExactFromValue(v);
        break;
      default:
        break;
    }
  }
  const uint8_t* lo_;
  const uint8_t* hi_;
};

TEST(BsonPropertyTest, SingleByteMutationsFailValidationOrStayInBounds) {
  Gen gen(TestSeed() + 4, /*json_safe=*/false);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 300; ++i) {
    Document doc = gen.RandomDocument(3);
    for (int k = 0; k < 40; ++k) {
      std::string bytes = doc.bytes();
      size_t at = gen.Below(bytes.size());
      static const uint8_t kSpecial[] = {0x00, 0x01, 0x02, 0x05, 0x7F, 0x80, 0xFF};
      switch (gen.Below(3)) {
        case 0:
          bytes[at] = static_cast<char>(gen.Pick(kSpecial));
          break;
        case 1:
          bytes[at] = static_cast<char>(bytes[at] + (gen.OneIn(2) ? 1 : -1));
          break;
        default:
          bytes[at] = static_cast<char>(gen.Bits());
          break;
      }
      Result<DocView> v = ValidateDocument(Bytes(bytes));
      if (!v.ok()) {
        ++rejected;
        continue;
      }
      ++accepted;
      auto* lo = reinterpret_cast<const uint8_t*>(bytes.data());
      BoundsWalker(lo, lo + v->size()).Walk(*v, 1);
      ASSERT_FALSE(HasFatalFailure()) << "doc " << i << " mutation " << k << " at byte " << at;
      (void)ToJson(*v);
      ASSERT_EQ(RebuildRaw(*v).bytes(), std::string(v->bytes_view()));
    }
  }
  EXPECT_GT(rejected, 0);
  EXPECT_GT(accepted, 0);
}

}  // namespace
}  // namespace amalgam::bson
