// query::IdLookupCandidates: which filters pin their matches to listed _id values (the fast path
// of the write commands and of find {_id: X}).
#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "bson/json.h"
#include "query/plan.h"
#include "storage/key_codec.h"

namespace amalgam::query {
namespace {

bson::Document Json(const std::string& text) {
  Result<bson::Document> d = bson::FromJson(text);
  EXPECT_TRUE(d.ok()) << text << ": " << d.status().ToString();
  return d.ok() ? std::move(d).value() : bson::Document();
}

// The encoded key of the value of {"v": <json>}.
std::string Key(const std::string& json_value) {
  bson::Document d = Json("{\"v\": " + json_value + "}");
  return storage::EncodeValue(d.view().Get("v")).key;
}

std::optional<std::vector<std::string>> Candidates(const std::string& filter) {
  bson::Document d = Json(filter);
  return IdLookupCandidates(d.view());
}

TEST(IdLookupCandidatesTest, EqualityShapes) {
  using V = std::vector<std::string>;
  EXPECT_EQ(Candidates(R"({"_id": 1})"), V{Key("1")});
  EXPECT_EQ(Candidates(R"({"_id": {"$eq": 1}})"), V{Key("1")});
  EXPECT_EQ(Candidates(R"({"_id": "a", "x": 2})"), V{Key("\"a\"")});
  EXPECT_EQ(Candidates(R"({"x": 2, "_id": "a"})"), V{Key("\"a\"")});
  EXPECT_EQ(Candidates(R"({"$and": [{"x": 1}, {"_id": 7}]})"), V{Key("7")});
  // A document _id is one value (field order is part of it).
  EXPECT_EQ(Candidates(R"({"_id": {"k": 1, "s": "x"}})"), V{Key(R"({"k": 1, "s": "x"})")});
  EXPECT_NE(Key(R"({"k": 1, "s": "x"})"), Key(R"({"s": "x", "k": 1})"));
  EXPECT_EQ(Candidates(R"({"_id": null})"), V{Key("null")});
  // Numbers of different types that compare equal find the same document.
  EXPECT_EQ(Candidates(R"({"_id": {"$numberDouble": "1.0"}})"), V{Key("1")});
  EXPECT_EQ(Candidates(R"({"_id": {"$numberLong": "1"}})"), V{Key("1")});
}

TEST(IdLookupCandidatesTest, InIsSortedAndDeduplicated) {
  auto got = Candidates(R"({"_id": {"$in": [3, 1, 3, 2]}})");
  ASSERT_TRUE(got.has_value());
  std::vector<std::string> want = {Key("1"), Key("2"), Key("3")};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*got, want);
  // $in with null (null also matches a missing field) is not an _id lookup; an empty $in neither.
  EXPECT_EQ(Candidates(R"({"_id": {"$in": [1, null]}})"), std::nullopt);
  EXPECT_EQ(Candidates(R"({"_id": {"$in": []}})"), std::nullopt);
}

TEST(IdLookupCandidatesTest, NotAnIdLookup) {
  EXPECT_EQ(Candidates(R"({})"), std::nullopt);
  EXPECT_EQ(Candidates(R"({"x": 1})"), std::nullopt);
  EXPECT_EQ(Candidates(R"({"_id": {"$gt": 1}})"), std::nullopt);
  EXPECT_EQ(Candidates(R"({"_id": {"$ne": 1}})"), std::nullopt);
  EXPECT_EQ(Candidates(R"({"_id": [1, 2]})"), std::nullopt);
  EXPECT_EQ(Candidates(R"({"_id": {"$regularExpression": {"pattern": "^a", "options": ""}}})"), std::nullopt);
  EXPECT_EQ(Candidates(R"({"$or": [{"_id": 1}, {"_id": 2}]})"), std::nullopt);
  EXPECT_EQ(Candidates(R"({"_id.k": 1})"), std::nullopt);
  EXPECT_EQ(Candidates(R"({"$nor": [{"_id": 1}]})"), std::nullopt);
}

}  // namespace
}  // namespace amalgam::query
