// Unit tests of the aggregation-expression evaluator (query/expression.h). Matching through
// $expr is covered by tests/conformance/matcher/expr.txt.

#include "query/expression.h"

#include <gtest/gtest.h>

#include "bson/builder.h"
#include "bson/compare.h"
#include "bson/json.h"

namespace amalgam::query {
namespace {

bson::Document Json(const std::string& s) {
  auto d = bson::FromJson(s);
  EXPECT_TRUE(d.ok()) << s;
  return d.ok() ? std::move(d).value() : bson::Document();
}

// Evaluates {"e": <expr>} against `doc` and returns the result rendered as {"v": result}.
std::string Eval(const std::string& expr, const std::string& doc) {
  bson::Document e = Json(R"({"e": )" + expr + "}");
  auto parsed = Expression::Parse(e.view().begin()->value, ExprParseContext{});
  if (!parsed.ok()) return "parse error: " + parsed.status().ToString();
  bson::Document d = Json(doc);
  auto v = (*parsed)->Evaluate(ExprEvalContext{d.view()});
  if (!v.ok()) return "error: " + v.status().ToString();
  bson::Builder b;
  b.AppendValue("v", v->value());
  return bson::ToCanonicalJson(std::move(b).Finish().view());
}

TEST(ExpressionTest, FieldPathsMapOverArrays) {
  EXPECT_EQ(Eval(R"("$a.b")", R"({"a": [{"b": 1}, {"c": 2}, {"b": [3]}, 4]})"),
            R"({ "v" : [ { "$numberInt" : "1" }, [ { "$numberInt" : "3" } ] ] })");
  EXPECT_EQ(Eval(R"("$a.b")", R"({"a": 1})"), "{ }");  // missing
  EXPECT_EQ(Eval(R"("$$ROOT.a")", R"({"a": 7})"), R"({ "v" : { "$numberInt" : "7" } })");
  EXPECT_EQ(Eval(R"("$a.0")", R"({"a": [5]})"), R"({ "v" : [  ] })");  // no positional paths
}

TEST(ExpressionTest, ArithmeticWidensLikeMongo) {
  EXPECT_EQ(Eval(R"({"$add": [1, 2]})", "{}"), R"({ "v" : { "$numberInt" : "3" } })");
  EXPECT_EQ(Eval(R"({"$add": [2147483647, 1]})", "{}"), R"({ "v" : { "$numberLong" : "2147483648" } })");
  EXPECT_EQ(Eval(R"({"$add": [{"$numberLong": "9223372036854775807"}, 1]})", "{}"),
            R"({ "v" : { "$numberDouble" : "9223372036854775808.0" } })");
  EXPECT_EQ(Eval(R"({"$add": [1, 0.5]})", "{}"), R"({ "v" : { "$numberDouble" : "1.5" } })");
  EXPECT_EQ(Eval(R"({"$add": [1, null]})", "{}"), R"({ "v" : null })");
  EXPECT_EQ(Eval(R"({"$add": [1, "$missing"]})", "{}"), R"({ "v" : null })");
  EXPECT_EQ(Eval(R"({"$add": [{"$date": 1000}, 500]})", "{}"), R"({ "v" : { "$date" : { "$numberLong" : "1500" } } })");
  EXPECT_EQ(Eval(R"({"$subtract": [{"$date": 1000}, {"$date": 400}]})", "{}"), R"({ "v" : { "$numberLong" : "600" } })");
  EXPECT_EQ(Eval(R"({"$multiply": [3, 4]})", "{}"), R"({ "v" : { "$numberInt" : "12" } })");
  EXPECT_EQ(Eval(R"({"$divide": [1, 4]})", "{}"), R"({ "v" : { "$numberDouble" : "0.25" } })");
  EXPECT_EQ(Eval(R"({"$mod": [7, 3]})", "{}"), R"({ "v" : { "$numberInt" : "1" } })");
  EXPECT_EQ(Eval(R"({"$mod": [-7, 3]})", "{}"), R"({ "v" : { "$numberInt" : "-1" } })");
  EXPECT_EQ(Eval(R"({"$mod": [7.5, 2]})", "{}"), R"({ "v" : { "$numberDouble" : "1.5" } })");
  EXPECT_EQ(Eval(R"({"$abs": -2147483648})", "{}"), R"({ "v" : { "$numberLong" : "2147483648" } })");
  EXPECT_EQ(Eval(R"({"$abs": -2.5})", "{}"), R"({ "v" : { "$numberDouble" : "2.5" } })");
}

TEST(ExpressionTest, ArithmeticErrors) {
  EXPECT_EQ(Eval(R"({"$divide": [1, 0]})", "{}"), "error: BadValue: can't $divide by zero");
  EXPECT_EQ(Eval(R"({"$mod": [1, 0]})", "{}"), "error: BadValue: can't $mod by zero");
  EXPECT_NE(Eval(R"({"$add": [1, "x"]})", "{}").find("TypeMismatch"), std::string::npos);
  EXPECT_NE(Eval(R"({"$add": [{"$numberDecimal": "1"}, 1]})", "{}").find("NotImplemented"), std::string::npos);
  EXPECT_NE(Eval(R"({"$abs": {"$numberLong": "-9223372036854775808"}})", "{}").find("long long min"), std::string::npos);
}

TEST(ExpressionTest, ComparisonAndLogic) {
  EXPECT_EQ(Eval(R"({"$cmp": ["$a", 2]})", R"({"a": 1})"), R"({ "v" : { "$numberInt" : "-1" } })");
  EXPECT_EQ(Eval(R"({"$eq": ["$a", null]})", "{}"), R"({ "v" : false })");  // missing != null
  EXPECT_EQ(Eval(R"({"$lt": ["$a", null]})", "{}"), R"({ "v" : true })");
  EXPECT_EQ(Eval(R"({"$gt": ["a", 5]})", "{}"), R"({ "v" : true })");  // strings sort after numbers
  EXPECT_EQ(Eval(R"({"$and": []})", "{}"), R"({ "v" : true })");
  EXPECT_EQ(Eval(R"({"$or": [0, null, "$x"]})", "{}"), R"({ "v" : false })");
  EXPECT_EQ(Eval(R"({"$not": [[]]})", "{}"), R"({ "v" : false })");
  EXPECT_EQ(Eval(R"({"$cond": {"if": "$a", "then": "yes", "else": "no"}})", R"({"a": 0})"), R"({ "v" : "no" })");
  EXPECT_EQ(Eval(R"({"$cond": [true, 1, 2]})", "{}"), R"({ "v" : { "$numberInt" : "1" } })");
  EXPECT_EQ(Eval(R"({"$ifNull": ["$a", "$b", 3]})", R"({"b": null})"), R"({ "v" : { "$numberInt" : "3" } })");
  EXPECT_EQ(Eval(R"({"$in": [2, [1, 2]]})", "{}"), R"({ "v" : true })");
  EXPECT_EQ(Eval(R"({"$size": "$a"})", R"({"a": [1, 2, 3]})"), R"({ "v" : { "$numberInt" : "3" } })");
  EXPECT_EQ(Eval(R"({"$literal": "$a"})", R"({"a": 1})"), R"({ "v" : "$a" })");
  EXPECT_EQ(Eval(R"({"x": "$a", "y": ["$b", "$a"]})", R"({"a": 1})"),
            R"({ "v" : { "x" : { "$numberInt" : "1" }, "y" : [ null, { "$numberInt" : "1" } ] } })");
}

TEST(ExpressionTest, ParseErrors) {
  EXPECT_NE(Eval(R"({"$foo": 1})", "{}").find("Unrecognized expression '$foo'"), std::string::npos);
  EXPECT_NE(Eval(R"({"$eq": [1]})", "{}").find("takes exactly 2 arguments. 1 were passed in."), std::string::npos);
  EXPECT_NE(Eval(R"({"$add": [1], "$sub": 2})", "{}").find("exactly one field"), std::string::npos);
  EXPECT_NE(Eval(R"("$")", "{}").find("by itself"), std::string::npos);
  EXPECT_NE(Eval(R"("$a..b")", "{}").find("empty"), std::string::npos);
  EXPECT_NE(Eval(R"({"$cond": {"if": 1, "then": 2}})", "{}").find("Missing 'else'"), std::string::npos);
  EXPECT_NE(Eval(R"("$$nope")", "{}").find("undefined variable"), std::string::npos);
}

}  // namespace
}  // namespace amalgam::query
