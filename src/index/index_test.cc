#include <gtest/gtest.h>

#include "bson/json.h"
#include "index/key_generator.h"
#include "index/partial_filter.h"

namespace amalgam::index {
namespace {

bson::Document J(std::string_view json) { return bson::FromJson(json).value(); }

// Decodes every key `spec` generates for `doc` as relaxed JSON arrays of components.
std::vector<std::string> Keys(std::string_view spec_json, std::string_view doc_json) {
  auto spec = catalog::ParseIndexSpec(J(spec_json).view()).value();
  auto gen = KeyGenerator::Make(spec).value();
  bson::Document doc = J(doc_json);
  std::vector<storage::EncodedKey> keys;
  Status s = gen.Generate(doc.view(), &keys);
  if (!s.ok()) return {s.ToString()};
  std::vector<std::string> out;
  for (const auto& k : keys) {
    auto d = storage::DecodeKey(k.key, k.typebits, gen.directions());
    out.push_back(d.ok() ? bson::ToJson(d->view()) : d.status().ToString());
  }
  return out;
}

using V = std::vector<std::string>;

TEST(KeyGeneratorTest, ScalarsAndMissingFields) {
  EXPECT_EQ(Keys(R"({"key": {"a": 1}, "name": "a"})", R"({"a": 5})"), V({R"({ "0" : 5 })"}));
  EXPECT_EQ(Keys(R"({"key": {"a": 1}, "name": "a"})", R"({"b": 5})"), V({R"({ "0" : null })"}));
  EXPECT_EQ(Keys(R"({"key": {"a.b": 1}, "name": "a"})", R"({"a": {"b": "x"}})"), V({R"({ "0" : "x" })"}));
}

TEST(KeyGeneratorTest, ArraysExpandIntoOneKeyPerDistinctElement) {
  EXPECT_EQ(Keys(R"({"key": {"a": 1}, "name": "a"})", R"({"a": [3, 1, 3]})"),
            V({R"({ "0" : 1 })", R"({ "0" : 3 })"}));
  EXPECT_EQ(Keys(R"({"key": {"a": 1}, "name": "a"})", R"({"a": []})"), V({R"({ "0" : { "$undefined" : true } })"}));
  EXPECT_EQ(Keys(R"({"key": {"a.b": 1}, "name": "a"})", R"({"a": [{"b": 1}, {"c": 2}, {"b": [2, 3]}]})"),
            V({R"({ "0" : null })", R"({ "0" : 1 })", R"({ "0" : 2 })", R"({ "0" : 3 })"}));
  // Nested arrays: the inner array is a value.
  EXPECT_EQ(Keys(R"({"key": {"a": 1}, "name": "a"})", R"({"a": [[1, 2]]})"), V({R"({ "0" : [ 1, 2 ] })"}));
  // Positional path into an array.
  EXPECT_EQ(Keys(R"({"key": {"a.1": 1}, "name": "a"})", R"({"a": [7, 8]})"), V({R"({ "0" : 8 })"}));
}

TEST(KeyGeneratorTest, CompoundKeysExpandOneArrayAndRejectParallelArrays) {
  EXPECT_EQ(Keys(R"({"key": {"a": 1, "b": -1}, "name": "ab"})", R"({"a": 1, "b": [2, 3]})"),
            V({R"({ "0" : 1, "1" : 3 })", R"({ "0" : 1, "1" : 2 })"}));
  auto r = Keys(R"({"key": {"a": 1, "b": 1}, "name": "ab"})", R"({"a": [1], "b": [2, 3]})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("cannot index parallel arrays"), std::string::npos) << r[0];
}

TEST(KeyGeneratorTest, FieldsUnderOneArrayTakeValuesFromTheSameElement) {
  // MongoDB indexes {"a.x": 1, "a.y": 1} element by element: (1, 2) and (3, 4), not the
  // cross product, and does not call that parallel arrays.
  EXPECT_EQ(Keys(R"({"key": {"a.x": 1, "a.y": 1}, "name": "axy"})", R"({"a": [{"x": 1, "y": 2}, {"x": 3, "y": 4}]})"),
            V({R"({ "0" : 1, "1" : 2 })", R"({ "0" : 3, "1" : 4 })"}));
  EXPECT_EQ(Keys(R"({"key": {"a.x": 1, "a.y": 1}, "name": "axy"})", R"({"a": [{"x": 1}, {"y": 4}]})"),
            V({R"({ "0" : null, "1" : 4 })", R"({ "0" : 1, "1" : null })"}));
  // Different arrays are still parallel.
  auto r = Keys(R"({"key": {"a.x": 1, "b": 1}, "name": "axb"})", R"({"a": [{"x": 1}], "b": [1, 2]})");
  ASSERT_EQ(r.size(), 1u);
  EXPECT_NE(r[0].find("cannot index parallel arrays"), std::string::npos) << r[0];
}

TEST(KeyGeneratorTest, SparseSkipsDocumentsWithoutAnyField) {
  EXPECT_EQ(Keys(R"({"key": {"a": 1}, "name": "a", "sparse": true})", R"({"b": 1})"), V{});
  EXPECT_EQ(Keys(R"({"key": {"a": 1}, "name": "a", "sparse": true})", R"({"a": null})"), V({R"({ "0" : null })"}));
  EXPECT_EQ(Keys(R"({"key": {"a": 1, "b": 1}, "name": "ab", "sparse": true})", R"({"b": 1})"),
            V({R"({ "0" : null, "1" : 1 })"}));
}

TEST(KeyGeneratorTest, PartialFilterSelectsDocuments) {
  std::string spec = R"({"key": {"a": 1}, "name": "a", "partialFilterExpression": {"score": {"$gt": 5}, "kind": "x"}})";
  EXPECT_EQ(Keys(spec, R"({"a": 1, "score": 6, "kind": "x"})").size(), 1u);
  EXPECT_EQ(Keys(spec, R"({"a": 1, "score": 5, "kind": "x"})").size(), 0u);
  EXPECT_EQ(Keys(spec, R"({"a": 1, "score": "9", "kind": "x"})").size(), 0u);  // other type bracket
  EXPECT_EQ(Keys(spec, R"({"a": 1, "score": [1, 9], "kind": ["y", "x"]})").size(), 1u);
}

TEST(PartialFilterTest, SupportsTheRestrictedLanguageAndRejectsTheRest) {
  auto match = [](std::string_view filter, std::string_view doc) {
    auto f = PartialFilter::Compile(J(filter).view());
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    return f.ok() && f->Matches(J(doc).view());
  };
  EXPECT_TRUE(match(R"({"a": {"$exists": true}})", R"({"a": null})"));
  EXPECT_FALSE(match(R"({"a": {"$exists": true}})", R"({"b": 1})"));
  EXPECT_TRUE(match(R"({"$or": [{"a": 1}, {"b": {"$type": "string"}}]})", R"({"b": "s"})"));
  EXPECT_TRUE(match(R"({"a": {"$in": [1, 2]}})", R"({"a": 2.0})"));
  EXPECT_TRUE(match(R"({"a.b": {"$lte": 3}})", R"({"a": [{"b": 9}, {"b": 3}]})"));
  EXPECT_TRUE(match(R"({"a": {"$type": "number"}})", R"({"a": {"$numberLong": "3"}})"));
  for (std::string_view bad : {R"({"a": {"$ne": 1}})", R"({"$nor": [{"a": 1}]})", R"({"a": {"$regex": "x"}})"}) {
    auto f = PartialFilter::Compile(J(bad).view());
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.status().code(), ErrorCode::kCannotCreateIndex) << bad;
  }
}

}  // namespace
}  // namespace amalgam::index
