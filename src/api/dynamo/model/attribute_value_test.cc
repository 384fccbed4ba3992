#include "api/dynamo/model/attribute_value.h"

#include <gtest/gtest.h>

#include "api/dynamo/model/json.h"

namespace amalgam::dynamo {
namespace {

std::string Canon(std::string_view s) {
  Result<std::string> r = CanonicalizeNumber(s);
  return r.ok() ? r.value() : "ERR: " + std::string(r.status().message());
}

TEST(DynamoNumberTest, CanonicalizesLikeDynamoDB) {
  const std::pair<const char*, const char*> cases[] = {
      {"3", "3"},         {"-7.1234", "-7.1234"}, {"-17e5", "-1700000"}, {"+3", "3"},
      {".123", "0.123"},  {"0001.23", "1.23"},    {"1e+5", "100000"},     {"0e1000", "0"},
      {"-0", "0"},        {"-0.000", "0"},        {"1.50E+2", "150"},     {"1e-3", "0.001"},
      {"5.", "5"},        {"100", "100"},         {"12.3400", "12.34"},
  };
  for (const auto& [in, out] : cases) EXPECT_EQ(Canon(in), out) << in;
  EXPECT_EQ(Canon("1E125"), "1" + std::string(125, '0'));
  EXPECT_EQ(Canon("1e-130"), "0." + std::string(129, '0') + "1");
  EXPECT_EQ(Canon("31415926535897932384626433832795028841e30"),
            "31415926535897932384626433832795028841" + std::string(30, '0'));
}

TEST(DynamoNumberTest, RejectsWhatDynamoDBRejects) {
  for (const char* bad : {"NaN", "Infinity", "-Infinity", "-NaN", "dog", "-dog", " 1", "1 ", "1e",
                          "e5", ".", "+", "1.2.3", "0x10", "1e+"}) {
    EXPECT_EQ(Canon(bad), std::string("ERR: The parameter cannot be converted to a numeric value: ") + bad);
  }
  EXPECT_EQ(Canon(""), "ERR: The parameter cannot be converted to a numeric value");
  const std::string overflow =
      "ERR: Number overflow. Attempting to store a number with magnitude larger than supported range";
  const std::string underflow =
      "ERR: Number underflow. Attempting to store a number with magnitude smaller than supported range";
  EXPECT_EQ(Canon("1e126"), overflow);
  EXPECT_EQ(Canon("11e125"), overflow);
  EXPECT_EQ(Canon("-1e126"), overflow);
  EXPECT_EQ(Canon("1e999999999999999"), overflow);
  EXPECT_EQ(Canon("1e-131"), underflow);
  EXPECT_EQ(Canon("0.9e-130"), underflow);
  EXPECT_EQ(Canon("9.99999999e125").substr(0, 9), "999999999");
  EXPECT_EQ(Canon("3.14159265358979323846264338327950288419"),
            "ERR: Attempting to store more than 38 significant digits in a Number");
  EXPECT_EQ(Canon("3.1415926535897932384626433832795028841"),
            "3.1415926535897932384626433832795028841");
}

TEST(DynamoNumberTest, ComparesExactly) {
  EXPECT_LT(CompareNumbers("-5", "3"), 0);
  EXPECT_GT(CompareNumbers("10", "9"), 0);
  EXPECT_LT(CompareNumbers("0.001", "0.01"), 0);
  EXPECT_LT(CompareNumbers("-10", "-9"), 0);
  EXPECT_EQ(CompareNumbers("0", "0"), 0);
  EXPECT_LT(CompareNumbers("0", "0.0001"), 0);
  EXPECT_GT(CompareNumbers("0", "-0.0001"), 0);
  EXPECT_LT(CompareNumbers("12345678901234567890123456789012345678",
                           "12345678901234567890123456789012345679"),
            0);
}

TEST(DynamoNumberTest, AddsAndSubtractsExactly) {
  EXPECT_EQ(AddNumbers("1", "10000000000000000000000").value(), "10000000000000000000001");
  EXPECT_EQ(SubtractNumbers("10000000000000000000000", "1").value(), "9999999999999999999999");
  EXPECT_EQ(AddNumbers("0.1", "0.2").value(), "0.3");
  EXPECT_EQ(AddNumbers("-5", "5").value(), "0");
  EXPECT_EQ(AddNumbers("-5.5", "2").value(), "-3.5");
  EXPECT_EQ(SubtractNumbers("2", "5.25").value(), "-3.25");
  EXPECT_EQ(AddNumbers("0", "-7").value(), "-7");
  EXPECT_EQ(SubtractNumbers("0", "7").value(), "-7");
  EXPECT_EQ(AddNumbers("99", "1").value(), "100");
  // 9e125 + 9e125 overflows; 1e50 - 1 needs 50 digits: DynamoDB says "overflow" for both.
  Result<std::string> r = AddNumbers(Canon("9e125"), Canon("9e125"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Number overflow"), std::string::npos);
  r = SubtractNumbers(Canon("1e50"), "1");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Number overflow"), std::string::npos);
  EXPECT_FALSE(AddNumbers(Canon("1e-130"), Canon("1e10")).ok());
}

TEST(DynamoValueTest, EqualityTreatsSetsAsUnordered) {
  EXPECT_EQ(AttributeValue::SS({"a", "b"}), AttributeValue::SS({"b", "a"}));
  EXPECT_NE(AttributeValue::SS({"a", "b"}), AttributeValue::SS({"a", "c"}));
  EXPECT_NE(AttributeValue::SS({"a"}), AttributeValue::L({AttributeValue::S("a")}));
  EXPECT_NE(AttributeValue::L({AttributeValue::S("a"), AttributeValue::S("b")}),
            AttributeValue::L({AttributeValue::S("b"), AttributeValue::S("a")}));
  EXPECT_EQ(AttributeValue::N("1"), AttributeValue::N("1"));
  EXPECT_NE(AttributeValue::N("1"), AttributeValue::S("1"));
}

TEST(DynamoValueTest, SizesFollowDynamoDBRules) {
  EXPECT_EQ(AttributeValueSize(AttributeValue::S("abc")), 3u);
  EXPECT_EQ(AttributeValueSize(AttributeValue::N("12345")), 4u);  // 01|23|45
  EXPECT_EQ(AttributeValueSize(AttributeValue::N("123456")), 4u);
  EXPECT_EQ(AttributeValueSize(AttributeValue::N("3.14159")), 5u);  // 03.14|15|90
  EXPECT_EQ(AttributeValueSize(AttributeValue::N(Canon("1E125"))), 2u);
  EXPECT_EQ(AttributeValueSize(AttributeValue::N("42.12")), 3u);
  EXPECT_EQ(AttributeValueSize(AttributeValue::N("-7")), 3u);
  EXPECT_EQ(AttributeValueSize(AttributeValue::N("0.001")), 2u);
  EXPECT_EQ(AttributeValueSize(AttributeValue::N("10001")), 4u);  // 01|00|01
  EXPECT_EQ(AttributeValueSize(AttributeValue::N("0")), 1u);
  EXPECT_EQ(AttributeValueSize(AttributeValue::Bool(true)), 1u);
  EXPECT_EQ(AttributeValueSize(AttributeValue::Null()), 1u);
  EXPECT_EQ(AttributeValueSize(AttributeValue::M({})), 3u);
  EXPECT_EQ(AttributeValueSize(AttributeValue::L({AttributeValue::S("ab")})), 3u + 1 + 2);
  EXPECT_EQ(AttributeValueSize(AttributeValue::M({{"k", AttributeValue::S("ab")}})), 3u + 1 + 1 + 2);
  EXPECT_EQ(AttributeValueSize(AttributeValue::SS({"ab", "cde"})), 5u);
  Item item{{"id", AttributeValue::S("x")}, {"n", AttributeValue::N("12")}};
  EXPECT_EQ(ItemSize(item), 2u + 1 + 1 + 2);
}

std::string ParseError(std::string_view json) {
  Result<AttributeValue> r = ParseAttributeValueJson(json);
  if (r.ok()) return "OK " + AttributeValueToJson(r.value());
  return std::string(r.status().code() == ErrorCode::kFailedToParse ? "Serialization: " : "Validation: ") +
         std::string(r.status().message());
}

TEST(DynamoJsonTest, ParsesAndWritesEveryType) {
  const char* cases[] = {
      R"({"S":"x"})",   R"({"S":""})",         R"({"N":"12.5"})",        R"({"B":"AAEC"})",
      R"({"BOOL":false})", R"({"NULL":true})", R"({"M":{"a":{"N":"1"}}})", R"({"L":[{"S":"a"},{"NULL":true}]})",
      R"({"SS":["a","b",""]})", R"({"NS":["1","2"]})", R"({"BS":["AA==","AQ=="]})", R"({"M":{}})",
      R"({"L":[]})",
  };
  for (const char* c : cases) EXPECT_EQ(ParseError(c), std::string("OK ") + c);
  EXPECT_EQ(ParseError(R"({"N":"1e3"})"), R"(OK {"N":"1000"})");
}

TEST(DynamoJsonTest, RejectsWithDynamoDBMessages) {
  EXPECT_EQ(ParseError("{}"),
            "Validation: Supplied AttributeValue is empty, must contain exactly one of the supported datatypes");
  EXPECT_EQ(ParseError(R"({"S":"a","N":"1"})"),
            "Validation: Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes");
  EXPECT_EQ(ParseError(R"({"SS":[]})"),
            "Validation: One or more parameter values were invalid: An string set  may not be empty");
  EXPECT_EQ(ParseError(R"({"NS":[]})"),
            "Validation: One or more parameter values were invalid: An number set  may not be empty");
  EXPECT_EQ(ParseError(R"({"BS":[]})"),
            "Validation: One or more parameter values were invalid: Binary sets should not be empty");
  EXPECT_EQ(ParseError(R"({"SS":["a","a"]})"),
            "Validation: One or more parameter values were invalid: Input collection [a, a] contains duplicates.");
  EXPECT_EQ(ParseError(R"({"NS":["1","1.0"]})"),
            "Validation: One or more parameter values were invalid: Input collection [1, 1.0] contains duplicates.");
  EXPECT_EQ(ParseError(R"({"NULL":false})"),
            "Validation: One or more parameter values were invalid: Null attribute value types must have the value of true");
  EXPECT_EQ(ParseError(R"({"N":"abc"})"),
            "Validation: The parameter cannot be converted to a numeric value: abc");
  EXPECT_EQ(ParseError(R"({"N":12})"), "Serialization: NUMBER_VALUE cannot be converted to String");
  EXPECT_EQ(ParseError(R"({"B":"abc"})"),
            "Serialization: 'abc' can not be converted to a Blob: Base64 encoded length is expected a multiple of 4 bytes but found: 3");
  EXPECT_EQ(ParseError(R"({"B":"ab!d"})"),
            "Serialization: 'ab!d' can not be converted to a Blob: Invalid Base64 character: '!'");
  EXPECT_EQ(ParseError(R"("x")"), "Serialization: Expected map or null");
  std::string deep = R"({"S":"x"})";
  for (int i = 0; i < 31; ++i) deep = R"({"L":[)" + deep + "]}";
  EXPECT_EQ(ParseError(deep).substr(0, 2), "OK");
  deep = R"({"L":[)" + deep + "]}";
  EXPECT_EQ(ParseError(deep),
            "Validation: Nesting Levels have exceeded supported limits: Attributes in the item have "
            "nested levels beyond supported limit");
}

TEST(DynamoJsonTest, Base64RoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (size_t n = 0; n < 10; ++n) {
    std::string s = all.substr(n * 7, n);
    EXPECT_EQ(Base64Decode(Base64Encode(s)).value(), s);
  }
  EXPECT_FALSE(Base64Decode("AB==").ok());  // non-zero trailing bits
}

TEST(DynamoVectorValueTest, ChecksTypeDimensionsAndElements) {
  auto n = [](const char* x) { return AttributeValue::N(x); };
  auto check = [](const AttributeValue& v) {
    Status s = CheckVectorValue(v, "emb", 3, "ByEmb");
    return s.ok() ? std::string("OK") : std::string(s.message());
  };
  EXPECT_EQ(check(AttributeValue::L({n("0.5"), n("-1"), n("3e10")})), "OK");
  EXPECT_EQ(check(AttributeValue::S("x")),
            "One or more parameter values were invalid: Invalid type for vector attribute emb: expected a list (L) of "
            "numbers, got S. IndexName: ByEmb");
  EXPECT_NE(check(AttributeValue::NS({"1", "2", "3"})).find("got NS"), std::string::npos);
  EXPECT_EQ(check(AttributeValue::L({n("1"), n("2")})),
            "One or more parameter values were invalid: Vector attribute emb has 2 dimensions but vector index ByEmb "
            "has 3");
  EXPECT_EQ(check(AttributeValue::L({n("1"), AttributeValue::S("2"), n("3")})),
            "One or more parameter values were invalid: Vector attribute emb element [1] is of type S, expected N. "
            "IndexName: ByEmb");
  EXPECT_EQ(check(AttributeValue::L({n("1e39"), n("2"), n("3")})),
            "One or more parameter values were invalid: Vector attribute emb element [0] 1e39 is outside the 32-bit "
            "floating point range. IndexName: ByEmb");
  EXPECT_NE(check(AttributeValue::L({})).find("has 0 dimensions"), std::string::npos);
}

}  // namespace
}  // namespace amalgam::dynamo
