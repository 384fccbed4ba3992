#pragma once
// DynamoDB KeyConditionExpression (Query): parsed into the structured form a Query needs: the
// partition-key value and an optional sort-key condition, checked against the key schema of the
// table or index being queried.
//
// API (pure):
//   ParseKeyCondition(text, schema, attrs) -> KeyCondition (or ParseCondition +
//                                             KeyConditionFromCondition, see below)
//   MatchesKeyCondition(kc, schema, item)  -> whether an item's key satisfies it (for checks
//                                             and tests; a Query normally scans the _id range)
//
// Grammar: cond [AND cond], cond := path op :v | path BETWEEN :v AND :v |
// begins_with(path, :v), optionally parenthesised; the partition key takes only "=".
// Errors (kBadValue, DynamoDB's messages): "Query condition missed key schema element: <k>",
// "Query key condition not supported", "Invalid KeyConditionExpression:
// KeyConditionExpressions must only contain one condition per key", "The number of query
// conditions (3) exceeds the number of key attributes defined in the schema (2)", "One or more
// parameter values were invalid: Condition parameter type does not match schema type",
// "Invalid KeyConditionExpression: Invalid operator used in KeyConditionExpression: OR",
// operand-type and syntax errors as in expression.h.

#include "api/dynamo/model/attribute_value.h"
#include "api/dynamo/model/bson_mapping.h"
#include "api/dynamo/model/expression.h"

namespace amalgam::dynamo {

struct KeyCondition {
  enum class SortOp : uint8_t { kNone, kEq, kLt, kLe, kGt, kGe, kBetween, kBeginsWith };
  AttributeValue hash_value;
  SortOp sort_op = SortOp::kNone;
  AttributeValue sort_value;   // the operand (lower bound for kBetween)
  AttributeValue sort_value2;  // kBetween: upper bound
};

Result<KeyCondition> ParseKeyCondition(std::string_view text, const KeySchema& schema,
                                       ExpressionAttributes& attrs);

// The two halves of ParseKeyCondition, for callers that must report syntax, placeholder and
// operand-type errors before looking the table up (DynamoDB's order): first
// ParseCondition(text, ExpressionKind::kKeyCondition, attrs), then, with the table's or index's
// schema, this.
Result<KeyCondition> KeyConditionFromCondition(const Condition& c, const KeySchema& schema);

// True when `item`'s key attributes satisfy `kc`.
bool MatchesKeyCondition(const KeyCondition& kc, const KeySchema& schema, const Item& item);

}  // namespace amalgam::dynamo
