#include <gtest/gtest.h>

#include <climits>
#include <cmath>
#include <cstring>

#include "bson/builder.h"
#include "bson/compare.h"
#include "bson/json.h"
#include "bson/number.h"
#include "bson/validate.h"

namespace amalgam::bson {
namespace {

Document J(std::string_view json) { return FromJson(json).value(); }

TEST(BsonBuilderTest, BuildsDocumentsThatValidateAndReadBack) {
  Builder b;
  b.AppendString("s", "hi").AppendInt32("i", 7).StartArray("a");
  b.AppendDouble("0", 1.5).AppendBool("1", true);
  b.EndArray();
  Document d = std::move(b).Finish();
  Result<DocView> v = ValidateDocument(d.view().bytes());
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(d.view().Get("s").AsString(), "hi");
  EXPECT_EQ(d.view().Get("i").AsInt32(), 7);
  DocView a = d.view().Get("a").AsDocument();
  EXPECT_EQ(a.CountElements(), 2u);
  EXPECT_EQ(ToJson(d.view()), R"({ "s" : "hi", "i" : 7, "a" : [ 1.5, true ] })");
}

TEST(BsonCompareTest, NumbersCompareByValueAcrossTypes) {
  Document d = J(R"({"i": 5, "l": {"$numberLong": "5"}, "d": 5.0, "m": {"$numberDecimal": "5.00"},
                     "n": {"$numberDouble": "NaN"}, "z": -0.0, "zero": 0, "big": {"$numberLong": "9007199254740993"},
                     "bigd": 9007199254740992.0, "tenth": 0.1, "dtenth": {"$numberDecimal": "0.1"}})");
  DocView v = d.view();
  EXPECT_EQ(CompareValues(v.Get("i"), v.Get("l")), 0);
  EXPECT_EQ(CompareValues(v.Get("i"), v.Get("d")), 0);
  EXPECT_EQ(CompareValues(v.Get("d"), v.Get("m")), 0);
  EXPECT_LT(CompareValues(v.Get("n"), v.Get("z")), 0);
  EXPECT_EQ(CompareValues(v.Get("z"), v.Get("zero")), 0);
  EXPECT_GT(CompareValues(v.Get("big"), v.Get("bigd")), 0);
  // The double 0.1 is slightly above one tenth.
  EXPECT_LT(CompareValues(v.Get("dtenth"), v.Get("tenth")), 0);
}

TEST(BsonCompareTest, TypeBracketsOrderAsMongo) {
  Document d = J(R"({"a": [{"$minKey": 1}, null, 1, "a", {}, [], {"$binary": {"base64": "", "subType": "00"}},
                     {"$oid": "000000000000000000000000"}, false, {"$date": 0},
                     {"$timestamp": {"t": 0, "i": 0}}, {"$regularExpression": {"pattern": "a", "options": ""}},
                     {"$maxKey": 1}]})");
  std::vector<Value> vals;
  for (const Element& e : d.view().Get("a").AsDocument()) vals.push_back(e.value);
  for (size_t i = 0; i + 1 < vals.size(); ++i) {
    EXPECT_LT(CompareValues(vals[i], vals[i + 1]), 0) << i;
  }
}

TEST(BsonValidateTest, RejectsTruncatedAndWrongLengths) {
  Document d = J(R"({"a": "xyz", "b": {"c": 1}})");
  std::string bytes = d.bytes();
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = ValidateDocument(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), n));
    EXPECT_FALSE(r.ok()) << n;
  }
  std::string bad = bytes;
  bad[8] = 100;  // string length beyond the document
  auto r = ValidateDocument(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bad.data()), bad.size()));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kInvalidBSON);
}

TEST(BsonValidateTest, RejectsNestingDeeperThanTheLimit) {
  Builder b;
  for (int i = 0; i < 300; ++i) b.StartDocument("x");
  Document d = std::move(b).Finish();
  auto r = ValidateDocument(d.view().bytes());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kOverflow);
  ValidateOptions opt;
  opt.max_depth = 400;
  EXPECT_TRUE(ValidateDocument(d.view().bytes(), opt).ok());
}

TEST(BsonNumberTest, DoublesExpandExactly) {
  ExactNumber n = ExactFromDouble(0.1);
  EXPECT_EQ(n.exponent, 0);
  EXPECT_EQ(n.digits, "1000000000000000055511151231257827021181583404541015625");
  double back;
  ASSERT_TRUE(ExactToDouble(n, &back));
  EXPECT_EQ(back, 0.1);
  ExactNumber tiny = ExactFromDouble(std::numeric_limits<double>::denorm_min());
  ASSERT_TRUE(ExactToDouble(tiny, &back));
  EXPECT_EQ(back, std::numeric_limits<double>::denorm_min());
}


// ---- Malformed input ------------------------------------------------------------------------

Result<DocView> Check(const std::string& bytes) {
  return ValidateDocument(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
}

std::string BytesOf(Builder& b) { return std::move(b).Finish().bytes(); }

void PutI32(std::string& bytes, size_t at, int32_t v) { std::memcpy(bytes.data() + at, &v, 4); }
int32_t GetI32(const std::string& bytes, size_t at) {
  int32_t v;
  std::memcpy(&v, bytes.data() + at, 4);
  return v;
}

// One element of every length-bearing type (and a few fixed-size ones), nested, with contents
// chosen so that an off-by-one length lands on a byte that cannot continue a valid document:
// names start with letters (never a type byte), strings hold no NUL, binary bytes are 0xEE.
Document EveryLengthDocument() {
  const uint8_t oid[12] = {0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB, 0xAC};
  const uint8_t bin[4] = {0xEE, 0xEE, 0xEE, 0xEE};
  Builder scope;
  scope.AppendInt32("x", 41).AppendString("y", "why");
  Document s = std::move(scope).Finish();
  std::string cws(8, '\0');
  PutI32(cws, 0, static_cast<int32_t>(8 + 6 + s.bytes().size()));
  PutI32(cws, 4, 6);
  cws.append("x + 1", 6).append(s.bytes());
  std::string ptr(4, '\0');
  PutI32(ptr, 0, 8);
  ptr.append("db.coll", 8).append(reinterpret_cast<const char*>(oid), 12);
  Builder b;
  b.AppendString("str", "hello").AppendInt32("int", 7);
  b.StartDocument("doc").AppendCode("code", "f()").StartArray("arr");
  b.AppendSymbol("0", "sym").AppendBinary("1", 0x00, bin).AppendBinary("2", 0x02, bin).EndArray();
  b.AppendRegex("re", "^a", "i").EndDocument();
  b.AppendValue("ptr", Value(BsonType::kDbPointer, reinterpret_cast<const uint8_t*>(ptr.data()),
                             static_cast<uint32_t>(ptr.size())));
  b.AppendValue("cws", Value(BsonType::kCodeWithScope, reinterpret_cast<const uint8_t*>(cws.data()),
                             static_cast<uint32_t>(cws.size())));
  b.AppendBool("t", true);
  return std::move(b).Finish();
}

// Offsets of every int32 length field in a valid document starting at `base` of `bytes`.
void LengthFields(const std::string& bytes, size_t base, std::vector<size_t>* out) {
  out->push_back(base);
  auto* start = reinterpret_cast<const uint8_t*>(bytes.data());
  DocView doc(start + base, static_cast<uint32_t>(GetI32(bytes, base)));
  for (const Element& e : doc) {
    size_t v = static_cast<size_t>(e.value.raw().data() - start);
    switch (e.value.type()) {
      case BsonType::kDocument:
      case BsonType::kArray: LengthFields(bytes, v, out); break;
      case BsonType::kString:
      case BsonType::kCode:
      case BsonType::kSymbol:
      case BsonType::kDbPointer: out->push_back(v); break;
      case BsonType::kBinary:
        out->push_back(v);
        if (e.value.AsBinary().subtype == 0x02) out->push_back(v + 5);
        break;
      case BsonType::kCodeWithScope:
        out->push_back(v);
        out->push_back(v + 4);
        LengthFields(bytes, v + 8 + static_cast<size_t>(GetI32(bytes, v + 4)), out);
        break;
      default: break;
    }
  }
}

TEST(BsonValidateTest, AcceptsTheDocumentWithEveryLengthBearingType) {
  Document d = EveryLengthDocument();
  ASSERT_TRUE(Check(d.bytes()).ok()) << Check(d.bytes()).status().ToString();
  std::vector<size_t> fields;
  LengthFields(d.bytes(), 0, &fields);
  EXPECT_EQ(fields.size(), 14u);
}

TEST(BsonValidateTest, RejectsEveryTruncationEvenWithTheLengthPatched) {
  Document d = EveryLengthDocument();
  for (size_t n = 0; n < d.bytes().size(); ++n) {
    std::string prefix = d.bytes().substr(0, n);
    EXPECT_FALSE(Check(prefix).ok()) << n;
    if (n >= 5) {
      PutI32(prefix, 0, static_cast<int32_t>(n));  // claims to be complete
      EXPECT_FALSE(Check(prefix).ok()) << "patched " << n;
    }
  }
}

TEST(BsonValidateTest, RejectsEveryLengthFieldOffByOneHugeOrNegative) {
  Document d = EveryLengthDocument();
  std::vector<size_t> fields;
  LengthFields(d.bytes(), 0, &fields);
  for (size_t at : fields) {
    int32_t len = GetI32(d.bytes(), at);
    for (int64_t bad : {int64_t{len} + 1, int64_t{len} - 1, int64_t{len} + 1000, int64_t{INT32_MAX},
                        int64_t{0}, int64_t{-1}, int64_t{-len}, int64_t{INT32_MIN}}) {
      std::string bytes = d.bytes();
      PutI32(bytes, at, static_cast<int32_t>(bad));
      Result<DocView> r = Check(bytes);
      ASSERT_FALSE(r.ok()) << "length at byte " << at << " set to " << bad;
      EXPECT_TRUE(r.status().code() == ErrorCode::kInvalidBSON ||
                  r.status().code() == ErrorCode::kBSONObjectTooLarge)
          << r.status().ToString();
    }
  }
}

TEST(BsonValidateTest, RejectsEveryUndefinedTypeByte) {
  int valid = 0;
  for (int type = 0; type < 256; ++type) {
    std::string bytes(4, '\0');
    bytes += static_cast<char>(type);
    bytes += std::string("a\0", 2) + std::string(8, '\x01') + '\0';
    PutI32(bytes, 0, static_cast<int32_t>(bytes.size()));
    bool spec = (type >= 0x01 && type <= 0x13) || type == 0x7F || type == 0xFF;
    EXPECT_EQ(IsValidType(static_cast<uint8_t>(type)), spec) << type;
    if (!spec) {
      Result<DocView> r = Check(bytes);
      ASSERT_FALSE(r.ok()) << type;
      EXPECT_EQ(r.status().code(), ErrorCode::kInvalidBSON);
    } else {
      ++valid;
    }
  }
  EXPECT_EQ(valid, 21);
}

TEST(BsonValidateTest, RejectsMissingNulTerminators) {
  std::string doc = BytesOf(Builder().AppendInt32("a", 1));
  std::string bad = doc;
  bad.back() = 'x';  // document terminator
  EXPECT_FALSE(Check(bad).ok());
  std::string nested = BytesOf(Builder().StartDocument("d").AppendNull("n").EndDocument());
  bad = nested;
  bad[bad.size() - 2] = 'x';  // embedded document terminator
  EXPECT_FALSE(Check(bad).ok());
  std::string str = BytesOf(Builder().AppendString("s", "abc"));
  bad = str;
  bad[bad.size() - 2] = 'x';  // string terminator
  EXPECT_FALSE(Check(bad).ok());
  std::string name = BytesOf(Builder().AppendNull("abc"));
  bad = name;
  bad[bad.size() - 2] = 'x';  // field name runs into the document terminator
  EXPECT_FALSE(Check(bad).ok());
  std::string re = BytesOf(Builder().AppendRegex("r", "ab", "i"));
  for (size_t at : {re.size() - 2, re.size() - 4}) {  // options, pattern terminators
    bad = re;
    bad[at] = 'x';
    EXPECT_FALSE(Check(bad).ok()) << at;
  }
}

TEST(BsonValidateTest, RejectsBooleanBytesOtherThanZeroAndOne) {
  std::string bytes = BytesOf(Builder().AppendBool("b", true));
  for (int v : {0, 1, 2, 0x80, 0xFF}) {
    bytes[bytes.size() - 2] = static_cast<char>(v);
    Result<DocView> r = Check(bytes);
    EXPECT_EQ(r.ok(), v <= 1) << v;
    if (r.ok()) {
      EXPECT_EQ(r->Get("b").AsBool(), v == 1);
    }
  }
}

TEST(BsonValidateTest, AcceptsExactlyTheMaximumNestingDepth) {
  for (bool arrays : {false, true}) {
    for (int depth : {199, 200, 201}) {  // the top-level document is depth 1
      Builder b;
      for (int i = 1; i < depth; ++i) arrays ? b.StartArray("0") : b.StartDocument("0");
      Document d = std::move(b).Finish();
      Result<DocView> r = ValidateDocument(d.view().bytes());
      EXPECT_EQ(r.ok(), depth <= kMaxWireDepth) << depth;
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), ErrorCode::kOverflow) << r.status().ToString();
      }
    }
  }
}

TEST(BsonValidateTest, RejectsDocumentsLargerThanTheLimit) {
  std::string bytes = BytesOf(Builder().AppendString("s", std::string(100, 'x')));
  ValidateOptions opt;
  opt.max_size = 64;
  Result<DocView> r = ValidateDocument(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), opt);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kBSONObjectTooLarge);
}

TEST(BsonBuilderTest, RegexWithAnEmbeddedNulStillBuildsValidBson) {
  Builder b;
  b.AppendRegex("r", std::string_view("a\0b", 3), std::string_view("i\0x", 3)).AppendInt32("n", 1);
  Document d = std::move(b).Finish();
  Result<DocView> r = ValidateDocument(d.view().bytes());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Get("r").AsRegex().pattern, "a");
  EXPECT_EQ(r->Get("r").AsRegex().options, "i");
  EXPECT_EQ(r->Get("n").AsInt32(), 1);
}

TEST(BsonCompareTest, OldBinarySubtypeOrdersByItsOuterLength) {
  // MongoDB compares binData by the outer length first: subtype 2 with 1 payload byte has an
  // outer length of 5, so it sorts after 4 bytes of subtype 0 and before 6.
  std::vector<uint8_t> one = {7}, four = {1, 2, 3, 4}, six = {1, 2, 3, 4, 5, 6};
  Builder b;
  b.AppendBinary("old", 0x02, one).AppendBinary("four", 0x00, four).AppendBinary("six", 0x00, six);
  Document d = std::move(b).Finish();
  EXPECT_GT(CompareValues(d.view().Get("old"), d.view().Get("four")), 0);
  EXPECT_LT(CompareValues(d.view().Get("old"), d.view().Get("six")), 0);
}

TEST(BsonJsonTest, ShellStringPrintsHugeAndSpecialDoubles) {
  Document d = J(R"({"big": 4.9e252, "one": 1.0, "nan": {"$numberDouble": "NaN"}, "inf": {"$numberDouble": "-Infinity"}})");
  EXPECT_EQ(ToShellString(d.view()), "{ big: 4.8999999999999998e+252, one: 1.0, nan: nan, inf: -inf }");
}

}  // namespace
}  // namespace amalgam::bson
