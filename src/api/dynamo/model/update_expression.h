#pragma once
// DynamoDB UpdateExpression: parse (SET / REMOVE / ADD / DELETE) and apply to an item.
//
// API (pure; the parsed Update is an immutable value):
//   ParseUpdate(text, attrs)     -> Update (placeholders resolved, paths checked for overlap).
//   CheckKeyNotUpdated(update, schema)  rejects actions on key attributes (DynamoDB's message).
//   ApplyUpdate(update, &item)   applies in place (all right-hand sides are evaluated against
//                                the item as it was before the update, as DynamoDB does);
//                                on error the item is left unchanged.
//   UpdatedPaths(update)         the document paths the update touches; with ApplyProjection
//                                (expression.h) they give ReturnValues UPDATED_OLD / UPDATED_NEW.
//
// Errors: ErrorCode::kBadValue (ValidationException) with DynamoDB's messages, e.g.
// "Invalid UpdateExpression: Two document paths overlap with each other; ...",
// "The provided expression refers to an attribute that does not exist in the item",
// "An operand in the update expression has an incorrect data type",
// "The document path provided in the update expression is invalid for update".

#include <set>
#include <string>
#include <vector>

#include "api/dynamo/model/attribute_value.h"
#include "api/dynamo/model/bson_mapping.h"
#include "api/dynamo/model/expression.h"

namespace amalgam::dynamo {

// A right-hand side of SET: a path, a value, a function or one + / - of two of those.
struct UpdateOperand {
  enum class Kind : uint8_t { kPath, kValue, kIfNotExists, kListAppend, kPlus, kMinus };
  Kind kind = Kind::kValue;
  DocumentPath path;                // kPath
  AttributeValue value;             // kValue
  std::vector<UpdateOperand> args;  // functions and + / -: two arguments
};

struct UpdateAction {
  enum class Kind : uint8_t { kSet, kRemove, kAdd, kDelete };
  Kind kind = Kind::kSet;
  DocumentPath path;
  UpdateOperand operand;  // kSet: the new value; kAdd / kDelete: a kValue operand
};

struct Update {
  std::vector<UpdateAction> actions;  // in the order written
};

Result<Update> ParseUpdate(std::string_view text, ExpressionAttributes& attrs);

// "One or more parameter values were invalid: Cannot update attribute <k>. This attribute is
// part of the key" when an action's path starts at a key attribute.
Status CheckKeyNotUpdated(const Update& update, const KeySchema& schema);

// Applies `update` to `item` (an empty item when it did not exist). On error `item` is unchanged.
Status ApplyUpdate(const Update& update, Item* item);

// The paths of every action, for ApplyProjection (UPDATED_OLD / UPDATED_NEW).
std::vector<DocumentPath> UpdatedPaths(const Update& update);
// The top-level attribute names the update touches.
std::set<std::string> UpdatedAttributes(const Update& update);

}  // namespace amalgam::dynamo
