#include "api/dynamo/model/expression.h"

#include <gtest/gtest.h>
#include "api/dynamo/model/rapidjson.h"

#include "api/dynamo/model/json.h"
#include "api/dynamo/model/key_condition.h"
#include "api/dynamo/model/reserved_words.h"
#include "api/dynamo/model/update_expression.h"

namespace amalgam::dynamo {
namespace {

Item ItemOf(std::string_view json) {
  Result<Item> r = ParseItemJson(json);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : Item{};
}

ExpressionAttributes Attrs(std::string_view names_json, std::string_view values_json) {
  rapidjson::Document n, v;
  n.Parse(names_json.data(), names_json.size());
  v.Parse(values_json.data(), values_json.size());
  Result<ExpressionAttributes> a = ExpressionAttributes::FromJson(
      names_json.empty() ? nullptr : &n, values_json.empty() ? nullptr : &v);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  return a.ok() ? std::move(a).value() : ExpressionAttributes();
}

const char* kValues = R"({":one":{"N":"1"},":five":{"N":"5"},":ten":{"N":"10"},":s":{"S":"ab"},
  ":b":{"B":"AQ=="},":m":{"M":{}},":l":{"L":[{"S":"x"}]},":t":{"S":"SS"},":bad":{"S":"XX"},
  ":x":{"S":"x"},":ss":{"SS":["q"]},":ns":{"NS":["3"]},":n3":{"N":"3"}})";

// Parses `expr` as a condition and evaluates it over `item`; "ERR: <message>" on parse errors.
std::string Eval(std::string_view expr, std::string_view item_json) {
  ExpressionAttributes attrs = Attrs(R"({"#st":"status","#a":"a"})", kValues);
  Result<Condition> c = ParseCondition(expr, ExpressionKind::kCondition, attrs);
  if (!c.ok()) return "ERR: " + std::string(c.status().message());
  return EvaluateCondition(c.value(), ItemOf(item_json)) ? "true" : "false";
}

TEST(DynamoConditionTest, EvaluatesWithDynamoDBSemantics) {
  const char* item = R"({"a":{"N":"5"},"s":{"S":"abc"},"b":{"B":"AQI="},"status":{"S":"on"},
      "tags":{"SS":["q","r"]},"ns":{"NS":["3"]},"l":{"L":[{"S":"x"},{"N":"1"}]},
      "m":{"M":{"k":{"L":[{"N":"1"},{"M":{"z":{"S":"deep"}}}]}}}})";
  const std::pair<const char*, const char*> cases[] = {
      {"a = :five", "true"},
      {"a <> :five", "false"},
      {"a < :ten AND a > :one", "true"},
      {"a <= :five and a >= :five", "true"},
      {"a = :s", "false"},            // different types never compare equal
      {"a < :s", "false"},            // or ordered
      {"a <> :s", "true"},
      {"gone <> :s", "true"},
      {"gone = :s", "false"},
      {"gone < :s", "false"},
      {"a BETWEEN :one AND :ten", "true"},
      {"a BETWEEN :one AND :n3", "false"},
      {"a IN (:one, :five)", "true"},
      {"a IN (:one, :ten)", "false"},
      {"NOT a = :one", "true"},
      {"a = :one OR a = :five AND s = :x", "false"},  // AND binds tighter than OR
      {"(a = :one OR a = :five) AND s = :s", "false"},
      {"begins_with(s, :s)", "true"},
      {"begins_with(b, :b)", "true"},
      {"begins_with(a, :s)", "false"},
      {"contains(s, :s)", "true"},
      {"contains(tags, :x)", "false"},
      {"contains(l, :x)", "true"},
      {"contains(ns, :n3)", "true"},
      {"attribute_exists(m.k[1].z)", "true"},
      {"attribute_exists(m.k[2])", "false"},
      {"attribute_not_exists(nope)", "true"},
      {"attribute_type(tags, :t)", "true"},
      {"attribute_type(a, :t)", "false"},
      {"size(s) = :n3", "true"},
      {"size(tags) < :n3", "true"},
      {"size(l) = :one", "false"},
      {"size(a) = :one", "false"},      // numbers have no size
      {"#st = :s", "false"},
      {"m.k[0] = :one", "true"},
      {"a = a", "true"},
  };
  for (const auto& [expr, want] : cases) EXPECT_EQ(Eval(expr, item), want) << expr;
}

TEST(DynamoConditionTest, RejectsWhatDynamoDBRejects) {
  const std::pair<const char*, const char*> cases[] = {
      {"", "Invalid ConditionExpression: The expression can not be empty;"},
      {"   ", "Invalid ConditionExpression: The expression can not be empty;"},
      {"a = = :one", "Invalid ConditionExpression: Syntax error; token: \"=\", near: \"= = :one\""},
      {"a =", "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"=\""},
      {"a", "Invalid ConditionExpression: Syntax error; token: \"<EOF>\", near: \"a\""},
      {"a = :one extra", "Invalid ConditionExpression: Syntax error; token: \"extra\", near: \":one extra\""},
      {"status = :s", "Invalid ConditionExpression: Attribute name is a reserved keyword; reserved keyword: status"},
      {"#nope = :s", "Invalid ConditionExpression: An expression attribute name used in the document path is not defined; attribute name: #nope"},
      {"a = :nope", "Invalid ConditionExpression: An expression attribute value used in expression is not defined; attribute value: :nope"},
      {"foo(a)", "Invalid ConditionExpression: Invalid function name; function: foo"},
      {"begins_with(a)", "Invalid ConditionExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 1"},
      {"attribute_exists(:s)", "Invalid ConditionExpression: Operator or function requires a document path; operator or function: attribute_exists"},
      {"attribute_type(a, :bad)", "Invalid ConditionExpression: Invalid attribute type name found; type: XX, valid types: { B,NULL,SS,BOOL,L,BS,N,NS,S,M }"},
      {"begins_with(a, :one)", "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N"},
      {"a < :m", "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: <, operand type: M"},
      {"a BETWEEN :ten AND :one", "Invalid ConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {N:10}, upper bound operand: AttributeValue: {N:1}"},
      {"((a = :one))", "Invalid ConditionExpression: The expression has redundant parentheses;"},
      {"contains(a, :s) = :s", "Invalid ConditionExpression: The function is not allowed to be used this way in an expression; function: contains"},
      {"a @ b", "Invalid ConditionExpression: Syntax error; token: \"@\", near: \"a @ b\""},
  };
  for (const auto& [expr, want] : cases) EXPECT_EQ(Eval(expr, "{}"), std::string("ERR: ") + want) << expr;
  std::string in = "a IN (:one";
  for (int i = 0; i < 100; ++i) in += ", :one";
  EXPECT_EQ(Eval(in + ")", "{}"),
            "ERR: Invalid ConditionExpression: The IN operator is provided with too many operands; number of operands: 101");
  EXPECT_EQ(Eval(std::string(4097, ' '), "{}"),
            "ERR: Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4097");
  std::string deep;
  for (int i = 0; i < 1000; ++i) deep += "NOT ";
  EXPECT_EQ(Eval(deep + "a = :one", "{}"),
            "ERR: Invalid ConditionExpression: The expression contains too many operators; operator count: 301");
  EXPECT_EQ(Eval(std::string(4000, '('), "{}").substr(0, 50),
            "ERR: Invalid ConditionExpression: Syntax error; to");
  // 300 operators nest fine: a<b and (a<b and (...)).
  std::string nested = "a < b", closing;
  for (int i = 0; i < 149; ++i) {
    nested += " and (a < b";
    closing += ")";
  }
  EXPECT_EQ(Eval(nested + closing, R"({"a":{"N":"1"},"b":{"N":"2"}})"), "true");
  EXPECT_EQ(Eval(nested + " and (a < b)" + closing, "{}"),
            "ERR: Invalid ConditionExpression: The expression contains too many operators; operator count: 301");
}

TEST(DynamoConditionTest, ReservedWordsAreTheDocumentedList) {
  EXPECT_EQ(ReservedWordCount(), 573u);
  EXPECT_TRUE(IsReservedWord("status"));
  EXPECT_TRUE(IsReservedWord("Name"));
  EXPECT_FALSE(IsReservedWord("pk"));
}

TEST(DynamoExpressionAttributesTest, ReportsUnusedAndInvalidPlaceholders) {
  ExpressionAttributes attrs = Attrs(R"({"#a":"a","#b":"b"})", R"({":v":{"S":"x"},":w":{"S":"y"}})");
  ASSERT_TRUE(ParseCondition("#a = :v", ExpressionKind::kCondition, attrs).ok());
  EXPECT_EQ(attrs.CheckAllUsed().message(),
            "Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}");
  ASSERT_TRUE(ParseProjection("#b", attrs).ok());
  EXPECT_EQ(attrs.CheckAllUsed().message(),
            "Value provided in ExpressionAttributeValues unused in expressions: keys: {:w}");
  rapidjson::Document d;
  d.Parse(R"({"a":"x"})");
  EXPECT_EQ(ExpressionAttributes::FromJson(&d, nullptr).status().message(),
            "ExpressionAttributeNames contains invalid key: Syntax error; key: \"a\"");
  d.Parse(R"({"#a":""})");
  EXPECT_EQ(ExpressionAttributes::FromJson(&d, nullptr).status().message(),
            "ExpressionAttributeNames contains invalid value: Empty attribute name for key #a");
  d.Parse("{}");
  EXPECT_EQ(ExpressionAttributes::FromJson(nullptr, &d).status().message(),
            "ExpressionAttributeValues must not be empty");
  d.Parse(R"({":v":{"SS":[]}})");
  EXPECT_EQ(ExpressionAttributes::FromJson(nullptr, &d).status().message(),
            "ExpressionAttributeValues contains invalid value: One or more parameter values were "
            "invalid: An string set  may not be empty for key :v");
}

TEST(DynamoProjectionTest, ProjectsNestedPathsAndListElements) {
  ExpressionAttributes attrs = Attrs(R"({"#n":"name"})", "");
  Result<std::vector<DocumentPath>> p = ParseProjection("a, m.x, l[1], l[3], #n, nope.z", attrs);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  Item item = ItemOf(R"({"a":{"N":"1"},"b":{"N":"2"},"m":{"M":{"x":{"S":"1"},"y":{"S":"2"}}},
      "l":{"L":[{"S":"0"},{"S":"1"},{"S":"2"},{"S":"3"}]},"name":{"S":"n"}})");
  EXPECT_EQ(ItemToJson(ApplyProjection(item, p.value())),
            R"({"a":{"N":"1"},"l":{"L":[{"S":"1"},{"S":"3"}]},"m":{"M":{"x":{"S":"1"}}},"name":{"S":"n"}})");
  ExpressionAttributes none;
  EXPECT_EQ(ParseProjection("a, a.b", none).status().message(),
            "Invalid ProjectionExpression: Two document paths overlap with each other; must remove "
            "or rewrite one of these paths; path one: [a], path two: [a, b]");
  EXPECT_EQ(ParseProjection("a.b, a[1]", none).status().message(),
            "Invalid ProjectionExpression: Two document paths conflict with each other; must remove "
            "or rewrite one of these paths; path one: [a, b], path two: [a, [1]]");
  EXPECT_EQ(ParseProjection("a,", none).status().message(),
            "Invalid ProjectionExpression: Syntax error; token: \"<EOF>\", near: \",\"");
}

std::string Update(std::string_view expr, std::string_view item_json) {
  ExpressionAttributes attrs = Attrs(R"({"#c":"count"})", kValues);
  Result<struct Update> u = ParseUpdate(expr, attrs);
  if (!u.ok()) return "ERR: " + std::string(u.status().message());
  Item item = ItemOf(item_json);
  Status s = ApplyUpdate(u.value(), &item);
  if (!s.ok()) return "ERR: " + std::string(s.message());
  return ItemToJson(item);
}

TEST(DynamoUpdateTest, AppliesEveryAction) {
  const char* item = R"({"a":{"N":"5"},"l":{"L":[{"S":"0"},{"S":"1"},{"S":"2"}]},"m":{"M":{"x":{"N":"1"}}},
      "tags":{"SS":["q","r"]}})";
  const std::pair<const char*, const char*> cases[] = {
      {"SET a = a + :one", R"({"a":{"N":"6"},)"},
      {"SET a = :ten - a", R"({"a":{"N":"5"},)"},
      {"SET b = if_not_exists(b, :one) + :one", R"("b":{"N":"2"})"},
      {"SET a = if_not_exists(a, :one)", R"({"a":{"N":"5"},)"},
      {"SET l = list_append(l, :l)", R"({"S":"2"},{"S":"x"}]})"},
      {"SET l = list_append(:l, l)", R"("l":{"L":[{"S":"x"},{"S":"0"})"},
      {"SET l[1] = :s", R"("l":{"L":[{"S":"0"},{"S":"ab"},{"S":"2"}]})"},
      {"SET l[9] = :s", R"({"S":"2"},{"S":"ab"}]})"},
      {"SET m.y = :s, m.x = :ten", R"("m":{"M":{"x":{"N":"10"},"y":{"S":"ab"}}})"},
      {"REMOVE l[0], l[2]", R"("l":{"L":[{"S":"1"}]})"},
      {"REMOVE m.x, a", R"({"l":)"},
      {"ADD a :one", R"({"a":{"N":"6"},)"},
      {"ADD #c :one", R"("count":{"N":"1"})"},
      {"ADD tags :ss, newset :ns", R"("newset":{"NS":["3"]})"},
      {"DELETE tags :ss", R"("tags":{"SS":["r"]})"},
      {"set a = :one remove m add tags :ss", R"({"a":{"N":"1"},"l")"},
      {"SET b = a, a = :one", R"("b":{"N":"5"})"},  // right-hand sides see the old item
  };
  for (const auto& [expr, want] : cases) {
    std::string got = Update(expr, item);
    EXPECT_NE(got.find(want), std::string::npos) << expr << " -> " << got;
  }
  EXPECT_EQ(Update("DELETE tags :ss", R"({"tags":{"SS":["q"]}})"), "{}");
}

TEST(DynamoUpdateTest, RejectsWhatDynamoDBRejects) {
  const char* item = R"({"a":{"N":"5"},"s":{"S":"x"},"l":{"L":[]}})";
  const std::pair<const char*, const char*> cases[] = {
      {"SET a = :one, a = :five", "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
      {"SET m.x = :one REMOVE m", "Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [m, x], path two: [m]"},
      {"SET a = :one SET b = :one", "Invalid UpdateExpression: The \"SET\" section can only be used once in an update expression;"},
      {"SET a = :s + :one", "Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S"},
      {"ADD a :s", "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING"},
      {"DELETE a :one", "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER"},
      {"SET a = size(s)", "Invalid UpdateExpression: The function is not allowed in an update expression; function: size"},
      {"SET a = if_not_exists(:one, a)", "Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists"},
      {"SET a = s + :one", "An operand in the update expression has an incorrect data type"},
      {"SET a = nope + :one", "The provided expression refers to an attribute that does not exist in the item"},
      {"SET nope.x = :one", "The document path provided in the update expression is invalid for update"},
      {"SET s[0] = :one", "The document path provided in the update expression is invalid for update"},
      {"ADD s :one", "An operand in the update expression has an incorrect data type"},
      {"SET a = list_append(a, :l)", "An operand in the update expression has an incorrect data type"},
      {"SET a :one", "Invalid UpdateExpression: Syntax error; token: \":one\", near: \"a :one\""},
      {"UPSERT a = :one", "Invalid UpdateExpression: Syntax error; token: \"UPSERT\", near: \"UPSERT a\""},
  };
  for (const auto& [expr, want] : cases) EXPECT_EQ(Update(expr, item), std::string("ERR: ") + want) << expr;
  KeySchema schema;
  schema.hash_name = "pk";
  ExpressionAttributes attrs = Attrs("", R"({":v":{"S":"x"}})");
  Result<struct Update> u = ParseUpdate("SET pk = :v", attrs);
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(CheckKeyNotUpdated(u.value(), schema).message(),
            "One or more parameter values were invalid: Cannot update attribute pk. This attribute "
            "is part of the key");
}

TEST(DynamoUpdateTest, UpdatedPathsGiveUpdatedOldAndNew) {
  ExpressionAttributes attrs = Attrs("", kValues);
  Result<struct Update> u = ParseUpdate("SET m.b = :x, m.c = :s REMOVE r", attrs);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  Item before = ItemOf(R"({"m":{"M":{"existing":{"S":"e"},"b":{"S":"old"}}},"r":{"N":"1"},"z":{"N":"2"}})");
  Item after = before;
  ASSERT_TRUE(ApplyUpdate(u.value(), &after).ok());
  EXPECT_EQ(ItemToJson(ApplyProjection(before, UpdatedPaths(u.value()))),
            R"({"m":{"M":{"b":{"S":"old"}}},"r":{"N":"1"}})");
  EXPECT_EQ(ItemToJson(ApplyProjection(after, UpdatedPaths(u.value()))),
            R"({"m":{"M":{"b":{"S":"x"},"c":{"S":"ab"}}}})");
  EXPECT_EQ(UpdatedAttributes(u.value()), (std::set<std::string>{"m", "r"}));
}

std::string Key(std::string_view expr) {
  KeySchema schema;
  schema.hash_name = "pk";
  schema.range_name = "sk";
  schema.range_type = AttrType::kN;
  ExpressionAttributes attrs = Attrs(R"({"#k":"pk"})", kValues);
  Result<KeyCondition> kc = ParseKeyCondition(expr, schema, attrs);
  if (!kc.ok()) return "ERR: " + std::string(kc.status().message());
  std::string out = kc->hash_value.scalar + " op" + std::to_string(static_cast<int>(kc->sort_op));
  if (kc->sort_op != KeyCondition::SortOp::kNone) out += " " + kc->sort_value.scalar;
  if (kc->sort_op == KeyCondition::SortOp::kBetween) out += " " + kc->sort_value2.scalar;
  return out;
}

TEST(DynamoKeyConditionTest, ParsesAndValidatesAgainstTheSchema) {
  EXPECT_EQ(Key("pk = :s"), "ab op0");
  EXPECT_EQ(Key("#k = :s AND sk > :one"), "ab op4 1");
  EXPECT_EQ(Key(":one <= sk AND pk = :s"), "ab op5 1");
  EXPECT_EQ(Key("pk = :s AND sk BETWEEN :one AND :ten"), "ab op6 1 10");
  EXPECT_EQ(Key("(pk = :s) AND (sk = :five)"), "ab op1 5");
  EXPECT_EQ(Key("sk = :one"), "ERR: Query condition missed key schema element: pk");
  EXPECT_EQ(Key("pk = :s AND foo = :one"), "ERR: Query condition missed key schema element: sk");
  EXPECT_EQ(Key("pk = :s AND sk > :one AND sk < :ten"),
            "ERR: Invalid KeyConditionExpression: KeyConditionExpressions must only contain one condition per key");
  EXPECT_EQ(Key("pk = :s AND sk > :one AND foo = :ten"),
            "ERR: The number of query conditions (3) exceeds the number of key attributes defined in the schema (2)");
  EXPECT_EQ(Key("pk = :s AND begins_with(sk, :s)"),
            "ERR: One or more parameter values were invalid: Condition parameter type does not match schema type");
  EXPECT_EQ(Key("pk = :s AND :m >= sk"),
            "ERR: Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: >=, operand type: M");
  EXPECT_EQ(Key("pk < :s"), "ERR: Query key condition not supported");
  EXPECT_EQ(Key("pk = :one"),
            "ERR: One or more parameter values were invalid: Condition parameter type does not match schema type");
  EXPECT_EQ(Key("pk = :s OR sk = :one"),
            "ERR: Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: OR");
  EXPECT_EQ(Key("pk = :s AND begins_with(sk, :one)"),
            "ERR: Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: N");
  EXPECT_EQ(Key("pk = :s AND sk <> :one"),
            "ERR: Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: <>");
}

}  // namespace
}  // namespace amalgam::dynamo
