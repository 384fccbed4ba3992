#include "api/dynamo/model/bson_mapping.h"

#include <gtest/gtest.h>

#include <random>

#include "api/dynamo/model/json.h"
#include "bson/json.h"
#include "bson/number.h"

namespace amalgam::dynamo {
namespace {

Item ItemOf(std::string_view json) {
  Result<Item> r = ParseItemJson(json);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << " in " << json;
  return r.ok() ? r.value() : Item{};
}

KeySchema HashOnly(std::string name = "pk", AttrType t = AttrType::kS) {
  KeySchema k;
  k.hash_name = std::move(name);
  k.hash_type = t;
  return k;
}
KeySchema HashRange(AttrType ht, AttrType rt) {
  KeySchema k = HashOnly("pk", ht);
  k.range_name = "sk";
  k.range_type = rt;
  return k;
}

void ExpectRoundTrip(const KeySchema& schema, const Item& item) {
  ASSERT_TRUE(ValidateItemForWrite(schema, item).ok()) << DebugString(item);
  bson::Document doc = ItemToBson(schema, item);
  Item back = ItemFromBson(schema, doc.view());
  EXPECT_EQ(ItemToJson(back), ItemToJson(item)) << bson::ToJson(doc.view());
  EXPECT_TRUE(back == item);
  // Writing the read-back item again gives the same bytes.
  EXPECT_EQ(ItemToBson(schema, back).bytes(), doc.bytes());
}

TEST(DynamoBsonMappingTest, StoresDocumentsAsTheMappingDocSays) {
  Item item = ItemOf(R"({"pk":{"S":"alice"},"n":{"N":"17"},"tags":{"SS":["a","b"]},
      "profile":{"M":{"scores":{"NS":["1","2.5"]},"l":{"L":[{"BS":["AQ=="]}]}}},"b":{"B":"AAE="}})");
  bson::Document doc = ItemToBson(HashOnly(), item);
  EXPECT_EQ(bson::ToCanonicalJson(doc.view()),
            R"({ "_id" : "alice", "b" : { "$binary" : { "base64" : "AAE=", "subType" : "00" } }, )"
            R"("n" : { "$numberDecimal" : "17" }, "pk" : "alice", "profile" : { "l" : [ [ { "$binary" : )"
            R"({ "base64" : "AQ==", "subType" : "00" } } ] ], "scores" : [ { "$numberDecimal" : "1" }, )"
            R"({ "$numberDecimal" : "2.5" } ] }, "tags" : [ "a", "b" ], "_ddbSets" : [ [ "profile", "l", )"
            R"({ "$numberInt" : "0" }, "BS" ], [ "profile", "scores", "NS" ], [ "tags", "SS" ] ] })");
  ExpectRoundTrip(HashOnly(), item);
}

TEST(DynamoBsonMappingTest, CompositeIdOrdersByPartitionThenSortKey) {
  KeySchema s = HashRange(AttrType::kS, AttrType::kN);
  Item item = ItemOf(R"({"pk":{"S":"alice"},"sk":{"N":"17"}})");
  EXPECT_EQ(bson::ToCanonicalJson(BuildIdDocument(s, item).view()),
            R"({ "_id" : { "pk" : "alice", "sk" : { "$numberDecimal" : "17" } } })");
  KeySchema sb = HashRange(AttrType::kB, AttrType::kB);
  Item bitem = ItemOf(R"({"pk":{"B":"AP8="},"sk":{"B":"AQ=="}})");
  EXPECT_EQ(bson::ToCanonicalJson(BuildIdDocument(sb, bitem).view()),
            R"({ "_id" : { "pk" : "00ff", "sk" : "01" } })");
  ExpectRoundTrip(sb, bitem);
}

TEST(DynamoBsonMappingTest, NumbersBeyond34DigitsUseExactBinData) {
  Item item = ItemOf(R"({"pk":{"S":"k"},"x":{"N":"3.1415926535897932384626433832795028841"},
                         "s":{"NS":["12345678901234567890123456789012345678","1"]}})");
  bson::Document doc = ItemToBson(HashOnly(), item);
  bson::Value x = doc.view().Get("x");
  ASSERT_EQ(x.type(), bson::BsonType::kBinary);
  EXPECT_EQ(x.AsBinary().subtype, kExactNumberSubtype);
  ExpectRoundTrip(HashOnly(), item);
}

TEST(DynamoBsonMappingTest, PartitionKeyNamedIdIsTheIdField) {
  KeySchema s = HashOnly("_id", AttrType::kN);
  Item item = ItemOf(R"({"_id":{"N":"5"},"a":{"S":"x"}})");
  bson::Document doc = ItemToBson(s, item);
  EXPECT_EQ(bson::ToCanonicalJson(doc.view()), R"({ "_id" : { "$numberDecimal" : "5" }, "a" : "x" })");
  ExpectRoundTrip(s, item);
  KeySchema sr = HashOnly("_id", AttrType::kB);
  sr.range_name = "sk";
  ExpectRoundTrip(sr, ItemOf(R"({"_id":{"B":"AQI="},"sk":{"S":"x"}})"));
}

TEST(DynamoBsonMappingTest, ValidatesKeysWithDynamoDBMessages) {
  KeySchema s = HashRange(AttrType::kS, AttrType::kN);
  auto msg = [&](std::string_view json) {
    return std::string(ValidateItemForWrite(s, ItemOf(json)).message());
  };
  EXPECT_EQ(msg(R"({"sk":{"N":"1"}})"),
            "One or more parameter values were invalid: Missing the key pk in the item");
  EXPECT_EQ(msg(R"({"pk":{"N":"1"},"sk":{"N":"1"}})"),
            "One or more parameter values were invalid: Type mismatch for key pk expected: S actual: N");
  EXPECT_EQ(msg(R"({"pk":{"S":""},"sk":{"N":"1"}})"),
            "One or more parameter values are not valid. The AttributeValue for a key attribute "
            "cannot contain an empty string value. Key: pk");
  EXPECT_EQ(msg(R"({"pk":{"S":"a"},"sk":{"N":"1"},"_ddbSets":{"S":"x"}})").find("reserved") !=
                std::string::npos,
            true);
  EXPECT_NE(msg(R"({"pk":{"S":"a"},"sk":{"N":"1"},"_id":{"S":"x"}})").find("_id"), std::string::npos);
  EXPECT_EQ(msg(R"({"pk":{"S":"a"},"sk":{"N":"1"},"x":{"S":""}})"), "");
  Item big = ItemOf(R"({"sk":{"N":"1"}})");
  big["pk"] = AttributeValue::S(std::string(2049, 'x'));
  EXPECT_EQ(ValidateItemForWrite(s, big).message(),
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum "
            "size limit of2048 bytes");
  big["pk"] = AttributeValue::S(std::string(2048, 'x'));
  EXPECT_TRUE(ValidateItemForWrite(s, big).ok());
  big["x"] = AttributeValue::S(std::string(400 * 1024, 'x'));
  EXPECT_EQ(ValidateItemForWrite(s, big).message(), "Item size has exceeded the maximum allowed size");
  Item nul = ItemOf(R"({"pk":{"S":"a"},"sk":{"N":"1"},"m":{"M":{"x\u0000y":{"N":"1"}}}})");
  EXPECT_NE(ValidateItemForWrite(s, nul).message().find("NUL"), std::string_view::npos);
  EXPECT_EQ(ValidateKey(s, ItemOf(R"({"pk":{"S":"a"}})")).message(),
            "The provided key element does not match the schema");
  EXPECT_EQ(ValidateKey(s, ItemOf(R"({"pk":{"S":"a"},"sk":{"S":"1"}})")).message(),
            "The provided key element does not match the schema");
  EXPECT_TRUE(ValidateKey(s, ItemOf(R"({"pk":{"S":"a"},"sk":{"N":"1"}})")).ok());
}

TEST(DynamoBsonMappingTest, ReadsMongoWrittenValuesAsClosestTypes) {
  Result<bson::Document> d = bson::FromJson(
      R"({"_id": {"$oid": "5f1d7f3e1c9d440000a1b2c3"}, "i": 5, "l": {"$numberLong": "-9"},
          "d": 0.1, "nan": {"$numberDouble": "NaN"}, "big": 1e300, "oid": {"$oid": "5f1d7f3e1c9d440000a1b2c3"},
          "bin": {"$binary": {"base64": "AQ==", "subType": "04"}}, "arr": [1, "a"],
          "tags": ["a", "a"], "_ddbSets": [["tags", "SS"], ["i", "NS"]]})");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  Item item = ItemFromBson(HashOnly(), d->view());
  EXPECT_EQ(ItemToJson(item),
            R"({"arr":{"L":[{"N":"1"},{"S":"a"}]},"big":{"S":"1e+300"},"bin":{"B":"AQ=="},)"
            R"("d":{"N":"0.1"},"i":{"N":"5"},"l":{"N":"-9"},"nan":{"S":"NaN"},)"
            R"("oid":{"S":"{ \"$oid\" : \"5f1d7f3e1c9d440000a1b2c3\" }"},"tags":{"L":[{"S":"a"},{"S":"a"}]}})");
}

// Random items of every type, nested, round-trip Item -> BSON -> Item exactly.
AttributeValue RandomValue(std::mt19937_64& rng, int depth) {
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto rand_string = [&](int max) {
    std::string s;
    int n = pick(max + 1);
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + pick(26)));
    return s;
  };
  auto rand_bytes = [&](int max) {
    std::string s;
    int n = pick(max + 1);
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>(pick(256)));
    return s;
  };
  auto rand_number = [&]() {
    std::string text = pick(2) ? "-" : "";
    int digits = 1 + pick(38);
    for (int i = 0; i < digits; ++i) text.push_back(static_cast<char>('0' + pick(10)));
    text += "e" + std::to_string(pick(200) - 120 - digits);
    Result<std::string> c = CanonicalizeNumber(text);
    return c.ok() ? c.value() : std::string("7");
  };
  int kind = pick(depth >= 4 ? 8 : 10);
  switch (kind) {
    case 0: return AttributeValue::S(rand_string(8));
    case 1: return AttributeValue::N(rand_number());
    case 2: return AttributeValue::B(rand_bytes(8));
    case 3: return AttributeValue::Bool(pick(2));
    case 4: return AttributeValue::Null();
    case 5: case 6: case 7: {
      std::vector<std::string> m;
      int n = 1 + pick(4);
      for (int i = 0; i < n; ++i) {
        std::string s = kind == 5 ? rand_string(5) : kind == 6 ? rand_number() : rand_bytes(5);
        if (std::find(m.begin(), m.end(), s) == m.end()) m.push_back(s);
      }
      if (kind == 5) return AttributeValue::SS(m);
      if (kind == 6) return AttributeValue::NS(m);
      return AttributeValue::BS(m);
    }
    case 8: {
      AttributeMap m;
      int n = pick(4);
      for (int i = 0; i < n; ++i) m[rand_string(4)] = RandomValue(rng, depth + 1);
      return AttributeValue::M(std::move(m));
    }
    default: {
      AttributeList l;
      int n = pick(4);
      for (int i = 0; i < n; ++i) l.push_back(RandomValue(rng, depth + 1));
      return AttributeValue::L(std::move(l));
    }
  }
}

TEST(DynamoBsonMappingTest, RandomItemsRoundTripExactly) {
  uint64_t seed = std::random_device{}();
  std::mt19937_64 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  KeySchema schemas[] = {HashOnly(), HashRange(AttrType::kN, AttrType::kB),
                         HashRange(AttrType::kB, AttrType::kS)};
  for (int iter = 0; iter < 2000; ++iter) {
    const KeySchema& s = schemas[iter % 3];
    Item item;
    int n = static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) {
      item["a" + std::to_string(rng() % 10)] = RandomValue(rng, 0);
    }
    auto key_value = [&](AttrType t) {
      switch (t) {
        case AttrType::kN: return AttributeValue::N(std::to_string(static_cast<int64_t>(rng() % 100000) - 50000));
        case AttrType::kB: return AttributeValue::B(std::string(1 + rng() % 4, static_cast<char>(rng() % 256)));
        default: return AttributeValue::S("k" + std::to_string(rng() % 1000));
      }
    };
    item[s.hash_name] = key_value(s.hash_type);
    if (s.has_range()) item[*s.range_name] = key_value(s.range_type);
    ExpectRoundTrip(s, item);
    // The JSON wire form round-trips too.
    Result<Item> again = ParseItemJson(ItemToJson(item));
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(ItemToJson(again.value()), ItemToJson(item));
    if (HasFailure()) break;
  }
}

}  // namespace
}  // namespace amalgam::dynamo
