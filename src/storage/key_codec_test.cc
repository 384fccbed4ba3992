#include "storage/key_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <vector>

#include "bson/builder.h"
#include "bson/compare.h"
#include "bson/json.h"
#include "bson/number.h"
#include "bson/validate.h"

namespace amalgam::storage {
namespace {

using bson::BsonType;
using bson::Builder;
using bson::Document;
using bson::Value;

constexpr Direction kAsc[] = {Direction::kAscending};
constexpr Direction kDesc[] = {Direction::kDescending};

// A value held in its own document {"v": value}. Values borrow bytes, so take them fresh.
Value V(const Document& d) { return d.view().Get("v"); }

Document J(std::string_view json) {
  Result<Document> r = bson::FromJson(json);
  EXPECT_TRUE(r.ok()) << json << ": " << r.status().ToString();
  return r.ok() ? std::move(r).value() : Document();
}
// {"v": <json>}
Document JV(std::string_view json) { return J(std::string(R"({"v": )") + std::string(json) + "}"); }

std::string Hex(std::string_view s) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  for (char c : s) {
    out.push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    out.push_back(kDigits[static_cast<uint8_t>(c) & 15]);
  }
  return out;
}

std::string Show(const Document& d) { return bson::ToCanonicalJson(d.view()); }

int Sign(int v) { return v < 0 ? -1 : (v > 0 ? 1 : 0); }
int ByteOrder(const std::string& a, const std::string& b) { return Sign(a.compare(b)); }

// {"0": v}, the shape DecodeKey returns for one component.
Document Wrapped(const Value& v) {
  Builder b;
  b.AppendValue("0", v);
  return std::move(b).Finish();
}

// Raw dbPointer / codeWithScope values, which Builder has no helpers for.
std::string RawDbPointer(std::string_view ns, uint8_t oid_byte) {
  int32_t len = static_cast<int32_t>(ns.size() + 1);
  std::string raw(reinterpret_cast<const char*>(&len), 4);
  raw.append(ns);
  raw.push_back('\0');
  raw.append(12, static_cast<char>(oid_byte));
  return raw;
}
std::string RawCodeWithScope(std::string_view code, const Document& scope) {
  int32_t code_len = static_cast<int32_t>(code.size() + 1);
  int32_t total = static_cast<int32_t>(8 + code.size() + 1 + scope.bytes().size());
  std::string raw(reinterpret_cast<const char*>(&total), 4);
  raw.append(reinterpret_cast<const char*>(&code_len), 4);
  raw.append(code);
  raw.push_back('\0');
  raw.append(scope.bytes());
  return raw;
}
void AppendRaw(Builder& b, std::string_view name, BsonType type, const std::string& raw) {
  b.AppendValue(name, Value(type, reinterpret_cast<const uint8_t*>(raw.data()),
                            static_cast<uint32_t>(raw.size())));
}

// Checks that key order (ascending and descending) agrees with CompareValues for every pair.
void ExpectOrderMatchesCompare(const std::vector<Document>& docs) {
  for (size_t i = 0; i < docs.size(); ++i) {
    for (size_t j = 0; j < docs.size(); ++j) {
      int want = Sign(bson::CompareValues(V(docs[i]), V(docs[j])));
      EXPECT_EQ(ByteOrder(EncodeValue(V(docs[i])).key, EncodeValue(V(docs[j])).key), want)
          << Show(docs[i]) << " vs " << Show(docs[j]);
      EXPECT_EQ(ByteOrder(EncodeValue(V(docs[i]), true).key, EncodeValue(V(docs[j]), true).key),
                -want)
          << Show(docs[i]) << " vs " << Show(docs[j]) << " descending";
    }
  }
}

// Checks that `groups` (each a list of equal values) are in strictly increasing order.
void ExpectGroupsInOrder(const std::vector<std::vector<Document>>& groups) {
  std::vector<Document> all;
  for (size_t g = 0; g < groups.size(); ++g) {
    for (const Document& d : groups[g]) {
      for (size_t h = 0; h < groups.size(); ++h) {
        for (const Document& e : groups[h]) {
          int want = g < h ? -1 : (g > h ? 1 : 0);
          EXPECT_EQ(Sign(bson::CompareValues(V(d), V(e))), want)
              << "oracle: " << Show(d) << " vs " << Show(e);
          EXPECT_EQ(ByteOrder(EncodeValue(V(d)).key, EncodeValue(V(e)).key), want)
              << Show(d) << " vs " << Show(e);
        }
      }
      all.push_back(d);
    }
  }
  ExpectOrderMatchesCompare(all);
}

void ExpectRoundTrip(const Document& d) {
  for (bool desc : {false, true}) {
    EncodedKey k = EncodeValue(V(d), desc);
    Result<Document> back = DecodeKey(k.key, k.typebits, desc ? kDesc : kAsc);
    ASSERT_TRUE(back.ok()) << Show(d) << ": " << back.status().ToString();
    EXPECT_EQ(Hex(back->bytes()), Hex(Wrapped(V(d)).bytes()))
        << Show(d) << (desc ? " descending" : "");
  }
}

// ---------------------------------------------------------------------------------------------

TEST(KeyCodecTest, EncodesKnownValuesToDocumentedBytes) {
  struct Case {
    const char* json;
    const char* key;
    const char* typebits;
  };
  const Case cases[] = {
      {R"({"$minKey": 1})", "0A", ""},
      {R"({"$undefined": true})", "0F", ""},
      {"null", "14", ""},
      {R"({"$numberDouble": "NaN"})", "1E10", "05000000000000F87F"},
      {"0", "1E20", ""},
      {R"({"$numberDecimal": "0E-10"})", "1E20", "031816"},
      {R"({"$numberDecimal": "0.1"})", "1E30800014", "03181F"},
      {"1", "1E30800114", ""},
      {R"({"$numberLong": "1"})", "1E30800114", "01"},
      {"1.0", "1E30800114", "02"},
      {R"({"$numberDecimal": "1.000"})", "1E30800114", "03181D"},
      {"5", "1E30800164", ""},
      {R"({"$numberDecimal": "5.00"})", "1E30800164", "03181E"},
      {"123", "1E308003193C", ""},
      {"-5", "1E127FFE9B", ""},
      {R"("ab")", "2861620001", ""},
      {R"({"$symbol": "ab"})", "2861620001", "01"},
      {R"({"a": 1, "b": "x"})",
       "32"
       "1E610001"
       "30800114"
       "28620001"
       "780001"
       "00",
       ""},
      {"[1, true]",
       "3C"
       "1E30800114"
       "5A01"
       "00",
       ""},
      {"false", "5A00", ""},
      {"true", "5A01", ""},
      {R"({"$date": {"$numberLong": "0"}})", "648000000000000000", ""},
      {R"({"$timestamp": {"t": 1, "i": 2}})", "6E0000000100000002", ""},
      {R"({"$code": "f"})", "8C660001", ""},
      {R"({"$maxKey": 1})", "F0", ""},
  };
  for (const Case& c : cases) {
    Document d = JV(c.json);
    EncodedKey k = EncodeValue(V(d));
    EXPECT_EQ(Hex(k.key), c.key) << c.json;
    EXPECT_EQ(Hex(k.typebits), c.typebits) << c.json;
    ExpectRoundTrip(d);
  }
  Builder b;
  b.AppendString("v", std::string_view("a\0b", 3));
  EXPECT_EQ(Hex(EncodeValue(V(std::move(b).Finish())).key), "286100FF620001");
}

TEST(KeyCodecTest, ComplementsDescendingComponentsOfACompoundKey) {
  Document d = J(R"({"a": 1, "b": "x"})");
  Value values[] = {d.view().Get("a"), d.view().Get("b")};
  Direction dirs[] = {Direction::kAscending, Direction::kDescending};
  EncodedKey k = EncodeKey(values, dirs);
  EXPECT_EQ(Hex(k.key), "1E30800114D787FFFE");
  Result<Document> back = DecodeKey(k.key, k.typebits, dirs);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Show(*back), R"({ "0" : { "$numberInt" : "1" }, "1" : "x" })");
}

TEST(KeyCodecTest, OrdersMixedNumericTypesLikeMongo) {
  ExpectGroupsInOrder({
      {JV(R"({"$numberDouble": "NaN"})"), JV(R"({"$numberDecimal": "NaN"})"),
       JV(R"({"$numberDecimal": "-NaN"})")},
      {JV(R"({"$numberDouble": "-Infinity"})"), JV(R"({"$numberDecimal": "-Infinity"})")},
      {JV("-1e300")},
      {JV("-5"), JV(R"({"$numberLong": "-5"})"), JV("-5.0"), JV(R"({"$numberDecimal": "-5.000"})")},
      {JV("-0.5"), JV(R"({"$numberDecimal": "-0.50"})")},
      {JV("0"), JV("-0.0"), JV(R"({"$numberLong": "0"})"), JV(R"({"$numberDecimal": "0E-10"})"),
       JV(R"({"$numberDecimal": "-0"})"), JV(R"({"$numberDecimal": "0E+300"})")},
      {JV("1e-300")},
      {JV(R"({"$numberDecimal": "0.1"})")},
      {JV("0.1")},
      {JV(R"({"$numberDecimal": "0.101"})")},
      {JV(R"({"$numberDecimal": "0.11"})")},
      {JV("1"), JV(R"({"$numberLong": "1"})"), JV("1.0"), JV(R"({"$numberDecimal": "1.000"})")},
      {JV(R"({"$numberLong": "9007199254740992"})"), JV("9007199254740992.0")},
      {JV(R"({"$numberLong": "9007199254740993"})"),
       JV(R"({"$numberDecimal": "9007199254740993"})")},
      {JV(R"({"$numberLong": "9223372036854775807"})")},
      {JV("9223372036854775808.0"), JV(R"({"$numberDecimal": "9223372036854775808"})")},
      {JV("1e19")},
      {JV(R"({"$numberDecimal": "1E+6000"})")},
      {JV(R"({"$numberDouble": "Infinity"})"), JV(R"({"$numberDecimal": "Infinity"})")},
  });
}

TEST(KeyCodecTest, OrdersStringsBytewiseWithPrefixFirst) {
  std::vector<std::vector<Document>> groups;
  for (std::string_view s :
       {std::string_view(""), std::string_view("a"), std::string_view("a\0", 2),
        std::string_view("a\0\0", 3), std::string_view("a\x01", 2), std::string_view("ab"),
        std::string_view("b"), std::string_view("\xff")}) {
    Builder str, sym;
    str.AppendString("v", s);
    sym.AppendSymbol("v", s);
    groups.push_back({});
    groups.back().push_back(std::move(str).Finish());
    groups.back().push_back(std::move(sym).Finish());
  }
  ExpectGroupsInOrder(groups);
  for (const auto& g : groups) {
    for (const Document& d : g) ExpectRoundTrip(d);
  }
}

TEST(KeyCodecTest, OrdersEveryTypeBracketLikeMongo) {
  std::vector<std::vector<Document>> groups = {
      {JV(R"({"$minKey": 1})")},
      {JV(R"({"$undefined": true})")},
      {JV("null")},
      {JV("1e308")},
      {JV(R"({"$numberDouble": "Infinity"})")},
      {JV(R"("")")},
      {JV("{}")},
      {JV("[]")},
      {JV(R"({"$binary": {"base64": "", "subType": "00"}})")},
      {JV(R"({"$oid": "000000000000000000000000"})")},
      {JV("false")},
      {JV("true")},
      {JV(R"({"$date": {"$numberLong": "-9223372036854775808"}})")},
      {JV(R"({"$timestamp": {"t": 0, "i": 0}})")},
      {JV(R"({"$regularExpression": {"pattern": "", "options": ""}})")},
  };
  Builder dbp;
  AppendRaw(dbp, "v", BsonType::kDbPointer, RawDbPointer("", 0));
  groups.push_back({std::move(dbp).Finish()});
  groups.push_back({JV(R"({"$code": ""})")});
  Builder cws;
  AppendRaw(cws, "v", BsonType::kCodeWithScope, RawCodeWithScope("", Document()));
  groups.push_back({std::move(cws).Finish()});
  groups.push_back({JV(R"({"$maxKey": 1})")});
  ExpectGroupsInOrder(groups);
  for (const auto& g : groups) ExpectRoundTrip(g[0]);
}

TEST(KeyCodecTest, OrdersDocumentsByBracketThenNameThenValue) {
  // {b: false} sorts above {a: true}: the field name decides before the bool value.
  ExpectGroupsInOrder({
      {JV("{}")},
      {JV(R"({"a": {"$minKey": 1}})")},
      {JV(R"({"": 1})")},
      {JV(R"({"a": 1})"), JV(R"({"a": 1.0})")},
      {JV(R"({"a": 1, "b": 1})")},
      {JV(R"({"a": 2})")},
      {JV(R"({"ab": 1})")},
      {JV(R"({"b": 1})")},
      {JV(R"({"a": "x"})")},
      {JV(R"({"a": {}})")},
      {JV(R"({"a": true})")},
      {JV(R"({"b": false})")},
      {JV(R"({"a": {"$maxKey": 1}})")},
  });
  ExpectGroupsInOrder({
      {JV("[]")},
      {JV("[1]"), JV("[1.0]")},
      {JV("[1, 2]")},
      {JV("[2]")},
      {JV(R"(["a"])")},
      {JV("[{}]")},
      {JV("[[]]")},
      {JV("[[1]]")},
      {JV("[false]")},
      {JV("[true]")},
  });
}

TEST(KeyCodecTest, OrdersOtherTypesLikeMongo) {
  std::vector<Document> docs = {
      JV(R"({"$binary": {"base64": "AA==", "subType": "00"}})"),
      JV(R"({"$binary": {"base64": "AA==", "subType": "80"}})"),
      JV(R"({"$binary": {"base64": "AAA=", "subType": "00"}})"),
      JV(R"({"$binary": {"base64": "AQ==", "subType": "00"}})"),
      JV(R"({"$binary": {"base64": "AQ==", "subType": "02"}})"),
      JV(R"({"$oid": "000000000000000000000001"})"),
      JV(R"({"$oid": "ff0000000000000000000000"})"),
      JV(R"({"$date": {"$numberLong": "-1"}})"),
      JV(R"({"$date": {"$numberLong": "0"}})"),
      JV(R"({"$date": {"$numberLong": "9223372036854775807"}})"),
      JV(R"({"$timestamp": {"t": 1, "i": 4294967295}})"),
      JV(R"({"$timestamp": {"t": 4294967295, "i": 0}})"),
      JV(R"({"$regularExpression": {"pattern": "a", "options": "i"}})"),
      JV(R"({"$regularExpression": {"pattern": "ab", "options": ""}})"),
      JV(R"({"$code": "a"})"),
      JV(R"({"$code": "ab"})"),
  };
  for (auto [ns, oid] : {std::pair{"", 1}, std::pair{"a", 0}, std::pair{"a.b", 0}}) {
    Builder b;
    AppendRaw(b, "v", BsonType::kDbPointer, RawDbPointer(ns, static_cast<uint8_t>(oid)));
    docs.push_back(std::move(b).Finish());
  }
  for (const char* scope : {"{}", R"({"x": 1})", R"({"x": "y"})"}) {
    Builder b;
    AppendRaw(b, "v", BsonType::kCodeWithScope, RawCodeWithScope("c", J(scope)));
    docs.push_back(std::move(b).Finish());
  }
  ExpectOrderMatchesCompare(docs);
  for (const Document& d : docs) ExpectRoundTrip(d);
}

TEST(KeyCodecTest, RoundTripsExactTypesAndBits) {
  const char* cases[] = {
      "-0.0",
      R"({"$numberDecimal": "-0"})",
      R"({"$numberDecimal": "-0E+12"})",
      R"({"$numberDecimal": "5.00"})",
      R"({"$numberDecimal": "5E+3"})",
      R"({"$numberDecimal": "1234567890123456789012345678901234"})",
      R"({"$numberDecimal": "-1.234567890123456789012345678901234E-6143"})",
      R"({"$numberDecimal": "9.999999999999999999999999999999999E+6144"})",
      R"({"$numberDecimal": "-Infinity"})",
      R"({"$numberLong": "-9223372036854775808"})",
      R"({"$numberInt": "-2147483648"})",
      "4.9406564584124654e-324",
      "-1.7976931348623157e308",
      R"({"$numberDouble": "-NaN"})",
      R"({"a": [1, {"$numberLong": "2"}, 3.5, {"$symbol": "s"}], "b": {"c": {"$numberDecimal": "1.0"}}})",
      R"({"$binary": {"base64": "AAEC", "subType": "02"}})",
  };
  for (const char* json : cases) ExpectRoundTrip(JV(json));
  // Odd bit patterns: a NaN with a payload, decimal NaN payloads, non-canonical decimals.
  Builder b;
  uint64_t nan_bits = 0xFFF0000000000123ULL;
  double nan;
  std::memcpy(&nan, &nan_bits, 8);
  b.AppendDouble("v", nan);
  ExpectRoundTrip(std::move(b).Finish());
  for (bson::Decimal128Bits d : {bson::Decimal128Bits{5, 0x7C00000000000000ULL},
                                 bson::Decimal128Bits{0, 0xFE00000000000000ULL},
                                 bson::Decimal128Bits{1, 0x6000000000000000ULL},
                                 bson::Decimal128Bits{~0ULL, 0x3041FFFFFFFFFFFFULL}}) {
    Builder db;
    db.AppendDecimal128("v", d);
    ExpectRoundTrip(std::move(db).Finish());
  }
  // Arrays whose element names are not "0", "1", ...
  Builder arr;
  arr.StartArray("v").AppendInt32("x", 1).AppendInt32("0", 2).AppendNull("").EndArray();
  ExpectRoundTrip(std::move(arr).Finish());
}

TEST(KeyCodecTest, EncodesMissingLikeUndefinedButDecodesToNothing) {
  Document undef = JV(R"({"$undefined": true})");
  EncodedKey missing = EncodeValue(Value());
  EXPECT_EQ(missing.key, EncodeValue(V(undef)).key);
  Document one = JV("1");
  Value values[] = {V(one), Value(), V(one)};
  Direction dirs[] = {Direction::kAscending, Direction::kDescending, Direction::kAscending};
  EncodedKey k = EncodeKey(values, dirs);
  Result<Document> back = DecodeKey(k.key, k.typebits, dirs);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(Show(*back), R"({ "0" : { "$numberInt" : "1" }, "2" : { "$numberInt" : "1" } })");
}

TEST(KeyCodecTest, AcceptsNestingUpToTheWireDepth) {
  for (int levels : {bson::kMaxWireDepth - 1, bson::kMaxWireDepth}) {
    std::string key(static_cast<size_t>(levels), '\x3C');
    key.append(static_cast<size_t>(levels), '\0');
    Result<Document> r = DecodeKey(key, "", kAsc);
    if (levels < bson::kMaxWireDepth) {
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_TRUE(bson::ValidateDocument(r->view().bytes()).ok());
      EXPECT_EQ(EncodeValue(r->view().Get("0")).key, key);
    } else {
      ASSERT_FALSE(r.ok());
      EXPECT_EQ(r.status().code(), ErrorCode::kDataCorruption);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Corrupt input.

void ExpectCorrupt(std::string_view key, std::string_view typebits, std::string_view what) {
  Result<Document> r = DecodeKey(key, typebits, kAsc);
  ASSERT_FALSE(r.ok()) << what << ": decoded " << Show(*r);
  EXPECT_EQ(r.status().code(), ErrorCode::kDataCorruption) << what << ": " << r.status().ToString();
}

std::string Unhex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(KeyCodecTest, RejectsEveryTruncatedKey) {
  std::vector<Document> docs = {JV("-123.25"),
                                JV(R"({"$numberDecimal": "1E+100"})"),
                                JV(R"("a\u0000b")"),
                                JV(R"({"a": [1, "x", {"b": null}], "c": true})"),
                                JV(R"({"$binary": {"base64": "AAEC", "subType": "02"}})"),
                                JV(R"({"$oid": "0102030405060708090a0b0c"})"),
                                JV(R"({"$date": {"$numberLong": "5"}})"),
                                JV(R"({"$regularExpression": {"pattern": "a", "options": "i"}})")};
  Builder b;
  AppendRaw(b, "v", BsonType::kDbPointer, RawDbPointer("db.c", 7));
  docs.push_back(std::move(b).Finish());
  for (const Document& d : docs) {
    for (bool desc : {false, true}) {
      EncodedKey k = EncodeValue(V(d), desc);
      for (size_t n = 0; n < k.key.size(); ++n) {
        Result<Document> r = DecodeKey(k.key.substr(0, n), k.typebits, desc ? kDesc : kAsc);
        ASSERT_FALSE(r.ok()) << Show(d) << " cut at " << n;
        EXPECT_EQ(r.status().code(), ErrorCode::kDataCorruption);
      }
    }
  }
}

TEST(KeyCodecTest, RejectsMalformedKeyBytes) {
  ExpectCorrupt("", "", "empty key");
  ExpectCorrupt(Unhex("01"), "", "unknown tag");
  ExpectCorrupt(Unhex("5B"), "", "reserved tag");
  ExpectCorrupt(Unhex("5A02"), "", "bool byte 2");
  ExpectCorrupt(Unhex("1E31"), "", "unknown number class");
  ExpectCorrupt(Unhex("1E308001C8"), "", "digit pair 100");
  ExpectCorrupt(Unhex("1E30800102"), "", "leading zero digit");
  ExpectCorrupt(Unhex("1E3080011500"), "", "trailing zero pair");
  ExpectCorrupt(Unhex("1E3080011400"), "", "byte after the component");
  ExpectCorrupt(Unhex("28610002"), "", "bad string escape");
  ExpectCorrupt(Unhex("786100FF00010001"), "", "regex pattern with NUL");
  ExpectCorrupt(Unhex("3261000100FF000114"
                      "00"),
                "", "field name with NUL");
  ExpectCorrupt(Unhex("820000000405000000"), "", "short dbPointer");
  ExpectCorrupt(Unhex("4600000010"
                      "00"
                      "01"),
                "", "binary longer than the key");
  ExpectCorrupt(Unhex("46FFFFFFFF00"), "", "huge binary length");
}

TEST(KeyCodecTest, RejectsTypeBitsThatDoNotFitTheKey) {
  auto key = [](std::string_view json) { return EncodeValue(V(JV(json))).key; };
  ExpectCorrupt(key("1.5"), "", "int32 bits for 1.5");
  ExpectCorrupt(key(R"({"$numberLong": "4294967296"})"), "", "int32 bits for 2^32");
  ExpectCorrupt(key("1e19"), Unhex("01"), "int64 bits for 1e19");
  ExpectCorrupt(key(R"({"$numberDecimal": "0.1"})"), Unhex("02"), "double bits for decimal 0.1");
  ExpectCorrupt(key(R"({"$numberDouble": "NaN"})"), Unhex("02"), "compact double bits for NaN");
  ExpectCorrupt(key("1.5"), Unhex("031820"), "decimal quantum 0 for 1.5");
  ExpectCorrupt(key("1"), Unhex("041820"), "decimal negative zero bits for 1");
  ExpectCorrupt(key("1"), Unhex("050000000000000040"), "raw double bits of 2.0 for 1");
  ExpectCorrupt(key("1"),
                Unhex("06"
                      "01000000000000000000000000003E30"),
                "raw decimal 1E-1 for 1");
  ExpectCorrupt(key("1"), Unhex("07"), "unknown numeric type bits");
  ExpectCorrupt(key("1"), Unhex("0001"), "type bits left over");
  ExpectCorrupt(key(R"("a")"), Unhex("02"), "string type bits 2");
  ExpectCorrupt(key("[]"), Unhex("02"), "array type bits 2");
  ExpectCorrupt(key(R"([{"$undefined": true}])"), Unhex("0001"), "missing inside an array");
}

// ---------------------------------------------------------------------------------------------
// Randomized properties. The seed is printed; AMALGAM_TEST_SEED=<n> replays a run.

uint64_t TestSeed() {
  static const uint64_t seed = [] {
    const char* env = std::getenv("AMALGAM_TEST_SEED");
    uint64_t s = env ? std::strtoull(env, nullptr, 10) : std::random_device()();
    std::cout << "[ seed     ] AMALGAM_TEST_SEED=" << s << std::endl;
    return s;
  }();
  return seed;
}

// Generates random BSON values of every type, biased towards edge cases and towards values
// that compare equal across types.
class ValueGen {
 public:
  explicit ValueGen(uint64_t seed) : rng_(seed) {}

  uint64_t U(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng_); }
  uint64_t Bits() { return rng_(); }

  Document Make() {
    Builder b;
    Value(b, "v", 0);
    return std::move(b).Finish();
  }

  void Value(Builder& b, std::string_view name, int depth) {
    uint64_t k = U(100);
    if (k < 35) return Number(b, name);
    if (k < 50) return StringLike(b, name);
    if (k < 58 && depth < 4) return DocumentValue(b, name, depth);
    if (k < 66 && depth < 4) return ArrayValue(b, name, depth);
    Other(b, name, depth);
  }

 private:
  template <typename T>
  T Pick(std::initializer_list<T> xs) {
    return *(xs.begin() + U(xs.size()));
  }

  std::string Str(size_t max_len, bool nul) {
    std::string s;
    for (size_t n = U(max_len + 1); n > 0; --n) {
      s.push_back(nul ? Pick<char>({'\0', '\x01', 'a', 'b', '\xff'})
                      : Pick<char>({'\x01', 'a', 'b', '\xff'}));
    }
    return s;
  }

  void Number(Builder& b, std::string_view name) {
    switch (U(5)) {
      case 0:
        b.AppendInt32(name, Pick<int32_t>({0, 1, -1, 2, -2, INT32_MIN, INT32_MAX,
                                           static_cast<int32_t>(Bits())}));
        return;
      case 1: b.AppendInt64(name, Int64()); return;
      case 2: b.AppendDouble(name, Double()); return;
      case 3: b.AppendDecimal128(name, Decimal()); return;
      default: SmallNumber(b, name); return;
    }
  }

  int64_t Int64() {
    constexpr int64_t p53 = int64_t{1} << 53;
    int64_t near = Pick<int64_t>({p53, -p53, INT64_MAX, INT64_MIN, 0, 1000000});
    switch (U(3)) {
      case 0: return static_cast<int64_t>(static_cast<uint64_t>(near) + U(5) - 2);  // wraps
      case 1: return static_cast<int64_t>(Bits());
      default: return static_cast<int64_t>(Bits()) >> U(64);
    }
  }

  double Double() {
    switch (U(6)) {
      case 0:
        return Pick<double>({0.0, -0.0, std::numeric_limits<double>::quiet_NaN(),
                             std::numeric_limits<double>::infinity(),
                             -std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::max(), std::numeric_limits<double>::min(),
                             std::numeric_limits<double>::denorm_min(), 0.1, 9007199254740992.0,
                             9223372036854775808.0, -9223372036854775808.0, 1e19});
      case 1: {  // any bit pattern: NaN payloads, subnormals, everything
        uint64_t bits = Bits();
        if (U(2)) bits &= 0x800FFFFFFFFFFFFFULL;  // subnormal
        double d;
        std::memcpy(&d, &bits, 8);
        return d;
      }
      case 2: return static_cast<double>(Int64());
      case 3: return static_cast<double>(static_cast<int64_t>(U(41)) - 20) / 4;
      default: return std::ldexp(static_cast<double>(Bits() >> 11), static_cast<int>(U(200)) - 150);
    }
  }

  bson::Decimal128Bits Decimal() {
    std::string text;
    switch (U(4)) {
      case 0:
        text =
            Pick<const char*>({"NaN", "Infinity", "-Infinity", "0", "-0", "0E-10", "0E+5", "1.000",
                               "5.00", "0.1", "-0.5", "9007199254740993", "1E+6111", "1E-6176"});
        break;
      case 1: {  // any bit pattern
        bson::Decimal128Bits d{Bits(), Bits()};
        return d;
      }
      default: {
        text = U(2) ? "-" : "";
        std::string digits = std::to_string(1 + U(9)) + Digits(U(34));
        int exp = U(2) ? static_cast<int>(U(80)) - 40 : static_cast<int>(U(12287)) - 6176;
        text += digits + "E" + std::to_string(exp);
      }
    }
    Result<bson::Decimal128Bits> r = bson::ParseDecimal128(text);
    return r.ok() ? *r : bson::Decimal128Bits{0, 0x3040000000000000ULL};
  }

  std::string Digits(uint64_t n) {
    std::string s;
    for (; n > 0; --n) s.push_back(static_cast<char>('0' + (U(3) ? U(10) : 0)));
    return s;
  }

  // A small value, equal across types: k as int32, int64, double, decimal "k.00".
  void SmallNumber(Builder& b, std::string_view name) {
    int k = static_cast<int>(U(7)) - 3;
    switch (U(5)) {
      case 0: b.AppendInt32(name, k); return;
      case 1: b.AppendInt64(name, k); return;
      case 2: b.AppendDouble(name, k); return;
      case 3: b.AppendDecimal128(name, *bson::ParseDecimal128(std::to_string(k) + ".00")); return;
      default: b.AppendDouble(name, k + 0.5); return;
    }
  }

  void StringLike(Builder& b, std::string_view name) {
    std::string s = Str(5, true);
    switch (U(5)) {
      case 0: b.AppendSymbol(name, s); return;
      case 1: b.AppendCode(name, s); return;
      default: b.AppendString(name, s); return;
    }
  }

  void DocumentValue(Builder& b, std::string_view name, int depth) {
    b.StartDocument(name);
    for (uint64_t n = U(4); n > 0; --n) {
      Value(b, Pick<const char*>({"", "a", "b", "ab", "a\x01"}), depth + 1);
    }
    b.EndDocument();
  }

  void ArrayValue(Builder& b, std::string_view name, int depth) {
    b.StartArray(name);
    bool odd_names = U(8) == 0;
    for (uint64_t i = 0, n = U(4); i < n; ++i) {
      std::string elem = odd_names ? Pick<const char*>({"", "x", "0", "1"}) : std::to_string(i);
      Value(b, elem, depth + 1);
    }
    b.EndArray();
  }

  void Other(Builder& b, std::string_view name, int depth) {
    switch (U(15)) {
      case 0: b.AppendMinKey(name); return;
      case 1: b.AppendMaxKey(name); return;
      case 2: b.AppendNull(name); return;
      case 3: b.AppendUndefined(name); return;
      case 4: b.AppendBool(name, U(2)); return;
      case 5: b.AppendDate(name, Int64()); return;
      case 6:
        b.AppendTimestamp(name, Pick<uint32_t>({0, 1, UINT32_MAX}),
                          Pick<uint32_t>({0, 1, UINT32_MAX}));
        return;
      case 7: b.AppendRegex(name, Str(3, false), Pick<const char*>({"", "i", "im"})); return;
      case 8:
        AppendRaw(b, name, BsonType::kDbPointer,
                  RawDbPointer(Str(3, false), Pick<uint8_t>({0, 1})));
        return;
      case 9: {
        Builder scope;
        for (uint64_t n = U(3); n > 0; --n) Value(scope, Pick<const char*>({"a", "b"}), depth + 1);
        AppendRaw(b, name, BsonType::kCodeWithScope,
                  RawCodeWithScope(Str(3, true), std::move(scope).Finish()));
        return;
      }
      case 10: {
        std::array<uint8_t, 12> oid;
        for (uint8_t& x : oid) x = Pick<uint8_t>({0, 1, 0xFF});
        b.AppendObjectId(name, oid);
        return;
      }
      default: {
        std::string data = Str(4, true);
        b.AppendBinary(
            name, Pick<uint8_t>({0, 2, 5, 0x80}),
            std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
        return;
      }
    }
  }

  std::mt19937_64 rng_;
};

TEST(KeyCodecTest, RandomValuesOrderAndRoundTripLikeBson) {
  uint64_t seed = TestSeed();
  ValueGen gen(seed);
  std::vector<Document> docs;
  std::vector<std::string> asc, desc;
  for (int i = 0; i < 10000; ++i) {
    docs.push_back(gen.Make());
    ASSERT_TRUE(bson::ValidateDocument(docs.back().view().bytes()).ok()) << Show(docs.back());
    ExpectRoundTrip(docs.back());
    asc.push_back(EncodeValue(V(docs.back())).key);
    desc.push_back(EncodeValue(V(docs.back()), true).key);
    if (HasFailure()) FAIL() << "seed " << seed;
  }
  // Random pairs, plus neighbours in MongoDB order (where equal and nearly equal values meet).
  std::vector<std::pair<size_t, size_t>> pairs;
  for (int i = 0; i < 200000; ++i) pairs.emplace_back(gen.U(docs.size()), gen.U(docs.size()));
  std::vector<size_t> order(docs.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return bson::CompareValues(V(docs[a]), V(docs[b])) < 0; });
  for (size_t i = 0; i + 1 < order.size(); ++i) pairs.emplace_back(order[i], order[i + 1]);
  int equal = 0;
  for (auto [i, j] : pairs) {
    int want = Sign(bson::CompareValues(V(docs[i]), V(docs[j])));
    equal += want == 0 && i != j;
    ASSERT_EQ(ByteOrder(asc[i], asc[j]), want)
        << Show(docs[i]) << " vs " << Show(docs[j]) << ", seed " << seed;
    ASSERT_EQ(ByteOrder(desc[i], desc[j]), -want)
        << Show(docs[i]) << " vs " << Show(docs[j]) << ", seed " << seed;
  }
  EXPECT_GT(equal, 50);  // the generator must produce equal values of different types
}

TEST(KeyCodecTest, CompoundKeysOrderLikeComponentWiseComparison) {
  uint64_t seed = TestSeed() + 1;
  ValueGen gen(seed);
  std::vector<Document> pool;
  for (int i = 0; i < 40; ++i) pool.push_back(gen.Make());
  pool.push_back(JV("1"));
  pool.push_back(JV("1.0"));
  for (int round = 0; round < 200; ++round) {
    size_t width = 1 + gen.U(3);
    std::vector<Direction> dirs;
    for (size_t c = 0; c < width; ++c)
      dirs.push_back(gen.U(2) ? Direction::kDescending : Direction::kAscending);
    // A handful of tuples drawn from a small pool, so that equal prefixes are common.
    std::vector<std::vector<size_t>> tuples(12);
    for (auto& t : tuples) {
      for (size_t c = 0; c < width; ++c) t.push_back(gen.U(c == 0 ? 4 : pool.size()));
    }
    std::vector<EncodedKey> keys;
    for (const auto& t : tuples) {
      std::vector<Value> values;
      for (size_t idx : t) values.push_back(V(pool[idx]));
      keys.push_back(EncodeKey(values, dirs));
      Result<Document> back = DecodeKey(keys.back().key, keys.back().typebits, dirs);
      ASSERT_TRUE(back.ok()) << back.status().ToString() << ", seed " << seed;
      for (size_t c = 0; c < width; ++c) {
        Document got = Wrapped(back->view().Get(std::to_string(c)));
        ASSERT_EQ(Hex(got.bytes()), Hex(Wrapped(values[c]).bytes())) << "seed " << seed;
      }
    }
    for (size_t a = 0; a < tuples.size(); ++a) {
      for (size_t b = 0; b < tuples.size(); ++b) {
        int want = 0;
        for (size_t c = 0; c < width && want == 0; ++c) {
          want = Sign(bson::CompareValues(V(pool[tuples[a][c]]), V(pool[tuples[b][c]])));
          if (dirs[c] == Direction::kDescending) want = -want;
        }
        ASSERT_EQ(ByteOrder(keys[a].key, keys[b].key), want) << "seed " << seed;
      }
    }
  }
}

// Decodes arbitrary bytes: must fail cleanly or produce valid BSON that re-encodes to the key.
// Counts successful decodes in *decoded.
void ExpectDecodesSafely(const std::string& key, const std::string& typebits,
                         const std::vector<Direction>& dirs, uint64_t seed, int* decoded) {
  Result<Document> r = DecodeKey(key, typebits, dirs);
  if (!r.ok()) {
    ASSERT_EQ(r.status().code(), ErrorCode::kDataCorruption) << r.status().ToString();
    return;
  }
  ++*decoded;
  ASSERT_TRUE(bson::ValidateDocument(r->view().bytes()).ok()) << Hex(key) << ", seed " << seed;
  std::vector<Value> values;
  for (size_t c = 0; c < dirs.size(); ++c) values.push_back(r->view().Get(std::to_string(c)));
  ASSERT_EQ(Hex(EncodeKey(values, dirs).key), Hex(key)) << Show(*r) << ", seed " << seed;
}

TEST(KeyCodecTest, SurvivesRandomAndMutatedBytes) {
  uint64_t seed = TestSeed() + 2;
  ValueGen gen(seed);
  const uint8_t interesting[] = {0x00, 0x01, 0x02, 0xFF, 0xFE, 0x0A, 0x0F, 0x14, 0x1E, 0x28,
                                 0x32, 0x3C, 0x46, 0x50, 0x5A, 0x64, 0x6E, 0x78, 0x82, 0x8C,
                                 0x96, 0xF0, 0x10, 0x11, 0x12, 0x20, 0x30, 0x3F, 0x80, 0x61};
  auto byte = [&] {
    return static_cast<char>(gen.U(2) ? interesting[gen.U(sizeof(interesting))] : gen.U(256));
  };
  int decoded = 0;
  for (int i = 0; i < 100000; ++i) {
    std::string key, bits;
    for (uint64_t n = gen.U(24); n > 0; --n) key.push_back(byte());
    for (uint64_t n = gen.U(4); n > 0; --n) bits.push_back(static_cast<char>(gen.U(8)));
    std::vector<Direction> dirs(1 + gen.U(2),
                                gen.U(2) ? Direction::kDescending : Direction::kAscending);
    ExpectDecodesSafely(key, bits, dirs, seed, &decoded);
    if (HasFatalFailure()) return;
  }
  for (int i = 0; i < 30000; ++i) {
    Document d = gen.Make();
    bool desc = gen.U(2);
    EncodedKey k = EncodeValue(V(d), desc);
    for (uint64_t m = 1 + gen.U(3); m > 0; --m) {
      size_t pos = k.key.empty() ? 0 : gen.U(k.key.size());
      switch (gen.U(4)) {
        case 0:
          if (!k.key.empty()) k.key[pos] = byte();
          break;
        case 1:
          if (!k.key.empty()) k.key.erase(pos, 1);
          break;
        case 2: k.key.insert(pos, 1, byte()); break;
        default:
          if (!k.typebits.empty())
            k.typebits[gen.U(k.typebits.size())] = static_cast<char>(gen.U(8));
      }
    }
    ExpectDecodesSafely(k.key, k.typebits, {desc ? Direction::kDescending : Direction::kAscending},
                        seed, &decoded);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(decoded, 1000) << "mutations should often still decode";
}

TEST(KeyCodecTest, BigEndianIdsOrderNumerically) {
  std::string a, b;
  AppendUint64BE(&a, 255);
  AppendUint64BE(&b, 256);
  EXPECT_EQ(Hex(a), "00000000000000FF");
  EXPECT_LT(a, b);
  AppendUint64BE(&a, UINT64_MAX);
  std::string_view in = a;
  uint64_t v;
  ASSERT_TRUE(ReadUint64BE(&in, &v));
  EXPECT_EQ(v, 255u);
  ASSERT_TRUE(ReadUint64BE(&in, &v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_TRUE(in.empty());
  std::string_view short_in = std::string_view(b).substr(0, 7);
  EXPECT_FALSE(ReadUint64BE(&short_in, &v));
  EXPECT_EQ(short_in.size(), 7u);
}

}  // namespace
}  // namespace amalgam::storage
