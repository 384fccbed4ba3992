#include <gtest/gtest.h>

#include <cmath>

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

}  // namespace
}  // namespace amalgam::bson
