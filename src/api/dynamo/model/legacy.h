#pragma once
// DynamoDB's legacy (pre-expression) request parameters, converted into the same ASTs the
// expression parsers produce, so one evaluator serves both.
//
// API (pure; each takes the request member as a RapidJSON value):
//   ConditionFromExpected(Expected, ConditionalOperator)         -> Condition
//   ConditionFromFilter(QueryFilter|ScanFilter, ConditionalOperator, param) -> Condition
//   KeyConditionFromLegacy(KeyConditions, schema)                -> KeyCondition
//   UpdateFromAttributeUpdates(AttributeUpdates)                 -> Update
//   ProjectionFromAttributesToGet(AttributesToGet)               -> paths
//   CheckNoMixedParameters(legacy names present, expression names present)
//   CheckExpressionAttributesAllowed(attrs, ...)                 placeholders without expressions
//
// Errors: kBadValue (ValidationException) with DynamoDB's messages, e.g. "One or more parameter
// values were invalid: Invalid number of argument(s) for the EQ ComparisonOperator", "Can not
// use both expression and non-expression parameters in the same request: Non-expression
// parameters: {Expected} Expression parameters: {ConditionExpression}"; JSON shape errors are
// kFailedToParse (SerializationException).

#include <rapidjson/fwd.h>

#include <string_view>
#include <vector>

#include "api/dynamo/model/expression.h"
#include "api/dynamo/model/key_condition.h"
#include "api/dynamo/model/update_expression.h"

namespace amalgam::dynamo {

// `conditional_operator` may be null (= AND). An empty Expected gives an always-true condition
// (kAnd with no children).
Result<Condition> ConditionFromExpected(const rapidjson::Value& expected,
                                        const rapidjson::Value* conditional_operator);

// `param` ("QueryFilter" or "ScanFilter") names the parameter in validation messages.
Result<Condition> ConditionFromFilter(const rapidjson::Value& filter,
                                      const rapidjson::Value* conditional_operator,
                                      std::string_view param);

Result<KeyCondition> KeyConditionFromLegacy(const rapidjson::Value& key_conditions,
                                            const KeySchema& schema);

// PUT (default) sets, DELETE without a value removes, DELETE with a set removes members, ADD
// adds numbers, unions sets and appends lists.
Result<Update> UpdateFromAttributeUpdates(const rapidjson::Value& attribute_updates);

// "One or more parameter values were invalid: Duplicate value in attribute name: a".
Result<std::vector<DocumentPath>> ProjectionFromAttributesToGet(const rapidjson::Value& attributes_to_get);

// Fails when both lists are non-empty, naming them as DynamoDB does (in the given order).
Status CheckNoMixedParameters(const std::vector<std::string_view>& legacy_present,
                              const std::vector<std::string_view>& expression_present);

// "ExpressionAttributeNames can only be specified when using expressions" (and ...Values)
// when the request has placeholders but no expression that could use them. `any_expression`:
// the request has any expression; `any_value_expression`: it has one that can use values
// (anything but ProjectionExpression).
Status CheckExpressionAttributesAllowed(const ExpressionAttributes& attrs, bool any_expression,
                                        bool any_value_expression);

}  // namespace amalgam::dynamo
