#include "api/dynamo/model/legacy.h"

#include <gtest/gtest.h>
#include "api/dynamo/model/rapidjson.h"

#include "api/dynamo/model/json.h"

namespace amalgam::dynamo {
namespace {

Item ItemOf(std::string_view json) {
  Result<Item> r = ParseItemJson(json);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : Item{};
}

const char* kItem = R"({"pk":{"S":"k"},"a":{"N":"5"},"s":{"S":"hello"},"tags":{"SS":["x","y"]}})";

std::string Expected(std::string_view expected, const char* op = nullptr) {
  rapidjson::Document d, o;
  d.Parse(expected.data(), expected.size());
  if (op) o.Parse(op);
  Result<Condition> c = ConditionFromExpected(d, op ? &o : nullptr);
  if (!c.ok()) return "ERR: " + std::string(c.status().message());
  return EvaluateCondition(c.value(), ItemOf(kItem)) ? "true" : "false";
}

TEST(DynamoLegacyTest, ExpectedMatchesAsDynamoDB) {
  EXPECT_EQ(Expected(R"({"a":{"Value":{"N":"5"}}})"), "true");
  EXPECT_EQ(Expected(R"({"a":{"Value":{"N":"5"},"Exists":true}})"), "true");
  EXPECT_EQ(Expected(R"({"zz":{"Exists":false}})"), "true");
  EXPECT_EQ(Expected(R"({"a":{"Exists":false}})"), "false");
  EXPECT_EQ(Expected(R"({"a":{"ComparisonOperator":"GT","AttributeValueList":[{"N":"4"}]}})"), "true");
  EXPECT_EQ(Expected(R"({"a":{"ComparisonOperator":"BETWEEN","AttributeValueList":[{"N":"1"},{"N":"9"}]}})"), "true");
  EXPECT_EQ(Expected(R"({"s":{"ComparisonOperator":"BEGINS_WITH","Value":{"S":"he"}}})"), "true");
  EXPECT_EQ(Expected(R"({"tags":{"ComparisonOperator":"CONTAINS","AttributeValueList":[{"S":"x"}]}})"), "true");
  EXPECT_EQ(Expected(R"({"tags":{"ComparisonOperator":"NOT_CONTAINS","AttributeValueList":[{"S":"x"}]}})"), "false");
  EXPECT_EQ(Expected(R"({"zz":{"ComparisonOperator":"NULL"}})"), "true");
  EXPECT_EQ(Expected(R"({"a":{"ComparisonOperator":"IN","AttributeValueList":[{"N":"1"},{"N":"5"}]}})"), "true");
  EXPECT_EQ(Expected(R"({"a":{"Value":{"N":"1"}},"s":{"Value":{"S":"hello"}}})", R"("OR")"), "true");
  EXPECT_EQ(Expected(R"({"a":{"Value":{"N":"1"}},"s":{"Value":{"S":"hello"}}})", R"("AND")"), "false");
}

TEST(DynamoLegacyTest, ExpectedRejectsWithDynamoDBMessages) {
  const std::string p = "ERR: One or more parameter values were invalid: ";
  EXPECT_EQ(Expected(R"({"a":{"ComparisonOperator":"EQ","Exists":true,"Value":{"N":"1"}}})"),
            p + "Exists and ComparisonOperator cannot be used together for Attribute: a");
  EXPECT_EQ(Expected(R"({"a":{"ComparisonOperator":"EQ"}})"),
            p + "Invalid number of argument(s) for the EQ ComparisonOperator");
  EXPECT_EQ(Expected(R"({"a":{"Exists":true}})"), p + "Value must be provided when Exists is true for Attribute: a");
  EXPECT_EQ(Expected(R"({"a":{}})"), p + "Value must be provided when Exists is null for Attribute: a");
  EXPECT_EQ(Expected(R"({"a":{"Exists":false,"Value":{"N":"1"}}})"),
            p + "Value cannot be used when Exists is false for Attribute: a");
  EXPECT_EQ(Expected(R"({"a":{"AttributeValueList":[{"N":"1"}]}})"),
            p + "AttributeValueList can only be used with a ComparisonOperator for Attribute: a");
  EXPECT_EQ(Expected(R"({"a":{"ComparisonOperator":"LT","AttributeValueList":[{"SS":["a"]}]}})"),
            p + "ComparisonOperator LT is not valid for SS AttributeValue type");
  EXPECT_EQ(Expected(R"({"a":{"ComparisonOperator":"XX"}})").substr(0, 40),
            "ERR: 1 validation error detected: Value ");
}

TEST(DynamoLegacyTest, KeyConditionsAttributeUpdatesAndAttributesToGet) {
  KeySchema schema;
  schema.hash_name = "pk";
  schema.range_name = "sk";
  schema.range_type = AttrType::kN;
  rapidjson::Document d;
  d.Parse(R"({"pk":{"ComparisonOperator":"EQ","AttributeValueList":[{"S":"k"}]},
              "sk":{"ComparisonOperator":"BETWEEN","AttributeValueList":[{"N":"1"},{"N":"3"}]}})");
  Result<KeyCondition> kc = KeyConditionFromLegacy(d, schema);
  ASSERT_TRUE(kc.ok()) << kc.status().ToString();
  EXPECT_EQ(kc->sort_op, KeyCondition::SortOp::kBetween);
  EXPECT_TRUE(MatchesKeyCondition(kc.value(), schema, ItemOf(R"({"pk":{"S":"k"},"sk":{"N":"2"}})")));
  EXPECT_FALSE(MatchesKeyCondition(kc.value(), schema, ItemOf(R"({"pk":{"S":"k"},"sk":{"N":"4"}})")));
  d.Parse(R"({"pk":{"ComparisonOperator":"GT","AttributeValueList":[{"S":"k"}]}})");
  EXPECT_EQ(KeyConditionFromLegacy(d, schema).status().message(),
            "Attempted conditional constraint is not an indexable operation");

  d.Parse(R"({"a":{"Action":"ADD","Value":{"N":"2"}},"l":{"Action":"ADD","Value":{"L":[{"S":"z"}]}},
              "tags":{"Action":"DELETE","Value":{"SS":["x"]}},"s":{"Action":"DELETE"},
              "n":{"Value":{"S":"new"}}})");
  Result<Update> u = UpdateFromAttributeUpdates(d);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  Item item = ItemOf(kItem);
  ASSERT_TRUE(ApplyUpdate(u.value(), &item).ok());
  EXPECT_EQ(ItemToJson(item),
            R"({"a":{"N":"7"},"l":{"L":[{"S":"z"}]},"n":{"S":"new"},"pk":{"S":"k"},"tags":{"SS":["y"]}})");
  d.Parse(R"({"a":{"Action":"PUT"}})");
  EXPECT_EQ(UpdateFromAttributeUpdates(d).status().message(),
            "One or more parameter values were invalid: Only DELETE action is allowed when no "
            "attribute value is specified");

  d.Parse(R"(["a","s","a"])");
  EXPECT_EQ(ProjectionFromAttributesToGet(d).status().message(),
            "One or more parameter values were invalid: Duplicate value in attribute name: a");
  d.Parse(R"(["a","s"])");
  EXPECT_EQ(ItemToJson(ApplyProjection(ItemOf(kItem), ProjectionFromAttributesToGet(d).value())),
            R"({"a":{"N":"5"},"s":{"S":"hello"}})");

  EXPECT_EQ(CheckNoMixedParameters({"Expected"}, {"ConditionExpression"}).message(),
            "Can not use both expression and non-expression parameters in the same request: "
            "Non-expression parameters: {Expected} Expression parameters: {ConditionExpression}");
  EXPECT_TRUE(CheckNoMixedParameters({}, {"ConditionExpression"}).ok());
}

}  // namespace
}  // namespace amalgam::dynamo
